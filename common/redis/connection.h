// File: common/redis/connection.h  (internal to concord_redis)
//
// One blocking hiredis connection: connect with a timeout, per-command socket timeout, TCP
// keepalive, AUTH and SELECT; binary-safe commands and pipelines; SIGPIPE-safe writes; replies
// copied into Reply. Not thread-safe: RedisClient hands a Connection to one caller at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/redis/redis_config.h"
#include "common/redis/reply.h"
#include "common/status/status.h"

struct redisContext;
struct redisReply;

namespace concord::redis::internal {

struct ContextDeleter {
  void operator()(redisContext* c) const;
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

/// Prefix of every transport failure: "redis unavailable: <reason>".
Status Unavailable(std::string_view reason);

/// Marks / recognises the UNAVAILABLE status of a refused AUTH (a status payload, so the mark
/// survives the client's backoff window, which replays the status that opened it).
void MarkAuthRefused(Status& status);
bool HasAuthRefusedMark(const Status& status);

/// A top-level error reply as a status (RedisClient::Command / Eval, AsyncRedisClient): transient
/// server states (LOADING, BUSY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN, READONLY) -> UNAVAILABLE,
/// any other error -> INTERNAL "redis: <message>"; a non-error reply is returned as is.
StatusOr<Reply> ErrorReplyToStatus(Reply reply);

/// Copies a hiredis reply tree (nullptr -> kNil).
Reply ConvertReply(const redisReply* r);

/// Blocks SIGPIPE in the calling thread for its lifetime and swallows a SIGPIPE raised meanwhile:
/// hiredis writes with write(2), which would kill the process when Redis closed the socket.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock();
  ~ScopedSigpipeBlock();
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  bool was_pending_ = false;
  bool was_blocked_ = false;
};

class Connection {
 public:
  /// Connects (bounded by connect_timeout), enables keepalive, AUTHs and SELECTs.
  /// `select_db` false for pub/sub connections. Errors: UNAVAILABLE (unreachable, timeout, AUTH
  /// or SELECT refused); the message names the failing step, never the password.
  static StatusOr<std::unique_ptr<Connection>> Open(const RedisConfig& config, bool select_db);

  /// Sends one command, reads its reply. A Redis error reply is an OK StatusOr holding
  /// Reply{kError}; transport failures return UNAVAILABLE and mark the connection broken.
  StatusOr<Reply> Execute(const std::vector<std::string>& args);

  /// Appends every command, then reads every reply (one round trip).
  StatusOr<std::vector<Reply>> ExecutePipeline(const std::vector<std::vector<std::string>>& cmds);

  /// True once a transport error or timeout happened; the connection must then be discarded.
  bool broken() const { return broken_; }

  /// Cheap check for an idle pooled connection: false if the peer closed it (or sent unexpected
  /// data) while it sat in the pool, e.g. because Redis restarted.
  bool LooksAlive() const;

  redisContext* context() { return ctx_.get(); }

  /// The hiredis error of the last failure, as text for "redis unavailable: <reason>".
  std::string ErrorReason() const;

 private:
  explicit Connection(ContextPtr ctx) : ctx_(std::move(ctx)) {}
  Status Fail();

  ContextPtr ctx_;
  bool broken_ = false;
};

}  // namespace concord::redis::internal
