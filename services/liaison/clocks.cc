#include "services/liaison/clocks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace concord::liaison {
namespace {

struct Named {
  v1::ClockKind kind;
  std::string_view name;
};
constexpr Named kNames[] = {
    {v1::CLOCK_KIND_ACKNOWLEDGEMENT, "acknowledgement"},
    {v1::CLOCK_KIND_RECOGNITION, "recognition"},
    {v1::CLOCK_KIND_EXECUTION, "execution"},
    {v1::CLOCK_KIND_RESPONSE, "response"},
    {v1::CLOCK_KIND_PRODUCTION, "production"},
    {v1::CLOCK_KIND_PRESERVATION, "preservation"},
    {v1::CLOCK_KIND_FOLLOW_UP, "follow_up"},
};

std::string Flag(std::string_view member) {
  std::string flag = "--liaison-" + std::string(member);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

}  // namespace

Status ClockConfig::Validate() const {
  FieldErrors errors;
  auto days = [&](std::string_view name, int v, int max) {
    if (v < 1 || v > max)
      errors.Add(Flag(std::string(name)), absl::StrCat("must be 1..", max, ", got ", v));
  };
  days("eio_acknowledgement_days", eio_acknowledgement_days, 3650);
  days("eio_recognition_days", eio_recognition_days, 3650);
  days("eio_recognition_extension_max_days", eio_recognition_extension_max_days, 365);
  days("eio_execution_days", eio_execution_days, 3650);
  days("spoc_urgent_direct_hours", spoc_urgent_direct_hours, 720);
  days("spoc_urgent_indirect_days", spoc_urgent_indirect_days, 3650);
  days("spoc_standard_days", spoc_standard_days, 3650);
  days("production_days", production_days, 3650);
  days("production_emergency_hours", production_emergency_hours, 720);
  days("preservation_days", preservation_days, 3650);
  days("preservation_extension_max_days", preservation_extension_max_days, 365);
  days("reminder_lead_hours", reminder_lead_hours, 720);
  days("short_reminder_lead_hours", short_reminder_lead_hours, 720);
  if (short_reminder_lead_hours >= std::min(spoc_urgent_direct_hours, production_emergency_hours)) {
    errors.Add(Flag("short_reminder_lead_hours"),
               "must be shorter than every clock counted in hours");
  }
  const int shortest_days =
      std::min({eio_acknowledgement_days, eio_recognition_days, eio_execution_days,
                spoc_urgent_indirect_days, spoc_standard_days, production_days, preservation_days});
  if (reminder_lead_hours >= 24 * shortest_days) {
    errors.Add(Flag("reminder_lead_hours"), "must be shorter than every clock counted in days");
  }
  return errors.ToStatus("invalid liaison clock configuration");
}

std::string ClockKindName(v1::ClockKind kind) {
  for (const Named& n : kNames) {
    if (n.kind == kind) return std::string(n.name);
  }
  return "unspecified";
}

v1::ClockKind ClockKindFromName(std::string_view name) {
  for (const Named& n : kNames) {
    if (n.name == name) return n.kind;
  }
  return v1::CLOCK_KIND_UNSPECIFIED;
}

Period PeriodOf(v1::ClockKind kind, const v1::Request& request, const ClockConfig& c) {
  switch (kind) {
    case v1::CLOCK_KIND_ACKNOWLEDGEMENT:
      return Period::Days(c.eio_acknowledgement_days);
    case v1::CLOCK_KIND_RECOGNITION:
      return Period::Days(c.eio_recognition_days);
    case v1::CLOCK_KIND_EXECUTION:
      return Period::Days(c.eio_execution_days);
    case v1::CLOCK_KIND_RESPONSE:
      switch (request.urgency()) {
        case v1::URGENCY_URGENT_DIRECT:
          return Period::Hours(c.spoc_urgent_direct_hours);
        case v1::URGENCY_URGENT_INDIRECT:
          return Period::Days(c.spoc_urgent_indirect_days);
        default:
          return Period::Days(c.spoc_standard_days);
      }
    case v1::CLOCK_KIND_PRODUCTION:
      return request.emergency() ? Period::Hours(c.production_emergency_hours)
                                 : Period::Days(c.production_days);
    case v1::CLOCK_KIND_PRESERVATION:
      return Period::Days(c.preservation_days);
    default:
      return Period::Days(0);
  }
}

v1::Clock StartClock(v1::ClockKind kind, const v1::Request& request, absl::Time start,
                     const absl::TimeZone& zone, std::string_view zone_name,
                     const DeadlineCalendar& calendar, const ClockConfig& config) {
  const Period period = PeriodOf(kind, request, config);
  v1::Clock clock;
  clock.set_kind(kind);
  clock.set_time_zone(std::string(zone_name));
  *clock.mutable_started_at() = ToProtoTime(start);
  if (period.unit == Period::Unit::kHours) {
    clock.set_period_hours(period.count);
  } else {
    clock.set_period_days(period.count);
  }
  *clock.mutable_due_at() = ToProtoTime(calendar.Due(start, period, zone));
  return clock;
}

v1::Clock FollowUpClock(absl::Time at, std::string_view zone_name) {
  v1::Clock clock;
  clock.set_kind(v1::CLOCK_KIND_FOLLOW_UP);
  clock.set_time_zone(std::string(zone_name));
  *clock.mutable_due_at() = ToProtoTime(at);
  return clock;
}

v1::Clock ExtendClock(const v1::Clock& clock, int days, const absl::TimeZone& zone,
                      const DeadlineCalendar& calendar) {
  v1::Clock next = clock;
  next.set_period_days(clock.period_days() + days);
  next.set_extended(true);
  *next.mutable_due_at() = ToProtoTime(
      calendar.Due(FromProtoTime(clock.started_at()), Period::Days(next.period_days()), zone));
  return next;
}

std::vector<Firing> FiringPlan(const v1::Clock& clock, absl::Time now, const ClockConfig& config) {
  const absl::Time due = FromProtoTime(clock.due_at());
  if (clock.kind() == v1::CLOCK_KIND_FOLLOW_UP) return {{due, "follow_up"}};
  const absl::Duration lead = absl::Hours(
      clock.period_hours() > 0 ? config.short_reminder_lead_hours : config.reminder_lead_hours);
  std::vector<Firing> plan;
  if (due - lead > now) plan.push_back({due - lead, "reminder"});
  plan.push_back({due, "overdue"});
  return plan;
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t ns = absl::ToUnixNanos(t);
  ts.set_seconds(ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000);
  ts.set_nanos(static_cast<int32_t>(ns - ts.seconds() * 1000000000));
  return ts;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace concord::liaison
