#include "common/identity/agency_id.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace concord {
namespace {

constexpr size_t kMaxSpiffeIdLength = 2048;  // SPIFFE-ID spec: URIs longer than 2048 bytes invalid
constexpr size_t kMaxTrustDomainLength = 255;
constexpr std::string_view kScheme = "spiffe://";
constexpr std::string_view kAgencySegment = "agency";

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

Status Invalid(std::string_view message) { return absl::InvalidArgumentError(Absl(message)); }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace

std::string_view AgencyTypeName(AgencyType type) {
  switch (type) {
    case AgencyType::kPolice:
      return "police";
    case AgencyType::kMagistrate:
      return "magistrate";
    case AgencyType::kReceptionCentre:
      return "reception_centre";
    case AgencyType::kImmigrationOffice:
      return "immigration_office";
    case AgencyType::kSocialInspection:
      return "social_inspection";
    case AgencyType::kCoordinationUnit:
      return "coordination_unit";
    case AgencyType::kForeignPartner:
      return "foreign_partner";
    case AgencyType::kPlatform:
      return "platform";
    case AgencyType::kAdmin:
      return "admin";
    case AgencyType::kGuardianshipService:
      return "guardianship_service";
  }
  return "unknown";
}

std::optional<AgencyType> ParseAgencyType(std::string_view name) {
  for (AgencyType t : kAllAgencyTypes) {
    if (AgencyTypeName(t) == name) return t;
  }
  return std::nullopt;
}

concord::common::v1::AgencyType AgencyTypeToProto(AgencyType type) {
  using P = concord::common::v1::AgencyType;
  switch (type) {
    case AgencyType::kPolice:
      return P::AGENCY_TYPE_POLICE;
    case AgencyType::kMagistrate:
      return P::AGENCY_TYPE_MAGISTRATE;
    case AgencyType::kReceptionCentre:
      return P::AGENCY_TYPE_RECEPTION_CENTRE;
    case AgencyType::kImmigrationOffice:
      return P::AGENCY_TYPE_IMMIGRATION_OFFICE;
    case AgencyType::kSocialInspection:
      return P::AGENCY_TYPE_SOCIAL_INSPECTION;
    case AgencyType::kCoordinationUnit:
      return P::AGENCY_TYPE_COORDINATION_UNIT;
    case AgencyType::kForeignPartner:
      return P::AGENCY_TYPE_FOREIGN_PARTNER;
    case AgencyType::kPlatform:
      return P::AGENCY_TYPE_PLATFORM;
    case AgencyType::kAdmin:
      return P::AGENCY_TYPE_ADMIN;
    case AgencyType::kGuardianshipService:
      return P::AGENCY_TYPE_GUARDIANSHIP_SERVICE;
  }
  return P::AGENCY_TYPE_UNSPECIFIED;
}

StatusOr<AgencyType> AgencyTypeFromProto(concord::common::v1::AgencyType type) {
  using P = concord::common::v1::AgencyType;
  switch (type) {
    case P::AGENCY_TYPE_POLICE:
      return AgencyType::kPolice;
    case P::AGENCY_TYPE_MAGISTRATE:
      return AgencyType::kMagistrate;
    case P::AGENCY_TYPE_RECEPTION_CENTRE:
      return AgencyType::kReceptionCentre;
    case P::AGENCY_TYPE_IMMIGRATION_OFFICE:
      return AgencyType::kImmigrationOffice;
    case P::AGENCY_TYPE_SOCIAL_INSPECTION:
      return AgencyType::kSocialInspection;
    case P::AGENCY_TYPE_COORDINATION_UNIT:
      return AgencyType::kCoordinationUnit;
    case P::AGENCY_TYPE_FOREIGN_PARTNER:
      return AgencyType::kForeignPartner;
    case P::AGENCY_TYPE_PLATFORM:
      return AgencyType::kPlatform;
    case P::AGENCY_TYPE_ADMIN:
      return AgencyType::kAdmin;
    case P::AGENCY_TYPE_GUARDIANSHIP_SERVICE:
      return AgencyType::kGuardianshipService;
    case P::AGENCY_TYPE_UNSPECIFIED:
      return Invalid("agency type is unspecified");
    default:
      break;
  }
  return Invalid(absl::StrCat("unknown agency type value ", static_cast<int>(type)));
}

std::string AgencyId::ToSpiffe() const {
  std::string out(kScheme);
  out.append(trust_domain).append("/").append(kAgencySegment).append("/");
  out.append(AgencyTypeName(type)).append("/").append(id);
  return out;
}

std::string AgencyId::Key() const {
  std::string out(AgencyTypeName(type));
  out.append("/").append(id);
  return out;
}

Status ValidateAgencyLocalId(std::string_view id) {
  if (id.empty()) return Invalid("agency id is empty");
  if (id.size() > 63) return Invalid("agency id is longer than 63 characters");
  if (!IsLowerAlnum(id[0])) return Invalid("agency id must start with [a-z0-9]");
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') return Invalid("agency id may contain only [a-z0-9-]");
  }
  return absl::OkStatus();
}

Status ValidateTrustDomain(std::string_view td) {
  if (td.empty()) return Invalid("trust domain is empty");
  if (td.size() > kMaxTrustDomainLength) return Invalid("trust domain is too long");
  for (char c : td) {
    if (!IsLowerAlnum(c) && c != '.' && c != '-') {
      return Invalid("trust domain may contain only [a-z0-9.-]");
    }
  }
  return absl::OkStatus();
}

StatusOr<AgencyId> ParseSpiffeId(std::string_view uri) {
  if (uri.size() > kMaxSpiffeIdLength) return Invalid("SPIFFE ID is longer than 2048 bytes");
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return Invalid("SPIFFE ID must start with \"spiffe://\"");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Invalid("SPIFFE ID must not have a query or fragment");
  }
  if (rest.find('%') != std::string_view::npos) {
    return Invalid("SPIFFE ID must not contain percent-encoded characters");
  }
  size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  if (td.find('@') != std::string_view::npos) return Invalid("SPIFFE ID must not have userinfo");
  if (td.find(':') != std::string_view::npos) return Invalid("SPIFFE ID must not have a port");
  Status td_status = ValidateTrustDomain(td);
  if (!td_status.ok()) return td_status;
  if (slash == std::string_view::npos) return Invalid("SPIFFE ID has no path");
  std::vector<std::string_view> segments = Split(rest.substr(slash + 1), '/');
  if (segments.size() != 3 || segments[0] != kAgencySegment) {
    return Invalid("SPIFFE ID path must be exactly /agency/<type>/<id>");
  }
  std::optional<AgencyType> type = ParseAgencyType(segments[1]);
  if (!type) return Invalid("SPIFFE ID names an unknown agency type");
  Status id_status = ValidateAgencyLocalId(segments[2]);
  if (!id_status.ok()) return id_status;
  return AgencyId{std::string(td), *type, std::string(segments[2])};
}

StatusOr<AgencyId> ParseAgencyKey(std::string_view trust_domain, std::string_view key) {
  Status td_status = ValidateTrustDomain(trust_domain);
  if (!td_status.ok()) return td_status;
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return Invalid("agency key must be <type>/<id>");
  std::optional<AgencyType> type = ParseAgencyType(key.substr(0, slash));
  if (!type) return Invalid("agency key names an unknown agency type");
  std::string_view id = key.substr(slash + 1);
  Status id_status = ValidateAgencyLocalId(id);
  if (!id_status.ok()) return id_status;
  return AgencyId{std::string(trust_domain), *type, std::string(id)};
}

}  // namespace concord
