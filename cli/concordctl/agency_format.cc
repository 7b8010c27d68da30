#include "cli/concordctl/agency_format.h"

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"

namespace concord::ctl {
namespace {

Status FlagError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

}  // namespace

StatusOr<concord::common::v1::AgencyId> AgencyIdFromFlags(std::string_view type,
                                                          std::string_view id) {
  const std::optional<AgencyType> parsed = ParseAgencyType(type);
  if (!parsed.has_value()) {
    return FlagError("--type",
                     "unknown agency type \"" + std::string(type) +
                         "\" (police, magistrate, reception_centre, immigration_office, "
                         "social_inspection, coordination_unit, foreign_partner, platform, admin, "
                         "guardianship_service)");
  }
  if (!ValidateAgencyLocalId(id).ok()) {
    return FlagError("--id",
                     "must match ^[a-z0-9][a-z0-9-]{0,62}$, got \"" + std::string(id) + "\"");
  }
  concord::common::v1::AgencyId out;
  out.set_type(AgencyTypeToProto(*parsed));
  out.set_id(std::string(id));
  return out;
}

StatusOr<concord::common::v1::AgencyId> ParseAgencyRef(std::string_view flag,
                                                       std::string_view text) {
  if (text.rfind("spiffe://", 0) == 0) {
    StatusOr<AgencyId> parsed = ParseSpiffeId(text);
    if (!parsed.ok()) {
      return FlagError(flag, std::string(parsed.status().message()));
    }
    concord::common::v1::AgencyId out;
    out.set_trust_domain(parsed->trust_domain);
    out.set_type(AgencyTypeToProto(parsed->type));
    out.set_id(parsed->id);
    return out;
  }
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return FlagError(flag,
                     "expected <type>/<id> or spiffe://<trust-domain>/agency/<type>/<id>, "
                     "got \"" +
                         std::string(text) + "\"");
  }
  StatusOr<concord::common::v1::AgencyId> out =
      AgencyIdFromFlags(text.substr(0, slash), text.substr(slash + 1));
  if (!out.ok()) {
    const auto violations = FieldViolationsOf(out.status());
    return FlagError(flag, violations.empty() ? std::string(out.status().message())
                                              : violations.front().description);
  }
  return out;
}

std::string AgencyTypeText(concord::common::v1::AgencyType type) {
  StatusOr<AgencyType> parsed = AgencyTypeFromProto(type);
  return parsed.ok() ? std::string(AgencyTypeName(*parsed)) : "";
}

std::string AgencyKeyOf(const concord::common::v1::AgencyId& id) {
  std::string type = AgencyTypeText(id.type());
  return (type.empty() ? "unspecified" : type) + "/" + id.id();
}

std::string TimestampText(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) {
    return "";
  }
  return google::protobuf::util::TimeUtil::ToString(ts);
}

std::string HexText(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

StatusOr<concord::directory::v1::AgencyAttribute> ParseAttributeFlag(std::string_view flag,
                                                                     std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return FlagError(flag, "must be NAME=VALUE (NAME= resets to the default), got \"" +
                               std::string(text) + "\"");
  }
  concord::directory::v1::AgencyAttribute out;
  out.set_name(std::string(text.substr(0, eq)));
  out.set_value(std::string(text.substr(eq + 1)));
  return out;
}

}  // namespace concord::ctl
