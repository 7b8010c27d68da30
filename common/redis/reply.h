// File: common/redis/reply.h
//
// A Redis (RESP2) reply copied out of hiredis, so no hiredis type leaks into callers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace concord::redis {

struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  /// Bulk string (binary-safe), status text ("OK") or error message ("ERR ...").
  std::string str;
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

}  // namespace concord::redis
