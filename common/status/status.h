// File: common/status/status.h
//
// Concord's error model: absl::Status / absl::StatusOr<T> (Debian's Abseil 20220623) with the
// canonical gRPC code set. Domain code returns these; exactly one conversion to grpc::Status
// happens at the handler (grpc_status.h). No exception crosses a module boundary.
//
// Rich details travel as Status payloads keyed by their google.rpc type URL:
//   - BadRequest field violations: InvalidArgumentWithFields(...) / FieldErrors
//   - ErrorInfo (machine-readable reason): WithReason(...)
//   - RetryInfo (when to try again) and QuotaFailure (which quota was exceeded), on
//     RESOURCE_EXHAUSTED refusals of quotas and limits: WithRetryInfo(...), WithQuotaFailure(...)
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace concord {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

/// The ErrorInfo domain Concord uses.
inline constexpr std::string_view kErrorDomain = "concord.be";

/// One invalid field of a request, shaped like google.rpc.BadRequest.FieldViolation.
struct FieldViolation {
  std::string field;        // path, e.g. "agency.id" or "recipients[2]"
  std::string description;  // what is wrong, for a human; never contains personal data
};

/// INVALID_ARGUMENT carrying a google.rpc.BadRequest with the given violations.
Status InvalidArgumentWithFields(std::string_view message, const std::vector<FieldViolation>& v);

/// Returns `status` (any code: e.g. FAILED_PRECONDITION when stored state, not the request, is at
/// fault) with a google.rpc.BadRequest holding the given violations attached.
Status WithFieldViolations(Status status, const std::vector<FieldViolation>& v);

/// Returns `status` with a google.rpc.ErrorInfo{reason, domain=concord.be, metadata} attached.
/// `reason` is UPPER_SNAKE_CASE, at most 63 characters.
Status WithReason(Status status, std::string_view reason,
                  const std::map<std::string, std::string>& metadata = {});

/// Returns `status` with a google.rpc.RetryInfo{retry_delay} attached (rounded up to whole
/// milliseconds, at least 1 ms): the client should not retry before `delay` has passed.
Status WithRetryInfo(Status status, absl::Duration delay);

/// Returns `status` with a google.rpc.QuotaFailure holding one violation {subject, description}
/// (e.g. subject "agency:police/pz-antwerp", description "send: 20000 messages, refilled 5/s").
Status WithQuotaFailure(Status status, std::string_view subject, std::string_view description);

/// RetryInfo.retry_delay attached to `status`; nullopt-like absl::InfiniteDuration() when none.
absl::Duration RetryDelayOf(const Status& status);

/// The violations of a google.rpc.QuotaFailure attached to `status` (empty when none), as
/// {subject, description} pairs.
std::vector<FieldViolation> QuotaViolationsOf(const Status& status);

/// ErrorInfo.metadata attached to `status` (empty when none).
std::map<std::string, std::string> ReasonMetadataOf(const Status& status);

/// Field violations attached to `status` (empty when none).
std::vector<FieldViolation> FieldViolationsOf(const Status& status);

/// ErrorInfo.reason attached to `status` (empty when none).
std::string ReasonOf(const Status& status);

/// Accumulates field violations while validating a request, then yields one status.
///   FieldErrors errors;
///   if (req.id().empty()) errors.Add("id", "required");
///   CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid agency"));
class FieldErrors {
 public:
  void Add(std::string field, std::string description);
  bool empty() const { return violations_.empty(); }
  const std::vector<FieldViolation>& violations() const { return violations_; }
  /// OK when no violation was added; otherwise INVALID_ARGUMENT with all of them.
  Status ToStatus(std::string_view message) const;

 private:
  std::vector<FieldViolation> violations_;
};

}  // namespace concord
