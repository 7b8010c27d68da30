// File: common/time/calendar.h
//
// Legal periods as the documents and the law print them: a period of N hours is N hours; a period
// of N calendar days or N calendar months ends at the END of its last day in a given IANA time
// zone (Europe/Brussels for Belgian procedures), daylight saving time included. The one place
// where Concord does calendar arithmetic: the referrals service (residence documents, reflection
// period) and the liaison service (EIO, SPOC and e-Evidence clocks) both use it.
//
// The counting rule (docs/referrals.md "Deadlines"; the printed date of a document wins over it):
//   - the last day is the start's civil day in `zone` plus N days, or plus N months on the same
//     day of the month, clamped to the last day of a shorter month (31 January + 1 month = 28
//     February, 29 in a leap year);
//   - the period ends at the end of that last day: the first instant of the next day in `zone`
//     (so a 45-day period across the spring change is 45 x 24 h - 1 h long);
//   - a period of N hours ends N x 3600 s after its start (no calendar, no zone).
//
//   CONCORD_ASSIGN_OR_RETURN(absl::TimeZone brussels, LoadTimeZone("Europe/Brussels"));
//   PeriodEnd end = EndOfPeriod(issued_at, Period::Months(3), brussels);
//   FormatDate(end.last_day);          // "2026-04-15": the date printed on the document
//   FormatLocalTime(end.end, brussels) // "2026-04-16T00:00:00+02:00": when it has expired
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/status.h"

namespace concord {

/// The zone of Belgian legal periods.
inline constexpr std::string_view kBrusselsTimeZone = "Europe/Brussels";

/// A legal period: N hours, N calendar days or N calendar months (N >= 0).
struct Period {
  enum class Unit { kHours, kDays, kMonths };
  Unit unit = Unit::kDays;
  int64_t count = 0;

  static Period Hours(int64_t n) { return {Unit::kHours, n}; }
  static Period Days(int64_t n) { return {Unit::kDays, n}; }
  static Period Months(int64_t n) { return {Unit::kMonths, n}; }

  /// "24 hours", "45 days", "1 month", "6 months".
  std::string ToString() const;

  friend bool operator==(const Period&, const Period&) = default;
};

/// Where a period ends.
struct PeriodEnd {
  /// The first instant after the period (exclusive): the start of the day after `last_day` in
  /// the zone for days and months; start + N hours for hours.
  absl::Time end;
  /// The last day of the period in the zone (the date a document prints). For hours: the civil
  /// day, in the zone, of the last instant of the period.
  absl::CivilDay last_day;
};

/// The IANA zone `name` from the host's tz database (Debian package tzdata). NOT
/// absl::LoadTimeZone's silent fall-back to UTC: FAILED_PRECONDITION naming the zone when the
/// database does not know it or is not installed, so a process refuses to start rather than
/// count legal days in UTC.
StatusOr<absl::TimeZone> LoadTimeZone(std::string_view name);

/// The end of `period` started at `start`, in `zone` (see the file comment).
PeriodEnd EndOfPeriod(absl::Time start, Period period, absl::TimeZone zone);

/// The end of `period` counted on from an earlier period that ended with `last_day` (a renewal
/// extends from the current expiry, not from today): the last day is last_day + N days or
/// months (clamped), the end the start of the day after it. For hours: the end of last_day + N
/// hours.
PeriodEnd ExtendPeriod(absl::CivilDay last_day, Period period, absl::TimeZone zone);

/// `day` + `months` calendar months, on the same day of the month or the last day of a shorter
/// month (2024-01-31 + 1 = 2024-02-29; 2025-01-31 + 1 = 2025-02-28).
absl::CivilDay AddMonthsClamped(absl::CivilDay day, int64_t months);

/// The first instant of the day after `day` in `zone` (the end of `day`).
absl::Time EndOfDay(absl::CivilDay day, absl::TimeZone zone);

/// The civil day of `t` in `zone`.
absl::CivilDay DayIn(absl::Time t, absl::TimeZone zone);

/// "YYYY-MM-DD" (ISO 8601 calendar date). ParseDate: INVALID_ARGUMENT for anything else or a date
/// that does not exist ("2026-02-30").
std::string FormatDate(absl::CivilDay day);
StatusOr<absl::CivilDay> ParseDate(std::string_view text);

/// ISO 8601 / RFC 3339 with the zone's UTC offset at that instant, whole seconds:
/// "2026-03-29T03:00:00+02:00".
std::string FormatLocalTime(absl::Time t, absl::TimeZone zone);

}  // namespace concord
