// File: common/redis/keys.h
//
// Key layout rule (docs/redis.md): every Concord key is `concord:{<tag>}:<rest>`. Redis Cluster
// hashes only the text inside the first `{...}`, so all keys sharing a tag live in one slot and
// multi-key commands, MULTI/EXEC and Lua scripts may only combine keys with the same tag.
//
//   Key("agency:police/x", "mailbox")  ->  "concord:{agency:police/x}:mailbox"
#pragma once

#include <string>
#include <string_view>

namespace concord::redis {

/// Builds "concord:{<tag>}:<rest>". `tag` must be non-empty and contain neither '{' nor '}'
/// (otherwise the hash slot would not be what the caller expects); this is a programming error,
/// not input validation, so callers derive tags from validated identifiers.
inline std::string Key(std::string_view tag, std::string_view rest) {
  std::string key;
  key.reserve(tag.size() + rest.size() + 11);
  key.append("concord:{");
  key.append(tag);
  key.append("}:");
  key.append(rest);
  return key;
}

/// The hash tag of `key` as Redis Cluster computes it (text inside the first "{...}" if that is
/// non-empty, else the whole key). Used by tests and by code asserting the layout rule.
inline std::string_view HashTag(std::string_view key) {
  const size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

}  // namespace concord::redis
