// concordctl's output and argument helpers: tables, error rendering (gRPC code, ErrorInfo reason,
// BadRequest field violations), exit codes, agency references.
#include "cli/concordctl/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/exit_codes.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/timestamp.pb.h"

namespace concord::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Output, TableAlignsColumnsByCodePoints) {
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  o.Table({"AGENCY", "NAME"}, {{"reception_centre/surya", "Sürya"}, {"police/x", "X"}});
  EXPECT_EQ(out.str(),
            "AGENCY                  NAME\n"
            "reception_centre/surya  Sürya\n"
            "police/x                X\n");
}

TEST(Output, EmptyTableSaysNone) {
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  o.Table({"A"}, {});
  EXPECT_EQ(out.str(), "(none)\n");
}

TEST(Output, RpcErrorPrintsCodeReasonAndFieldViolations) {
  const grpc::Status status = ToGrpcStatus(WithReason(
      InvalidArgumentWithFields("invalid agency", {{"agency.jurisdiction", "required"},
                                                   {"agency.languages[1]", "not ISO 639-1"}}),
      "INVALID_AGENCY"));
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  EXPECT_EQ(o.RpcError("RegisterAgency", status), kExitRpcFailed);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), HasSubstr("RegisterAgency failed: INVALID_ARGUMENT: invalid agency"));
  EXPECT_THAT(err.str(), HasSubstr("reason: INVALID_AGENCY"));
  EXPECT_THAT(err.str(), HasSubstr("field agency.jurisdiction: required"));
  EXPECT_THAT(err.str(), HasSubstr("field agency.languages[1]: not ISO 639-1"));
}

TEST(Output, RpcErrorAsJson) {
  const grpc::Status status = ToGrpcStatus(
      WithReason(InvalidArgumentWithFields("invalid agency", {{"agency.id", "required"}}), "BAD"));
  std::ostringstream out, err;
  Output o(/*json=*/true, out, err);
  EXPECT_EQ(o.RpcError("RegisterAgency", status), kExitRpcFailed);
  const nlohmann::json doc = nlohmann::json::parse(err.str());
  EXPECT_EQ(doc["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(doc["error"]["code_number"], 3);
  EXPECT_EQ(doc["error"]["rpc"], "RegisterAgency");
  EXPECT_EQ(doc["error"]["reason"], "BAD");
  EXPECT_EQ(doc["error"]["field_violations"][0]["field"], "agency.id");
}

TEST(Output, DomainPermissionDeniedHasNoPolicyHint) {
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  o.RpcError("Forward", ToGrpcStatus(WithReason(absl::PermissionDeniedError("H2: no permission"),
                                                "H2_FORWARD_WITHOUT_PERMISSION")));
  EXPECT_THAT(err.str(), HasSubstr("reason: H2_FORWARD_WITHOUT_PERMISSION"));
  EXPECT_THAT(err.str(), Not(HasSubstr("policy table")));
  std::ostringstream out2, err2;
  Output o2(/*json=*/false, out2, err2);
  o2.RpcError(
      "SuspendAgency",
      ToGrpcStatus(WithReason(absl::PermissionDeniedError("denied by rule"), "POLICY_DENIED")));
  EXPECT_THAT(err2.str(), HasSubstr("policy table"));
}

TEST(Output, PlainRpcErrorHasHint) {
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  o.RpcError("Check", grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "agency suspended"));
  EXPECT_THAT(err.str(), HasSubstr("UNAUTHENTICATED: agency suspended"));
  EXPECT_THAT(err.str(), HasSubstr("hint:"));
  EXPECT_THAT(err.str(), Not(HasSubstr("reason:")));
}

TEST(Output, LocalErrorExitCodes) {
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  EXPECT_EQ(o.LocalError(absl::InvalidArgumentError("bad flag")), kExitUsage);
  EXPECT_EQ(o.LocalError(absl::FailedPreconditionError("x.pem: no such file")), kExitLocalError);
  EXPECT_EQ(o.VerificationFailed("broken"), kExitVerificationFailed);
}

TEST(AgencyFormat, ParsesTypeSlashIdAndSpiffeIds) {
  auto a = ParseAgencyRef("AGENCY", "reception_centre/pag-asa");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->type(), concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  EXPECT_EQ(a->id(), "pag-asa");
  EXPECT_EQ(a->trust_domain(), "");
  EXPECT_EQ(AgencyKeyOf(*a), "reception_centre/pag-asa");

  auto b = ParseAgencyRef("AGENCY", "spiffe://concord.test/agency/police/pz-x");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->trust_domain(), "concord.test");
  EXPECT_EQ(AgencyKeyOf(*b), "police/pz-x");
}

TEST(AgencyFormat, RejectsMalformedReferencesNamingTheFlag) {
  for (const char* bad : {"police", "detective/x", "police/Bad_Id", "police/",
                          "spiffe://concord.test/agency/police", "spiffe://x/service/y"}) {
    auto r = ParseAgencyRef("--agency", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    const auto v = FieldViolationsOf(r.status());
    ASSERT_EQ(v.size(), 1u) << bad;
    EXPECT_EQ(v[0].field, "--agency") << bad;
  }
}

TEST(AgencyFormat, HexAndTimestamps) {
  EXPECT_EQ(HexText(std::string("\x00\xff\x10", 3)), "00ff10");
  google::protobuf::Timestamp ts;
  EXPECT_EQ(TimestampText(ts), "");
  ts.set_seconds(1795000000);
  EXPECT_EQ(TimestampText(ts), "2026-11-18T11:06:40Z");
}

}  // namespace
}  // namespace concord::ctl
