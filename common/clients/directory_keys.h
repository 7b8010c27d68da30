// File: common/clients/directory_keys.h
//
// The Redis keys of the directory that OTHER components read (the revocation cache of every
// service, DirectoryCache) and the directory service writes (services/directory/
// redis_directory_store.cc documents the full schema). All keys share the hash tag "{dir}", so
// every directory write (record + indices + suspended/revoked sets) is one Lua script in one
// slot, Redis Cluster-ready.
//
//   concord:{dir}:suspended   SET   agency keys "<type>/<id>" of suspended agencies
//   concord:{dir}:revoked     HASH  certificate serial (upper-case hex) -> JSON {reason,
//                                   revoked_at}
//   concord:{dir}:attributes  HASH  agency key "<type>/<id>" -> JSON object of the agency's
//                                   explicit attribute values {"directory_administrator":"true",
//                                   ...} (common/attributes); one entry per registered agency
//
// Every change to any of them is PUBLISHed on kDirectoryEventsChannel in the same script.
#pragma once

#include <string>
#include <string_view>

#include "common/redis/keys.h"

namespace concord::clients {

inline constexpr std::string_view kDirectoryTag = "dir";
inline constexpr std::string_view kDirectoryEventsChannel = "concord:directory:events";

inline std::string DirectoryKey(std::string_view rest) { return redis::Key(kDirectoryTag, rest); }
inline std::string SuspendedAgenciesKey() { return DirectoryKey("suspended"); }
inline std::string RevokedSerialsKey() { return DirectoryKey("revoked"); }
inline std::string AgencyAttributesKey() { return DirectoryKey("attributes"); }

}  // namespace concord::clients
