// File: common/metrics/metrics.h
//
// The process-wide Prometheus registry (one Metrics object per process, built in main and passed
// by reference). Every Concord library that exports metrics registers its families here.
//
// Naming rules (Prometheus naming practice; `promtool check metrics` enforces part of it):
//   - Concord's own metrics start with `concord_` (single-word application prefix); the only
//     other families are the ecosystem-standard gRPC server metrics (`grpc_server_*`, see
//     grpc_metrics_interceptor.h), spelled exactly as go-grpc-prometheus spells them.
//   - Base units with a plural unit suffix (`_seconds`, `_bytes`); counters end in `_total`;
//     build metadata in `*_info` gauges with value 1.
//   - Security/privacy: NEVER an agency id, officer, person, case or message id as a label value.
//     Labels have small, bounded value sets (method names, status codes, agency *types*).
//
// Thread-safety: registry() may be used from any thread (prometheus-cpp is thread-safe).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "prometheus/registry.h"

namespace concord::metrics {

namespace internal {
class GrpcServerMetrics;  // grpc_metrics_interceptor.cc
}  // namespace internal

class Metrics final {
 public:
  /// Creates the registry and registers `concord_build_info{version="<version>"} 1`; the
  /// default constructor uses the CMake project version (CONCORD_VERSION).
  Metrics();
  explicit Metrics(std::string version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  /// The registry rendered in the Prometheus text exposition format 0.0.4 (what /metrics serves).
  std::string Serialize() const;

  /// Internal: the grpc_server_* families shared by the interceptor and RecordRejectedCall(),
  /// registered on first use.
  internal::GrpcServerMetrics& grpc_server_metrics();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::once_flag grpc_once_;
  std::unique_ptr<internal::GrpcServerMetrics> grpc_;
};

}  // namespace concord::metrics
