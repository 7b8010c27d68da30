// File: services/federation/gateway_service.h
//
// The gRPC handlers of the gateway (thin: caller from the peer certificate, then Gateway):
//   GatewayService     concord.federation.v1.Gateway, registered on the PARTNER port only
//   FederationService  concord.federation.v1.Federation, on the gateway's internal mTLS port
// Authorization ran before (common/authz: partner_gateway for Gateway, federation.* rows for
// Federation). Request field limits are checked first (common/limits).
#pragma once

#include "concord/federation/v1/federation.grpc.pb.h"
#include "services/federation/gateway.h"

namespace concord::federation {

class GatewayService final : public v1::Gateway::Service {
 public:
  explicit GatewayService(Gateway& gateway) : gateway_(gateway) {}

  grpc::Status Relay(grpc::ServerContext* ctx, const v1::RelayRequest* req,
                     v1::RelayResponse* resp) override;
  grpc::Status GetDirectoryExport(grpc::ServerContext* ctx,
                                  const v1::GetDirectoryExportRequest* req,
                                  v1::SignedDirectoryExport* resp) override;

 private:
  Gateway& gateway_;
};

class FederationService final : public v1::Federation::Service {
 public:
  explicit FederationService(Gateway& gateway) : gateway_(gateway) {}

  grpc::Status GetPartnerAgency(grpc::ServerContext* ctx, const v1::GetPartnerAgencyRequest* req,
                                v1::GetPartnerAgencyResponse* resp) override;
  grpc::Status Send(grpc::ServerContext* ctx, const v1::SendAcrossRequest* req,
                    v1::SendAcrossResponse* resp) override;
  grpc::Status ListInbound(grpc::ServerContext* ctx, const v1::ListInboundRequest* req,
                           v1::ListInboundResponse* resp) override;
  grpc::Status Acknowledge(grpc::ServerContext* ctx, const v1::AcknowledgeRequest* req,
                           v1::AcknowledgeResponse* resp) override;
  grpc::Status GetStatus(grpc::ServerContext* ctx, const v1::GetStatusRequest* req,
                         v1::FederationStatus* resp) override;

 private:
  Gateway& gateway_;
};

}  // namespace concord::federation
