// File: common/audit/redis_audit_sink.h
//
// The production AuditSink: seals each event with the deployment audit key and appends it to the
// SHA-256 hash chain in Redis (format and keys: audit_record.h; design: services/audit/README.md).
//
// Append is one EVALSHA of a compare-and-set Lua script: it appends record n+1 only if the head
// is still (n, hash_n), and updates the head and the by-object / by-agency indexes in the same
// atomic step. When another writer (another replica) appended first, the script answers with the
// current head; the sink re-seals for the new position and retries at once, then, if it keeps
// losing to a busy writer, after a short random backoff (up to 10 ms) so that replicas appending
// at full speed cannot starve each other; at most kMaxAttempts times.
// Within a process appends are group-committed: concurrent Append calls queue, and one of them
// (the leader) appends everything queued in ONE script call (up to kMaxBatch records, chained in
// queue order), so N concurrent audited RPCs cost one Redis round trip, not N serialised ones.
// Each Append still returns only after its own record is in Redis. The head is cached, so the
// common case is a single round trip per batch.
//
//   auto key = audit::LoadAuditKey("/etc/concord/audit.key");
//   audit::RedisAuditSink sink(*redis, *std::move(key), SystemClock::Get());
//   CONCORD_RETURN_IF_ERROR(sink.Append(event));
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/redis/redis_client.h"
#include "common/time/clock.h"

namespace concord::audit {

class RedisAuditSink final : public AuditSink {
 public:
  /// `redis` and `clock` must outlive the sink. The clock stamps events whose time is
  /// absl::UnixEpoch() (unset).
  RedisAuditSink(redis::RedisClient& redis, AuditKey key, Clock& clock);

  /// OK once the record is in Redis. UNAVAILABLE when Redis is unreachable (fast, per
  /// common/redis); INVALID_ARGUMENT when the event is too large; ABORTED when other writers
  /// won the compare-and-set more than kMaxAttempts times in a row; DATA_LOSS when the stored
  /// head and records disagree (someone tampered with the head).
  Status Append(const AuditEvent& event) override;
  /// All of `events` in order, in as few round trips as the batch limit allows.
  Status AppendAll(const std::vector<AuditEvent>& events) override;

  /// Seq of the last record this sink appended or saw (0 before the first append). For tests.
  uint64_t cached_head_seq_for_test() const;

  /// Number of compare-and-set conflicts (another writer appended first) seen so far.
  uint64_t conflicts() const { return conflicts_.load(std::memory_order_relaxed); }

  static constexpr int kMaxAttempts = 32;
  static constexpr size_t kMaxBatch = 64;

 private:
  struct Pending {
    AuditEvent event;
    Status result;  // set by the leader; meaningful once done
    bool done = false;
    std::condition_variable* owner = nullptr;  // the Commit call waiting for this record
  };
  // Queues `items` and waits until each is appended (leading batches when no one else does).
  Status Commit(std::vector<Pending>& items);
  // Appends `batch` (leader only; takes mu_), setting each Pending's result.
  void AppendBatch(const std::vector<Pending*>& batch);

  struct Head {
    uint64_t seq = 0;
    std::string hash;
  };
  StatusOr<Head> LoadHead();

  redis::RedisClient& redis_;
  const AuditKey key_;
  Clock& clock_;
  const redis::Script append_script_;

  std::atomic<uint64_t> conflicts_{0};
  mutable std::mutex mu_;
  std::optional<Head> head_ ABSL_GUARDED_BY(mu_);
  std::minstd_rand jitter_ ABSL_GUARDED_BY(mu_);

  std::mutex queue_mu_;
  std::vector<Pending*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leader_active_ ABSL_GUARDED_BY(queue_mu_) = false;
};

}  // namespace concord::audit
