// File: common/tls/tls.h
//
// mTLS credentials for every Concord server and client (gRPC 1.51 experimental TLS API).
//
// * Files are watched by a grpc::experimental::FileWatcherCertificateProvider and re-read every
//   `refresh_seconds`: a rotated certificate/key/CA (e.g. a cert-manager Secret update) is
//   picked up without a restart; connections already open keep their handshake.
// * Server: a client certificate is REQUIRED and VERIFIED against ca_file
//   (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY). A client without a certificate,
//   or with one from another CA or outside its validity period, fails the handshake (the client
//   sees UNAVAILABLE). Identity (the SPIFFE URI SAN) is checked per call by
//   common/identity/caller.h (UNAUTHENTICATED).
// * Client: the server certificate is verified against ca_file AND the target host name
//   (server certificates carry DNS SAN "localhost" / the service name and IP SAN 127.0.0.1).
//
// TLS versions: gRPC 1.51 has no public minimum-version setting. In practice:
//   - TLS 1.3 is negotiated with every modern client;
//   - TLS 1.0 and 1.1 are refused by the SSL_CTX gRPC builds (its minimum is TLS 1.2);
//   - TLS 1.2 remains possible, limited to ECDHE key exchange with AES-GCM (or ChaCha20-Poly1305)
//     when PinTls12CipherSuites() ran first (gRPC's own default list is ECDHE+AES-GCM only).
// docs/tls.md has the full trust model.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "common/status/status.h"

namespace concord {

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain (leaf first)
  std::string key_file;   // PEM private key
  std::string ca_file;    // PEM trust bundle: the Concord CA(s)
};

/// The TLS 1.2 cipher suites Concord allows (ECDHE + AEAD only).
inline constexpr const char* kTls12CipherSuites =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// Sets GRPC_SSL_CIPHER_SUITES to kTls12CipherSuites unless it is already set. Call once at the
/// start of main(), before any gRPC call (gRPC reads the variable once, at initialisation).
void PinTls12CipherSuites();

/// Checks at startup that the three files exist, hold PEM data and that the key matches the
/// certificate (gRPC itself would only fail later, at the first handshake). INVALID_ARGUMENT
/// naming the faulty file (never its content).
Status ValidateTlsFiles(const TlsFiles& tls);

/// Server credentials: mTLS, client certificate required and verified against tls.ca_file.
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsFiles& tls,
                                                               int refresh_seconds = 60);

/// Channel credentials: presents tls.cert_file/key_file, verifies the server against
/// tls.ca_file and the target host name.
std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const TlsFiles& tls,
                                                                 int refresh_seconds = 60);

}  // namespace concord
