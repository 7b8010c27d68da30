// File: services/federation/liaison_link.h
//
// LiaisonLink: the gateway's gRPC client of this deployment's liaison service
// (Liaison/RecordCrossing), over mutual TLS with the gateway's own identity
// admin/concord-gateway (the only identity the liaison service lets record a crossing).
// A call has a 10 s deadline; an unreachable service is UNAVAILABLE (the gateway refuses the
// relay so that the sender retries).
//
// Thread safety: thread-safe (gRPC stubs are).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/tls/tls.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"
#include "services/federation/gateway.h"

namespace concord::federation {

class LiaisonLink final : public LiaisonRecorder {
 public:
  /// `tls`: the gateway certificate and key, and the deployment CA.
  LiaisonLink(const std::string& address, const TlsFiles& tls);
  explicit LiaisonLink(std::shared_ptr<grpc::Channel> channel);

  StatusOr<::concord::liaison::v1::RequestResponse> RecordCrossing(
      const ::concord::liaison::v1::RecordCrossingRequest& request) override;

 private:
  std::unique_ptr<::concord::liaison::v1::Liaison::Stub> stub_;
};

}  // namespace concord::federation
