// File: common/redis/backoff.h  (internal to concord_redis)
//
// Exponential reconnect backoff with jitter: 50 ms, 100 ms, 200 ms, ... up to a maximum, each
// delay multiplied by a random factor in [0.75, 1.25] (capped at the maximum) so that replicas
// that lost Redis at the same moment do not reconnect in lockstep. Not thread-safe.
#pragma once

#include <chrono>
#include <random>

#include "absl/time/time.h"

namespace concord::redis::internal {

class Backoff {
 public:
  static constexpr absl::Duration kInitial = absl::Milliseconds(50);

  explicit Backoff(absl::Duration max) : max_(max < kInitial ? kInitial : max) {}

  /// The next delay; doubles the base for the call after.
  std::chrono::nanoseconds Next() {
    const absl::Duration base = next_base_;
    next_base_ = std::min(next_base_ * 2, max_);
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    const absl::Duration d = std::min(base * jitter(rng_), max_);
    return absl::ToChronoNanoseconds(d);
  }

  /// After a success: the next failure starts again at 50 ms.
  void Reset() { next_base_ = kInitial; }

 private:
  absl::Duration max_;
  absl::Duration next_base_ = kInitial;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace concord::redis::internal
