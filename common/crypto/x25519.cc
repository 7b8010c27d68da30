// File: common/crypto/x25519.cc
#include "common/crypto/x25519.h"

#include <openssl/evp.h>

#include "common/crypto/openssl_util.h"

namespace concord::crypto {

// ---------------------------------------------------------------------------------------------
// Public key

struct X25519PublicKey::Impl {
  internal::EvpPkeyPtr pkey;
  std::string raw;
};

X25519PublicKey::X25519PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

StatusOr<X25519PublicKey> X25519PublicKey::FromRaw(std::string_view raw32) {
  if (raw32.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("crypto: X25519 public key must be 32 bytes");
  }
  auto impl = std::make_shared<Impl>();
  impl->pkey.reset(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, internal::U8(raw32), raw32.size()));
  if (impl->pkey == nullptr) {
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument, "X25519 public key");
  }
  impl->raw = std::string(raw32);
  return X25519PublicKey(std::move(impl));
}

StatusOr<X25519PublicKey> X25519PublicKey::FromPem(std::string_view pem) {
  auto pkey = internal::PublicKeyFromPem(pem, EVP_PKEY_X25519, "X25519 public key");
  if (!pkey.ok()) return pkey.status();
  auto impl = std::make_shared<Impl>();
  impl->raw = internal::RawPublicKey(pkey->get());
  impl->pkey = std::move(*pkey);
  return X25519PublicKey(std::move(impl));
}

std::string X25519PublicKey::Raw() const { return impl_->raw; }

std::string X25519PublicKey::ToPem() const { return internal::PublicKeyToPem(impl_->pkey.get()); }

bool operator==(const X25519PublicKey& a, const X25519PublicKey& b) {
  return a.impl_->raw == b.impl_->raw;
}

// ---------------------------------------------------------------------------------------------
// Private key

struct X25519PrivateKey::Impl {
  Impl(internal::EvpPkeyPtr p, X25519PublicKey pub)
      : pkey(std::move(p)), public_key(std::move(pub)) {}
  internal::EvpPkeyPtr pkey;  // OpenSSL cleanses the scalar when freeing it
  X25519PublicKey public_key;
};

X25519PrivateKey::X25519PrivateKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

X25519PrivateKey X25519PrivateKey::Adopt(EVP_PKEY* raw_pkey) {
  internal::EvpPkeyPtr pkey(raw_pkey);
  auto pub = X25519PublicKey::FromRaw(internal::RawPublicKey(pkey.get()));
  if (!pub.ok()) internal::FatalOpenSsl("X25519 public key from private key");
  return X25519PrivateKey(std::make_shared<const Impl>(std::move(pkey), *std::move(pub)));
}

StatusOr<X25519PrivateKey> X25519PrivateKey::FromRaw(std::string_view raw32) {
  if (raw32.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("crypto: X25519 private key must be 32 bytes");
  }
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, internal::U8(raw32), raw32.size());
  if (pkey == nullptr) {
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument, "X25519 private key");
  }
  return Adopt(pkey);
}

StatusOr<X25519PrivateKey> X25519PrivateKey::FromPem(std::string_view pem) {
  auto pkey = internal::PrivateKeyFromPem(pem, EVP_PKEY_X25519, "X25519 private key");
  if (!pkey.ok()) return pkey.status();
  return Adopt(pkey->release());
}

StatusOr<X25519PrivateKey> X25519PrivateKey::FromPemFile(const std::string& path) {
  auto pem = internal::ReadKeyFile(path);
  if (!pem.ok()) return pem.status();
  auto key = FromPem(*pem);
  internal::Cleanse(*pem);
  return key;
}

X25519PrivateKey X25519PrivateKey::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  if (pkey == nullptr) internal::FatalOpenSsl("X25519 key generation");
  return Adopt(pkey);
}

StatusOr<std::string> X25519PrivateKey::Agree(const X25519PublicKey& peer) const {
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, impl_->pkey.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.impl_->pkey.get()) != 1) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "X25519 agreement setup");
  }
  std::string shared(kX25519KeySize, '\0');
  size_t len = shared.size();
  if (EVP_PKEY_derive(ctx.get(), internal::U8(shared), &len) != 1 || len != kX25519KeySize) {
    // OpenSSL refuses an all-zero result, i.e. a low-order peer point.
    internal::Cleanse(shared);
    return internal::OpenSslError(absl::StatusCode::kInvalidArgument,
                                  "X25519 agreement (low-order or invalid peer key)");
  }
  // Belt and braces: check the all-zero output ourselves, in constant time.
  unsigned char acc = 0;
  for (char c : shared) acc |= static_cast<unsigned char>(c);
  if (acc == 0) {
    internal::Cleanse(shared);
    return absl::InvalidArgumentError("crypto: X25519 agreement: low-order peer key");
  }
  return shared;
}

X25519PublicKey X25519PrivateKey::PublicKey() const { return impl_->public_key; }

std::string X25519PrivateKey::Raw() const { return internal::RawPrivateKey(impl_->pkey.get()); }

std::string X25519PrivateKey::ToPem() const { return internal::PrivateKeyToPem(impl_->pkey.get()); }

}  // namespace concord::crypto
