#include "common/tls/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"

namespace concord {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> MakeProvider(
    const TlsFiles& tls, int refresh_seconds) {
  unsigned int refresh = refresh_seconds > 0 ? static_cast<unsigned int>(refresh_seconds) : 60u;
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.ca_file, refresh);
}

}  // namespace

void PinTls12CipherSuites() {
  // gRPC reads GRPC_SSL_CIPHER_SUITES once, when its SSL layer initialises.
  setenv("GRPC_SSL_CIPHER_SUITES", kTls12CipherSuites, /*overwrite=*/0);
}

Status ValidateTlsFiles(const TlsFiles& tls) {
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.ca_file.empty()) {
    return absl::InvalidArgumentError("TLS cert_file, key_file and ca_file are all required");
  }
  std::unique_ptr<BIO, BioFree> cert_bio(BIO_new_file(tls.cert_file.c_str(), "r"));
  if (!cert_bio) return absl::InvalidArgumentError("TLS cert_file cannot be opened");
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("TLS cert_file holds no PEM certificate");

  std::unique_ptr<BIO, BioFree> key_bio(BIO_new_file(tls.key_file.c_str(), "r"));
  if (!key_bio) return absl::InvalidArgumentError("TLS key_file cannot be opened");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("TLS key_file holds no PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("TLS key_file does not match cert_file");
  }

  std::unique_ptr<BIO, BioFree> ca_bio(BIO_new_file(tls.ca_file.c_str(), "r"));
  if (!ca_bio) return absl::InvalidArgumentError("TLS ca_file cannot be opened");
  std::unique_ptr<X509, X509Free> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  if (!ca) return absl::InvalidArgumentError("TLS ca_file holds no PEM certificate");
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& tls,
                                                               int refresh_seconds) {
  grpc::experimental::TlsServerCredentialsOptions options(MakeProvider(tls, refresh_seconds));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& tls,
                                                                 int refresh_seconds) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(MakeProvider(tls, refresh_seconds));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  options.set_check_call_host(true);
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace concord
