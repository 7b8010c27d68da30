// File: common/crypto/key_endorsement.h
//
// Key endorsement: an agency's PREVIOUS Ed25519 signing key vouches for its NEW key pair, so
// that a routine key rotation can be accepted automatically by every party that remembers the
// previous key (key continuity, docs/crypto.md "Key endorsement"), while any other key change in
// the directory (an administrator's re-key, or an attacker's swap) is refused until a person
// accepts it explicitly (`concordctl directory trust AGENCY`).
//
// Signed bytes (CanonicalWriter, canonical.h):
//   0  "concord.directory.key_endorsement.v1"
//   1  agency SPIFFE id   "spiffe://<trust-domain>/agency/<type>/<id>"
//   2  previous Ed25519 signing public key, raw 32 bytes
//   3  new Ed25519 signing public key, raw 32 bytes
//   4  new X25519 sealing public key, raw 32 bytes
//   5  int issued_at, nanoseconds since the Unix epoch
// The signature is pure Ed25519 (64 bytes) by the previous signing key over those bytes.
//
//   CONCORD_ASSIGN_OR_RETURN(KeyEndorsement e,
//       SignKeyEndorsement(spiffe, old_signing_key, new_sign.PublicKey(), new_seal.PublicKey(),
//                          absl::Now()));
//   CONCORD_RETURN_IF_ERROR(VerifyKeyEndorsement(spiffe, e, new_sign_pub, new_seal_pub));
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/status/status.h"

namespace concord::crypto {

inline constexpr std::string_view kKeyEndorsementDomain = "concord.directory.key_endorsement.v1";

/// The endorsement carried next to an agency's current keys.
struct KeyEndorsement {
  std::string previous_signing_key;  // raw 32 bytes: the key that signed
  absl::Time issued_at;
  std::string signature;  // 64 bytes
};

/// The canonical bytes that are signed (see the file comment). Inputs are taken as given: raw
/// keys of the wrong size produce bytes that no honest signer signs.
std::string KeyEndorsementBytes(std::string_view agency_spiffe_id,
                                std::string_view previous_signing_raw,
                                std::string_view new_signing_raw, std::string_view new_sealing_raw,
                                absl::Time issued_at);

/// Signs with `previous` (the agency's signing key before the rotation).
StatusOr<KeyEndorsement> SignKeyEndorsement(std::string_view agency_spiffe_id,
                                            const Ed25519PrivateKey& previous,
                                            const Ed25519PublicKey& new_signing,
                                            const X25519PublicKey& new_sealing,
                                            absl::Time issued_at);

/// OK iff `endorsement` is a valid signature by endorsement.previous_signing_key over the
/// agency and the new keys. INVALID_ARGUMENT when a field has the wrong size (message names the
/// field); PERMISSION_DENIED when the signature does not verify.
Status VerifyKeyEndorsement(std::string_view agency_spiffe_id, const KeyEndorsement& endorsement,
                            const Ed25519PublicKey& new_signing,
                            const X25519PublicKey& new_sealing);

/// SHA-256 of a raw public key as lower-case hex in groups of 4 separated by ':' (16 groups):
/// what people compare when they accept a key (`concordctl directory trust`).
std::string KeyFingerprint(std::string_view raw_public_key);

}  // namespace concord::crypto
