// Tests of services/referrals/deadlines.h: the procedure's periods counted the way the documents
// print them (calendar days and months ending at the end of the last day in Europe/Brussels,
// daylight saving included), on an injected clock.
#include "services/referrals/deadlines.h"

#include <string>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

DeadlineConfig Brussels() {
  StatusOr<DeadlineConfig> c = DeadlineConfig::Defaults();
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : DeadlineConfig{};
}

// A local time in Brussels.
absl::Time At(int y, int m, int d, int hh = 12, int mm = 0) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), Brussels().zone);
}

TEST(DeadlineConfig, LegalDefaults) {
  const DeadlineConfig c = Brussels();
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.centre_response, Period::Hours(24));
  EXPECT_EQ(c.reflection, Period::Days(45));
  EXPECT_EQ(c.attestation, Period::Months(3));
  EXPECT_EQ(c.certificate, Period::Months(6));
  EXPECT_EQ(c.zone.name(), "Europe/Brussels");
}

TEST(DeadlineConfig, UnknownZoneIsRefused) {
  EXPECT_EQ(DeadlineConfig::Defaults("Europe/Atlantis").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(DeadlineConfig, ValidateNamesTheField) {
  DeadlineConfig c = Brussels();
  c.centre_response = Period::Hours(0);
  c.attestation = Period::Days(90);  // months, not days
  c.document_reminder_days = 200;    // longer than the certificate
  const Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("centre_response", "attestation", "document_reminder_days",
                                  "document_reminder_days"));
}

TEST(StartDeadline, CentreResponseIsHoursAndOverdue) {
  const DeadlineConfig c = Brussels();
  const DeadlineStart d = StartDeadline(v1::DEADLINE_KIND_CENTRE_RESPONSE, T0(), c);
  EXPECT_EQ(d.due, T0() + absl::Hours(24));
  EXPECT_THAT(d.fire_at, ElementsAre(T0() + absl::Hours(24)));
  EXPECT_FALSE(d.last_day.has_value());
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[0], d.due), "overdue");
}

// 45 calendar days; the reminder when 5 days are left; "expired" at the end of the last day.
TEST(StartDeadline, ReflectionIsCalendarDays) {
  const DeadlineConfig c = Brussels();
  const DeadlineStart d = StartDeadline(v1::DEADLINE_KIND_REFLECTION_END, At(2026, 1, 10), c);
  ASSERT_TRUE(d.last_day.has_value());
  EXPECT_EQ(*d.last_day, absl::CivilDay(2026, 2, 24));
  EXPECT_EQ(d.due, At(2026, 2, 25, 0, 0));
  EXPECT_THAT(d.fire_at, ElementsAre(At(2026, 2, 20, 0, 0), At(2026, 2, 25, 0, 0)));
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[0], d.due), "reminder");
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[1], d.due), "expired");
}

// 31 January + 1 month is the last day of February; in a leap year the 29th.
TEST(StartDeadline, MonthEndsAndLeapYears) {
  DeadlineConfig c = Brussels();
  c.attestation = Period::Months(1);
  c.document_reminder_days = 14;
  EXPECT_EQ(*StartDeadline(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, At(2026, 1, 31), c).last_day,
            absl::CivilDay(2026, 2, 28));
  EXPECT_EQ(*StartDeadline(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, At(2028, 1, 31), c).last_day,
            absl::CivilDay(2028, 2, 29));
  c = Brussels();
  // 3 months from 30 November: 28 February (2027) / 29 February (2028, leap).
  EXPECT_EQ(*StartDeadline(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, At(2026, 11, 30), c).last_day,
            absl::CivilDay(2027, 2, 28));
  EXPECT_EQ(*StartDeadline(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, At(2027, 11, 30), c).last_day,
            absl::CivilDay(2028, 2, 29));
  // 6 months from 31 August: 28 February.
  EXPECT_EQ(*StartDeadline(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY, At(2026, 8, 31), c).last_day,
            absl::CivilDay(2027, 2, 28));
}

// The period ends at local midnight, whatever the UTC offset: across the spring change (29 March
// 2026) the period is one hour shorter than the same count of 24-hour days; across the autumn
// change (25 October 2026) one hour longer. The day of the start is not counted: 1 March + 45
// days = 15 April, ending at the start of 16 April.
TEST(StartDeadline, BothDaylightSavingChanges) {
  const DeadlineConfig c = Brussels();
  const absl::Time spring_start = At(2026, 3, 1, 0, 0);  // UTC+1
  const DeadlineStart spring = StartDeadline(v1::DEADLINE_KIND_REFLECTION_END, spring_start, c);
  EXPECT_EQ(*spring.last_day, absl::CivilDay(2026, 4, 15));
  EXPECT_EQ(spring.due - spring_start, absl::Hours(46 * 24 - 1));
  EXPECT_EQ(FormatLocalTime(spring.due, c.zone), "2026-04-16T00:00:00+02:00");

  const absl::Time autumn_start = At(2026, 10, 1, 0, 0);  // UTC+2
  const DeadlineStart autumn = StartDeadline(v1::DEADLINE_KIND_REFLECTION_END, autumn_start, c);
  EXPECT_EQ(*autumn.last_day, absl::CivilDay(2026, 11, 15));
  EXPECT_EQ(autumn.due - autumn_start, absl::Hours(46 * 24 + 1));
  EXPECT_EQ(FormatLocalTime(autumn.due, c.zone), "2026-11-16T00:00:00+01:00");
}

TEST(PlanDeadlineOn, ThePrintedDateWinsAndAPastReminderIsDropped) {
  const DeadlineConfig c = Brussels();
  const DeadlineStart d = PlanDeadlineOn(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, At(2026, 1, 10),
                                         absl::CivilDay(2026, 1, 20), c);
  EXPECT_EQ(*d.last_day, absl::CivilDay(2026, 1, 20));
  EXPECT_THAT(d.fire_at, ElementsAre(At(2026, 1, 21, 0, 0)));
  const v1::Deadline proto = DeadlineProto(d);
  EXPECT_EQ(proto.last_day(), "2026-01-20");
  EXPECT_EQ(FromProtoTime(proto.due_at()), At(2026, 1, 21, 0, 0));
}

// Notification texts: times in Europe/Brussels with the offset; "overdue" for a missed action,
// "expires"/"expired" for documents.
TEST(DeadlineText, BrusselsTimesOverdueAndExpires) {
  const DeadlineConfig c = Brussels();
  EXPECT_EQ(
      DeadlineText(v1::DEADLINE_KIND_CENTRE_RESPONSE, "overdue", At(2026, 1, 2, 10, 0), c.zone),
      "the receiving centre's answer to the referral is overdue since "
      "2026-01-02T10:00:00+01:00");
  EXPECT_EQ(
      DeadlineText(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, "reminder", At(2026, 4, 16, 0, 0), c.zone),
      "the attestation of registration expires at the end of 2026-04-15 "
      "(2026-04-16T00:00:00+02:00)");
  EXPECT_EQ(
      DeadlineText(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY, "expired", At(2026, 12, 1, 0, 0), c.zone),
      "the certificate of registration expired at the end of 2026-11-30 "
      "(2026-12-01T00:00:00+01:00)");
}

TEST(DeadlineKindName, Names) {
  EXPECT_EQ(DeadlineKindName(v1::DEADLINE_KIND_CENTRE_RESPONSE), "centre_response");
  EXPECT_EQ(DeadlineKindName(v1::DEADLINE_KIND_REFLECTION_END), "reflection_end");
  EXPECT_EQ(DeadlineKindName(v1::DEADLINE_KIND_ATTESTATION_EXPIRY), "attestation_expiry");
  EXPECT_EQ(DeadlineKindName(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY), "certificate_expiry");
}

TEST(ProtoTime, RoundTrips) {
  const absl::Time t = T0() + absl::Nanoseconds(123456789);
  EXPECT_EQ(FromProtoTime(ToProtoTime(t)), t);
  EXPECT_EQ(ToProtoTime(t).nanos(), 123456789);
}

}  // namespace
}  // namespace concord::referrals
