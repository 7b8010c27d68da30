// The storage guard against a real redis-server whose maxmemory the test sets: below the
// watermark nothing is refused, at or above it new data is, and without maxmemory never.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/quota/refusal.h"
#include "common/quota/storage_guard.h"
#include "tests/support/redis_fixture.h"

namespace concord::quota {
namespace {

class StorageGuardTest : public testing::RedisSuiteTest {
 protected:
  void TearDown() override { (void)redis_->Command({"CONFIG", "SET", "maxmemory", "0"}); }

  int64_t UsedMemory() {
    auto r = redis_->Command({"INFO", "memory"});
    int64_t used = 0, max = 0;
    EXPECT_TRUE(r.ok() && ParseInfoMemory(r->str, used, max));
    return used;
  }

  metrics::Metrics metrics_;
};

// Test that INFO memory is parsed without confusing used_memory_human or maxmemory_policy.
TEST(ParseInfoMemory, ReadsUsedMemoryAndMaxmemory) {
  int64_t used = 0, max = 0;
  EXPECT_TRUE(ParseInfoMemory(
      "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:2147483648\r\n"
      "maxmemory_human:2.00G\r\nmaxmemory_policy:noeviction\r\n",
      used, max));
  EXPECT_EQ(used, 1048576);
  EXPECT_EQ(max, 2147483648);
  EXPECT_FALSE(ParseInfoMemory("used_memory_human:1M\r\nmaxmemory:1\r\n", used, max));
}

// Test that the guard refuses new data at the watermark and accepts it below.
TEST_F(StorageGuardTest, RefusesAtTheWatermarkOnly) {
  StorageGuard guard(*redis_, metrics_,
                     {.watermark_percent = 85,
                      .poll_interval = absl::Seconds(1),
                      .retry_after = absl::Seconds(30)});
  // Before any read: unknown, nothing refused.
  EXPECT_TRUE(guard.Check(AgencyType::kPolice).ok());
  // Far below: 1 GiB of maxmemory.
  ASSERT_TRUE(redis_->Command({"CONFIG", "SET", "maxmemory", "1073741824"}).ok());
  ASSERT_TRUE(guard.PollOnce().ok());
  EXPECT_EQ(guard.watermark_bytes(), 1073741824 / 100 * 85);
  EXPECT_TRUE(guard.Check(AgencyType::kPolice).ok());
  // maxmemory just above what is used: 85 % of it is below the usage.
  const int64_t used = UsedMemory();
  ASSERT_TRUE(redis_->Command({"CONFIG", "SET", "maxmemory", absl::StrCat(used + 64 * 1024)}).ok());
  ASSERT_TRUE(guard.PollOnce().ok());
  const Status refused = guard.Check(AgencyType::kPlatform);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(refused), "STORAGE_WATERMARK");
  EXPECT_EQ(ReasonMetadataOf(refused).at("agency_type"), "platform");
  EXPECT_EQ(RetryDelayOf(refused), absl::Seconds(30));
  EXPECT_NE(metrics_.Serialize().find("concord_redis_memory_watermark_bytes"), std::string::npos);
  // No maxmemory: no watermark, nothing refused, the gauge says 0.
  ASSERT_TRUE(redis_->Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
  ASSERT_TRUE(guard.PollOnce().ok());
  EXPECT_EQ(guard.watermark_bytes(), 0);
  EXPECT_TRUE(guard.Check(AgencyType::kPolice).ok());
  EXPECT_NE(metrics_.Serialize().find("concord_redis_memory_watermark_bytes 0"), std::string::npos);
}

// Test that the polling thread picks up a change by itself (bounded wait, no sleep as sync).
TEST_F(StorageGuardTest, PollsInTheBackground) {
  StorageGuard guard(*redis_, metrics_,
                     {.watermark_percent = 50,
                      .poll_interval = absl::Milliseconds(50),
                      .retry_after = absl::Seconds(60)});
  ASSERT_TRUE(redis_->Command({"CONFIG", "SET", "maxmemory", "1073741824"}).ok());
  guard.Start();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (guard.watermark_bytes() != 1073741824 / 100 * 50 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(guard.watermark_bytes(), 1073741824 / 100 * 50);
  guard.Stop();
  guard.Stop();  // idempotent
}

}  // namespace
}  // namespace concord::quota
