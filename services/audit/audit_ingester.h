// File: services/audit/audit_ingester.h
//
// Moves the workloads' intake entries into the audit hash chain. Every workload appends its
// sealed audit records to its own intake list (common/audit/intake_audit_sink.h), the only part
// of the audit keys its Redis user may write (and only by appending); the audit workload alone
// writes the chain. The ingester reads the front of every intake, opens each entry with the
// audit key (bound to its intake by the AEAD), seals it as the next record of the chain with its
// source (the intake's workload) and, in ONE atomic script per batch, appends the records and
// removes exactly those entries from the intakes (AuditStore::AppendFromIntakes): an entry is
// either pending or chained, never lost, never chained twice.
//
// An entry that does not open (forged by a compromised workload, altered, or moved from another
// intake) is not dropped silently: it is replaced in the chain by a record of its rejection
// (agency admin/concord-audit, object "audit-intake:<workload>", outcome DATA_LOSS, its SHA-256
// in the justification) and counted in concord_audit_intake_rejected_total.
//
// Slot intakes (common/audit/audit_record.h): a workload's script may append a record to an
// intake in the workload's own slot (messaging's send script, with the message). The batch's
// script cannot trim it (another slot): it moves the intake's consumed count with the records,
// and the ingester trims the intake afterwards; an entry is chained iff its absolute position is
// below the count, so a crash between the two chains nothing twice and loses nothing.
//
// Several ingesters (audit replicas) may run: the head compare-and-set makes one of them win
// each batch; the loser re-reads. Within a process IngestPending calls are serialised.
//
// Latency: the worker thread (Start) wakes on Wake() (the audit module's subscriber calls it for
// each message on concord:audit:intake, which every IntakeAuditSink publishes after an append)
// and at least every poll_interval, so records reach the chain within milliseconds. Under load
// the worker lingers: after a wake-up that chained records it waits `linger` (20 ms) before the
// next batch, so the records that arrive meanwhile share one read and one append (each batch
// costs a fixed ~15-25 Redis commands however many records it carries). When idle (the previous
// pass chained nothing) a wake-up is served at once, so an isolated record is not delayed. Every
// IngestPending that chained something (the worker's or a reader's) wakes the worker for a
// follow-up pass: the sinks publish a wake-up only when they append to an EMPTY intake, so an
// entry appended to a non-empty intake right after a pass read it is found by that follow-up
// (within the linger, not the poll interval). Readers
// that must see everything already answered (Audit Query/Verify: read-your-writes) call
// IngestPending() first.
//
// Metrics (when given a registry): concord_audit_intake_backlog{workload} (entries waiting,
// read from Redis: deployment-wide), concord_audit_ingested_total{workload},
// concord_audit_intake_rejected_total{workload}.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "common/audit/audit_key.h"
#include "common/audit/audit_record.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/audit/audit_store.h"

namespace concord::audit {

struct IngesterOptions {
  /// The intakes to drain (config::RedisWorkloads(): every workload that audits).
  std::vector<std::string> workloads;
  /// Trust domain of the system identity (admin/concord-audit) that records rejected entries.
  std::string trust_domain;
  /// Records per chain append (one script call).
  size_t batch = 256;
  /// The worker drains the intakes at least this often, besides the wake-ups.
  absl::Duration poll_interval = absl::Milliseconds(500);
  /// After a pass of the worker that chained records, the next pass waits this long (wake-ups
  /// meanwhile are kept, not lost) so that it carries what arrived in between: fewer, larger
  /// batches under load. Zero: every wake-up is served at once. Not applied after a pass that
  /// chained nothing (idle), nor to IngestPending() called directly (read-your-writes).
  absl::Duration linger = absl::Milliseconds(20);
  /// The slot intakes to drain too (SlotIntakes(): messaging's send script writes the records of
  /// new messages there), after the intakes in each batch.
  std::vector<SlotIntake> slot_intakes = {};
  /// The worker chains only while it holds the ingestion lease (AuditStore::TakeIngestLease),
  /// taken or renewed before each of its passes for this long: the workers of several replicas
  /// take turns instead of racing for every batch (they lost compare-and-sets to each other
  /// under load). A holder that dies is replaced once its lease expires. Zero: no lease.
  /// IngestPending() called directly (read-your-writes) ignores it.
  absl::Duration lease = absl::ZeroDuration();
};

class AuditIngester {
 public:
  /// Batches (of `batch` records) one IngestPending call moves at most.
  static constexpr int kMaxRounds = 64;
  /// Compare-and-set losses in a row after which IngestPending gives up (ABORTED).
  static constexpr int kMaxConflicts = 32;

  /// `store`, `key` and `clock` must outlive the ingester; `registry` may be null (no metrics).
  AuditIngester(AuditStore& store, const AuditKey& key, Clock& clock,
                prometheus::Registry* registry, IngesterOptions options);
  ~AuditIngester();  // Stop()
  AuditIngester(const AuditIngester&) = delete;
  AuditIngester& operator=(const AuditIngester&) = delete;

  /// Chains what the intakes hold now (at most kMaxRounds batches; it stops after the first
  /// batch that is not full, which read every intake to its end) and returns how many
  /// entries were chained. UNAVAILABLE when Redis is down; DATA_LOSS when the chain's head and
  /// records disagree (the log was tampered with: nothing is chained until it is repaired);
  /// ABORTED after kMaxConflicts lost compare-and-sets in a row.
  StatusOr<uint64_t> IngestPending();

  /// Starts the worker thread (idempotent).
  void Start();
  /// Stops and joins it promptly (idempotent).
  void Stop();
  /// Wakes the worker now (cheap; callable from any thread, e.g. a Subscriber callback).
  void Wake();

  /// Entries chained by this process so far, per workload (tests, diagnostics).
  uint64_t ingested(const std::string& workload) const;

  /// Sets concord_audit_intake_backlog from the intakes' lengths in Redis (the worker does it
  /// about every second).
  void RefreshBacklog();

 private:
  struct WorkloadMetrics {
    prometheus::Gauge* backlog = nullptr;
    prometheus::Counter* ingested = nullptr;
    prometheus::Counter* rejected = nullptr;
  };
  // One batch: reads, seals, appends. The number chained (0: the intakes were empty).
  StatusOr<uint64_t> IngestBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(ingest_mu_);
  // The entries of slot intake `i` after the chained ones (at most `max`). ABORTED when the count
  // read with the head is stale (another ingester chained and trimmed since); DATA_LOSS when the
  // intake was trimmed beyond what the chain consumed.
  StatusOr<std::vector<std::string>> ReadSlot(size_t i, size_t max)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ingest_mu_);
  void Loop();

  AuditStore& store_;
  const AuditKey& key_;
  Clock& clock_;
  const IngesterOptions options_;
  std::map<std::string, WorkloadMetrics> metrics_;  // immutable after construction

  mutable std::mutex ingest_mu_;
  std::optional<ChainHead> head_ ABSL_GUARDED_BY(ingest_mu_);
  // Each slot intake's consumed count, read with the head (valid while head_ is).
  std::vector<uint64_t> slot_consumed_ ABSL_GUARDED_BY(ingest_mu_);
  std::map<std::string, uint64_t> ingested_ ABSL_GUARDED_BY(ingest_mu_);
  std::minstd_rand jitter_ ABSL_GUARDED_BY(ingest_mu_);

  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  const std::string lease_owner_;  // random, per ingester
};

}  // namespace concord::audit
