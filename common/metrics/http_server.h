// File: common/metrics/http_server.h
//
// Plain-HTTP endpoint for operators and Kubernetes (no TLS: bind it to a pod-local or
// cluster-internal address; it exposes no personal data):
//   GET /metrics  Prometheus text exposition 0.0.4 of the Metrics registry
//   GET /healthz  200 "ok" while the process runs (liveness)
//   GET /readyz   200 "ready" when ready() returns true, else 503 "not ready" (readiness)
//   anything else 404; methods other than GET/HEAD 405.
// Built on civetweb (Debian libcivetweb-dev, already a dependency of prometheus-cpp-dev).
//
// Thread-safety: served from civetweb worker threads; ready() is called concurrently and must be
// thread-safe. The destructor stops the server and joins its threads (no request in flight after).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/metrics/metrics.h"
#include "common/status/status.h"

struct mg_context;
struct mg_connection;

namespace concord::metrics {

class MetricsHttpServer final {
 public:
  /// Starts listening on `address` ("host:port", port 0 = pick a free port; IPv4 host or
  /// "[v6]:port"). INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind.
  /// `metrics` must outlive the server. `ready` may be empty (= always ready).
  static StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& address,
                                                            Metrics& metrics,
                                                            std::function<bool()> ready);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  /// The bound port (the real one when 0 was requested).
  int port() const { return port_; }

  /// Stops serving; idempotent, also done by the destructor.
  void Stop();

 private:
  MetricsHttpServer(Metrics& metrics, std::function<bool()> ready);

  static int Dispatch(mg_connection* conn, void* self);

  Metrics& metrics_;
  std::function<bool()> ready_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::string wake_host_;  // numeric address that reaches the listener (see Stop())
};

}  // namespace concord::metrics
