#include "common/redis/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace concord::redis::internal {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(Backoff, StartsAt50msDoublesWithJitterAndCapsAtMax) {
  Backoff backoff(absl::Milliseconds(400));
  // base 50, 100, 200, 400, 400 ... each within +-25 %, never above the maximum.
  const int bases[] = {50, 100, 200, 400, 400, 400};
  for (int base : bases) {
    const auto d = backoff.Next();
    EXPECT_GE(d, microseconds(base * 750)) << "base " << base;
    EXPECT_LE(d, microseconds(std::min(base * 1250, 400'000))) << "base " << base;
  }
}

TEST(Backoff, ResetStartsOverAt50ms) {
  Backoff backoff(absl::Seconds(2));
  for (int i = 0; i < 10; ++i) (void)backoff.Next();
  backoff.Reset();
  const auto d = backoff.Next();
  EXPECT_GE(d, microseconds(37'500));
  EXPECT_LE(d, microseconds(62'500));
}

TEST(Backoff, MaximumBelowInitialIsRaisedToInitial) {
  Backoff backoff(absl::Milliseconds(1));
  EXPECT_LE(backoff.Next(), milliseconds(50));
}

}  // namespace
}  // namespace concord::redis::internal
