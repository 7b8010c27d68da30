// File: common/crypto/x25519.h
//
// X25519 key agreement (RFC 7748) keys: each agency registers an X25519 public key in the
// directory, and Seal() (seal.h) encrypts bodies to those keys. Agree() exposes the raw
// Diffie-Hellman function for protocols and known-answer tests; most code wants Seal/Open.
//
//   X25519PrivateKey mine = X25519PrivateKey::Generate();
//   std::string pub_pem = mine.PublicKey().ToPem();            // registered in the directory
//   CONCORD_ASSIGN_OR_RETURN(std::string shared, mine.Agree(peer_public));
//
// Key formats: private keys as PKCS#8 PEM or the raw 32-byte scalar; public keys as
// SubjectPublicKeyInfo PEM or the raw 32-byte u-coordinate.
//
// Thread safety: keys are immutable after construction; copies share the underlying key and all
// const methods may be called from any number of threads.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::crypto {

inline constexpr size_t kX25519KeySize = 32;

/// An X25519 public key (u-coordinate).
class X25519PublicKey {
 public:
  /// SPKI PEM. INVALID_ARGUMENT if unparseable or not an X25519 key.
  static StatusOr<X25519PublicKey> FromPem(std::string_view pem);
  /// Raw 32 bytes. INVALID_ARGUMENT if not 32 bytes. (Low-order points are refused at Agree.)
  static StatusOr<X25519PublicKey> FromRaw(std::string_view raw32);

  std::string Raw() const;
  std::string ToPem() const;

  friend bool operator==(const X25519PublicKey& a, const X25519PublicKey& b);

 private:
  friend class X25519PrivateKey;
  struct Impl;
  explicit X25519PublicKey(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

/// An X25519 private key. Secret material is wiped by OpenSSL when the last copy is destroyed.
class X25519PrivateKey {
 public:
  /// PKCS#8 PEM, unencrypted. INVALID_ARGUMENT if unparseable or not an X25519 key.
  static StatusOr<X25519PrivateKey> FromPem(std::string_view pem);
  /// Reads a PEM file: NOT_FOUND if it cannot be opened, otherwise as FromPem.
  static StatusOr<X25519PrivateKey> FromPemFile(const std::string& path);
  /// Raw 32-byte scalar (clamped by the X25519 function, RFC 7748 section 5).
  static StatusOr<X25519PrivateKey> FromRaw(std::string_view raw32);
  /// A fresh key from OpenSSL's CSPRNG. Aborts only if the CSPRNG fails.
  static X25519PrivateKey Generate();

  /// X25519(this, peer): the 32-byte shared secret. INVALID_ARGUMENT if the peer key is a
  /// low-order point (the result would be all zeros, RFC 7748 section 6.1). Use the result only
  /// through a KDF (kdf.h), never directly as a key.
  StatusOr<std::string> Agree(const X25519PublicKey& peer) const;

  X25519PublicKey PublicKey() const;
  /// The raw 32-byte scalar. Secret.
  std::string Raw() const;
  /// PKCS#8 PEM, unencrypted. Secret.
  std::string ToPem() const;

 private:
  struct Impl;
  explicit X25519PrivateKey(std::shared_ptr<const Impl> impl);
  // Takes ownership of a valid X25519 EVP_PKEY.
  static X25519PrivateKey Adopt(EVP_PKEY* pkey);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace concord::crypto
