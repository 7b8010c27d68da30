// The token-bucket Lua fragment against a real redis-server: burst, all-or-nothing charges,
// refill from Redis time, expiry of idle buckets, the hash tag of bucket keys, and the shape of
// the refusal a store builds from the script's answer.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/quota/refusal.h"
#include "common/quota/token_bucket.h"
#include "common/redis/redis_client.h"
#include "common/status/grpc_status.h"
#include "tests/support/redis_fixture.h"

namespace concord::quota {
namespace {

// KEYS: the buckets; ARGV: 3 per bucket. Returns 0 or {index, wait ms}.
const redis::Script& ChargeScript() {
  static const redis::Script* script = new redis::Script(std::string(kTokenBucketLua) + R"lua(
return concord_charge(concord_charges(1, 1, #KEYS))
)lua");
  return *script;
}

class TokenBucketTest : public testing::RedisSuiteTest {
 protected:
  AgencyId police_{"concord.test", AgencyType::kPolice, "pz-antwerp"};

  // 0 when charged, otherwise the refused bucket's index (1-based); `wait_ms` its wait.
  int64_t Charge(const std::vector<quota::Charge>& charges, int64_t* wait_ms = nullptr) {
    std::vector<std::string> keys, args;
    for (const quota::Charge& c : charges) {
      keys.push_back(BucketKey("msg", c));
      AppendChargeArgs(c, args);
    }
    auto r = redis_->Eval(ChargeScript(), keys, args);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    if (r->type == redis::Reply::Type::kInteger) return r->integer;
    EXPECT_EQ(r->elements.size(), 2u);
    if (wait_ms != nullptr) *wait_ms = r->elements[1].integer;
    return r->elements[0].integer;
  }

  double Tokens(const quota::Charge& c) {
    auto r = redis_->Command({"HGET", BucketKey("msg", c), "t"});
    return r.ok() && !r->is_nil() ? std::stod(r->str) : -1;
  }
};

// Test that a bucket admits its burst, then refuses with the time until one token is back.
TEST_F(TokenBucketTest, AdmitsTheBurstThenRefusesWithTheWait) {
  const quota::Charge send{Quota::kSend, police_, {5, 0.5}, 1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Charge({send}), 0) << i;
  int64_t wait = 0;
  EXPECT_EQ(Charge({send}, &wait), 1);
  // 0.5 token/s: up to 2 s for one token (less the milliseconds that passed meanwhile).
  EXPECT_GT(wait, 1000);
  EXPECT_LE(wait, 2000);
}

// Test that charges on several buckets are all or nothing.
TEST_F(TokenBucketTest, ChargesSeveralBucketsAllOrNothing) {
  const quota::Charge count{Quota::kSend, police_, {10, 1}, 1};
  const quota::Charge bytes{Quota::kSendBytes, police_, {1000, 1}, 600};
  EXPECT_EQ(Charge({count, bytes}), 0);
  EXPECT_NEAR(Tokens(count), 9, 0.01);
  int64_t wait = 0;
  EXPECT_EQ(Charge({count, bytes}, &wait), 2);  // 400 bytes left < 600
  EXPECT_GT(wait, 100 * 1000);
  EXPECT_NEAR(Tokens(count), 9, 0.01);  // the count bucket was not charged
}

// Test that a bucket refills from Redis time, never above its burst.
TEST_F(TokenBucketTest, RefillsWithTimeUpToTheBurst) {
  const quota::Charge send{Quota::kSend, police_, {4, 2}, 1};
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Charge({send}), 0);
  ASSERT_EQ(Charge({send}), 1);
  // The bucket's clock one second back: 2 tokens came back.
  auto ts = redis_->Command({"HGET", BucketKey("msg", send), "ts"});
  ASSERT_TRUE(ts.ok());
  ASSERT_TRUE(redis_
                  ->Command({"HSET", BucketKey("msg", send), "ts",
                             absl::StrCat(std::stoll(ts->str) - 1000)})
                  .ok());
  EXPECT_EQ(Charge({send}), 0);
  EXPECT_EQ(Charge({send}), 0);
  EXPECT_EQ(Charge({send}), 1);
  // An hour back: full again, never more than the burst.
  ASSERT_TRUE(redis_->Command({"HSET", BucketKey("msg", send), "ts", "0"}).ok());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Charge({send}), 0) << i;
  EXPECT_EQ(Charge({send}), 1);
}

// Test that an idle bucket's key expires at most one refill time + 1 s after its last charge
// (nothing left behind), and never before the bucket would be full again (a missing key is a
// full bucket).
TEST_F(TokenBucketTest, IdleBucketsExpire) {
  const quota::Charge send{Quota::kSend, police_, {100, 10}, 30};
  const std::string key = BucketKey("msg", send);
  ASSERT_EQ(Charge({send}), 0);
  auto pttl = [&]() -> int64_t {
    auto ttl = redis_->Command({"PTTL", key});
    EXPECT_TRUE(ttl.ok()) << ttl.status();
    return ttl.ok() ? ttl->integer : -3;
  };
  EXPECT_GT(pttl(), 11000 - 100);  // an empty bucket refills in 100 / 10 s, + 1 s
  EXPECT_LE(pttl(), 11000);
  // 70 tokens short of full: 7 s + 1 s, within the key's life already.
  ASSERT_EQ(Charge({{Quota::kSend, police_, {100, 10}, 40}}), 0);
  EXPECT_GT(pttl(), 8000);
  EXPECT_LE(pttl(), 11000);
  // A bucket written before `x` existed (or with an expiry too short) gets its PEXPIRE again.
  ASSERT_TRUE(redis_->Command({"HDEL", key, "x"}).ok());
  ASSERT_TRUE(redis_->Command({"PEXPIRE", key, "500"}).ok());
  ASSERT_EQ(Charge({{Quota::kSend, police_, {100, 10}, 1}}), 0);
  EXPECT_GT(pttl(), 11000 - 100);
}

// Test that charging a busy bucket costs HMGET + HSET per bucket and one TIME per call: its key's
// expiry is extended (PEXPIRE) only when the bucket would be full after it, here once per bucket
// for 10 calls (it was a PEXPIRE per bucket and charge: 20).
TEST_F(TokenBucketTest, ABusyBucketIsNotReExpiredOnEveryCharge) {
  const quota::Charge count{Quota::kSend, police_, {1000, 100}, 1};
  const quota::Charge bytes{Quota::kSendBytes, police_, {1000000, 100000}, 1000};
  auto admin = redis::RedisClient::Create(server_->admin_config());
  auto calls = [&](const std::string& name) -> int64_t {
    auto r = admin->Command({"INFO", "commandstats"});
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    const std::string prefix = "cmdstat_" + name + ":calls=";
    const size_t at = r->str.find(prefix);
    if (at == std::string::npos) return 0;
    return std::stoll(r->str.substr(at + prefix.size()));
  };
  const int64_t pexpire = calls("pexpire"), hset = calls("hset"), hmget = calls("hmget"),
                time = calls("time");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Charge({count, bytes}), 0) << i;
  EXPECT_EQ(calls("pexpire") - pexpire, 2);
  EXPECT_EQ(calls("hset") - hset, 20);
  EXPECT_EQ(calls("hmget") - hmget, 20);
  EXPECT_EQ(calls("time") - time, 10);
  EXPECT_GE(Tokens(count), 990 - 0.01);  // plus what refilled meanwhile
  EXPECT_LE(Tokens(count), 1000);
}

// Test that charges declared on one shared key keep separate buckets in its hash ({t, ts},
// {t2, ts2}, one x), cost one HMGET and one HSET per call together (separate keys: one of each
// per bucket), refuse each on its own and all or nothing, and that the key lives as long as the
// slowest of its buckets takes to refill.
TEST_F(TokenBucketTest, ChargesOnASharedKeyCostOneReadAndOneWrite) {
  const quota::Charge count{Quota::kSend, police_, {5, 1}, 1};             // refills in 5 s
  const quota::Charge bytes{Quota::kSendBytes, police_, {1000, 50}, 400};  // refills in 20 s
  const std::string key = SharedBucketKey("msg", {count, bytes});
  EXPECT_EQ(key, BucketKey("msg", count));
  auto admin = redis::RedisClient::Create(server_->admin_config());
  auto calls = [&](const std::string& name) -> int64_t {
    auto r = admin->Command({"INFO", "commandstats"});
    if (!r.ok()) return -1;
    const std::string prefix = "cmdstat_" + name + ":calls=";
    const size_t at = r->str.find(prefix);
    return at == std::string::npos ? 0 : std::stoll(r->str.substr(at + prefix.size()));
  };
  auto charge = [&](int64_t* wait = nullptr) -> int64_t {
    std::vector<std::string> args;
    AppendChargeArgs(count, args);
    AppendChargeArgs(bytes, args);
    auto r = redis_->Eval(ChargeScript(), {key, key}, args);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->type == redis::Reply::Type::kInteger) return r.ok() ? r->integer : -1;
    if (wait != nullptr) *wait = r->elements[1].integer;
    return r->elements[0].integer;
  };
  const int64_t hmget = calls("hmget"), hset = calls("hset");
  ASSERT_EQ(charge(), 0);
  ASSERT_EQ(charge(), 0);
  EXPECT_EQ(calls("hmget") - hmget, 2);
  EXPECT_EQ(calls("hset") - hset, 2);
  // 200 bytes left: the third is refused by the bytes bucket (index 2), and the count bucket
  // keeps its 3 tokens (all or nothing).
  int64_t wait = 0;
  EXPECT_EQ(charge(&wait), 2);
  EXPECT_GT(wait, 1000);  // 200 bytes at 50/s: about 4 s
  auto h = redis_->Command({"HMGET", key, "t", "t2", "ts", "ts2", "x"});
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->elements.size(), 5u);
  EXPECT_GE(std::stod(h->elements[0].str), 3 - 0.01);
  EXPECT_LT(std::stod(h->elements[0].str), 3.5);
  EXPECT_NEAR(std::stod(h->elements[1].str), 200, 50);
  for (const redis::Reply& e : h->elements) EXPECT_FALSE(e.is_nil());
  // The key outlives the slower bucket's refill (20 s + 1 s), not only the faster one's.
  auto ttl = redis_->Command({"PTTL", key});
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GT(ttl->integer, 15000);
  EXPECT_LE(ttl->integer, 21000);
}

// Test that bucket keys carry the store's hash tag and name the quota and the agency.
TEST_F(TokenBucketTest, KeysCarryTheStoreHashTag) {
  const std::string key = BucketKey("ref", Quota::kDraft, police_);
  EXPECT_EQ(key, "concord:{ref}:quota:draft:police/pz-antwerp");
  EXPECT_EQ(redis::HashTag(key), "ref");
}

// Test that the refusal built from the script's answer has every detail a client needs.
TEST(QuotaRefusal, CarriesReasonRetryInfoAndQuotaFailure) {
  const quota::Charge send{
      Quota::kSend, {"concord.test", AgencyType::kPolice, "pz-antwerp"}, {20000, 5}, 1};
  const Status s = QuotaRefusal(send, absl::Milliseconds(180));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(s), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(s).at("limit"), "send");
  EXPECT_EQ(ReasonMetadataOf(s).at("agency_type"), "police");
  EXPECT_EQ(RetryDelayOf(FromGrpcStatus(ToGrpcStatus(s))), absl::Milliseconds(180));
  ASSERT_EQ(QuotaViolationsOf(s).size(), 1u);
  EXPECT_EQ(QuotaViolationsOf(s)[0].field, "agency:police/pz-antwerp");
  EXPECT_EQ(RefusedLimitOf(s), "send");
  EXPECT_EQ(RefusedLimitOf(CapRefusal(send.agency, Cap::kStreams, 32, absl::Seconds(1))),
            "streams");
  EXPECT_EQ(RefusedLimitOf(StorageRefusal(AgencyType::kPolice, 10, 9, absl::Seconds(60))),
            "storage");
  EXPECT_EQ(RefusedLimitOf(absl::ResourceExhaustedError("other")), std::nullopt);
}

}  // namespace
}  // namespace concord::quota
