// File: common/crypto/openssl_util.h
//
// Private machinery of concord_crypto (not part of the public API; listed in SRCS): RAII owners
// for OpenSSL 3 handles, the shared error-to-Status conversion, and the process-wide fetched
// algorithm objects (EVP_CIPHER / EVP_MD / EVP_KDF) so that hot paths do not re-fetch from the
// provider on every call.
//
// Thread safety: the owners are plain unique_ptrs (one owner, one thread at a time); the fetched
// algorithm objects are immutable after the first call and safe to share between threads.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/crypto/openssl_ptr.h"
#include "common/status/status.h"

namespace concord::crypto::internal {

struct EvpPkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpCipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EvpKdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

using EvpPkeyPtr = openssl::PkeyPtr;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, EvpKdfCtxDeleter>;
using BioPtr = openssl::BioPtr;

/// Drains this thread's OpenSSL error queue and returns the first reason string (or "unknown").
/// Every failure path calls this: a stale error left in the queue would be picked up later by an
/// unrelated OpenSSL user on the same thread (gRPC's TLS handshake, for one).
std::string DrainOpenSslErrors();

/// `code` status "crypto: <what>: <openssl reason>"; drains the error queue.
Status OpenSslError(absl::StatusCode code, std::string_view what);

/// Aborts the process with a message: only for failures input cannot cause (RAND_bytes or key
/// generation failing, allocation failure inside OpenSSL).
[[noreturn]] void FatalOpenSsl(std::string_view what);

/// Fetched once per process (thread-safe static initialisation); never null (aborts otherwise).
const EVP_CIPHER* Aes256Gcm();
const EVP_MD* Sha256Md();
EVP_KDF* HkdfKdf();

/// Byte-view helpers (OpenSSL speaks unsigned char, Concord speaks std::string).
inline const unsigned char* U8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
inline unsigned char* U8(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

/// Cryptographically secure random bytes (OpenSSL's DRBG, RAND_bytes); aborts if the DRBG fails.
/// Requests up to 128 bytes are served from a per-thread reserve drawn 1 KiB at a time (each byte
/// handed out once and wiped; a forked child never reuses its parent's reserve).
std::string SecureRandom(size_t n);

/// Overwrites `s` with zeros (OPENSSL_cleanse, not optimised away) and clears it.
void Cleanse(std::string& s);

/// Largest PEM text accepted (a key PEM is well under 1 KiB; this bounds the work done on input).
inline constexpr size_t kMaxPemSize = 64 * 1024;

/// Parses a PEM private key (PKCS#8 "PRIVATE KEY"; OpenSSL also accepts its legacy forms) and
/// checks its type (EVP_PKEY_ED25519 / EVP_PKEY_X25519). Encrypted PEM is refused (never prompts
/// for a passphrase). INVALID_ARGUMENT naming `what` on any failure.
StatusOr<EvpPkeyPtr> PrivateKeyFromPem(std::string_view pem, int evp_type, std::string_view what);

/// Parses a PEM SubjectPublicKeyInfo ("PUBLIC KEY") and checks its type; INVALID_ARGUMENT.
StatusOr<EvpPkeyPtr> PublicKeyFromPem(std::string_view pem, int evp_type, std::string_view what);

/// PKCS#8 PEM of the private key (unencrypted) / SPKI PEM of the public key. Abort on failure
/// (only allocation can fail for a valid key).
std::string PrivateKeyToPem(EVP_PKEY* pkey);
std::string PublicKeyToPem(EVP_PKEY* pkey);

/// Raw 32-byte encodings (RFC 8032 / RFC 7748) of a valid Ed25519/X25519 key; abort on failure.
std::string RawPrivateKey(EVP_PKEY* pkey);
std::string RawPublicKey(EVP_PKEY* pkey);

/// Reads a file of at most kMaxPemSize bytes. NOT_FOUND if it cannot be opened,
/// INVALID_ARGUMENT if too large.
StatusOr<std::string> ReadKeyFile(const std::string& path);

}  // namespace concord::crypto::internal
