#include "common/time/clock.h"

#include "absl/time/clock.h"

namespace concord {

absl::Time SystemClock::Now() const { return absl::Now(); }

SystemClock& SystemClock::Get() {
  static SystemClock* clock = new SystemClock();  // never destroyed: safe at exit
  return *clock;
}

}  // namespace concord
