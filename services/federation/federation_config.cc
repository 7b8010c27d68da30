// File: services/federation/federation_config.cc
#include "services/federation/federation_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/status/status_macros.h"

namespace concord::federation {
namespace {

bool Contains(const std::vector<AgencyId>& list, const AgencyId& agency) {
  for (const AgencyId& a : list) {
    if (a == agency) return true;
  }
  return false;
}

std::string Label(const AgencyId& agency) { return agency.ToSpiffe(); }

}  // namespace

bool FederationConfig::IsAllowedPartner(const AgencyId& agency) const {
  return agency.trust_domain == partner_trust_domain && Contains(allowed_partner_agencies, agency);
}

bool FederationConfig::IsExportedLocal(const AgencyId& agency) const {
  return agency.trust_domain == local_trust_domain && Contains(exported_local_agencies, agency);
}

StatusOr<FederationConfig> ParseFederationConfig(std::string_view json,
                                                 std::string_view local_trust_domain) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgumentWithFields("invalid federation configuration",
                                     {{"federation-config", "is not a JSON object"}});
  }
  FieldErrors errors;
  FederationConfig cfg;
  cfg.local_trust_domain = std::string(local_trust_domain);
  auto text = [&](const char* key, std::string& out) {
    if (!doc.contains(key) || !doc[key].is_string() || doc[key].get<std::string>().empty()) {
      errors.Add(key, "is required (a non-empty string)");
      return;
    }
    out = doc[key].get<std::string>();
  };
  text("partner_trust_domain", cfg.partner_trust_domain);
  text("partner_address", cfg.partner_address);
  text("partner_ca_file", cfg.partner_ca_file);
  text("listen_address", cfg.listen_address);
  text("gateway_cert_file", cfg.gateway_cert_file);
  text("gateway_key_file", cfg.gateway_key_file);
  text("export_key_file", cfg.export_key_file);
  if (doc.contains("liaison_address")) {
    if (!doc["liaison_address"].is_string()) {
      errors.Add("liaison_address", "must be a host:port string");
    } else {
      cfg.liaison_address = doc["liaison_address"].get<std::string>();
    }
  }
  if (cfg.partner_trust_domain == local_trust_domain) {
    errors.Add("partner_trust_domain", "must differ from this deployment's trust domain");
  }
  std::string key_pem;
  text("partner_export_key_pem", key_pem);
  if (!key_pem.empty()) {
    auto key = crypto::Ed25519PublicKey::FromPem(key_pem);
    if (key.ok()) {
      cfg.partner_export_key = *key;
    } else {
      errors.Add("partner_export_key_pem", "is not an Ed25519 public key (SPKI PEM)");
    }
  }
  auto agencies = [&](const char* key, std::string_view trust_domain, std::vector<AgencyId>& out) {
    if (!doc.contains(key) || !doc[key].is_array() || doc[key].empty()) {
      errors.Add(key, "is required (a non-empty array of SPIFFE ids)");
      return;
    }
    if (doc[key].size() > 1000) {
      errors.Add(key, "has more than 1000 entries");
      return;
    }
    for (size_t i = 0; i < doc[key].size(); ++i) {
      const std::string field = std::string(key) + "[" + std::to_string(i) + "]";
      if (!doc[key][i].is_string()) {
        errors.Add(field, "must be a SPIFFE id string");
        continue;
      }
      auto agency = ParseSpiffeId(doc[key][i].get<std::string>());
      if (!agency.ok()) {
        errors.Add(field, std::string(agency.status().message()));
        continue;
      }
      if (agency->trust_domain != trust_domain) {
        errors.Add(field, "must be in trust domain " + std::string(trust_domain));
        continue;
      }
      out.push_back(*agency);
    }
  };
  agencies("allow", cfg.partner_trust_domain, cfg.allowed_partner_agencies);
  agencies("export", local_trust_domain, cfg.exported_local_agencies);
  auto seconds = [&](const char* key, int64_t def, int64_t lo, int64_t hi) -> int64_t {
    if (!doc.contains(key)) return def;
    if (!doc[key].is_number_integer() || doc[key].get<int64_t>() < lo ||
        doc[key].get<int64_t>() > hi) {
      errors.Add(key, "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
      return def;
    }
    return doc[key].get<int64_t>();
  };
  const int64_t refresh = seconds("refresh_seconds", 60, 1, 3600);
  const int64_t max_age = seconds("max_export_age_seconds", 300, 2, 86400);
  if (max_age < 2 * refresh) {
    errors.Add("max_export_age_seconds", "must be at least twice refresh_seconds");
  }
  cfg.refresh_interval = absl::Seconds(refresh);
  cfg.max_export_age = absl::Seconds(max_age);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid federation configuration"));
  return cfg;
}

StatusOr<FederationConfig> LoadFederationConfig(const std::string& path,
                                                std::string_view local_trust_domain) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read the federation configuration " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseFederationConfig(buffer.str(), local_trust_domain);
}

Status CheckAllowedPartner(const FederationConfig& config, const AgencyId& agency) {
  if (config.IsAllowedPartner(agency)) return absl::OkStatus();
  return WithReason(
      absl::PermissionDeniedError(Label(agency) + " is not on this deployment's allow-list of "
                                                  "partner agencies"),
      "PARTNER_NOT_ALLOWED", {{"agency", Label(agency)}});
}

Status CheckExportedLocal(const FederationConfig& config, const AgencyId& agency) {
  if (config.IsExportedLocal(agency)) return absl::OkStatus();
  return WithReason(
      absl::PermissionDeniedError(Label(agency) +
                                  " is not on this deployment's list of agencies that cross to "
                                  "the partner"),
      "PARTNER_NOT_ALLOWED", {{"agency", Label(agency)}});
}

}  // namespace concord::federation
