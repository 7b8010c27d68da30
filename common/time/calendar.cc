// File: common/time/calendar.cc
#include "common/time/calendar.h"

#include <cstdio>

namespace concord {

std::string Period::ToString() const {
  std::string unit;
  switch (this->unit) {
    case Unit::kHours:
      unit = count == 1 ? "hour" : "hours";
      break;
    case Unit::kDays:
      unit = count == 1 ? "day" : "days";
      break;
    case Unit::kMonths:
      unit = count == 1 ? "month" : "months";
      break;
  }
  return std::to_string(count) + " " + unit;
}

StatusOr<absl::TimeZone> LoadTimeZone(std::string_view name) {
  absl::TimeZone zone;
  // absl::LoadTimeZone answers false AND leaves `zone` at UTC when the zone is unknown (or the tz
  // database missing): legal days would silently end at midnight UTC.
  if (name.empty() || !absl::LoadTimeZone(std::string(name), &zone)) {
    return absl::FailedPreconditionError(
        "time zone \"" + std::string(name) +
        "\" is not in this host's tz database (install the tzdata package): legal periods "
        "end at the end of a day in that zone and cannot be counted without it");
  }
  return zone;
}

absl::CivilDay AddMonthsClamped(absl::CivilDay day, int64_t months) {
  const absl::CivilMonth target = absl::CivilMonth(day) + months;
  const absl::CivilDay first = absl::CivilDay(target);
  const int last_of_month = static_cast<int>(absl::CivilDay(target + 1) - first);
  const int dom = day.day() < last_of_month ? day.day() : last_of_month;
  return first + (dom - 1);
}

absl::Time EndOfDay(absl::CivilDay day, absl::TimeZone zone) {
  // The first instant of the next day. Where midnight is skipped by a DST change, FromCivil
  // gives the first instant that exists after it.
  return absl::FromCivil(absl::CivilSecond(day + 1), zone);
}

absl::CivilDay DayIn(absl::Time t, absl::TimeZone zone) { return absl::ToCivilDay(t, zone); }

PeriodEnd ExtendPeriod(absl::CivilDay last_day, Period period, absl::TimeZone zone) {
  switch (period.unit) {
    case Period::Unit::kHours: {
      const absl::Time end = EndOfDay(last_day, zone) + absl::Hours(period.count);
      return {end, DayIn(end - absl::Nanoseconds(1), zone)};
    }
    case Period::Unit::kDays: {
      const absl::CivilDay last = last_day + period.count;
      return {EndOfDay(last, zone), last};
    }
    case Period::Unit::kMonths: {
      const absl::CivilDay last = AddMonthsClamped(last_day, period.count);
      return {EndOfDay(last, zone), last};
    }
  }
  return {EndOfDay(last_day, zone), last_day};
}

PeriodEnd EndOfPeriod(absl::Time start, Period period, absl::TimeZone zone) {
  if (period.unit == Period::Unit::kHours) {
    const absl::Time end = start + absl::Hours(period.count);
    return {end, DayIn(end - absl::Nanoseconds(1), zone)};
  }
  return ExtendPeriod(DayIn(start, zone), period, zone);
}

std::string FormatDate(absl::CivilDay day) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", static_cast<int>(day.year()), day.month(),
                day.day());
  return buf;
}

StatusOr<absl::CivilDay> ParseDate(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentWithFields("invalid date", {{"date", "must be a date YYYY-MM-DD"}});
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = 0; j < lengths[i]; ++j) {
      const char c = text[starts[i] + j];
      if (c < '0' || c > '9') return bad();
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  const absl::CivilDay day(parts[0], parts[1], parts[2]);
  // CivilDay normalises (2026-02-30 -> 2026-03-02): a date that does not exist is refused.
  if (day.year() != parts[0] || day.month() != parts[1] || day.day() != parts[2] ||
      parts[0] < 1900) {
    return bad();
  }
  return day;
}

std::string FormatLocalTime(absl::Time t, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::FromUnixSeconds(absl::ToUnixSeconds(t)),
                          zone);
}

}  // namespace concord
