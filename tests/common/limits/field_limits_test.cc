// The generic check of request field limits (common/limits) and the rule that every string, bytes
// and repeated field of every Concord request carries a limit in its proto.
#include "common/limits/field_limits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "concord/audit/v1/audit.grpc.pb.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/federation/v1/federation.grpc.pb.h"
#include "concord/guidelines/v1/guidelines.grpc.pb.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"
#include "concord/referrals/v1/referrals.grpc.pb.h"
#include "tests/support/field_violations.h"

namespace concord::limits {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
namespace mv1 = ::concord::messaging::v1;

// Test that a request within its bounds passes and one over them names each field by its path.
TEST(CheckFieldLimits, NamesEveryFieldOverItsBound) {
  mv1::SendRequest ok;
  ok.mutable_envelope()->set_message_id(std::string(64, 'a'));
  ok.mutable_envelope()->add_recipients()->set_id(std::string(63, 'b'));
  EXPECT_TRUE(CheckFieldLimits(ok).ok());

  mv1::SendRequest bad = ok;
  bad.mutable_envelope()->set_message_id(std::string(65, 'a'));
  bad.mutable_envelope()->add_recipients()->set_id(std::string(64, 'b'));
  bad.mutable_envelope()->mutable_body()->set_nonce(std::string(13, 'n'));
  const Status s = CheckFieldLimits(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LARGE");
  EXPECT_THAT(testing::ViolationFields(s),
              ::testing::UnorderedElementsAre("envelope.message_id", "envelope.recipients[1].id",
                                              "envelope.body.nonce"));
}

// Test that repeated fields are bounded in count and per element.
TEST(CheckFieldLimits, BoundsRepeatedFieldsInCountAndPerElement) {
  const std::string id(16, 'm');
  mv1::AckRequest ack;
  for (int i = 0; i < 500; ++i) *ack.add_message_ids() = id;
  EXPECT_TRUE(CheckFieldLimits(ack).ok());
  *ack.add_message_ids() = id;
  EXPECT_THAT(testing::ViolationFields(CheckFieldLimits(ack)), ElementsAre("message_ids"));
  mv1::AckRequest one;
  one.add_message_ids(std::string(65, 'm'));
  EXPECT_THAT(testing::ViolationFields(CheckFieldLimits(one)), ElementsAre("message_ids[0]"));
}

// Test that every string, bytes and repeated field reachable from the request of every RPC of
// every Concord service has a limit in its proto (a new field without one fails here).
TEST(FieldLimits, EveryRequestFieldOfEveryServiceIsBounded) {
  const google::protobuf::ServiceDescriptor* services[] = {
      mv1::SendRequest::descriptor()->file()->FindServiceByName("Messaging"),
      ::concord::referrals::v1::SaveDraftRequest::descriptor()->file()->FindServiceByName(
          "Referrals"),
      ::concord::audit::v1::QueryRequest::descriptor()->file()->FindServiceByName("Audit"),
      ::concord::directory::v1::GetAgencyRequest::descriptor()->file()->FindServiceByName(
          "Directory"),
      ::concord::guidelines::v1::PublishRequest::descriptor()->file()->FindServiceByName(
          "Guidelines"),
      ::concord::liaison::v1::CreateRequestRequest::descriptor()->file()->FindServiceByName(
          "Liaison"),
      ::concord::federation::v1::RelayRequest::descriptor()->file()->FindServiceByName("Gateway"),
      ::concord::federation::v1::RelayRequest::descriptor()->file()->FindServiceByName(
          "Federation")};
  size_t bounded = 0;
  for (const auto* service : services) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      std::vector<std::string> unbounded;
      bounded += LimitedFields(*method->input_type(), &unbounded).size();
      EXPECT_THAT(unbounded, IsEmpty()) << method->full_name() << ": fields without a "
                                        << "(concord.common.v1.limit) in their proto";
    }
  }
  EXPECT_GT(bounded, 150u);
}

}  // namespace
}  // namespace concord::limits
