// File: common/crypto/aead.cc
#include "common/crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_util.h"
#include "common/status/status_macros.h"

namespace concord::crypto {
namespace internal {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// EVP_*Update take int lengths.
Status CheckSizes(size_t data_size, size_t aad_size) {
  if (data_size > static_cast<size_t>(INT_MAX) - 64 || aad_size > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError("aead: input too large");
  }
  return absl::OkStatus();
}

Status CheckGcmInputs(std::string_view key32, std::string_view nonce12, size_t data_size,
                      size_t aad_size) {
  if (key32.size() != kAeadKeySize) return absl::InvalidArgumentError("aead: key must be 32 bytes");
  if (nonce12.size() != kAeadNonceSize) {
    return absl::InvalidArgumentError("aead: nonce must be 12 bytes");
  }
  return CheckSizes(data_size, aad_size);
}

// AES-256-GCM over a context that is either fresh (`cipher` and `key` given: schedules the key)
// or already keyed (both null: only the nonce is set, the key schedule is reused). Writes
// ciphertext||tag (plaintext.size() + 16 bytes) at `out`.
Status EncryptWith(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const unsigned char* key,
                   std::string_view nonce12, std::string_view plaintext, std::string_view aad,
                   unsigned char* out) {
  if (EVP_EncryptInit_ex2(ctx, cipher, key, U8(nonce12), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt init");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: aad");
  }
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx, out, &len, U8(plaintext), static_cast<int>(plaintext.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx, out + written, &len) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt final");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagSize),
                          out + written) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: tag");
  }
  return absl::OkStatus();
}

// The decrypting counterpart of EncryptWith: input ciphertext||tag (at least 16 bytes), output
// the authenticated plaintext; DATA_LOSS "<what>: authentication failed ..." otherwise.
StatusOr<std::string> DecryptWith(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher,
                                  const unsigned char* key, std::string_view nonce12,
                                  std::string_view ciphertext_and_tag, std::string_view aad,
                                  std::string_view what) {
  const std::string_view ct =
      ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kAeadTagSize);
  std::string tag(ciphertext_and_tag.substr(ct.size()));  // SET_TAG wants a mutable pointer
  if (EVP_DecryptInit_ex2(ctx, cipher, key, U8(nonce12), nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: decrypt init");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, U8(aad), static_cast<int>(aad.size())) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: aad");
  }
  std::string out(ct.size(), '\0');
  int written = 0;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx, U8(out), &len, U8(ct), static_cast<int>(ct.size())) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "aead: decrypt");
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize), U8(tag)) !=
      1) {
    return OpenSslError(absl::StatusCode::kInternal, "aead: set tag");
  }
  if (EVP_DecryptFinal_ex(ctx, U8(out) + written, &len) != 1) {
    // Security: the plaintext produced so far is unauthenticated; wipe it, return nothing.
    Cleanse(out);
    DrainOpenSslErrors();
    return absl::DataLossError(
        absl::StrCat(AbslView(what), ": authentication failed (data altered or wrong key)"));
  }
  return out;
}

}  // namespace

StatusOr<std::string> GcmEncrypt(std::string_view key32, std::string_view nonce12,
                                 std::string_view plaintext, std::string_view aad) {
  if (Status s = CheckGcmInputs(key32, nonce12, plaintext.size(), aad.size()); !s.ok()) return s;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "aead: encrypt init");
  std::string out(plaintext.size() + kAeadTagSize, '\0');
  CONCORD_RETURN_IF_ERROR(
      EncryptWith(ctx.get(), Aes256Gcm(), U8(key32), nonce12, plaintext, aad, U8(out)));
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
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "aead: decrypt init");
  return DecryptWith(ctx.get(), Aes256Gcm(), U8(key32), nonce12, ciphertext_and_tag, aad, what);
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

// ---- AeadKey ----------------------------------------------------------------------------------

// The key and the idle keyed contexts of each direction. A context is taken out for one call and
// put back after it, so no two calls ever share one; one that failed midway is freed, not reused.
struct AeadKey::Pool {
  unsigned char key[kAeadKeySize];
  std::mutex mu;
  std::vector<internal::EvpCipherCtxPtr> idle[2];  // [0] encrypt, [1] decrypt

  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { OPENSSL_cleanse(key, sizeof(key)); }

  // A context keyed for `decrypt` (scheduling the key only when no idle one is left).
  StatusOr<internal::EvpCipherCtxPtr> Take(bool decrypt) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto& v = idle[decrypt ? 1 : 0];
      if (!v.empty()) {
        internal::EvpCipherCtxPtr ctx = std::move(v.back());
        v.pop_back();
        return ctx;
      }
    }
    internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    const int ok =
        ctx == nullptr ? 0
        : decrypt ? EVP_DecryptInit_ex2(ctx.get(), internal::Aes256Gcm(), key, nullptr, nullptr)
                  : EVP_EncryptInit_ex2(ctx.get(), internal::Aes256Gcm(), key, nullptr, nullptr);
    if (ok != 1) return internal::OpenSslError(absl::StatusCode::kInternal, "aead: key init");
    return ctx;
  }

  void Give(bool decrypt, internal::EvpCipherCtxPtr ctx) {
    std::lock_guard<std::mutex> lock(mu);
    auto& v = idle[decrypt ? 1 : 0];
    if (v.size() < kMaxIdleContexts) v.push_back(std::move(ctx));
  }
};

StatusOr<AeadKey> AeadKey::Create(std::string_view key32) {
  if (key32.size() != kAeadKeySize) return absl::InvalidArgumentError("aead: key must be 32 bytes");
  auto pool = std::make_shared<Pool>();
  std::copy(key32.begin(), key32.end(), pool->key);
  return AeadKey(std::move(pool));
}

StatusOr<std::string> AeadKey::Seal(std::string_view plaintext, std::string_view aad) const {
  if (Status s = internal::CheckSizes(plaintext.size(), aad.size()); !s.ok()) return s;
  CONCORD_ASSIGN_OR_RETURN(internal::EvpCipherCtxPtr ctx, pool_->Take(false));
  std::string out(kAeadNonceSize + plaintext.size() + kAeadTagSize, '\0');
  const std::string nonce = internal::SecureRandom(kAeadNonceSize);
  std::copy(nonce.begin(), nonce.end(), out.begin());
  CONCORD_RETURN_IF_ERROR(internal::EncryptWith(ctx.get(), nullptr, nullptr, nonce, plaintext, aad,
                                                internal::U8(out) + kAeadNonceSize));
  pool_->Give(false, std::move(ctx));
  return out;
}

StatusOr<std::string> AeadKey::Open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kAeadNonceSize + kAeadTagSize) {
    return absl::InvalidArgumentError("aead: sealed data shorter than nonce and tag");
  }
  const std::string_view nonce = sealed.substr(0, kAeadNonceSize);
  const std::string_view rest = sealed.substr(kAeadNonceSize);
  if (Status s = internal::CheckSizes(rest.size(), aad.size()); !s.ok()) return s;
  CONCORD_ASSIGN_OR_RETURN(internal::EvpCipherCtxPtr ctx, pool_->Take(true));
  auto out = internal::DecryptWith(ctx.get(), nullptr, nullptr, nonce, rest, aad, "aead");
  // A failed authentication leaves the context reusable (the next call sets a new nonce and
  // restarts the GCM state), but only a context whose call completed goes back, to be safe.
  if (out.ok()) pool_->Give(true, std::move(ctx));
  return out;
}

}  // namespace concord::crypto
