// File: common/audit/intake_audit_sink.h
//
// The production AuditSink of every workload (directory, audit, messaging, referrals, ...): it
// seals each event with the deployment audit key and appends it to the workload's own intake
// list in Redis, concord:{audit}:intake:<workload> (format: audit_record.h). The audit service's
// ingester (services/audit/audit_ingester.h) moves intake entries into the hash chain, in
// order, within milliseconds, remembering which intake each record came from.
//
// Durability: Append returns OK once the entry is in Redis, which is as durable as the chain
// itself (same Redis, same AOF): a call is answered only once its audit record is stored.
//
// Least privilege (deploy/redis-users.acl): a workload's Redis user may only RPUSH to its own
// intake, and RPUSH can only append. A compromised workload can add records (attributed to its
// intake) but cannot remove or rewrite any record, chained or pending, nor write another
// workload's intake or the chain. (A stream would not do: XADD accepts MAXLEN/MINID trimming,
// which Redis ACLs cannot forbid, so an XADD-only user could still delete pending entries.)
//
// Group commit: concurrent Append calls queue; one caller (the leader) seals everything queued
// (up to kMaxBatch entries) and sends ONE `RPUSH intake e1 ... en`, so N concurrent audited RPCs
// cost one Redis round trip. Each caller returns once its own entries are stored (or failed), in
// queue order.
//
// Wake-up: `PUBLISH concord:audit:intake ""` (a hint only) follows an RPUSH only when it found
// the intake empty (its reply equals the entries pushed). An intake that already held entries
// has a pass of the ingester coming that will read them, and that pass or the follow-up pass the
// ingester makes after every pass that chained something (services/audit/audit_ingester.h) reads
// these too. Under load the intake is rarely empty, so the PUBLISH (once per batch before) is
// mostly gone.
//
//   audit::IntakeAuditSink sink(*redis, *std::move(key), SystemClock::Get(), "messaging");
//   CONCORD_RETURN_IF_ERROR(sink.Append(event));
//
// Asynchronous appends (AppendAsync, when the sink has an AsyncRedisClient): the event is sealed on
// the calling thread and queued; when no asynchronous write is in flight the queue (up to
// kMaxBatch entries) leaves at once as the same RPUSH (and wake-up), and each reply sends the
// next batch of what queued meanwhile, from the client's I/O thread. So concurrent asynchronous
// appends still cost one round trip per batch, and no thread waits for any of them.
// AppendAllAsync (the records of one messaging Ack, one per message id) queues its records
// together on the same path. The two paths write the same intake; entries of one path keep their
// order.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "common/time/clock.h"

namespace concord::audit {

class IntakeAuditSink final : public AuditSink {
 public:
  /// `redis` and `clock` must outlive the sink. `workload` names the intake: lower-case letters,
  /// digits and '-', at most kMaxWorkloadName characters (a host module's name). The clock
  /// stamps events whose time is absl::UnixEpoch() (unset). `async`, when given (same ACL user as
  /// `redis`; must outlive the sink), carries AppendAsync; without it AppendAsync is Append.
  IntakeAuditSink(redis::RedisClient& redis, AuditKey key, Clock& clock, std::string workload,
                  redis::AsyncRedisClient* async = nullptr);

  /// OK once the entry is in Redis. UNAVAILABLE when Redis is unreachable (fast, per
  /// common/redis); INVALID_ARGUMENT when the event is too large; INTERNAL when Redis refuses
  /// the write (e.g. NOPERM: the ACL user may not write this intake).
  Status Append(const AuditEvent& event) override;
  /// All of `events` in order, in as few round trips as the batch limit allows.
  Status AppendAll(const std::vector<AuditEvent>& events) override;
  /// `done` gets OK once the entry is in Redis, or Append's errors; it runs on the asynchronous
  /// client's I/O thread (or on the calling thread when sealing fails or Redis is known down).
  void AppendAsync(AuditEvent event, std::function<void(Status)> done) override;
  /// AppendAll on the asynchronous path: every record sealed on the calling thread and queued
  /// together, so the batch leaves in one RPUSH (as AppendAsync's, grouped with what else is
  /// queued, up to kMaxBatch entries). `done` gets OK once every record is in Redis, else the
  /// first error in order; a record that cannot be sealed fails alone and is not written.
  void AppendAllAsync(std::vector<AuditEvent> events, std::function<void(Status)> done) override;
  /// The entry Append would write (sealed for this workload's intake), for a script to append to
  /// the workload's slot intake (audit_record.h "Slot intakes"). INVALID_ARGUMENT when too large.
  StatusOr<std::string> SealEntry(const AuditEvent& event) override;

  const std::string& workload() const { return workload_; }

  static constexpr size_t kMaxBatch = 256;

 private:
  struct Pending {
    AuditEvent event;
    Status result;  // set by the leader; meaningful once done
    bool done = false;
    std::condition_variable* owner = nullptr;  // the Commit call waiting for this entry
  };
  // Queues `items` and waits until each is stored (leading batches when no one else does).
  Status Commit(std::vector<Pending>& items);
  // Stores `batch` (leader only), setting each Pending's result.
  void StoreBatch(const std::vector<Pending*>& batch);

  struct AsyncPending {
    std::string entry;  // sealed
    std::function<void(Status)> done;
  };
  // Takes the next asynchronous batch (up to kMaxBatch); clears async_in_flight_ when empty.
  std::vector<AsyncPending> TakeAsyncBatch();
  void WriteAsyncBatch(std::vector<AsyncPending> batch);
  // The status of a batch from the reply of its RPUSH.
  static Status BatchStatus(const StatusOr<std::vector<redis::Reply>>& replies, size_t entries);
  // Whether the RPUSH of `entries` found the intake empty (its new length is `entries`).
  static bool WasEmpty(const StatusOr<std::vector<redis::Reply>>& replies, size_t entries);

  redis::RedisClient& redis_;
  redis::AsyncRedisClient* const async_;
  const AuditKey key_;
  Clock& clock_;
  const std::string workload_;
  const std::string intake_key_;

  std::mutex queue_mu_;
  std::vector<Pending*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leader_active_ ABSL_GUARDED_BY(queue_mu_) = false;

  std::mutex async_mu_;
  std::vector<AsyncPending> async_queue_ ABSL_GUARDED_BY(async_mu_);
  bool async_in_flight_ ABSL_GUARDED_BY(async_mu_) = false;
};

}  // namespace concord::audit
