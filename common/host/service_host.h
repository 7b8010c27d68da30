// File: common/host/service_host.h
//
// The wiring every Concord binary shares (STYLE.md anti-pattern 7: write it once). A binary
// lists the service modules it hosts; RunServiceHost parses the common flags and CONCORD_*
// environment variables, validates them (including the Redis credentials of every hosted
// module), builds the shared objects once (metrics, directory cache for suspension/revocation,
// authorizer, registry of open calls, TLS server), gives each module its OWN Redis client, logged
// in as the module's workload ACL user (--redis-<module>-user / -password[-file]; a refused login
// stops the binary at start naming the flag), and its own audit sink (its workload's intake),
// asks each module to create its gRPC services and background workers, serves, and drains on
// SIGTERM/SIGINT. Calls that lose their admission while open (suspension, revocation) are ended
// by the registry (common/server/open_calls.h) and audited. concord-server hosts every module;
// concord-directory, concord-audit, ... one each. The host's own Redis work (directory cache,
// audit of refused calls) runs as the first module listed.
#pragma once

#include <grpcpp/impl/codegen/service_type.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/authz/policy.h"
#include "common/config/config.h"
#include "common/metrics/metrics.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"
#include "common/time/clock.h"

namespace concord::server {
class OpenCalls;
struct RevokedCallEnd;
}  // namespace concord::server

namespace concord::quota {
class QuotaChecker;
}  // namespace concord::quota

namespace concord::host {

/// Long-lived collaborators a module may use. All outlive every module instance.
struct HostDeps {
  const config::CommonConfig& config;
  /// The module's own Redis client, logged in as its workload's ACL user (module name).
  redis::RedisClient& redis;
  const redis::RedisConfig& redis_config;  // same user, for the module's own connections (pub/sub)
  metrics::Metrics& metrics;
  /// Appends to the module's own audit intake (common/audit/intake_audit_sink.h).
  audit::AuditSink& audit;
  const authz::RevocationView& revocations;
  Clock& clock;
  /// The bound gRPC (mutual TLS) port once the server has started, 0 before: for modules that
  /// call a service of the same process (the referrals notifier sends through messaging).
  const std::atomic<int>& grpc_port;
  /// The registry of the server's open calls (live revocation): handlers of long-lived calls
  /// take a CallGuard from it (open_calls.h). Null when the host runs none (some tests); a module
  /// then checks its callers against `revocations` itself.
  server::OpenCalls* open_calls = nullptr;
  /// The process's quotas and limits (--quotas) and the Redis storage watermark
  /// (common/quota/quota_checker.h): every module that stores new data asks it. Null in some
  /// tests; a module then uses the default table without a watermark.
  quota::QuotaChecker* quotas = nullptr;
  /// The module's asynchronous Redis client (same ACL user; common/redis/async_redis_client.h),
  /// when its Module asks for one (async_redis); its audit sink's AppendAsync then uses it too.
  /// Null otherwise, and in some tests (a module then creates its own from redis_config).
  redis::AsyncRedisClient* async_redis = nullptr;
};

/// What a module owns once created: its gRPC services (registered on the shared server) and any
/// background workers (stopped by destroying the instance, before the shared objects go).
class ModuleInstance {
 public:
  virtual ~ModuleInstance() = default;
  virtual std::vector<grpc::Service*> services() = 0;
};

struct Module {
  std::string name;  // e.g. "directory": also its workload (Redis ACL user, audit intake)
  std::function<StatusOr<std::unique_ptr<ModuleInstance>>(HostDeps&)> create;
  /// The module stores agencies' new data (messages, uploads, drafts) and refuses it above the
  /// Redis memory watermark: the host runs the storage guard (INFO memory, which the module's
  /// ACL user must be granted) on the Redis client of the first such module it hosts.
  bool guards_storage = false;
  /// Optional: validates the module's own configuration (files it reads at start, its settings)
  /// without connecting anywhere, for `--check-config`. INVALID_ARGUMENT with field violations
  /// naming the flag or key at fault.
  std::function<Status(const config::CommonConfig&)> check_config = nullptr;
  /// The module's hot path uses asynchronous Redis (messaging's Send): the host gives it an
  /// AsyncRedisClient (HostDeps::async_redis, one I/O thread) and an audit sink that appends
  /// through it.
  bool async_redis = false;
};

struct HostSpec {
  std::string binary;       // "concord-server"
  std::string description;  // first line of --help
  std::vector<Module> modules;
};

/// The audit record of an open call ended because its caller lost admission (a security event,
/// appended from a background writer): agency from the certificate, operation consultation (as
/// the records of refused calls), object "authz:AGENCY_SUSPENDED" or
/// "authz:CERTIFICATE_REVOKED", the method, and the status the client saw as outcome
/// ("UNAUTHENTICATED" when the handler ended it, "CANCELLED" when it was cancelled).
audit::AuditEvent RevokedCallAuditEvent(const server::RevokedCallEnd& end, absl::Time now);

/// Runs the binary: returns the process exit code (0 after a clean drain, 2 on bad
/// configuration, 1 on start-up failure). Never throws. With `--check-config` it only validates
/// the configuration (the flags and CONCORD_* variables, the Redis credentials' presence, the
/// audit key, --quotas, and each module's check_config) without connecting to Redis or listening:
/// exit 0 and "<binary>: configuration OK" on stdout, or exit 2 naming every flag or key at fault.
int RunServiceHost(int argc, char** argv, const HostSpec& spec);

}  // namespace concord::host
