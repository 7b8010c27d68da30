// Unit tests of the liaison clocks (services/liaison/clocks.h, requests.h): which period, from
// which start, in which zone each clock asks the calendar for, and what the firings are. The
// calendar is a recording test double (liaison_test_util.h); the calendar arithmetic itself
// (days ending at the end of the day in a zone, daylight saving) is tested with common/time.
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
  RecordingCalendar calendar;
  v1::CreateRequestRequest req = ValidCreate(v1::REQUEST_TYPE_PRODUCTION_ORDER, Platform());
  req.set_emergency(true);
  auto out = Issue(req, Context(Judge(), Platform()), calendar, ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(calendar.calls.size(), 1u);
  EXPECT_EQ(calendar.calls[0].period, Period::Hours(8));
  EXPECT_EQ(calendar.calls[0].start, T0());
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
  out = Issue(req, Context(Judge(), Platform()), calendar, ClockConfig{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(calendar.calls.back().period, Period::Days(10));
  EXPECT_FALSE(out->urgent);
}

// Test the EIO clocks: acknowledgement within 1 week and recognition within 30 days of
// receipt, both in the executing authority's zone; acknowledging stops the first.
TEST(LiaisonClocks, EioAcknowledgementWeekAndRecognitionThirtyDays) {
  RecordingCalendar calendar;
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_EIO, Judge()), Context(Partner(), Judge()),
                   calendar, ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(calendar.calls.size(), 2u);
  EXPECT_EQ(calendar.calls[0].period, Period::Days(7));
  EXPECT_EQ(calendar.calls[1].period, Period::Days(30));
  EXPECT_EQ(calendar.calls[0].zone, "Europe/Brussels");
  EXPECT_EQ(out->next.executor_time_zone(), "Europe/Brussels");
  EXPECT_EQ(FromProtoTime(ClockOf(out->next, v1::CLOCK_KIND_ACKNOWLEDGEMENT)->due_at()),
            T0() + absl::Hours(24 * 7));
  const v1::Request issued = out->next;
  auto acked = ApplyMove(issued, ValidMove(issued, v1::MOVE_ACKNOWLEDGE), Judge(),
                         T0() + absl::Hours(3), Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(ClockOf(acked->next, v1::CLOCK_KIND_ACKNOWLEDGEMENT), nullptr);
  EXPECT_NE(ClockOf(acked->next, v1::CLOCK_KIND_RECOGNITION), nullptr);
}

// Test the extension of the recognition decision: once, by up to 30 days, counted again from
// the receipt (30 + n days from the start), with a reason; a second extension is refused.
TEST(LiaisonClocks, RecognitionExtendedOnceByUpToThirtyDays) {
  RecordingCalendar calendar;
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_EIO, Judge()), Context(Partner(), Judge()),
                   calendar, ClockConfig{});
  ASSERT_TRUE(out.ok());
  v1::Request r = out->next;
  v1::ActRequest extend = ValidMove(r, v1::MOVE_EXTEND_DECISION);
  extend.set_extension_days(31);
  auto refused = ApplyMove(r, extend, Judge(), T0(), Brussels(), calendar, ClockConfig{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  extend.set_extension_days(20);
  extend.clear_reason();
  refused = ApplyMove(r, extend, Judge(), T0(), Brussels(), calendar, ClockConfig{});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);  // a reason is needed
  extend.mutable_reason()->set_code(v1::REASON_CODE_COMPLEXITY);
  auto extended =
      ApplyMove(r, extend, Judge(), T0() + absl::Hours(24 * 25), Brussels(), calendar, {});
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(calendar.calls.back().start, T0());
  EXPECT_EQ(calendar.calls.back().period, Period::Days(50));
  const v1::Clock* c = ClockOf(extended->next, v1::CLOCK_KIND_RECOGNITION);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->extended());
  EXPECT_EQ(FromProtoTime(c->due_at()), T0() + absl::Hours(24 * 50));
  r = extended->next;
  extend.set_expected_version(r.version());
  auto again = ApplyMove(r, extend, Judge(), T0(), Brussels(), calendar, ClockConfig{});
  EXPECT_EQ(ReasonOf(again.status()), "ALREADY_EXTENDED");
  // Recognised: the 90 days of execution start at the decision.
  auto acked = ApplyMove(r, ValidMove(r, v1::MOVE_ACKNOWLEDGE), Judge(), T0(), Brussels(), calendar,
                         ClockConfig{});
  ASSERT_TRUE(acked.ok());
  const absl::Time decision = T0() + absl::Hours(24 * 40);
  auto recognised = ApplyMove(acked->next, ValidMove(acked->next, v1::MOVE_RECOGNISE), Judge(),
                              decision, Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(recognised.ok()) << recognised.status();
  EXPECT_EQ(calendar.calls.back().start, decision);
  EXPECT_EQ(calendar.calls.back().period, Period::Days(90));
  EXPECT_EQ(ClockOf(recognised->next, v1::CLOCK_KIND_RECOGNITION), nullptr);
}

// Test the preservation order: 60 days, extended once by 30 by the issuing authority (not the
// provider); confirming that production follows stops the clock.
TEST(LiaisonClocks, PreservationSixtyDaysExtendedOnceByThirty) {
  RecordingCalendar calendar;
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_PRESERVATION_ORDER, Platform()),
                   Context(Judge(), Platform(), "prosecutor"), calendar, ClockConfig{});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(calendar.calls.back().period, Period::Days(60));
  v1::Request r = out->next;
  auto preserving = ApplyMove(r, ValidMove(r, v1::MOVE_CONFIRM_PRESERVATION), Platform(), T0(),
                              Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(preserving.ok());
  r = preserving->next;
  auto by_platform = ApplyMove(r, ValidMove(r, v1::MOVE_EXTEND_PRESERVATION), Platform(), T0(),
                               Brussels(), calendar, ClockConfig{});
  EXPECT_EQ(ReasonOf(by_platform.status()), "WRONG_PARTY");
  auto extended = ApplyMove(r, ValidMove(r, v1::MOVE_EXTEND_PRESERVATION), Judge(),
                            T0() + absl::Hours(24 * 55), Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(calendar.calls.back().period, Period::Days(90));
  EXPECT_EQ(calendar.calls.back().start, T0());
  EXPECT_EQ(FromProtoTime(ClockOf(extended->next, v1::CLOCK_KIND_PRESERVATION)->due_at()),
            T0() + absl::Hours(24 * 90));
  r = extended->next;
  auto follows = ApplyMove(r, ValidMove(r, v1::MOVE_CONFIRM_PRODUCTION_FOLLOWS), Judge(), T0(),
                           Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(follows.ok());
  EXPECT_EQ(follows->next.clocks_size(), 0);
  EXPECT_EQ(follows->next.state(), v1::REQUEST_STATE_PRESERVING);
}

// Test the 2023/977 response clocks: 8 hours urgent on directly accessible data, 3 days urgent
// otherwise, 7 days for the rest.
TEST(LiaisonClocks, SpocResponseByUrgency) {
  RecordingCalendar calendar;
  const std::pair<v1::Urgency, Period> cases[] = {{v1::URGENCY_URGENT_DIRECT, Period::Hours(8)},
                                                  {v1::URGENCY_URGENT_INDIRECT, Period::Days(3)},
                                                  {v1::URGENCY_STANDARD, Period::Days(7)}};
  for (const auto& [urgency, period] : cases) {
    v1::CreateRequestRequest req = ValidCreate(v1::REQUEST_TYPE_SPOC_INFORMATION, Partner());
    req.set_urgency(urgency);
    auto out = Issue(req, Context(Police(), Partner()), calendar, ClockConfig{});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(calendar.calls.back().period, period) << v1::Urgency_Name(urgency);
    EXPECT_EQ(out->urgent, urgency == v1::URGENCY_URGENT_DIRECT);
  }
}

// Test that a clarification request stops the production clock and the clarification starts
// a full period again.
TEST(LiaisonClocks, ClarificationStopsAndRestartsProduction) {
  RecordingCalendar calendar;
  auto out = Issue(ValidCreate(v1::REQUEST_TYPE_PRODUCTION_ORDER, Platform()),
                   Context(Judge(), Platform(), "prosecutor"), calendar, ClockConfig{});
  ASSERT_TRUE(out.ok());
  v1::Request r = out->next;
  auto asked = ApplyMove(r, ValidMove(r, v1::MOVE_REQUEST_CLARIFICATION), Platform(), T0(),
                         Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->next.clocks_size(), 0);
  const absl::Time later = T0() + absl::Hours(24 * 4);
  auto clarified = ApplyMove(asked->next, ValidMove(asked->next, v1::MOVE_CLARIFY), Judge(), later,
                             Brussels(), calendar, ClockConfig{});
  ASSERT_TRUE(clarified.ok()) << clarified.status();
  EXPECT_EQ(clarified->next.state(), v1::REQUEST_STATE_ISSUED);
  EXPECT_EQ(calendar.calls.back().start, later);
  EXPECT_EQ(calendar.calls.back().period, Period::Days(10));
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
