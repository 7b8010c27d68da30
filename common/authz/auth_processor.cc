// File: common/authz/auth_processor.cc
#include "common/authz/auth_processor.h"

#include <google/protobuf/descriptor.h>

#include "common/identity/caller.h"
#include "common/log/log.h"
#include "common/metrics/grpc_metrics_interceptor.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::authz {
namespace {

// "/pkg.Service/Method" -> "pkg.Service.Method" (descriptor full name); "" if malformed.
std::string DescriptorName(std::string_view full_method) {
  if (full_method.size() < 4 || full_method.front() != '/') return "";
  const size_t slash = full_method.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == full_method.size()) return "";
  std::string name(full_method.substr(1));
  name[slash - 1] = '.';
  return name;
}

// Streaming kinds of the gRPC infrastructure services whose descriptors may not be in the
// generated pool (the built-in health service is compiled without protobuf descriptors).
std::string_view KnownInfrastructureType(std::string_view full_method) {
  if (full_method == "/grpc.health.v1.Health/Watch") return "server_stream";
  if (full_method == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") {
    return "bidi_stream";
  }
  return "unary";
}

}  // namespace

AuthProcessor::AuthProcessor(const Authorizer& authorizer, metrics::Metrics& metrics)
    : authorizer_(authorizer), metrics_(metrics) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const MethodPolicy& policy : PolicyTable()) {
    std::string type(KnownInfrastructureType(policy.method));
    const std::string name = DescriptorName(policy.method);
    if (const auto* method = pool->FindMethodByName(name); method != nullptr) {
      if (method->client_streaming() && method->server_streaming()) {
        type = "bidi_stream";
      } else if (method->client_streaming()) {
        type = "client_stream";
      } else if (method->server_streaming()) {
        type = "server_stream";
      } else {
        type = "unary";
      }
    }
    grpc_types_.emplace(std::string(policy.method), std::move(type));
  }
}

std::string_view AuthProcessor::GrpcTypeOf(std::string_view full_method) const {
  auto it = grpc_types_.find(std::string(full_method));
  return it == grpc_types_.end() ? std::string_view("unary") : std::string_view(it->second);
}

Status AuthProcessor::Check(const grpc::AuthContext& context, std::string_view full_method) const {
  // Security: identity from the verified peer certificate only, never from metadata.
  CONCORD_ASSIGN_OR_RETURN(const Caller caller, CallerFromAuthContext(context));
  return authorizer_.Authorize(caller, full_method);
}

AuthProcessor::~AuthProcessor() { (void)processed_.load(std::memory_order_acquire); }

grpc::Status AuthProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                    OutputMetadata*, OutputMetadata*) {
  // Last of all, after every read of this call (see processed_).
  struct Processed {
    std::atomic<uint64_t>& count;
    ~Processed() { count.fetch_add(1, std::memory_order_release); }
  } processed{processed_};
  std::string_view method;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) {
    method = std::string_view(it->second.data(), it->second.size());
  }
  Status status = context == nullptr ? absl::UnauthenticatedError("no authentication context")
                                     : Check(*context, method);
  if (status.ok()) return grpc::Status::OK;

  // Only methods of the table become metric label values; anything else is "unknown" so a
  // client cannot create unbounded label values.
  const bool known = FindPolicy(method) != nullptr;
  const grpc::StatusCode code = static_cast<grpc::StatusCode>(status.code());
  metrics::RecordRejectedCall(metrics_, known ? method : std::string_view(), GrpcTypeOf(method),
                              code);
  log::Warn("authz.rejected", {{"method", known ? std::string(method) : std::string("unknown")},
                               {"code", std::string(metrics::GrpcCodeName(code))},
                               {"reason", ReasonOf(status)}});
  if (on_denied_ && context != nullptr) {
    if (auto caller = CallerFromAuthContext(*context); caller.ok()) {
      on_denied_(*caller, known ? method : std::string_view("unknown"), status);
    }
  }
  // Only code and message reach the client from this layer (gRPC drops status details here).
  return grpc::Status(code, std::string(status.message()));
}

}  // namespace concord::authz
