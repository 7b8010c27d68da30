#include "common/crypto/key_endorsement.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/crypto/hash.h"

namespace concord::crypto {

std::string KeyEndorsementBytes(std::string_view agency_spiffe_id,
                                std::string_view previous_signing_raw,
                                std::string_view new_signing_raw, std::string_view new_sealing_raw,
                                absl::Time issued_at) {
  CanonicalWriter w;
  w.AddString(0, kKeyEndorsementDomain);
  w.AddString(1, agency_spiffe_id);
  w.AddString(2, previous_signing_raw);
  w.AddString(3, new_signing_raw);
  w.AddString(4, new_sealing_raw);
  w.AddInt(5, absl::ToUnixNanos(issued_at));
  return w.Release();
}

StatusOr<KeyEndorsement> SignKeyEndorsement(std::string_view agency_spiffe_id,
                                            const Ed25519PrivateKey& previous,
                                            const Ed25519PublicKey& new_signing,
                                            const X25519PublicKey& new_sealing,
                                            absl::Time issued_at) {
  KeyEndorsement e;
  e.previous_signing_key = previous.PublicKey().Raw();
  e.issued_at = issued_at;
  const std::string bytes = KeyEndorsementBytes(agency_spiffe_id, e.previous_signing_key,
                                                new_signing.Raw(), new_sealing.Raw(), issued_at);
  auto signature = previous.Sign(bytes);
  if (!signature.ok()) return signature.status();
  e.signature = *std::move(signature);
  return e;
}

Status VerifyKeyEndorsement(std::string_view agency_spiffe_id, const KeyEndorsement& endorsement,
                            const Ed25519PublicKey& new_signing,
                            const X25519PublicKey& new_sealing) {
  if (endorsement.previous_signing_key.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("key endorsement: previous_signing_key must be 32 bytes");
  }
  if (endorsement.signature.size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError("key endorsement: signature must be 64 bytes");
  }
  auto previous = Ed25519PublicKey::FromRaw(endorsement.previous_signing_key);
  if (!previous.ok()) return previous.status();
  const std::string bytes =
      KeyEndorsementBytes(agency_spiffe_id, endorsement.previous_signing_key, new_signing.Raw(),
                          new_sealing.Raw(), endorsement.issued_at);
  if (!previous->Verify(bytes, endorsement.signature)) {
    return absl::PermissionDeniedError(
        "key endorsement: the signature does not verify with the previous signing key");
  }
  return absl::OkStatus();
}

std::string KeyFingerprint(std::string_view raw_public_key) {
  const std::string hex = Sha256Hex(raw_public_key);
  std::string out;
  out.reserve(hex.size() + hex.size() / 4);
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (i > 0) out.push_back(':');
    out.append(hex, i, 4);
  }
  return out;
}

}  // namespace concord::crypto
