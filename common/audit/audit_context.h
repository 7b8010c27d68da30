// File: common/audit/audit_context.h
//
// Who acted and why, as asserted by the calling agency's system in request metadata. These are
// claims of the (authenticated) agency, not verified identities: the agency is accountable for
// them. Identity of the agency itself comes only from its certificate (common/identity).
//
//   concord-officer:        the acting officer's identifier within the agency (no names)
//   concord-justification:  the stated reason for consulting or disclosing data
#pragma once

#include <grpcpp/server_context.h>

#include <string>
#include <string_view>

namespace concord::audit {

inline constexpr std::string_view kOfficerMetadataKey = "concord-officer";
inline constexpr std::string_view kJustificationMetadataKey = "concord-justification";
inline constexpr size_t kMaxOfficerLength = 128;
inline constexpr size_t kMaxJustificationLength = 1024;

/// Trimmed value of `value` if it is 1..max_length printable ASCII characters (0x20-0x7E) after
/// trimming spaces and tabs; "" otherwise (absent, empty, too long or containing other bytes).
std::string SanitizeAssertedValue(std::string_view value, size_t max_length);

/// The "concord-officer" metadata (first value), sanitised with kMaxOfficerLength; "" if absent
/// or invalid.
std::string OfficerFromContext(const grpc::ServerContextBase& ctx);

/// The "concord-justification" metadata (first value), sanitised with kMaxJustificationLength;
/// "" if absent or invalid. Services that require a justification reject "".
std::string JustificationFromContext(const grpc::ServerContextBase& ctx);

}  // namespace concord::audit
