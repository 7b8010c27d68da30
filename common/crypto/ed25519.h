// File: common/crypto/ed25519.h
//
// Ed25519 signatures (RFC 8032, pure Ed25519, no pre-hash, no context) for message signatures,
// receipts and signed guidance: each agency's signing key is registered in the directory and the
// sender signs a canonical encoding (canonical.h) of what it sends.
//
//   CONCORD_ASSIGN_OR_RETURN(Ed25519PrivateKey key, Ed25519PrivateKey::FromPemFile(path));
//   CONCORD_ASSIGN_OR_RETURN(std::string sig, key.Sign(writer.bytes()));
//   bool ok = key.PublicKey().Verify(writer.bytes(), sig);
//
// Two interchangeable backends compute the same signatures: OpenSSL 3 EVP (default) and
// libsodium. The backend is a process-wide switch (SetEd25519Backend) so the messaging benchmark
// can pick the faster one without touching callers; both produce byte-identical signatures
// (Ed25519 is deterministic) and accept each other's, which the unit tests check.
//
// Key formats: private keys as PKCS#8 PEM ("BEGIN PRIVATE KEY") or the raw 32-byte RFC 8032 seed;
// public keys as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") or raw 32 bytes.
//
// Thread safety: keys are immutable after construction; copies share the underlying key and all
// const methods may be called from any number of threads. The backend switch is atomic.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::crypto {

inline constexpr size_t kEd25519KeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

/// Which library computes Ed25519 signatures and verifications.
enum class Ed25519Backend { kOpenSsl, kSodium };

/// Selects the backend used by Sign/Verify calls that do not name one. Process-wide, atomic;
/// meant to be called once at start-up (by main or a benchmark). Default: kOpenSsl.
void SetEd25519Backend(Ed25519Backend backend);

/// The backend currently selected.
Ed25519Backend CurrentEd25519Backend();

/// "openssl" / "sodium".
std::string_view Ed25519BackendName(Ed25519Backend backend);

/// An Ed25519 verification key.
class Ed25519PublicKey {
 public:
  /// SPKI PEM. INVALID_ARGUMENT if unparseable or not an Ed25519 key.
  static StatusOr<Ed25519PublicKey> FromPem(std::string_view pem);
  /// Raw 32-byte RFC 8032 encoding. INVALID_ARGUMENT if not 32 bytes. (Whether the bytes decode
  /// to a curve point is only known at Verify, which then returns false.)
  static StatusOr<Ed25519PublicKey> FromRaw(std::string_view raw32);

  /// True iff `signature` (64 bytes) is a valid signature of `message` under this key, computed
  /// by the current backend. Any malformed input returns false; never crashes.
  bool Verify(std::string_view message, std::string_view signature) const;
  /// Same with an explicit backend (tests, benchmarks).
  bool Verify(std::string_view message, std::string_view signature, Ed25519Backend backend) const;

  /// Raw 32 bytes.
  std::string Raw() const;
  /// SPKI PEM ("-----BEGIN PUBLIC KEY-----").
  std::string ToPem() const;

  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b);

 private:
  friend class Ed25519PrivateKey;
  struct Impl;
  explicit Ed25519PublicKey(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// An Ed25519 signing key. Secret material is wiped when the last copy is destroyed.
class Ed25519PrivateKey {
 public:
  /// PKCS#8 PEM, unencrypted (an encrypted PEM is refused, never prompted for). INVALID_ARGUMENT
  /// if unparseable or not an Ed25519 key.
  static StatusOr<Ed25519PrivateKey> FromPem(std::string_view pem);
  /// Reads a PEM file: NOT_FOUND if it cannot be opened, otherwise as FromPem.
  static StatusOr<Ed25519PrivateKey> FromPemFile(const std::string& path);
  /// The raw 32-byte RFC 8032 secret key (seed). INVALID_ARGUMENT if not 32 bytes.
  static StatusOr<Ed25519PrivateKey> FromRaw(std::string_view seed32);
  /// A fresh key from OpenSSL's CSPRNG. Aborts only if the CSPRNG fails.
  static Ed25519PrivateKey Generate();

  /// Signs `message` with the current backend: 64 bytes. Errors (INTERNAL) are not expected for
  /// a valid key; the StatusOr exists so that a library failure never becomes a crash.
  StatusOr<std::string> Sign(std::string_view message) const;
  /// Same with an explicit backend (tests, benchmarks).
  StatusOr<std::string> Sign(std::string_view message, Ed25519Backend backend) const;

  Ed25519PublicKey PublicKey() const;
  /// The raw 32-byte seed. Secret: keep it out of logs and wipe copies.
  std::string Raw() const;
  /// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted. Secret.
  std::string ToPem() const;

 private:
  struct Impl;
  explicit Ed25519PrivateKey(std::shared_ptr<const Impl> impl);
  // Takes ownership of a valid Ed25519 EVP_PKEY.
  static Ed25519PrivateKey Adopt(EVP_PKEY* pkey);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace concord::crypto
