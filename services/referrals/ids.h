// File: services/referrals/ids.h
//
// Identifiers of the referrals domain: random case ids and subject pseudonyms, and the
// conversions between the strongly typed AgencyId and the concord.common.v1.AgencyId carried in
// referral protos (stored protos may leave trust_domain empty, meaning "this trust domain").
//
//   NewCaseId();      // "ref-" + 26 lower-case base32 characters (16 random bytes)
//   NewSubjectRef();  // "subj-" + 26 characters; random, never derived from identity
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/common/v1/common.pb.h"

namespace concord::referrals {

/// "ref-" + 26 characters of RFC 4648 base32 (lower case, no padding) of 16 bytes from RAND_bytes.
std::string NewCaseId();
/// "subj-" + 26 characters, same encoding. Security: random, never derived from the person.
std::string NewSubjectRef();

/// True iff `id` has the shape of NewCaseId() ("ref-" + 26 of [a-z2-7]).
bool IsCaseId(std::string_view id);
/// True iff `ref` has the shape of NewSubjectRef().
bool IsSubjectRef(std::string_view ref);

/// The proto form of an agency (all three fields copied).
concord::common::v1::AgencyId AgencyIdToProto(const AgencyId& agency);
/// The typed form; INVALID_ARGUMENT when the type is UNSPECIFIED/unknown or the id is malformed.
/// An empty trust_domain stays empty (= the local trust domain).
StatusOr<AgencyId> AgencyIdFromProto(const concord::common::v1::AgencyId& agency);
/// True when no field of `agency` is set (the "empty until chosen" value).
bool IsUnset(const concord::common::v1::AgencyId& agency);
/// "<type>/<id>" of a proto agency (AgencyId::Key()); empty when the type is not a known type.
std::string AgencyKeyOf(const concord::common::v1::AgencyId& agency);
/// Same agency: type and id equal, and trust domains equal unless one of them is empty.
bool SameAgency(const concord::common::v1::AgencyId& a, const AgencyId& b);
bool SameAgency(const concord::common::v1::AgencyId& a, const concord::common::v1::AgencyId& b);

}  // namespace concord::referrals
