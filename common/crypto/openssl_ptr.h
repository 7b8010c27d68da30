// File: common/crypto/openssl_ptr.h
//
// unique_ptr owners for the OpenSSL 3 handles Concord reads certificates and keys with (BIO,
// X509, EVP_PKEY, BIGNUM, GENERAL_NAMES). One deleter, overloaded per handle type, so that every
// user names the same types instead of declaring its own deleters.
//
// Thread safety: plain unique_ptrs (one owner, one thread at a time).
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace concord::openssl {

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

using BioPtr = std::unique_ptr<BIO, Free>;
using X509Ptr = std::unique_ptr<X509, Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using BnPtr = std::unique_ptr<BIGNUM, Free>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free>;

}  // namespace concord::openssl
