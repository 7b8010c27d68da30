// File: services/federation/federation_config.h
//
// The federation configuration of one deployment's gateway (docs/liaison.md "Federation with a
// partner deployment"): one JSON file (--federation-config), read once at start. Pure: parsing
// and the allow-list/export-list decisions, unit tested without I/O.
//
//   {
//     "partner_trust_domain": "partner.test",
//     "partner_address": "127.0.0.1:7544",            // the partner gateway's partner port
//     "partner_ca_file": "var/partner/ca.pem",         // the partner CA ALONE (trust bundle)
//     "partner_export_key_pem": "-----BEGIN PUBLIC KEY-----...",  // pinned Ed25519 key
//     "listen_address": "127.0.0.1:7444",              // this gateway's partner port
//     "gateway_cert_file": "...", "gateway_key_file": "...",  // admin/concord-gateway (our CA)
//     "export_key_file": "...",                        // our export signing key (Ed25519 PKCS#8)
//     "allow":  ["spiffe://partner.test/agency/magistrate/om-rotterdam"],
//     "export": ["spiffe://concord.test/agency/magistrate/parquet-bxl"],
//     "refresh_seconds": 60,                           // partner export fetch period (1..3600)
//     "max_export_age_seconds": 300                    // older export: crossings refused
//   }
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::federation {

struct FederationConfig {
  std::string local_trust_domain;
  std::string partner_trust_domain;
  std::string partner_address;
  std::string partner_ca_file;
  std::optional<crypto::Ed25519PublicKey> partner_export_key;  // set once parsed
  std::string listen_address;
  std::string gateway_cert_file;
  std::string gateway_key_file;
  std::string export_key_file;
  /// Optional: this deployment's liaison service (host:port of concord-server or
  /// concord-liaison), reached with the gateway certificate and the deployment CA (--tls-ca) to
  /// record liaison descriptors that cross (Liaison/RecordCrossing). Empty: descriptors are
  /// refused (FAILED_PRECONDITION LIAISON_NOT_CONFIGURED).
  std::string liaison_address;
  std::vector<AgencyId> allowed_partner_agencies;  // partner trust domain
  std::vector<AgencyId> exported_local_agencies;   // local trust domain
  absl::Duration refresh_interval = absl::Seconds(60);
  absl::Duration max_export_age = absl::Seconds(300);

  /// True when `agency` (of the partner trust domain) is on the allow-list.
  bool IsAllowedPartner(const AgencyId& agency) const;
  /// True when `agency` (of this trust domain) is on the export list.
  bool IsExportedLocal(const AgencyId& agency) const;
};

/// Parses the JSON text above. INVALID_ARGUMENT with one field violation per problem (field =
/// the JSON key): missing key, bad SPIFFE id, an allow entry outside the partner trust domain or
/// an export entry outside `local_trust_domain`, the partner trust domain equal to ours, an
/// unparseable pinned key, refresh_seconds outside 1..3600, max_export_age_seconds below
/// 2 x refresh_seconds or above 86400.
StatusOr<FederationConfig> ParseFederationConfig(std::string_view json,
                                                 std::string_view local_trust_domain);

/// Reads and parses the file: NOT_FOUND if it cannot be read, otherwise as above.
StatusOr<FederationConfig> LoadFederationConfig(const std::string& path,
                                                std::string_view local_trust_domain);

/// PERMISSION_DENIED, ErrorInfo PARTNER_NOT_ALLOWED {agency}, unless `agency` is an allow-listed
/// partner agency.
Status CheckAllowedPartner(const FederationConfig& config, const AgencyId& agency);

/// PERMISSION_DENIED, ErrorInfo PARTNER_NOT_ALLOWED {agency}, unless `agency` is a local agency
/// on the export list.
Status CheckExportedLocal(const FederationConfig& config, const AgencyId& agency);

}  // namespace concord::federation
