#include "common/host/service_host.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "common/audit/background_audit.h"
#include "common/audit/intake_audit_sink.h"
#include "common/authz/auth_processor.h"
#include "common/clients/directory_cache.h"
#include "common/crypto/ed25519.h"
#include "common/log/grpc_log.h"
#include "common/log/log.h"
#include "common/quota/quota_checker.h"
#include "common/quota/storage_guard.h"
#include "common/server/open_calls.h"
#include "common/server/server_runner.h"
#include "common/tls/tls.h"

namespace concord::host {
namespace {

redis::RedisConfig RedisConfigFrom(const config::CommonConfig& c,
                                   const config::RedisCredential& credential) {
  redis::RedisConfig r;
  r.host = c.redis_host;
  r.port = c.redis_port;
  r.user = credential.user;
  r.password = credential.password;
  r.pool_size = c.redis_pool_size;
  r.connect_timeout = absl::Milliseconds(c.redis_connect_timeout_ms);
  r.command_timeout = absl::Milliseconds(c.redis_command_timeout_ms);
  return r;
}

// What one hosted module reaches Redis with: its workload's ACL user, its own pool, and an audit
// sink writing to its own intake.
struct ModuleRedis {
  std::string workload;
  redis::RedisConfig config;
  std::unique_ptr<redis::RedisClient> client;
  std::unique_ptr<audit::IntakeAuditSink> audit;
  // Modules with Module::async_redis: same user, one I/O thread. Declared last so that it is
  // destroyed first: the callbacks its shutdown runs may still use the audit sink.
  std::unique_ptr<redis::AsyncRedisClient> async_client;
};

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

// --check-config: what Serve checks before connecting anywhere, then each module's own check.
int CheckOnly(const HostSpec& spec, const config::CommonConfig& cfg) {
  FieldErrors all;
  if (auto audit_key = audit::LoadAuditKey(cfg.audit_key_file); !audit_key.ok()) {
    all.Add("--audit-key-file", std::string(audit_key.status().message()));
  }
  if (auto quota_table = quota::QuotaTable::Defaults().WithOverrides(cfg.quotas);
      !quota_table.ok()) {
    for (FieldViolation& v : FieldViolationsOf(quota_table.status())) {
      all.Add(v.field, v.description);
    }
    if (FieldViolationsOf(quota_table.status()).empty()) {
      all.Add("--quotas", std::string(quota_table.status().message()));
    }
  }
  for (const Module& module : spec.modules) {
    if (!module.check_config) continue;
    const Status checked = module.check_config(cfg);
    if (checked.ok()) continue;
    const std::vector<FieldViolation> violations = FieldViolationsOf(checked);
    for (const FieldViolation& v : violations) all.Add(v.field, v.description);
    if (violations.empty()) all.Add(module.name, std::string(checked.message()));
  }
  const Status result = all.ToStatus("invalid configuration");
  if (!result.ok()) {
    PrintConfigError(spec.binary, result);
    return 2;
  }
  std::cout << spec.binary << ": configuration OK\n";
  return 0;
}

int Serve(const HostSpec& spec, const config::CommonConfig& cfg) {
  if (spec.modules.empty()) {  // a binary's wiring error, not the operator's
    log::Event(log::Level::kError, "server.no_modules", {{"binary", spec.binary}});
    return 1;
  }
  Clock& clock = SystemClock::Get();
  auto audit_key = audit::LoadAuditKey(cfg.audit_key_file);
  if (!audit_key.ok()) {
    PrintConfigError(
        spec.binary,
        InvalidArgumentWithFields(
            "audit key", {{"--audit-key-file", std::string(audit_key.status().message())}}));
    return 2;
  }
  // Bounds and quotas per agency type (docs/operations.md "Quotas and limits"): a bad override
  // is a configuration error.
  auto quota_table = quota::QuotaTable::Defaults().WithOverrides(cfg.quotas);
  if (!quota_table.ok()) {
    PrintConfigError(spec.binary, quota_table.status());
    return 2;
  }
  // Security: least privilege in Redis. Each module connects as its own workload's ACL user
  // (deploy/redis-users.acl), also when several share this process, so a module can only touch
  // its own keys (and append to its own audit intake).
  std::vector<ModuleRedis> module_redis;
  for (const Module& module : spec.modules) {
    auto credential = config::RedisCredentialFor(cfg, module.name);
    if (!credential.ok()) {
      PrintConfigError(spec.binary, credential.status());
      return 2;
    }
    ModuleRedis m;
    m.workload = module.name;
    m.config = RedisConfigFrom(cfg, *credential);
    m.client = redis::RedisClient::Create(m.config);
    if (module.async_redis) m.async_client = redis::AsyncRedisClient::Create(m.config);
    m.audit = std::make_unique<audit::IntakeAuditSink>(*m.client, *audit_key, clock, module.name,
                                                       m.async_client.get());
    module_redis.push_back(std::move(m));
  }
  // A refused login is a configuration error: stop now, naming the flags. An unreachable Redis
  // is not (it may start later): the modules retry, readiness says NOT_SERVING meanwhile.
  for (const ModuleRedis& m : module_redis) {
    const Status reached = m.client->Ping();
    if (redis::IsAuthRefused(reached)) {
      const auto [user_flag, file_flag] = config::RedisCredentialFlags(m.workload);
      PrintConfigError(
          spec.binary,
          InvalidArgumentWithFields(
              "Redis refused a module's credentials",
              {{file_flag, "Redis refused the login of ACL user \"" + m.config.user + "\" (" +
                               user_flag + "): " + std::string(reached.message())}}));
      return 2;
    }
    if (!reached.ok()) {
      log::Event(log::Level::kWarn, "redis.unreachable_at_start",
                 {{"module", m.workload}, {"error", std::string(reached.message())}});
    }
  }
  // The host's own Redis work (the directory cache: read-only {dir} and the directory events
  // channel, which every workload's user may read; the refusal audit) runs as the first module.
  ModuleRedis& host_redis = module_redis.front();
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
  clients::DirectoryCache directory_cache(*host_redis.client, host_redis.config, cache_options);
  // Fail closed until the first load: the authorizer refuses calls while the cache is not ready.
  if (Status loaded = directory_cache.Start(); !loaded.ok()) {
    log::Event(log::Level::kWarn, "directory_cache.not_loaded",
               {{"error", std::string(loaded.message())}, {"retrying", "background"}});
  }
  authz::Authorizer authorizer(cfg.trust_domain, directory_cache);
  auto processor = std::make_shared<authz::AuthProcessor>(authorizer, metrics);
  // Every refused call of an identified agency is audited too (off the transport thread).
  audit::BackgroundAuditWriter refusal_audit(*host_redis.audit, metrics);
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
  // Redis never fills silently: the storage guard reads Redis's memory and the modules that store
  // agencies' new data refuse it above the watermark (as the first such module's ACL user).
  std::unique_ptr<quota::StorageGuard> storage;
  for (size_t i = 0; i < spec.modules.size() && storage == nullptr; ++i) {
    if (!spec.modules[i].guards_storage) continue;
    storage = std::make_unique<quota::StorageGuard>(
        *module_redis[i].client, metrics,
        quota::StorageGuardOptions{.watermark_percent = cfg.redis_memory_watermark_percent,
                                   .poll_interval = absl::Milliseconds(cfg.redis_memory_poll_ms),
                                   .retry_after = absl::Seconds(60)});
    storage->Start();
  }
  quota::QuotaChecker quotas(*quota_table, metrics, clock, storage.get());
  // Live revocation: every open call is registered; the watcher ends the calls of a suspended
  // agency or a revoked serial within seconds, and each such end is a security event. The same
  // registry caps each agency's open streams (Cap::kStreams of its type).
  server::OpenCalls open_calls(directory_cache, metrics, clock,
                               server::OpenCallsOptions{.quotas = &quotas});
  open_calls.SetEndObserver([&refusal_audit, &clock](const server::RevokedCallEnd& end) {
    refusal_audit.Submit(RevokedCallAuditEvent(end, clock.Now()));
  });
  std::atomic<int> grpc_port{0};

  std::vector<std::unique_ptr<ModuleInstance>> instances;
  for (size_t i = 0; i < spec.modules.size(); ++i) {
    const Module& module = spec.modules[i];
    ModuleRedis& m = module_redis[i];
    HostDeps deps{cfg,
                  *m.client,
                  m.config,
                  metrics,
                  *m.audit,
                  directory_cache,
                  clock,
                  grpc_port,
                  &open_calls,
                  &quotas,
                  m.async_client.get()};
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
  runner.AddHealthDependency("redis", [&module_redis] {
    return std::all_of(module_redis.begin(), module_redis.end(),
                       [](const ModuleRedis& m) { return m.client->Ping().ok(); });
  });
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
               std::string(crypto::Ed25519BackendName(crypto::CurrentEd25519Backend()))},
              {"storage_guard", storage != nullptr ? "on" : "off"},
              {"quota_overrides", cfg.quotas.empty() ? "none" : "set"}});
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
  bool check_only = false;
  app.add_flag("--check-config", check_only,
               "validate the configuration (flags, CONCORD_* variables, key and configuration "
               "files) and exit: 0 when valid, 2 naming what is not; connects to nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::vector<std::string> workloads;
  for (const Module& m : spec.modules) workloads.push_back(m.name);
  Status valid = config::Validate(cfg);
  Status credentials = config::ValidateRedisCredentials(cfg, workloads);
  if (!valid.ok() || !credentials.ok()) {
    // One report with every problem.
    FieldErrors all;
    for (const Status* st : {&valid, &credentials}) {
      for (FieldViolation& v : FieldViolationsOf(*st)) all.Add(v.field, v.description);
    }
    PrintConfigError(spec.binary, all.ToStatus("invalid configuration"));
    return 2;
  }
  if (check_only) return CheckOnly(spec, cfg);
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
