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
// Many messages under one long-lived key (the audit key seals every audit record twice): an
// AeadKey schedules the key once and keeps its initialised cipher contexts for reuse, each call
// only setting a fresh nonce (about 0.4 µs a call less than AeadSeal/AeadOpen, which schedule the
// key on every call; see docs/performance.md, round 9c). Same output, interchangeable with them:
//
//   CONCORD_ASSIGN_OR_RETURN(AeadKey key, AeadKey::Create(key32));
//   CONCORD_ASSIGN_OR_RETURN(std::string sealed, key.Seal(record, /*aad=*/record_id));
//
// Thread safety: thread-safe. AeadSeal/AeadOpen give each call its own cipher context; an
// AeadKey lends each call a context of its own from a small pool (a context is never used by two
// calls at once).
#pragma once

#include <cstddef>
#include <memory>
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

/// An AES-256-GCM key scheduled once, for many AeadSeal/AeadOpen-compatible calls. Copies share
/// the scheduled contexts. The contexts hold the expanded key; they are wiped (OpenSSL cleanses a
/// context when freeing it) when the last copy is destroyed.
class AeadKey {
 public:
  /// INVALID_ARGUMENT unless `key32` is 32 bytes.
  static StatusOr<AeadKey> Create(std::string_view key32);

  /// Same output and errors as AeadSeal(key32, plaintext, aad): nonce||ciphertext||tag.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view aad) const;
  /// Same result and errors as AeadOpen(key32, sealed, aad).
  StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;

  /// Idle contexts kept per direction (more concurrent calls allocate and free their own).
  static constexpr size_t kMaxIdleContexts = 16;

 private:
  struct Pool;  // aead.cc
  explicit AeadKey(std::shared_ptr<Pool> pool) : pool_(std::move(pool)) {}
  std::shared_ptr<Pool> pool_;
};

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
