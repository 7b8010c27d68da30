// File: services/directory/directory_store.h
//
// Persistence of the directory, as an interface: RedisDirectoryStore (redis_directory_store.h)
// in production, in-memory fakes in tests. Every write is atomic together with its indices, the
// suspended/revoked sets and the invalidation message on "concord:directory:events".
//
// Status contract: UNAVAILABLE when the backing store is unreachable (fast, never a hang);
// NOT_FOUND / ALREADY_EXISTS / ABORTED as documented per method; INTERNAL for corrupt records.
// Implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "services/directory/agency.h"

namespace concord::directory {

struct AgencyPage {
  std::vector<Agency> agencies;
  std::string next_after_key;  // agency key "<type>/<id>" to continue after; "" on the last page
};

struct Revocations {
  std::vector<Agency> suspended_agencies;      // sorted by agency key
  std::vector<RevokedSerial> revoked_serials;  // sorted by serial
};

class DirectoryStore {
 public:
  virtual ~DirectoryStore() = default;

  /// NOT_FOUND when no agency has this id.
  virtual StatusOr<Agency> Get(const AgencyId& id) = 0;

  /// Stores a new agency (version 1). ALREADY_EXISTS when the id is taken.
  virtual Status Create(const Agency& agency) = 0;

  /// Replaces `previous` by `next` (same id) iff the stored version is still previous.version:
  /// ABORTED otherwise (a concurrent change), NOT_FOUND if the agency vanished.
  virtual Status Replace(const Agency& previous, const Agency& next) = 0;

  /// Agencies matching `filter` (normalised), ordered by agency key, strictly after
  /// `after_key` ("" = from the start), at most `limit` (> 0).
  virtual StatusOr<AgencyPage> List(const AgencyFilter& filter, std::string_view after_key,
                                    int limit) = 0;

  /// Revokes a serial. Idempotent: revoking an already revoked serial keeps (and returns) the
  /// original record.
  virtual StatusOr<RevokedSerial> Revoke(const RevokedSerial& revocation) = 0;

  /// The suspended agencies and the revoked serials.
  virtual StatusOr<Revocations> ListRevocations() = 0;
};

}  // namespace concord::directory
