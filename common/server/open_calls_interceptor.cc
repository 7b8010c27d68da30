// File: common/server/open_calls_interceptor.cc
#include "common/server/open_calls_interceptor.h"

#include <mutex>

#include "grpcpp/support/interceptor.h"

namespace concord::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

class OpenCallsInterceptor final : public grpc::experimental::Interceptor {
 public:
  OpenCallsInterceptor(OpenCalls& calls, ServerRpcInfo* info) : calls_(calls), info_(info) {}

  ~OpenCallsInterceptor() override {
    // Normally already deregistered by a hook; this never touches the context.
    calls_.Deregister(Call(), grpc::StatusCode::CANCELLED);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_CANCEL)) {
      // Inside TryCancel (possibly the registry's, holding the call's lock): nothing to do, and
      // Proceed() is a no-op for this hook.
      return;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Register();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      calls_.Deregister(Call(), methods->GetSendStatus().error_code());
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_CLOSE)) {
      calls_.Deregister(Call(), grpc::StatusCode::CANCELLED);
    }
    methods->Proceed();
  }

 private:
  // gRPC runs the hooks of one call on different threads (PRE_SEND_STATUS on the thread that
  // finishes a callback-API call, POST_RECV_CLOSE on a completion-queue thread, possibly at the
  // same time): the handle is read and written under mu_, and Deregister runs outside it (it may
  // run a reactor inline: open_calls.h).
  OpenCalls::Handle Call() {
    std::lock_guard<std::mutex> lock(mu_);
    return call_;
  }

  void Register() {
    if (Call() != nullptr) return;
    grpc::ServerContextBase* ctx = info_->server_context();
    if (ctx == nullptr) return;
    std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
    if (auth == nullptr) return;
    // Security: the identity the AuthMetadataProcessor admitted, from the peer certificate.
    // A call without an agency identity was refused before reaching any interceptor.
    StatusOr<Caller> caller = CallerFromAuthContext(*auth);
    if (!caller.ok()) return;
    const ServerRpcInfo::Type type = info_->type();
    OpenCalls::Handle call =
        calls_.Register(static_cast<const void*>(ctx),
                        CallInfo{.caller = *std::move(caller),
                                 .method = info_->method() != nullptr ? info_->method() : "",
                                 .streaming = type != ServerRpcInfo::Type::UNARY},
                        [ctx] { ctx->TryCancel(); });
    std::lock_guard<std::mutex> lock(mu_);
    call_ = std::move(call);
  }

  OpenCalls& calls_;
  ServerRpcInfo* info_;
  std::mutex mu_;
  OpenCalls::Handle call_;  // guarded by mu_; set at POST_RECV_INITIAL_METADATA
};

class OpenCallsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit OpenCallsInterceptorFactory(OpenCalls& calls) : calls_(calls) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new OpenCallsInterceptor(calls_, info);
  }

 private:
  OpenCalls& calls_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeOpenCallsInterceptorFactory(OpenCalls& calls) {
  return std::make_unique<OpenCallsInterceptorFactory>(calls);
}

}  // namespace concord::server
