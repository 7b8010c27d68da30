#include "common/status/status.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "common/text/utf8.h"
#include "google/rpc/error_details.pb.h"

namespace concord {
namespace {

constexpr std::string_view kBadRequestUrl = "type.googleapis.com/google.rpc.BadRequest";
constexpr std::string_view kErrorInfoUrl = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr std::string_view kRetryInfoUrl = "type.googleapis.com/google.rpc.RetryInfo";
constexpr std::string_view kQuotaFailureUrl = "type.googleapis.com/google.rpc.QuotaFailure";

// Error details may echo hostile input; protobuf `string` fields must hold valid UTF-8 or strict
// parsers (Java, .NET) refuse the whole status detail.
std::string Text(std::string_view s) { return text::ToValidUtf8(s); }

// Debian's Abseil 20220623 has its own absl::string_view (not std::string_view).
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

Status InvalidArgumentWithFields(std::string_view message, const std::vector<FieldViolation>& v) {
  return WithFieldViolations(absl::InvalidArgumentError(Absl(message)), v);
}

Status WithFieldViolations(Status status, const std::vector<FieldViolation>& v) {
  if (status.ok()) return status;
  google::rpc::BadRequest bad_request;
  for (const FieldViolation& fv : v) {
    auto* out = bad_request.add_field_violations();
    out->set_field(Text(fv.field));
    out->set_description(Text(fv.description));
  }
  status.SetPayload(Absl(kBadRequestUrl), absl::Cord(bad_request.SerializeAsString()));
  return status;
}

Status WithReason(Status status, std::string_view reason,
                  const std::map<std::string, std::string>& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(Text(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [k, v] : metadata) (*info.mutable_metadata())[Text(k)] = Text(v);
  status.SetPayload(Absl(kErrorInfoUrl), absl::Cord(info.SerializeAsString()));
  return status;
}

Status WithRetryInfo(Status status, absl::Duration delay) {
  if (status.ok()) return status;
  const int64_t ms =
      std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(delay, absl::Milliseconds(1))));
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(ms / 1000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  status.SetPayload(Absl(kRetryInfoUrl), absl::Cord(info.SerializeAsString()));
  return status;
}

Status WithQuotaFailure(Status status, std::string_view subject, std::string_view description) {
  if (status.ok()) return status;
  google::rpc::QuotaFailure failure;
  auto* v = failure.add_violations();
  v->set_subject(Text(subject));
  v->set_description(Text(description));
  status.SetPayload(Absl(kQuotaFailureUrl), absl::Cord(failure.SerializeAsString()));
  return status;
}

absl::Duration RetryDelayOf(const Status& status) {
  auto payload = status.GetPayload(Absl(kRetryInfoUrl));
  if (!payload) return absl::InfiniteDuration();
  google::rpc::RetryInfo info;
  if (!info.ParseFromString(std::string(*payload))) return absl::InfiniteDuration();
  return absl::Seconds(info.retry_delay().seconds()) +
         absl::Nanoseconds(info.retry_delay().nanos());
}

std::vector<FieldViolation> QuotaViolationsOf(const Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(Absl(kQuotaFailureUrl));
  if (!payload) return out;
  google::rpc::QuotaFailure failure;
  if (!failure.ParseFromString(std::string(*payload))) return out;
  for (const auto& v : failure.violations()) out.push_back({v.subject(), v.description()});
  return out;
}

std::map<std::string, std::string> ReasonMetadataOf(const Status& status) {
  std::map<std::string, std::string> out;
  auto payload = status.GetPayload(Absl(kErrorInfoUrl));
  if (!payload) return out;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return out;
  for (const auto& [k, v] : info.metadata()) out[k] = v;
  return out;
}

std::vector<FieldViolation> FieldViolationsOf(const Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(Absl(kBadRequestUrl));
  if (!payload) return out;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return out;
  for (const auto& fv : bad_request.field_violations()) {
    out.push_back({fv.field(), fv.description()});
  }
  return out;
}

std::string ReasonOf(const Status& status) {
  auto payload = status.GetPayload(Absl(kErrorInfoUrl));
  if (!payload) return "";
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

void FieldErrors::Add(std::string field, std::string description) {
  violations_.push_back({std::move(field), std::move(description)});
}

Status FieldErrors::ToStatus(std::string_view message) const {
  if (violations_.empty()) return absl::OkStatus();
  return InvalidArgumentWithFields(message, violations_);
}

}  // namespace concord
