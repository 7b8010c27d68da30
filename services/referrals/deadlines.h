// File: services/referrals/deadlines.h
//
// The legal durations of the victim-status procedure (DOMAIN.md §1) as configuration with the
// legal defaults, counted the way the documents print them (common/time/calendar.h): calendar
// days and calendar months ending at the end of the last day in Europe/Brussels, daylight saving
// included; the centre's answer in hours. The firing plan of each deadline kind:
//
//   kind                 period                fires at (stage)
//   CENTRE_RESPONSE      24 hours              due ("overdue": a missed action)
//   REFLECTION_END       45 days               the start of last day - 4, i.e. 5 days left
//                                              ("reminder"), due ("expired")
//   ATTESTATION_EXPIRY   3 months (max)        14 days left ("reminder"), due ("expired")
//   CERTIFICATE_EXPIRY   6 months (renewable)  14 days left ("reminder"), due ("expired")
//
// A reminder whose time is already in the past is dropped. Pure: no clock, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/status.h"
#include "common/time/calendar.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace concord::referrals {

struct DeadlineConfig {  // legal defaults; configurable (docs/referrals.md "Configuration")
  Period centre_response = Period::Hours(24);
  Period reflection = Period::Days(45);
  Period attestation = Period::Months(3);     // max 3 months; unaccompanied minors: directly
  Period certificate = Period::Months(6);     // 6 months, renewable
  int reflection_reminder_days = 5;           // "the reflection document expires in 5 days"
  int document_reminder_days = 14;            // "the document expires in 14 days"
  absl::TimeZone zone = absl::UTCTimeZone();  // the legal zone: load Europe/Brussels (Defaults())

  /// The legal defaults with the zone loaded from the tz database (FAILED_PRECONDITION when it
  /// is not installed: common/time LoadTimeZone).
  static StatusOr<DeadlineConfig> Defaults(std::string_view zone_name = kBrusselsTimeZone);

  /// OK when every period is > 0 (centre_response in hours; reflection in days; attestation and
  /// certificate in months) and each reminder is shorter than every period it applies to (a
  /// month counted as 28 days). INVALID_ARGUMENT naming the field otherwise.
  Status Validate() const;
};

struct DeadlineStart {
  v1::DeadlineKind kind = v1::DEADLINE_KIND_UNSPECIFIED;
  absl::Time due;                          // the first instant after the period
  std::optional<absl::CivilDay> last_day;  // calendar deadlines: the last day of validity
  std::vector<absl::Time> fire_at;         // reminder (if any) then due; ascending
};

/// "centre_response", "reflection_end", "attestation_expiry", "certificate_expiry"
/// ("unspecified" otherwise).
std::string_view DeadlineKindName(v1::DeadlineKind kind);

/// The period of `kind` under `config` (Hours(0) for UNSPECIFIED).
Period DeadlinePeriod(v1::DeadlineKind kind, const DeadlineConfig& config);

/// The reminder lead of `kind` in calendar days (0 for CENTRE_RESPONSE, which only fires when
/// overdue).
int ReminderDays(v1::DeadlineKind kind, const DeadlineConfig& config);

/// A deadline of `kind` started at `now`: due = EndOfPeriod(now, period, zone); for calendar
/// kinds the reminder fires at the end of (last_day - lead), i.e. when `lead` days are left.
DeadlineStart StartDeadline(v1::DeadlineKind kind, absl::Time now, const DeadlineConfig& config);

/// A calendar deadline of `kind` whose last day is `last_day` (a document's printed date), planned
/// at `now` (a reminder at or before `now` is dropped).
DeadlineStart PlanDeadlineOn(v1::DeadlineKind kind, absl::Time now, absl::CivilDay last_day,
                             const DeadlineConfig& config);

/// The same plan for an explicit due time (hours-based kinds, and deadlines re-planned from a
/// stored due time).
DeadlineStart PlanDeadline(v1::DeadlineKind kind, absl::Time now, absl::Time due,
                           const DeadlineConfig& config);

/// The Deadline message of a start (due_at, last_day).
v1::Deadline DeadlineProto(const DeadlineStart& start);

/// absl::Time <-> google.protobuf.Timestamp (floor to whole nanoseconds).
google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

/// The stage name of a firing: "reminder" when fire_at < due, else the kind's final stage:
/// "overdue" for CENTRE_RESPONSE (a missed action), "expired" for the documents (reflection
/// document, attestation, certificate). Firings stored before this rule may say "due" for the
/// reflection document: DeadlineText treats it as "expired".
std::string_view DeadlineStage(v1::DeadlineKind kind, absl::Time fire_at, absl::Time due);

/// The plain-words text of a firing for the notification body, times in `zone` as ISO 8601 with
/// the offset: "the attestation of registration expires at the end of 2026-04-15
/// (2026-04-16T00:00:00+02:00)"; "the receiving centre's answer to the referral is overdue since
/// 2026-01-02T10:00:00+01:00".
std::string DeadlineText(v1::DeadlineKind kind, std::string_view stage, absl::Time due,
                         absl::TimeZone zone);

}  // namespace concord::referrals
