// File: tests/support/quota_buckets.h
//
// What a token bucket holds in Redis (common/quota/token_bucket.h), for the tests of quotas:
//
//   EXPECT_NEAR(testing::BucketTokens(*redis_, quota::BucketKey("ref", Quota::kRead, agency)),
//               499, 0.1);
#pragma once

#include <string>

#include "common/redis/redis_client.h"

namespace concord::testing {

/// The tokens of the bucket under `key` as its last charge left them; -1 when the key (or its
/// field) is missing or Redis does not answer.
inline double BucketTokens(redis::RedisClient& redis, const std::string& key) {
  auto r = redis.Command({"HGET", key, "t"});
  return r.ok() && !r->is_nil() ? std::stod(r->str) : -1;
}

}  // namespace concord::testing
