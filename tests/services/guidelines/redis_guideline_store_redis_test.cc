// RedisGuidelineStore against a real redis-server: each change is one atomic script that checks
// before it writes (the history of a guideline never forks, an acknowledgement counts once, a
// freeze happens once), scheduled versions reach the feed exactly once across replicas, and
// every key carries the {gl} hash tag.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/clients/directory_keys.h"
#include "common/redis/keys.h"
#include "services/guidelines/guideline_directory.h"
#include "services/guidelines/redis_guideline_store.h"
#include "tests/support/redis_fixture.h"

namespace concord::guidelines {
namespace {

constexpr char kTd[] = "concord.test";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
AgencyId A(AgencyType t, std::string id) { return AgencyId{kTd, t, std::move(id)}; }

PublishWrite Write(const std::string& gid, int64_t n, absl::Time effective,
                   std::string text = "Texte.\n") {
  guideline::Version v;
  v.guideline_id = gid;
  v.version = n;
  v.publisher = A(AgencyType::kCoordinationUnit, "icu");
  v.supersedes = n - 1;
  v.effective_at = effective;
  v.ack_deadline = effective + absl::Hours(24);
  v.topics = {"definition"};
  v.audience.types = {AgencyType::kPolice};
  v.contents = {{"fr", "Titre", std::move(text)}};
  PublishWrite w;
  w.sha256 = guideline::VersionSha256(v);
  w.signed_version = guideline::SignedVersion{std::move(v), std::string(64, 's')};
  w.audience = {"police/a", "police/b"};
  w.now = kNow;
  return w;
}

class RedisGuidelineStoreTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = std::make_unique<RedisGuidelineStore>(*redis_);
  }
  std::unique_ptr<RedisGuidelineStore> store_;
};

TEST_F(RedisGuidelineStoreTest, PublishStoresTheVersionItsAudienceAndAFeedEntry) {
  ASSERT_EQ(*store_->Publish(Write("g", 1, kNow)), PublishOutcome::kPublished);
  EXPECT_EQ(*store_->Publish(Write("g", 1, kNow)), PublishOutcome::kDuplicate);
  EXPECT_EQ(store_->Publish(Write("g", 1, kNow, "Autre.\n")).status().code(),
            absl::StatusCode::kAlreadyExists);
  StatusOr<StoredVersion> v = store_->Get("g", 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->signed_version.version, Write("g", 1, kNow).signed_version.version);
  EXPECT_EQ(v->meta.published_at, kNow);
  EXPECT_EQ(*store_->Audience("g", 1), (std::vector<std::string>{"police/a", "police/b"}));
  StatusOr<std::vector<FeedEntry>> feed = store_->ReadFeed("", 10);
  ASSERT_TRUE(feed.ok());
  ASSERT_EQ(feed->size(), 1u);
  EXPECT_EQ((*feed)[0].guideline_id, "g");
  EXPECT_EQ((*feed)[0].kind, FeedEntry::Kind::kVersion);
  EXPECT_TRUE(store_->ReadFeed((*feed)[0].id, 10)->empty());
  EXPECT_EQ(store_->Head("g")->latest, 1);
  // Every key of the service carries the one hash tag.
  auto admin = redis::RedisClient::Create(server_->admin_config());
  StatusOr<redis::Reply> keys = admin->Command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  for (const redis::Reply& k : keys->elements) EXPECT_EQ(redis::HashTag(k.str), "gl") << k.str;
}

TEST_F(RedisGuidelineStoreTest, ConcurrentPublishersNeverForkTheHistory) {
  ASSERT_TRUE(store_->Publish(Write("g", 1, kNow)).ok());
  std::atomic<int> won{0};
  std::atomic<int> aborted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      StatusOr<PublishOutcome> r =
          store_->Publish(Write("g", 2, kNow, "Texte " + std::to_string(i) + ".\n"));
      if (r.ok()) ++won;
      if (r.status().code() == absl::StatusCode::kAlreadyExists) ++aborted;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
  EXPECT_EQ(store_->Publish(Write("g", 4, kNow)).status().code(), absl::StatusCode::kAborted);
  // Version 1 is superseded and frozen, once.
  StatusOr<StoredVersion> v1 = store_->Get("g", 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->meta.superseded_by, 2);
  ASSERT_TRUE(v1->frozen_at.has_value());
}

TEST_F(RedisGuidelineStoreTest, AcknowledgementsCountOnceAndAfterTheFreezeAreFlagged) {
  PublishWrite w = Write("g", 1, kNow);
  ASSERT_TRUE(store_->Publish(w).ok());
  StatusOr<AckOutcome> first = store_->Acknowledge("g", 1, "police/a", w.sha256, kNow, {});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(first->record.before_freeze);
  StatusOr<AckOutcome> again =
      store_->Acknowledge("g", 1, "police/a", w.sha256, kNow + absl::Hours(1), {});
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->record.at, kNow);
  EXPECT_EQ(store_->Acknowledge("g", 1, "police/b", std::string(32, 'x'), kNow, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  PublishWrite w2 = Write("g", 2, kNow + absl::Hours(2));
  w2.now = kNow + absl::Hours(2);
  w2.previous_suspended = {"police/b"};
  ASSERT_TRUE(store_->Publish(w2).ok());
  StatusOr<AckOutcome> late =
      store_->Acknowledge("g", 1, "police/b", w.sha256, kNow + absl::Hours(3), {});
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->record.before_freeze);
  EXPECT_EQ(store_->Get("g", 1)->frozen_suspended, (std::vector<std::string>{"police/b"}));
  auto acks = store_->Acks("g", 1);
  ASSERT_TRUE(acks.ok());
  EXPECT_EQ(acks->size(), 2u);
  auto by = store_->AckedBy("police/a", {{"g", 1}, {"g", 2}});
  ASSERT_TRUE(by.ok());
  EXPECT_TRUE((*by)[0].has_value());
  EXPECT_FALSE((*by)[1].has_value());
}

TEST_F(RedisGuidelineStoreTest, ScheduledVersionsReachTheFeedOnceAcrossReplicas) {
  ASSERT_TRUE(store_->Publish(Write("g", 1, kNow + absl::Hours(1))).ok());
  EXPECT_TRUE(store_->ReadFeed("", 10)->empty());
  EXPECT_EQ(*store_->PromoteDue(kNow, 10), 0);
  RedisGuidelineStore other(*redis_);
  std::atomic<int> promoted{0};
  std::thread a([&] { promoted += *store_->PromoteDue(kNow + absl::Hours(1), 10); });
  std::thread b([&] { promoted += *other.PromoteDue(kNow + absl::Hours(1), 10); });
  a.join();
  b.join();
  EXPECT_EQ(promoted.load(), 1);
  EXPECT_EQ(store_->ReadFeed("", 10)->size(), 1u);
}

TEST_F(RedisGuidelineStoreTest, WithdrawalIsRecordedOnce) {
  PublishWrite w = Write("g", 1, kNow);
  ASSERT_TRUE(store_->Publish(w).ok());
  guideline::SignedWithdrawal sw{
      {"g", 1, w.sha256, A(AgencyType::kCoordinationUnit, "icu"), kNow, "error"},
      std::string(64, 'w')};
  EXPECT_FALSE(*store_->Withdraw({sw, kNow, {}, {}}));
  EXPECT_TRUE(*store_->Withdraw({sw, kNow, {}, {}}));
  guideline::SignedWithdrawal other = sw;
  other.withdrawal.reason = "another";
  EXPECT_EQ(ReasonOf(store_->Withdraw({other, kNow, {}, {}}).status()), "ALREADY_WITHDRAWN");
  EXPECT_EQ(ReasonOf(store_->Acknowledge("g", 1, "police/a", w.sha256, kNow, {}).status()),
            "VERSION_WITHDRAWN");
  StatusOr<StoredVersion> v = store_->Get("g", 1);
  ASSERT_TRUE(v->withdrawal.has_value());
  EXPECT_EQ(v->withdrawal->withdrawal.reason, "error");
  EXPECT_EQ(store_->ReadFeed("", 10)->back().kind, FeedEntry::Kind::kWithdrawal);
}

TEST(FeedIdLess, ComparesStreamIdsNumerically) {
  EXPECT_TRUE(FeedIdLess("", "1-0"));
  EXPECT_FALSE(FeedIdLess("1-0", ""));
  EXPECT_TRUE(FeedIdLess("9-5", "10-0"));
  EXPECT_TRUE(FeedIdLess("10-1", "10-2"));
  EXPECT_FALSE(FeedIdLess("10-2", "10-2"));
}

// The publisher right is the directory's typed attribute guideline_publisher, read through
// common/attributes as the guidelines workload's Redis user: an explicit value wins for the types
// it applies to, the coordination unit holds it by default, and a value stored for a type it
// does not apply to (police) grants nothing.
TEST_F(RedisGuidelineStoreTest, PublisherRightIsTheDirectoryAttribute) {
  auto admin = redis::RedisClient::Create(server_->admin_config());
  auto put = [&](const AgencyId& a, const std::map<std::string, std::string>& attributes) {
    nlohmann::json j = {{"type", std::string(AgencyTypeName(a.type))},
                        {"id", a.id},
                        {"display_name", a.id},
                        {"jurisdiction", "BE"},
                        {"state", "active"}};
    if (!attributes.empty()) j["attributes"] = attributes;
    ASSERT_TRUE(admin
                    ->Command({"HSET", clients::DirectoryKey("agency:" + a.Key()), "json", j.dump(),
                               "version", "1"})
                    .ok());
  };
  const AgencyId icu = A(AgencyType::kCoordinationUnit, "icu");
  const AgencyId icu_off = A(AgencyType::kCoordinationUnit, "icu-off");
  const AgencyId college = A(AgencyType::kMagistrate, "college");
  const AgencyId parquet = A(AgencyType::kMagistrate, "parquet");
  const AgencyId police = A(AgencyType::kPolice, "pz");
  put(icu, {});
  put(icu_off, {{"guideline_publisher", "false"}});
  put(college, {{"guideline_publisher", "true"}});
  put(parquet, {});
  put(police, {{"guideline_publisher", "true"}});
  auto as_guidelines = redis::RedisClient::Create(server_->config("guidelines"));
  RedisGuidelineDirectory directory(*as_guidelines, kTd);
  EXPECT_TRUE(*directory.HoldsPublisherRight(icu));
  EXPECT_FALSE(*directory.HoldsPublisherRight(icu_off));
  EXPECT_TRUE(*directory.HoldsPublisherRight(college));
  EXPECT_FALSE(*directory.HoldsPublisherRight(parquet));
  EXPECT_FALSE(*directory.HoldsPublisherRight(police));
  EXPECT_EQ(
      directory.HoldsPublisherRight(A(AgencyType::kCoordinationUnit, "unknown")).status().code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace concord::guidelines
