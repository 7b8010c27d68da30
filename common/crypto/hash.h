// File: common/crypto/hash.h
//
// SHA-256 (OpenSSL EVP), HMAC-SHA256 and constant-time comparison. Used for attachment digests,
// the audit hash chain, keyed ids (HMAC under a deployment secret) and anywhere secrets or MACs
// are compared.
//
//   std::array<uint8_t, 32> d = concord::crypto::Sha256("abc");
//   std::string hex = concord::crypto::Sha256Hex("abc");  // "ba7816bf..."
//   if (!concord::crypto::ConstantTimeEquals(presented, expected)) { ... }
//
// Thread safety: every function is thread-safe (no shared mutable state).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace concord::crypto {

/// SHA-256 digest of `data` (FIPS 180-4). Never fails (an OpenSSL failure here aborts: it
/// cannot be caused by input).
std::array<uint8_t, 32> Sha256(std::string_view data);

/// SHA-256 of the concatenation of `parts`, without concatenating them first (same digest as
/// Sha256(a + b + ...)).
std::array<uint8_t, 32> Sha256Concat(std::initializer_list<std::string_view> parts);

/// Lower-case hex of Sha256(data): 64 characters.
std::string Sha256Hex(std::string_view data);

/// HMAC-SHA256 (RFC 2104, FIPS 198-1) of `data` under `key` (any length; keys longer than 64
/// bytes are hashed first, as the RFC says). Never fails (an OpenSSL failure aborts).
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data);

/// Lower-case hex of HmacSha256(key, data): 64 characters.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

/// True iff `a` and `b` are byte-for-byte equal. The time taken depends only on the lengths (the
/// length is not treated as secret; different lengths return false at once), never on the
/// position of the first difference (CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace concord::crypto
