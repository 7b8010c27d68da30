// File: common/redis/redis_config.h
//
// Connection settings shared by RedisClient (pooled commands) and Subscriber (pub/sub).
#pragma once

#include <string>

#include "absl/time/time.h"

namespace concord::redis {

/// Where and how to reach Redis. hiredis 0.14 has no TLS: in production `host:port` is a local
/// stunnel endpoint that speaks mTLS to Redis (docs/redis.md, PLATFORM.md section 2).
struct RedisConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  /// ACL user; empty means `AUTH <password>` (the default user) or no AUTH at all.
  std::string user;
  /// Never logged and never part of an error message.
  std::string password;
  /// SELECTed on every pooled connection (pub/sub ignores it: channels are global).
  int db = 0;
  /// Maximum number of simultaneous connections of one RedisClient.
  int pool_size = 4;
  /// Bound on TCP connect + AUTH + SELECT.
  absl::Duration connect_timeout = absl::Milliseconds(500);
  /// Bound on each socket read/write of a command, and on waiting for a free pooled connection.
  absl::Duration command_timeout = absl::Seconds(2);
  /// Upper bound of the exponential reconnect backoff (which starts at 50 ms).
  absl::Duration max_backoff = absl::Seconds(2);
};

}  // namespace concord::redis
