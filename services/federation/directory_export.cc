// File: services/federation/directory_export.cc
#include "services/federation/directory_export.h"

#include "common/crypto/key_endorsement.h"
#include "common/envelope/envelope_proto.h"
#include "common/status/status_macros.h"

namespace concord::federation {
namespace {

Status Refused(std::string message, std::string_view reason) {
  return WithReason(absl::PermissionDeniedError("partner directory export refused: " + message),
                    reason);
}

}  // namespace

const PartnerAgency* PartnerDirectory::Find(const AgencyId& agency) const {
  for (const PartnerAgency& a : agencies) {
    if (a.agency == agency) return &a;
  }
  return nullptr;
}

std::vector<PartnerKeyChange> PartnerKeyChanges(const PartnerDirectory& before,
                                                const PartnerDirectory& after) {
  std::vector<PartnerKeyChange> changes;
  for (const PartnerAgency& now : after.agencies) {
    const PartnerAgency* was = before.Find(now.agency);
    if (was == nullptr) continue;
    const std::string signing_before = crypto::KeyFingerprint(was->signing_key.Raw());
    const std::string signing_after = crypto::KeyFingerprint(now.signing_key.Raw());
    const std::string sealing_before = crypto::KeyFingerprint(was->sealing_key.Raw());
    const std::string sealing_after = crypto::KeyFingerprint(now.sealing_key.Raw());
    if (signing_before == signing_after && sealing_before == sealing_after) continue;
    changes.push_back({now.agency, signing_before, signing_after, sealing_before, sealing_after});
  }
  return changes;
}

std::string ExportSigningBytes(std::string_view payload) {
  std::string out(kExportDomain);
  out.push_back('\0');
  out.append(payload);
  return out;
}

StatusOr<v1::SignedDirectoryExport> SignExport(const v1::DirectoryExport& payload,
                                               const crypto::Ed25519PrivateKey& key) {
  if (payload.version() == 0) return absl::InvalidArgumentError("export version must be > 0");
  v1::SignedDirectoryExport out;
  if (!payload.SerializeToString(out.mutable_payload())) {
    return absl::InternalError("cannot serialize the directory export");
  }
  CONCORD_ASSIGN_OR_RETURN(std::string signature, key.Sign(ExportSigningBytes(out.payload())));
  out.set_signature(std::move(signature));
  return out;
}

StatusOr<PartnerDirectory> VerifyExport(const v1::SignedDirectoryExport& signed_export,
                                        const crypto::Ed25519PublicKey& key,
                                        std::string_view expected_trust_domain,
                                        uint64_t min_version, absl::Time now,
                                        absl::Duration max_age) {
  // Security: nothing of the payload is looked at before the pinned key vouches for it.
  if (signed_export.signature().size() != 64 ||
      !key.Verify(ExportSigningBytes(signed_export.payload()), signed_export.signature())) {
    return Refused("the signature does not verify under the pinned partner export key",
                   "EXPORT_BAD_SIGNATURE");
  }
  v1::DirectoryExport payload;
  if (!payload.ParseFromString(signed_export.payload())) {
    return Refused("the payload does not parse", "EXPORT_MALFORMED");
  }
  if (payload.trust_domain() != expected_trust_domain) {
    return Refused("it is trust domain " + payload.trust_domain() + "'s, not " +
                       std::string(expected_trust_domain) + "'s",
                   "EXPORT_WRONG_TRUST_DOMAIN");
  }
  if (payload.version() == 0 || payload.version() < min_version) {
    return Refused("version " + std::to_string(payload.version()) + " is older than version " +
                       std::to_string(min_version) + " already accepted",
                   "EXPORT_ROLLBACK");
  }
  PartnerDirectory out;
  out.trust_domain = payload.trust_domain();
  out.version = payload.version();
  out.issued_at = envelope::TimeFromProto(payload.issued_at());
  if (out.issued_at + max_age < now || out.issued_at > now + absl::Minutes(5)) {
    return Refused("issued at " + absl::FormatTime(out.issued_at) + ", outside the accepted age",
                   "EXPORT_STALE");
  }
  for (const v1::ExportedAgency& a : payload.agencies()) {
    auto agency = envelope::AgencyFromProto(a.agency());
    if (!agency.ok()) return Refused("an agency id is invalid", "EXPORT_MALFORMED");
    if (agency->trust_domain != expected_trust_domain) {
      return Refused("agency " + agency->ToSpiffe() + " is outside the partner trust domain",
                     "EXPORT_WRONG_TRUST_DOMAIN");
    }
    auto signing = crypto::Ed25519PublicKey::FromPem(a.signing_public_key_pem());
    auto sealing = crypto::X25519PublicKey::FromPem(a.sealing_public_key_pem());
    if (!signing.ok() || !sealing.ok()) {
      return Refused("a key of " + agency->ToSpiffe() + " does not parse", "EXPORT_MALFORMED");
    }
    out.agencies.push_back(PartnerAgency{.agency = *agency,
                                         .display_name = a.display_name(),
                                         .signing_key = *signing,
                                         .sealing_key = *sealing,
                                         .signing_public_key_pem = a.signing_public_key_pem(),
                                         .sealing_public_key_pem = a.sealing_public_key_pem(),
                                         .time_zone = a.time_zone()});
  }
  return out;
}

}  // namespace concord::federation
