// The guidelines rows of the policy table (issue 11): every RPC of concord.guidelines.v1 has a
// row; publishing, withdrawing and compliance are for the types that can hold the publisher
// right (the right itself is checked by services/guidelines); the eight agency types (no admin
// principal) may read and acknowledge what addresses it.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "common/authz/policy.h"
#include "concord/guidelines/v1/guidelines.pb.h"

namespace concord::authz {
namespace {

TEST(GuidelinesPolicy, CoversEveryRpc) {
  const google::protobuf::ServiceDescriptor* service =
      concord::guidelines::v1::GuidelineVersion::descriptor()->file()->FindServiceByName(
          "Guidelines");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string path = "/" + service->full_name() + "/" + service->method(i)->name();
    EXPECT_NE(FindPolicy(path), nullptr) << "no policy for " << path;
  }
}

TEST(GuidelinesPolicy, DocumentedChoices) {
  using P = Principal;
  for (const char* m : {"Publish", "Withdraw", "Compliance"}) {
    const MethodPolicy* p = FindPolicy(std::string("/concord.guidelines.v1.Guidelines/") + m);
    ASSERT_NE(p, nullptr) << m;
    for (Principal principal : kAllPrincipals) {
      const bool publisher_type = principal == P::kCoordinationUnit || principal == P::kMagistrate;
      EXPECT_EQ(p->DecisionFor(principal), publisher_type ? Decision::kAllowOwn : Decision::kDeny)
          << m << " " << PrincipalName(principal);
    }
  }
  for (const char* m : {"Get", "List", "Diff", "Subscribe", "Acknowledge"}) {
    const MethodPolicy* p = FindPolicy(std::string("/concord.guidelines.v1.Guidelines/") + m);
    ASSERT_NE(p, nullptr) << m;
    for (Principal principal : kAllPrincipals) {
      const bool admin = principal == P::kDirectoryAdmin || principal == P::kAuditReviewer ||
                         principal == P::kConcordService || principal == P::kOtherAdmin ||
                         principal == P::kPartnerGateway;
      EXPECT_EQ(p->DecisionFor(principal), admin ? Decision::kDeny : Decision::kAllowOwn)
          << m << " " << PrincipalName(principal);
    }
  }
}

}  // namespace
}  // namespace concord::authz
