// File: common/attributes/agency_attributes.h
//
// Agency attributes: the ONE typed mechanism by which the directory records an agency's rights
// and roles (services/directory/README.md "Attributes" is the table of this file). Each attribute
// has a name, a value type, the agency types it applies to and a default per type. The directory
// validates explicit values on write (ApplyAttributeSettings); every reader interprets them here
// (AgencyAttributes), so the authorizer (common/authz), the directory cache (common/clients) and
// the services (guidelines: publisher right; referrals: recognised centre; liaison: magistrate
// role and time zone) never include services/directory.
//
//   directory_administrator  flag       admin (not admin/concord-*)   false
//   audit_reviewer           flag       admin (not admin/concord-*)   false
//   guideline_publisher      flag       coordination_unit: true; magistrate: false
//   recognised_centre        flag       reception_centre              false
//   minors_shelter           flag       reception_centre              false
//   magistrate_role          enum       magistrate                    unset
//                                       (prosecutor | investigating_judge | labour_auditor)
//   time_zone                time zone  every type                    Europe/Brussels
//
// Values travel and are stored as canonical text: a flag is "true" or "false"; an enum one of
// its allowed values; a time zone an IANA name ("Europe/Brussels") that this host's tz database
// knows. Only explicit values are stored (AttributeMap); a value equal to the default is stored
// too (it pins the value should the default change), an absent one takes the default.
//
// Thread safety: pure functions and immutable tables.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::attributes {

inline constexpr std::string_view kDirectoryAdministrator = "directory_administrator";
inline constexpr std::string_view kAuditReviewer = "audit_reviewer";
inline constexpr std::string_view kGuidelinePublisher = "guideline_publisher";
inline constexpr std::string_view kRecognisedCentre = "recognised_centre";
inline constexpr std::string_view kMinorsShelter = "minors_shelter";
inline constexpr std::string_view kMagistrateRole = "magistrate_role";
inline constexpr std::string_view kTimeZone = "time_zone";

inline constexpr std::string_view kDefaultTimeZone = "Europe/Brussels";
inline constexpr size_t kMaxAttributeSettings = 32;

enum class ValueType { kFlag, kEnum, kTimeZone };

/// "flag", "enum", "time_zone".
std::string_view ValueTypeName(ValueType type);

struct AttributeDefinition {
  std::string_view name;
  ValueType type;
  std::vector<std::string_view> allowed;  // kEnum: the allowed values
  /// The agency types it applies to, each with its default ("" = unset: no value).
  std::vector<std::pair<AgencyType, std::string_view>> defaults;
  /// Not for Concord's own service identities (admin/concord-*), which may only send.
  bool excludes_service_identities = false;
  std::string_view description;

  bool AppliesTo(const AgencyId& agency) const;
  /// The default for `type` ("" = unset or not applicable).
  std::string_view DefaultFor(AgencyType type) const;
};

/// Every attribute, sorted by name.
const std::vector<AttributeDefinition>& AttributeDefinitions();

/// nullptr when no attribute has this name.
const AttributeDefinition* FindAttribute(std::string_view name);

/// Explicit values by attribute name (what the directory stores).
using AttributeMap = std::map<std::string, std::string>;

/// One requested change: `value` "" resets the attribute to its default.
struct AttributeSetting {
  std::string name;
  std::string value;
};

/// Validates `settings` for `agency` and applies them to `current` (explicit values): each named
/// attribute is set to its canonical value, or removed for "". INVALID_ARGUMENT with one field
/// violation per problem, fields "<field>[i].name" (unknown attribute, not applicable to the
/// agency, named twice) or "<field>[i].value" (not a flag / allowed value / known time zone).
/// Flags accept "true"/"false" in any case; enums and time zones are exact.
StatusOr<AttributeMap> ApplyAttributeSettings(const AgencyId& agency, AttributeMap current,
                                              const std::vector<AttributeSetting>& settings,
                                              std::string_view field);

/// Checks stored explicit values (e.g. read back from Redis): attributes that no longer apply or
/// no longer validate are dropped, so a reader never acts on a value the directory would refuse.
AttributeMap SanitizeStoredAttributes(const AgencyId& agency, const AttributeMap& stored);

/// The effective value of one attribute for a reader.
struct EffectiveAttribute {
  std::string_view name;
  ValueType type;
  std::string value;  // canonical text; "" only for an unset enum
  bool is_default;    // true when no explicit value is stored
};

/// An agency's attributes as every reader interprets them: explicit values, else the default of
/// the agency's type. Attributes that do not apply to the agency read as false / unset.
class AgencyAttributes {
 public:
  AgencyAttributes(AgencyId agency, AttributeMap explicit_values);

  /// A flag attribute (false when not applicable or unknown).
  bool Flag(std::string_view name) const;
  /// An enum attribute; nullopt when unset or not applicable.
  std::optional<std::string> Enum(std::string_view name) const;
  /// The IANA name of the agency's time zone (default Europe/Brussels).
  std::string TimeZoneName() const;
  /// The agency's time zone loaded from this host's tz database; INTERNAL when the database does
  /// not know it (a host without tzdata: install it, docs/operations.md).
  StatusOr<absl::TimeZone> TimeZone() const;

  /// Every attribute that applies to the agency, sorted by name (unset enums left out).
  std::vector<EffectiveAttribute> All() const;

  const AttributeMap& explicit_values() const { return explicit_; }

 private:
  std::optional<std::string> Value(std::string_view name) const;

  AgencyId agency_;
  AttributeMap explicit_;
};

/// The attribute table as Markdown (| attribute | type | values | applies to (default) |
/// meaning |); services/directory/README.md embeds it between `<!-- attributes:begin -->` and
/// `<!-- attributes:end -->` and a unit test keeps both equal.
std::string AttributeTableMarkdown();

}  // namespace concord::attributes
