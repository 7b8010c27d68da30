// File: tests/fuzz/pem_key_fuzz.cc
//
// PEM key parsing (common/crypto): the directory takes agencies' public keys as PEM from
// administrators; agency systems and Concord's binaries read private keys from PEM files. Byte 0
// picks the parser (Ed25519 public / private, X25519 public / private); the rest is the PEM
// text. An accepted key writes back to PEM that parses to the same raw key, and an accepted
// Ed25519 private key verifies its own signature.
#include <cstddef>
#include <cstdint>

#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace concord::crypto;
  if (size == 0) return 0;
  const std::string_view pem = concord::fuzz::Bytes(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto k = Ed25519PublicKey::FromPem(pem);
      if (k.ok()) {
        FUZZ_INVARIANT(k->Raw().size() == 32, "Ed25519 public key not 32 bytes");
        auto again = Ed25519PublicKey::FromPem(k->ToPem());
        FUZZ_INVARIANT(again.ok() && again->Raw() == k->Raw(), "Ed25519 public PEM round trip");
        (void)k->Verify("message", std::string(64, '\0'));
      }
      break;
    }
    case 1: {
      auto k = Ed25519PrivateKey::FromPem(pem);
      if (k.ok()) {
        auto again = Ed25519PrivateKey::FromPem(k->ToPem());
        FUZZ_INVARIANT(again.ok() && again->Raw() == k->Raw(), "Ed25519 private PEM round trip");
        auto sig = k->Sign("message");
        FUZZ_INVARIANT(sig.ok() && k->PublicKey().Verify("message", *sig),
                       "a parsed Ed25519 key does not verify its own signature");
      }
      break;
    }
    case 2: {
      auto k = X25519PublicKey::FromPem(pem);
      if (k.ok()) {
        auto again = X25519PublicKey::FromPem(k->ToPem());
        FUZZ_INVARIANT(again.ok() && again->Raw() == k->Raw(), "X25519 public PEM round trip");
      }
      break;
    }
    default: {
      auto k = X25519PrivateKey::FromPem(pem);
      if (k.ok()) {
        auto again = X25519PrivateKey::FromPem(k->ToPem());
        FUZZ_INVARIANT(again.ok() && again->PublicKey().Raw() == k->PublicKey().Raw(),
                       "X25519 private PEM round trip");
      }
      break;
    }
  }
  return 0;
}
