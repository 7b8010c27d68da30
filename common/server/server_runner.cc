#include "common/server/server_runner.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <limits>
#include <mutex>

#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/metrics/grpc_metrics_interceptor.h"
#include "common/metrics/http_server.h"
#include "common/metrics/metrics.h"
#include "common/server/open_calls.h"
#include "common/server/open_calls_interceptor.h"

namespace concord {
namespace {

// ---- SIGTERM/SIGINT -> self-pipe (the handler only calls write(2): async-signal-safe) ----
int g_signal_pipe[2] = {-1, -1};
std::once_flag g_signal_once;

extern "C" void OnTerminationSignal(int /*signo*/) {
  const int saved_errno = errno;
  const char byte = 1;
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

bool MakePipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  return true;
}

void InstallSignalHandlers() {
  std::call_once(g_signal_once, [] {
    if (!MakePipe(g_signal_pipe)) {
      log::Event(log::Level::kError, "server.signal_pipe_failed",
                 {{"errno", std::to_string(errno)}});
      return;
    }
    struct sigaction sa = {};
    sa.sa_handler = OnTerminationSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
  });
}

// ---- ServerBuilder plugins ----

// Records the full names of the services registered on a server (the only public place that
// lists them is ServerInitializer::GetServiceList()).
class ServiceNamesPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::vector<std::string>* out) : out_(out) {}
  std::string name() override { return "concord_service_names"; }
  void InitServer(grpc::ServerInitializer* si) override {
    const std::vector<std::string>* names = si->GetServiceList();
    if (names != nullptr) *out_ = *names;
  }
  void Finish(grpc::ServerInitializer*) override {}
  void ChangeArguments(const std::string&, void*) override {}

 private:
  std::vector<std::string>* out_;
};

// Main server: reflection (v1alpha in gRPC 1.51) plus the service-name recorder. Added per
// builder rather than through the process-global InitProtoReflectionServerBuilderPlugin(), so
// that no other server in the process (the plaintext health server) exposes reflection.
class MainServerPlugins final : public grpc::ServerBuilderOption {
 public:
  explicit MainServerPlugins(std::vector<std::string>* names) : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    bool has_reflection = false;
    for (const auto& p : *plugins) {
      if (p->name() == "proto_server_reflection") has_reflection = true;
    }
    if (!has_reflection) {
      plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

// Health server: no plugin at all (even if someone enabled reflection process-wide).
class NoPlugins final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

bool IsOwnService(const std::string& name) { return name.rfind("grpc.", 0) != 0; }

// A duration as gRPC's int milliseconds, clamped to 1 ms .. INT_MAX ms (~24.8 days).
int ChannelArgMs(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 1, std::numeric_limits<int>::max()));
}

}  // namespace

ServerRunner::ServerRunner(ServerOptions options, metrics::Metrics& metrics,
                           std::shared_ptr<grpc::AuthMetadataProcessor> auth,
                           server::OpenCalls* open_calls)
    : options_(std::move(options)),
      metrics_(metrics),
      auth_(std::move(auth)),
      open_calls_(open_calls),
      unimplemented_(std::make_unique<grpc::CallbackGenericService>()) {}

ServerRunner::~ServerRunner() {
  Shutdown();
  if (wake_pipe_[0] >= 0) close(wake_pipe_[0]);
  if (wake_pipe_[1] >= 0) close(wake_pipe_[1]);
}

void ServerRunner::AddService(grpc::Service* service) { services_.push_back(service); }

void ServerRunner::AddHealthDependency(std::string name, std::function<bool()> healthy) {
  // One gauge per dependency (names are set by code, never by callers: bounded cardinality), so
  // operators can alert on Redis reachability directly instead of inferring it from errors.
  auto& family = prometheus::BuildGauge()
                     .Name("concord_dependency_up")
                     .Help("1 when the dependency answered its last health probe, else 0")
                     .Register(metrics_.registry());
  prometheus::Gauge* up = &family.Add({{"dependency", name}});
  up->Set(1);
  dependencies_.push_back({std::move(name), std::move(healthy), up});
}

int ServerRunner::metrics_port() const { return metrics_http_ ? metrics_http_->port() : 0; }

Status ServerRunner::Start() {
  std::lock_guard<std::mutex> shutdown_lock(shutdown_mu_);
  if (started_) return absl::FailedPreconditionError("server already started");
  Status tls_status = ValidateTlsFiles(options_.tls);
  if (!tls_status.ok()) return tls_status;
  if (wake_pipe_[0] < 0 && !MakePipe(wake_pipe_)) {
    return absl::InternalError("cannot create the shutdown pipe");
  }
  // No-op if main() already did it (it should, before creating any channel) or the operator set
  // GRPC_SSL_CIPHER_SUITES explicitly.
  PinTls12CipherSuites();

  // Process-wide switch read by every ServerBuilder::BuildAndStart(): both of our servers get
  // the default grpc.health.v1 service.
  grpc::EnableDefaultHealthCheckService(true);

  // ---- main mTLS server ----
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds =
      MakeServerCredentials(options_.tls, options_.tls_refresh_seconds);
  if (auth_) creds->SetAuthMetadataProcessor(auth_);
  builder.AddListeningPort(options_.listen_address, creds, &port_);
  // No SO_REUSEPORT: a second process on the same port must fail to start, not share traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Security: no connection lives forever. After max_connection_age the server sends GOAWAY;
  // calls still open after the (finite) grace are ended with the connection, and the client's
  // next calls run a new TLS handshake (the CA bundle and certificate files are re-read every
  // tls_refresh_seconds) and a new authorization. Concord's clients resume their streams.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                             ChannelArgMs(options_.max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ChannelArgMs(options_.max_connection_age_grace));
  // The sync server keeps at most MAX_POLLERS threads waiting for work (default 2). Under
  // concurrent load that made every RPC start a new thread and retire another (clone, stack
  // mmap/munmap, exit: ~6 % of the server's CPU in the messaging profile, docs/performance.md).
  // Threads above MIN_POLLERS (1) still exit after the completion-queue timeout (10 s) when idle.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  // Security: bounded memory per call and per connection, whatever a client sends.
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options_.max_concurrent_streams_per_connection);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  if (open_calls_ != nullptr)
    factories.push_back(server::MakeOpenCallsInterceptorFactory(*open_calls_));
  factories.push_back(metrics::MakeGrpcMetricsInterceptorFactory(metrics_));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  builder.SetOption(std::make_unique<MainServerPlugins>(&service_names_));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return absl::UnavailableError("cannot listen on " + options_.listen_address);
  }
  std::vector<std::string> own;
  for (const std::string& name : service_names_) {
    if (IsOwnService(name)) own.push_back(name);
  }
  service_names_ = std::move(own);

  // ---- plaintext health-only server ----
  if (!options_.health_address.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options_.health_address, grpc::InsecureServerCredentials(),
                                    &health_port_);
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    health_builder.SetOption(std::make_unique<NoPlugins>());
    // A server whose only service is the default health service has no frequently polled
    // completion queue and BuildAndStart() refuses it; a callback generic service provides one
    // and answers every other method with UNIMPLEMENTED (its default reactor).
    health_builder.RegisterCallbackGenericService(unimplemented_.get());
    health_server_ = health_builder.BuildAndStart();
    if (!health_server_ || health_port_ == 0) {
      health_server_.reset();
      server_->Shutdown(std::chrono::system_clock::now());
      server_.reset();
      return absl::UnavailableError("cannot listen on " + options_.health_address);
    }
  }

  const bool healthy = CheckDependencies();
  deps_healthy_.store(healthy);
  SetServing(healthy);

  // ---- Prometheus HTTP ----
  if (!options_.metrics_address.empty()) {
    auto http = metrics::MetricsHttpServer::Start(options_.metrics_address, metrics_, [this] {
      return deps_healthy_.load() && !draining_.load();
    });
    if (!http.ok()) {
      if (health_server_) health_server_->Shutdown(std::chrono::system_clock::now());
      server_->Shutdown(std::chrono::system_clock::now());
      health_server_.reset();
      server_.reset();
      return http.status();
    }
    metrics_http_ = *std::move(http);
  }

  if (options_.handle_signals) InstallSignalHandlers();
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = true;
    stopping_ = false;
  }
  poll_thread_ = std::thread([this] { PollLoop(); });
  if (open_calls_ != nullptr) open_calls_->StartWatcher();
  log::Event(log::Level::kInfo, "server.listening",
             {{"port", std::to_string(port_)},
              {"health_port", std::to_string(health_port_)},
              {"metrics_port", std::to_string(metrics_port())},
              {"services", std::to_string(service_names_.size())},
              {"dependencies_healthy", healthy ? "true" : "false"}});
  return absl::OkStatus();
}

bool ServerRunner::CheckDependencies() {
  bool all = true;
  for (const Dependency& dep : dependencies_) {
    bool ok = false;
    try {
      ok = dep.healthy();
    } catch (...) {
      ok = false;  // a throwing probe counts as unhealthy
    }
    dep.up->Set(ok ? 1 : 0);
    if (!ok) all = false;
  }
  return all;
}

void ServerRunner::SetServing(bool serving) {
  for (grpc::Server* s : {server_.get(), health_server_.get()}) {
    if (s == nullptr) continue;
    grpc::HealthCheckServiceInterface* health = s->GetHealthCheckService();
    if (health == nullptr) continue;
    health->SetServingStatus("", serving);
    for (const std::string& name : service_names_) health->SetServingStatus(name, serving);
  }
}

void ServerRunner::PollLoop() {
  bool last = deps_healthy_.load();
  std::unique_lock<std::mutex> lock(mu_);
  const auto interval = absl::ToChronoMilliseconds(options_.health_poll_interval);
  while (!stopping_) {
    cv_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const bool healthy = CheckDependencies();
    lock.lock();
    if (stopping_) break;
    deps_healthy_.store(healthy);
    if (healthy != last) {
      SetServing(healthy);
      log::Event(healthy ? log::Level::kInfo : log::Level::kWarn,
                 healthy ? "server.dependencies_healthy" : "server.dependencies_unhealthy");
      last = healthy;
    }
  }
}

void ServerRunner::Wait() {
  {
    std::lock_guard<std::mutex> lock(shutdown_mu_);
    if (!started_ || stopped_) return;
  }
  while (true) {
    pollfd fds[2] = {};
    int n = 0;
    fds[n++] = {wake_pipe_[0], POLLIN, 0};
    if (options_.handle_signals && g_signal_pipe[0] >= 0) fds[n++] = {g_signal_pipe[0], POLLIN, 0};
    int rc = poll(fds, static_cast<nfds_t>(n), -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    if (n > 1 && (fds[1].revents & POLLIN) != 0) {
      char byte;
      [[maybe_unused]] ssize_t r = read(g_signal_pipe[0], &byte, 1);
      log::Event(log::Level::kInfo, "server.signal_received");
      break;
    }
    if ((fds[0].revents & POLLIN) != 0) break;
  }
  Shutdown();  // blocks until a concurrent Shutdown() has finished draining
}

void ServerRunner::Shutdown() {
  std::lock_guard<std::mutex> shutdown_lock(shutdown_mu_);
  if (!started_ || stopped_) return;
  draining_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();

  const auto begin = std::chrono::steady_clock::now();
  log::Event(
      log::Level::kInfo, "server.draining",
      {{"drain_timeout_ms", std::to_string(absl::ToInt64Milliseconds(options_.drain_timeout))}});
  SetServing(false);
  // Stops listening at once, rejects new calls, waits for in-flight calls up to the deadline and
  // then cancels what is left.
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options_.drain_timeout));
  server_->Wait();
  if (open_calls_ != nullptr) open_calls_->StopWatcher();
  if (health_server_) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
  }
  if (metrics_http_) metrics_http_->Stop();
  stopped_ = true;
  const char byte = 1;
  [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &byte, 1);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - begin)
                      .count();
  log::Event(log::Level::kInfo, "server.stopped", {{"drain_ms", std::to_string(ms)}});
}

}  // namespace concord
