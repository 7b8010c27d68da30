#include "cli/concordctl/local_files.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/crypto/openssl_ptr.h"
#include "common/identity/agency_id.h"
#include "common/identity/caller.h"
#include "common/status/status_macros.h"

namespace concord::ctl {
namespace {

using openssl::BioPtr;
using openssl::BnPtr;
using openssl::GeneralNamesPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

Status LocalError(const std::string& path, std::string_view what) {
  return absl::FailedPreconditionError(absl::string_view(path + ": " + std::string(what)));
}

BioPtr MemBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

StatusOr<X509Ptr> LoadCertificate(const std::string& path) {
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  BioPtr bio = MemBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return LocalError(path, "not a PEM certificate");
  }
  return cert;
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string TimeToRfc3339(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    return "";
  }
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string SerialHex(const X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (bn == nullptr) {
    return "";
  }
  char* hex = BN_bn2hex(bn.get());
  std::string out = NormalizeSerial(hex);
  OPENSSL_free(hex);
  return out;
}

}  // namespace

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

StatusOr<std::string> ReadTextFile(const std::string& path) {
  if (path.empty()) {
    return absl::FailedPreconditionError("empty file name");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return LocalError(path, FileExists(path) ? "cannot read (permissions?)" : "no such file");
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return LocalError(path, "read error");
  }
  return content.str();
}

StatusOr<CertificateInfo> ReadCertificateInfo(const std::string& path) {
  CONCORD_ASSIGN_OR_RETURN(X509Ptr cert, LoadCertificate(path));
  CertificateInfo info;
  info.serial = SerialHex(cert.get());
  info.subject = NameToString(X509_get_subject_name(cert.get()));
  info.issuer = NameToString(X509_get_issuer_name(cert.get()));
  info.not_before = TimeToRfc3339(X509_get0_notBefore(cert.get()));
  info.not_after = TimeToRfc3339(X509_get0_notAfter(cert.get()));
  GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
      if (name->type == GEN_URI) {
        const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
        info.uri_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                   static_cast<size_t>(ASN1_STRING_length(uri)));
      }
    }
  }
  // The same rules the server applies (common/identity): exactly one valid agency URI SAN.
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  StatusOr<Caller> caller = CallerFromPemCertificate(pem);
  if (caller.ok()) {
    info.spiffe_id = caller->agency.ToSpiffe();
    info.trust_domain = caller->agency.trust_domain;
    info.agency_type = std::string(AgencyTypeName(caller->agency.type));
    info.agency_id = caller->agency.id;
  } else {
    info.identity_error = std::string(caller.status().message());
  }
  return info;
}

Status CheckKeyMatchesCertificate(const std::string& cert_path, const std::string& key_path) {
  CONCORD_ASSIGN_OR_RETURN(X509Ptr cert, LoadCertificate(cert_path));
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(key_path));
  BioPtr bio = MemBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return LocalError(key_path, "not a PEM private key (encrypted keys are not supported)");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return LocalError(key_path, "private key does not match the certificate " + cert_path);
  }
  return absl::OkStatus();
}

StatusOr<std::string> ReadPublicKeyPem(const std::string& path, const std::string& algorithm) {
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  BioPtr bio = MemBio(pem);
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  bool derived = false;
  if (key == nullptr) {
    // A private key file is accepted too: only its public half is ever sent.
    BioPtr again = MemBio(pem);
    key.reset(PEM_read_bio_PrivateKey(again.get(), nullptr, nullptr, nullptr));
    derived = key != nullptr;
  }
  if (key == nullptr) {
    return LocalError(path, "not a PEM public (or private) key");
  }
  if (EVP_PKEY_is_a(key.get(), algorithm.c_str()) != 1) {
    return LocalError(path, "not an " + algorithm + " key");
  }
  if (!derived) {
    return pem;
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(out.get(), key.get()) != 1) {
    return LocalError(path, "cannot derive the public key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

StatusOr<std::string> ReadRawPublicKey(const std::string& path, const std::string& algorithm) {
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadPublicKeyPem(path, algorithm));
  BioPtr bio = MemBio(pem);
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  size_t len = 0;
  if (key == nullptr || EVP_PKEY_get_raw_public_key(key.get(), nullptr, &len) != 1) {
    return LocalError(path, "cannot read the raw public key");
  }
  std::string raw(len, '\0');
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) !=
      1) {
    return LocalError(path, "cannot read the raw public key");
  }
  raw.resize(len);
  return raw;
}

}  // namespace concord::ctl
