// File: common/audit/audit_record.h
//
// The stored forms of the audit log, shared by the writers (every workload's
// IntakeAuditSink, the audit service's ingester) and the reader and verifier (services/audit).
// Changing anything here breaks every existing log: version it.
//
// Redis keys (all share the {audit} hash tag, so the scripts are Cluster-safe):
//   concord:{audit}:head                  HASH  seq -> last seq (decimal), hash -> its 32-byte hash
//   concord:{audit}:records               HASH  <seq decimal> -> stored record (below)
//   concord:{audit}:by-object:<object>    ZSET  member = score = seq of each record about <object>
//   concord:{audit}:by-agency:<type>/<id> ZSET  member = score = seq of each record by that agency
//   concord:{audit}:checkpoints           HASH  <seq decimal> -> signed checkpoint (checkpoint.h)
//   concord:{audit}:checkpoint-index      ZSET  member = score = seq of each checkpoint
//   concord:{audit}:intake:<workload>     LIST  intake entries (below) a workload appended and
//                                               the audit service has not chained yet
//   concord:{audit}:slot-consumed         HASH  <tag> -> entries of slot intake {<tag>} ever
//                                               chained (written with the records they became)
//   concord:{audit}:ingest-lease          HASH  owner, until (unix ms): the replica whose
//                                               ingester worker chains; the others' wait
// Slot intakes (outside the {audit} slot): a workload whose own script writes an audit record
// together with the operation it records (messaging's send script: one round trip, and no
// message without its record) appends it to an intake in ITS slot, so the script stays in one
// Cluster slot:
//   concord:audit-intake:{<tag>}          LIST  intake entries (same format as above, AAD of the
//                                               workload) appended by the workload's scripts
//   concord:audit-intake-trimmed:{<tag>}  STRING entries ever removed from the front of that list
// Neither matches the workload's own key pattern (concord:{<tag>}:*): its Redis user may only
// RPUSH to the list (deploy/redis-users.acl); only the audit user reads and trims it. The chain
// cannot be written in the same script as the trim (two slots), so entry positions are absolute:
// entry k (k = trimmed + index in the list) is chained iff k < slot-consumed[<tag>], the chain
// script moves slot-consumed with the records, and the trim only follows it.
// Channel concord:audit:intake: a workload publishes after an append that found its intake empty,
// to wake the audit service's ingester (a hint only: the ingester makes a follow-up pass after
// every pass that chained records, and polls).
//
// Only the audit workload's Redis user may write the chain keys; every other workload may only
// RPUSH to its own intake list (deploy/redis-users.acl): it can add records, never change or
// remove one, chained or pending.
//
// Intake entry (one list element, binary):
//   AeadSeal(audit key, plaintext, aad = "concord-audit-intake-v1|<workload>")
//   plaintext = EncodeIntakeEvent: the record plaintext below with domain
//               "concord.audit.intake.v1" and seq 0, without the source field
// The workload in the AAD binds an entry to the intake it was written to.
//
// Stored record for seq n (binary):
//   prev_hash (32 bytes) || hash (32 bytes) || sealed
//   sealed    = AeadSeal(audit key, plaintext, aad = "concord-audit-v1|<n decimal>")
//               (nonce 12 || ciphertext || tag 16, AES-256-GCM)
//   plaintext = canonical encoding (common/crypto/canonical.h) of the event, see EncodeEvent:
//               v2 (written since intakes exist) = v1's fields + field 13, the source workload
//               (the intake the record came from); v1 records (no source) still decode
//   hash      = SHA-256(prev_hash || n as 8-byte big-endian || sealed)
//   prev_hash = hash of record n-1; 32 zero bytes for n = 1 (genesis)
//
// Because the seq is both in the AAD and in the hash, moving a record to another field is
// detected by the AEAD and by the chain; because each hash covers the previous one, removing or
// altering any record breaks every later link.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::audit {

inline constexpr size_t kHashSize = 32;
/// Upper bound on a plaintext record: larger events are refused with INVALID_ARGUMENT.
inline constexpr size_t kMaxRecordPlaintext = 64 * 1024;
/// Upper bound on a workload name (an intake's name, a record's source).
inline constexpr size_t kMaxWorkloadName = 64;

// ---- Redis key schema ----------------------------------------------------------------------
std::string HeadKey();
std::string RecordsKey();
std::string ObjectIndexKey(std::string_view object);
std::string AgencyIndexKey(const AgencyId& agency);  // uses AgencyId::Key()
std::string CheckpointsKey();
std::string CheckpointIndexKey();
/// concord:{audit}:intake:<workload>
std::string IntakeKey(std::string_view workload);
/// concord:{audit}:slot-consumed
std::string SlotConsumedKey();
/// concord:{audit}:ingest-lease (HASH owner, until): which replica's ingester worker chains now.
std::string IngestLeaseKey();
/// concord:audit-intake:{<tag>}: the slot intake of the workload whose keys carry hash tag <tag>.
std::string SlotIntakeKey(std::string_view tag);
/// concord:audit-intake-trimmed:{<tag>}
std::string SlotIntakeTrimmedKey(std::string_view tag);
/// A workload's intake in its own slot (written from its scripts).
struct SlotIntake {
  std::string workload;  // whose entries (the AAD and the records' source)
  std::string tag;       // the hash tag of its keys
};
/// Every slot intake the ingester drains: messaging's (its send script), tag "msg".
const std::vector<SlotIntake>& SlotIntakes();
/// The wake-up channel of the ingester: "concord:audit:intake".
inline constexpr std::string_view kIntakeChannel = "concord:audit:intake";

// ---- Record format -------------------------------------------------------------------------
/// 32 zero bytes: the prev_hash of record 1.
std::string GenesisHash();

/// "concord-audit-v1|<seq>": the AEAD associated data of record `seq`.
std::string RecordAad(uint64_t seq);

/// SHA-256(prev_hash || seq (8-byte big-endian) || sealed), 32 raw bytes.
std::string ChainHash(std::string_view prev_hash, uint64_t seq, std::string_view sealed);

/// A chained record's content: the event and the workload whose intake carried it ("" for v1
/// records, written before intakes existed).
struct RecordContent {
  AuditEvent event;
  std::string source;

  friend bool operator==(const RecordContent&, const RecordContent&) = default;
};

/// Canonical plaintext (v2) of `event` as record `seq`, from intake `source`. INVALID_ARGUMENT if
/// it would exceed kMaxRecordPlaintext.
StatusOr<std::string> EncodeEvent(uint64_t seq, const AuditEvent& event,
                                  std::string_view source = {});

/// Inverse of EncodeEvent, for v2 and v1 plaintexts. DATA_LOSS if malformed or if the embedded
/// seq is not `expected_seq`.
StatusOr<RecordContent> DecodeRecord(std::string_view plaintext, uint64_t expected_seq);
/// DecodeRecord without the source.
StatusOr<AuditEvent> DecodeEvent(std::string_view plaintext, uint64_t expected_seq);

/// "concord-audit-intake-v1|<workload>": the AEAD associated data of an intake entry.
std::string IntakeAad(std::string_view workload);

/// Canonical plaintext of `event` as an intake entry. INVALID_ARGUMENT if too large.
StatusOr<std::string> EncodeIntakeEvent(const AuditEvent& event);
/// Inverse of EncodeIntakeEvent. DATA_LOSS if malformed.
StatusOr<AuditEvent> DecodeIntakeEvent(std::string_view plaintext);

/// Seals `event` as an entry of `workload`'s intake.
StatusOr<std::string> SealIntakeEntry(const AuditKey& key, std::string_view workload,
                                      const AuditEvent& event);
/// Opens an entry read from `workload`'s intake. DATA_LOSS if it does not open with the audit
/// key and that workload (forged, altered, or moved from another intake) or does not decode.
StatusOr<AuditEvent> OpenIntakeEntry(const AuditKey& key, std::string_view workload,
                                     std::string_view entry);

struct StoredRecord {
  std::string prev_hash;  // 32 bytes
  std::string hash;       // 32 bytes
  std::string sealed;     // AEAD output

  std::string Encode() const;  // prev_hash || hash || sealed
  /// DATA_LOSS when `value` is too short to hold both hashes and an AEAD output.
  static StatusOr<StoredRecord> Parse(std::string_view value);
};

/// Seals `event` (from intake `source`) as record `seq` chained after `prev_hash`.
StatusOr<StoredRecord> SealRecord(const AuditKey& key, uint64_t seq, std::string_view prev_hash,
                                  const AuditEvent& event, std::string_view source = {});

/// Opens and decodes record `seq` (does not check the chain; see services/audit/audit_chain.h).
/// DATA_LOSS if the AEAD or the encoding does not check out.
StatusOr<RecordContent> OpenRecordContent(const AuditKey& key, uint64_t seq,
                                          const StoredRecord& record);
/// OpenRecordContent without the source.
StatusOr<AuditEvent> OpenRecord(const AuditKey& key, uint64_t seq, const StoredRecord& record);

}  // namespace concord::audit
