// File: common/metrics/grpc_metrics_interceptor.cc
#include "common/metrics/grpc_metrics_interceptor.h"

#include <array>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/metrics/internal/grpc_server_metrics.h"
#include "grpcpp/support/interceptor.h"

namespace concord::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;
using grpc::experimental::ServerRpcInfo;

constexpr std::array<std::string_view, internal::kNumGrpcCodes> kCodeNames = {
    "OK",                  // 0
    "Canceled",            // 1
    "Unknown",             // 2
    "InvalidArgument",     // 3
    "DeadlineExceeded",    // 4
    "NotFound",            // 5
    "AlreadyExists",       // 6
    "PermissionDenied",    // 7
    "ResourceExhausted",   // 8
    "FailedPrecondition",  // 9
    "Aborted",             // 10
    "OutOfRange",          // 11
    "Unimplemented",       // 12
    "Internal",            // 13
    "Unavailable",         // 14
    "DataLoss",            // 15
    "Unauthenticated",     // 16
};

constexpr std::array<std::string_view, 4> kTypeNames = {"unary", "client_stream", "server_stream",
                                                        "bidi_stream"};

int CodeIndex(int i) {
  return (i >= 0 && i < internal::kNumGrpcCodes) ? i : static_cast<int>(grpc::StatusCode::UNKNOWN);
}
int CodeIndex(grpc::StatusCode code) { return CodeIndex(static_cast<int>(code)); }

int TypeIndex(ServerRpcInfo::Type type) {
  const int i = static_cast<int>(type);
  return (i >= 0 && i < 4) ? i : 0;
}

// Service and method names as protobuf allows them ([A-Za-z0-9_.]); anything else (a client can
// put any :path on the wire) is not used as a label value.
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}
bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  for (char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; false when malformed.
bool SplitMethod(std::string_view full, std::string_view& service, std::string_view& method) {
  if (full.size() < 4 || full[0] != '/') return false;
  const size_t slash = full.find('/', 1);
  if (slash == std::string_view::npos) return false;
  service = full.substr(1, slash - 1);
  method = full.substr(slash + 1);
  return IsName(service) && IsName(method);
}

// gRPC runs the hooks of one call on different threads, ordered by gRPC's own code, which
// ThreadSanitizer does not see (docs/reliability.md "Sanitizers"): the call's state is read and
// written under mu_ (never held across Proceed), and the server's metrics are fetched through
// Metrics::grpc_server_metrics() (a std::call_once) on every hook rather than cached.
class GrpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(Metrics& root, ServerRpcInfo* info) : root_(root), info_(info) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Begin();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // nullptr = the read failed or the client half-closed: no message arrived.
      if (methods->GetRecvMessage() != nullptr) Method().msg_received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      Method().msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      MethodMetrics& m = Method();
      metrics().Handled(m, methods->GetSendStatus().error_code());
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - Start();
      m.handling_seconds->Observe(elapsed.count());
    }
    metrics().Used();  // after this hook's last access to the server's metrics
    methods->Proceed();
  }

 private:
  using MethodMetrics = internal::MethodMetrics;

  internal::GrpcServerMetrics& metrics() { return root_.grpc_server_metrics(); }

  void Begin() {
    std::lock_guard<std::mutex> lock(mu_);
    BeginLocked();
  }

  void BeginLocked() {
    if (method_ != nullptr) return;
    start_ = std::chrono::steady_clock::now();
    method_ =
        &metrics().ForMethod(info_->method() ? info_->method() : "", TypeIndex(info_->type()));
    method_->started->Increment();
  }

  // Normally set by POST_RECV_INITIAL_METADATA, which comes first; Begin() covers any other order.
  MethodMetrics& Method() {
    std::lock_guard<std::mutex> lock(mu_);
    BeginLocked();
    return *method_;
  }

  std::chrono::steady_clock::time_point Start() {
    std::lock_guard<std::mutex> lock(mu_);
    return start_;
  }

  Metrics& root_;
  ServerRpcInfo* info_;
  std::mutex mu_;
  MethodMetrics* method_ = nullptr;              // guarded by mu_
  std::chrono::steady_clock::time_point start_;  // guarded by mu_
};

class GrpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(Metrics& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new GrpcMetricsInterceptor(metrics_, info);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

namespace internal {

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    // Names and help strings exactly as go-grpc-prometheus (server_metrics.go).
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("Total number of RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("Total number of RPCs completed on the server, regardless of success or "
                         "failure.")
                   .Register(registry)),
      msg_received_(prometheus::BuildCounter()
                        .Name("grpc_server_msg_received_total")
                        .Help("Total number of RPC stream messages received on the server.")
                        .Register(registry)),
      msg_sent_(prometheus::BuildCounter()
                    .Name("grpc_server_msg_sent_total")
                    .Help("Total number of gRPC stream messages sent by the server.")
                    .Register(registry)),
      handling_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_server_handling_seconds")
                            .Help("Histogram of response latency (seconds) of gRPC that had been "
                                  "application-level handled by the server.")
                            .Register(registry)) {}

MethodMetrics& GrpcServerMetrics::ForMethod(std::string_view full_method, int type_index) {
  if (type_index < 0 || type_index >= 4) type_index = 0;
  {
    std::shared_lock lock(mu_);
    const auto it = by_method_.find(full_method);
    if (it != by_method_.end() && it->second[type_index] != nullptr) {
      return *it->second[type_index];
    }
  }
  std::unique_lock lock(mu_);
  std::string_view service, method;
  if (!SplitMethod(full_method, service, method) ||
      (by_method_.size() >= kMaxMethods && by_method_.find(full_method) == by_method_.end())) {
    return Create(unknown_, type_index, "unknown", "unknown");
  }
  auto it = by_method_.find(full_method);
  if (it == by_method_.end()) it = by_method_.emplace(std::string(full_method), ByType{}).first;
  return Create(it->second, type_index, service, method);
}

MethodMetrics& GrpcServerMetrics::Create(ByType& slot, int type_index, std::string_view service,
                                         std::string_view method) {
  if (slot[type_index] != nullptr) return *slot[type_index];  // another thread was first
  auto m = std::make_unique<MethodMetrics>();
  m->type = std::string(kTypeNames[type_index]);
  m->service = std::string(service);
  m->method = std::string(method);
  const std::map<std::string, std::string> labels = {
      {"grpc_type", m->type}, {"grpc_service", m->service}, {"grpc_method", m->method}};
  m->started = &started_.Add(labels);
  m->msg_received = &msg_received_.Add(labels);
  m->msg_sent = &msg_sent_.Add(labels);
  // go-grpc-prometheus' DefBuckets.
  m->handling_seconds = &handling_seconds_.Add(
      labels,
      prometheus::Histogram::BucketBoundaries{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10});
  slot[type_index] = std::move(m);
  return *slot[type_index];
}

GrpcServerMetrics::~GrpcServerMetrics() { (void)uses_.load(std::memory_order_acquire); }

void GrpcServerMetrics::Used() { uses_.fetch_add(1, std::memory_order_release); }

void GrpcServerMetrics::Handled(MethodMetrics& m, grpc::StatusCode code) {
  const int i = CodeIndex(code);
  prometheus::Counter* c = m.handled[i].load(std::memory_order_acquire);
  if (c == nullptr) {
    // Family::Add is thread-safe and returns the existing child for equal labels, so a race
    // here stores the same pointer twice.
    c = &handled_.Add({{"grpc_type", m.type},
                       {"grpc_service", m.service},
                       {"grpc_method", m.method},
                       {"grpc_code", std::string(kCodeNames[i])}});
    m.handled[i].store(c, std::memory_order_release);
  }
  c->Increment();
}

}  // namespace internal

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(Metrics& metrics) {
  (void)metrics.grpc_server_metrics();  // registers the families before the first call
  return std::make_unique<GrpcMetricsInterceptorFactory>(metrics);
}

void RecordRejectedCall(Metrics& metrics, std::string_view full_method, grpc::StatusCode code) {
  RecordRejectedCall(metrics, full_method, "unary", code);
}

void RecordRejectedCall(Metrics& metrics, std::string_view full_method, std::string_view grpc_type,
                        grpc::StatusCode code) {
  int type_index = 0;
  for (int i = 0; i < 4; ++i) {
    if (kTypeNames[i] == grpc_type) type_index = i;
  }
  internal::GrpcServerMetrics& g = metrics.grpc_server_metrics();
  internal::MethodMetrics& m = g.ForMethod(full_method, type_index);
  m.started->Increment();
  g.Handled(m, code);
}

std::string_view GrpcCodeName(int code) { return kCodeNames[CodeIndex(code)]; }

std::string_view GrpcTypeName(ServerRpcInfo::Type type) { return kTypeNames[TypeIndex(type)]; }

}  // namespace concord::metrics
