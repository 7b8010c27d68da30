// File: common/crypto/aead.h
//
// AES-256-GCM with a caller-held 32-byte key, for data at rest (sealed audit records, cached
// secrets). The output is self-contained: nonce (12 random bytes) || ciphertext || tag (16 bytes).
//
//   CONCORD_ASSIGN_OR_RETURN(std::string sealed, AeadSeal(key, record, /*aad=*/record_id));
//   CONCORD_ASSIGN_OR_RETURN(std::string record, AeadOpen(key, sealed, /*aad=*/record_id));
//
// Nonces are random, so one key must not seal more than about 2^32 messages (NIST SP 800-38D
// section 8.3); rotate keys well before that.
//
// Thread safety: thread-safe (each call has its own cipher context).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::crypto {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

/// Encrypts and authenticates `plaintext`, authenticates `aad`. Returns nonce||ciphertext||tag
/// (plaintext.size() + 28 bytes). INVALID_ARGUMENT if key32 is not 32 bytes.
StatusOr<std::string> AeadSeal(std::string_view key32, std::string_view plaintext,
                               std::string_view aad);

/// Reverses AeadSeal. INVALID_ARGUMENT if key32 is not 32 bytes or `sealed` is shorter than
/// 28 bytes; DATA_LOSS if authentication fails (ciphertext, nonce, tag or AAD altered, or a
/// different key). Never returns unauthenticated plaintext.
StatusOr<std::string> AeadOpen(std::string_view key32, std::string_view sealed,
                               std::string_view aad);

namespace internal {
/// AES-256-GCM with an explicit nonce; output ciphertext||tag. Used by AeadSeal and Seal().
StatusOr<std::string> GcmEncrypt(std::string_view key32, std::string_view nonce12,
                                 std::string_view plaintext, std::string_view aad);
/// Input ciphertext||tag; DATA_LOSS on authentication failure with "<what>: ..." in the message.
StatusOr<std::string> GcmDecrypt(std::string_view key32, std::string_view nonce12,
                                 std::string_view ciphertext_and_tag, std::string_view aad,
                                 std::string_view what);
}  // namespace internal

}  // namespace concord::crypto
