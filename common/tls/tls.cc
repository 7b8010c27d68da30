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
#include "common/crypto/openssl_ptr.h"

namespace concord {
namespace {

using openssl::BioPtr;
using openssl::PkeyPtr;
using openssl::X509Ptr;

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
  BioPtr cert_bio(BIO_new_file(tls.cert_file.c_str(), "r"));
  if (!cert_bio) return absl::InvalidArgumentError("TLS cert_file cannot be opened");
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("TLS cert_file holds no PEM certificate");

  BioPtr key_bio(BIO_new_file(tls.key_file.c_str(), "r"));
  if (!key_bio) return absl::InvalidArgumentError("TLS key_file cannot be opened");
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("TLS key_file holds no PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("TLS key_file does not match cert_file");
  }

  BioPtr ca_bio(BIO_new_file(tls.ca_file.c_str(), "r"));
  if (!ca_bio) return absl::InvalidArgumentError("TLS ca_file cannot be opened");
  X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
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
