#include "common/host/service_host.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/audit/background_audit.h"
#include "common/audit/redis_audit_sink.h"
#include "common/authz/auth_processor.h"
#include "common/clients/directory_cache.h"
#include "common/crypto/ed25519.h"
#include "common/log/grpc_log.h"
#include "common/log/log.h"
#include "common/server/open_calls.h"
#include "common/server/server_runner.h"
#include "common/tls/tls.h"

namespace concord::host {
namespace {

redis::RedisConfig RedisConfigFrom(const config::CommonConfig& c) {
  redis::RedisConfig r;
  r.host = c.redis_host;
  r.port = c.redis_port;
  r.user = c.redis_user;
  r.password = c.redis_password;
  r.pool_size = c.redis_pool_size;
  r.connect_timeout = absl::Milliseconds(c.redis_connect_timeout_ms);
  r.command_timeout = absl::Milliseconds(c.redis_command_timeout_ms);
  return r;
}

ServerOptions ServerOptionsFrom(const config::CommonConfig& c) {
  ServerOptions o;
  o.listen_address = c.listen_address;
  o.health_address = c.health_address;
  o.metrics_address = c.metrics_address;
  o.tls = TlsFiles{c.tls_cert, c.tls_key, c.tls_ca};
  o.tls_refresh_seconds = c.tls_refresh_seconds;
  o.drain_timeout = absl::Seconds(c.drain_timeout_seconds);
  o.max_connection_age = absl::Seconds(c.max_connection_age_seconds);
  o.max_connection_age_grace = absl::Seconds(c.max_connection_age_grace_seconds);
  return o;
}

void PrintConfigError(const std::string& binary, const Status& status) {
  std::cerr << binary << ": invalid configuration: " << status.message() << "\n";
  for (const FieldViolation& v : FieldViolationsOf(status)) {
    std::cerr << "  " << v.field << ": " << v.description << "\n";
  }
  std::cerr << "Run '" << binary << " --help' for the options and their CONCORD_* variables.\n";
}

int Serve(const HostSpec& spec, const config::CommonConfig& cfg) {
  Clock& clock = SystemClock::Get();
  auto audit_key = audit::LoadAuditKey(cfg.audit_key_file);
  if (!audit_key.ok()) {
    PrintConfigError(
        spec.binary,
        InvalidArgumentWithFields(
            "audit key", {{"--audit-key-file", std::string(audit_key.status().message())}}));
    return 2;
  }
  const redis::RedisConfig redis_config = RedisConfigFrom(cfg);
  std::unique_ptr<redis::RedisClient> redis = redis::RedisClient::Create(redis_config);
  metrics::Metrics metrics;
  clients::DirectoryCacheOptions cache_options;
  for (const std::string& entry : config::BootstrapDirectoryAdmins(cfg)) {
    if (auto admin = ParseAgencyKey(cfg.trust_domain, entry); admin.ok()) {
      cache_options.bootstrap_directory_admins.push_back(*admin);
    }
  }
  if (!cfg.bootstrap_directory_admins.empty()) {
    // Not silent: the bootstrap grant is logged at start and audited on each use.
    log::Event(log::Level::kWarn, "authz.bootstrap_directory_admins",
               {{"admins", cfg.bootstrap_directory_admins},
                {"until", "an active registered agency holds directory_administrator"}});
  }
  clients::DirectoryCache directory_cache(*redis, redis_config, cache_options);
  // Fail closed until the first load: the authorizer refuses calls while the cache is not ready.
  if (Status loaded = directory_cache.Start(); !loaded.ok()) {
    log::Event(log::Level::kWarn, "directory_cache.not_loaded",
               {{"error", std::string(loaded.message())}, {"retrying", "background"}});
  }
  authz::Authorizer authorizer(cfg.trust_domain, directory_cache);
  auto processor = std::make_shared<authz::AuthProcessor>(authorizer, metrics);
  audit::RedisAuditSink audit_sink(*redis, *audit_key, clock);
  // Every refused call of an identified agency is audited too (off the transport thread).
  audit::BackgroundAuditWriter refusal_audit(audit_sink, metrics);
  processor->SetDenialObserver([&refusal_audit, &clock](const Caller& caller,
                                                        std::string_view method,
                                                        const Status& refusal) {
    refusal_audit.Submit(audit::AuditEvent{.agency = caller.agency,
                                           .officer = "",
                                           .operation = audit::Operation::kConsultation,
                                           .object = "authz:" + ReasonOf(refusal),
                                           .method = std::string(method),
                                           .justification = "",
                                           .recipients = {},
                                           .outcome = absl::StatusCodeToString(refusal.code()),
                                           .time = clock.Now()});
  });
  // Live revocation: every open call is registered; the watcher ends the calls of a suspended
  // agency or a revoked serial within seconds, and each such end is a security event.
  server::OpenCalls open_calls(directory_cache, metrics, clock);
  open_calls.SetEndObserver([&refusal_audit, &clock](const server::RevokedCallEnd& end) {
    refusal_audit.Submit(RevokedCallAuditEvent(end, clock.Now()));
  });
  std::atomic<int> grpc_port{0};
  HostDeps deps{cfg,   *redis,    redis_config, metrics, audit_sink, directory_cache,
                clock, grpc_port, &open_calls};

  std::vector<std::unique_ptr<ModuleInstance>> instances;
  for (const Module& module : spec.modules) {
    auto instance = module.create(deps);
    if (!instance.ok()) {
      log::Event(log::Level::kError, "module.failed",
                 {{"module", module.name}, {"error", std::string(instance.status().message())}});
      return 1;
    }
    instances.push_back(std::move(*instance));
  }

  ServerRunner runner(ServerOptionsFrom(cfg), metrics, processor, &open_calls);
  for (auto& instance : instances) {
    for (grpc::Service* service : instance->services()) runner.AddService(service);
  }
  runner.AddHealthDependency("redis", [&redis] { return redis->Ping().ok(); });
  runner.AddHealthDependency("directory_cache",
                             [&directory_cache] { return directory_cache.Ready(); });
  if (Status started = runner.Start(); !started.ok()) {
    log::Event(log::Level::kError, "server.start_failed",
               {{"binary", spec.binary}, {"error", std::string(started.message())}});
    return 1;
  }
  grpc_port.store(runner.port());
  std::string modules;
  for (const Module& m : spec.modules) modules += (modules.empty() ? "" : ",") + m.name;
  log::Event(log::Level::kInfo, "server.started",
             {{"binary", spec.binary},
              {"modules", modules},
              {"grpc_port", std::to_string(runner.port())},
              {"health_port", std::to_string(runner.health_port())},
              {"metrics_port", std::to_string(runner.metrics_port())},
              {"ed25519_backend",
               std::string(crypto::Ed25519BackendName(crypto::CurrentEd25519Backend()))}});
  runner.Wait();
  runner.Shutdown();
  instances.clear();  // background workers stop before the shared objects they use
  log::Event(log::Level::kInfo, "server.stopped", {{"binary", spec.binary}});
  return 0;
}

}  // namespace

audit::AuditEvent RevokedCallAuditEvent(const server::RevokedCallEnd& end, absl::Time now) {
  return audit::AuditEvent{
      .agency = end.caller.agency,
      .officer = "",
      .operation = audit::Operation::kConsultation,
      .object = "authz:" + std::string(server::RevocationReasonCode(end.reason)),
      .method = end.method,
      .justification = "",
      .recipients = {},
      .outcome = absl::StatusCodeToString(static_cast<absl::StatusCode>(end.code)),
      .time = now};
}

int RunServiceHost(int argc, char** argv, const HostSpec& spec) {
  log::RedirectGrpcCoreLogs();  // stderr stays one JSON object per line
  PinTls12CipherSuites();
  config::CommonConfig cfg;
  CLI::App app{spec.description, spec.binary};
  config::AddCommonFlags(app, cfg);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (Status valid = config::Validate(cfg); !valid.ok()) {
    PrintConfigError(spec.binary, valid);
    return 2;
  }
  if (auto level = log::ParseLevel(cfg.log_level)) log::SetLevel(*level);
  // Process-wide: every signature verification (messaging, receipts, audit checkpoints) uses it.
  crypto::SetEd25519Backend(cfg.ed25519_backend == "openssl" ? crypto::Ed25519Backend::kOpenSsl
                                                             : crypto::Ed25519Backend::kSodium);
  try {
    return Serve(spec, cfg);
  } catch (const std::exception& e) {  // last resort: third-party code must not kill us silently
    log::Event(log::Level::kError, "server.fatal", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace concord::host
