// File: cli/concordctl/connection.h
//
// How concordctl reaches a Concord server: the global connection options, the mTLS channel
// (common/tls MakeChannelCredentials) and the per-call context (deadline + asserted officer and
// justification metadata).
//
// Security: the server identifies concordctl's caller ONLY by the client certificate. The
// officer and justification sent as metadata are assertions by the agency system, recorded in
// the audit log; they grant nothing.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "common/status/status.h"
#include "common/tls/tls.h"
#include "concord/common/v1/common.pb.h"

namespace concord::ctl {

/// Metadata keys the services read (common/audit OfficerFromContext and the audit writer).
inline constexpr const char* kOfficerMetadata = "concord-officer";
inline constexpr const char* kJustificationMetadata = "concord-justification";

struct ConnectionOptions {
  std::string server = "127.0.0.1:7443";
  std::string cert_file;        // --cert / CONCORD_CERT
  std::string key_file;         // --key / CONCORD_KEY
  std::string ca_file;          // --ca / CONCORD_CA
  std::string agency_dir;       // --agency-dir: DIR/cert.pem + DIR/key.pem (+ DIR/../../../ca.pem)
  std::string server_name;      // --server-name: TLS name to verify instead of the host of --server
  std::string officer;          // --officer -> metadata concord-officer
  std::string justification;    // --justification -> metadata concord-justification
  std::string known_keys_file;  // --known-keys / CONCORD_KNOWN_KEYS (default: DIR/known_keys.json)
  double timeout_seconds = 10;
  bool plaintext = false;  // health only: the plaintext health port (no certificate)
};

/// Resolves --agency-dir / --cert / --key / --ca into the three files and checks them locally:
/// readable, the certificate parses, the key parses and belongs to the certificate, the CA
/// parses. INVALID_ARGUMENT when something is not given (usage error), FAILED_PRECONDITION when a
/// file is missing, unreadable or malformed (local error).
StatusOr<TlsFiles> ResolveTlsFiles(const ConnectionOptions& options);

/// Checks option values that do not involve files: timeout > 0, metadata printable ASCII.
/// INVALID_ARGUMENT on failure.
Status ValidateConnectionOptions(const ConnectionOptions& options);

/// An mTLS channel to options.server (or a plaintext one when options.plaintext).
/// Same error codes as ResolveTlsFiles.
StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& options);

/// The agency of the client certificate (--cert, or DIR/cert.pem of --agency-dir), trust domain
/// included (signatures cover SPIFFE IDs): INVALID_ARGUMENT when no certificate is given,
/// FAILED_PRECONDITION when it cannot be read or names no valid agency.
StatusOr<concord::common::v1::AgencyId> LocalAgency(const ConnectionOptions& options);

/// Sets the deadline (now + timeout) and the officer/justification metadata on `context`.
void PrepareContext(const ConnectionOptions& options, grpc::ClientContext& context);

}  // namespace concord::ctl
