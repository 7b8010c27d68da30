// File: tests/support/test_pki.h
//
// A throw-away PKI generated at runtime with the OpenSSL C API (EC P-256 keys, SHA-256
// signatures) in its own temporary directory, removed by the destructor. Nothing is checked in.
//
//   concord::testing::TestPki pki;                       // CA for trust domain "concord.test"
//   CertFiles server = pki.ServerCert();                 // DNS localhost, IP 127.0.0.1
//   CertFiles police = pki.AgencyCert(AgencyType::kPolice, "pz-brussels");
//   auto creds = concord::MakeChannelCredentials(police.tls());
//
// Every CertFiles carries ca_file = this PKI's CA, so `.tls()` can be used directly for either
// side. Variants for negative tests: expired, not yet valid, issued by another CA, no URI SAN,
// two URI SANs, any URI SAN (malformed SPIFFE IDs).
//
// Thread-safety: a TestPki is not thread-safe; create certificates from the test thread.
// Failures to generate keys/certificates abort the test binary with a message (they are bugs).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/tls/tls.h"

namespace concord::testing {

struct CertFiles {
  std::string cert_file;  // PEM leaf certificate
  std::string key_file;   // PEM private key (PKCS#8)
  std::string ca_file;    // PEM CA certificate of the TestPki that created it
  std::string serial;     // normalised: upper-case hex, no leading zeros (as Caller::cert_serial)
  std::string spiffe_id;  // the (first) URI SAN, empty if none

  TlsFiles tls() const { return TlsFiles{cert_file, key_file, ca_file}; }
  std::string ReadCert() const;  // PEM text of cert_file
};

/// Full control over one certificate.
struct CertOptions {
  std::string common_name = "concord-test";
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // dotted IPv4 or IPv6 text
  std::vector<std::string> uris;
  absl::Duration not_before_offset = absl::Hours(-1);  // relative to now
  absl::Duration validity = absl::Hours(24);           // from not_before
  bool client_auth = true;
  bool server_auth = true;
  bool foreign_ca = false;  // sign with a second, untrusted CA
};

class TestPki {
 public:
  explicit TestPki(std::string trust_domain = "concord.test");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& trust_domain() const { return trust_domain_; }
  const std::string& dir() const { return dir_; }
  const std::string& ca_file() const { return ca_file_; }
  /// CA certificate of the second, untrusted CA (created on first use).
  const std::string& foreign_ca_file();

  /// DNS localhost, IP 127.0.0.1, URI spiffe://<td>/service/concord-server; server+client auth.
  CertFiles ServerCert();
  /// URI SAN spiffe://<td>/agency/<type>/<id>, extKeyUsage clientAuth+serverAuth, random serial.
  CertFiles AgencyCert(AgencyType type, std::string_view id);

  // --- negative-test variants (all for agency <type>/<id> unless stated) ---
  CertFiles ExpiredAgencyCert(AgencyType type, std::string_view id);
  CertFiles NotYetValidAgencyCert(AgencyType type, std::string_view id);
  CertFiles ForeignCaAgencyCert(AgencyType type, std::string_view id);  // ca_file: still ours
  CertFiles CertWithoutUriSan();                                        // DNS SAN only
  CertFiles CertWithTwoUriSans(AgencyType type, std::string_view id);   // two valid SPIFFE IDs
  CertFiles CertWithUriSan(std::string uri);  // e.g. a malformed SPIFFE ID

  /// Issues any certificate.
  CertFiles Issue(const CertOptions& options);

  TlsFiles ServerTls() { return ServerCert().tls(); }
  TlsFiles AgencyTls(AgencyType type, std::string_view id) { return AgencyCert(type, id).tls(); }

 private:
  struct Ca;

  std::string NextPath(std::string_view stem);
  std::string AgencyUri(AgencyType type, std::string_view id) const;

  std::string trust_domain_;
  std::string dir_;
  std::string ca_file_;
  std::string foreign_ca_file_;
  std::unique_ptr<Ca> ca_;
  std::unique_ptr<Ca> foreign_ca_;
  int counter_ = 0;
};

}  // namespace concord::testing
