#include "tests/support/echo_service.h"

#include <chrono>

#include "common/identity/caller.h"
#include "common/status/grpc_status.h"

namespace concord::testing {

void EchoService::HoldCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  hold_ = true;
}

void EchoService::ReleaseCalls() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
  }
  cv_.notify_all();
}

bool EchoService::WaitForHeld(int n, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] { return held_ >= n; });
}

int EchoService::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

bool EchoService::Park(grpc::ServerContext* ctx) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!hold_) return true;
  ++held_;
  cv_.notify_all();
  // Wakes on ReleaseCalls(); also notices cancellation (drain deadline passed, client gone),
  // which the sync API can only report by polling IsCancelled().
  while (hold_ && !ctx->IsCancelled()) {
    cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return !hold_; });
  }
  --held_;
  return !ctx->IsCancelled();
}

grpc::Status EchoService::Echo(grpc::ServerContext* ctx, const v1::EchoRequest* request,
                               v1::EchoReply* reply) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
  }
  StatusOr<Caller> caller = CallerFromContext(*ctx);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!Park(ctx)) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while held");
  reply->set_payload(request->payload());
  reply->set_caller(caller->agency.ToSpiffe());
  return grpc::Status::OK;
}

grpc::Status EchoService::EchoStream(grpc::ServerContext* ctx, const v1::EchoRequest* request,
                                     grpc::ServerWriter<v1::EchoReply>* writer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
  }
  StatusOr<Caller> caller = CallerFromContext(*ctx);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const int count = request->count() > 0 ? request->count() : 1;
  v1::EchoReply reply;
  reply.set_payload(request->payload());
  reply.set_caller(caller->agency.ToSpiffe());
  for (int i = 0; i < count; ++i) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    if (!writer->Write(reply)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    if (i == 0 && !Park(ctx)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled while held");
    }
  }
  return grpc::Status::OK;
}

}  // namespace concord::testing
