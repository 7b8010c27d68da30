// File: services/federation/gateway_service.cc
#include "services/federation/gateway_service.h"

#include "common/identity/caller.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::federation {

grpc::Status GatewayService::Relay(grpc::ServerContext* ctx, const v1::RelayRequest* req,
                                   v1::RelayResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(*resp, gateway_.AcceptRelay(caller, *req));
  return grpc::Status::OK;
}

grpc::Status GatewayService::GetDirectoryExport(grpc::ServerContext* ctx,
                                                const v1::GetDirectoryExportRequest* req,
                                                v1::SignedDirectoryExport* resp) {
  (void)req;
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  (void)caller;
  CONCORD_GRPC_ASSIGN_OR_RETURN(*resp, gateway_.BuildExport());
  return grpc::Status::OK;
}

grpc::Status FederationService::GetPartnerAgency(grpc::ServerContext* ctx,
                                                 const v1::GetPartnerAgencyRequest* req,
                                                 v1::GetPartnerAgencyResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(*resp, gateway_.GetPartnerAgency(caller, req->agency()));
  return grpc::Status::OK;
}

grpc::Status FederationService::Send(grpc::ServerContext* ctx, const v1::SendAcrossRequest* req,
                                     v1::SendAcrossResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(
      *resp,
      gateway_.SendAcross(caller, req->envelope(), req->has_liaison() ? &req->liaison() : nullptr));
  return grpc::Status::OK;
}

grpc::Status FederationService::ListInbound(grpc::ServerContext* ctx,
                                            const v1::ListInboundRequest* req,
                                            v1::ListInboundResponse* resp) {
  (void)req;
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(std::vector<v1::InboundItem> items, gateway_.ListInbound(caller));
  for (v1::InboundItem& item : items) *resp->add_items() = std::move(item);
  return grpc::Status::OK;
}

grpc::Status FederationService::Acknowledge(grpc::ServerContext* ctx,
                                            const v1::AcknowledgeRequest* req,
                                            v1::AcknowledgeResponse* resp) {
  (void)resp;
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(gateway_.Acknowledge(caller, *req));
  return grpc::Status::OK;
}

grpc::Status FederationService::GetStatus(grpc::ServerContext* ctx, const v1::GetStatusRequest* req,
                                          v1::FederationStatus* resp) {
  (void)ctx;
  (void)req;
  *resp = gateway_.GetStatus();
  return grpc::Status::OK;
}

}  // namespace concord::federation
