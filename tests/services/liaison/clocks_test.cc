// Unit tests of the liaison clocks (services/liaison/clocks.h, requests.h): which period, from
// which start, in which zone each clock runs, when it is due (counted by common/time/calendar.h:
// hours exact, days ending at the end of the last day in the executor's zone, daylight saving
// included) and what the firings are. T0 is Thursday 2026-10-01 10:00 in Brussels (CEST).
#include "services/liaison/clocks.h"

#include <gtest/gtest.h>

#include "tests/services/liaison/liaison_test_util.h"

namespace concord::liaison {
namespace {

using namespace testing;  // NOLINT

const v1::Clock* ClockOf(const v1::Request& r, v1::ClockKind kind) {
  for (const v1::Clock& c : r.clocks()) {
    if (c.kind() == kind) return &c;
  }
  return nullptr;
}

// Test the 8-hour emergency production order: an exact 8-hour clock, an urgent alert at once,
// a reminder 2 hours before and an overdue alert at the due time.
TEST(LiaisonClocks, EmergencyProductionOrderIsEightHours) {
  v1::CreateRequestRequest req = ValidCreate(v1::REQUEST_TYPE_PRODUCTION_ORDER, Platform());
  req.set_emergency(true);
  auto out = Issue(req, Context(Judge(), Platform()), ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  const v1::Clock* c = ClockOf(out->next, v1::CLOCK_KIND_PRODUCTION);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(FromProtoTime(c->due_at()), T0() + absl::Hours(8));
  EXPECT_EQ(c->period_hours(), 8);
  EXPECT_TRUE(out->urgent);
  const auto plan = FiringPlan(*c, T0(), ClockConfig{});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].at, T0() + absl::Hours(6));
  EXPECT_EQ(plan[0].stage, "reminder");
  EXPECT_EQ(plan[1].at, T0() + absl::Hours(8));
  EXPECT_EQ(plan[1].stage, "overdue");
  // Not an emergency: 10 calendar days, no urgent alert.
  req.set_emergency(false);
  out = Issue(req, Context(Judge(), Platform()), ClockConfig{});
  ASSERT_TRUE(out.ok());
  c = ClockOf(out->next, v1::CLOCK_KIND_PRODUCTION);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->period_days(), 10);
  EXPECT_EQ(FromProtoTime(c->due_at()), EndOfBrusselsDay(2026, 10, 11));
  EXPECT_FALSE(out->urgent);
}

// Test the EIO clocks: acknowledgement within 1 week and recognition within 30 days of
// receipt, both in the executing authority's zone; acknowledging stops the first.
TEST(LiaisonClocks, EioAcknowledgementWeekAndRecognitionThirtyDays) {
  auto out =
      Issue(ValidCreate(v1::REQUEST_TYPE_EIO, Judge()), Context(Partner(), Judge()), ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->next.clocks_size(), 2);
  const v1::Clock* ack = ClockOf(out->next, v1::CLOCK_KIND_ACKNOWLEDGEMENT);
  const v1::Clock* recognition = ClockOf(out->next, v1::CLOCK_KIND_RECOGNITION);
  ASSERT_NE(ack, nullptr);
  ASSERT_NE(recognition, nullptr);
  EXPECT_EQ(ack->period_days(), 7);
  EXPECT_EQ(recognition->period_days(), 30);
  EXPECT_EQ(ack->time_zone(), "Europe/Brussels");
  EXPECT_EQ(out->next.executor_time_zone(), "Europe/Brussels");
  // Thursday 1 October + 7 days: the end of Thursday 8 October in Brussels (22:00 UTC, CEST).
  EXPECT_EQ(FromProtoTime(ack->due_at()), At("2026-10-08T22:00:00Z"));
  // + 30 days: the end of Saturday 31 October, after the autumn change (23:00 UTC, CET).
  EXPECT_EQ(FromProtoTime(recognition->due_at()), At("2026-10-31T23:00:00Z"));
  const v1::Request issued = out->next;
  auto acked = ApplyMove(issued, ValidMove(issued, v1::MOVE_ACKNOWLEDGE), Judge(),
                         T0() + absl::Hours(3), Brussels(), ClockConfig{});
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(ClockOf(acked->next, v1::CLOCK_KIND_ACKNOWLEDGEMENT), nullptr);
  EXPECT_NE(ClockOf(acked->next, v1::CLOCK_KIND_RECOGNITION), nullptr);
}

// Test the extension of the recognition decision: once, by up to 30 days, counted again from
// the receipt (30 + n days from the start), with a reason; a second extension is refused.
TEST(LiaisonClocks, RecognitionExtendedOnceByUpToThirtyDays) {
  auto out =
      Issue(ValidCreate(v1::REQUEST_TYPE_EIO, Judge()), Context(Partner(), Judge()), ClockConfig{});
  ASSERT_TRUE(out.ok());
  v1::Request r = out->next;
  v1::ActRequest extend = ValidMove(r, v1::MOVE_EXTEND_DECISION);
  extend.set_extension_days(31);
  auto refused = ApplyMove(r, extend, Judge(), T0(), Brussels(), ClockConfig{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  extend.set_extension_days(20);
  extend.clear_reason();
  refused = ApplyMove(r, extend, Judge(), T0(), Brussels(), ClockConfig{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);  // a reason is needed
  extend.mutable_reason()->set_code(v1::REASON_CODE_COMPLEXITY);
  auto extended = ApplyMove(r, extend, Judge(), T0() + absl::Hours(24 * 25), Brussels(), {});
  ASSERT_TRUE(extended.ok()) << extended.status();
  const v1::Clock* c = ClockOf(extended->next, v1::CLOCK_KIND_RECOGNITION);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->extended());
  EXPECT_EQ(c->period_days(), 50);
  EXPECT_EQ(FromProtoTime(c->started_at()), T0());
  EXPECT_EQ(FromProtoTime(c->due_at()), EndOfBrusselsDay(2026, 11, 20));
  r = extended->next;
  extend.set_expected_version(r.version());
  auto again = ApplyMove(r, extend, Judge(), T0(), Brussels(), ClockConfig{});
  EXPECT_EQ(ReasonOf(again.status()), "ALREADY_EXTENDED");
  // Recognised: the 90 days of execution start at the decision.
  auto acked =
      ApplyMove(r, ValidMove(r, v1::MOVE_ACKNOWLEDGE), Judge(), T0(), Brussels(), ClockConfig{});
  ASSERT_TRUE(acked.ok());
  const absl::Time decision = T0() + absl::Hours(24 * 40);
  auto recognised = ApplyMove(acked->next, ValidMove(acked->next, v1::MOVE_RECOGNISE), Judge(),
                              decision, Brussels(), ClockConfig{});
  ASSERT_TRUE(recognised.ok()) << recognised.status();
  const v1::Clock* execution = ClockOf(recognised->next, v1::CLOCK_KIND_EXECUTION);
  ASSERT_NE(execution, nullptr);
  EXPECT_EQ(FromProtoTime(execution->started_at()), decision);
  EXPECT_EQ(execution->period_days(), 90);
  EXPECT_EQ(FromProtoTime(execution->due_at()), EndOfBrusselsDay(2027, 2, 8));
  EXPECT_EQ(ClockOf(recognised->next, v1::CLOCK_KIND_RECOGNITION), nullptr);
}

// Test the preservation order: 60 days, extended once by 30 by the issuing authority (not the
// provider); confirming that production follows stops the clock.
TEST(LiaisonClocks, PreservationSixtyDaysExtendedOnceByThirty) {
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_PRESERVATION_ORDER, Platform()),
                   Context(Judge(), Platform(), "prosecutor"), ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ClockOf(out->next, v1::CLOCK_KIND_PRESERVATION)->period_days(), 60);
  EXPECT_EQ(FromProtoTime(ClockOf(out->next, v1::CLOCK_KIND_PRESERVATION)->due_at()),
            EndOfBrusselsDay(2026, 11, 30));
  v1::Request r = out->next;
  auto preserving = ApplyMove(r, ValidMove(r, v1::MOVE_CONFIRM_PRESERVATION), Platform(), T0(),
                              Brussels(), ClockConfig{});
  ASSERT_TRUE(preserving.ok());
  r = preserving->next;
  auto by_platform = ApplyMove(r, ValidMove(r, v1::MOVE_EXTEND_PRESERVATION), Platform(), T0(),
                               Brussels(), ClockConfig{});
  EXPECT_EQ(ReasonOf(by_platform.status()), "WRONG_PARTY");
  auto extended = ApplyMove(r, ValidMove(r, v1::MOVE_EXTEND_PRESERVATION), Judge(),
                            T0() + absl::Hours(24 * 55), Brussels(), ClockConfig{});
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(ClockOf(extended->next, v1::CLOCK_KIND_PRESERVATION)->period_days(), 90);
  EXPECT_EQ(FromProtoTime(ClockOf(extended->next, v1::CLOCK_KIND_PRESERVATION)->started_at()),
            T0());
  EXPECT_EQ(FromProtoTime(ClockOf(extended->next, v1::CLOCK_KIND_PRESERVATION)->due_at()),
            EndOfBrusselsDay(2026, 12, 30));
  r = extended->next;
  auto follows = ApplyMove(r, ValidMove(r, v1::MOVE_CONFIRM_PRODUCTION_FOLLOWS), Judge(), T0(),
                           Brussels(), ClockConfig{});
  ASSERT_TRUE(follows.ok());
  EXPECT_EQ(follows->next.clocks_size(), 0);
  EXPECT_EQ(follows->next.state(), v1::REQUEST_STATE_PRESERVING);
}

// Test the 2023/977 response clocks: 8 hours urgent on directly accessible data, 3 days urgent
// otherwise, 7 days for the rest.
TEST(LiaisonClocks, SpocResponseByUrgency) {
  const std::pair<v1::Urgency, Period> cases[] = {{v1::URGENCY_URGENT_DIRECT, Period::Hours(8)},
                                                  {v1::URGENCY_URGENT_INDIRECT, Period::Days(3)},
                                                  {v1::URGENCY_STANDARD, Period::Days(7)}};
  for (const auto& [urgency, period] : cases) {
    v1::CreateRequestRequest req = ValidCreate(v1::REQUEST_TYPE_SPOC_INFORMATION, Partner());
    req.set_urgency(urgency);
    auto out = Issue(req, Context(Police(), Partner()), ClockConfig{});
    ASSERT_TRUE(out.ok()) << out.status();
    const v1::Clock* c = ClockOf(out->next, v1::CLOCK_KIND_RESPONSE);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(period.unit == Period::Unit::kHours ? c->period_hours() : c->period_days(),
              period.count)
        << v1::Urgency_Name(urgency);
    EXPECT_EQ(FromProtoTime(c->due_at()), EndOfPeriod(T0(), period, Brussels()).end);
    EXPECT_EQ(out->urgent, urgency == v1::URGENCY_URGENT_DIRECT);
  }
}

// Test that a clarification request stops the production clock and the clarification starts
// a full period again.
TEST(LiaisonClocks, ClarificationStopsAndRestartsProduction) {
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_PRODUCTION_ORDER, Platform()),
                   Context(Judge(), Platform(), "prosecutor"), ClockConfig{});
  ASSERT_TRUE(out.ok());
  v1::Request r = out->next;
  auto asked = ApplyMove(r, ValidMove(r, v1::MOVE_REQUEST_CLARIFICATION), Platform(), T0(),
                         Brussels(), ClockConfig{});
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->next.clocks_size(), 0);
  const absl::Time later = T0() + absl::Hours(24 * 4);
  auto clarified = ApplyMove(asked->next, ValidMove(asked->next, v1::MOVE_CLARIFY), Judge(), later,
                             Brussels(), ClockConfig{});
  ASSERT_TRUE(clarified.ok()) << clarified.status();
  EXPECT_EQ(clarified->next.state(), v1::REQUEST_STATE_ISSUED);
  const v1::Clock* c = ClockOf(clarified->next, v1::CLOCK_KIND_PRODUCTION);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(FromProtoTime(c->started_at()), later);
  EXPECT_EQ(c->period_days(), 10);
  EXPECT_EQ(FromProtoTime(c->due_at()), EndOfBrusselsDay(2026, 10, 15));
}

// Test the counting rule on the instants themselves, in Europe/Brussels: a period in days ends at
// the end of its last day (00:00 local of the next day, whatever the UTC offset became in
// between), across the spring change (29 March 2026), the autumn change (25 October 2026), month
// and year ends and the zone's own midnight; a period in hours is exact across both changes; an
// extension counts the whole period again from the start.
TEST(LiaisonClocks, DaysEndAtTheEndOfTheDayInBrusselsAcrossDstAndMonthEnds) {
  const absl::TimeZone bxl = Brussels();
  const ClockConfig config;
  struct Case {
    const char* name;
    v1::RequestType type;
    v1::ClockKind kind;
    bool emergency;
    const char* start;
    const char* due;
  };
  const Case cases[] = {
      // Wednesday 25 March 10:00 CET + 7 days: the end of 1 April, which is CEST (22:00 UTC).
      {"spring change, days", v1::REQUEST_TYPE_EIO, v1::CLOCK_KIND_ACKNOWLEDGEMENT, false,
       "2026-03-25T09:00:00Z", "2026-04-01T22:00:00Z"},
      // 20 October 15:00 CEST + 10 days: the end of 30 October, which is CET (23:00 UTC).
      {"autumn change, days", v1::REQUEST_TYPE_PRODUCTION_ORDER, v1::CLOCK_KIND_PRODUCTION, false,
       "2026-10-20T13:00:00Z", "2026-10-30T23:00:00Z"},
      // 8 hours across the spring change: 01:30 CET -> 10:30 CEST, 8 hours of real time.
      {"spring change, hours", v1::REQUEST_TYPE_PRODUCTION_ORDER, v1::CLOCK_KIND_PRODUCTION, true,
       "2026-03-29T00:30:00Z", "2026-03-29T08:30:00Z"},
      // 8 hours across the autumn change: 02:00 CEST -> 09:00 CET, 8 hours of real time.
      {"autumn change, hours", v1::REQUEST_TYPE_PRODUCTION_ORDER, v1::CLOCK_KIND_PRODUCTION, true,
       "2026-10-25T00:00:00Z", "2026-10-25T08:00:00Z"},
      // 31 January + 30 days = 2 March (February has 28 days in 2027).
      {"month end", v1::REQUEST_TYPE_EIO, v1::CLOCK_KIND_RECOGNITION, false, "2027-01-31T10:00:00Z",
       "2027-03-02T23:00:00Z"},
      // 31 December 23:30 CET + 60 days: 1 March of the next year.
      {"year end", v1::REQUEST_TYPE_PRESERVATION_ORDER, v1::CLOCK_KIND_PRESERVATION, false,
       "2026-12-31T22:30:00Z", "2027-03-01T23:00:00Z"},
      // 31 December 23:30 UTC is already 1 January 00:30 in Brussels: the day counts from there.
      {"the zone's midnight", v1::REQUEST_TYPE_PRESERVATION_ORDER, v1::CLOCK_KIND_PRESERVATION,
       false, "2026-12-31T23:30:00Z", "2027-03-02T23:00:00Z"},
      // 29 February 2028 (a leap year) + 7 days = 7 March.
      {"leap day", v1::REQUEST_TYPE_EIO, v1::CLOCK_KIND_ACKNOWLEDGEMENT, false,
       "2028-02-29T12:00:00Z", "2028-03-07T23:00:00Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::Request r;
    r.set_type(c.type);
    r.set_emergency(c.emergency);
    const v1::Clock clock = StartClock(c.kind, r, At(c.start), bxl, "Europe/Brussels", config);
    EXPECT_EQ(FromProtoTime(clock.due_at()), At(c.due))
        << absl::FormatTime(absl::RFC3339_sec, FromProtoTime(clock.due_at()), bxl);
    EXPECT_EQ(FromProtoTime(clock.started_at()), At(c.start));
    EXPECT_EQ(clock.time_zone(), "Europe/Brussels");
  }

  // An extension across the spring change: 20 February 10:00 CET + 30 days ends with 22 March
  // (CET); extended by 30, the 60 days end with 21 April (CEST).
  v1::Request eio;
  eio.set_type(v1::REQUEST_TYPE_EIO);
  const v1::Clock recognition = StartClock(
      v1::CLOCK_KIND_RECOGNITION, eio, At("2026-02-20T09:00:00Z"), bxl, "Europe/Brussels", config);
  EXPECT_EQ(FromProtoTime(recognition.due_at()), At("2026-03-22T23:00:00Z"));
  const v1::Clock extended = ExtendClock(recognition, 30, bxl);
  EXPECT_EQ(extended.period_days(), 60);
  EXPECT_EQ(FromProtoTime(extended.due_at()), At("2026-04-21T22:00:00Z"));

  // The same instant in another zone ends elsewhere: the zone is the executor's, not UTC.
  StatusOr<absl::TimeZone> tokyo = LoadTimeZone("Asia/Tokyo");
  ASSERT_TRUE(tokyo.ok()) << tokyo.status();
  const v1::Clock far = StartClock(v1::CLOCK_KIND_ACKNOWLEDGEMENT, eio, At("2026-03-25T16:00:00Z"),
                                   *tokyo, "Asia/Tokyo", config);
  EXPECT_EQ(FromProtoTime(far.due_at()), At("2026-04-02T15:00:00Z"));  // 26 March + 7, JST
}

// Test that the configuration refuses nonsense with the flag's name.
TEST(LiaisonClocks, ConfigValidation) {
  EXPECT_TRUE(ClockConfig{}.Validate().ok());
  ClockConfig c;
  c.eio_recognition_days = 0;
  c.short_reminder_lead_hours = 8;
  const Status s = c.Validate();
  ASSERT_FALSE(s.ok());
  std::set<std::string> fields;
  for (const auto& v : FieldViolationsOf(s)) fields.insert(v.field);
  EXPECT_TRUE(fields.count("--liaison-eio-recognition-days"));
  EXPECT_TRUE(fields.count("--liaison-short-reminder-lead-hours"));
}

}  // namespace
}  // namespace concord::liaison
