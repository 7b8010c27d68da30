// File: common/redis/script.h
//
// A Lua script run with EVALSHA (RedisClient::Eval). The SHA-1 is computed locally at
// construction, so the script text travels to Redis only once per server (SCRIPT LOAD after a
// NOSCRIPT reply, e.g. after a restart or SCRIPT FLUSH).
#pragma once

#include <string>

namespace concord::redis {

class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const { return source_; }
  /// Lowercase hex SHA-1 of source(), as Redis computes it.
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace concord::redis
