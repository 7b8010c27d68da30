// File: common/crypto/aead.cc
#include "common/crypto/aead.h"

#include <openssl/evp.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_util.h"
#include "common/status/status_macros.h"

namespace concord::crypto {
namespace internal {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

Status CheckGcmInputs(std::string_view key32, std::string_view nonce12, size_t data_size,
                      size_t aad_size) {
  if (key32.size() != kAeadKeySize) return absl::InvalidArgumentError("aead: key must be 32 bytes");
  if (nonce12.size() != kAeadNonceSize) {
    return absl::InvalidArgumentError("aead: nonce must be 12 bytes");
  }
  // EVP_*Update take int lengths.
  if (data_size > static_cast<size_t>(INT_MAX) - 64 || aad_size > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("aead: input too large");
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::string> GcmEncrypt(std::string_view key32, std::string_view nonce12,
                                 std::string_view plaintext, std::string_view aad) {
  if (Status s = CheckGcmInputs(key32, nonce12, plaintext.size(), aad.size()); !s.ok()) return s;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(), U8(key32), U8(nonce12), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt init");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: aad");
  }
  std::string out(plaintext.size() + kAeadTagSize, '\0');
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), U8(out), &len, U8(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), U8(out) + written, &len) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt final");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagSize),
                          U8(out) + written) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: tag");
  }
  return out;
}

StatusOr<std::string> GcmDecrypt(std::string_view key32, std::string_view nonce12,
                                 std::string_view ciphertext_and_tag, std::string_view aad,
                                 std::string_view what) {
  if (Status s = CheckGcmInputs(key32, nonce12, ciphertext_and_tag.size(), aad.size()); !s.ok()) {
    return s;
  }
  if (ciphertext_and_tag.size() < kAeadTagSize) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": ciphertext too short"));
  }
  const std::string_view ct =
      ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kAeadTagSize);
  std::string tag(ciphertext_and_tag.substr(ct.size()));  // SET_TAG wants a mutable pointer

  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr ||
      EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(), U8(key32), U8(nonce12), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: decrypt init");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: aad");
  }
  std::string out(ct.size(), '\0');
  int written = 0;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), U8(out), &len, U8(ct), static_cast<int>(ct.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "aead: decrypt");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize),
                          U8(tag)) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: set tag");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), U8(out) + written, &len) != 1) {
    // Security: the plaintext produced so far is unauthenticated; wipe it, return nothing.
    Cleanse(out);
    DrainOpenSslErrors();
    return absl::DataLossError(
        absl::StrCat(AbslView(what), ": authentication failed (data altered or wrong key)"));
  }
  return out;
}

}  // namespace internal

StatusOr<std::string> AeadSeal(std::string_view key32, std::string_view plaintext,
                               std::string_view aad) {
  if (key32.size() != kAeadKeySize) return absl::InvalidArgumentError("aead: key must be 32 bytes");
  std::string out = internal::SecureRandom(kAeadNonceSize);
  CONCORD_ASSIGN_OR_RETURN(const std::string ct, internal::GcmEncrypt(key32, out, plaintext, aad));
  out.append(ct);
  return out;
}

StatusOr<std::string> AeadOpen(std::string_view key32, std::string_view sealed,
                               std::string_view aad) {
  if (key32.size() != kAeadKeySize) return absl::InvalidArgumentError("aead: key must be 32 bytes");
  if (sealed.size() < kAeadNonceSize + kAeadTagSize) {
    return absl::InvalidArgumentError("aead: sealed data shorter than nonce and tag");
  }
  return internal::GcmDecrypt(key32, sealed.substr(0, kAeadNonceSize),
                              sealed.substr(kAeadNonceSize), aad, "aead");
}

}  // namespace concord::crypto
