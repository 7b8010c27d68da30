// File: common/crypto/kdf.h
//
// HKDF-SHA256 (RFC 5869, extract-then-expand) over OpenSSL's EVP_KDF "HKDF". Seal() uses it to
// turn an X25519 shared secret into a key-encryption key; other modules may use it to derive
// purpose-bound keys from one secret (always with a distinct `info`).
//
//   CONCORD_ASSIGN_OR_RETURN(std::string kek, HkdfSha256(shared, salt, "concord-seal-v1|x", 32));
//
// Thread safety: thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::crypto {

/// HKDF-SHA256(ikm, salt, info) -> `length` bytes. `length` must be in 1..8160 (255 * 32);
/// INVALID_ARGUMENT otherwise. An empty salt means RFC 5869's default (32 zero bytes).
StatusOr<std::string> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                 size_t length);

}  // namespace concord::crypto
