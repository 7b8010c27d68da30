// concordctl's rendering of liaison clocks: in the clock's own time zone with its offset, like the
// referrals commands (Europe/Brussels), never bare UTC; the next due time by instant.
#include "cli/concordctl/liaison_format.h"

#include <gtest/gtest.h>

namespace concord::ctl {
namespace {

namespace lv1 = ::concord::liaison::v1;

lv1::Clock ClockAt(int64_t unix_seconds, const std::string& zone, bool overdue = false) {
  lv1::Clock c;
  c.mutable_due_at()->set_seconds(unix_seconds);
  c.set_time_zone(zone);
  c.set_overdue(overdue);
  return c;
}

// 2026-10-08T22:00:00Z is midnight in Brussels (CEST, +02:00).
constexpr int64_t kOct8At22Utc = 1791496800;

TEST(LiaisonFormat, ClockDueIsShownInItsZoneWithTheOffset) {
  EXPECT_EQ(ClockDueLocalText(ClockAt(kOct8At22Utc, "Europe/Brussels")),
            "2026-10-09T00:00:00+02:00");
  // Winter time: +01:00.
  EXPECT_EQ(ClockDueLocalText(ClockAt(kOct8At22Utc + 60 * 86400, "Europe/Brussels")),
            "2026-12-07T23:00:00+01:00");
  EXPECT_EQ(ClockDueLocalText(ClockAt(kOct8At22Utc, "America/New_York")),
            "2026-10-08T18:00:00-04:00");
}

TEST(LiaisonFormat, UnknownZoneFallsBackToUtcMarkedZ) {
  EXPECT_EQ(ClockDueLocalText(ClockAt(kOct8At22Utc, "Nowhere/Atlantis")), "2026-10-08T22:00:00Z");
}

TEST(LiaisonFormat, NextDueIsTheEarliestInstantNotTheSmallestText) {
  lv1::Request r;
  // 23:00Z is "2026-10-09T01:00:00+02:00" in Brussels; 22:00Z is "2026-10-09T07:00:00+09:00" in
  // Tokyo: the Brussels text sorts first, the Tokyo clock is due first.
  *r.add_clocks() = ClockAt(kOct8At22Utc + 3600, "Europe/Brussels");
  *r.add_clocks() = ClockAt(kOct8At22Utc, "Asia/Tokyo", /*overdue=*/true);
  EXPECT_EQ(NextDueText(r), "2026-10-09T07:00:00+09:00 OVERDUE");
  EXPECT_EQ(NextDueText(lv1::Request()), "-");
}

}  // namespace
}  // namespace concord::ctl
