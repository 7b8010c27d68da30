// File: common/identity/agency_id.h
//
// Strongly typed agency identity. An agency is named by the SPIFFE ID carried as the single URI
// SAN of its X.509 certificate:
//
//   spiffe://<trust-domain>/agency/<type>/<id>
//
//   trust-domain  [a-z0-9.-]+ (lower case, no port, no userinfo)
//   type          one of AgencyTypeName(): police, magistrate, reception_centre, ...
//   id            ^[a-z0-9][a-z0-9-]{0,62}$
//
// Parsing is strict (SPIFFE X509-SVID rules): anything else, including query, fragment, percent
// escapes, upper case, empty or extra path segments, is rejected with INVALID_ARGUMENT.
//
//   CONCORD_ASSIGN_OR_RETURN(AgencyId a, ParseSpiffeId("spiffe://concord.be/agency/police/pz-x"));
//   a.Key();  // "police/pz-x"
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "common/status/status.h"
#include "concord/common/v1/common.pb.h"

namespace concord {

enum class AgencyType {
  kPolice,
  kMagistrate,
  kReceptionCentre,
  kImmigrationOffice,
  kSocialInspection,
  kCoordinationUnit,
  kForeignPartner,
  kPlatform,
  kAdmin,
  kGuardianshipService,
};

inline constexpr std::array<AgencyType, 10> kAllAgencyTypes = {
    AgencyType::kPolice,
    AgencyType::kMagistrate,
    AgencyType::kReceptionCentre,
    AgencyType::kImmigrationOffice,
    AgencyType::kSocialInspection,
    AgencyType::kCoordinationUnit,
    AgencyType::kForeignPartner,
    AgencyType::kPlatform,
    AgencyType::kAdmin,
    AgencyType::kGuardianshipService,
};

/// "police", "magistrate", "reception_centre", "immigration_office", "social_inspection",
/// "coordination_unit", "foreign_partner", "platform", "admin", "guardianship_service".
std::string_view AgencyTypeName(AgencyType type);

/// Inverse of AgencyTypeName (exact, case-sensitive match); nullopt for anything else.
std::optional<AgencyType> ParseAgencyType(std::string_view name);

concord::common::v1::AgencyType AgencyTypeToProto(AgencyType type);

/// AGENCY_TYPE_UNSPECIFIED or an unknown value -> INVALID_ARGUMENT.
StatusOr<AgencyType> AgencyTypeFromProto(concord::common::v1::AgencyType type);

struct AgencyId {
  std::string trust_domain;
  AgencyType type = AgencyType::kPolice;
  std::string id;

  /// spiffe://<trust_domain>/agency/<type>/<id>
  std::string ToSpiffe() const;
  /// "<type>/<id>": unique within a trust domain; used in Redis keys.
  std::string Key() const;

  friend bool operator==(const AgencyId&, const AgencyId&) = default;
};

/// Concord's own service identities are admin agencies whose id starts with this prefix
/// (admin/concord-referrals, admin/concord-directory): they may only send notifications
/// (docs/security.md) and hold no directory role.
inline constexpr std::string_view kConcordServicePrefix = "concord-";

/// True for admin/concord-* (see kConcordServicePrefix).
inline bool IsConcordServiceIdentity(const AgencyId& agency) {
  return agency.type == AgencyType::kAdmin && agency.id.starts_with(kConcordServicePrefix);
}

/// Strict SPIFFE ID parser (see the file comment). INVALID_ARGUMENT with a precise message.
StatusOr<AgencyId> ParseSpiffeId(std::string_view uri);

/// OK iff `id` matches ^[a-z0-9][a-z0-9-]{0,62}$; INVALID_ARGUMENT otherwise.
Status ValidateAgencyLocalId(std::string_view id);

/// OK iff `trust_domain` is non-empty, at most 255 characters of [a-z0-9.-].
Status ValidateTrustDomain(std::string_view trust_domain);

/// Parses "<type>/<id>" (the inverse of AgencyId::Key()) within `trust_domain`.
StatusOr<AgencyId> ParseAgencyKey(std::string_view trust_domain, std::string_view key);

}  // namespace concord
