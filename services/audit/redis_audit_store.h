// File: services/audit/redis_audit_store.h
//
// AuditStore on Redis. Key schema (all keys share the {audit} hash tag; defined in
// common/audit/audit_record.h, with the record formats):
//
//   concord:{audit}:head                  HASH  seq, hash     (written by AppendFromIntakes only)
//   concord:{audit}:records               HASH  <seq> -> prev_hash || hash || sealed
//   concord:{audit}:by-object:<object>    ZSET  score = member = seq
//   concord:{audit}:by-agency:<type>/<id> ZSET  score = member = seq
//   concord:{audit}:checkpoints           HASH  <seq> -> stored checkpoint (checkpoint.h), the
//                                               source of truth for verification
//   concord:{audit}:checkpoint-index      ZSET  score = member = seq (for "latest" in O(log n))
//   concord:{audit}:intake:<workload>     LIST  sealed intake entries (IntakeAuditSink RPUSHes)
//   concord:{audit}:slot-consumed         HASH  <tag> -> entries ever chained from slot intake
//   concord:audit-intake:{<tag>}          LIST  a slot intake (a workload's scripts RPUSH)
//   concord:audit-intake-trimmed:{<tag>}  STRING entries ever trimmed from it
//   concord:{audit}:ingest-lease          HASH  owner, until (unix ms): whose worker ingests
//
// Reads: records with HMGET in batches of kBatchSize; indexes with ZREVRANGEBYSCORE ... LIMIT;
// intakes with one Lua script (LRANGE 0 n-1 of each; an entry larger than kMaxIntakeEntryBytes
// comes back as kOversizeMarker + its length, never whole) and LLEN, pipelined.
// PutCheckpoint is one Lua script: HSETNX on checkpoints + ZADD on the index, atomically.
// AppendFromIntakes is one Lua script: compare-and-set of the head, the records, both indexes,
// the head, and LTRIM of each intake by what was chained, atomically (so an intake entry is
// either pending or chained, never both, never neither). A slot intake is in another slot: the
// same script moves its consumed count instead, and TrimSlotIntake (a script in the intake's
// slot) then removes what the count covers; an entry is chained iff its absolute position is
// below the count, whether or not the trim has happened.
#pragma once

#include "common/redis/redis_client.h"
#include "services/audit/audit_store.h"

namespace concord::audit {

class RedisAuditStore final : public AuditStore {
 public:
  static constexpr size_t kBatchSize = 1000;
  /// Larger intake entries cannot be genuine (records are at most 64 KiB of plaintext).
  static constexpr size_t kMaxIntakeEntryBytes = 66 * 1024;

  /// `redis` must outlive the store.
  explicit RedisAuditStore(redis::RedisClient& redis);

  StatusOr<ChainHead> GetHead() override;
  StatusOr<uint64_t> CountRecords() override;
  StatusOr<std::vector<std::optional<std::string>>> GetRecords(
      const std::vector<uint64_t>& seqs) override;
  StatusOr<std::vector<uint64_t>> ListIndex(const IndexSelector& index, uint64_t before_seq,
                                            size_t limit) override;
  StatusOr<Checkpoint> PutCheckpoint(const Checkpoint& cp) override;
  StatusOr<std::vector<StoredCheckpoint>> ListCheckpoints(uint64_t from_seq,
                                                          uint64_t to_seq) override;
  StatusOr<std::optional<Checkpoint>> LatestCheckpoint() override;
  StatusOr<std::vector<std::vector<std::string>>> ReadIntakes(
      const std::vector<std::string>& workloads, size_t max_each) override;
  StatusOr<std::vector<uint64_t>> IntakeLengths(const std::vector<std::string>& workloads) override;
  StatusOr<ChainAppendResult> AppendFromIntakes(
      const ChainHead& expected, const std::vector<ChainEntry>& entries,
      const std::vector<std::pair<std::string, size_t>>& consumed,
      const std::vector<SlotConsumedUpdate>& slots) override;
  StatusOr<std::vector<uint64_t>> SlotConsumed(const std::vector<std::string>& tags) override;
  StatusOr<SlotIntakeRead> ReadSlotIntake(const std::string& tag, uint64_t from,
                                          size_t max) override;
  Status TrimSlotIntake(const std::string& tag, uint64_t consumed) override;
  StatusOr<uint64_t> SlotIntakeLength(const std::string& tag) override;
  StatusOr<bool> TakeIngestLease(const std::string& owner, absl::Duration ttl) override;

 private:
  redis::RedisClient& redis_;
  const redis::Script put_checkpoint_script_;
  const redis::Script append_script_;
  const redis::Script read_intakes_script_;
  const redis::Script read_slot_intake_script_;
  const redis::Script trim_slot_intake_script_;
  const redis::Script ingest_lease_script_;
};

}  // namespace concord::audit
