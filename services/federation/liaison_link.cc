// File: services/federation/liaison_link.cc
#include "services/federation/liaison_link.h"

#include <chrono>

#include "common/status/grpc_status.h"

namespace concord::federation {

LiaisonLink::LiaisonLink(const std::string& address, const TlsFiles& tls)
    : LiaisonLink(grpc::CreateChannel(address, MakeChannelCredentials(tls))) {}

LiaisonLink::LiaisonLink(std::shared_ptr<grpc::Channel> channel)
    : stub_(::concord::liaison::v1::Liaison::NewStub(std::move(channel))) {}

StatusOr<::concord::liaison::v1::RequestResponse> LiaisonLink::RecordCrossing(
    const ::concord::liaison::v1::RecordCrossingRequest& request) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ::concord::liaison::v1::RequestResponse out;
  const grpc::Status s = stub_->RecordCrossing(&ctx, request, &out);
  if (!s.ok()) return FromGrpcStatus(s);
  return out;
}

}  // namespace concord::federation
