// Tests of services/referrals/deadlines.h.
#include "services/referrals/deadlines.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

TEST(DeadlineConfig, LegalDefaults) {
  const DeadlineConfig c;
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.centre_response, absl::Hours(24));
  EXPECT_EQ(c.reflection, absl::Hours(24 * 45));
  EXPECT_EQ(c.minor_reflection, absl::Hours(24 * 90));
  EXPECT_EQ(c.attestation, absl::Hours(24 * 90));
  EXPECT_EQ(c.certificate, absl::Hours(24 * 180));
}

TEST(DeadlineConfig, ValidateNamesTheField) {
  DeadlineConfig c;
  c.centre_response = absl::ZeroDuration();
  c.document_reminder = absl::Hours(24 * 100);  // longer than the attestation
  const Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("centre_response", "document_reminder"));
}

TEST(StartDeadline, FirePlans) {
  const DeadlineConfig c;
  DeadlineStart d = StartDeadline(v1::DEADLINE_KIND_CENTRE_RESPONSE, T0(), false, c);
  EXPECT_EQ(d.due, T0() + absl::Hours(24));
  EXPECT_THAT(d.fire_at, ElementsAre(T0() + absl::Hours(24)));
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[0], d.due), "overdue");

  d = StartDeadline(v1::DEADLINE_KIND_REFLECTION_END, T0(), false, c);
  EXPECT_THAT(d.fire_at, ElementsAre(T0() + absl::Hours(24 * 40), T0() + absl::Hours(24 * 45)));
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[0], d.due), "reminder");
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[1], d.due), "due");

  d = StartDeadline(v1::DEADLINE_KIND_REFLECTION_END, T0(), true, c);
  EXPECT_EQ(d.due, T0() + absl::Hours(24 * 90));

  d = StartDeadline(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY, T0(), false, c);
  EXPECT_THAT(d.fire_at, ElementsAre(T0() + absl::Hours(24 * 166), T0() + absl::Hours(24 * 180)));
  EXPECT_EQ(DeadlineStage(d.kind, d.fire_at[1], d.due), "expired");
}

TEST(PlanDeadline, ReminderInThePastIsDropped) {
  const DeadlineConfig c;
  const DeadlineStart d =
      PlanDeadline(v1::DEADLINE_KIND_ATTESTATION_EXPIRY, T0(), T0() + absl::Hours(24 * 3), c);
  EXPECT_THAT(d.fire_at, ElementsAre(T0() + absl::Hours(24 * 3)));
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
