// File: services/referrals/deadlines.h
//
// The legal durations of the victim-status procedure (DOMAIN.md §1) as configuration with the
// legal defaults, and the firing plan of each deadline kind:
//
//   kind                 period                      fires at (stage)
//   CENTRE_RESPONSE      24 h                         due ("overdue")
//   REFLECTION_END       45 days (minors: 3 months)   due - 5 days ("reminder"), due ("due")
//   ATTESTATION_EXPIRY   3 months (max)               due - 14 days ("reminder"), due ("expired")
//   CERTIFICATE_EXPIRY   6 months (renewable)         due - 14 days ("reminder"), due ("expired")
//
// A reminder whose time is already in the past is dropped. Pure: no clock, no I/O.
#pragma once

#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace concord::referrals {

struct DeadlineConfig {  // legal defaults; configurable
  absl::Duration centre_response = absl::Hours(24);
  absl::Duration reflection = absl::Hours(24 * 45);
  absl::Duration minor_reflection = absl::Hours(24 * 90);    // "3-month document" for minors
  absl::Duration attestation = absl::Hours(24 * 90);         // max 3 months
  absl::Duration certificate = absl::Hours(24 * 180);        // 6 months, renewable
  absl::Duration reflection_reminder = absl::Hours(24 * 5);  // "reflection ends in 5 days"
  absl::Duration document_reminder = absl::Hours(24 * 14);   // "document expires in 14 days"

  /// OK when every duration is > 0 and each reminder is shorter than every period it applies to
  /// (reflection_reminder < reflection, minor_reflection; document_reminder < attestation,
  /// certificate). INVALID_ARGUMENT naming the field otherwise.
  Status Validate() const;
};

struct DeadlineStart {
  v1::DeadlineKind kind = v1::DEADLINE_KIND_UNSPECIFIED;
  absl::Time due;
  std::vector<absl::Time> fire_at;  // reminder (if any) then due; ascending
};

/// "centre_response", "reflection_end", "attestation_expiry", "certificate_expiry"
/// ("unspecified" otherwise).
std::string_view DeadlineKindName(v1::DeadlineKind kind);

/// The period of `kind` under `config`; `minor` selects the 3-month reflection document.
/// Zero for UNSPECIFIED.
absl::Duration DeadlinePeriod(v1::DeadlineKind kind, bool minor, const DeadlineConfig& config);

/// The reminder lead time of `kind` (zero for CENTRE_RESPONSE, which only fires when overdue).
absl::Duration ReminderLead(v1::DeadlineKind kind, const DeadlineConfig& config);

/// A deadline of `kind` started at `now`: due = now + DeadlinePeriod(kind, minor), fire_at as in
/// the file comment (a reminder at or before `now` is dropped).
DeadlineStart StartDeadline(v1::DeadlineKind kind, absl::Time now, bool minor,
                            const DeadlineConfig& config);

/// The same plan for an explicit due time (used when a deadline is re-planned).
DeadlineStart PlanDeadline(v1::DeadlineKind kind, absl::Time now, absl::Time due,
                           const DeadlineConfig& config);

/// absl::Time <-> google.protobuf.Timestamp (floor to whole nanoseconds).
google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);

/// The stage name of a firing: "reminder" when fire_at < due, else the kind's final stage
/// ("overdue" for CENTRE_RESPONSE, "due" for REFLECTION_END, "expired" for the documents).
std::string_view DeadlineStage(v1::DeadlineKind kind, absl::Time fire_at, absl::Time due);

}  // namespace concord::referrals
