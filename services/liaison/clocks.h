// File: services/liaison/clocks.h
//
// The legal clocks of liaison requests as configuration with the legal defaults (docs/liaison.md
// "Clocks" traces each to DOMAIN.md), and the firing plan of a running clock:
//
//   clock            period (default)                         source
//   ACKNOWLEDGEMENT  7 days from receipt                       EIO art. 16     (DOMAIN.md §3)
//   RECOGNITION      30 days from receipt, + up to 30 once     EIO art. 12(3)(5) (§3)
//   EXECUTION        90 days from the recognition decision     EIO art. 12(4)  (§3)
//   RESPONSE         8 h urgent/direct, 3 days urgent/indirect,
//                    7 days otherwise                          Dir. 2023/977   (§5)
//   PRODUCTION       10 days, 8 h in an emergency              Reg. 2023/1543  (§4)
//   PRESERVATION     60 days, + 30 once                        Reg. 2023/1543 art. 11 (§4)
//   FOLLOW_UP        the date the issuer set                   (no legal term)
//
// Days are calendar days ending at the end of the last day in the time zone of the authority
// that must act, counted by common/time/calendar.h (EndOfPeriod). A running clock fires a reminder
// `reminder_lead_*` before it is due (dropped when already past) and an overdue alert when due;
// FOLLOW_UP fires once, when due. Pure: no clock, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/status/status.h"
#include "common/time/calendar.h"
#include "concord/liaison/v1/liaison.pb.h"

namespace concord::liaison {

struct ClockConfig {  // legal defaults; configurable (--liaison-*)
  int eio_acknowledgement_days = 7;
  int eio_recognition_days = 30;
  int eio_recognition_extension_max_days = 30;
  int eio_execution_days = 90;
  int spoc_urgent_direct_hours = 8;
  int spoc_urgent_indirect_days = 3;
  int spoc_standard_days = 7;
  int production_days = 10;
  int production_emergency_hours = 8;
  int preservation_days = 60;
  int preservation_extension_max_days = 30;
  int reminder_lead_hours = 24;       // before a clock counted in days
  int short_reminder_lead_hours = 2;  // before a clock counted in hours

  /// OK when every period is 1..3650 days or 1..720 hours, extensions 1..365 days and each
  /// reminder lead shorter than every period it applies to; INVALID_ARGUMENT naming the flag
  /// (--liaison-<name with dashes>) otherwise.
  Status Validate() const;
};

/// "acknowledgement", "recognition", "execution", "response", "production", "preservation",
/// "follow_up" ("unspecified" otherwise).
std::string ClockKindName(v1::ClockKind kind);
/// Inverse of ClockKindName; UNSPECIFIED for an unknown name.
v1::ClockKind ClockKindFromName(std::string_view name);

/// The period of `kind` for `request` (its urgency / emergency) under `config`. FOLLOW_UP and
/// UNSPECIFIED have none (count 0).
Period PeriodOf(v1::ClockKind kind, const v1::Request& request, const ClockConfig& config);

/// A clock of `kind` started at `start` for an authority in `zone` (zone_name its IANA name): due
/// at EndOfPeriod(start, period, zone).end (common/time: hours exact; days end at the end of the
/// last day in `zone`, daylight saving included).
v1::Clock StartClock(v1::ClockKind kind, const v1::Request& request, absl::Time start,
                     const absl::TimeZone& zone, std::string_view zone_name,
                     const ClockConfig& config);

/// A FOLLOW_UP clock due at `at`.
v1::Clock FollowUpClock(absl::Time at, std::string_view zone_name);

/// `clock` extended once by `days` calendar days: the period is counted again from its start
/// (period_days + days), so an extension ends at the end of a day in the same zone.
v1::Clock ExtendClock(const v1::Clock& clock, int days, const absl::TimeZone& zone);

/// One firing of a running clock.
struct Firing {
  absl::Time at;
  std::string stage;  // "reminder" | "overdue" | "follow_up"
};

/// When `clock` fires, ascending; a reminder at or before `now` is dropped.
std::vector<Firing> FiringPlan(const v1::Clock& clock, absl::Time now, const ClockConfig& config);

/// absl::Time <-> google.protobuf.Timestamp.
google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

}  // namespace concord::liaison
