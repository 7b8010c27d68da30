// File: services/federation/directory_export.h
//
// The signed directory export that crosses between federated deployments (docs/liaison.md
// "Keys across the border"). Pure: building, signing and verifying, no I/O.
//
// Wire form (concord.federation.v1.SignedDirectoryExport): `payload` is a serialized
// DirectoryExport; `signature` is Ed25519 over kExportDomain || 0x00 || payload with the
// exporting deployment's export key, which the receiving deployment pins in its federation
// configuration. The receiver verifies the signature over the bytes received BEFORE parsing,
// then checks the trust domain, that the version did not go back, the age, and each agency
// (partner trust domain, parseable keys).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/federation/v1/federation.pb.h"

namespace concord::federation {

inline constexpr std::string_view kExportDomain = "concord-federation-directory-export-v1";

/// One agency of a verified export, keys parsed.
struct PartnerAgency {
  AgencyId agency;
  std::string display_name;
  crypto::Ed25519PublicKey signing_key;
  crypto::X25519PublicKey sealing_key;
  std::string signing_public_key_pem;
  std::string sealing_public_key_pem;
  std::string time_zone;
};

/// A verified export.
struct PartnerDirectory {
  std::string trust_domain;
  uint64_t version = 0;
  absl::Time issued_at;
  std::vector<PartnerAgency> agencies;

  /// The agency, or nullptr when the export does not hold it (revoked, suspended, not exported).
  const PartnerAgency* Find(const AgencyId& agency) const;
};

/// A partner agency held by two successive verified exports with other keys in the later one
/// (fingerprints as crypto::KeyFingerprint: SHA-256 of the raw public key, groups of 4 hex).
struct PartnerKeyChange {
  AgencyId agency;
  std::string signing_before, signing_after;
  std::string sealing_before, sealing_after;
};

/// The agencies of `after` whose signing or sealing key differs from `before`'s (in `after`'s
/// order). An agency absent from either export (new, suspended, no longer exported) is no key
/// change. Pure.
std::vector<PartnerKeyChange> PartnerKeyChanges(const PartnerDirectory& before,
                                                const PartnerDirectory& after);

/// The bytes signed: kExportDomain, a zero byte, then `payload`.
std::string ExportSigningBytes(std::string_view payload);

/// Serializes and signs `payload` with `key`. The version must be > 0.
StatusOr<v1::SignedDirectoryExport> SignExport(const v1::DirectoryExport& payload,
                                               const crypto::Ed25519PrivateKey& key);

/// Verifies `signed_export` under the pinned `key` and returns the directory. Refusals
/// (PERMISSION_DENIED with ErrorInfo reason):
///   EXPORT_BAD_SIGNATURE       the signature does not verify (or is not 64 bytes)
///   EXPORT_WRONG_TRUST_DOMAIN  the export is not `expected_trust_domain`'s, or names an agency
///                              of another trust domain
///   EXPORT_ROLLBACK            version < `min_version` (a replay of an older export)
///   EXPORT_STALE               issued more than `max_age` before `now`, or more than 5 minutes
///                              in the future
///   EXPORT_MALFORMED           the payload does not parse, or an agency's key does not
StatusOr<PartnerDirectory> VerifyExport(const v1::SignedDirectoryExport& signed_export,
                                        const crypto::Ed25519PublicKey& key,
                                        std::string_view expected_trust_domain,
                                        uint64_t min_version, absl::Time now,
                                        absl::Duration max_age);

}  // namespace concord::federation
