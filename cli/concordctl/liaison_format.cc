#include "cli/concordctl/liaison_format.h"

#include <tuple>

#include "absl/time/time.h"
#include "common/time/calendar.h"

namespace concord::ctl {
namespace {

absl::Time DueOf(const ::concord::liaison::v1::Clock& c) {
  return absl::FromUnixSeconds(c.due_at().seconds()) + absl::Nanoseconds(c.due_at().nanos());
}

}  // namespace

std::string ClockDueLocalText(const ::concord::liaison::v1::Clock& clock) {
  if (clock.due_at().seconds() == 0 && clock.due_at().nanos() == 0) return "";
  StatusOr<absl::TimeZone> zone = LoadTimeZone(clock.time_zone());
  if (!zone.ok()) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(clock.due_at().seconds()),
                            absl::UTCTimeZone());
  }
  return FormatLocalTime(DueOf(clock), *zone);
}

std::string NextDueText(const ::concord::liaison::v1::Request& request) {
  const ::concord::liaison::v1::Clock* next = nullptr;
  for (const ::concord::liaison::v1::Clock& c : request.clocks()) {
    if (next == nullptr || DueOf(c) < DueOf(*next)) next = &c;
  }
  if (next == nullptr) return "-";
  return ClockDueLocalText(*next) + (next->overdue() ? " OVERDUE" : "");
}

}  // namespace concord::ctl
