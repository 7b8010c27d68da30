#include "services/referrals/deadlines.h"

#include <cstdint>
#include <string>

namespace concord::referrals {
namespace {

void Positive(absl::Duration d, std::string_view field, FieldErrors& errors) {
  if (d <= absl::ZeroDuration()) errors.Add(std::string(field), "must be greater than zero");
}

void Shorter(absl::Duration reminder, std::string_view reminder_field, absl::Duration period,
             std::string_view period_field, FieldErrors& errors) {
  if (reminder >= period) {
    errors.Add(std::string(reminder_field), "must be shorter than " + std::string(period_field));
  }
}

}  // namespace

Status DeadlineConfig::Validate() const {
  FieldErrors errors;
  Positive(centre_response, "centre_response", errors);
  Positive(reflection, "reflection", errors);
  Positive(minor_reflection, "minor_reflection", errors);
  Positive(attestation, "attestation", errors);
  Positive(certificate, "certificate", errors);
  Positive(reflection_reminder, "reflection_reminder", errors);
  Positive(document_reminder, "document_reminder", errors);
  Shorter(reflection_reminder, "reflection_reminder", reflection, "reflection", errors);
  Shorter(reflection_reminder, "reflection_reminder", minor_reflection, "minor_reflection", errors);
  Shorter(document_reminder, "document_reminder", attestation, "attestation", errors);
  Shorter(document_reminder, "document_reminder", certificate, "certificate", errors);
  return errors.ToStatus("invalid referral deadline configuration");
}

std::string_view DeadlineKindName(v1::DeadlineKind kind) {
  switch (kind) {
    case v1::DEADLINE_KIND_CENTRE_RESPONSE:
      return "centre_response";
    case v1::DEADLINE_KIND_REFLECTION_END:
      return "reflection_end";
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
      return "attestation_expiry";
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return "certificate_expiry";
    default:
      return "unspecified";
  }
}

absl::Duration DeadlinePeriod(v1::DeadlineKind kind, bool minor, const DeadlineConfig& config) {
  switch (kind) {
    case v1::DEADLINE_KIND_CENTRE_RESPONSE:
      return config.centre_response;
    case v1::DEADLINE_KIND_REFLECTION_END:
      return minor ? config.minor_reflection : config.reflection;
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
      return config.attestation;
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return config.certificate;
    default:
      return absl::ZeroDuration();
  }
}

absl::Duration ReminderLead(v1::DeadlineKind kind, const DeadlineConfig& config) {
  switch (kind) {
    case v1::DEADLINE_KIND_REFLECTION_END:
      return config.reflection_reminder;
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return config.document_reminder;
    default:
      return absl::ZeroDuration();
  }
}

DeadlineStart PlanDeadline(v1::DeadlineKind kind, absl::Time now, absl::Time due,
                           const DeadlineConfig& config) {
  DeadlineStart start;
  start.kind = kind;
  start.due = due;
  const absl::Duration lead = ReminderLead(kind, config);
  if (lead > absl::ZeroDuration()) {
    const absl::Time reminder = due - lead;
    if (reminder > now) start.fire_at.push_back(reminder);
  }
  start.fire_at.push_back(due);
  return start;
}

DeadlineStart StartDeadline(v1::DeadlineKind kind, absl::Time now, bool minor,
                            const DeadlineConfig& config) {
  return PlanDeadline(kind, now, now + DeadlinePeriod(kind, minor, config), config);
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(t);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return out;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string_view DeadlineStage(v1::DeadlineKind kind, absl::Time fire_at, absl::Time due) {
  if (fire_at < due) return "reminder";
  switch (kind) {
    case v1::DEADLINE_KIND_CENTRE_RESPONSE:
      return "overdue";
    case v1::DEADLINE_KIND_REFLECTION_END:
      return "due";
    default:
      return "expired";
  }
}

}  // namespace concord::referrals
