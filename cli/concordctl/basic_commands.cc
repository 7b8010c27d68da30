// health and whoami.
#include <nlohmann/json.hpp>

#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/local_files.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace concord::ctl {

int RunHealth(const Globals& globals, const HealthArgs& args, Output& out) {
  StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(globals.connection);
  if (!channel.ok()) {
    return out.LocalError(channel.status());
  }
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(args.service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return out.RpcError("grpc.health.v1.Health/Check", status);
  }
  std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  if (out.json()) {
    out.Json({{"server", globals.connection.server},
              {"service", args.service},
              {"status", name},
              {"serving", serving}});
  } else {
    out.Line(name + "  (" + globals.connection.server +
             (args.service.empty() ? "" : ", service " + args.service) + ")");
  }
  return serving ? kExitOk : kExitVerificationFailed;
}

int RunWhoami(const Globals& globals, Output& out) {
  std::string cert_file = globals.connection.cert_file;
  if (cert_file.empty() && !globals.connection.agency_dir.empty()) {
    cert_file = globals.connection.agency_dir + "/cert.pem";
  }
  if (cert_file.empty()) {
    return out.LocalError(
        absl::InvalidArgumentError("no client certificate: give --agency-dir DIR or --cert FILE "
                                   "(environment CONCORD_AGENCY_DIR, CONCORD_CERT)"));
  }
  StatusOr<CertificateInfo> info = ReadCertificateInfo(cert_file);
  if (!info.ok()) {
    return out.LocalError(info.status());
  }
  if (out.json()) {
    out.Json({{"certificate", cert_file},
              {"spiffe_id", info->spiffe_id},
              {"trust_domain", info->trust_domain},
              {"type", info->agency_type},
              {"id", info->agency_id},
              {"serial", info->serial},
              {"subject", info->subject},
              {"issuer", info->issuer},
              {"not_before", info->not_before},
              {"not_after", info->not_after},
              {"uri_sans", info->uri_sans},
              {"identity_error", info->identity_error}});
  } else if (info->identity_error.empty()) {
    out.Line(info->spiffe_id);
    out.KeyValues({{"  agency", info->agency_type + "/" + info->agency_id},
                   {"  trust domain", info->trust_domain},
                   {"  serial", info->serial},
                   {"  valid", info->not_before + " .. " + info->not_after},
                   {"  issuer", info->issuer},
                   {"  certificate", cert_file}});
  }
  if (!info->identity_error.empty()) {
    return out.LocalError(absl::FailedPreconditionError(
        cert_file + ": not a valid agency identity: " + info->identity_error));
  }
  return kExitOk;
}

}  // namespace concord::ctl
