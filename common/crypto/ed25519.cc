// File: common/crypto/ed25519.cc
//
// Both backends are fed from the same key material: the OpenSSL EVP_PKEY is the source of truth
// (PEM, raw import/export, key generation) and the libsodium secret key is derived from its
// 32-byte seed (libsodium's 64-byte "secret key" is seed || public key). Verification keys keep a
// ready EVP_PKEY so that Verify does not rebuild one per call.
//
// Edge-case note: the two libraries agree on every valid signature (RFC 8032 is deterministic),
// but libsodium is stricter about degenerate inputs (it refuses small-order public keys and R
// values that OpenSSL 3.0 accepts). Honest keys never hit this; a forged small-order key could
// make the two backends disagree, i.e. libsodium is the safer choice for verification.
#include "common/crypto/ed25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "common/crypto/openssl_util.h"

namespace concord::crypto {
namespace {

std::atomic<Ed25519Backend> g_backend{Ed25519Backend::kOpenSsl};

// sodium_init() is idempotent and thread-safe, but costs a call; do it once per process.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) internal::FatalOpenSsl("sodium_init failed");
}

}  // namespace

void SetEd25519Backend(Ed25519Backend backend) {
  if (backend == Ed25519Backend::kSodium) EnsureSodium();
  g_backend.store(backend, std::memory_order_relaxed);
}

Ed25519Backend CurrentEd25519Backend() { return g_backend.load(std::memory_order_relaxed); }

std::string_view Ed25519BackendName(Ed25519Backend backend) {
  switch (backend) {
    case Ed25519Backend::kOpenSsl:
      return "openssl";
    case Ed25519Backend::kSodium:
      return "sodium";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Public key

struct Ed25519PublicKey::Impl {
  internal::EvpPkeyPtr pkey;
  std::array<unsigned char, kEd25519KeySize> raw{};
};

Ed25519PublicKey::Ed25519PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromRaw(std::string_view raw32) {
  if (raw32.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("crypto: Ed25519 public key must be 32 bytes");
  }
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, internal::U8(raw32), raw32.size()));
  if (impl->pkey == nullptr) {
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument, "Ed25519 public key");
  }
  std::copy(raw32.begin(), raw32.end(), impl->raw.begin());
  return Ed25519PublicKey(std::move(impl));
}

StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromPem(std::string_view pem) {
  auto pkey = internal::PublicKeyFromPem(pem, EVP_PKEY_ED25519, "Ed25519 public key");
  if (!pkey.ok()) return pkey.status();
  auto impl = std::make_shared<Impl>();
  const std::string raw = internal::RawPublicKey(pkey->get());
  std::copy(raw.begin(), raw.end(), impl->raw.begin());
  impl->pkey = std::move(*pkey);
  return Ed25519PublicKey(std::move(impl));
}

bool Ed25519PublicKey::Verify(std::string_view message, std::string_view signature) const {
  return Verify(message, signature, CurrentEd25519Backend());
}

bool Ed25519PublicKey::Verify(std::string_view message, std::string_view signature,
                              Ed25519Backend backend) const {
  if (signature.size() != kEd25519SignatureSize) return false;
  if (backend == Ed25519Backend::kSodium) {
    EnsureSodium();
    return crypto_sign_verify_detached(internal::U8(signature), internal::U8(message),
                                       message.size(), impl_->raw.data()) == 0;
  }
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr,
                                                impl_->pkey.get(), nullptr) != 1) {
    internal::DrainOpenSslErrors();
    return false;
  }
  const int rc = EVP_DigestVerify(ctx.get(), internal::U8(signature), signature.size(),
                                  internal::U8(message), message.size());
  if (rc != 1) internal::DrainOpenSslErrors();
  return rc == 1;
}

std::string Ed25519PublicKey::Raw() const {
  return std::string(reinterpret_cast<const char*>(impl_->raw.data()), impl_->raw.size());
}

std::string Ed25519PublicKey::ToPem() const { return internal::PublicKeyToPem(impl_->pkey.get()); }

bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) {
  return a.impl_->raw == b.impl_->raw;
}

// ---------------------------------------------------------------------------------------------
// Private key

struct Ed25519PrivateKey::Impl {
  Impl(internal::EvpPkeyPtr p, Ed25519PublicKey pub)
      : pkey(std::move(p)), public_key(std::move(pub)) {}
  ~Impl() { OPENSSL_cleanse(sodium_secret.data(), sodium_secret.size()); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  internal::EvpPkeyPtr pkey;
  Ed25519PublicKey public_key;
  // libsodium's secret key layout: seed (32) || public key (32).
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sodium_secret{};
};

Ed25519PrivateKey::Ed25519PrivateKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Ed25519PrivateKey Ed25519PrivateKey::Adopt(EVP_PKEY* raw_pkey) {
  internal::EvpPkeyPtr pkey(raw_pkey);
  // Only allocation can fail from here on for a valid key, hence no Status.
  auto pub = Ed25519PublicKey::FromRaw(internal::RawPublicKey(pkey.get()));
  if (!pub.ok()) internal::FatalOpenSsl("Ed25519 public key from private key");
  std::string seed = internal::RawPrivateKey(pkey.get());
  auto impl = std::make_shared<Impl>(std::move(pkey), *std::move(pub));
  std::copy(seed.begin(), seed.end(), impl->sodium_secret.begin());
  const std::string pub_raw = impl->public_key.Raw();
  std::copy(pub_raw.begin(), pub_raw.end(), impl->sodium_secret.begin() + kEd25519KeySize);
  internal::Cleanse(seed);
  return Ed25519PrivateKey(std::move(impl));
}

StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromRaw(std::string_view seed32) {
  if (seed32.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("crypto: Ed25519 private key must be 32 bytes");
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, internal::U8(seed32), seed32.size());
  if (pkey == nullptr) {
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument, "Ed25519 private key");
  }
  return Adopt(pkey);
}

StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPem(std::string_view pem) {
  auto pkey = internal::PrivateKeyFromPem(pem, EVP_PKEY_ED25519, "Ed25519 private key");
  if (!pkey.ok()) return pkey.status();
  return Adopt(pkey->release());
}

StatusOr<Ed25519PrivateKey> Ed25519PrivateKey::FromPemFile(const std::string& path) {
  auto pem = internal::ReadKeyFile(path);
  if (!pem.ok()) return pem.status();
  auto key = FromPem(*pem);
  internal::Cleanse(*pem);
  return key;
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) internal::FatalOpenSsl("Ed25519 key generation");
  return Adopt(pkey);
}

StatusOr<std::string> Ed25519PrivateKey::Sign(std::string_view message) const {
  return Sign(message, CurrentEd25519Backend());
}

StatusOr<std::string> Ed25519PrivateKey::Sign(std::string_view message,
                                              Ed25519Backend backend) const {
  std::string sig(kEd25519SignatureSize, '\0');
  if (backend == Ed25519Backend::kSodium) {
    EnsureSodium();
    if (crypto_sign_detached(internal::U8(sig), nullptr, internal::U8(message), message.size(),
                             impl_->sodium_secret.data()) != 0) {
      return absl::InternalError("crypto: libsodium Ed25519 signing failed");
    }
    return sig;
  }
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = sig.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, impl_->pkey.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), internal::U8(sig), &len, internal::U8(message), message.size()) !=
          1 ||
      len != kEd25519SignatureSize) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "Ed25519 signing");
  }
  return sig;
}

Ed25519PublicKey Ed25519PrivateKey::PublicKey() const { return impl_->public_key; }

std::string Ed25519PrivateKey::Raw() const { return internal::RawPrivateKey(impl_->pkey.get()); }

std::string Ed25519PrivateKey::ToPem() const {
  return internal::PrivateKeyToPem(impl_->pkey.get());
}

}  // namespace concord::crypto
