// File: services/federation/partner_link.cc
#include "services/federation/partner_link.h"

#include <chrono>

#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tls/tls.h"

namespace concord::federation {
namespace {

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

}  // namespace

PartnerLink::PartnerLink(const FederationConfig& config)
    : PartnerLink(grpc::CreateChannel(
          config.partner_address,
          MakeChannelCredentials(TlsFiles{config.gateway_cert_file, config.gateway_key_file,
                                          config.partner_ca_file}))) {}

PartnerLink::PartnerLink(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::Gateway::NewStub(std::move(channel))) {}

StatusOr<v1::SignedDirectoryExport> PartnerLink::FetchExport() {
  v1::SignedDirectoryExport out;
  const grpc::Status s = stub_->GetDirectoryExport(Context().get(), {}, &out);
  if (!s.ok()) return FromGrpcStatus(s);
  return out;
}

StatusOr<v1::RelayResponse> PartnerLink::Relay(const v1::RelayRequest& request) {
  v1::RelayResponse out;
  const grpc::Status s = stub_->Relay(Context().get(), request, &out);
  if (!s.ok()) return FromGrpcStatus(s);
  return out;
}

}  // namespace concord::federation
