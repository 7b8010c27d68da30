// File: services/directory/directory_store.h
//
// Persistence of the directory, as an interface: RedisDirectoryStore (redis_directory_store.h)
// in production, in-memory fakes in tests. Every write is atomic together with its indices, the
// suspended/revoked sets, the attributes index, the announcement to the agency concerned (the
// outbox) and the invalidation message on "concord:directory:events".
//
// Status contract: UNAVAILABLE when the backing store is unreachable (fast, never a hang);
// NOT_FOUND / ALREADY_EXISTS / ABORTED as documented per method; INTERNAL for corrupt records.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "services/directory/agency.h"

namespace concord::directory {

struct AgencyPage {
  std::vector<Agency> agencies;
  std::string next_after_key;  // agency key "<type>/<id>" to continue after; "" on the last page
};

/// A notification to the agency concerned by a change, queued (outbox) in the same atomic write
/// as the change and sent later as a signed Concord message by admin/concord-directory.
struct Announcement {
  std::string id;    // deterministic per change: "<type>/<id>@v<version>"
  AgencyId agency;   // the recipient: the agency whose record changed
  std::string body;  // JSON text (announcement.h), no personal data
  /// The X25519 public key PEM it is sealed to: the agency's sealing key BEFORE the change (its
  /// registered key for a registration), so that after a key swap the real agency, not whoever
  /// set the new key, reads it.
  std::string seal_to_pem;
};

/// An announcement read from the outbox, to be acknowledged once sent (or dropped for good).
struct QueuedAnnouncement {
  std::string stream_id;  // handed back to AckAnnouncements
  Announcement announcement;
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

  /// Stores a new agency (version 1) and, when `announcement` is not null, queues it in the same
  /// atomic write. ALREADY_EXISTS when the id is taken (nothing is queued).
  virtual Status Create(const Agency& agency, const Announcement* announcement) = 0;

  /// Replaces `previous` by `next` (same id) iff the stored version is still previous.version,
  /// queueing `announcement` (if not null) in the same atomic write: ABORTED otherwise (a
  /// concurrent change), NOT_FOUND if the agency vanished.
  virtual Status Replace(const Agency& previous, const Agency& next,
                         const Announcement* announcement) = 0;

  /// Agencies matching `filter` (normalised), ordered by agency key, strictly after
  /// `after_key` ("" = from the start), at most `limit` (> 0).
  virtual StatusOr<AgencyPage> List(const AgencyFilter& filter, std::string_view after_key,
                                    int limit) = 0;

  /// Revokes a serial. Idempotent: revoking an already revoked serial keeps (and returns) the
  /// original record.
  virtual StatusOr<RevokedSerial> Revoke(const RevokedSerial& revocation) = 0;

  /// The suspended agencies and the revoked serials.
  virtual StatusOr<Revocations> ListRevocations() = 0;

  /// At most `max` queued announcements, without blocking: first those another consumer read
  /// but did not acknowledge within `claim_after` (now owned by `consumer`), then new ones.
  /// INVALID_ARGUMENT for an empty or malformed consumer name.
  virtual StatusOr<std::vector<QueuedAnnouncement>> ReadAnnouncements(
      std::string_view consumer, int max, absl::Duration claim_after) = 0;
  /// Removes announcements that were sent (or refused for good).
  virtual Status AckAnnouncements(const std::vector<std::string>& stream_ids) = 0;
  /// Announcements queued and not yet acknowledged.
  virtual StatusOr<int64_t> PendingAnnouncements() = 0;
};

}  // namespace concord::directory
