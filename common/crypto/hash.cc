// File: common/crypto/hash.cc
#include "common/crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

std::string Sha256Hex(std::string_view data) {
  const std::array<uint8_t, 32> d = Sha256(data);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace concord::crypto
