// File: services/liaison/calendar.h
//
// The one question liaison asks of calendar arithmetic: when does a period that starts at
// `start` end, for an authority in time zone `zone`? A period in hours is exact (8 hours after
// the order). A period in days is counted in calendar days and ends at the END of the last day in
// the zone of the authority that must act (DOMAIN.md §1 "How the durations are counted", applied
// to §3-§5 by PRODUCT.md "Liaison"): a 7-day clock started on Monday 10:00 in Brussels ends at
// the end of the following Monday, Brussels time, whatever daylight saving did in between.
//
// The arithmetic itself lives once in common/time (shared with the referrals service); this
// interface is what the liaison domain depends on, so that the domain is tested without it and
// the implementation is the common one (calendar_adapter.h).
#pragma once

#include "absl/time/time.h"

namespace concord::liaison {

struct Period {
  enum class Unit { kHours, kDays };
  Unit unit = Unit::kDays;
  int count = 0;

  static Period Hours(int n) { return {Unit::kHours, n}; }
  static Period Days(int n) { return {Unit::kDays, n}; }
  friend bool operator==(const Period&, const Period&) = default;
};

class DeadlineCalendar {
 public:
  virtual ~DeadlineCalendar() = default;
  /// The instant the period ends. Hours: start + count hours. Days: the end of the day that is
  /// `count` calendar days after the day of `start`, in `zone`.
  virtual absl::Time Due(absl::Time start, Period period, const absl::TimeZone& zone) const = 0;
};

}  // namespace concord::liaison
