// File: tests/fuzz/fuzz_support.h
//
// What every fuzz target of tests/fuzz shares: fixed keys (so that seeds made by
// make_fuzz_corpus open and verify), a fixed "now", and FUZZ_INVARIANT, which stops the run
// when a property of the code under test does not hold (libFuzzer then saves the input as a
// crash, and the replay test of the normal build fails on it).
//
// Each target defines LLVMFuzzerTestOneInput. It is linked twice: with libFuzzer (-fsanitize=
// fuzzer, CONCORD_FUZZ builds) to search, and with replay_main.cc (every build) to run its
// committed corpus tests/fuzz/corpus/<target>/ as a ctest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/audit/audit_key.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/seal.h"
#include "common/crypto/x25519.h"
#include "common/envelope/envelope.h"

#define FUZZ_INVARIANT(cond, what)                                                              \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace concord::fuzz {

/// The trust domain of every fuzz seed.
inline constexpr std::string_view kTrustDomain = "concord.test";
/// The recipient label the seal target opens as.
inline constexpr std::string_view kRecipient = "police/pz-antwerp";

/// The input as a string_view.
inline std::string_view Bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// 2026-01-01T00:00:00Z: the clock of the fuzz targets (seeds are made at this time).
inline absl::Time Now() { return absl::FromUnixSeconds(1767225600); }

/// Fixed keys: the fuzz corpus is made with them.
inline const crypto::X25519PrivateKey& SealingKey() {
  static const auto* key =
      new crypto::X25519PrivateKey(*crypto::X25519PrivateKey::FromRaw(std::string(32, '\x42')));
  return *key;
}
inline const crypto::Ed25519PrivateKey& SigningKey() {
  static const auto* key =
      new crypto::Ed25519PrivateKey(*crypto::Ed25519PrivateKey::FromRaw(std::string(32, '\x24')));
  return *key;
}
inline const audit::AuditKey& AuditKey() {
  static const auto* key =
      new audit::AuditKey(*audit::AuditKey::FromBytes(std::string(32, '\x17')));
  return *key;
}

/// The envelope's sealed box (wire and storage form) and the crypto library's are two structs
/// of the same fields.
inline crypto::SealedBox ToCrypto(const envelope::SealedBox& in) {
  crypto::SealedBox out{in.nonce, in.ciphertext, {}};
  for (const auto& k : in.keys) {
    out.keys.push_back({k.recipient, k.ephemeral_public, k.nonce, k.ciphertext});
  }
  return out;
}
inline envelope::SealedBox ToEnvelope(const crypto::SealedBox& in) {
  envelope::SealedBox out{in.nonce, in.ciphertext, {}};
  for (const auto& k : in.keys) {
    out.keys.push_back({k.recipient, k.ephemeral_public, k.nonce, k.ciphertext});
  }
  return out;
}

}  // namespace concord::fuzz
