// File: common/redis/redis_client.h
//
// Concord's Redis client: a thread-safe pool of blocking hiredis connections with bounded
// timeouts, fail-fast behaviour while Redis is down, pipelining and EVALSHA scripts.
// Semantics in docs/redis.md. This header is the module's entry point: it also brings in
// RedisConfig, Reply, Script, Key() and Subscriber.
//
//   auto redis = redis::RedisClient::Create(config);            // never fails, connects lazily
//   CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
//       redis->Command({"HGET", redis::Key(tag, "agency"), "status"}));
//
// Status contract of Command / Pipeline / Eval / Ping:
//   UNAVAILABLE "redis unavailable: <reason>"  Redis unreachable, AUTH/SELECT refused, a socket
//       timeout (command_timeout), no pooled connection free within command_timeout, the client
//       is in its reconnect backoff window (returned at once, without I/O), or Redis answered
//       LOADING / BUSY / MASTERDOWN / TRYAGAIN / CLUSTERDOWN (transient server states).
//       The command may or may not have run if the failure happened after it was sent.
//   INTERNAL "redis: <message>"  Redis answered with an error reply (WRONGTYPE, a Lua error, ...)
//       to a Command or Eval. Pipeline returns per-command error replies as Reply{kError}.
//   INVALID_ARGUMENT  an empty command.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/redis/keys.h"
#include "common/redis/redis_config.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "common/redis/subscriber.h"
#include "common/status/status.h"

namespace concord::redis {

namespace internal {
class Backoff;
class Connection;
}  // namespace internal

/// True when `status` comes from Redis refusing this client's AUTH (WRONGPASS: unknown or
/// disabled ACL user, wrong password): a configuration error rather than an outage. Such a
/// status is still UNAVAILABLE (the contract above); binaries check this at start to stop with a
/// message naming the credential flag instead of retrying for ever.
bool IsAuthRefused(const Status& status);

/// Thread-safe. One process may hold several (one per ACL user: common/host gives each hosted
/// module its own); share each by reference.
class RedisClient {
 public:
  /// Never fails because Redis is down: connections are opened lazily by the first calls.
  static std::unique_ptr<RedisClient> Create(const RedisConfig& config);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Runs one command (binary-safe arguments). Error reply -> INTERNAL "redis: <message>".
  StatusOr<Reply> Command(const std::vector<std::string>& args);

  /// Sends all commands on one connection, then reads all replies. An error reply of one command
  /// does not fail the call: it is returned in place as Reply{kError}, the others still run (this
  /// is not a transaction; wrap in MULTI/EXEC for atomicity). A transport failure fails the whole
  /// call with UNAVAILABLE; a prefix of the commands may have run. Empty input -> empty output.
  StatusOr<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  /// EVALSHA script.sha1() numkeys keys... args...; on NOSCRIPT it runs SCRIPT LOAD and retries
  /// once on the same connection. Keys must share one hash tag (docs/redis.md).
  StatusOr<Reply> Eval(const Script& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args);

  /// PING. OK when Redis answered PONG. A cheap active probe for readiness checks: while the
  /// client is in its backoff window it returns UNAVAILABLE without I/O.
  Status Ping();

  /// Outcome of the most recent call that reached (or failed to reach) Redis: false after a
  /// transport failure until a later call succeeds. True before the first call. Never blocks.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

 private:
  using Conn = std::unique_ptr<internal::Connection>;
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Lease {
    Conn conn;
    uint64_t generation = 0;
  };

  explicit RedisClient(const RedisConfig& config);

  /// A connection for one caller: an idle one, a new one, or UNAVAILABLE (backoff window,
  /// connect failure, or none free within command_timeout).
  StatusOr<Lease> Acquire();
  /// Returns the connection to the pool, or drops it and marks the client down when broken.
  void Release(Lease lease);
  void MarkDownLocked(Status status);
  void MarkUpLocked();

  StatusOr<Reply> EvalOn(internal::Connection& conn, const Script& script,
                         const std::vector<std::string>& keys,
                         const std::vector<std::string>& args);

  const RedisConfig config_;
  std::atomic<bool> healthy_{true};

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Lease> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // connections in use, idle or being opened
  // Bumped on every outage: connections from before it are dropped instead of reused.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  SteadyTime down_until_ ABSL_GUARDED_BY(mu_){};  // end of the backoff window
  Status down_status_ ABSL_GUARDED_BY(mu_);       // returned during the window
  std::unique_ptr<internal::Backoff> backoff_ ABSL_GUARDED_BY(mu_);
};

}  // namespace concord::redis
