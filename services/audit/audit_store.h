// File: services/audit/audit_store.h
//
// The stored audit log: the chain (read raw; appended only from the intakes), the workloads'
// intakes (written by common/audit IntakeAuditSink) and the checkpoints. Values are returned
// raw: parsing and checking belong to the domain (audit_chain.h, audit_ingester.h), so that
// tampered storage is reported as a verification failure, not as a store error.
// Implementation: redis_audit_store.h. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/audit/checkpoint.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "services/audit/audit_chain.h"

namespace concord::audit {

/// The head as stored: seq 0 and GenesisHash() for an empty log. `hash` is returned as stored
/// (it may be malformed when tampered with).
struct ChainHead {
  uint64_t seq = 0;
  std::string hash;
};

/// Which index to page through.
struct IndexSelector {
  enum class Kind { kObject, kAgency };
  Kind kind = Kind::kObject;
  std::string object;  // kObject
  AgencyId agency;     // kAgency
};

/// Prefix of what ReadIntakes returns in place of an oversized entry.
inline constexpr std::string_view kOversizeIntakeEntry{"\0concord-intake-oversize:", 25};

/// A record ready to be chained: its position, hash and stored form, and its index entries.
struct ChainEntry {
  uint64_t seq = 0;
  std::string hash;    // 32 bytes
  std::string stored;  // StoredRecord::Encode()
  std::string object;  // "" = not indexed by object
  AgencyId agency;     // indexed by agency
};

/// What ReadSlotIntake read: the entries at absolute positions `from`, `from` + 1, ... of a slot
/// intake (common/audit/audit_record.h "Slot intakes"), and how many were ever trimmed from it.
struct SlotIntakeRead {
  uint64_t trimmed = 0;
  std::vector<std::string> entries;  // empty when `from` < trimmed (see ReadSlotIntake)
};

/// A slot intake's consumed count, moved by AppendFromIntakes with the records (compare-and-set).
struct SlotConsumedUpdate {
  std::string tag;
  uint64_t expected = 0;  // slot-consumed[tag] as read
  uint64_t next = 0;      // expected + the entries of this batch
};

/// What AppendFromIntakes did.
struct ChainAppendResult {
  bool appended = false;  // false: another writer moved the head first; nothing was written
  ChainHead head;         // the head after the append, or the current head when !appended
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  /// DATA_LOSS if the head seq is not a number.
  virtual StatusOr<ChainHead> GetHead() = 0;

  /// Number of stored records.
  virtual StatusOr<uint64_t> CountRecords() = 0;

  /// Stored values of the given records, in the same order; nullopt where absent.
  virtual StatusOr<std::vector<std::optional<std::string>>> GetRecords(
      const std::vector<uint64_t>& seqs) = 0;

  /// Seqs in an index, newest first, strictly below `before_seq` (0 = no bound), at most
  /// `limit`.
  virtual StatusOr<std::vector<uint64_t>> ListIndex(const IndexSelector& index, uint64_t before_seq,
                                                    size_t limit) = 0;

  /// Stores a checkpoint unless one already exists at its seq (first writer wins; returns OK
  /// either way). The existing or new one is returned.
  virtual StatusOr<Checkpoint> PutCheckpoint(const Checkpoint& cp) = 0;

  /// Stored checkpoints with from_seq <= seq (<= to_seq unless to_seq == 0), unparsed.
  virtual StatusOr<std::vector<StoredCheckpoint>> ListCheckpoints(uint64_t from_seq,
                                                                  uint64_t to_seq) = 0;

  /// The checkpoint with the highest seq, if any. DATA_LOSS if it is malformed.
  virtual StatusOr<std::optional<Checkpoint>> LatestCheckpoint() = 0;

  /// Up to `max_each` entries from the front (oldest first) of each workload's intake, in the
  /// order of `workloads`; one round trip. An entry too large to be genuine is returned as
  /// kOversizeIntakeEntry followed by its length in bytes (it is never read whole).
  virtual StatusOr<std::vector<std::vector<std::string>>> ReadIntakes(
      const std::vector<std::string>& workloads, size_t max_each) = 0;

  /// Number of entries waiting in each workload's intake, in the order of `workloads`.
  virtual StatusOr<std::vector<uint64_t>> IntakeLengths(
      const std::vector<std::string>& workloads) = 0;

  /// Entries ever chained from each slot intake (slot-consumed), in the order of `tags`; 0 for
  /// one never read. DATA_LOSS when a stored count is not a number.
  virtual StatusOr<std::vector<uint64_t>> SlotConsumed(const std::vector<std::string>& tags) = 0;

  /// Up to `max` entries of slot intake {tag} from absolute position `from` (the entries before
  /// it are chained), and the count trimmed from its front; one round trip in the {tag} slot.
  /// No entries when `from` < trimmed (the caller's `from` is stale, or the intake was trimmed
  /// beyond what was chained). Oversized entries as in ReadIntakes.
  virtual StatusOr<SlotIntakeRead> ReadSlotIntake(const std::string& tag, uint64_t from,
                                                  size_t max) = 0;

  /// Removes the chained entries (absolute positions below `consumed`) from the front of slot
  /// intake {tag}; nothing when they are gone already (idempotent, never moves backwards).
  virtual Status TrimSlotIntake(const std::string& tag, uint64_t consumed) = 0;

  /// Entries in slot intake {tag} (chained ones not yet trimmed included).
  virtual StatusOr<uint64_t> SlotIntakeLength(const std::string& tag) = 0;

  /// The ingestion lease: true when `owner` holds it now (taken because it was free or expired,
  /// or renewed), for `ttl` from now by Redis's clock; false while another owner holds it.
  virtual StatusOr<bool> TakeIngestLease(const std::string& owner, absl::Duration ttl) = 0;

  /// Atomically: if the head is still `expected` (and each slot intake's consumed count is still
  /// its `expected`), writes `entries` (seqs expected.seq + 1, + 2, ... in order) with their
  /// indexes, moves the head to the last one, removes the first `count` entries of each intake
  /// named in `consumed` (workload, count) and moves each slot intake's consumed count to its
  /// `next`. Otherwise writes nothing and returns appended = false with the current head
  /// (another ingester was first). DATA_LOSS, writing nothing, when the head and the records
  /// disagree (a record exists beyond the head, a head without a hash) or an intake holds fewer
  /// entries than `consumed` says.
  virtual StatusOr<ChainAppendResult> AppendFromIntakes(
      const ChainHead& expected, const std::vector<ChainEntry>& entries,
      const std::vector<std::pair<std::string, size_t>>& consumed,
      const std::vector<SlotConsumedUpdate>& slots) = 0;
};

}  // namespace concord::audit
