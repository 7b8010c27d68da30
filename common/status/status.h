// File: common/status/status.h
//
// Concord's error model: absl::Status / absl::StatusOr<T> (Debian's Abseil 20220623) with the
// canonical gRPC code set. Domain code returns these; exactly one conversion to grpc::Status
// happens at the handler (grpc_status.h). No exception crosses a module boundary.
//
// Rich details travel as Status payloads keyed by their google.rpc type URL:
//   - BadRequest field violations: InvalidArgumentWithFields(...) / FieldErrors
//   - ErrorInfo (machine-readable reason): WithReason(...)
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

/// Returns `status` with a google.rpc.ErrorInfo{reason, domain=concord.be, metadata} attached.
/// `reason` is UPPER_SNAKE_CASE, at most 63 characters.
Status WithReason(Status status, std::string_view reason,
                  const std::map<std::string, std::string>& metadata = {});

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
