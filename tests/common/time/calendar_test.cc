// Tests of common/time/calendar.h: calendar months and days ending at the end of the last day in
// Europe/Brussels, daylight saving time included; hours as plain durations.
#include "common/time/calendar.h"

#include <gtest/gtest.h>

namespace concord {
namespace {

absl::TimeZone Brussels() {
  StatusOr<absl::TimeZone> zone = LoadTimeZone(kBrusselsTimeZone);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return zone.ok() ? *zone : absl::UTCTimeZone();
}

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone());
}

absl::Time Local(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), Brussels());
}

TEST(Calendar, MonthEndIsClampedToTheLastDayOfAShorterMonth) {
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2025, 1, 31), 1), absl::CivilDay(2025, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2025, 1, 30), 1), absl::CivilDay(2025, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2025, 3, 31), 1), absl::CivilDay(2025, 4, 30));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2026, 11, 30), 3), absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2026, 8, 31), 6), absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2026, 1, 15), 3), absl::CivilDay(2026, 4, 15));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2026, 12, 31), 1), absl::CivilDay(2027, 1, 31));
}

TEST(Calendar, ThirtyFirstOfJanuaryPlusOneMonthEndsAtTheEndOfFebruary) {
  const PeriodEnd end = EndOfPeriod(Local(2025, 1, 31, 10), Period::Months(1), Brussels());
  EXPECT_EQ(end.last_day, absl::CivilDay(2025, 2, 28));
  EXPECT_EQ(end.end, Local(2025, 3, 1, 0));
  EXPECT_EQ(FormatLocalTime(end.end, Brussels()), "2025-03-01T00:00:00+01:00");
}

TEST(Calendar, LeapYears) {
  // 2024 is a leap year, 2100 is not, 2000 was.
  EXPECT_EQ(EndOfPeriod(Local(2024, 1, 31, 9), Period::Months(1), Brussels()).last_day,
            absl::CivilDay(2024, 2, 29));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2024, 2, 29), 12), absl::CivilDay(2025, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(2099, 11, 30), 3), absl::CivilDay(2100, 2, 28));
  EXPECT_EQ(AddMonthsClamped(absl::CivilDay(1999, 11, 30), 3), absl::CivilDay(2000, 2, 29));
  // 45 calendar days across 29 February.
  EXPECT_EQ(EndOfPeriod(Local(2024, 2, 1, 9), Period::Days(45), Brussels()).last_day,
            absl::CivilDay(2024, 3, 17));
  EXPECT_EQ(EndOfPeriod(Local(2025, 2, 1, 9), Period::Days(45), Brussels()).last_day,
            absl::CivilDay(2025, 3, 18));
}

TEST(Calendar, DaysEndAtTheEndOfTheLastDayInBrusselsNotAfterNTimes24Hours) {
  // Issued on 1 January 2026 at 10:00 (09:00 UTC): 45 days, last day 15 February, expired from
  // 16 February 00:00 Brussels time (15 February 23:00 UTC).
  const PeriodEnd end = EndOfPeriod(Local(2026, 1, 1, 10), Period::Days(45), Brussels());
  EXPECT_EQ(end.last_day, absl::CivilDay(2026, 2, 15));
  EXPECT_EQ(end.end, Utc(2026, 2, 15, 23));
  EXPECT_NE(end.end, Local(2026, 1, 1, 10) + absl::Hours(24 * 45));
}

TEST(Calendar, TheDayIsTheDayInBrusselsNotInUtc) {
  // 31 January 23:30 UTC is already 1 February in Brussels.
  const PeriodEnd end = EndOfPeriod(Utc(2026, 1, 31, 23, 30), Period::Months(1), Brussels());
  EXPECT_EQ(end.last_day, absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(DayIn(Utc(2026, 1, 31, 23, 30), Brussels()), absl::CivilDay(2026, 2, 1));
  EXPECT_EQ(DayIn(Utc(2026, 1, 31, 23, 30), absl::UTCTimeZone()), absl::CivilDay(2026, 1, 31));
}

TEST(Calendar, SpringDaylightSavingChange) {
  // Brussels moves from +01:00 to +02:00 on 29 March 2026 at 02:00.
  const PeriodEnd end = EndOfPeriod(Local(2026, 3, 1, 10), Period::Days(45), Brussels());
  EXPECT_EQ(end.last_day, absl::CivilDay(2026, 4, 15));
  EXPECT_EQ(end.end, Utc(2026, 4, 15, 22));
  EXPECT_EQ(FormatLocalTime(end.end, Brussels()), "2026-04-16T00:00:00+02:00");
  // The day of the change itself is 23 hours long: a period whose last day it is ends at 22:00 UTC.
  const PeriodEnd on_change = EndOfPeriod(Local(2026, 3, 28, 12), Period::Days(1), Brussels());
  EXPECT_EQ(on_change.last_day, absl::CivilDay(2026, 3, 29));
  EXPECT_EQ(on_change.end, Utc(2026, 3, 29, 22));
  EXPECT_EQ(EndOfDay(absl::CivilDay(2026, 3, 29), Brussels()) -
                EndOfDay(absl::CivilDay(2026, 3, 28), Brussels()),
            absl::Hours(23));
}

TEST(Calendar, AutumnDaylightSavingChange) {
  // Brussels moves from +02:00 to +01:00 on 25 October 2026 at 03:00.
  const PeriodEnd end = EndOfPeriod(Local(2026, 10, 1, 12), Period::Months(1), Brussels());
  EXPECT_EQ(end.last_day, absl::CivilDay(2026, 11, 1));
  EXPECT_EQ(end.end, Utc(2026, 11, 1, 23));
  EXPECT_EQ(FormatLocalTime(end.end, Brussels()), "2026-11-02T00:00:00+01:00");
  EXPECT_EQ(EndOfDay(absl::CivilDay(2026, 10, 25), Brussels()) -
                EndOfDay(absl::CivilDay(2026, 10, 24), Brussels()),
            absl::Hours(25));
  EXPECT_EQ(FormatLocalTime(Utc(2026, 10, 24, 12), Brussels()), "2026-10-24T14:00:00+02:00");
}

TEST(Calendar, HoursAreAPlainDurationAcrossAChange) {
  const absl::Time start = Utc(2026, 3, 28, 12);
  const PeriodEnd end = EndOfPeriod(start, Period::Hours(24), Brussels());
  EXPECT_EQ(end.end, start + absl::Hours(24));
  EXPECT_EQ(end.last_day, absl::CivilDay(2026, 3, 29));
  EXPECT_EQ(EndOfPeriod(start, Period::Hours(8), Brussels()).end, start + absl::Hours(8));
}

TEST(Calendar, ARenewalExtendsFromTheCurrentExpiry) {
  const PeriodEnd renewed =
      ExtendPeriod(absl::CivilDay(2026, 7, 14), Period::Months(6), Brussels());
  EXPECT_EQ(renewed.last_day, absl::CivilDay(2027, 1, 14));
  EXPECT_EQ(renewed.end, Local(2027, 1, 15, 0));
  EXPECT_EQ(ExtendPeriod(absl::CivilDay(2026, 8, 31), Period::Months(6), Brussels()).last_day,
            absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(ExtendPeriod(absl::CivilDay(2026, 12, 30), Period::Days(5), Brussels()).last_day,
            absl::CivilDay(2027, 1, 4));
}

TEST(Calendar, AnUnknownZoneIsRefusedNotReplacedByUtc) {
  EXPECT_TRUE(LoadTimeZone("Europe/Brussels").ok());
  for (std::string_view name : {"Mars/Olympus_Mons", "", "Europe/Bruxelles"}) {
    StatusOr<absl::TimeZone> zone = LoadTimeZone(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(zone.status().message().find("tzdata"), std::string_view::npos);
  }
}

TEST(Calendar, DatesAreIsoCalendarDates) {
  EXPECT_EQ(FormatDate(absl::CivilDay(2026, 4, 5)), "2026-04-05");
  ASSERT_TRUE(ParseDate("2024-02-29").ok());
  EXPECT_EQ(*ParseDate("2024-02-29"), absl::CivilDay(2024, 2, 29));
  for (std::string_view bad : {"2026-02-30", "2025-02-29", "2026-2-3", "2026/02/03", "20260203",
                               "2026-13-01", "", "2026-02-03T00:00:00Z", "1800-01-01"}) {
    EXPECT_FALSE(ParseDate(bad).ok()) << bad;
  }
}

TEST(Calendar, PeriodsSayWhatTheyAre) {
  EXPECT_EQ(Period::Hours(24).ToString(), "24 hours");
  EXPECT_EQ(Period::Days(45).ToString(), "45 days");
  EXPECT_EQ(Period::Months(1).ToString(), "1 month");
  EXPECT_EQ(Period::Months(6).ToString(), "6 months");
}

}  // namespace
}  // namespace concord
