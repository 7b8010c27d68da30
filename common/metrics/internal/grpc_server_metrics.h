// File: common/metrics/internal/grpc_server_metrics.h  (private to concord_metrics)
//
// The go-grpc-prometheus server families and a per-method cache of their children, so the
// interceptor's hot path is one shared-lock map lookup per call and atomic increments.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace concord::metrics::internal {

/// Number of canonical codes (OK .. UNAUTHENTICATED = 0..16).
inline constexpr int kNumGrpcCodes = 17;

/// Children of one (grpc_type, grpc_service, grpc_method).
struct MethodMetrics {
  prometheus::Counter* started = nullptr;
  prometheus::Counter* msg_received = nullptr;
  prometheus::Counter* msg_sent = nullptr;
  prometheus::Histogram* handling_seconds = nullptr;
  /// grpc_server_handled_total children by code, created on first use.
  std::array<std::atomic<prometheus::Counter*>, kNumGrpcCodes> handled{};
  std::string type, service, method;  // label values
};

class GrpcServerMetrics final {
 public:
  explicit GrpcServerMetrics(prometheus::Registry& registry);
  ~GrpcServerMetrics();

  /// The cached children for `full_method` ("/pkg.Service/Method") of type `type_index`
  /// (0 unary, 1 client_stream, 2 server_stream, 3 bidi_stream, as ServerRpcInfo::Type).
  /// Malformed names, and new names once kMaxMethods are known, are counted under
  /// grpc_service="unknown", grpc_method="unknown" (bounded cardinality whatever clients send).
  /// The reference stays valid for the life of this object.
  MethodMetrics& ForMethod(std::string_view full_method, int type_index);

  void Handled(MethodMetrics& m, grpc::StatusCode code);
  /// Called by the interceptor after each hook's last access (see uses_).
  void Used();

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Counter>& msg_received_;
  prometheus::Family<prometheus::Counter>& msg_sent_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;

  static constexpr size_t kMaxMethods = 512;
  using ByType = std::array<std::unique_ptr<MethodMetrics>, 4>;

  MethodMetrics& Create(ByType& slot, int type_index, std::string_view service,
                        std::string_view method) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Released by Used() after each interceptor hook, acquired by the destructor: a server's last
  // call ends before its metrics are destroyed, an order gRPC keeps in its own code, which
  // ThreadSanitizer does not see (docs/reliability.md "Sanitizers").
  std::atomic<uint64_t> uses_{0};
  std::shared_mutex mu_;
  std::map<std::string, ByType, std::less<>> by_method_ ABSL_GUARDED_BY(mu_);
  ByType unknown_ ABSL_GUARDED_BY(mu_);
};

}  // namespace concord::metrics::internal
