// File: common/server/server_runner.h
//
// The per-service server boilerplate, written once:
//   * the mTLS gRPC port (common/tls) with the metrics interceptor, an optional
//     AuthMetadataProcessor (authorization before any handler), the default health service
//     and reflection (grpc.reflection.v1alpha);
//   * a SEPARATE plaintext grpc::Server on health_address hosting only grpc.health.v1 (kubelet
//     gRPC probes cannot do mTLS); its statuses mirror the main server's;
//   * health dependencies (e.g. Redis) polled about every second: when any is unhealthy every
//     service goes NOT_SERVING, and back to SERVING when all recover;
//   * the Prometheus HTTP endpoint on metrics_address (/metrics, /healthz, /readyz where ready =
//     all dependencies healthy);
//   * graceful shutdown on Shutdown() or SIGTERM/SIGINT;
//   * connections live at most max_connection_age (GRPC_ARG_MAX_CONNECTION_AGE_MS, +-10 % jitter
//     by gRPC): the server then sends GOAWAY, lets open calls run for max_connection_age_grace
//     and closes the connection; clients reconnect (and re-run the TLS handshake and the
//     authorization of every new call);
//   * with an OpenCalls registry (open_calls.h): every call is registered by an interceptor and
//     a watcher ends the open calls of a suspended agency or a revoked certificate serial.
//
//   metrics::Metrics metrics;
//   ServerRunner runner(options, metrics, auth_processor);
//   runner.AddService(&service);
//   runner.AddHealthDependency("redis", [&] { return redis->healthy(); });
//   CONCORD_RETURN_IF_ERROR(runner.Start());
//   runner.Wait();  // returns after SIGTERM/SIGINT or Shutdown(), once drained
//
// Port 0 in any address picks a free port; port()/health_port()/metrics_port() return the bound
// ports after Start().
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/status/status.h"
#include "common/tls/tls.h"
#include "prometheus/gauge.h"

namespace concord {

namespace metrics {
class Metrics;
class MetricsHttpServer;
}  // namespace metrics

namespace server {
class OpenCalls;
}  // namespace server

struct ServerOptions {
  std::string listen_address = "127.0.0.1:7443";   // mTLS gRPC
  std::string health_address = "127.0.0.1:7081";   // plaintext grpc.health.v1 only; "" = none
  std::string metrics_address = "127.0.0.1:9464";  // plain HTTP /metrics; "" = none
  TlsFiles tls;
  int tls_refresh_seconds = 60;
  absl::Duration drain_timeout = absl::Seconds(10);
  // GRPC_ARG_MAX_CONNECTION_AGE_MS / GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS of the mTLS port (at
  // most ~24 days each: gRPC takes int milliseconds).
  absl::Duration max_connection_age = absl::Hours(1);
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  absl::Duration health_poll_interval = absl::Seconds(1);
  // Bounds of one connection (docs/architecture.md "Bounds and quotas"): the largest request
  // message accepted (a larger one is RESOURCE_EXHAUSTED before any handler; every Concord
  // request fits: an envelope is at most ~1.1 MiB, a chunk 1 MiB + 16 + its wrapped keys) and the
  // calls one HTTP/2 connection may have open at once.
  int max_receive_message_bytes = 4 * 1024 * 1024;
  int max_concurrent_streams_per_connection = 256;
  // Start() installs process-wide SIGTERM/SIGINT handlers (self-pipe, async-signal-safe) and
  // Wait() also returns on them. One signal wakes one Wait(): use it in one runner per process.
  bool handle_signals = true;
};

class ServerRunner {
 public:
  /// `auth` may be null (no per-call authorization before handlers). `open_calls` may be null (no
  /// registry of open calls, no live revocation); when given it must outlive the runner, and the
  /// runner installs its interceptor and runs its watcher while serving.
  ServerRunner(ServerOptions options, metrics::Metrics& metrics,
               std::shared_ptr<grpc::AuthMetadataProcessor> auth,
               server::OpenCalls* open_calls = nullptr);
  ~ServerRunner();  // Shutdown() if still running

  ServerRunner(const ServerRunner&) = delete;
  ServerRunner& operator=(const ServerRunner&) = delete;

  /// Registers a service on the mTLS port. Before Start(); the service must outlive the runner.
  void AddService(grpc::Service* service);

  /// A dependency polled about every second; false -> all services NOT_SERVING. Before Start().
  void AddHealthDependency(std::string name, std::function<bool()> healthy);

  /// Binds and starts everything. UNAVAILABLE/INVALID_ARGUMENT when a port cannot be bound or
  /// the TLS files are unusable.
  Status Start();

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  int metrics_port() const;

  /// Blocks until Shutdown() (from another thread) or SIGTERM/SIGINT, then shuts down gracefully
  /// and returns once drained.
  void Wait();

  /// Graceful: health NOT_SERVING, stop accepting new calls, let in-flight calls finish up to
  /// drain_timeout (then cancel them), stop the health and metrics servers. Idempotent;
  /// thread-safe.
  void Shutdown();

  /// Whether every health dependency was healthy at the last poll.
  bool dependencies_healthy() const { return deps_healthy_.load(); }

 private:
  struct Dependency {
    std::string name;
    std::function<bool()> healthy;
    prometheus::Gauge* up = nullptr;  // concord_dependency_up{dependency=name}
  };

  void PollLoop();
  void SetServing(bool serving);
  bool CheckDependencies();

  ServerOptions options_;
  metrics::Metrics& metrics_;
  std::shared_ptr<grpc::AuthMetadataProcessor> auth_;
  server::OpenCalls* open_calls_;  // may be null
  std::vector<grpc::Service*> services_;
  std::vector<std::string> service_names_;
  std::vector<Dependency> dependencies_;

  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::CallbackGenericService> unimplemented_;  // health server's catch-all
  std::unique_ptr<grpc::Server> health_server_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_http_;
  int port_ = 0;
  int health_port_ = 0;

  std::atomic<bool> deps_healthy_{true};
  std::atomic<bool> draining_{false};
  int wake_pipe_[2] = {-1, -1};  // Shutdown() -> Wait()
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;   // guarded by shutdown_mu_
  bool stopped_ = false;   // guarded by shutdown_mu_
  bool stopping_ = false;  // guarded by mu_; tells PollLoop to exit
  std::thread poll_thread_;
  std::mutex shutdown_mu_;  // serialises Shutdown()
};

}  // namespace concord
