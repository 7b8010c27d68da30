#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/audit/audit_record.h"
#include "common/crypto/hash.h"
#include "common/quota/quota_table.h"
#include "common/quota/token_bucket.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "services/messaging/redis_message_store.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace concord::messaging {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

AgencyId Agency(AgencyType type, std::string id) { return AgencyId{"concord.test", type, id}; }

const AgencyId kPolice = Agency(AgencyType::kPolice, "pz-antwerp");
const AgencyId kPayoke = Agency(AgencyType::kReceptionCentre, "payoke");
const AgencyId kMagistrate = Agency(AgencyType::kMagistrate, "thb-antwerp");

Envelope MakeEnvelope(std::string id, std::vector<AgencyId> recipients = {kPayoke, kMagistrate}) {
  Envelope e;
  e.message_id = std::move(id);
  e.sender = kPolice;
  e.recipients = std::move(recipients);
  e.thread_id = "thread-1";
  e.kind = MessageKind::kInformation;
  e.classification = Classification::kRestricted;
  e.handling_code = HandlingCode::kH1;
  e.created_at = kNow;
  e.expires_at = kNow + absl::Hours(24);
  e.body.nonce = std::string(12, 'n');
  e.body.ciphertext = "sealed-bytes-only";
  for (const AgencyId& r : e.recipients) {
    e.body.keys.push_back(
        {r.Key(), std::string(32, 'e'), std::string(12, 'k'), std::string(48, 'w')});
  }
  e.signature = std::string(64, 's');
  return e;
}

std::vector<std::string> Ids(const std::vector<InboxDelivery>& d) {
  std::vector<std::string> out;
  for (const InboxDelivery& x : d) out.push_back(x.message.envelope.message_id);
  return out;
}

// Calls of every Redis command so far, by name ("evalsha", "xreadgroup", ...), from INFO
// commandstats (Redis 7 counts the commands a script runs as well as the EVALSHA; the INFO that
// reads them counts itself too, as "info").
std::map<std::string, int64_t> CommandCalls(redis::RedisClient& admin) {
  std::map<std::string, int64_t> out;
  auto r = admin.Command({"INFO", "commandstats"});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return out;
  for (absl::string_view line : absl::StrSplit(r->str, "\r\n")) {
    const size_t at = line.find(":calls=");
    if (!absl::StartsWith(line, "cmdstat_") || at == absl::string_view::npos) continue;
    absl::string_view rest = line.substr(at + 7);
    int64_t n = 0;
    EXPECT_TRUE(absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n)) << line;
    out[std::string(line.substr(8, at - 8))] = n;
  }
  return out;
}

// The entries of messaging's audit slot intake, oldest first.
std::vector<std::string> AuditSlotIntake(redis::RedisClient& admin) {
  std::vector<std::string> out;
  auto r = admin.Command({"LRANGE", audit::SlotIntakeKey("msg"), "0", "-1"});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return out;
  for (const redis::Reply& e : r->elements) out.push_back(e.str);
  return out;
}

// The commands run between two CommandCalls, by name, without the INFO calls themselves.
std::map<std::string, int64_t> CallsBetween(const std::map<std::string, int64_t>& before,
                                            const std::map<std::string, int64_t>& after) {
  std::map<std::string, int64_t> out;
  for (const auto& [name, n] : after) {
    const auto it = before.find(name);
    const int64_t d = n - (it == before.end() ? 0 : it->second);
    if (d != 0 && name != "info") out[name] = d;
  }
  return out;
}

int64_t Total(const std::map<std::string, int64_t>& calls) {
  int64_t total = 0;
  for (const auto& [name, n] : calls) total += n;
  return total;
}

// AckAsync's result, waited for (DEADLINE_EXCEEDED, and a failed expectation, if it never comes).
StatusOr<uint32_t> AckAsyncAndWait(RedisMessageStore& store, const AgencyId& recipient,
                                   const std::vector<std::string>& ids,
                                   std::vector<std::string> audit_entries = {}) {
  auto result = testing::AwaitCallback<StatusOr<uint32_t>>([&](auto done) {
    store.AckAsync(recipient, ids, kNow, std::move(audit_entries), std::move(done));
  });
  EXPECT_TRUE(result.has_value());
  if (!result.has_value()) return absl::DeadlineExceededError("no callback");
  return *std::move(result);
}

class RedisMessageStoreTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<RedisMessageStore>(
        *redis_, RedisMessageStoreOptions{.trust_domain = "concord.test",
                                          .tombstone_ttl = absl::Minutes(10),
                                          .unsent_attachment_ttl = absl::Hours(24)});
  }

  std::unique_ptr<RedisMessageStore> store_;
};

// Test that one Send stores the envelope once, reaches every recipient inbox, and that every key
// carries the {msg} hash tag.
TEST_F(RedisMessageStoreTest, SendStoresOnceAndReachesEveryInbox) {
  const Envelope e = MakeEnvelope("message-0000000001");
  auto sent = store_->Send(kPolice, e, kNow);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_FALSE(sent->duplicate);
  EXPECT_EQ(sent->envelope_sha256, EnvelopeSha256(e));
  EXPECT_EQ(sent->accepted_at, kNow);

  auto got = store_->Get(e.message_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->envelope, e);
  for (const AgencyId& r : {kPayoke, kMagistrate}) {
    auto d = store_->Deliver(r, "t1", 10, absl::Seconds(30), /*include_own_pending=*/true,
                             /*max_bytes=*/0);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_THAT(Ids(*d), ElementsAre(e.message_id));
    EXPECT_EQ((*d)[0].delivery_count, 1u);
    EXPECT_TRUE(*store_->InInbox(r, e.message_id));
  }
  EXPECT_FALSE(*store_->InInbox(kPolice, e.message_id));
  for (const std::string& key : server_->AllKeys()) {
    EXPECT_EQ(redis::HashTag(key), "msg") << key;
  }
}

// Test that a Send costs a fixed number of Redis commands plus one per recipient (XADD): the
// stored fields and every inbox's entry id are one HSET (it was one more HSET per recipient), and
// an XADD NOMKSTREAM finds a known inbox by itself (it was one SMISMEMBER more per Send, before
// that one SADD per recipient; 10 commands for 3 recipients before, 12 and 15 before that). Counts
// are deterministic (INFO commandstats; Redis 7 counts the commands a script runs as well as the
// EVALSHA).
TEST_F(RedisMessageStoreTest, SendCostsAFixedNumberOfCommandsPlusOnePerRecipient) {
  const AgencyId other = Agency(AgencyType::kSocialInspection, "sis-1");
  const std::vector<AgencyId> recipients = {kPayoke, kMagistrate, other};
  auto admin = redis::RedisClient::Create(server_->admin_config());
  // The first Send to an inbox also adds it to the known inboxes and creates its consumer group
  // (an SADD and an XGROUP per new inbox); then the steady state.
  auto before = CommandCalls(*admin);
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-warm-up-0001", recipients), kNow).ok());
  auto first = CallsBetween(before, CommandCalls(*admin));
  EXPECT_EQ(first["sadd"], 3);
  EXPECT_EQ(first["xgroup|create"], 3);
  EXPECT_EQ(first["smismember"], 0);
  constexpr int kSends = 10;
  before = CommandCalls(*admin);
  for (int i = 0; i < kSends; ++i) {
    auto sent = store_->Send(
        kPolice, MakeEnvelope(absl::StrCat("message-count-", 1000 + i), recipients), kNow);
    ASSERT_TRUE(sent.ok()) << sent.status();
  }
  const auto calls = CallsBetween(before, CommandCalls(*admin));
  // EVALSHA, HMGET, GET, 3 x XADD, HSET, ZADD, PUBLISH.
  EXPECT_EQ(Total(calls), kSends * 9) << Total(calls) << " commands for " << kSends << " sends";
  EXPECT_EQ(calls.count("smismember"), 0u);
  EXPECT_EQ(calls.count("sadd"), 0u);
  auto got = store_->Get("message-count-1000");
  ASSERT_TRUE(got.ok()) << got.status();
  for (const AgencyId& r : recipients) EXPECT_TRUE(*store_->InInbox(r, "message-count-1000"));
  auto known = admin->Command({"SCARD", redis::Key("msg", "inboxes")});
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_EQ(known->integer, 3);
}

// SendAsync's result, waited for.
StatusOr<SendResult> SendAsyncAndWait(RedisMessageStore& store, const Envelope& e,
                                      std::string audit_entry) {
  auto result = testing::AwaitCallback<StatusOr<SendResult>>([&](auto done) {
    store.SendAsync(kPolice, e, kNow, std::move(audit_entry), std::move(done));
  });
  EXPECT_TRUE(result.has_value());
  if (!result.has_value()) return absl::DeadlineExceededError("no callback");
  return *std::move(result);
}

// Test that the Send's audit record, given to SendAsync sealed, is appended by the send script to
// the audit slot intake (as the messaging ACL user, which may only RPUSH there) exactly when a new
// message is stored: not for a duplicate, not for a refused id, not when no entry is given; the
// wake-up is published only when the intake was empty. It costs one RPUSH in the same script (no
// round trip).
TEST_F(RedisMessageStoreTest, SendAsyncStoresTheAuditEntryWithANewMessageOnly) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  auto async_redis = redis::AsyncRedisClient::Create(server_->config());
  RedisMessageStore store(*redis_, RedisMessageStoreOptions{.trust_domain = "concord.test",
                                                            .async_redis = async_redis.get()});
  auto entries = [&] { return AuditSlotIntake(*admin); };
  const Envelope e = MakeEnvelope("message-audited-0001");
  auto before = CommandCalls(*admin);
  auto sent = SendAsyncAndWait(store, e, "entry-of-the-send");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_TRUE(sent->audited);
  EXPECT_FALSE(sent->duplicate);
  auto calls = CallsBetween(before, CommandCalls(*admin));
  EXPECT_EQ(calls["evalsha"], 1);
  EXPECT_EQ(calls["rpush"], 1);
  EXPECT_EQ(calls["publish"], 2);  // the deliveries, and the ingester's wake-up (empty intake)
  EXPECT_THAT(entries(), ElementsAre("entry-of-the-send"));
  ASSERT_TRUE(store.Get(e.message_id).ok());

  auto again = SendAsyncAndWait(store, e, "entry-of-the-resend");  // idempotent resend
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_FALSE(again->audited);  // the caller appends its record (outcome known then)
  Envelope reused = MakeEnvelope("message-audited-0001");
  reused.body.ciphertext = "another body";
  EXPECT_EQ(SendAsyncAndWait(store, reused, "entry-of-the-conflict").status().code(),
            absl::StatusCode::kAlreadyExists);
  auto unaudited = SendAsyncAndWait(store, MakeEnvelope("message-audited-0002"), "");
  ASSERT_TRUE(unaudited.ok()) << unaudited.status();
  EXPECT_FALSE(unaudited->audited);
  EXPECT_THAT(entries(), ElementsAre("entry-of-the-send"));

  before = CommandCalls(*admin);
  ASSERT_TRUE(SendAsyncAndWait(store, MakeEnvelope("message-audited-0003"), "second").ok());
  calls = CallsBetween(before, CommandCalls(*admin));
  EXPECT_EQ(calls["publish"], 1);  // the intake held an entry: no wake-up
  EXPECT_THAT(entries(), ElementsAre("entry-of-the-send", "second"));
}

// Test that an inbox is known (the backlog counts it) whoever creates it: a Send to a new inbox
// registers it; an inbox created by a Subscribe before any message (Deliver's consumer group,
// MKSTREAM) is registered there, since a later Send's XADD NOMKSTREAM finds it and adds nothing.
TEST_F(RedisMessageStoreTest, AnInboxIsKnownWhetherASendOrADeliveryCreatedIt) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  auto known = [&](const AgencyId& a) {
    auto r = admin->Command({"SISMEMBER", redis::Key("msg", "inboxes"), a.Key()});
    return r.ok() && r->integer == 1;
  };
  auto idle = store_->Deliver(kMagistrate, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_TRUE(known(kMagistrate));
  EXPECT_FALSE(known(kPayoke));
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-known-0001"), kNow).ok());
  EXPECT_TRUE(known(kPayoke));
  EXPECT_FALSE(known(kPolice));
  auto backlog = store_->Backlog();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(*backlog, 2);  // one message waiting in each of the two inboxes
  auto d = store_->Deliver(kMagistrate, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(Ids(*d), ElementsAre("message-known-0001"));

  // The asynchronous read (Subscribe's) registers the inbox it creates too: a later Send's XADD
  // NOMKSTREAM finds that inbox and would never add it, so the backlog would miss it for good.
  auto async_redis = redis::AsyncRedisClient::Create(server_->config());
  RedisMessageStore async_store(
      *redis_,
      RedisMessageStoreOptions{.trust_domain = "concord.test", .async_redis = async_redis.get()});
  auto read = testing::AwaitCallback<StatusOr<std::vector<InboxDelivery>>>([&](auto done) {
    async_store.DeliverAsync(kPolice, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0,
                             /*audit_entry=*/"", std::move(done));
  });
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->ok()) << read->status();
  EXPECT_TRUE(known(kPolice));
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-known-0002", {kPolice}), kNow).ok());
  backlog = store_->Backlog();
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(*backlog, 3);  // the two above (one delivered, neither acknowledged) and Police's
}

// Test that reading N new deliveries costs one round trip (one EVALSHA) and 4 + N commands
// inside it: XREADGROUP COUNT 1, one XRANGE of the entries after it, one ZMSCORE of them all
// against the inbox's acknowledged set, one HMGET per envelope, one XREADGROUP taking exactly the
// entries read. It was one XREADGROUP per message plus a last empty one (2 N + 2 for N = 10: 22).
// An idle inbox costs the EVALSHA and one XREADGROUP.
TEST_F(RedisMessageStoreTest, ReadingNewDeliveriesCostsOneRoundTripAndOneCommandPerMessage) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  // Warm up: the consumer group exists, the scripts are loaded, the terminal's pending list was
  // just claimed (XAUTOCLAIM runs at most every second per terminal: not counted below).
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-warm-up-0002", {kPayoke}), kNow).ok());
  auto warm = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(warm.ok()) << warm.status();
  ASSERT_THAT(*warm, SizeIs(1));
  ASSERT_EQ(*store_->Ack(kPayoke, {"message-warm-up-0002"}, kNow), 1u);

  auto before = CommandCalls(*admin);
  auto idle = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), false, /*max_bytes=*/0);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_THAT(*idle, IsEmpty());
  auto calls = CallsBetween(before, CommandCalls(*admin));
  calls.erase("xautoclaim");
  EXPECT_EQ(calls, (std::map<std::string, int64_t>{{"evalsha", 1}, {"xreadgroup", 1}}));

  constexpr int kMessages = 10;
  std::vector<std::string> ids;
  for (int i = 0; i < kMessages; ++i) {
    ids.push_back(absl::StrCat("message-read-", 1000 + i));
    ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope(ids.back(), {kPayoke}), kNow).ok());
  }
  before = CommandCalls(*admin);
  auto read = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), false, /*max_bytes=*/0);
  ASSERT_TRUE(read.ok()) << read.status();
  calls = CallsBetween(before, CommandCalls(*admin));
  calls.erase("xautoclaim");
  EXPECT_EQ(Ids(*read), ids);
  EXPECT_EQ(
      calls,
      (std::map<std::string, int64_t>{
          {"evalsha", 1}, {"xreadgroup", 2}, {"xrange", 1}, {"zmscore", 1}, {"hmget", kMessages}}));
  // Every entry read is pending for the terminal, and nothing else is.
  auto pending =
      redis_->Command({"XPENDING", redis::Key("msg", "inbox:" + kPayoke.Key()), "terminals"});
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_FALSE(pending->elements.empty());
  EXPECT_EQ(pending->elements[0].integer, kMessages);
}

// Test that an Ack of N ids costs one EVALSHA and N + 3 commands inside it: one HMGET per id (its
// inbox entry id, the previous release's flag, the expiry), ONE ZADD NX of the newly acknowledged
// entries to the inbox's acknowledged set, one ZREMRANGEBYSCORE trimming it, one XACK. It was an
// HGET and an HSETNX per id (2 N + 1: 21 for N = 10). A retry costs the same and counts 0.
TEST_F(RedisMessageStoreTest, AckCostsOneCommandPerIdAndOneWriteForTheCall) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  constexpr int kIds = 10;
  std::vector<std::string> ids;
  for (int i = 0; i < kIds + 1; ++i) {
    ids.push_back(absl::StrCat("message-ackcost-", 1000 + i));
    ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope(ids.back(), {kPayoke}), kNow).ok());
  }
  ASSERT_EQ(*store_->Ack(kPayoke, {ids[kIds]}, kNow), 1u);  // warm-up: the script is loaded
  ids.pop_back();
  auto before = CommandCalls(*admin);
  auto acked = store_->Ack(kPayoke, ids, kNow);
  auto calls = CallsBetween(before, CommandCalls(*admin));
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(*acked, static_cast<uint32_t>(kIds));
  EXPECT_EQ(
      calls,
      (std::map<std::string, int64_t>{
          {"evalsha", 1}, {"hmget", kIds}, {"zadd", 1}, {"zremrangebyscore", 1}, {"xack", 1}}));
  before = CommandCalls(*admin);
  acked = store_->Ack(kPayoke, ids, kNow);
  calls = CallsBetween(before, CommandCalls(*admin));
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(*acked, 0u);  // idempotent
  EXPECT_EQ(Total(calls), 1 + kIds + 3);
  for (const std::string& id : ids) EXPECT_TRUE(*store_->IsAcknowledged(kPayoke, id)) << id;
  auto set = admin->Command({"ZCARD", redis::Key("msg", "acked:" + kPayoke.Key())});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->integer, kIds + 1);
}

// Test a rolling upgrade in both directions: a message acknowledged by a replica of the previous
// release (the flag a:<rkey> in its hash, its entry XACKed; no acknowledged set) is acknowledged
// for every reader of this one (IsAcknowledged, ListInbox, a delivery read of the entry not yet
// delivered, a redelivery of an entry still pending) and a new Ack of it counts 0 and adds
// nothing; a message acknowledged by this release (the acknowledged set only) is acknowledged
// for the same readers; one acknowledged by neither is delivered and listed unacknowledged.
TEST_F(RedisMessageStoreTest, AcknowledgementsOfThePreviousReleaseAndOfThisOneAreReadAlike) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  const std::vector<std::string> ids = {"message-upgrade-0001", "message-upgrade-0002",
                                        "message-upgrade-0003", "message-upgrade-0004"};
  for (const std::string& id : ids) {
    ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope(id, {kPayoke}), kNow).ok());
  }
  // ids[0]: acknowledged by the previous release, before any delivery (its Ack script set the
  // flag and XACKed an entry that was not pending: a no-op).
  ASSERT_TRUE(
      admin->Command({"HSET", redis::Key("msg", "m:" + ids[0]), "a:" + kPayoke.Key(), "1"}).ok());
  // ids[1]: acknowledged by this release, before any delivery.
  ASSERT_EQ(*store_->Ack(kPayoke, {ids[1]}, kNow), 1u);
  // A new Ack of ids[0] counts 0 and does not add it to the acknowledged set.
  ASSERT_EQ(*store_->Ack(kPayoke, {ids[0], ids[1]}, kNow), 0u);
  auto set = admin->Command({"ZCARD", redis::Key("msg", "acked:" + kPayoke.Key())});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->integer, 1);

  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(*store_->IsAcknowledged(kPayoke, ids[i]), i < 2) << i;
  }
  EXPECT_FALSE(*store_->IsAcknowledged(kMagistrate, ids[0]));  // not in its inbox
  InboxQuery q;
  auto all = store_->ListInbox(kPayoke, q);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_THAT(all->items, SizeIs(4));
  std::map<std::string, bool> listed;
  for (const InboxItem& item : all->items) {
    listed[item.message.envelope.message_id] = item.acknowledged;
  }
  EXPECT_EQ(listed, (std::map<std::string, bool>{
                        {ids[0], true}, {ids[1], true}, {ids[2], false}, {ids[3], false}}));
  q.unacknowledged_only = true;
  auto unacked = store_->ListInbox(kPayoke, q);
  ASSERT_TRUE(unacked.ok()) << unacked.status();
  ASSERT_THAT(unacked->items, SizeIs(2));

  // The first delivery read skips both acknowledged entries (and XACKs them as stale).
  auto d = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(Ids(*d), ElementsAre(ids[2], ids[3]));
  // Pending entries acknowledged meanwhile, by either release, are not delivered again: ids[2]
  // by the previous release (the flag; its XACK is left out here, as if the reply were lost
  // between the HSETNX and the XACK, to exercise the reader), ids[3] through this one's set
  // (added by hand, the same: only the reader is under test).
  ASSERT_TRUE(
      admin->Command({"HSET", redis::Key("msg", "m:" + ids[2]), "a:" + kPayoke.Key(), "1"}).ok());
  auto entry = admin->Command({"HGET", redis::Key("msg", "m:" + ids[3]), "e:" + kPayoke.Key()});
  ASSERT_TRUE(entry.ok()) << entry.status();
  ASSERT_TRUE(admin
                  ->Command({"ZADD", redis::Key("msg", "acked:" + kPayoke.Key()),
                             absl::StrCat(absl::ToUnixMillis(kNow + absl::Hours(24))), entry->str})
                  .ok());
  auto again = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, IsEmpty());
}

// Test the idempotency contract: same envelope -> first result; other envelope -> ALREADY_EXISTS.
TEST_F(RedisMessageStoreTest, SendIsIdempotentOnMessageId) {
  const Envelope e = MakeEnvelope("message-0000000002");
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  auto again = store_->Send(kPolice, e, kNow + absl::Seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->accepted_at, kNow);
  Envelope other = e;
  other.thread_id = "thread-2";
  const Status s = store_->Send(kPolice, other, kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_ID_REUSED");
  // Delivered once only.
  auto d = store_->Deliver(kPayoke, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(*d, SizeIs(1));
}

// Test that a duplicate is answered to the message's own sender only: the same bytes under the
// same id presented by another caller are ALREADY_EXISTS, never "duplicate" (which would tell
// that caller its message was delivered), also after expiry (tombstone).
TEST_F(RedisMessageStoreTest, DuplicateOnlyForTheSameSender) {
  Envelope e = MakeEnvelope("message-0000000031");
  e.expires_at = kNow + absl::Minutes(1);
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  const Status other = store_->Send(kPayoke, e, kNow).status();
  EXPECT_EQ(other.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReasonOf(other), "MESSAGE_ID_REUSED");
  auto own = store_->Send(kPolice, e, kNow);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->duplicate);

  ASSERT_TRUE(store_->RemoveExpired(kNow + absl::Minutes(2), 10).ok());
  EXPECT_EQ(store_->Send(kPayoke, e, kNow).status().code(), absl::StatusCode::kAlreadyExists);
  auto replay = store_->Send(kPolice, e, kNow);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->duplicate);
}

// Test that terminals share the work and that unacknowledged deliveries move to another terminal
// after the visibility timeout, while acknowledged ones never come back.
TEST_F(RedisMessageStoreTest, TerminalsShareWorkAndUnackedAreRedelivered) {
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000003"), kNow).ok());
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000004"), kNow).ok());
  auto t1 = store_->Deliver(kPayoke, "t1", 1, absl::Seconds(30), true, /*max_bytes=*/0);
  auto t2 = store_->Deliver(kPayoke, "t2", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_THAT(Ids(*t1), ElementsAre("message-0000000003"));
  EXPECT_THAT(Ids(*t2), ElementsAre("message-0000000004"));
  // Nothing new, nothing timed out yet.
  EXPECT_THAT(*store_->Deliver(kPayoke, "t2", 10, absl::Seconds(30), false, /*max_bytes=*/0),
              IsEmpty());
  // t2 acknowledges; t1 goes silent: after the timeout (0 here) t2 gets t1's delivery.
  EXPECT_EQ(*store_->Ack(kPayoke, {"message-0000000004"}, kNow), 1u);
  auto redelivered =
      store_->Deliver(kPayoke, "t2", 10, absl::ZeroDuration(), false, /*max_bytes=*/0);
  ASSERT_TRUE(redelivered.ok()) << redelivered.status();
  EXPECT_THAT(Ids(*redelivered), ElementsAre("message-0000000003"));
  EXPECT_EQ((*redelivered)[0].delivery_count, 2u);
  // A terminal that reconnects gets its own unacknowledged deliveries again.
  auto reconnect = store_->Deliver(kPayoke, "t2", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(reconnect.ok());
  EXPECT_THAT(Ids(*reconnect), ElementsAre("message-0000000003"));
  EXPECT_EQ(*store_->Ack(kPayoke, {"message-0000000003"}, kNow), 1u);
  EXPECT_THAT(*store_->Deliver(kPayoke, "t1", 10, absl::ZeroDuration(), true, /*max_bytes=*/0),
              IsEmpty());
  EXPECT_THAT(*store_->Deliver(kPayoke, "t2", 10, absl::ZeroDuration(), true, /*max_bytes=*/0),
              IsEmpty());
}

// Test that Ack is idempotent, refuses ids outside the caller's inbox, and that a message acked
// before any delivery (e.g. read through ListInbox) is not delivered.
TEST_F(RedisMessageStoreTest, AckRules) {
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000005"), kNow).ok());
  EXPECT_EQ(*store_->Ack(kMagistrate, {"message-0000000005"}, kNow), 1u);
  EXPECT_EQ(*store_->Ack(kMagistrate, {"message-0000000005"}, kNow), 0u);
  EXPECT_THAT(*store_->Deliver(kMagistrate, "t1", 10, absl::ZeroDuration(), true, /*max_bytes=*/0),
              IsEmpty());
  EXPECT_EQ(store_->Ack(kPolice, {"message-0000000005"}, kNow).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      store_->Ack(kPayoke, {"message-0000000005", "message-unknown-0001"}, kNow).status().code(),
      absl::StatusCode::kNotFound);
  // Nothing was acknowledged by the refused call.
  EXPECT_THAT(*store_->Deliver(kPayoke, "t1", 10, absl::ZeroDuration(), true, /*max_bytes=*/0),
              SizeIs(1));
}

// Test the one-script read of new deliveries: stream order, at most `max` entries read per call,
// entries acknowledged meanwhile skipped and removed from the pending list, and an inbox without
// a consumer group (no message yet) answered with nothing.
TEST_F(RedisMessageStoreTest, NewDeliveriesInOrderSkippingAcknowledged) {
  const AgencyId kNobody = Agency(AgencyType::kPolice, "no-messages-yet");
  EXPECT_THAT(*store_->Deliver(kNobody, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0),
              IsEmpty());
  EXPECT_THAT(*store_->Deliver(kNobody, "t1", 10, absl::Seconds(30), false, /*max_bytes=*/0),
              IsEmpty());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        store_->Send(kPolice, MakeEnvelope(absl::StrCat("message-000000001", i)), kNow).ok());
  }
  ASSERT_EQ(*store_->Ack(kPayoke, {"message-0000000012"}, kNow), 1u);
  auto first = store_->Deliver(kPayoke, "t1", 3, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(first.ok()) << first.status();
  // The acknowledged entry is skipped and the batch still holds 3 deliveries.
  EXPECT_THAT(Ids(*first),
              ElementsAre("message-0000000011", "message-0000000013", "message-0000000014"));
  auto second = store_->Deliver(kPayoke, "t1", 3, absl::Seconds(30), false, /*max_bytes=*/0);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Ids(*second), ElementsAre("message-0000000015"));
  for (const InboxDelivery& d : *second) {
    EXPECT_EQ(d.delivery_count, 1u);
    EXPECT_EQ(d.message.accepted_at, kNow);
    EXPECT_EQ(d.message.envelope, MakeEnvelope(d.message.envelope.message_id));
  }
  auto pending =
      redis_->Command({"XPENDING", redis::Key("msg", "inbox:" + kPayoke.Key()), "terminals"});
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_FALSE(pending->elements.empty());
  EXPECT_EQ(pending->elements[0].integer, 4);  // the acknowledged entry left the pending list
  // Reconnecting gets the four unacknowledged deliveries again, as redeliveries.
  auto again = store_->Deliver(kPayoke, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(Ids(*again), ElementsAre("message-0000000011", "message-0000000013",
                                       "message-0000000014", "message-0000000015"));
  EXPECT_EQ((*again)[0].delivery_count, 2u);
}

// Test paging (newest first) and the thread, kind and unacknowledged filters.
TEST_F(RedisMessageStoreTest, ListInboxPagesAndFilters) {
  for (int i = 0; i < 7; ++i) {
    Envelope e = MakeEnvelope(absl::StrCat("message-00000001", i, "0"));
    e.thread_id = i % 2 == 0 ? "even" : "odd";
    e.kind = i == 3 ? MessageKind::kRequest : MessageKind::kInformation;
    ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  }
  ASSERT_TRUE(store_->Ack(kPayoke, {"message-0000000140"}, kNow).ok());
  std::vector<std::string> all;
  InboxQuery q;
  q.page_size = 3;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = store_->ListInbox(kPayoke, q);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const InboxItem& item : page->items) all.push_back(item.message.envelope.message_id);
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  EXPECT_THAT(all, ElementsAre("message-0000000160", "message-0000000150", "message-0000000140",
                               "message-0000000130", "message-0000000120", "message-0000000110",
                               "message-0000000100"));
  InboxQuery even;
  even.thread_id = "even";
  even.unacknowledged_only = true;
  auto page = store_->ListInbox(kPayoke, even);
  ASSERT_TRUE(page.ok());
  std::vector<std::string> ids;
  for (const InboxItem& item : page->items) ids.push_back(item.message.envelope.message_id);
  EXPECT_THAT(ids, ElementsAre("message-0000000160", "message-0000000120", "message-0000000100"));
  InboxQuery requests;
  requests.kind = MessageKind::kRequest;
  page = store_->ListInbox(kPayoke, requests);
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->items, SizeIs(1));
  EXPECT_EQ(page->items[0].message.envelope.message_id, "message-0000000130");
  InboxQuery bad;
  bad.page_token = "not-a-token";
  EXPECT_EQ(store_->ListInbox(kPayoke, bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// Test receipts: stored per recipient and kind, identical resend OK, different refused.
TEST_F(RedisMessageStoreTest, Receipts) {
  const Envelope e = MakeEnvelope("message-0000000006");
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  Receipt r{e.message_id, EnvelopeSha256(e),   kPayoke, ReceiptKind::kRead,
            kNow,         std::string(64, 'r')};
  ASSERT_TRUE(store_->AddReceipt(r).ok());
  EXPECT_TRUE(store_->AddReceipt(r).ok());
  Receipt other = r;
  other.at += absl::Seconds(1);
  EXPECT_EQ(store_->AddReceipt(other).code(), absl::StatusCode::kAlreadyExists);
  Receipt unknown = r;
  unknown.message_id = "message-unknown-0001";
  EXPECT_EQ(store_->AddReceipt(unknown).code(), absl::StatusCode::kNotFound);
  auto list = store_->ListReceipts(e.message_id);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, ElementsAre(r));
}

// Test the attachment life cycle and that Send only binds complete uploads of the sender whose
// chunk digests match the signed references.
TEST_F(RedisMessageStoreTest, AttachmentsBindToOneMessage) {
  const std::string id = "attachment-000000001";
  ASSERT_TRUE(store_->BeginAttachment(id, kPolice, 1500000).ok());
  EXPECT_EQ(store_->BeginAttachment(id, kPayoke, 1500000).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->PutChunk(id, kPolice, 0, "chunk-zero").ok());
  ASSERT_TRUE(store_->PutChunk(id, kPolice, 1, "chunk-one").ok());
  EXPECT_EQ(store_->CompleteAttachment(id, 3).code(), absl::StatusCode::kFailedPrecondition);

  Envelope e = MakeEnvelope("message-0000000007");
  auto sha = [](std::string_view s) {
    const auto d = crypto::Sha256(s);
    return std::string(reinterpret_cast<const char*>(d.data()), d.size());
  };
  e.attachments.push_back({id,
                           "",
                           "",
                           1500000,
                           "",
                           {{0, 10, sha("chunk-zero"), std::string(32, 'c')},
                            {1, 9, sha("chunk-one"), std::string(32, 'd')}}});
  EXPECT_EQ(store_->Send(kPolice, e, kNow).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->CompleteAttachment(id, 2).ok());
  EXPECT_EQ(store_->PutChunk(id, kPolice, 2, "late").code(), absl::StatusCode::kFailedPrecondition);

  Envelope wrong = e;
  wrong.attachments[0].chunks[1].sha256 = sha("other");
  EXPECT_EQ(store_->Send(kPolice, wrong, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  Envelope reuse = e;
  reuse.message_id = "message-0000000008";
  EXPECT_EQ(store_->Send(kPolice, reuse, kNow).status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto info = store_->GetAttachment(id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->owner, kPolice);
  EXPECT_TRUE(info->complete);
  EXPECT_EQ(info->chunk_count, 2u);
  EXPECT_EQ(info->message_id, e.message_id);
  EXPECT_EQ(*store_->GetChunk(id, 1), "chunk-one");
  EXPECT_EQ(store_->GetChunk(id, 2).status().code(), absl::StatusCode::kNotFound);
}

// Envelopes with a body of `body_bytes` sealed bytes.
Envelope BigEnvelope(std::string id, size_t body_bytes) {
  Envelope e = MakeEnvelope(std::move(id));
  e.body.ciphertext = std::string(body_bytes, 'b');
  return e;
}

// Test that a Subscribe batch stops at its byte budget (plus one envelope) and takes into the
// pending list only what it returns: the rest comes with the next batch, nothing is lost.
TEST_F(RedisMessageStoreTest, DeliveryBatchesStopAtTheByteBudget) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        store_->Send(kPolice, BigEnvelope(absl::StrCat("message-big-00000", i), 100000), kNow)
            .ok());
  }
  auto first = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), true, 250000);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, SizeIs(3));  // 100 k, 200 k, then 300 k reaches the budget
  auto pending =
      redis_->Command({"XPENDING", redis::Key("msg", "inbox:" + kPayoke.Key()), "terminals"});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->elements[0].integer, 3);
  auto second = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), false, 250000);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Ids(*second),
              ElementsAre("message-big-000003", "message-big-000004", "message-big-000005"));
  // Pending entries read again on a new stream are bounded the same way.
  auto again = store_->Deliver(kPayoke, "t1", 64, absl::Seconds(30), true, 150000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(*again, SizeIs(2));
}

// Test that ListInbox pages stop at their byte budget (the first entry always fits) and that
// following the tokens returns every message once.
TEST_F(RedisMessageStoreTest, ListInboxPagesStopAtTheByteBudget) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        store_->Send(kPolice, BigEnvelope(absl::StrCat("message-big-00000", i), 100000), kNow)
            .ok());
  }
  std::set<std::string> seen;
  InboxQuery q;
  q.page_size = 500;
  q.max_bytes = 250000;
  std::vector<size_t> sizes;
  for (int page = 0; page < 10; ++page) {
    auto p = store_->ListInbox(kPayoke, q);
    ASSERT_TRUE(p.ok()) << p.status();
    sizes.push_back(p->items.size());
    for (const InboxItem& it : p->items) {
      EXPECT_TRUE(seen.insert(it.message.envelope.message_id).second);
    }
    if (p->next_page_token.empty()) break;
    q.page_token = p->next_page_token;
  }
  EXPECT_THAT(sizes, ElementsAre(2, 2, 2, 1));
  EXPECT_EQ(seen.size(), 7u);
  q = InboxQuery{};
  q.max_bytes = 1000;  // smaller than one envelope: one per page
  auto one = store_->ListInbox(kPayoke, q);
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(one->items, SizeIs(1));
  EXPECT_FALSE(one->next_page_token.empty());
}

class QuotaStoreTest : public RedisMessageStoreTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
    auto t = quota::QuotaTable::Defaults().WithOverrides(
        "police.send=2/0.001;police.pending_uploads=2;police.upload=3/0.001;"
        "police.upload_bytes=4194304/1");
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = *t;
    store_ = std::make_unique<RedisMessageStore>(
        *redis_, RedisMessageStoreOptions{.trust_domain = "concord.test",
                                          .tombstone_ttl = absl::Minutes(10),
                                          .unsent_attachment_ttl = absl::Hours(24),
                                          .quotas = &table_});
  }
  quota::QuotaTable table_ = quota::QuotaTable::Defaults();
};

// Test that the send bucket is charged in the send script: the third message is refused with
// the quota's details and nothing is stored; a resend of an accepted one is never charged.
TEST_F(QuotaStoreTest, SendScriptChargesTheSendersBucket) {
  const Envelope first = MakeEnvelope("message-quota-0001");
  ASSERT_TRUE(store_->Send(kPolice, first, kNow).ok());
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-quota-0002"), kNow).ok());
  const auto refused = store_->Send(kPolice, MakeEnvelope("message-quota-0003"), kNow);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(refused.status()), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(refused.status()).at("limit"), "send");
  EXPECT_GT(RetryDelayOf(refused.status()), absl::Seconds(100));
  EXPECT_EQ(store_->Get("message-quota-0003").status().code(), absl::StatusCode::kNotFound);
  auto dup = store_->Send(kPolice, first, kNow);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_TRUE(dup->duplicate);
  // Every key, the buckets included, carries the {msg} tag.
  for (const std::string& key : server_->AllKeys()) EXPECT_EQ(redis::HashTag(key), "msg") << key;
}

// Test that Send's two buckets (send, send_bytes) share one key: the script reads and writes them
// with ONE HMGET and ONE HSET (it was one of each per bucket: 2 + 2), and each still refuses on
// its own, all or nothing: a send refused by its bytes consumes nothing from the count bucket.
TEST_F(QuotaStoreTest, SendChargesBothBucketsWithOneReadAndOneWrite) {
  // The smallest bytes bucket (4 MiB), refilling at 1 byte/s.
  auto t = quota::QuotaTable::Defaults().WithOverrides("police.send_bytes=4194304/1");
  ASSERT_TRUE(t.ok()) << t.status();
  table_ = *t;
  auto admin = redis::RedisClient::Create(server_->admin_config());
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-share-0001"), kNow).ok());  // warm-up
  auto before = CommandCalls(*admin);
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-share-0002"), kNow).ok());
  const auto calls = CallsBetween(before, CommandCalls(*admin));
  // HMGET: the message's idempotency check and the one quota key; HSET: the message and the key.
  EXPECT_EQ(calls.at("hmget"), 2);
  EXPECT_EQ(calls.at("hset"), 2);
  const std::string key = quota::BucketKey("msg", quota::Quota::kSend, kPolice);
  auto fields = admin->Command({"HMGET", key, "t", "t2"});
  ASSERT_TRUE(fields.ok()) << fields.status();
  ASSERT_EQ(fields->elements.size(), 2u);
  const double count_left = std::stod(fields->elements[0].str);
  EXPECT_NEAR(count_left, table_.Bucket(AgencyType::kPolice, quota::Quota::kSend).burst - 2, 0.5);
  EXPECT_FALSE(fields->elements[1].is_nil());
  // Once the bytes bucket (t2) holds less than an envelope, a Send is refused by its bytes, and the
  // count bucket is untouched.
  ASSERT_TRUE(admin->Command({"HSET", key, "t2", "100"}).ok());
  const auto refused = store_->Send(kPolice, MakeEnvelope("message-share-0003"), kNow);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(ReasonMetadataOf(refused.status()).at("limit"), "send_bytes");
  auto after = admin->Command({"HGET", key, "t"});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NEAR(std::stod(after->str), count_left, 0.5);
  EXPECT_EQ(store_->Get("message-share-0003").status().code(), absl::StatusCode::kNotFound);
}

// Test the pending uploads cap (the next upload is refused; aborting or sending frees a slot),
// that an abort keeps nothing, and the upload and upload bytes buckets.
TEST_F(QuotaStoreTest, PendingUploadsCapAndUploadBuckets) {
  ASSERT_TRUE(store_->BeginAttachment("attachment-quota-0001", kPolice, 10).ok());
  ASSERT_TRUE(store_->BeginAttachment("attachment-quota-0002", kPolice, 10).ok());
  // Restarting one's own incomplete upload takes no new slot.
  ASSERT_TRUE(store_->BeginAttachment("attachment-quota-0002", kPolice, 10).ok());
  const Status capped = store_->BeginAttachment("attachment-quota-0003", kPolice, 10);
  EXPECT_EQ(capped.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(capped), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(capped).at("limit"), "pending_uploads");
  // Other agencies have their own.
  ASSERT_TRUE(store_->BeginAttachment("attachment-quota-0009", kPayoke, 10).ok());

  ASSERT_TRUE(store_->PutChunk("attachment-quota-0001", kPolice, 0, "chunk").ok());
  ASSERT_TRUE(store_->AbortAttachment("attachment-quota-0001", kPolice, 1).ok());
  for (const std::string& key : server_->AllKeys()) {
    EXPECT_EQ(key.find("attachment-quota-0001"), std::string::npos) << key;
  }
  // A slot is free again, but the upload bucket (3) is now empty.
  const Status bucket = store_->BeginAttachment("attachment-quota-0004", kPolice, 10);
  ASSERT_TRUE(bucket.ok()) << bucket;
  ASSERT_TRUE(store_->AbortAttachment("attachment-quota-0004", kPolice, 0).ok());
  const Status empty = store_->BeginAttachment("attachment-quota-0005", kPolice, 10);
  EXPECT_EQ(ReasonOf(empty), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(empty).at("limit"), "upload");

  // Upload bytes: 4 MiB of burst (5 bytes of it used above), then refused.
  const std::string mib(1024 * 1024, 'c');
  for (uint32_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(store_->PutChunk("attachment-quota-0002", kPolice, i, mib).ok()) << i;
  }
  const Status bytes = store_->PutChunk("attachment-quota-0002", kPolice, 3, mib);
  EXPECT_EQ(ReasonMetadataOf(bytes).at("limit"), "upload_bytes");
  EXPECT_EQ(store_->GetChunk("attachment-quota-0002", 3).status().code(),
            absl::StatusCode::kNotFound);
}

// Test that Ack charges the recipient's msg_ack bucket one token per id INSIDE the ack script:
// one Ack is still one EVALSHA (no extra round trip), whose commands are the bucket's TIME, HMGET
// and HSET (PEXPIRE only when the key's expiry must grow) plus one HMGET per id, the acknowledged
// set's ZADD and ZREMRANGEBYSCORE and one XACK; an unknown id costs its token too (NOT_FOUND after
// the charge); beyond the bucket the whole Ack is refused (QUOTA_EXCEEDED, limit msg_ack,
// RetryInfo) and nothing is acknowledged, on the synchronous and the asynchronous client alike; the
// bucket is the recipient's, under {msg}.
TEST_F(QuotaStoreTest, AckChargesOneTokenPerIdInsideTheAckScript) {
  auto t = quota::QuotaTable::Defaults().WithOverrides(
      "police.send=100/1;reception_centre.msg_ack=500/0.001");
  ASSERT_TRUE(t.ok()) << t.status();
  table_ = *t;
  auto admin = redis::RedisClient::Create(server_->admin_config());
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(absl::StrCat("message-ackq-", 1000 + i));
    ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope(ids.back()), kNow).ok());
  }
  ASSERT_EQ(*store_->Ack(kPayoke, {ids[0]}, kNow), 1u);  // warm-up: the script, the bucket key
  auto before = CommandCalls(*admin);
  auto acked = store_->Ack(kPayoke, {ids[1], ids[2], ids[3]}, kNow);
  const auto calls = CallsBetween(before, CommandCalls(*admin));
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(*acked, 3u);
  EXPECT_EQ(calls.at("evalsha"), 1);  // the one round trip of the Ack, as before the charge
  EXPECT_EQ(calls.at("time"), 1);
  EXPECT_EQ(calls.at("hmget"), 1 + 3);
  EXPECT_EQ(calls.at("hset"), 1);
  EXPECT_EQ(calls.at("zadd"), 1);
  EXPECT_EQ(calls.at("zremrangebyscore"), 1);
  EXPECT_EQ(calls.at("xack"), 1);
  EXPECT_EQ(Total(calls), 1 + 3 + 3 + 3) << Total(calls) << " commands";
  const std::string key = quota::BucketKey("msg", quota::Quota::kMsgAck, kPayoke);
  EXPECT_EQ(redis::HashTag(key), "msg");
  auto tokens = admin->Command({"HGET", key, "t"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_NEAR(std::stod(tokens->str), 500 - 4, 0.5);

  // An unknown id: charged with the rest, NOT_FOUND, nothing acknowledged.
  auto unknown = store_->Ack(kPayoke, {ids[4], "message-ackq-unknown"}, kNow);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  EXPECT_FALSE(*store_->IsAcknowledged(kPayoke, ids[4]));
  tokens = admin->Command({"HGET", key, "t"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_NEAR(std::stod(tokens->str), 500 - 6, 0.5);

  // 494 tokens left: an Ack of 495 ids (one real, the rest unknown) is refused by the bucket,
  // charges nothing and acknowledges nothing.
  std::vector<std::string> flood = {ids[4]};
  for (int i = 1; i < 495; ++i) flood.push_back(absl::StrCat("message-ackq-flood-", 1000 + i));
  const auto refused = store_->Ack(kPayoke, flood, kNow);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(ReasonOf(refused.status()), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(refused.status()).at("limit"), "msg_ack");
  EXPECT_GT(RetryDelayOf(refused.status()), absl::Seconds(100));
  ASSERT_EQ(QuotaViolationsOf(refused.status()).size(), 1u);
  EXPECT_EQ(QuotaViolationsOf(refused.status())[0].field, "agency:reception_centre/payoke");
  EXPECT_FALSE(*store_->IsAcknowledged(kPayoke, ids[4]));
  tokens = admin->Command({"HGET", key, "t"});
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_NEAR(std::stod(tokens->str), 500 - 6, 0.5);
  // The other recipient's bucket is its own (the magistrate's default).
  EXPECT_EQ(*store_->Ack(kMagistrate, {ids[4], ids[5]}, kNow), 2u);

  // The asynchronous client runs the same script: the same refusal, then the same count.
  auto async_redis = redis::AsyncRedisClient::Create(server_->config());
  RedisMessageStore async_store(
      *redis_,
      RedisMessageStoreOptions{
          .trust_domain = "concord.test", .quotas = &table_, .async_redis = async_redis.get()});
  auto ack_async = [&](const std::vector<std::string>& ids_of_call) {
    return AckAsyncAndWait(async_store, kPayoke, ids_of_call);
  };
  const auto refused_async = ack_async(flood);
  ASSERT_EQ(refused_async.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonMetadataOf(refused_async.status()).at("limit"), "msg_ack");
  auto async_acked = ack_async({ids[4], ids[5], ids[6]});
  ASSERT_TRUE(async_acked.ok()) << async_acked.status();
  EXPECT_EQ(*async_acked, 3u);
  for (const std::string& k : server_->AllKeys()) EXPECT_EQ(redis::HashTag(k), "msg") << k;
}

// Test that Send binds an attachment only at its declared size and frees its pending slot.
TEST_F(QuotaStoreTest, SendChecksTheDeclaredSizeAndFreesThePendingSlot) {
  const std::string id = "attachment-quota-0007";
  ASSERT_TRUE(store_->BeginAttachment(id, kPolice, 5).ok());
  ASSERT_TRUE(store_->PutChunk(id, kPolice, 0, "chunk-zero").ok());
  ASSERT_TRUE(store_->CompleteAttachment(id, 1).ok());
  const auto d = crypto::Sha256("chunk-zero");
  Envelope e = MakeEnvelope("message-quota-0007");
  e.attachments.push_back({id,
                           "",
                           "",
                           6,
                           "",
                           {{0, 10, std::string(reinterpret_cast<const char*>(d.data()), d.size()),
                             std::string(32, 'c')}}});
  EXPECT_EQ(ReasonOf(store_->Send(kPolice, e, kNow).status()), "ATTACHMENT_UNAVAILABLE");
  e.attachments[0].size = 5;
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  auto pending = redis_->Command({"ZCARD", redis::Key("msg", "uploads:" + kPolice.Key())});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->integer, 0);
}

// Test that expiry removes envelope, inbox entries and receipts, and that a replay of the same
// envelope soon after is still recognised as a duplicate.
TEST_F(RedisMessageStoreTest, RemoveExpired) {
  Envelope e = MakeEnvelope("message-0000000009");
  e.expires_at = kNow + absl::Minutes(1);
  ASSERT_TRUE(store_->Send(kPolice, e, kNow).ok());
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000010"), kNow).ok());
  ASSERT_TRUE(store_->Deliver(kPayoke, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0).ok());
  ASSERT_TRUE(store_
                  ->AddReceipt({e.message_id, EnvelopeSha256(e), kPayoke, ReceiptKind::kDelivered,
                                kNow, std::string(64, 'r')})
                  .ok());
  EXPECT_THAT(*store_->RemoveExpired(kNow, 100), IsEmpty());
  auto removed = store_->RemoveExpired(kNow + absl::Minutes(2), 100);
  ASSERT_TRUE(removed.ok()) << removed.status();
  ASSERT_THAT(*removed, SizeIs(1));
  EXPECT_EQ((*removed)[0].message_id, e.message_id);
  EXPECT_EQ((*removed)[0].sender, kPolice);
  EXPECT_THAT((*removed)[0].recipients, ElementsAre(kPayoke, kMagistrate));
  EXPECT_EQ(store_->Get(e.message_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*store_->InInbox(kPayoke, e.message_id));
  EXPECT_THAT(*store_->ListReceipts(e.message_id), IsEmpty());
  const std::string dump = server_->DumpAll();
  EXPECT_EQ(dump.find("message-0000000009\n"), std::string::npos);
  auto list = store_->ListInbox(kPayoke, InboxQuery{});
  ASSERT_TRUE(list.ok());
  ASSERT_THAT(list->items, SizeIs(1));
  EXPECT_EQ(list->items[0].message.envelope.message_id, "message-0000000010");
  // The pending delivery of the expired message is gone too.
  auto again = store_->Deliver(kPayoke, "t1", 10, absl::ZeroDuration(), true, /*max_bytes=*/0);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(Ids(*again), ElementsAre("message-0000000010"));
  // Replay inside the tombstone window: duplicate, not a new message.
  auto replay = store_->Send(kPolice, e, kNow + absl::Minutes(2));
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->duplicate);
}

// Test the backlog gauge: undelivered plus unacknowledged over every inbox.
TEST_F(RedisMessageStoreTest, Backlog) {
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000011"), kNow).ok());
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000012", {kPayoke}), kNow).ok());
  EXPECT_EQ(*store_->Backlog(), 3);
  ASSERT_TRUE(store_->Deliver(kPayoke, "t1", 10, absl::Seconds(30), true, /*max_bytes=*/0).ok());
  EXPECT_EQ(*store_->Backlog(), 3);
  ASSERT_TRUE(store_->Ack(kPayoke, {"message-0000000011", "message-0000000012"}, kNow).ok());
  EXPECT_EQ(*store_->Backlog(), 1);
}

// Test that a stopped Redis gives UNAVAILABLE, fast, and the store recovers without restart.
// Test that DeliverAsync (the asynchronous client, step by step: own pending, XAUTOCLAIM,
// XPENDING, the load script, XACK of stale entries, the new-deliveries script, the group's
// creation) returns exactly what Deliver returns, step for step: every message goes to both
// recipients, one read synchronously (payoke), the other asynchronously (the magistrate). Each
// asynchronous read carries an audit entry: the audit slot intake holds exactly those of the
// non-empty batches, in order, whichever step ended the read (the new-deliveries script, or a
// batch of pending entries cut by its count or byte budget).
TEST_F(RedisMessageStoreTest, DeliverAsyncReturnsWhatDeliverReturns) {
  auto async_redis = redis::AsyncRedisClient::Create(server_->config());
  RedisMessageStore async_store(
      *redis_,
      RedisMessageStoreOptions{.trust_domain = "concord.test", .async_redis = async_redis.get()});
  EXPECT_TRUE(async_store.StoresAuditEntries());
  EXPECT_FALSE(store_->StoresAuditEntries());
  int reads = 0;
  std::vector<std::string> audited;  // the entries of the non-empty batches
  auto deliver_async = [&](const AgencyId& r, const std::string& terminal, size_t max,
                           absl::Duration timeout, bool own,
                           size_t max_bytes) -> StatusOr<std::vector<InboxDelivery>> {
    const std::string entry = absl::StrCat("batch-record-", ++reads);
    auto result = testing::AwaitCallback<StatusOr<std::vector<InboxDelivery>>>([&](auto done) {
      async_store.DeliverAsync(r, terminal, max, timeout, own, max_bytes, entry, std::move(done));
    });
    EXPECT_TRUE(result.has_value());
    if (!result.has_value()) return absl::DeadlineExceededError("no callback");
    if (result->ok() && !(*result)->empty()) audited.push_back(entry);
    return *std::move(result);
  };
  std::vector<std::pair<std::string, uint32_t>> steps_sync, steps_async;
  auto step = [&](const std::string& terminal, size_t max, absl::Duration timeout, bool own,
                  size_t max_bytes) {
    auto a = store_->Deliver(kPayoke, terminal, max, timeout, own, max_bytes);
    auto b = deliver_async(kMagistrate, terminal, max, timeout, own, max_bytes);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << b.status();
    std::vector<std::pair<std::string, uint32_t>> got_a, got_b;
    for (const InboxDelivery& d : *a)
      got_a.emplace_back(d.message.envelope.message_id, d.delivery_count);
    for (const InboxDelivery& d : *b)
      got_b.emplace_back(d.message.envelope.message_id, d.delivery_count);
    EXPECT_EQ(got_a, got_b) << terminal;
    for (const InboxDelivery& d : *b) {
      EXPECT_EQ(d.message.envelope.recipients.size(), 2u);  // the stored envelope, decoded
    }
    steps_sync.insert(steps_sync.end(), got_a.begin(), got_a.end());
    steps_async.insert(steps_async.end(), got_b.begin(), got_b.end());
  };
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        store_->Send(kPolice, MakeEnvelope(absl::StrCat("message-000000002", i)), kNow).ok());
  }
  step("t1", 1, absl::Seconds(30), true, 0);    // first stream: one new
  step("t2", 10, absl::Seconds(30), true, 0);   // the other terminal: the rest
  step("t2", 10, absl::Seconds(30), false, 0);  // nothing new, nothing timed out
  ASSERT_EQ(*store_->Ack(kPayoke, {"message-0000000021"}, kNow), 1u);
  ASSERT_EQ(*store_->Ack(kMagistrate, {"message-0000000021"}, kNow), 1u);
  step("t2", 10, absl::ZeroDuration(), false, 0);  // t1's delivery claimed (count 2)
  step("t1", 10, absl::Seconds(30), true, 0);      // reconnect: own pending, nothing new
  step("t3", 2, absl::ZeroDuration(), true, 30);   // claims within the byte budget
  ASSERT_TRUE(store_->Send(kPolice, MakeEnvelope("message-0000000029"), kNow).ok());
  step("t3", 10, absl::Seconds(30), false, 0);  // a new one after the pending ones
  EXPECT_EQ(steps_sync, steps_async);
  EXPECT_GE(steps_async.size(), 6u);
  EXPECT_TRUE(std::any_of(steps_async.begin(), steps_async.end(), [](const auto& d) {
    return d.second >= 2;
  })) << "no redelivery was compared";
  // An agency without an inbox yet: empty, and its consumer group is created.
  auto none = deliver_async(kPolice, "t1", 10, absl::Seconds(30), true, 0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
  auto admin = redis::RedisClient::Create(server_->admin_config());
  EXPECT_EQ(AuditSlotIntake(*admin), audited);
  EXPECT_GE(audited.size(), 5u);
  EXPECT_LT(audited.size(), static_cast<size_t>(reads));  // empty batches stored nothing
  // Redis down: UNAVAILABLE through the callback.
  server_->Stop();
  auto down = deliver_async(kMagistrate, "t1", 10, absl::Seconds(30), false, 0);
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  server_->Start();
}

// Test that AckAsync (the ack script through the asynchronous client, Ack's reactor path)
// answers exactly what Ack answers, step by step, for two recipients of the same messages (one
// acknowledged synchronously, the other asynchronously): newly acknowledged counts, idempotence,
// NOT_FOUND naming the unknown id with nothing acknowledged, and UNAVAILABLE with Redis down.
TEST_F(RedisMessageStoreTest, AckAsyncReturnsWhatAckReturns) {
  auto async_redis = redis::AsyncRedisClient::Create(server_->config());
  RedisMessageStore async_store(
      *redis_,
      RedisMessageStoreOptions{.trust_domain = "concord.test", .async_redis = async_redis.get()});
  // Each asynchronous Ack carries one audit entry per id: the audit slot intake holds exactly
  // those of the Acks that succeeded, in order.
  std::vector<std::string> audited;
  int acks = 0;
  auto ack_async = [&](const AgencyId& r, const std::vector<std::string>& ids) {
    std::vector<std::string> entries;
    ++acks;
    for (const std::string& id : ids) entries.push_back(absl::StrCat("ack-", acks, "-", id));
    StatusOr<uint32_t> acked = AckAsyncAndWait(async_store, r, ids, entries);
    if (acked.ok()) audited.insert(audited.end(), entries.begin(), entries.end());
    return acked;
  };
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(
        store_->Send(kPolice, MakeEnvelope(absl::StrCat("message-000000003", i)), kNow).ok());
  }
  const std::vector<std::vector<std::string>> steps = {
      {"message-0000000031", "message-0000000032"},
      {"message-0000000031", "message-0000000032", "message-0000000033"},
      {"message-0000000033"},
      {"message-0000000034", "message-0000000039"},  // unknown: nothing acknowledged
      {"message-0000000034"}};
  const std::vector<std::optional<uint32_t>> expected = {2u, 1u, 0u, std::nullopt, 1u};
  for (size_t i = 0; i < steps.size(); ++i) {
    const StatusOr<uint32_t> a = store_->Ack(kPayoke, steps[i], kNow);
    const StatusOr<uint32_t> b = ack_async(kMagistrate, steps[i]);
    EXPECT_EQ(a.status(), b.status()) << i;
    if (expected[i].has_value()) {
      ASSERT_TRUE(b.ok()) << i << ": " << b.status();
      EXPECT_EQ(*a, *expected[i]) << i;
      EXPECT_EQ(*b, *expected[i]) << i;
    } else {
      EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound) << b.status();
      EXPECT_NE(b.status().message().find("message_ids[1]"), std::string::npos) << b.status();
    }
  }
  EXPECT_TRUE(*store_->IsAcknowledged(kMagistrate, "message-0000000031"));
  auto admin = redis::RedisClient::Create(server_->admin_config());
  EXPECT_EQ(AuditSlotIntake(*admin), audited);
  EXPECT_EQ(audited.size(), 7u);  // 2 + 3 + 1 + 1: not the refused call's two
  // Redis down: UNAVAILABLE through the callback.
  server_->Stop();
  const StatusOr<uint32_t> down = ack_async(kMagistrate, {"message-0000000031"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  server_->Start();
}

TEST_F(RedisMessageStoreTest, RedisDownIsUnavailable) {
  server_->Stop();
  const absl::Time start = absl::Now();
  EXPECT_EQ(store_->Send(kPolice, MakeEnvelope("message-0000000013"), kNow).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  server_->Start();
  Status last;
  for (int i = 0; i < 100; ++i) {  // bounded: the client's reconnect backoff is short in tests
    last = store_->Send(kPolice, MakeEnvelope("message-0000000013"), kNow).status();
    if (last.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(last.ok()) << last;
}

}  // namespace
}  // namespace concord::messaging
