// Unit tests of QuotaChecker: refusals are counted by agency type, a refused count bucket is
// refused locally until its RetryInfo passed, and refusals are audited at most once a minute.
#include "common/quota/quota_checker.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace concord::quota {
namespace {

class QuotaCheckerTest : public ::testing::Test {
 protected:
  metrics::Metrics metrics_;
  testing::FakeClock clock_;
  QuotaChecker checker_{QuotaTable::Defaults(), metrics_, clock_};
  AgencyId police_{"concord.test", AgencyType::kPolice, "pz-antwerp"};
  AgencyId other_{"concord.test", AgencyType::kPolice, "pz-gent"};

  std::string Series(std::string_view type, std::string_view limit) {
    return absl::StrCat("concord_quota_refusals_total{agency_type=\"", std::string(type),
                        "\",limit=\"", std::string(limit), "\"}");
  }
  bool Has(const std::string& line) { return metrics_.Serialize().find(line) != std::string::npos; }
};

// Test that a refused send bucket is refused locally (no I/O) for this agency only, until the
// retry time.
TEST_F(QuotaCheckerTest, RefusesLocallyUntilTheRetryTime) {
  EXPECT_TRUE(checker_.Admit(police_, {Quota::kSend, Quota::kSendBytes}).ok());
  const Status from_store =
      QuotaRefusal(checker_.ChargeOf(police_, Quota::kSend, 1), absl::Seconds(2));
  checker_.Observe(police_, from_store);
  const Status local = checker_.Admit(police_, {Quota::kSend, Quota::kSendBytes});
  EXPECT_EQ(local.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(local), "QUOTA_EXCEEDED");
  EXPECT_LE(RetryDelayOf(local), absl::Seconds(2));
  EXPECT_TRUE(checker_.Admit(other_, {Quota::kSend}).ok());
  EXPECT_TRUE(checker_.Admit(police_, {Quota::kUpload}).ok());
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(checker_.Admit(police_, {Quota::kSend}).ok());
}

// Test that a refusal of a large charge (500 ids of an Ack, 500 cases of a referral List) blocks
// this replica's later calls only until the bucket holds ONE token, not for the refusal's whole
// RetryInfo (the time it needs for the 500): a one-id Ack may pass long before.
TEST_F(QuotaCheckerTest, ARefusedLargeChargeBlocksLocallyOnlyUntilOneTokenIsBack) {
  const BucketSpec spec = checker_.table().Bucket(police_.type, Quota::kMsgAck);  // 100/s
  ASSERT_EQ(spec.per_second, 100);
  // Short of 500 tokens for 5 s: one token is back after 5 s - 499 / 100 s = 10 ms.
  const Status big =
      QuotaRefusal(checker_.ChargeOf(police_, Quota::kMsgAck, 500), absl::Seconds(5));
  checker_.Observe(police_, big, 500);
  const Status local = checker_.AdmitRecent(police_, {Quota::kMsgAck});
  ASSERT_EQ(local.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_LE(RetryDelayOf(local), absl::Milliseconds(10));
  clock_.Advance(absl::Milliseconds(11));
  EXPECT_TRUE(checker_.AdmitRecent(police_, {Quota::kMsgAck}).ok());
  // A refusal whose bucket holds a token already (cost beyond what the delay covers) blocks
  // nothing; the read bucket (5/s) the same way: 500 tokens short for 100 s, one back at 200 ms.
  checker_.Observe(police_,
                   QuotaRefusal(checker_.ChargeOf(police_, Quota::kMsgAck, 500), absl::Seconds(1)),
                   500);
  EXPECT_TRUE(checker_.AdmitRecent(police_, {Quota::kMsgAck}).ok());
  checker_.Observe(police_,
                   QuotaRefusal(checker_.ChargeOf(police_, Quota::kRead, 500), absl::Seconds(100)),
                   500);
  EXPECT_EQ(checker_.AdmitRecent(police_, {Quota::kRead}).code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Milliseconds(201));
  EXPECT_TRUE(checker_.AdmitRecent(police_, {Quota::kRead}).ok());
}

// Test that a refusal of a partner deployment's agency (federation gateway) does not refuse a
// local agency of the same type and id, nor the other way round.
TEST_F(QuotaCheckerTest, AnAgencyOfAnotherTrustDomainIsNotItsLocalTwin) {
  const AgencyId twin{"partner.test", AgencyType::kPolice, "pz-antwerp"};
  checker_.Observe(twin, QuotaRefusal(checker_.ChargeOf(twin, Quota::kSend, 1), absl::Seconds(60)));
  EXPECT_EQ(checker_.Admit(twin, {Quota::kSend}).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(checker_.Admit(police_, {Quota::kSend}).ok());
}

// Test that byte buckets are never refused locally (a smaller charge may pass earlier).
TEST_F(QuotaCheckerTest, ByteBucketsAreLeftToRedis) {
  checker_.Observe(police_, QuotaRefusal(checker_.ChargeOf(police_, Quota::kSendBytes, 1 << 20),
                                         absl::Seconds(30)));
  EXPECT_TRUE(checker_.Admit(police_, {Quota::kSend, Quota::kSendBytes}).ok());
}

// Test that refusals are counted by agency type and limit, never by agency id.
TEST_F(QuotaCheckerTest, CountsRefusalsByAgencyType) {
  EXPECT_TRUE(Has(Series("platform", "storage") + " 0"));
  checker_.Observe(police_,
                   QuotaRefusal(checker_.ChargeOf(police_, Quota::kSend, 1), absl::Seconds(1)));
  checker_.Observe(other_, CapRefusal(other_, Cap::kStreams, 32, absl::Seconds(1)));
  checker_.Observe(police_, checker_.Admit(police_, {Quota::kSend}));  // refused locally
  EXPECT_TRUE(Has(Series("police", "send") + " 2"));
  EXPECT_TRUE(Has(Series("police", "streams") + " 1"));
  EXPECT_EQ(metrics_.Serialize().find("pz-antwerp"), std::string::npos);
  EXPECT_TRUE(checker_.Observe(police_, absl::OkStatus()));
  EXPECT_TRUE(checker_.Observe(police_, absl::ResourceExhaustedError("not a quota")));
}

// Test that a refusal is audited at most once per agency, limit and minute.
TEST_F(QuotaCheckerTest, AuditsRefusalsAtMostOnceAMinute) {
  const Status refusal = CapRefusal(police_, Cap::kDrafts, 200, absl::Minutes(1));
  EXPECT_TRUE(checker_.Observe(police_, refusal));
  EXPECT_FALSE(checker_.Observe(police_, refusal));
  EXPECT_TRUE(checker_.Observe(other_, refusal));
  EXPECT_TRUE(checker_.Observe(police_, CapRefusal(police_, Cap::kStreams, 1, absl::Seconds(1))));
  clock_.Advance(absl::Seconds(61));
  EXPECT_TRUE(checker_.Observe(police_, refusal));
  // Anything else is always audited.
  EXPECT_TRUE(checker_.Observe(police_, absl::InvalidArgumentError("bad")));
  EXPECT_TRUE(checker_.Observe(police_, absl::InvalidArgumentError("bad")));
}

}  // namespace
}  // namespace concord::quota
