// File: services/audit/audit_log.h
//
// The audit service's domain: paged queries, chain verification and checkpoints over an
// AuditStore. No gRPC here (audit_service.h adapts it); time comes from the injected Clock.
// Thread-safe (stateless apart from the immutable keys).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/audit/checkpoint.h"
#include "common/crypto/ed25519.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "services/audit/audit_chain.h"
#include "services/audit/audit_store.h"
#include "services/audit/checkpoint_exporter.h"

namespace concord::audit {

struct DecodedRecord {
  uint64_t seq = 0;
  AuditEvent event;
  std::string prev_hash;
  std::string hash;
  std::string source;  // the workload whose intake carried the record ("" before intakes)
};

struct QuerySpec {
  enum class Kind { kAll, kObject, kAgency };
  Kind kind = Kind::kAll;
  std::string object;              // kObject
  AgencyId agency;                 // kAgency
  std::optional<absl::Time> from;  // inclusive
  std::optional<absl::Time> to;    // inclusive
  size_t page_size = 0;            // 0 = kDefaultPageSize; clamped to kMaxPageSize
  uint64_t before_seq = 0;         // page cursor: only records with seq < before_seq; 0 = newest
};

struct QueryPage {
  std::vector<DecodedRecord> records;  // newest first
  uint64_t next_before_seq = 0;        // 0 = no more
};

struct VerifyReport {
  VerifyResult result;
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;
  uint64_t head_seq = 0;
  std::string last_hash;  // hash of the last record verified (when ok)
};

/// What a caller of Verify may bound (the Audit service's handler: services/audit/README.md
/// "Bounds of Verify"). Both optional.
struct VerifyHooks {
  /// Called once the range is known (the head read, the anchor not yet) with the number of
  /// records the verification will read; a non-OK status ends it with that status, unread.
  std::function<Status(uint64_t records)> admit;
  /// Polled before each batch of kVerifyBatch records; true ends the verification with
  /// CANCELLED (the caller went away, its deadline passed, or its certificate was revoked).
  std::function<bool()> cancelled;
};

class AuditLog {
 public:
  static constexpr size_t kDefaultPageSize = 50;
  static constexpr size_t kMaxPageSize = 500;
  /// Records examined per Query call at most (time filters may skip many); the page then ends
  /// early with a cursor to continue.
  static constexpr size_t kMaxScanPerPage = 5000;

  /// All references must outlive the log. `exporter` (may be null) receives every checkpoint
  /// CreateCheckpoint signs, to copy it outside Redis.
  AuditLog(AuditStore& store, const AuditKey& key, const crypto::Ed25519PrivateKey& signing_key,
           Clock& clock, CheckpointExporter* exporter = nullptr);

  /// INVALID_ARGUMENT for an empty object or from > to; DATA_LOSS when a listed record is
  /// missing or does not open (run Verify).
  StatusOr<QueryPage> Query(const QuerySpec& spec);

  /// Records read per round trip by Verify.
  static constexpr uint64_t kVerifyBatch = 1000;

  /// Verifies [from_seq, to_seq] (0 = first / head). A tampered log is an OK status with
  /// result.ok == false. INVALID_ARGUMENT when from_seq > to_seq; `hooks` may refuse the range
  /// (its status) or cancel between batches (CANCELLED).
  StatusOr<VerifyReport> Verify(uint64_t from_seq, uint64_t to_seq, const VerifyHooks& hooks = {});

  /// Signs the current head after verifying the records since the latest checkpoint (so a
  /// tampered log is never blessed with a signature), stores it and hands it to the exporter.
  /// FAILED_PRECONDITION on an empty log; DATA_LOSS when that verification fails. If the latest
  /// checkpoint is already at the head it is returned unchanged (and not exported again).
  /// `hooks` reach that verification (CANCELLED between batches: nothing signed).
  StatusOr<Checkpoint> CreateCheckpoint(const VerifyHooks& hooks = {});

  StatusOr<std::optional<Checkpoint>> LatestCheckpoint() { return store_.LatestCheckpoint(); }
  StatusOr<ChainHead> Head() { return store_.GetHead(); }

  const crypto::Ed25519PublicKey& public_key() const { return public_key_; }
  Clock& clock() { return clock_; }

 private:
  StatusOr<std::optional<std::string>> AnchorFor(uint64_t from_seq);

  AuditStore& store_;
  const AuditKey& key_;
  const crypto::Ed25519PrivateKey& signing_key_;
  const crypto::Ed25519PublicKey public_key_;
  Clock& clock_;
  CheckpointExporter* const exporter_;
};

}  // namespace concord::audit
