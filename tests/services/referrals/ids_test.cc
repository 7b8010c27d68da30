// Tests of services/referrals/ids.h.
#include "services/referrals/ids.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

TEST(Ids, ShapeAndRandomness) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewCaseId();
    EXPECT_TRUE(IsCaseId(id)) << id;
    EXPECT_EQ(id.size(), 30u);
    seen.insert(id);
    const std::string subject = NewSubjectRef();
    EXPECT_TRUE(IsSubjectRef(subject)) << subject;
    EXPECT_FALSE(IsCaseId(subject));
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsCaseId("ref-AAAAAAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_FALSE(IsCaseId("ref-aaaa"));
  EXPECT_FALSE(IsCaseId("ref-aaaaaaaaaaaaaaaaaaaaaaaaa1"));  // '1' is not base32
}

TEST(Ids, AgencyConversions) {
  const auto proto = AgencyIdToProto(CentreA());
  EXPECT_EQ(AgencyKeyOf(proto), "reception_centre/pag-asa");
  const auto back = AgencyIdFromProto(proto);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == CentreA());
  EXPECT_FALSE(AgencyIdFromProto(concord::common::v1::AgencyId{}).ok());
  EXPECT_TRUE(IsUnset(concord::common::v1::AgencyId{}));
  auto local = proto;
  local.clear_trust_domain();
  EXPECT_TRUE(SameAgency(local, CentreA()));
  EXPECT_TRUE(SameAgency(local, proto));
  EXPECT_FALSE(SameAgency(concord::common::v1::AgencyId{}, concord::common::v1::AgencyId{}));
}

}  // namespace
}  // namespace concord::referrals
