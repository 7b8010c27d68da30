// File: common/clients/directory_cache.h
//
// DirectoryCache: the in-memory directory state that the Authorizer consults on EVERY call,
// without a Redis read per call: suspended agencies, revoked certificate serials, and every
// agency's explicit attributes (common/attributes), from which the admin roles of the policy
// table (directory administrator, audit reviewer) and the other rights (guideline publisher,
// recognised centre, magistrate role, time zone) are read.
//
// Bootstrap of an empty deployment (docs/operations.md --bootstrap-directory-admins): the admin
// identities named in DirectoryCacheOptions::bootstrap_directory_admins hold directory
// administration while no ACTIVE registered agency holds the attribute directory_administrator
// (authz::WithBootstrap). It ends by itself once one is registered, and comes back only if every
// directory administrator is suspended. RolesOf reports it (AdminRoles::bootstrap) so that the
// directory audits such calls as bootstrap grants.
//
// Freshness (PRODUCT.md: "effect within seconds on all replicas"; the issue: within 5 s):
//   - loaded from the directory's Redis keys (directory_keys.h) at Start();
//   - reloaded after every message on "concord:directory:events" (the directory publishes in the
//     same Lua script that changes the sets, so a reload that follows the message sees the
//     change);
//   - reloaded after every (re)subscribe (messages published while disconnected are lost);
//   - reloaded every reload_interval (default 30 s) as a safety net, and retried every
//     retry_interval while a reload fails.
// Reloads run on the cache's own thread; the pub/sub callbacks only wake it, so bursts of events
// coalesce into one reload.
//
// While Redis is unreachable the LAST KNOWN state is kept (documented choice, docs/security.md):
// dropping it would either let revoked certificates in (fail open) or refuse every agency
// (fail closed on an outage the rest of the platform survives for cached reads). Before the first
// successful load Ready() is false and the Authorizer refuses calls with UNAVAILABLE (fail
// closed): a replica never serves with an unknown revocation state.
//
// Thread-safety: all public methods are thread-safe. IsSuspended/IsSerialRevoked/RolesOf/
// AttributesOf take a shared lock only (no I/O).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/time/time.h"
#include "common/attributes/agency_attributes.h"
#include "common/authz/policy.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"

namespace concord::clients {

struct DirectoryCacheOptions {
  absl::Duration reload_interval = absl::Seconds(30);  // periodic safety reload
  absl::Duration retry_interval = absl::Seconds(1);    // while a reload fails
  /// Admin identities holding directory administration while no active registered agency holds
  /// it (see the file comment). Concord's service identities are never granted it.
  std::vector<AgencyId> bootstrap_directory_admins{};
};

class DirectoryCache final : public authz::RevocationView {
 public:
  /// `redis` is used for the reloads and must outlive the cache; `subscriber_config` opens the
  /// pub/sub connection (usually the same settings as `redis`).
  DirectoryCache(redis::RedisClient& redis, redis::RedisConfig subscriber_config,
                 DirectoryCacheOptions options = {});
  /// Stop().
  ~DirectoryCache() override;
  DirectoryCache(const DirectoryCache&) = delete;
  DirectoryCache& operator=(const DirectoryCache&) = delete;

  /// Loads once synchronously, then starts the subscriber and the reload thread. Returns the
  /// status of that first load: on UNAVAILABLE the cache keeps retrying in the background and
  /// Ready() turns true after the first success. Call once.
  Status Start();
  /// Stops the subscriber and the reload thread. Idempotent.
  void Stop();

  /// Reads the sets and the attributes now (MULTI/EXEC: one consistent snapshot) and swaps them
  /// in. On failure the previous state is kept and the status returned. An attribute entry that
  /// does not parse is skipped (its agency reads as holding the defaults) and logged.
  Status Reload();

  bool IsSuspended(const AgencyId& agency) const override;
  bool IsSerialRevoked(std::string_view serial) const override;
  bool Ready() const override { return loaded_.load(); }
  /// Roles from the agency's attributes, with the bootstrap grant (authz::WithBootstrap).
  authz::AdminRoles RolesOf(const AgencyId& agency) const override;

  /// Every attribute of `agency` as the directory last said (defaults for an agency without
  /// explicit values, or not registered). For services: the guideline publisher right, the
  /// recognised centre right, the magistrate role, the time zone.
  attributes::AgencyAttributes AttributesOf(const AgencyId& agency) const;
  /// Whether an active registered agency holds directory administration (ends the bootstrap).
  bool HasDirectoryAdministrator() const;

  /// Number of successful reloads so far (for tests and metrics).
  int64_t reload_count() const { return reload_count_.load(); }
  size_t suspended_count() const;
  size_t revoked_count() const;

 private:
  void RequestReload();
  void ReloadLoop();

  redis::RedisClient& redis_;
  const redis::RedisConfig subscriber_config_;
  const DirectoryCacheOptions options_;

  mutable std::shared_mutex state_mu_;
  std::unordered_set<std::string> suspended_;  // agency keys "<type>/<id>"; guarded by state_mu_
  std::unordered_set<std::string> revoked_;    // normalised serials; guarded by state_mu_
  // agency key -> explicit attribute values (sanitised); guarded by state_mu_
  std::unordered_map<std::string, attributes::AttributeMap> attributes_;
  bool has_directory_administrator_ = false;  // guarded by state_mu_
  std::atomic<bool> loaded_{false};
  std::atomic<int64_t> reload_count_{0};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool reload_requested_ = false;  // guarded by loop_mu_
  bool stopping_ = false;          // guarded by loop_mu_
  bool started_ = false;           // guarded by loop_mu_
  std::thread thread_;
  std::unique_ptr<redis::Subscriber> subscriber_;
};

}  // namespace concord::clients
