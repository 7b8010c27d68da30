// Tests of RedisReferralStore against a real redis-server (label redis).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/seal.h"
#include "common/crypto/x25519.h"
#include "common/redis/redis_client.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/redis_referral_store.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

concord::common::v1::AgencyId Agency(concord::common::v1::AgencyType type, std::string id) {
  concord::common::v1::AgencyId a;
  a.set_type(type);
  a.set_id(std::move(id));
  return a;
}

const auto kPolice = Agency(concord::common::v1::AGENCY_TYPE_POLICE, "pz-antwerp");
const auto kPayoke = Agency(concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE, "payoke");
const auto kSurya = Agency(concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE, "surya");
const auto kMagistrate = Agency(concord::common::v1::AGENCY_TYPE_MAGISTRATE, "pk-antwerp");
constexpr std::string_view kPoliceKey = "police/pz-antwerp";
constexpr std::string_view kPayokeKey = "reception_centre/payoke";
constexpr std::string_view kSuryaKey = "reception_centre/surya";

v1::Case NewCase(std::string id, v1::CaseState state, absl::Time at) {
  v1::Case c;
  c.set_case_id(std::move(id));
  c.set_subject_ref("subj-0123456789abcdefghijklmnop");
  *c.mutable_referring_agency() = kPolice;
  *c.mutable_receiving_centre() = kPayoke;
  c.set_state(state);
  c.set_version(1);
  c.mutable_attributes()->add_languages("es");
  *c.mutable_created_at() = ToProtoTime(at);
  *c.mutable_updated_at() = ToProtoTime(at);
  return c;
}

// A create of `c` (version 1) with its history entry.
CaseWrite Create(const v1::Case& c) {
  CaseWrite w;
  w.next = c;
  w.entry.set_version(1);
  w.entry.set_action("save_draft");
  w.entry.set_to_state(c.state());
  *w.entry.mutable_actor() = c.referring_agency();
  *w.entry.mutable_at() = c.updated_at();
  return w;
}

// A change of `prev` into `next` (the version and update time are set here).
CaseWrite Change(const v1::Case& prev, v1::Case next, absl::Time at, std::string action) {
  CaseWrite w;
  w.previous = prev;
  next.set_version(prev.version() + 1);
  *next.mutable_updated_at() = ToProtoTime(at);
  w.entry.set_version(next.version());
  w.entry.set_action(std::move(action));
  w.entry.set_from_state(prev.state());
  w.entry.set_to_state(next.state());
  *w.entry.mutable_at() = ToProtoTime(at);
  w.next = std::move(next);
  return w;
}

Notification Notify(const v1::Case& next, std::vector<std::string> recipients) {
  return Notification{absl::StrCat(next.case_id(), "-v", next.version()), next.case_id(),
                      std::move(recipients), R"({"event":"transition"})"};
}

std::vector<std::string> CaseIds(const CasePage& page) {
  std::vector<std::string> ids;
  for (const v1::Case& c : page.cases) ids.push_back(c.case_id());
  return ids;
}

class RedisReferralStoreTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<RedisReferralStore>(*redis_);
  }

  // Creates a REFERRED case (centre Payoke) and returns it.
  v1::Case Referred(const std::string& id, absl::Time at = kNow) {
    v1::Case c = NewCase(id, v1::CASE_STATE_REFERRED, at);
    EXPECT_TRUE(store_->Apply(Create(c)).ok());
    return c;
  }

  int64_t OutboxLength() {
    auto n = store_->OutboxPending();
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  std::unique_ptr<RedisReferralStore> store_;
};

// Test that a created case reads back, has its history entry, and that every key carries the
// {ref} hash tag.
TEST_F(RedisReferralStoreTest, CreateGetHistoryAndKeyLayout) {
  const v1::Case c = Referred("ref-create");
  auto got = store_->Get("ref-create");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), c.SerializeAsString());
  auto history = store_->History("ref-create");
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].action(), "save_draft");
  for (const std::string& key : server_->AllKeys()) {
    EXPECT_EQ(redis::HashTag(key), "ref") << key;
  }
  EXPECT_EQ(store_->Get("ref-nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->History("ref-nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("bad id|x").status().code(), absl::StatusCode::kInvalidArgument);
}

// Test that a create of an existing id is ALREADY_EXISTS and that a stale previous version is
// ABORTED naming both versions.
TEST_F(RedisReferralStoreTest, CreateTwiceAndStaleVersion) {
  const v1::Case c = Referred("ref-stale");
  EXPECT_EQ(store_->Apply(Create(c)).code(), absl::StatusCode::kAlreadyExists);

  v1::Case accepted = c;
  accepted.set_state(v1::CASE_STATE_ACCEPTED);
  ASSERT_TRUE(store_->Apply(Change(c, accepted, kNow + absl::Minutes(1), "accept")).ok());
  const Status stale = store_->Apply(Change(c, accepted, kNow + absl::Minutes(2), "accept"));
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.message(), "case ref-stale is at version 2, not 1");

  v1::Case ghost = c;
  ghost.set_case_id("ref-ghost");
  EXPECT_EQ(store_->Apply(Change(ghost, ghost, kNow, "x")).code(), absl::StatusCode::kNotFound);
}

// Test that an inconsistent write is refused before Redis is touched, with field names.
TEST_F(RedisReferralStoreTest, InconsistentWriteIsInvalidArgument) {
  const v1::Case c = Referred("ref-invalid");
  CaseWrite w = Change(c, c, kNow + absl::Minutes(1), "x");
  w.next.set_version(5);
  const Status s = store_->Apply(w);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldViolationsOf(s), SizeIs(2));  // next.version and entry.version

  CaseWrite d = Change(c, c, kNow + absl::Minutes(1), "x");
  d.deadlines_started.push_back({v1::DEADLINE_KIND_UNSPECIFIED, kNow, std::nullopt, {kNow}});
  EXPECT_EQ(store_->Apply(d).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("ref-invalid")->version(), 1);
}

// Test (required): 50 threads apply a transition against the same previous version at once:
// exactly one applies, 49 are ABORTED, history gains one entry, the version moves by one.
TEST_F(RedisReferralStoreTest, FiftyConcurrentTransitionsExactlyOneApplies) {
  const v1::Case c = Referred("ref-race");
  constexpr int kThreads = 50;
  std::latch start(kThreads);
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      v1::Case next = c;
      next.set_state(i % 2 == 0 ? v1::CASE_STATE_ACCEPTED : v1::CASE_STATE_DECLINED);
      CaseWrite w = Change(c, next, kNow + absl::Seconds(i + 1), absl::StrCat("attempt-", i));
      w.notifications.push_back(Notify(w.next, {std::string(kPoliceKey)}));
      w.deadlines_ended.push_back(v1::DEADLINE_KIND_CENTRE_RESPONSE);
      start.arrive_and_wait();
      const Status s = store_->Apply(w);
      if (s.ok()) {
        ++ok;
      } else if (s.code() == absl::StatusCode::kAborted) {
        ++aborted;
      } else {
        ++other;
        ADD_FAILURE() << s;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);

  auto got = store_->Get("ref-race");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version(), 2);
  auto history = store_->History("ref-race");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);  // the create + exactly one transition
  EXPECT_EQ((*history)[1].version(), 2);
  EXPECT_EQ((*history)[1].to_state(), got->state());
  EXPECT_EQ(OutboxLength(), 1);
  auto counts = store_->CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->size(), 1u);
  EXPECT_EQ(counts->at(got->state()), 1);
}

// Test (required): an item read but not acked is re-read by another consumer once claim_after
// has passed (not before); an acked item is gone.
TEST_F(RedisReferralStoreTest, OutboxUnackedIsReclaimedAckedIsGone) {
  const v1::Case c = NewCase("ref-outbox", v1::CASE_STATE_REFERRED, kNow);
  CaseWrite w = Create(c);
  w.notifications.push_back(Notify(c, {std::string(kPayokeKey), std::string(kPoliceKey)}));
  ASSERT_TRUE(store_->Apply(w).ok());

  auto first = store_->ReadOutbox("notifier-a", 10, absl::Minutes(5));
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(*first, SizeIs(1));
  const OutboxItem& item = (*first)[0];
  EXPECT_EQ(item.type, "transition");
  EXPECT_EQ(item.id, "ref-outbox-v1");
  EXPECT_EQ(item.case_id, "ref-outbox");
  EXPECT_THAT(item.recipients, ElementsAre(std::string(kPayokeKey), std::string(kPoliceKey)));
  EXPECT_EQ(item.body, R"({"event":"transition"})");

  // Not idle long enough: another consumer does not get it, and nothing new is there.
  auto early = store_->ReadOutbox("notifier-b", 10, absl::Hours(1));
  ASSERT_TRUE(early.ok());
  EXPECT_THAT(*early, IsEmpty());

  // Once idle past claim_after, consumer b gets the same item (bounded polling).
  std::vector<OutboxItem> reclaimed;
  for (int i = 0; i < 200 && reclaimed.empty(); ++i) {
    auto r = store_->ReadOutbox("notifier-b", 10, absl::Milliseconds(20));
    ASSERT_TRUE(r.ok()) << r.status();
    reclaimed = *r;
    if (reclaimed.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_THAT(reclaimed, SizeIs(1));
  EXPECT_EQ(reclaimed[0].stream_id, item.stream_id);
  EXPECT_EQ(reclaimed[0].id, "ref-outbox-v1");
  EXPECT_EQ(OutboxLength(), 1);

  ASSERT_TRUE(store_->AckOutbox({reclaimed[0].stream_id}).ok());
  EXPECT_EQ(OutboxLength(), 0);
  auto after = store_->ReadOutbox("notifier-c", 10, absl::ZeroDuration());
  ASSERT_TRUE(after.ok());
  EXPECT_THAT(*after, IsEmpty());
  EXPECT_EQ(store_->AckOutbox({"not-an-id"}).code(), absl::StatusCode::kInvalidArgument);
}

// Test that ReadOutbox on an empty Redis (no stream, no group yet) returns nothing.
TEST_F(RedisReferralStoreTest, OutboxReadBeforeAnyWrite) {
  auto r = store_->ReadOutbox("notifier-a", 10, absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, IsEmpty());
  EXPECT_EQ(OutboxLength(), 0);
}

// Test (required): when the centre changes, the old centre no longer lists the case, the new one
// does, and the referrer still does; the per-state index follows the state.
TEST_F(RedisReferralStoreTest, PartyIndexFollowsCentreChange) {
  const v1::Case c = Referred("ref-party");
  auto payoke = store_->ListForAgency(std::string(kPayokeKey), v1::CASE_STATE_UNSPECIFIED,
                                      absl::InfiniteFuture(), 0, "");
  ASSERT_TRUE(payoke.ok()) << payoke.status();
  EXPECT_THAT(CaseIds(*payoke), ElementsAre("ref-party"));

  v1::Case declined = c;
  declined.set_state(v1::CASE_STATE_DECLINED);
  *declined.add_declined_by() = kPayoke;
  ASSERT_TRUE(store_->Apply(Change(c, declined, kNow + absl::Hours(1), "decline")).ok());
  v1::Case elsewhere = declined;
  elsewhere.set_version(2);
  elsewhere.set_state(v1::CASE_STATE_REFERRED);
  *elsewhere.mutable_receiving_centre() = kSurya;
  *elsewhere.mutable_magistrate() = kMagistrate;
  const v1::Case stored_declined = *store_->Get("ref-party");
  ASSERT_TRUE(
      store_->Apply(Change(stored_declined, elsewhere, kNow + absl::Hours(2), "refer_elsewhere"))
          .ok());

  auto list = [&](std::string_view agency, v1::CaseState state) {
    auto page = store_->ListForAgency(std::string(agency), state, absl::InfiniteFuture(), 0, "");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? CaseIds(*page) : std::vector<std::string>{};
  };
  EXPECT_THAT(list(kPayokeKey, v1::CASE_STATE_UNSPECIFIED), IsEmpty());
  EXPECT_THAT(list(kSuryaKey, v1::CASE_STATE_UNSPECIFIED), ElementsAre("ref-party"));
  EXPECT_THAT(list("magistrate/pk-antwerp", v1::CASE_STATE_UNSPECIFIED), ElementsAre("ref-party"));
  EXPECT_THAT(list(kPoliceKey, v1::CASE_STATE_UNSPECIFIED), ElementsAre("ref-party"));
  EXPECT_THAT(list(kPoliceKey, v1::CASE_STATE_REFERRED), ElementsAre("ref-party"));
  EXPECT_THAT(list(kPoliceKey, v1::CASE_STATE_DECLINED), IsEmpty());
  EXPECT_THAT(list("coordination_unit/cu", v1::CASE_STATE_UNSPECIFIED), IsEmpty());
}

// A draft is listed for its referring agency only, although it already names a centre and a
// magistrate; once submitted, for every party. A draft indexed for every party by an earlier
// version (before drafts became private) is still updated, and leaves the others' lists.
TEST_F(RedisReferralStoreTest, ADraftIsIndexedForItsReferrerOnly) {
  auto list = [&](std::string_view agency) {
    auto page = store_->ListForAgency(std::string(agency), v1::CASE_STATE_UNSPECIFIED,
                                      absl::InfiniteFuture(), 0, "");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? CaseIds(*page) : std::vector<std::string>{};
  };
  v1::Case draft = NewCase("ref-draft", v1::CASE_STATE_DETECTED, kNow);
  *draft.mutable_magistrate() = kMagistrate;
  ASSERT_TRUE(store_->Apply(Create(draft)).ok());
  EXPECT_THAT(list(kPoliceKey), ElementsAre("ref-draft"));
  EXPECT_THAT(list(kPayokeKey), IsEmpty());
  EXPECT_THAT(list("magistrate/pk-antwerp"), IsEmpty());
  auto stored = redis_->Command({"HGET", "concord:{ref}:case:ref-draft", "p"});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->str, kPoliceKey);

  v1::Case referred = draft;
  referred.set_state(v1::CASE_STATE_REFERRED);
  ASSERT_TRUE(store_->Apply(Change(draft, referred, kNow + absl::Hours(1), "submit")).ok());
  EXPECT_THAT(list(kPayokeKey), ElementsAre("ref-draft"));
  EXPECT_THAT(list("magistrate/pk-antwerp"), ElementsAre("ref-draft"));

  // The legacy index of a draft: every party listed, "p" = every party.
  v1::Case legacy = NewCase("ref-legacy", v1::CASE_STATE_DETECTED, kNow);
  ASSERT_TRUE(store_->Apply(Create(legacy)).ok());
  const std::string payoke(kPayokeKey);
  const std::string both = "police/pz-antwerp reception_centre/payoke";
  ASSERT_TRUE(redis_->Command({"HSET", "concord:{ref}:case:ref-legacy", "p", both}).ok());
  ASSERT_TRUE(redis_
                  ->Command({"ZADD", "concord:{ref}:party:" + payoke,
                             absl::StrCat(absl::ToUnixMillis(kNow)), "ref-legacy"})
                  .ok());
  ASSERT_TRUE(redis_
                  ->Command({"ZADD", "concord:{ref}:party:" + payoke + ":s:1",
                             absl::StrCat(absl::ToUnixMillis(kNow)), "ref-legacy"})
                  .ok());
  v1::Case saved = legacy;
  saved.mutable_attributes()->add_languages("pt");
  ASSERT_TRUE(store_->Apply(Change(legacy, saved, kNow + absl::Hours(2), "save_draft")).ok());
  EXPECT_THAT(list(kPayokeKey), ElementsAre("ref-draft"));
  auto page = store_->ListForAgency(std::string(kPayokeKey), v1::CASE_STATE_DETECTED,
                                    absl::InfiniteFuture(), 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(CaseIds(*page), IsEmpty());
}

// Test that listing is newest update first, pages with an opaque token without gaps or
// duplicates (also across equal update times), and refuses a forged token precisely.
TEST_F(RedisReferralStoreTest, ListPagesNewestFirst) {
  std::vector<std::string> expected;
  for (int i = 0; i < 12; ++i) {
    // Pairs of cases share an update time, to exercise ties.
    const std::string id = absl::StrCat("ref-page-", i < 10 ? "0" : "", i);
    Referred(id, kNow + absl::Seconds(i / 2));
  }
  for (int i = 11; i >= 0; --i) expected.push_back(absl::StrCat("ref-page-", i < 10 ? "0" : "", i));

  std::vector<std::string> seen;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListForAgency(std::string(kPoliceKey), v1::CASE_STATE_UNSPECIFIED,
                                      absl::InfiniteFuture(), 5, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->cases.size(), 5u);
    for (const std::string& id : CaseIds(*page)) seen.push_back(id);
    token = page->next_page_token;
    if (token.empty()) break;
  }
  EXPECT_TRUE(token.empty());
  EXPECT_EQ(seen, expected);

  for (std::string_view bad : {"%%%", "bm8tYmFy", "YWJjfHJlZi0x" /* "abc|ref-1" */}) {
    auto page = store_->ListForAgency(std::string(kPoliceKey), v1::CASE_STATE_UNSPECIFIED,
                                      absl::InfiniteFuture(), 5, bad);
    ASSERT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    ASSERT_THAT(FieldViolationsOf(page.status()), SizeIs(1));
    EXPECT_EQ(FieldViolationsOf(page.status())[0].field, "page.page_token");
  }
}

// Test (required): counts by state, centre load (only OccupiesCentre states) and the overdue
// count of running deadlines, through transitions and deadline ends.
TEST_F(RedisReferralStoreTest, CountsCentreLoadAndOverdue) {
  const v1::Case draft = NewCase("ref-count-draft", v1::CASE_STATE_DETECTED, kNow);
  ASSERT_TRUE(store_->Apply(Create(draft)).ok());
  const v1::Case a = Referred("ref-count-a");
  const v1::Case b = Referred("ref-count-b");

  // a: referred with a centre-response deadline due in 24 h.
  v1::Case a2 = a;
  CaseWrite wa = Change(a, a2, kNow + absl::Minutes(1), "submit");
  wa.deadlines_started.push_back({v1::DEADLINE_KIND_CENTRE_RESPONSE,
                                  kNow + absl::Hours(24),
                                  std::nullopt,
                                  {kNow + absl::Hours(24)}});
  ASSERT_TRUE(store_->Apply(wa).ok());
  // b: accepted, reflection running, due in 45 days.
  v1::Case b2 = b;
  b2.set_state(v1::CASE_STATE_REFLECTION);
  CaseWrite wb = Change(b, b2, kNow + absl::Minutes(2), "issue_reflection_document");
  wb.deadlines_started.push_back({v1::DEADLINE_KIND_REFLECTION_END,
                                  kNow + absl::Hours(24 * 45),
                                  std::nullopt,
                                  {kNow + absl::Hours(24 * 40), kNow + absl::Hours(24 * 45)}});
  ASSERT_TRUE(store_->Apply(wb).ok());

  auto counts = store_->CountByState();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, (std::map<v1::CaseState, int64_t>{{v1::CASE_STATE_DETECTED, 1},
                                                       {v1::CASE_STATE_REFERRED, 1},
                                                       {v1::CASE_STATE_REFLECTION, 1}}));
  auto load = store_->CentreLoad();
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_EQ(*load, (std::map<std::string, int64_t>{{std::string(kPayokeKey), 2}}));

  EXPECT_EQ(*store_->CountOverdue(kNow), 0);
  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(25)), 1);
  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(24 * 46)), 2);

  // Cases with a deadline due before a time.
  auto due = store_->ListForAgency(std::string(kPayokeKey), v1::CASE_STATE_UNSPECIFIED,
                                   kNow + absl::Hours(48), 0, "");
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(CaseIds(*due), ElementsAre("ref-count-a"));

  // a: accepted (centre answered: deadline ended), then closed (no longer occupies the centre).
  const v1::Case a3 = *store_->Get("ref-count-a");
  v1::Case a4 = a3;
  a4.set_state(v1::CASE_STATE_CLOSED);
  CaseWrite wc = Change(a3, a4, kNow + absl::Hours(30), "close");
  wc.deadlines_ended.push_back(v1::DEADLINE_KIND_CENTRE_RESPONSE);
  ASSERT_TRUE(store_->Apply(wc).ok());

  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(25)), 0);
  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(24 * 46)), 1);
  EXPECT_EQ(*store_->CentreLoad(), (std::map<std::string, int64_t>{{std::string(kPayokeKey), 1}}));
  EXPECT_EQ(*store_->CountByState(),
            (std::map<v1::CaseState, int64_t>{{v1::CASE_STATE_DETECTED, 1},
                                              {v1::CASE_STATE_REFLECTION, 1},
                                              {v1::CASE_STATE_CLOSED, 1}}));
  due = store_->ListForAgency(std::string(kPayokeKey), v1::CASE_STATE_UNSPECIFIED,
                              kNow + absl::Hours(48), 0, "");
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(CaseIds(*due), IsEmpty());
  // The ended deadline's fire entry is gone: nothing fires for case a.
  auto fired = store_->FireDueFirings(kNow + absl::Hours(24 * 50), 100);
  ASSERT_TRUE(fired.ok());
  std::vector<std::string> ids;
  for (const Firing& f : *fired) ids.push_back(f.id);
  const int64_t due_ms = absl::ToUnixMillis(kNow + absl::Hours(24 * 45));
  EXPECT_THAT(ids,
              UnorderedElementsAre(absl::StrCat("ref-count-b-reflection_end-reminder-", due_ms),
                                   absl::StrCat("ref-count-b-reflection_end-expired-", due_ms)));
}

// Test that starting a deadline of a running kind replaces it (old fire entries removed) and that
// firing is exactly once and never early.
TEST_F(RedisReferralStoreTest, DeadlineReplacedAndFiredOnce) {
  const v1::Case c = Referred("ref-renew");
  CaseWrite w1 = Change(c, c, kNow + absl::Minutes(1), "issue_certificate");
  w1.deadlines_started.push_back({v1::DEADLINE_KIND_CERTIFICATE_EXPIRY,
                                  kNow + absl::Hours(100),
                                  std::nullopt,
                                  {kNow + absl::Hours(90), kNow + absl::Hours(100)}});
  ASSERT_TRUE(store_->Apply(w1).ok());
  const v1::Case c2 = *store_->Get("ref-renew");
  CaseWrite w2 = Change(c2, c2, kNow + absl::Minutes(2), "renew_certificate");
  w2.deadlines_started.push_back({v1::DEADLINE_KIND_CERTIFICATE_EXPIRY,
                                  kNow + absl::Hours(200),
                                  std::nullopt,
                                  {kNow + absl::Hours(190), kNow + absl::Hours(200)}});
  ASSERT_TRUE(store_->Apply(w2).ok());

  EXPECT_EQ(*store_->FireDue(kNow + absl::Hours(189), 100), 0);
  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(150)), 0);
  auto reminder = store_->FireDueFirings(kNow + absl::Hours(190), 100);
  ASSERT_TRUE(reminder.ok());
  ASSERT_THAT(*reminder, SizeIs(1));
  EXPECT_EQ((*reminder)[0].stage, "reminder");
  EXPECT_EQ((*reminder)[0].kind, v1::DEADLINE_KIND_CERTIFICATE_EXPIRY);
  EXPECT_EQ((*reminder)[0].fire_at, kNow + absl::Hours(190));
  EXPECT_EQ(*store_->FireDue(kNow + absl::Hours(190), 100), 0);
  EXPECT_EQ(*store_->FireDue(kNow + absl::Hours(300), 100), 1);
  EXPECT_EQ(*store_->FireDue(kNow + absl::Hours(300), 100), 0);
  // Still running (not ended by a transition): counts as overdue.
  EXPECT_EQ(*store_->CountOverdue(kNow + absl::Hours(300)), 1);

  auto items = store_->ReadOutbox("n", 10, absl::Minutes(1));
  ASSERT_TRUE(items.ok());
  ASSERT_THAT(*items, SizeIs(2));
  EXPECT_EQ((*items)[1].type, "deadline");
  EXPECT_EQ((*items)[1].stage, "expired");
  EXPECT_EQ((*items)[1].kind, v1::DEADLINE_KIND_CERTIFICATE_EXPIRY);
  EXPECT_EQ((*items)[1].due, kNow + absl::Hours(200));
  EXPECT_EQ((*items)[1].case_id, "ref-renew");
}

// Test that sealed record versions are kept, read by version or latest, and that storing an
// existing version is refused without writing anything else.
TEST_F(RedisReferralStoreTest, SealedVersionsAndConflictWritesNothing) {
  v1::Case c = NewCase("ref-sealed", v1::CASE_STATE_DETECTED, kNow);
  c.set_sealed_record_version(1);
  CaseWrite w = Create(c);
  v1::SealedRecord r1;
  r1.set_nonce(std::string(12, 'n'));
  r1.set_ciphertext("ciphertext-one");
  r1.set_version(1);
  w.sealed = r1;
  ASSERT_TRUE(store_->Apply(w).ok());
  EXPECT_EQ(store_->GetSealed("ref-sealed", 0).status().code(), absl::StatusCode::kOk);
  EXPECT_EQ(store_->GetSealed("ref-sealed", 2).status().code(), absl::StatusCode::kNotFound);

  v1::Case next = c;
  next.set_sealed_record_version(2);
  CaseWrite w2 = Change(c, next, kNow + absl::Minutes(1), "update_sealed");
  v1::SealedRecord r2 = r1;
  r2.set_ciphertext("ciphertext-two");
  r2.set_version(2);
  w2.sealed = r2;
  ASSERT_TRUE(store_->Apply(w2).ok());
  EXPECT_EQ(store_->GetSealed("ref-sealed", 0)->ciphertext(), "ciphertext-two");
  EXPECT_EQ(store_->GetSealed("ref-sealed", 1)->ciphertext(), "ciphertext-one");

  // A write carrying an already stored version: refused, and nothing of it is written.
  const std::string before = server_->DumpAll();
  const v1::Case v2 = *store_->Get("ref-sealed");
  CaseWrite w3 = Change(v2, v2, kNow + absl::Minutes(2), "update_sealed");
  w3.sealed = r1;
  w3.notifications.push_back(Notify(w3.next, {std::string(kPayokeKey)}));
  w3.deadlines_started.push_back({v1::DEADLINE_KIND_CENTRE_RESPONSE,
                                  kNow + absl::Hours(1),
                                  std::nullopt,
                                  {kNow + absl::Hours(1)}});
  EXPECT_EQ(store_->Apply(w3).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(server_->DumpAll(), before);
  EXPECT_EQ(store_->GetSealed("ref-nosuch", 0).status().code(), absl::StatusCode::kNotFound);
}

// Test (required): a scan of every Redis key after storing a sealed record finds no plaintext.
TEST_F(RedisReferralStoreTest, SealedRecordIsNeverStoredInClear) {
  const std::string kName = "Esperanza Valdivia-Quispe";
  const std::string kContact = "+32 470 12 34 56";
  v1::PersonalRecord person;
  person.set_full_name(kName);
  person.set_date_of_birth("1999-04-17");
  person.set_contact(kContact);
  person.set_notes("met at Brussels-Midi");
  const auto centre_key = crypto::X25519PrivateKey::Generate();
  const auto magistrate_key = crypto::X25519PrivateKey::Generate();
  auto box = crypto::Seal(person.SerializeAsString(),
                          {{std::string(kPayokeKey), centre_key.PublicKey()},
                           {"magistrate/pk-antwerp", magistrate_key.PublicKey()}},
                          "concord-referral-record-v1|ref-secret");
  ASSERT_TRUE(box.ok()) << box.status();
  v1::SealedRecord record;
  record.set_nonce(box->nonce);
  record.set_ciphertext(box->ciphertext);
  for (const crypto::WrappedKey& k : box->keys) {
    auto* wk = record.add_keys();
    wk->set_recipient(k.recipient);
    wk->set_ephemeral_public(k.ephemeral_public);
    wk->set_nonce(k.nonce);
    wk->set_ciphertext(k.ciphertext);
  }
  record.set_version(1);
  *record.mutable_author() = kPolice;

  v1::Case c = NewCase("ref-secret", v1::CASE_STATE_DETECTED, kNow);
  c.set_sealed_record_version(1);
  CaseWrite w = Create(c);
  w.sealed = record;
  ASSERT_TRUE(store_->Apply(w).ok());

  // It round-trips and opens for the centre.
  auto stored = store_->GetSealed("ref-secret", 0);
  ASSERT_TRUE(stored.ok()) << stored.status();
  crypto::SealedBox back{stored->nonce(), stored->ciphertext(), {}};
  for (const auto& k : stored->keys()) {
    back.keys.push_back({k.recipient(), k.ephemeral_public(), k.nonce(), k.ciphertext()});
  }
  auto opened = crypto::Open(back, kPayokeKey, centre_key, "concord-referral-record-v1|ref-secret");
  ASSERT_TRUE(opened.ok()) << opened.status();
  v1::PersonalRecord reopened;
  ASSERT_TRUE(reopened.ParseFromString(*opened));
  EXPECT_EQ(reopened.full_name(), kName);

  const std::string dump = server_->DumpAll();
  EXPECT_NE(dump.find("ref-secret"), std::string::npos);  // the dump does contain the keys
  for (const std::string& secret : {kName, std::string("Valdivia"), kContact,
                                    std::string("1999-04-17"), std::string("Brussels-Midi")}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << "plaintext found in Redis: " << secret;
  }
}

// Test (required): with Redis stopped every call is UNAVAILABLE and a refused Apply wrote
// nothing once Redis is back (AOF, so the data survives the restart).
TEST(RedisReferralStoreOutage, RedisDownIsUnavailableAndWritesNothing) {
  auto server = testing::RedisServer::Start({.aof = true, .password = {}});
  ASSERT_NE(server, nullptr);
  auto redis = redis::RedisClient::Create(server->config());
  RedisReferralStore store(*redis);
  v1::Case c = NewCase("ref-outage", v1::CASE_STATE_REFERRED, kNow);
  ASSERT_TRUE(store.Apply(Create(c)).ok());
  const std::string before = server->DumpAll();

  server->Stop();
  v1::Case next = c;
  next.set_state(v1::CASE_STATE_ACCEPTED);
  CaseWrite w = Change(c, next, kNow + absl::Minutes(1), "accept");
  w.notifications.push_back(Notify(w.next, {std::string(kPoliceKey)}));
  const absl::Time started = absl::Now();
  EXPECT_EQ(store.Apply(w).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.Get("ref-outage").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.FireDue(kNow, 10).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.ReadOutbox("n", 10, absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.CountByState().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - started, absl::Seconds(10));  // fails fast, no hang

  server->Start();
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    up = redis->Ping().ok();
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up);
  EXPECT_EQ(server->DumpAll(), before);
  auto got = store.Get("ref-outage");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version(), 1);
  // The same write now applies.
  EXPECT_TRUE(store.Apply(w).ok());
  EXPECT_EQ(*store.OutboxPending(), 1);
}

}  // namespace
}  // namespace concord::referrals
