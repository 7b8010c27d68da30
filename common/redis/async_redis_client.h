// File: common/redis/async_redis_client.h
//
// Concord's asynchronous Redis client: commands are queued without blocking the caller, written
// pipelined on a few long-lived connections, and completed by a callback with the same Reply and
// status types as RedisClient (redis_client.h). For hot paths that must not hold a thread per
// call (the messaging Send reactor); everything else keeps RedisClient.
//
//   auto redis = redis::AsyncRedisClient::Create(config);    // never fails, connects lazily
//   redis->Eval(script, {key}, {arg}, [](StatusOr<redis::Reply> r) { ... });
//
// Threads: `io_threads` (1 by default) threads each run one event loop (hiredis' async API with
// its libevent adapter) owning `connections_per_thread` (1 by default) connections. A command goes
// to the connection chosen by its routing key (the first key: Command's args[1], Eval's keys[0],
// a pipeline's first command's args[1]); the connection is picked from the key's hash tag
// (keys.h HashTag), so keys of one tag always share a connection, and the choice can become the
// Redis Cluster slot's node later without changing callers.
//
// Order: commands with the same routing key, submitted one after the other (from one thread, or
// ordered by the caller), run and complete in that order. A pipeline's commands are contiguous on
// the connection. The one exception is an Eval refused with NOSCRIPT on a live connection (after
// SCRIPT FLUSH): it is reloaded and retried behind the commands submitted meanwhile.
//
// Callbacks run on an I/O thread (or, after shutdown began, on the calling thread), exactly once
// per call; they must not block (no synchronous Redis call, no waiting) and must not destroy the
// client. They may submit further commands.
//
// Status contract of Command / Eval / Pipeline, the same as RedisClient's:
//   UNAVAILABLE "redis unavailable: <reason>"  Redis unreachable, AUTH/SELECT refused
//       (IsAuthRefused), no reply within command_timeout of the call ("timeout"; the connection
//       is then closed and reopened after the backoff), the client is in its reconnect backoff
//       window (answered without I/O), the client is shutting down, or Redis answered LOADING /
//       BUSY / MASTERDOWN / TRYAGAIN / CLUSTERDOWN / READONLY. The command may or may not have
//       run if the failure happened after it was sent.
//   INTERNAL "redis: <message>"  an error reply to a Command or Eval. Pipeline returns
//       per-command error replies as Reply{kError}.
//   INVALID_ARGUMENT  an empty command.
//
// Reconnection (hiredis' async API has none, and no command timeout either): a connection that
// fails (connect refused, AUTH refused, closed by Redis, or a command past its deadline) is closed
// and every call in flight on it fails with UNAVAILABLE; for the backoff window (backoff.h: 50 ms
// doubling up to max_backoff, jittered) calls on it fail at once; the first call after the window
// opens a new connection (AUTH with the config's ACL user, SELECT), and calls made while it opens
// wait for it, within their own deadline. Scripts: EVALSHA; a script is loaded (SCRIPT LOAD,
// pipelined ahead of its first EVALSHA) once per connection, so a restarted Redis costs no
// NOSCRIPT round trip.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/redis_config.h"
#include "common/redis/reply.h"
#include "common/redis/script.h"
#include "common/status/status.h"

namespace concord::redis {

namespace internal {
class AsyncConnection;
class IoThread;
}  // namespace internal

struct AsyncRedisOptions {
  /// Event-loop threads.
  int io_threads = 1;
  /// Connections owned by each thread (commands are spread over them by routing key).
  int connections_per_thread = 1;
};

class AsyncRedisClient {
 public:
  using Callback = std::function<void(StatusOr<Reply>)>;
  using PipelineCallback = std::function<void(StatusOr<std::vector<Reply>>)>;

  /// Starts the I/O threads; never fails because Redis is down (connections open on first use).
  /// Uses host, port, user, password, db, connect_timeout, command_timeout (the per-call
  /// deadline, from submission) and max_backoff of `config`; pool_size is RedisClient's.
  static std::unique_ptr<AsyncRedisClient> Create(const RedisConfig& config,
                                                  AsyncRedisOptions options = {});
  /// Fails every queued and in-flight call with UNAVAILABLE "redis unavailable: client shut
  /// down" (each callback runs exactly once) and joins the I/O threads. Calls made meanwhile
  /// (from callbacks) fail the same way on the calling thread.
  ~AsyncRedisClient();
  AsyncRedisClient(const AsyncRedisClient&) = delete;
  AsyncRedisClient& operator=(const AsyncRedisClient&) = delete;

  /// One command (binary-safe arguments). Error reply -> INTERNAL "redis: <message>".
  void Command(std::vector<std::string> args, Callback done);

  /// EVALSHA script.sha1() numkeys keys... args...; `script` must outlive the call (scripts are
  /// process-lifetime statics). Keys must share one hash tag (docs/redis.md).
  void Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
            Callback done);

  /// Every command on one connection, contiguous, then every reply: per-command error replies in
  /// place as Reply{kError}; a transport failure fails the whole call. Empty input -> empty output.
  void Pipeline(std::vector<std::vector<std::string>> commands, PipelineCallback done);

  /// False after a transport failure until a later call succeeds. True before the first call.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }

 private:
  struct Request;
  AsyncRedisClient(const RedisConfig& config, AsyncRedisOptions options);
  void Submit(std::string_view routing_key, std::unique_ptr<Request> request);

  const RedisConfig config_;
  std::atomic<bool> healthy_{true};
  std::vector<std::unique_ptr<internal::IoThread>> threads_;
  int connections_per_thread_ = 1;

  friend class internal::AsyncConnection;
  friend class internal::IoThread;
};

}  // namespace concord::redis
