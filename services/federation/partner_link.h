// File: services/federation/partner_link.h
//
// The mutual-TLS client of the partner gateway's partner port: presents this gateway's
// certificate (admin/concord-gateway of this trust domain, issued by OUR CA) and verifies the
// partner's server certificate against the partner CA alone (and the target host name). Every
// call has a 10 s deadline; gRPC reconnects by itself.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "concord/federation/v1/federation.grpc.pb.h"
#include "services/federation/federation_config.h"
#include "services/federation/gateway.h"

namespace concord::federation {

class PartnerLink final : public PartnerClient {
 public:
  explicit PartnerLink(const FederationConfig& config);
  /// For tests: any channel.
  explicit PartnerLink(std::shared_ptr<grpc::Channel> channel);

  StatusOr<v1::SignedDirectoryExport> FetchExport() override;
  StatusOr<v1::RelayResponse> Relay(const v1::RelayRequest& request) override;

 private:
  std::unique_ptr<v1::Gateway::Stub> stub_;
};

}  // namespace concord::federation
