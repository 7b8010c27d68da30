#include "services/referrals/deadlines.h"

#include <cstdint>
#include <string>

namespace concord::referrals {
namespace {

// The shortest length in days a period can have (a month: 28 days).
int64_t MinDays(const Period& p) {
  switch (p.unit) {
    case Period::Unit::kHours:
      return p.count / 24;
    case Period::Unit::kDays:
      return p.count;
    case Period::Unit::kMonths:
      return p.count * 28;
  }
  return 0;
}

void Positive(const Period& p, Period::Unit unit, std::string_view field, FieldErrors& errors) {
  if (p.unit != unit || p.count <= 0) {
    errors.Add(std::string(field),
               "must be a positive number of " + Period{unit, 2}.ToString().substr(2));
  }
}

void Shorter(int reminder_days, std::string_view reminder_field, const Period& period,
             std::string_view period_field, FieldErrors& errors) {
  if (reminder_days >= MinDays(period)) {
    errors.Add(std::string(reminder_field), "must be shorter than " + std::string(period_field));
  }
}

std::string_view DocumentWords(v1::DeadlineKind kind) {
  switch (kind) {
    case v1::DEADLINE_KIND_REFLECTION_END:
      return "the reflection document";
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
      return "the attestation of registration";
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return "the certificate of registration";
    default:
      return "the document";
  }
}

}  // namespace

StatusOr<DeadlineConfig> DeadlineConfig::Defaults(std::string_view zone_name) {
  StatusOr<absl::TimeZone> zone = LoadTimeZone(zone_name);
  if (!zone.ok()) return zone.status();
  DeadlineConfig c;
  c.zone = *zone;
  return c;
}

Status DeadlineConfig::Validate() const {
  FieldErrors errors;
  Positive(centre_response, Period::Unit::kHours, "centre_response", errors);
  Positive(reflection, Period::Unit::kDays, "reflection", errors);
  Positive(attestation, Period::Unit::kMonths, "attestation", errors);
  Positive(certificate, Period::Unit::kMonths, "certificate", errors);
  if (reflection_reminder_days <= 0) {
    errors.Add("reflection_reminder_days", "must be greater than zero");
  }
  if (document_reminder_days <= 0)
    errors.Add("document_reminder_days", "must be greater than zero");
  Shorter(reflection_reminder_days, "reflection_reminder_days", reflection, "reflection", errors);
  Shorter(document_reminder_days, "document_reminder_days", attestation, "attestation", errors);
  Shorter(document_reminder_days, "document_reminder_days", certificate, "certificate", errors);
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

Period DeadlinePeriod(v1::DeadlineKind kind, const DeadlineConfig& config) {
  switch (kind) {
    case v1::DEADLINE_KIND_CENTRE_RESPONSE:
      return config.centre_response;
    case v1::DEADLINE_KIND_REFLECTION_END:
      return config.reflection;
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
      return config.attestation;
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return config.certificate;
    default:
      return Period::Hours(0);
  }
}

int ReminderDays(v1::DeadlineKind kind, const DeadlineConfig& config) {
  switch (kind) {
    case v1::DEADLINE_KIND_REFLECTION_END:
      return config.reflection_reminder_days;
    case v1::DEADLINE_KIND_ATTESTATION_EXPIRY:
    case v1::DEADLINE_KIND_CERTIFICATE_EXPIRY:
      return config.document_reminder_days;
    default:
      return 0;
  }
}

DeadlineStart PlanDeadline(v1::DeadlineKind kind, absl::Time now, absl::Time due,
                           const DeadlineConfig& config) {
  DeadlineStart start;
  start.kind = kind;
  start.due = due;
  const int lead = ReminderDays(kind, config);
  if (lead > 0) {
    const absl::CivilDay last = DayIn(due - absl::Nanoseconds(1), config.zone);
    start.last_day = last;
    const absl::Time reminder = EndOfDay(last - lead, config.zone);
    if (reminder > now && reminder < due) start.fire_at.push_back(reminder);
  }
  start.fire_at.push_back(due);
  return start;
}

DeadlineStart PlanDeadlineOn(v1::DeadlineKind kind, absl::Time now, absl::CivilDay last_day,
                             const DeadlineConfig& config) {
  DeadlineStart start = PlanDeadline(kind, now, EndOfDay(last_day, config.zone), config);
  start.last_day = last_day;
  return start;
}

DeadlineStart StartDeadline(v1::DeadlineKind kind, absl::Time now, const DeadlineConfig& config) {
  const Period period = DeadlinePeriod(kind, config);
  const PeriodEnd end = EndOfPeriod(now, period, config.zone);
  if (period.unit == Period::Unit::kHours) return PlanDeadline(kind, now, end.end, config);
  return PlanDeadlineOn(kind, now, end.last_day, config);
}

v1::Deadline DeadlineProto(const DeadlineStart& start) {
  v1::Deadline d;
  d.set_kind(start.kind);
  *d.mutable_due_at() = ToProtoTime(start.due);
  d.set_overdue(false);
  if (start.last_day.has_value()) d.set_last_day(FormatDate(*start.last_day));
  return d;
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
  return kind == v1::DEADLINE_KIND_CENTRE_RESPONSE ? "overdue" : "expired";
}

std::string DeadlineText(v1::DeadlineKind kind, std::string_view stage, absl::Time due,
                         absl::TimeZone zone) {
  const std::string at = FormatLocalTime(due, zone);
  if (kind == v1::DEADLINE_KIND_CENTRE_RESPONSE) {
    return "the receiving centre's answer to the referral is overdue since " + at;
  }
  const std::string last = FormatDate(DayIn(due - absl::Nanoseconds(1), zone));
  const std::string what(DocumentWords(kind));
  if (stage == "reminder") {
    return what + " expires at the end of " + last + " (" + at + ")";
  }
  return what + " expired at the end of " + last + " (" + at + ")";
}

}  // namespace concord::referrals
