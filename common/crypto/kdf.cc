// File: common/crypto/kdf.cc
#include "common/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/crypto/openssl_util.h"

namespace concord::crypto {

StatusOr<std::string> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                                 size_t length) {
  if (length == 0 || length > 255 * 32) {
    return absl::InvalidArgumentError("hkdf: output length must be in 1..8160");
  }
  internal::EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(internal::HkdfKdf()));
  if (ctx == nullptr) return internal::OpenSslError(absl::StatusCode::kInternal, "hkdf context");

  // OSSL_PARAM wants non-const pointers; OpenSSL only reads through them.
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                                  ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();

  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), internal::U8(out), out.size(), params) != 1) {
    internal::Cleanse(out);
    return internal::OpenSslError(absl::StatusCode::kInternal, "hkdf derive");
  }
  return out;
}

}  // namespace concord::crypto
