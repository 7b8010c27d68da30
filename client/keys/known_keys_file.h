// File: client/keys/known_keys_file.h
//
// The known-keys file: what an agency library remembers of its counterparts' keys
// (key_continuity.h), one JSON document in the local agency folder (concordctl:
// <agency-dir>/known_keys.json). Format (docs/crypto.md "Known-keys file"):
//
//   {"format": "concord.known_keys.v1",
//    "agencies": {
//      "spiffe://concord.be/agency/reception_centre/pag-asa": {
//        "signing_key": "<Base64 (RFC 4648, padded) of the raw Ed25519 public key, 32 bytes>",
//        "sealing_key": "<Base64 of the raw X25519 public key, 32 bytes>",
//        "source": "first_use" | "endorsed" | "accepted",
//        "first_seen": "2026-12-06T16:00:00Z",      (RFC 3339, UTC)
//        "since": "2026-12-06T16:00:00Z"}}}           (when these keys were remembered)
//
// Written atomically (a 0600 temporary file in the same folder, fsync, rename, fsync of the
// folder), mode 0600; read-modify-write under an exclusive lock on "<file>.lock" (bounded wait),
// so that concurrent processes of one agency do not lose each other's entries. Security: a file
// that is malformed, of another format, or writable by group or others is refused, never reset
// (starting afresh would trust whatever keys the directory gives next).
//
// Thread safety: the functions are thread-safe; concurrent Updates serialise on the lock.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "client/keys/key_continuity.h"
#include "common/status/status.h"

namespace concord::keys {

inline constexpr std::string_view kKnownKeysFormat = "concord.known_keys.v1";
inline constexpr std::string_view kKnownKeysFileName = "known_keys.json";

/// SPIFFE id of the agency -> what is remembered.
using KnownKeys = std::map<std::string, KnownAgency>;

/// The JSON text of the file comment (keys sorted; ends with a newline).
std::string FormatKnownKeys(const KnownKeys& known);
/// INVALID_ARGUMENT naming what is wrong (format, an entry, a key size, a time).
StatusOr<KnownKeys> ParseKnownKeys(std::string_view json);

class KnownKeysFile {
 public:
  explicit KnownKeysFile(std::string path, absl::Duration lock_wait = absl::Seconds(10))
      : path_(std::move(path)), lock_wait_(lock_wait) {}

  const std::string& path() const { return path_; }

  /// The remembered keys; empty when the file does not exist. FAILED_PRECONDITION naming the file
  /// when it cannot be read, is malformed or is writable by group or others.
  StatusOr<KnownKeys> Load() const;

  /// Read-modify-write under the lock: `change` gets the current contents and returns true to
  /// write them back (false: nothing is written), or an error that is returned as is.
  /// FAILED_PRECONDITION naming the file when it cannot be locked (within the wait), read or
  /// written.
  Status Update(const std::function<StatusOr<bool>(KnownKeys&)>& change);

 private:
  std::string path_;
  absl::Duration lock_wait_;
};

}  // namespace concord::keys
