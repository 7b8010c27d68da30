// File: services/audit/audit_store.h
//
// Read access to the stored audit log (written by common/audit RedisAuditSink) plus checkpoint
// storage. Values are returned raw: parsing and checking belong to the domain (audit_chain.h),
// so that tampered storage is reported as a verification failure, not as a store error.
// Implementation: redis_audit_store.h. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "services/audit/audit_chain.h"
#include "services/audit/checkpoint.h"

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
};

}  // namespace concord::audit
