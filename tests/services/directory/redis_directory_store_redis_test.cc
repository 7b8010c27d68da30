// RedisDirectoryStore against a real redis-server.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/clients/directory_cache.h"
#include "common/clients/directory_keys.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/key_endorsement.h"
#include "common/crypto/x25519.h"
#include "common/redis/keys.h"
#include "services/directory/redis_directory_store.h"
#include "tests/support/redis_server.h"

namespace concord::directory {
namespace {

constexpr std::string_view kTd = "concord.test";

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

Agency MakeAgency(AgencyType type, std::string id, std::string jurisdiction,
                  std::vector<std::string> specs, std::vector<std::string> langs) {
  AgencySpec s;
  s.id = AgencyId{std::string(kTd), type, std::move(id)};
  s.display_name = "Unit " + s.id.id;
  s.jurisdiction = std::move(jurisdiction);
  s.specialisations = std::move(specs);
  s.languages = std::move(langs);
  s.signing_public_key_pem = crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem();
  s.sealing_public_key_pem = crypto::X25519PrivateKey::Generate().PublicKey().ToPem();
  s.certificate_serials = {"1A"};
  auto n = NormalizeAgencySpec(std::move(s), kTd);
  EXPECT_TRUE(n.ok()) << n.status();
  return *NewAgency(*n, absl::FromUnixMicros(1'800'000'000'123'456));
}

std::vector<std::string> Ids(const AgencyPage& page) {
  std::vector<std::string> out;
  for (const auto& a : page.agencies) out.push_back(a.spec.id.Key());
  return out;
}

class RedisDirectoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = testing::RedisServer::Start(testing::RedisServer::Options{});
    ASSERT_NE(server_, nullptr);
    server_->FlushAll();
    redis_ = redis::RedisClient::Create(server_->config());
    store_ = std::make_unique<RedisDirectoryStore>(*redis_, std::string(kTd));
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<RedisDirectoryStore> store_;
};

TEST_F(RedisDirectoryStoreTest, CreateGetRoundTripAndDuplicates) {
  Agency a = MakeAgency(AgencyType::kPolice, "pz-a", "BE-BRU", {"thb", "vice"}, {"fr", "nl"});
  a.spec.capacity = 12;
  ASSERT_TRUE(store_->Create(a, /*announcement=*/nullptr).ok());
  auto got = store_->Get(a.spec.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->spec.id, a.spec.id);
  EXPECT_EQ(got->spec.display_name, a.spec.display_name);
  EXPECT_EQ(got->spec.specialisations, a.spec.specialisations);
  EXPECT_EQ(got->spec.languages, a.spec.languages);
  EXPECT_EQ(got->spec.signing_public_key_pem, a.spec.signing_public_key_pem);
  EXPECT_EQ(got->spec.certificate_serials, a.spec.certificate_serials);
  EXPECT_EQ(got->spec.capacity, 12);
  EXPECT_EQ(got->created_at, a.created_at);
  EXPECT_EQ(got->version, 1);

  EXPECT_EQ(store_->Create(a, /*announcement=*/nullptr).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Get(AgencyId{std::string(kTd), AgencyType::kPolice, "nope"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RedisDirectoryStoreTest, ReplaceIsOptimistic) {
  const Agency a = MakeAgency(AgencyType::kPolice, "pz-a", "BE-BRU", {}, {});
  ASSERT_TRUE(store_->Create(a, /*announcement=*/nullptr).ok());
  auto s1 = SuspendAgency(a, "compromised", absl::Now());
  ASSERT_TRUE(s1.ok());
  ASSERT_TRUE(store_->Replace(a, *s1, /*announcement=*/nullptr).ok());
  // A second writer that read version 1 loses.
  auto s2 = SuspendAgency(a, "other", absl::Now());
  EXPECT_EQ(store_->Replace(a, *s2, /*announcement=*/nullptr).code(), absl::StatusCode::kAborted);
  const Agency ghost = MakeAgency(AgencyType::kPolice, "ghost", "BE", {}, {});
  Agency ghost2 = ghost;
  ghost2.version = 2;
  EXPECT_EQ(store_->Replace(ghost, ghost2, /*announcement=*/nullptr).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RedisDirectoryStoreTest, ListFiltersByIndicesAndPages) {
  ASSERT_TRUE(store_
                  ->Create(MakeAgency(AgencyType::kPolice, "pz-a", "BE-BRU", {"thb"}, {"fr"}),
                           /*announcement=*/nullptr)
                  .ok());
  ASSERT_TRUE(
      store_
          ->Create(MakeAgency(AgencyType::kPolice, "pz-b", "BE-VAN", {"thb", "vice"}, {"nl"}),
                   /*announcement=*/nullptr)
          .ok());
  ASSERT_TRUE(
      store_
          ->Create(MakeAgency(AgencyType::kPolice, "pz-c", "BE-BRU", {"vice"}, {"nl", "fr"}),
                   /*announcement=*/nullptr)
          .ok());
  ASSERT_TRUE(store_
                  ->Create(MakeAgency(AgencyType::kReceptionCentre, "payoke", "BE-VAN", {"thb"},
                                      {"nl", "en"}),
                           nullptr)
                  .ok());
  ASSERT_TRUE(
      store_
          ->Create(MakeAgency(AgencyType::kMagistrate, "mag-bru", "BE-BRU", {"thb"}, {"fr"}),
                   /*announcement=*/nullptr)
          .ok());

  auto all = store_->List(AgencyFilter{}, "", 50);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{"magistrate/mag-bru", "police/pz-a", "police/pz-b",
                                                 "police/pz-c", "reception_centre/payoke"}));
  EXPECT_EQ(all->next_after_key, "");

  auto thb_bru =
      store_->List(AgencyFilter{.jurisdiction = "BE-BRU", .specialisation = "thb"}, "", 50);
  ASSERT_TRUE(thb_bru.ok());
  EXPECT_EQ(Ids(*thb_bru), (std::vector<std::string>{"magistrate/mag-bru", "police/pz-a"}));

  auto police_nl =
      store_->List(AgencyFilter{.type = AgencyType::kPolice, .language = "nl"}, "", 50);
  ASSERT_TRUE(police_nl.ok());
  EXPECT_EQ(Ids(*police_nl), (std::vector<std::string>{"police/pz-b", "police/pz-c"}));

  // Paging: 2 + 2 + 1.
  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = store_->List(AgencyFilter{}, after, 2);
    ASSERT_TRUE(page.ok());
    for (auto& id : Ids(*page)) seen.push_back(id);
    after = page->next_after_key;
    ++pages;
  } while (!after.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);

  // Updating moves the agency between index sets.
  auto current = store_->Get(AgencyId{std::string(kTd), AgencyType::kPolice, "pz-a"});
  ASSERT_TRUE(current.ok());
  AgencySpec moved = current->spec;
  moved.jurisdiction = "BE-WLG";
  auto next = UpdateAgency(*current, moved, 0, absl::Now());
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(store_->Replace(*current, *next, /*announcement=*/nullptr).ok());
  auto bru = store_->List(AgencyFilter{.jurisdiction = "BE-BRU"}, "", 50);
  EXPECT_EQ(Ids(*bru), (std::vector<std::string>{"magistrate/mag-bru", "police/pz-c"}));
  auto wlg = store_->List(AgencyFilter{.jurisdiction = "BE-WLG"}, "", 50);
  EXPECT_EQ(Ids(*wlg), (std::vector<std::string>{"police/pz-a"}));

  // Suspended agencies are listed only on request.
  auto s = SuspendAgency(*next, "audit finding", absl::Now());
  ASSERT_TRUE(store_->Replace(*next, *s, /*announcement=*/nullptr).ok());
  EXPECT_EQ(Ids(*store_->List(AgencyFilter{.type = AgencyType::kPolice}, "", 50)),
            (std::vector<std::string>{"police/pz-b", "police/pz-c"}));
  EXPECT_EQ(Ids(*store_->List(AgencyFilter{.type = AgencyType::kPolice, .include_suspended = true},
                              "", 50)),
            (std::vector<std::string>{"police/pz-a", "police/pz-b", "police/pz-c"}));
}

TEST_F(RedisDirectoryStoreTest, RevocationsAreIdempotentAndListed) {
  const absl::Time t1 = absl::FromUnixSeconds(1'800'000'000);
  auto r = store_->Revoke(RevokedSerial{"BEEF", "key_compromise", t1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revoked_at, t1);
  auto again = store_->Revoke(RevokedSerial{"BEEF", "superseded", t1 + absl::Hours(1)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->reason, "key_compromise");
  EXPECT_EQ(again->revoked_at, t1);

  const Agency a = MakeAgency(AgencyType::kPlatform, "platform-x", "IE", {}, {"en"});
  ASSERT_TRUE(store_->Create(a, /*announcement=*/nullptr).ok());
  auto s = SuspendAgency(a, "terms breached", t1);
  ASSERT_TRUE(store_->Replace(a, *s, /*announcement=*/nullptr).ok());

  auto all = store_->ListRevocations();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->revoked_serials.size(), 1u);
  EXPECT_EQ(all->revoked_serials[0].serial, "BEEF");
  ASSERT_EQ(all->suspended_agencies.size(), 1u);
  EXPECT_EQ(all->suspended_agencies[0].spec.id.Key(), "platform/platform-x");
  EXPECT_EQ(all->suspended_agencies[0].suspension_reason, "terms breached");
}

// The store's writes are what the revocation caches of every service follow.
TEST_F(RedisDirectoryStoreTest, WritesReachADirectoryCacheThroughPubSub) {
  clients::DirectoryCacheOptions options;
  options.reload_interval = absl::Hours(1);
  auto cache_redis = redis::RedisClient::Create(server_->config());
  clients::DirectoryCache cache(*cache_redis, server_->config(), options);
  ASSERT_TRUE(cache.Start().ok());
  ASSERT_TRUE(Eventually([&] { return cache.reload_count() >= 2; }));  // subscribed

  const Agency a = MakeAgency(AgencyType::kPolice, "pz-a", "BE", {}, {});
  ASSERT_TRUE(store_->Create(a, /*announcement=*/nullptr).ok());
  auto s = SuspendAgency(a, "x", absl::Now());
  ASSERT_TRUE(store_->Replace(a, *s, /*announcement=*/nullptr).ok());
  EXPECT_TRUE(Eventually([&] { return cache.IsSuspended(a.spec.id); }));
  auto r = ReinstateAgency(*s, absl::Now());
  ASSERT_TRUE(store_->Replace(*s, *r, /*announcement=*/nullptr).ok());
  EXPECT_TRUE(Eventually([&] { return !cache.IsSuspended(a.spec.id); }));
  ASSERT_TRUE(store_->Revoke(RevokedSerial{"C0FFEE", "key_compromise", absl::Now()}).ok());
  EXPECT_TRUE(Eventually([&] { return cache.IsSerialRevoked("C0FFEE"); }));
}

TEST_F(RedisDirectoryStoreTest, EveryKeySharesTheDirectoryHashTag) {
  ASSERT_TRUE(store_
                  ->Create(MakeAgency(AgencyType::kPolice, "pz-a", "BE-BRU", {"thb"}, {"fr"}),
                           /*announcement=*/nullptr)
                  .ok());
  ASSERT_TRUE(store_->Revoke(RevokedSerial{"AB", "x", absl::Now()}).ok());
  const auto keys = server_->AllKeys();
  EXPECT_GE(keys.size(), 6u);
  for (const auto& k : keys) EXPECT_EQ(redis::HashTag(k), "dir") << k;
}

TEST_F(RedisDirectoryStoreTest, AttributesAndEndorsementRoundTripAndAreIndexed) {
  const crypto::Ed25519PrivateKey old_sign = crypto::Ed25519PrivateKey::Generate();
  Agency a = MakeAgency(AgencyType::kAdmin, "ops", "BE", {}, {});
  a.spec.signing_public_key_pem = old_sign.PublicKey().ToPem();
  a.attributes = {{"directory_administrator", "true"}, {"time_zone", "Europe/Paris"}};
  ASSERT_TRUE(store_->Create(a, nullptr).ok());
  auto got = store_->Get(a.spec.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->attributes, a.attributes);
  EXPECT_FALSE(got->key_endorsement.has_value());
  // The attributes index every DirectoryCache reads holds the same values.
  auto index = redis_->Command({"HGET", clients::AgencyAttributesKey(), "admin/ops"});
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->str, R"({"directory_administrator":"true","time_zone":"Europe/Paris"})");

  Agency b = *got;
  const crypto::Ed25519PrivateKey new_sign = crypto::Ed25519PrivateKey::Generate();
  const crypto::X25519PrivateKey new_seal = crypto::X25519PrivateKey::Generate();
  b.key_endorsement = *crypto::SignKeyEndorsement(a.spec.id.ToSpiffe(), old_sign,
                                                  new_sign.PublicKey(), new_seal.PublicKey(),
                                                  absl::FromUnixNanos(1'800'000'000'123'456'789));
  b.attributes.erase("time_zone");
  b.version = 2;
  ASSERT_TRUE(store_->Replace(*got, b, nullptr).ok());
  got = store_->Get(a.spec.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->key_endorsement.has_value());
  EXPECT_EQ(got->key_endorsement->previous_signing_key, old_sign.PublicKey().Raw());
  EXPECT_EQ(got->key_endorsement->signature, b.key_endorsement->signature);
  // Nanoseconds survive: issued_at is signed.
  EXPECT_EQ(got->key_endorsement->issued_at, absl::FromUnixNanos(1'800'000'000'123'456'789));
  EXPECT_EQ(got->attributes, (attributes::AttributeMap{{"directory_administrator", "true"}}));
  index = redis_->Command({"HGET", clients::AgencyAttributesKey(), "admin/ops"});
  EXPECT_EQ(index->str, R"({"directory_administrator":"true"})");
}

// The announcement is queued in the same script as the change: with it, or not at all.
TEST_F(RedisDirectoryStoreTest, AnnouncementsAreQueuedAtomicallyWithTheChange) {
  const Agency a = MakeAgency(AgencyType::kReceptionCentre, "payoke", "BE-VAN", {}, {"nl"});
  const Announcement first{"reception_centre/payoke@v1", a.spec.id, R"({"n":1})",
                           a.spec.sealing_public_key_pem};
  ASSERT_TRUE(store_->Create(a, &first).ok());
  // Refused writes queue nothing.
  EXPECT_EQ(store_->Create(a, &first).code(), absl::StatusCode::kAlreadyExists);
  Agency stale = a;
  stale.version = 7;
  Agency next = a;
  next.version = 8;
  EXPECT_EQ(store_->Replace(stale, next, &first).code(), absl::StatusCode::kAborted);

  auto entries = redis::RedisClient::Create(server_->admin_config())
                     ->Command({"XRANGE", AnnouncementOutboxKey(), "-", "+"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 1u);
  const auto& fields = entries->elements[0].elements[1].elements;
  ASSERT_EQ(fields.size(), 8u);
  EXPECT_EQ(fields[0].str, "id");
  EXPECT_EQ(fields[1].str, "reception_centre/payoke@v1");
  EXPECT_EQ(fields[2].str, "agency");
  EXPECT_EQ(fields[3].str, "reception_centre/payoke");
  EXPECT_EQ(fields[4].str, "body");
  EXPECT_EQ(fields[5].str, R"({"n":1})");
  EXPECT_EQ(fields[6].str, "seal_to");
  EXPECT_EQ(fields[7].str, a.spec.sealing_public_key_pem);
}

// The worker's side of the outbox: read (and claim what a dead replica left), ack removes.
TEST_F(RedisDirectoryStoreTest, AnnouncementsAreReadClaimedAndAcknowledged) {
  const Agency a = MakeAgency(AgencyType::kPolice, "pz-a", "BE", {}, {});
  const Announcement first{"police/pz-a@v1", a.spec.id, R"({"n":1})", "seal-1"};
  ASSERT_TRUE(store_->Create(a, &first).ok());
  Agency b = a;
  b.version = 2;
  const Announcement second{"police/pz-a@v2", a.spec.id, R"({"n":2})", "seal-2"};
  ASSERT_TRUE(store_->Replace(a, b, &second).ok());
  EXPECT_EQ(*store_->PendingAnnouncements(), 2);

  auto read = store_->ReadAnnouncements("replica-1", 1, absl::Hours(1));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0].announcement.id, "police/pz-a@v1");
  EXPECT_EQ((*read)[0].announcement.agency, a.spec.id);
  EXPECT_EQ((*read)[0].announcement.body, R"({"n":1})");
  EXPECT_EQ((*read)[0].announcement.seal_to_pem, "seal-1");
  // replica-1 dies holding the first: another replica claims it once it is idle long enough.
  auto other = store_->ReadAnnouncements("replica-2", 10, absl::ZeroDuration());
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->size(), 2u);
  EXPECT_EQ((*other)[0].announcement.id, "police/pz-a@v1");
  EXPECT_EQ((*other)[1].announcement.id, "police/pz-a@v2");
  ASSERT_TRUE(store_->AckAnnouncements({(*other)[0].stream_id, (*other)[1].stream_id}).ok());
  EXPECT_EQ(*store_->PendingAnnouncements(), 0);
  EXPECT_TRUE(store_->ReadAnnouncements("replica-2", 10, absl::ZeroDuration())->empty());
  EXPECT_EQ(store_->ReadAnnouncements("bad name", 1, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AckAnnouncements({"x"}).code(), absl::StatusCode::kInvalidArgument);
}

// The admin roles the authorizer keys on reach every replica's cache through pub/sub.
TEST_F(RedisDirectoryStoreTest, RolesReachADirectoryCacheThroughPubSub) {
  clients::DirectoryCacheOptions options;
  options.reload_interval = absl::Hours(1);
  options.bootstrap_directory_admins = {AgencyId{std::string(kTd), AgencyType::kAdmin, "ops"}};
  auto cache_redis = redis::RedisClient::Create(server_->config());
  clients::DirectoryCache cache(*cache_redis, server_->config(), options);
  ASSERT_TRUE(cache.Start().ok());
  ASSERT_TRUE(Eventually([&] { return cache.reload_count() >= 2; }));  // subscribed
  const AgencyId ops_id{std::string(kTd), AgencyType::kAdmin, "ops"};
  const AgencyId other_id{std::string(kTd), AgencyType::kAdmin, "other"};
  // Empty deployment: the bootstrap identity holds directory administration, marked as such.
  EXPECT_FALSE(cache.HasDirectoryAdministrator());
  EXPECT_EQ(cache.RolesOf(ops_id),
            (authz::AdminRoles{.directory_administrator = true, .bootstrap = true}));
  EXPECT_EQ(cache.RolesOf(other_id), authz::AdminRoles{});

  Agency other = MakeAgency(AgencyType::kAdmin, "other", "BE", {}, {});
  other.attributes = {{"directory_administrator", "true"}, {"audit_reviewer", "true"}};
  ASSERT_TRUE(store_->Create(other, nullptr).ok());
  EXPECT_TRUE(Eventually([&] { return cache.RolesOf(other_id).audit_reviewer; }));
  EXPECT_EQ(cache.RolesOf(other_id),
            (authz::AdminRoles{.directory_administrator = true, .audit_reviewer = true}));
  // A registered directory administrator ends the bootstrap grant.
  EXPECT_TRUE(cache.HasDirectoryAdministrator());
  EXPECT_EQ(cache.RolesOf(ops_id), authz::AdminRoles{});
  EXPECT_EQ(cache.AttributesOf(other_id).TimeZoneName(), "Europe/Brussels");

  // Suspending the only directory administrator brings the bootstrap back (recovery path).
  auto s = SuspendAgency(other, "x", absl::Now());
  ASSERT_TRUE(store_->Replace(other, *s, nullptr).ok());
  EXPECT_TRUE(Eventually([&] { return !cache.HasDirectoryAdministrator(); }));
  EXPECT_TRUE(cache.RolesOf(ops_id).bootstrap);
}

TEST_F(RedisDirectoryStoreTest, RedisDownIsUnavailable) {
  server_->Stop();
  EXPECT_EQ(store_->Get(AgencyId{std::string(kTd), AgencyType::kPolice, "pz-a"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      store_
          ->Create(MakeAgency(AgencyType::kPolice, "pz-a", "BE", {}, {}), /*announcement=*/nullptr)
          .code(),
      absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace concord::directory
