// File: common/crypto/seal.h
//
// End-to-end sealing of a body to N recipient agencies (ECDH + HKDF-SHA256 + AES-256-GCM, one
// content key wrapped per recipient). Redis and the services only ever see a SealedBox.
//
//   Seal:  content key K (32 random bytes); nonce N (12 random bytes);
//          ciphertext = AES-256-GCM(K, N, plaintext, aad) || tag(16)
//          per recipient (id, P):
//            ephemeral X25519 pair (e, E); S = X25519(e, P)
//            KEK = HKDF-SHA256(ikm = S, salt = E || P, info = "concord-seal-v1|" + id, 32 bytes)
//            wrapped = AES-256-GCM(KEK, n_i random 12 bytes, K, aad = id) || tag(16)   (48 bytes)
//   Open:  find the entry for `recipient`, recompute KEK with the private key, unwrap K, decrypt.
//
// The per-recipient KEK is bound to the ephemeral key, the recipient key and the recipient id, and
// the wrap authenticates the id, so an entry cannot be moved to another recipient. The SealedBox
// as a whole is not signed here: the sender signs it (with the envelope) using ed25519.h; a
// recipient must verify that signature before trusting the sender.
//
// Key commitment. AES-GCM does not commit to its key: a sender can build one ciphertext that
// opens under two content keys K1 and K2 to two different plaintexts, and wrap K1 for one
// recipient and K2 for another ("invisible salamanders"); a signature over the box then covers
// both readings. SealCommitted also returns
//     commitment = SHA-256("concord-seal-key-commitment-v1|" || K)      (32 bytes)
// which the sender puts in what it signs; OpenCommitted unwraps K, recomputes the commitment and
// refuses a mismatch (DATA_LOSS, reason KEY_COMMITMENT_MISMATCH) BEFORE decrypting. Two
// recipients who accept the same signed commitment therefore hold the same K (finding K1 != K2
// with equal commitments is a SHA-256 collision), hence read the same plaintext. The prefix has a
// fixed length and K is always 32 bytes, so the hashed string is unambiguous; K is 256 random
// bits, so the commitment reveals nothing usable about it.
//
//   CONCORD_ASSIGN_OR_RETURN(SealedBox box, Seal(body, {{"police/antwerp", police_pub},
//                                                      {"reception_centre/payoke", rc_pub}},
//                                                 /*aad=*/envelope_id));
//   CONCORD_ASSIGN_OR_RETURN(std::string body, Open(box, "police/antwerp", my_x25519,
//   envelope_id));
//
// Thread safety: thread-safe (no shared mutable state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto/x25519.h"
#include "common/status/status.h"

namespace concord::crypto {

inline constexpr size_t kMaxSealRecipients = 64;
inline constexpr size_t kMaxRecipientIdSize = 255;
inline constexpr std::string_view kSealInfoPrefix = "concord-seal-v1|";
inline constexpr std::string_view kKeyCommitmentPrefix = "concord-seal-key-commitment-v1|";
inline constexpr size_t kKeyCommitmentSize = 32;

/// The content key wrapped for one recipient. All fields are binary.
struct WrappedKey {
  std::string recipient;         // recipient id (e.g. AgencyId::Key()), 1..255 bytes
  std::string ephemeral_public;  // 32-byte X25519 public key
  std::string nonce;             // 12 bytes
  std::string ciphertext;        // wrapped 32-byte content key || 16-byte tag = 48 bytes
};

/// A body sealed to one or more recipients. All fields are binary.
struct SealedBox {
  std::string nonce;             // 12 bytes
  std::string ciphertext;        // AES-256-GCM ciphertext || 16-byte tag
  std::vector<WrappedKey> keys;  // one per recipient, in the order given to Seal
};

/// Seals `plaintext` to every (id, X25519 public key) in `recipients`; `aad` is authenticated
/// (not encrypted) and must be presented again to Open. INVALID_ARGUMENT if there are no
/// recipients, more than kMaxSealRecipients, an empty or over-long id, a duplicate id, or a
/// low-order recipient key.
StatusOr<SealedBox> Seal(std::string_view plaintext,
                         const std::vector<std::pair<std::string, X25519PublicKey>>& recipients,
                         std::string_view aad = {});

/// A sealed box and the commitment to its content key (see "Key commitment" above).
struct CommittedBox {
  SealedBox box;
  std::string key_commitment;  // 32 bytes: SHA-256(kKeyCommitmentPrefix || content key)
};

/// SHA-256(kKeyCommitmentPrefix || content_key), 32 raw bytes.
std::string ContentKeyCommitment(std::string_view content_key);

/// Seal, and the commitment to the box's content key. Same errors as Seal.
StatusOr<CommittedBox> SealCommitted(
    std::string_view plaintext,
    const std::vector<std::pair<std::string, X25519PublicKey>>& recipients,
    std::string_view aad = {});

/// Open, checking after the unwrap and before decrypting that the content key matches
/// `key_commitment` (32 bytes, taken from what the sender signed). Open's errors, plus DATA_LOSS
/// with reason KEY_COMMITMENT_MISMATCH when it does not match (the sender wrapped another key
/// for this recipient than the one it committed to) or the commitment is not 32 bytes.
StatusOr<std::string> OpenCommitted(const SealedBox& box, std::string_view recipient,
                                    const X25519PrivateKey& key, std::string_view aad,
                                    std::string_view key_commitment);

/// Opens `box` as `recipient` with its X25519 private key and the same `aad` as at sealing.
///   INVALID_ARGUMENT: malformed box (field sizes, key count, duplicate entries for `recipient`);
///   NOT_FOUND: the box has no entry for `recipient`;
///   DATA_LOSS: authentication failed: any altered byte (ciphertext, nonce, tag, wrapped key,
///              ephemeral key, recipient id) or a different aad, or the wrong private key.
/// Never returns unauthenticated plaintext; never crashes on hostile input.
StatusOr<std::string> Open(const SealedBox& box, std::string_view recipient,
                           const X25519PrivateKey& key, std::string_view aad = {});

}  // namespace concord::crypto
