#include "cli/concordctl/connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>

#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/local_files.h"
#include "common/status/status_macros.h"

namespace concord::ctl {
namespace {

// gRPC metadata values must be printable ASCII; anything else would fail the call obscurely.
bool IsPrintableAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status ValidateConnectionOptions(const ConnectionOptions& options) {
  FieldErrors errors;
  if (options.server.empty()) {
    errors.Add("--server", "required (host:port)");
  }
  if (!(options.timeout_seconds > 0) || options.timeout_seconds > 3600) {
    errors.Add("--timeout", "must be more than 0 and at most 3600 seconds");
  }
  if (!IsPrintableAscii(options.officer) || options.officer.size() > 200) {
    errors.Add("--officer", "must be printable ASCII, at most 200 characters");
  }
  if (!IsPrintableAscii(options.justification) || options.justification.size() > 1000) {
    errors.Add("--justification", "must be printable ASCII, at most 1000 characters");
  }
  return errors.ToStatus("invalid connection options");
}

StatusOr<TlsFiles> ResolveTlsFiles(const ConnectionOptions& options) {
  TlsFiles files{options.cert_file, options.key_file, options.ca_file};
  if (!options.agency_dir.empty()) {
    const std::string dir = options.agency_dir;
    if (files.cert_file.empty()) {
      files.cert_file = dir + "/cert.pem";
    }
    if (files.key_file.empty()) {
      files.key_file = dir + "/key.pem";
    }
    // scripts/pki.sh layout: <pki>/agencies/<type>/<id> and <pki>/ca.pem.
    if (files.ca_file.empty() && FileExists(dir + "/../../../ca.pem")) {
      files.ca_file = dir + "/../../../ca.pem";
    }
  }
  if (files.cert_file.empty() || files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "no client certificate: give --agency-dir DIR, or --cert and --key "
        "(environment CONCORD_AGENCY_DIR, CONCORD_CERT, CONCORD_KEY)");
  }
  if (files.ca_file.empty()) {
    return absl::InvalidArgumentError("no CA bundle: give --ca FILE (environment CONCORD_CA)");
  }
  CONCORD_RETURN_IF_ERROR(CheckKeyMatchesCertificate(files.cert_file, files.key_file));
  CONCORD_RETURN_IF_ERROR(ReadCertificateInfo(files.ca_file).status());
  return files;
}

StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectionOptions& options) {
  CONCORD_RETURN_IF_ERROR(ValidateConnectionOptions(options));
  grpc::ChannelArguments args;
  if (options.plaintext) {
    return grpc::CreateCustomChannel(options.server, grpc::InsecureChannelCredentials(), args);
  }
  CONCORD_ASSIGN_OR_RETURN(TlsFiles files, ResolveTlsFiles(options));
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  }
  return grpc::CreateCustomChannel(options.server, MakeChannelCredentials(files), args);
}

StatusOr<concord::common::v1::AgencyId> LocalAgency(const ConnectionOptions& options) {
  std::string cert_file = options.cert_file;
  if (cert_file.empty() && !options.agency_dir.empty())
    cert_file = options.agency_dir + "/cert.pem";
  if (cert_file.empty()) {
    return absl::InvalidArgumentError(
        "no client certificate: give --agency-dir DIR, or --cert and --key (environment "
        "CONCORD_AGENCY_DIR, CONCORD_CERT, CONCORD_KEY)");
  }
  CONCORD_ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificateInfo(cert_file));
  if (!info.identity_error.empty()) {
    return absl::FailedPreconditionError(cert_file +
                                         ": not a valid agency identity: " + info.identity_error);
  }
  return ParseAgencyRef("--cert", info.spiffe_id);
}

void PrepareContext(const ConnectionOptions& options, grpc::ClientContext& context) {
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(options.timeout_seconds));
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!options.officer.empty()) {
    context.AddMetadata(kOfficerMetadata, options.officer);
  }
  if (!options.justification.empty()) {
    context.AddMetadata(kJustificationMetadata, options.justification);
  }
}

}  // namespace concord::ctl
