// File: common/crypto/crypto.h
//
// Umbrella header for concord_crypto (namespace concord::crypto): OpenSSL 3 EVP primitives
// behind Concord's Status error model, no I/O besides reading key files.
//   encoding.h   Bytes, hex, strict Base64
//   hash.h       SHA-256, constant-time comparison
//   kdf.h        HKDF-SHA256
//   aead.h       AES-256-GCM with a 32-byte key (data at rest)
//   ed25519.h    signing keys, backend switch (OpenSSL / libsodium)
//   x25519.h     key-agreement keys
//   seal.h       Seal/Open a body to N recipients
//   canonical.h  the deterministic encoding that is signed and hashed
// Design notes: docs/crypto.md. Prefer including the specific header.
#pragma once

#include "common/crypto/aead.h"
#include "common/crypto/canonical.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/crypto/kdf.h"
#include "common/crypto/seal.h"
#include "common/crypto/x25519.h"
