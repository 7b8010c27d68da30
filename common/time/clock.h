// File: common/time/clock.h
//
// Time is injected: domain code takes a Clock& and never calls system time directly, so tests
// can drive deadlines with a FakeClock (tests/support/fake_clock.h).
#pragma once

#include "absl/time/time.h"

namespace concord {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

/// Wall-clock time. Thread-safe.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override;
  /// A process-wide instance for main(); domain code still receives it by reference.
  static SystemClock& Get();
};

}  // namespace concord
