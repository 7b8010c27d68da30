#include "tests/support/test_pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/crypto/openssl_ptr.h"
#include "common/identity/caller.h"

namespace concord::testing {
namespace {

using openssl::BioPtr;
using openssl::BnPtr;
using openssl::GeneralNamesPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

[[noreturn]] void Die(const char* what) {
  unsigned long err = ERR_get_error();
  char buf[256] = {0};
  if (err != 0) ERR_error_string_n(err, buf, sizeof(buf));
  std::fprintf(stderr, "TestPki: %s failed: %s\n", what, buf);
  std::abort();
}

PkeyPtr NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) Die("EVP_EC_gen(P-256)");
  return key;
}

void SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) Die("RAND_bytes");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x10;  // and 16 bytes long
  BnPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    Die("serial");
  }
}

void SetName(X509_NAME* name, const std::string& cn) {
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("Concord Test"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1) {
    Die("X509_NAME_add_entry_by_txt");
  }
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) Die("X509V3_EXT_conf_nid");
  if (X509_add_ext(cert, ext, -1) != 1) Die("X509_add_ext");
  X509_EXTENSION_free(ext);
}

void SetValidity(X509* cert, absl::Duration not_before_offset, absl::Duration validity) {
  std::time_t now = std::time(nullptr);
  std::time_t nb = now + static_cast<std::time_t>(absl::ToInt64Seconds(not_before_offset));
  std::time_t na = nb + static_cast<std::time_t>(absl::ToInt64Seconds(validity));
  if (ASN1_TIME_set(X509_getm_notBefore(cert), nb) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), na) == nullptr) {
    Die("ASN1_TIME_set");
  }
}

GENERAL_NAME* MakeIa5Name(int type, const std::string& value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  if (gn == nullptr || s == nullptr ||
      ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) != 1) {
    Die("GENERAL_NAME");
  }
  GENERAL_NAME_set0_value(gn, type, s);
  return gn;
}

void AddSubjectAltNames(X509* cert, const CertOptions& o) {
  if (o.dns_names.empty() && o.ip_addresses.empty() && o.uris.empty()) return;
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  for (const std::string& dns : o.dns_names) {
    sk_GENERAL_NAME_push(names.get(), MakeIa5Name(GEN_DNS, dns));
  }
  for (const std::string& ip : o.ip_addresses) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING* addr = a2i_IPADDRESS(ip.c_str());
    if (gn == nullptr || addr == nullptr) Die("a2i_IPADDRESS");
    GENERAL_NAME_set0_value(gn, GEN_IPADD, addr);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  for (const std::string& uri : o.uris) {
    sk_GENERAL_NAME_push(names.get(), MakeIa5Name(GEN_URI, uri));
  }
  // RFC 5280: critical only when the subject is empty; ours is not.
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    Die("subjectAltName");
  }
}

void WritePem(const std::string& path, X509* cert) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) Die("PEM_write_bio_X509");
}

void WritePem(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Die("PEM_write_bio_PrivateKey");
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string SerialHex(X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) Die("ASN1_INTEGER_to_BN");
  char* hex = BN_bn2hex(bn.get());
  std::string out = NormalizeSerial(hex);
  OPENSSL_free(hex);
  return out;
}

}  // namespace

struct TestPki::Ca {
  PkeyPtr key;
  X509Ptr cert;
};

namespace {

X509Ptr MakeCaCert(EVP_PKEY* key, const std::string& cn) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) Die("X509_new");
  SetRandomSerial(cert.get());
  SetName(X509_get_subject_name(cert.get()), cn);
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) Die("issuer");
  SetValidity(cert.get(), absl::Hours(-24), absl::Hours(24 * 30));
  if (X509_set_pubkey(cert.get(), key) != 1) Die("X509_set_pubkey");
  AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) Die("X509_sign(CA)");
  return cert;
}

}  // namespace

std::string CertFiles::ReadCert() const {
  std::ifstream in(cert_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TestPki::TestPki(std::string trust_domain) : trust_domain_(std::move(trust_domain)) {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  std::string templ = (base / "concord-pki-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) Die("mkdtemp");
  dir_ = templ;
  ca_ = std::make_unique<Ca>();
  ca_->key = NewP256Key();
  ca_->cert = MakeCaCert(ca_->key.get(), "Concord Test CA " + trust_domain_);
  ca_file_ = dir_ + "/ca.crt";
  WritePem(ca_file_, ca_->cert.get());
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

const std::string& TestPki::foreign_ca_file() {
  if (!foreign_ca_) {
    foreign_ca_ = std::make_unique<Ca>();
    foreign_ca_->key = NewP256Key();
    foreign_ca_->cert = MakeCaCert(foreign_ca_->key.get(), "Untrusted Test CA");
    foreign_ca_file_ = dir_ + "/foreign-ca.crt";
    WritePem(foreign_ca_file_, foreign_ca_->cert.get());
  }
  return foreign_ca_file_;
}

std::string TestPki::NextPath(std::string_view stem) {
  return dir_ + "/" + std::to_string(++counter_) + "-" + std::string(stem);
}

std::string TestPki::AgencyUri(AgencyType type, std::string_view id) const {
  return AgencyId{trust_domain_, type, std::string(id)}.ToSpiffe();
}

CertFiles TestPki::Issue(const CertOptions& o) {
  if (o.foreign_ca) foreign_ca_file();
  Ca& ca = o.foreign_ca ? *foreign_ca_ : *ca_;
  PkeyPtr key = NewP256Key();
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) Die("X509_new");
  SetRandomSerial(cert.get());
  SetName(X509_get_subject_name(cert.get()), o.common_name);
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1) Die("issuer");
  SetValidity(cert.get(), o.not_before_offset, o.validity);
  if (X509_set_pubkey(cert.get(), key.get()) != 1) Die("X509_set_pubkey");
  AddExt(cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert.get(), ca.cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  std::string eku;
  if (o.server_auth) eku = "serverAuth";
  if (o.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) AddExt(cert.get(), ca.cert.get(), NID_ext_key_usage, eku.c_str());
  AddExt(cert.get(), ca.cert.get(), NID_subject_key_identifier, "hash");
  AddExt(cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  AddSubjectAltNames(cert.get(), o);
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) == 0) Die("X509_sign");

  std::string base = NextPath(o.common_name);
  CertFiles files;
  files.cert_file = base + ".crt";
  files.key_file = base + ".key";
  files.ca_file = ca_file_;
  WritePem(files.cert_file, cert.get());
  WritePem(files.key_file, key.get());
  files.serial = SerialHex(cert.get());
  if (!o.uris.empty()) files.spiffe_id = o.uris.front();
  return files;
}

CertFiles TestPki::ServerCert() {
  CertOptions o;
  o.common_name = "concord-server";
  o.dns_names = {"localhost"};
  o.ip_addresses = {"127.0.0.1"};
  o.uris = {"spiffe://" + trust_domain_ + "/service/concord-server"};
  return Issue(o);
}

CertFiles TestPki::AgencyCert(AgencyType type, std::string_view id) {
  CertOptions o;
  o.common_name = std::string(AgencyTypeName(type)) + "-" + std::string(id);
  o.uris = {AgencyUri(type, id)};
  return Issue(o);
}

CertFiles TestPki::ExpiredAgencyCert(AgencyType type, std::string_view id) {
  CertOptions o;
  o.common_name = "expired-" + std::string(id);
  o.uris = {AgencyUri(type, id)};
  o.not_before_offset = absl::Hours(-48);
  o.validity = absl::Hours(24);
  return Issue(o);
}

CertFiles TestPki::NotYetValidAgencyCert(AgencyType type, std::string_view id) {
  CertOptions o;
  o.common_name = "future-" + std::string(id);
  o.uris = {AgencyUri(type, id)};
  o.not_before_offset = absl::Hours(24);
  o.validity = absl::Hours(24);
  return Issue(o);
}

CertFiles TestPki::ForeignCaAgencyCert(AgencyType type, std::string_view id) {
  CertOptions o;
  o.common_name = "foreign-" + std::string(id);
  o.uris = {AgencyUri(type, id)};
  o.foreign_ca = true;
  return Issue(o);
}

CertFiles TestPki::CertWithoutUriSan() {
  CertOptions o;
  o.common_name = "no-uri";
  o.dns_names = {"no-uri.concord.test"};
  return Issue(o);
}

CertFiles TestPki::CertWithTwoUriSans(AgencyType type, std::string_view id) {
  CertOptions o;
  o.common_name = "two-uris";
  o.uris = {AgencyUri(type, id), AgencyUri(type, std::string(id) + "-2")};
  return Issue(o);
}

CertFiles TestPki::CertWithUriSan(std::string uri) {
  CertOptions o;
  o.common_name = "custom-uri";
  o.uris = {std::move(uri)};
  return Issue(o);
}

}  // namespace concord::testing
