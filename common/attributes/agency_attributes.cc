// File: common/attributes/agency_attributes.cc
#include "common/attributes/agency_attributes.h"

#include <algorithm>
#include <set>

namespace concord::attributes {
namespace {

using T = AgencyType;

constexpr std::string_view kTrue = "true";
constexpr std::string_view kFalse = "false";
constexpr size_t kMaxTimeZoneName = 64;

std::vector<AttributeDefinition> BuildDefinitions() {
  std::vector<AttributeDefinition> defs = {
      {.name = kAuditReviewer,
       .type = ValueType::kFlag,
       .allowed = {},
       .defaults = {{T::kAdmin, kFalse}},
       .excludes_service_identities = true,
       .description = "reads and verifies the audit trail and creates checkpoints (policy table "
                      "column audit_reviewer)"},
      {.name = kDirectoryAdministrator,
       .type = ValueType::kFlag,
       .allowed = {},
       .defaults = {{T::kAdmin, kFalse}},
       .excludes_service_identities = true,
       .description = "registers, updates, suspends and reinstates agencies and revokes "
                      "certificates (policy table column directory_admin)"},
      {.name = kGuidelinePublisher,
       .type = ValueType::kFlag,
       .allowed = {},
       .defaults = {{T::kMagistrate, kFalse}, {T::kCoordinationUnit, kTrue}},
       .excludes_service_identities = false,
       .description = "publishes guidelines (the coordination unit by default; a magistrates' "
                      "college if given it)"},
      {.name = kMagistrateRole,
       .type = ValueType::kEnum,
       .allowed = {"investigating_judge", "labour_auditor", "prosecutor"},
       .defaults = {{T::kMagistrate, ""}},
       .excludes_service_identities = false,
       .description = "which magistrate: a prosecutor (reference magistrate THB), an "
                      "investigating judge or a labour auditor; unset until declared"},
      {.name = kMinorsShelter,
       .type = ValueType::kFlag,
       .allowed = {},
       .defaults = {{T::kReceptionCentre, kFalse}},
       .excludes_service_identities = false,
       .description = "a shelter for unaccompanied minors (such as Esperanto or Minor-Ndako): "
                      "ranked first for an unaccompanied minor; without recognised_centre it "
                      "accommodates but does not request residence documents"},
      {.name = kRecognisedCentre,
       .type = ValueType::kFlag,
       .allowed = {},
       .defaults = {{T::kReceptionCentre, kFalse}},
       .excludes_service_identities = false,
       .description = "a specialised reception centre recognised to request residence "
                      "documents in the victim-status procedure"},
      {.name = kTimeZone,
       .type = ValueType::kTimeZone,
       .allowed = {},
       .defaults = {},
       .excludes_service_identities = false,
       .description = "where the agency's legal days end (deadlines in calendar days)"},
  };
  for (AttributeDefinition& d : defs) {
    if (d.name == kTimeZone) {
      for (AgencyType t : kAllAgencyTypes) d.defaults.emplace_back(t, kDefaultTimeZone);
    }
  }
  std::sort(
      defs.begin(), defs.end(),
      [](const AttributeDefinition& a, const AttributeDefinition& b) { return a.name < b.name; });
  return defs;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// IANA names: letters, digits and _ + - in '/'-separated parts ("America/Argentina/Buenos_Aires",
// "Etc/GMT+1", "UTC"); the tz database must know the zone.
bool IsKnownTimeZone(std::string_view name) {
  if (name.empty() || name.size() > kMaxTimeZoneName || name.front() == '/' || name.back() == '/' ||
      name.find("//") != std::string_view::npos) {
    return false;
  }
  const bool charset = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '-' || c == '/';
  });
  if (!charset || name.find("..") != std::string_view::npos) return false;
  absl::TimeZone tz;
  return absl::LoadTimeZone(std::string(name), &tz);
}

// The canonical text of `value` for `def`, or nullopt (with `why`) when it does not validate.
std::optional<std::string> Canonical(const AttributeDefinition& def, std::string_view value,
                                     std::string& why) {
  switch (def.type) {
    case ValueType::kFlag: {
      const std::string v = Lower(value);
      if (v == kTrue || v == kFalse) return v;
      why = "must be true or false";
      return std::nullopt;
    }
    case ValueType::kEnum:
      if (std::find(def.allowed.begin(), def.allowed.end(), value) != def.allowed.end()) {
        return std::string(value);
      }
      why = "must be one of";
      for (size_t i = 0; i < def.allowed.size(); ++i) {
        why.append(i == 0 ? " " : ", ").append(def.allowed[i]);
      }
      return std::nullopt;
    case ValueType::kTimeZone:
      if (IsKnownTimeZone(value)) return std::string(value);
      why = "must be an IANA time zone known to the tz database, e.g. Europe/Brussels";
      return std::nullopt;
  }
  why = "unsupported attribute type";
  return std::nullopt;
}

std::string AppliesText(const AttributeDefinition& d) {
  if (d.defaults.size() == kAllAgencyTypes.size()) {
    return "every type (" + std::string(d.defaults.front().second) + ")";
  }
  std::string out;
  for (const auto& [type, def] : d.defaults) {
    if (!out.empty()) out += ", ";
    out.append(AgencyTypeName(type)).append(" (").append(def.empty() ? "unset" : def).append(")");
  }
  if (d.excludes_service_identities) out += ", not admin/concord-*";
  return out;
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kFlag:
      return "flag";
    case ValueType::kEnum:
      return "enum";
    case ValueType::kTimeZone:
      return "time_zone";
  }
  return "unknown";
}

bool AttributeDefinition::AppliesTo(const AgencyId& agency) const {
  if (excludes_service_identities && IsConcordServiceIdentity(agency)) return false;
  return std::any_of(defaults.begin(), defaults.end(),
                     [&](const auto& d) { return d.first == agency.type; });
}

std::string_view AttributeDefinition::DefaultFor(AgencyType type) const {
  for (const auto& [t, value] : defaults) {
    if (t == type) return value;
  }
  return "";
}

const std::vector<AttributeDefinition>& AttributeDefinitions() {
  static const std::vector<AttributeDefinition>* const defs =
      new std::vector<AttributeDefinition>(BuildDefinitions());
  return *defs;
}

const AttributeDefinition* FindAttribute(std::string_view name) {
  for (const AttributeDefinition& d : AttributeDefinitions()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

StatusOr<AttributeMap> ApplyAttributeSettings(const AgencyId& agency, AttributeMap current,
                                              const std::vector<AttributeSetting>& settings,
                                              std::string_view field) {
  FieldErrors errors;
  if (settings.size() > kMaxAttributeSettings) {
    errors.Add(std::string(field), "at most " + std::to_string(kMaxAttributeSettings) + " entries");
    return errors.ToStatus("invalid agency attributes");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < settings.size(); ++i) {
    const AttributeSetting& s = settings[i];
    const std::string at = std::string(field) + "[" + std::to_string(i) + "]";
    const AttributeDefinition* def = FindAttribute(s.name);
    if (def == nullptr) {
      errors.Add(at + ".name", "unknown attribute (services/directory/README.md lists them)");
      continue;
    }
    if (!seen.insert(s.name).second) {
      errors.Add(at + ".name", "named twice");
      continue;
    }
    if (!def->AppliesTo(agency)) {
      errors.Add(at + ".name",
                 IsConcordServiceIdentity(agency) && def->excludes_service_identities
                     ? std::string("Concord's service identities (admin/concord-*) hold no role")
                     : "does not apply to agency type " + std::string(AgencyTypeName(agency.type)) +
                           " (applies to " + AppliesText(*def) + ")");
      continue;
    }
    if (s.value.empty()) {
      current.erase(s.name);
      continue;
    }
    std::string why;
    std::optional<std::string> canonical = Canonical(*def, s.value, why);
    if (!canonical.has_value()) {
      errors.Add(at + ".value", why);
      continue;
    }
    current[s.name] = *std::move(canonical);
  }
  if (!errors.empty()) return errors.ToStatus("invalid agency attributes");
  return current;
}

AttributeMap SanitizeStoredAttributes(const AgencyId& agency, const AttributeMap& stored) {
  AttributeMap out;
  for (const auto& [name, value] : stored) {
    const AttributeDefinition* def = FindAttribute(name);
    if (def == nullptr || !def->AppliesTo(agency)) continue;
    std::string why;
    if (std::optional<std::string> c = Canonical(*def, value, why); c.has_value() && *c == value) {
      out.emplace(name, value);
    }
  }
  return out;
}

AgencyAttributes::AgencyAttributes(AgencyId agency, AttributeMap explicit_values)
    : agency_(std::move(agency)), explicit_(std::move(explicit_values)) {}

std::optional<std::string> AgencyAttributes::Value(std::string_view name) const {
  const AttributeDefinition* def = FindAttribute(name);
  if (def == nullptr || !def->AppliesTo(agency_)) return std::nullopt;
  if (auto it = explicit_.find(std::string(name)); it != explicit_.end()) return it->second;
  const std::string_view d = def->DefaultFor(agency_.type);
  if (d.empty()) return std::nullopt;
  return std::string(d);
}

bool AgencyAttributes::Flag(std::string_view name) const {
  const std::optional<std::string> v = Value(name);
  return v.has_value() && *v == kTrue;
}

std::optional<std::string> AgencyAttributes::Enum(std::string_view name) const {
  return Value(name);
}

std::string AgencyAttributes::TimeZoneName() const {
  return Value(kTimeZone).value_or(std::string(kDefaultTimeZone));
}

StatusOr<absl::TimeZone> AgencyAttributes::TimeZone() const {
  const std::string name = TimeZoneName();
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) {
    return absl::InternalError("time zone " + name +
                               " is not in this host's tz database (install tzdata)");
  }
  return tz;
}

std::vector<EffectiveAttribute> AgencyAttributes::All() const {
  std::vector<EffectiveAttribute> out;
  for (const AttributeDefinition& def : AttributeDefinitions()) {
    if (!def.AppliesTo(agency_)) continue;
    const auto it = explicit_.find(std::string(def.name));
    const bool is_default = it == explicit_.end();
    std::string value = is_default ? std::string(def.DefaultFor(agency_.type)) : it->second;
    if (value.empty()) continue;
    out.push_back(EffectiveAttribute{def.name, def.type, std::move(value), is_default});
  }
  return out;
}

std::string AttributeTableMarkdown() {
  std::string out =
      "| attribute | type | values | applies to (default) | meaning |\n"
      "|---|---|---|---|---|\n";
  for (const AttributeDefinition& d : AttributeDefinitions()) {
    std::string values;
    switch (d.type) {
      case ValueType::kFlag:
        values = "`true`, `false`";
        break;
      case ValueType::kEnum:
        for (std::string_view a : d.allowed) {
          if (!values.empty()) values += ", ";
          values.append("`").append(a).append("`");
        }
        break;
      case ValueType::kTimeZone:
        values = "IANA name, e.g. `Europe/Brussels`";
        break;
    }
    out.append("| `").append(d.name).append("` | ").append(ValueTypeName(d.type)).append(" | ");
    out.append(values).append(" | ").append(AppliesText(d)).append(" | ");
    out.append(d.description).append(" |\n");
  }
  return out;
}

}  // namespace concord::attributes
