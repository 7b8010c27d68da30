// File: services/audit/redis_audit_store.h
//
// AuditStore on Redis. Key schema (all keys share the {audit} hash tag; defined in
// common/audit/audit_record.h, where the writer lives):
//
//   concord:{audit}:head                  HASH  seq, hash            (written by RedisAuditSink)
//   concord:{audit}:records               HASH  <seq> -> prev_hash || hash || sealed
//   concord:{audit}:by-object:<object>    ZSET  score = member = seq
//   concord:{audit}:by-agency:<type>/<id> ZSET  score = member = seq
//   concord:{audit}:checkpoints           HASH  <seq> -> stored checkpoint (checkpoint.h), the
//                                               source of truth for verification
//   concord:{audit}:checkpoint-index      ZSET  score = member = seq (for "latest" in O(log n))
//
// Reads: records with HMGET in batches of kBatchSize; indexes with ZREVRANGEBYSCORE ... LIMIT.
// PutCheckpoint is one Lua script: HSETNX on checkpoints + ZADD on the index, atomically.
#pragma once

#include "common/redis/redis_client.h"
#include "services/audit/audit_store.h"

namespace concord::audit {

class RedisAuditStore final : public AuditStore {
 public:
  static constexpr size_t kBatchSize = 1000;

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

 private:
  redis::RedisClient& redis_;
  const redis::Script put_checkpoint_script_;
};

}  // namespace concord::audit
