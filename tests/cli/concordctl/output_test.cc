// concordctl's output and argument helpers: tables, error rendering (gRPC code, ErrorInfo reason,
// BadRequest field violations), exit codes, agency references.
#include "cli/concordctl/output.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/exit_codes.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

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

TEST(OutputCodeName, TakesNumbersOfEitherEnumAndNamesOutOfRangeUnknown) {
  EXPECT_EQ(GrpcCodeName(absl::StatusCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(17), "UNKNOWN");
  EXPECT_EQ(GrpcCodeName(-1), "UNKNOWN");
}

// A loopback port nobody listens on (bound, read, closed).
int ClosedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Test that a call to a port nobody listens on fails, in this gRPC library, with a status the
// client made itself: a connection failure, with the hint about --server and the TLS files.
TEST(Output, UnavailableFromNoConnectionHintsAtServerAndTls) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(ClosedLoopbackPort()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status status = stub->Check(&ctx, req, &resp);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(IsConnectionFailure(status)) << status.error_message();
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  EXPECT_EQ(o.RpcError("Health/Check", status), kExitRpcFailed);
  EXPECT_THAT(err.str(), HasSubstr("unreachable or refused the TLS handshake"));
}

// Test that an UNAVAILABLE the server sent (its Redis is down) is not blamed on the connection:
// the server's message is printed and the hint says to retry.
TEST(Output, UnavailableFromTheServerIsNotCalledUnreachable) {
  const grpc::Status status =
      ToGrpcStatus(absl::UnavailableError("redis unavailable: Connection refused"));
  EXPECT_FALSE(IsConnectionFailure(status));
  std::ostringstream out, err;
  Output o(/*json=*/false, out, err);
  EXPECT_EQ(o.RpcError("Guidelines/Publish", status), kExitRpcFailed);
  EXPECT_THAT(err.str(), HasSubstr("UNAVAILABLE: redis unavailable: Connection refused"));
  EXPECT_THAT(err.str(), Not(HasSubstr("unreachable")));
  EXPECT_THAT(err.str(), HasSubstr("the server answered but cannot serve the call now"));

  std::ostringstream jout, jerr;
  Output j(/*json=*/true, jout, jerr);
  j.RpcError("Guidelines/Publish", status);
  EXPECT_EQ(nlohmann::json::parse(jerr.str())["error"]["connection_failure"], false);
}

}  // namespace
}  // namespace concord::ctl
