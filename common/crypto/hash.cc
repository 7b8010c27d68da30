// File: common/crypto/hash.cc
#include "common/crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/crypto/encoding.h"
#include "common/crypto/openssl_util.h"

namespace concord::crypto {

std::array<uint8_t, 32> Sha256(std::string_view data) {
  std::array<uint8_t, 32> out{};
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), internal::Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    internal::FatalOpenSsl("SHA-256");
  }
  return out;
}

std::array<uint8_t, 32> Sha256Concat(std::initializer_list<std::string_view> parts) {
  std::array<uint8_t, 32> out{};
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned int len = 0;
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), internal::Sha256Md(), nullptr) != 1) {
    internal::FatalOpenSsl("SHA-256");
  }
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1)
      internal::FatalOpenSsl("SHA-256");
  }
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    internal::FatalOpenSsl("SHA-256");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  const std::array<uint8_t, 32> d = Sha256(data);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  // HMAC() with a null key pointer would use an empty key only when the length is 0; pass a
  // valid pointer in every case.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    internal::FatalOpenSsl("HMAC-SHA256");
  }
  return out;
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  const std::array<uint8_t, 32> d = HmacSha256(key, data);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace concord::crypto
