// File: services/liaison/ids.h
//
// Identifiers of the liaison domain and agency conversions (stored protos carry agencies with
// their trust domain; the local one may be left empty).
//
//   NewRequestId();  // "lr-" + 26 lower-case base32 characters (16 random bytes)
//   NewJitId();      // "jit-" + 26 characters
#pragma once

#include <string>
#include <string_view>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/common/v1/common.pb.h"

namespace concord::liaison {

std::string NewRequestId();
std::string NewJitId();
bool IsRequestId(std::string_view id);
bool IsJitId(std::string_view id);

/// [A-Za-z0-9_-]{16,64}: a messaging message id.
bool IsMessageId(std::string_view id);
/// 64 lower-case hex digits.
bool IsSha256Hex(std::string_view hex);
/// [A-Za-z0-9._/-]{1,64}: a case or team reference (no spaces: no names).
bool IsReference(std::string_view reference);

concord::common::v1::AgencyId AgencyIdToProto(const AgencyId& agency);
/// INVALID_ARGUMENT when the type is UNSPECIFIED/unknown or the id malformed; an empty
/// trust_domain stays empty.
StatusOr<AgencyId> AgencyIdFromProto(const concord::common::v1::AgencyId& agency);
bool IsUnset(const concord::common::v1::AgencyId& agency);
/// "<type>/<id>"; empty when the type is unknown.
std::string AgencyKeyOf(const concord::common::v1::AgencyId& agency);
/// Type and id equal, trust domains equal unless one is empty.
bool SameAgency(const concord::common::v1::AgencyId& a, const AgencyId& b);

}  // namespace concord::liaison
