// ReadMeter against a real redis-server: the read bucket of consultations is charged in Redis
// under the module's hash tag, refuses in the common quota shape once spent (and then locally,
// without I/O, until the RetryInfo), audits a flood once, charges a cost all or nothing, passes
// everything without quotas, and answers UNAVAILABLE when Redis is down.
#include <gtest/gtest.h>

#include "common/quota/read_meter.h"
#include "common/quota/refusal.h"
#include "common/quota/token_bucket.h"
#include "common/status/grpc_status.h"
#include "tests/support/fake_clock.h"
#include "tests/support/quota_buckets.h"
#include "tests/support/redis_fixture.h"

namespace concord::quota {
namespace {

class ReadMeterTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    auto table = QuotaTable::Defaults().WithOverrides("police.read=500/0.5");
    ASSERT_TRUE(table.ok()) << table.status();
    checker_ = std::make_unique<QuotaChecker>(*table, metrics_, clock_);
    meter_ = std::make_unique<ReadMeter>(checker_.get(), redis_.get(), "msg");
  }

  double Tokens() {
    return testing::BucketTokens(*redis_, BucketKey("msg", Quota::kRead, police_));
  }
  int64_t Commands() {
    auto r = redis_->Command({"INFO", "stats"});
    if (!r.ok()) return -1;
    const size_t at = r->str.find("total_commands_processed:");
    return at == std::string::npos ? -1 : std::stoll(r->str.substr(at + 25));
  }

  metrics::Metrics metrics_;
  testing::FakeClock clock_;
  std::unique_ptr<QuotaChecker> checker_;
  std::unique_ptr<ReadMeter> meter_;
  AgencyId police_{"concord.test", AgencyType::kPolice, "pz-antwerp"};
  AgencyId other_{"concord.test", AgencyType::kPolice, "pz-gent"};
};

// Test that reads pass until the burst is spent, in Redis under the module's tag, then are
// refused with QUOTA_EXCEEDED naming the read limit, audited once, and refused without I/O.
TEST_F(ReadMeterTest, ChargesTheBurstThenRefusesAuditedOnceAndLocally) {
  for (int i = 0; i < 500; ++i) {
    const ReadAdmission a = meter_->Charge(police_);
    ASSERT_TRUE(a.status.ok()) << i << a.status;
    EXPECT_FALSE(a.audit);
  }
  EXPECT_NEAR(Tokens(), 0, 1);
  const ReadAdmission refused = meter_->Charge(police_);
  ASSERT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted) << refused.status;
  EXPECT_EQ(ReasonOf(refused.status), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(refused.status).at("limit"), "read");
  EXPECT_GT(RetryDelayOf(refused.status), absl::ZeroDuration());
  EXPECT_TRUE(refused.audit);
  // Within the refusal's RetryInfo: refused again, not audited again, and no command sent.
  const int64_t before = Commands();
  const ReadAdmission again = meter_->Charge(police_);
  EXPECT_EQ(again.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(again.audit);
  EXPECT_EQ(Commands(), before + 1);  // the INFO of this test only
  EXPECT_NE(metrics_.Serialize().find(
                "concord_quota_refusals_total{agency_type=\"police\",limit=\"read\"} 2"),
            std::string::npos)
      << metrics_.Serialize();
  // Another agency has a bucket of its own.
  EXPECT_TRUE(meter_->Charge(other_).status.ok());
}

// Test that a cost is charged all or nothing (a referrals List of a whole page).
TEST_F(ReadMeterTest, ChargesACostAllOrNothing) {
  ASSERT_TRUE(meter_->Charge(police_, 300).status.ok());
  EXPECT_NEAR(Tokens(), 200, 1);
  const ReadAdmission refused = meter_->Charge(police_, 300);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NEAR(Tokens(), 200, 1);  // nothing taken
}

// Test that without quotas every read passes without I/O, and that Redis down is UNAVAILABLE
// (audited: it is not a flood).
TEST_F(ReadMeterTest, PassesWithoutQuotasAndIsUnavailableWithoutRedis) {
  ReadMeter unlimited(nullptr, redis_.get(), "msg");
  const int64_t before = Commands();
  EXPECT_TRUE(unlimited.Charge(police_).status.ok());
  EXPECT_EQ(Commands(), before + 1);
  server_->Stop();
  const ReadAdmission down = meter_->Charge(police_);
  EXPECT_EQ(down.status.code(), absl::StatusCode::kUnavailable) << down.status;
  EXPECT_TRUE(down.audit);
}

}  // namespace
}  // namespace concord::quota
