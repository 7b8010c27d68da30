// The compliance rules of docs/guidelines.md, one by one, on ComputeCompliance (pure).
#include "services/guidelines/compliance.h"

#include <gtest/gtest.h>

namespace concord::guidelines {
namespace {

const absl::Time kDeadline = absl::FromUnixSeconds(1'800'000'000);

std::vector<std::string> Keys(const std::vector<AgencyStatus>& v) {
  std::vector<std::string> out;
  for (const AgencyStatus& s : v) out.push_back(s.agency);
  return out;
}

ComplianceInput Base() {
  ComplianceInput in;
  in.ack_deadline = kDeadline;
  in.as_of = kDeadline - absl::Hours(1);
  in.audience = {"police/a", "police/b", "reception_centre/c", "magistrate/d"};
  return in;
}

TEST(Compliance, CountsAndPercentagesByType) {
  ComplianceInput in = Base();
  in.acks["police/a"] = {kDeadline - absl::Hours(5), true};
  in.acks["reception_centre/c"] = {kDeadline - absl::Hours(4), true};
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.audience, 4);
  EXPECT_EQ(r.total.acknowledged, 2);
  EXPECT_EQ(r.total.pending, 2);
  EXPECT_DOUBLE_EQ(r.total.acknowledged_percent, 50.0);
  ASSERT_EQ(r.by_type.size(), 3u);  // police, magistrate, reception_centre (AgencyType order)
  EXPECT_EQ(r.by_type[0].type, AgencyType::kPolice);
  EXPECT_EQ(r.by_type[0].audience, 2);
  EXPECT_DOUBLE_EQ(r.by_type[0].acknowledged_percent, 50.0);
  EXPECT_EQ(r.by_type[1].type, AgencyType::kMagistrate);
  EXPECT_DOUBLE_EQ(r.by_type[1].acknowledged_percent, 0.0);
  EXPECT_EQ(r.by_type[2].type, AgencyType::kReceptionCentre);
  EXPECT_DOUBLE_EQ(r.by_type[2].acknowledged_percent, 100.0);
  EXPECT_EQ(Keys(r.acknowledged), (std::vector<std::string>{"police/a", "reception_centre/c"}));
  EXPECT_EQ(Keys(r.not_acknowledged), (std::vector<std::string>{"magistrate/d", "police/b"}));
}

TEST(Compliance, AgenciesOutsideTheFrozenAudienceDoNotCount) {
  ComplianceInput in = Base();
  in.acks["police/registered-later"] = {kDeadline - absl::Hours(2), true};
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.audience, 4);
  EXPECT_EQ(r.total.acknowledged, 0);
  EXPECT_EQ(Keys(r.not_counted), (std::vector<std::string>{"police/registered-later"}));
}

TEST(Compliance, SuspendedAgenciesAreApartAndCountedNowhere) {
  ComplianceInput in = Base();
  in.as_of = kDeadline + absl::Hours(1);
  in.acks["police/b"] = {kDeadline - absl::Hours(3), true};
  in.suspended = {"police/b", "magistrate/d"};
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.audience, 2);
  EXPECT_EQ(r.total.acknowledged, 0);
  EXPECT_EQ(r.total.overdue, 2);
  EXPECT_EQ(Keys(r.suspended), (std::vector<std::string>{"magistrate/d", "police/b"}));
  EXPECT_TRUE(r.suspended[1].acknowledged);  // shown with its state, not counted
  EXPECT_FALSE(r.suspended[0].overdue);
}

TEST(Compliance, LateAcknowledgementsCountAndOverdueNeedsThePassedDeadline) {
  ComplianceInput in = Base();
  in.acks["police/a"] = {kDeadline + absl::Minutes(1), true};
  EXPECT_EQ(ComputeCompliance(in).total.overdue, 0);  // as_of before the deadline
  in.as_of = kDeadline;
  EXPECT_EQ(ComputeCompliance(in).total.overdue, 0);  // not after it
  in.as_of = kDeadline + absl::Hours(2);
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.acknowledged, 1);
  EXPECT_EQ(r.total.late, 1);
  EXPECT_TRUE(r.acknowledged[0].late);
  EXPECT_EQ(r.total.overdue, 3);
  EXPECT_EQ(Keys(r.not_acknowledged),
            (std::vector<std::string>{"magistrate/d", "police/b", "reception_centre/c"}));
  for (const AgencyStatus& s : r.not_acknowledged) EXPECT_TRUE(s.overdue);
}

TEST(Compliance, AcknowledgementsAfterTheFreezeDoNotCount) {
  ComplianceInput in = Base();
  in.acks["police/a"] = {kDeadline - absl::Hours(3), true};
  in.acks["police/b"] = {kDeadline - absl::Hours(1), false};  // recorded after the freeze
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.acknowledged, 1);
  EXPECT_EQ(Keys(r.not_acknowledged),
            (std::vector<std::string>{"magistrate/d", "police/b", "reception_centre/c"}));
  EXPECT_EQ(Keys(r.not_counted), (std::vector<std::string>{"police/b"}));
}

TEST(Compliance, AnEmptyAudienceIsZeroPercent) {
  ComplianceInput in;
  in.ack_deadline = kDeadline;
  in.as_of = kDeadline;
  const ComplianceReport r = ComputeCompliance(in);
  EXPECT_EQ(r.total.audience, 0);
  EXPECT_DOUBLE_EQ(r.total.acknowledged_percent, 0.0);
  EXPECT_TRUE(r.by_type.empty());
}

}  // namespace
}  // namespace concord::guidelines
