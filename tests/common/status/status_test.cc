#include "common/status/status.h"

#include <gtest/gtest.h>

#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace concord {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  CONCORD_ASSIGN_OR_RETURN(int h, Half(x));
  CONCORD_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  CONCORD_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(FieldErrors, OkWhenEmptyAndCarriesAllViolations) {
  FieldErrors errors;
  EXPECT_TRUE(errors.ToStatus("bad").ok());
  errors.Add("agency.id", "required");
  errors.Add("agency.type", "unknown type");
  Status s = errors.ToStatus("invalid agency");
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  auto v = FieldViolationsOf(s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "agency.id");
  EXPECT_EQ(v[1].description, "unknown type");
}

TEST(WithFieldViolations, KeepsTheCodeAndMessageAndLeavesOkAlone) {
  EXPECT_TRUE(WithFieldViolations(absl::OkStatus(), {{"f", "d"}}).ok());
  const Status s = WithReason(
      WithFieldViolations(absl::FailedPreconditionError("stored draft"), {{"magistrate", "x"}}),
      "UNKNOWN_AGENCY");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "stored draft");
  EXPECT_EQ(ReasonOf(s), "UNKNOWN_AGENCY");
  const auto v = FieldViolationsOf(s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "magistrate");
  EXPECT_EQ(v[0].description, "x");
}

TEST(GrpcStatus, CarriesBadRequestAndErrorInfoInDetails) {
  Status s = WithReason(InvalidArgumentWithFields("bad", {{"x", "too long"}}), "FIELD_INVALID",
                        {{"k", "v"}});
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(g.error_message(), "bad");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 2);
  bool saw_bad_request = false, saw_info = false;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::BadRequest>()) {
      google::rpc::BadRequest br;
      ASSERT_TRUE(any.UnpackTo(&br));
      EXPECT_EQ(br.field_violations(0).field(), "x");
      saw_bad_request = true;
    }
    if (any.Is<google::rpc::ErrorInfo>()) {
      google::rpc::ErrorInfo info;
      ASSERT_TRUE(any.UnpackTo(&info));
      EXPECT_EQ(info.reason(), "FIELD_INVALID");
      EXPECT_EQ(info.domain(), "concord.be");
      saw_info = true;
    }
  }
  EXPECT_TRUE(saw_bad_request && saw_info);
  Status back = FromGrpcStatus(g);
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(back), "FIELD_INVALID");
  EXPECT_EQ(FieldViolationsOf(back).size(), 1u);
}

TEST(GrpcStatus, DetailsThatEchoInvalidUtf8StayParseable) {
  // A hostile input echoed into a detail must not make the detail unparseable for a strict client
  // (protobuf refuses invalid UTF-8 in proto3 `string` fields, in C++ as in Java and .NET).
  const std::string bad = "id-\xff\xfe";
  Status s = WithReason(InvalidArgumentWithFields("bad", {{bad, bad}}), "FIELD_INVALID",
                        {{"guideline_id", bad}});
  s = WithQuotaFailure(std::move(s), bad, bad);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(ToGrpcStatus(s).error_details()));
  int parsed = 0;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      google::rpc::ErrorInfo info;
      ASSERT_TRUE(any.UnpackTo(&info));
      EXPECT_EQ(info.metadata().at("guideline_id"), "id-\xEF\xBF\xBD\xEF\xBF\xBD");
      ++parsed;
    }
    if (any.Is<google::rpc::BadRequest>()) {
      google::rpc::BadRequest br;
      ASSERT_TRUE(any.UnpackTo(&br));
      EXPECT_EQ(br.field_violations(0).field(), "id-\xEF\xBF\xBD\xEF\xBF\xBD");
      ++parsed;
    }
    if (any.Is<google::rpc::QuotaFailure>()) {
      google::rpc::QuotaFailure qf;
      ASSERT_TRUE(any.UnpackTo(&qf));
      ++parsed;
    }
  }
  EXPECT_EQ(parsed, 3);
}

TEST(GrpcStatus, CarriesRetryInfoAndQuotaFailureOfAQuotaRefusal) {
  Status s =
      WithQuotaFailure(WithRetryInfo(WithReason(absl::ResourceExhaustedError("send quota exceeded"),
                                                "QUOTA_EXCEEDED", {{"quota", "send"}}),
                                     absl::Microseconds(1500500)),
                       "agency:police/pz-antwerp", "send: 100 messages, refilled 1/s");
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  bool saw_retry = false, saw_quota = false;
  for (const auto& any : rpc.details()) {
    if (any.Is<google::rpc::RetryInfo>()) {
      google::rpc::RetryInfo info;
      ASSERT_TRUE(any.UnpackTo(&info));
      // Rounded up to whole milliseconds: never earlier than the server said.
      EXPECT_EQ(info.retry_delay().seconds(), 1);
      EXPECT_EQ(info.retry_delay().nanos(), 501000000);
      saw_retry = true;
    }
    if (any.Is<google::rpc::QuotaFailure>()) {
      google::rpc::QuotaFailure failure;
      ASSERT_TRUE(any.UnpackTo(&failure));
      ASSERT_EQ(failure.violations_size(), 1);
      EXPECT_EQ(failure.violations(0).subject(), "agency:police/pz-antwerp");
      saw_quota = true;
    }
  }
  EXPECT_TRUE(saw_retry && saw_quota);
  Status back = FromGrpcStatus(g);
  EXPECT_EQ(RetryDelayOf(back), absl::Milliseconds(1501));
  ASSERT_EQ(QuotaViolationsOf(back).size(), 1u);
  EXPECT_EQ(QuotaViolationsOf(back)[0].description, "send: 100 messages, refilled 1/s");
  EXPECT_EQ(ReasonMetadataOf(back).at("quota"), "send");
  EXPECT_EQ(RetryDelayOf(absl::ResourceExhaustedError("x")), absl::InfiniteDuration());
}

TEST(GrpcStatus, OkMapsToOkAndPlainErrorsHaveNoDetails) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status g = ToGrpcStatus(absl::UnavailableError("redis down"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(g.error_details().empty());
}

}  // namespace
}  // namespace concord
