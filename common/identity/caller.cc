#include "common/identity/caller.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_ptr.h"

namespace concord {
namespace {

using openssl::BioPtr;
using openssl::BnPtr;
using openssl::GeneralNamesPtr;
using openssl::X509Ptr;

constexpr char kPemCertProperty[] = "x509_pem_cert";  // GRPC_X509_PEM_CERT_PROPERTY_NAME

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

Status Unauthenticated(std::string_view message) {
  return absl::UnauthenticatedError(Absl(message));
}

std::string SerialOf(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  if (serial == nullptr) return "";
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return "";
  std::string out = NormalizeSerial(hex);
  OPENSSL_free(hex);
  return out;
}

}  // namespace

std::string NormalizeSerial(std::string_view hex) {
  constexpr std::string_view kPrefix = "serial=";
  if (hex.substr(0, kPrefix.size()) == kPrefix) hex.remove_prefix(kPrefix.size());
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  std::string out;
  out.reserve(hex.size());
  for (char c : hex) {
    if (c == ':' || c == ' ') continue;
    if (out.empty() && c == '0') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (out.empty()) return std::string(1, '0');
  return out;
}

StatusOr<Caller> CallerFromPemCertificate(std::string_view pem) {
  if (pem.empty()) return Unauthenticated("no peer certificate");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("out of memory reading the peer certificate");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Unauthenticated("peer certificate cannot be parsed");

  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> uris;
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                        static_cast<size_t>(ASN1_STRING_length(uri)));
    }
  }
  if (uris.empty()) return Unauthenticated("peer certificate has no URI SAN (SPIFFE ID)");
  if (uris.size() > 1) {
    return Unauthenticated("peer certificate has more than one URI SAN; exactly one is required");
  }
  if (uris[0].find('\0') != std::string::npos) {
    return Unauthenticated("peer certificate URI SAN contains a NUL byte");
  }
  StatusOr<AgencyId> agency = ParseSpiffeId(uris[0]);
  if (!agency.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer certificate SPIFFE ID is invalid: ", agency.status().message()));
  }
  std::string serial = SerialOf(cert.get());
  if (serial.empty()) return Unauthenticated("peer certificate has no readable serial number");
  return Caller{*std::move(agency), std::move(serial)};
}

StatusOr<Caller> CallerFromAuthContext(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return Unauthenticated("peer is not authenticated");
  std::vector<grpc::string_ref> certs = auth.FindPropertyValues(kPemCertProperty);
  if (certs.empty()) return Unauthenticated("no peer certificate");
  if (certs.size() > 1) return Unauthenticated("more than one peer certificate");
  const std::string_view pem(certs[0].data(), certs[0].size());
  // Parsing the PEM costs tens of microseconds with OpenSSL 3 (decoder lookup, locks, base64,
  // DER) and ran twice per RPC (authorizer + handler) -- the top server-side cost of a Send in
  // docs/performance.md. The result is a pure function of the certificate bytes (verified by the
  // TLS handshake before we get here), so successful parses are memoised by the exact PEM text.
  // Revocation and suspension are checked elsewhere on every call, never cached here. Bounded:
  // the map is dropped when it reaches kMaxCachedCallers (a few MB at most).
  constexpr size_t kMaxCachedCallers = 4096;
  static std::mutex* const mu = new std::mutex;
  static auto* const cache = new std::unordered_map<std::string, Caller>;
  std::string key(pem);
  {
    std::lock_guard<std::mutex> lock(*mu);
    auto it = cache->find(key);
    if (it != cache->end()) return it->second;
  }
  StatusOr<Caller> caller = CallerFromPemCertificate(pem);
  if (caller.ok()) {
    std::lock_guard<std::mutex> lock(*mu);
    if (cache->size() >= kMaxCachedCallers) cache->clear();
    cache->emplace(std::move(key), *caller);
  }
  return caller;
}

StatusOr<Caller> CallerFromContext(const grpc::ServerContext& ctx) {
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (!auth) return Unauthenticated("no authentication context");
  return CallerFromAuthContext(*auth);
}

}  // namespace concord
