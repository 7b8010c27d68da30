// File: common/audit/audit_record.h
//
// The stored form of the audit log, shared by the writer (RedisAuditSink) and the reader and
// verifier (services/audit). Changing anything here breaks every existing log: version it.
//
// Redis keys (all share the {audit} hash tag, so the append script is Cluster-safe):
//   concord:{audit}:head                  HASH  seq -> last seq (decimal), hash -> its 32-byte hash
//   concord:{audit}:records               HASH  <seq decimal> -> stored record (below)
//   concord:{audit}:by-object:<object>    ZSET  member = score = seq of each record about <object>
//   concord:{audit}:by-agency:<type>/<id> ZSET  member = score = seq of each record by that agency
//   concord:{audit}:checkpoints           HASH  <seq decimal> -> signed checkpoint (services/audit)
//   concord:{audit}:checkpoint-index      ZSET  member = score = seq of each checkpoint
//
// Stored record for seq n (binary):
//   prev_hash (32 bytes) || hash (32 bytes) || sealed
//   sealed    = AeadSeal(audit key, plaintext, aad = "concord-audit-v1|<n decimal>")
//               (nonce 12 || ciphertext || tag 16, AES-256-GCM)
//   plaintext = canonical encoding (common/crypto/canonical.h) of the event, see EncodeEvent
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

#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::audit {

inline constexpr size_t kHashSize = 32;
/// Upper bound on a plaintext record: larger events are refused with INVALID_ARGUMENT.
inline constexpr size_t kMaxRecordPlaintext = 64 * 1024;

// ---- Redis key schema ----------------------------------------------------------------------
std::string HeadKey();
std::string RecordsKey();
std::string ObjectIndexKey(std::string_view object);
std::string AgencyIndexKey(const AgencyId& agency);  // uses AgencyId::Key()
std::string CheckpointsKey();
std::string CheckpointIndexKey();

// ---- Record format -------------------------------------------------------------------------
/// 32 zero bytes: the prev_hash of record 1.
std::string GenesisHash();

/// "concord-audit-v1|<seq>": the AEAD associated data of record `seq`.
std::string RecordAad(uint64_t seq);

/// SHA-256(prev_hash || seq (8-byte big-endian) || sealed), 32 raw bytes.
std::string ChainHash(std::string_view prev_hash, uint64_t seq, std::string_view sealed);

/// Canonical plaintext of `event` as record `seq`. INVALID_ARGUMENT if it would exceed
/// kMaxRecordPlaintext.
StatusOr<std::string> EncodeEvent(uint64_t seq, const AuditEvent& event);

/// Inverse of EncodeEvent. DATA_LOSS if malformed or if the embedded seq is not `expected_seq`.
StatusOr<AuditEvent> DecodeEvent(std::string_view plaintext, uint64_t expected_seq);

struct StoredRecord {
  std::string prev_hash;  // 32 bytes
  std::string hash;       // 32 bytes
  std::string sealed;     // AEAD output

  std::string Encode() const;  // prev_hash || hash || sealed
  /// DATA_LOSS when `value` is too short to hold both hashes and an AEAD output.
  static StatusOr<StoredRecord> Parse(std::string_view value);
};

/// Seals `event` as record `seq` chained after `prev_hash`.
StatusOr<StoredRecord> SealRecord(const AuditKey& key, uint64_t seq, std::string_view prev_hash,
                                  const AuditEvent& event);

/// Opens and decodes record `seq` (does not check the chain; see services/audit/audit_chain.h).
/// DATA_LOSS if the AEAD or the encoding does not check out.
StatusOr<AuditEvent> OpenRecord(const AuditKey& key, uint64_t seq, const StoredRecord& record);

}  // namespace concord::audit
