// File: common/audit/checkpoint_export.h
//
// Signed audit checkpoints kept OUTSIDE Redis, and the check of the stored chain against one.
// Whoever can write Redis can cut the tail of the audit log and delete the checkpoints stored
// there; a checkpoint exported elsewhere (a file on a separate volume, a line in the collected
// logs) still names the record and the hash the chain reached, so a shorter or different chain
// is detected: `concordctl audit verify --expect-checkpoint FILE` (exit 3).
//
// Export format (one JSON object; the file holds it plus a newline; the audit service logs the
// same fields as the event "audit.checkpoint", with every value a string):
//   {"format": "concord.audit.checkpoint.v1",
//    "seq": 10,                                  the record the checkpoint covers (1..)
//    "head_hash": "<64 hex>",                    SHA-256 chain hash of record seq
//    "time": "2026-12-06T10:00:00.123456789Z",   when it was signed (RFC 3339, for people)
//    "time_unix_nanos": 1796551200123456789,     the signed time
//    "signature": "<128 hex>",                   Ed25519 over CheckpointMessage(seq, hash, time)
//    "public_key": "<64 hex>"}                   the audit service's key (raw Ed25519)
// File name: checkpoint-<seq, 20 digits>.json, so that names sort in seq order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/audit/checkpoint.h"
#include "common/status/status.h"

namespace concord::audit {

inline constexpr std::string_view kCheckpointExportFormat = "concord.audit.checkpoint.v1";

struct ExportedCheckpoint {
  Checkpoint checkpoint;
  std::string public_key;  // 32 raw bytes, as exported (not trusted by itself)
};

/// The export fields in order, every value as text (the log line's fields).
std::vector<std::pair<std::string, std::string>> CheckpointExportFields(
    const Checkpoint& cp, std::string_view public_key_raw);

/// The export JSON object (no trailing newline).
std::string CheckpointToJson(const Checkpoint& cp, std::string_view public_key_raw);

/// Parses an exported file or a logged "audit.checkpoint" line (numbers may be JSON numbers or
/// decimal strings; other fields are ignored). INVALID_ARGUMENT with a field violation naming
/// the bad field.
StatusOr<ExportedCheckpoint> ParseExportedCheckpoint(std::string_view json);

/// "checkpoint-00000000000000000010.json" for seq 10.
std::string CheckpointExportFileName(uint64_t seq);

/// Writes the export file for `cp` into `dir` atomically (a temporary file, fsync, rename, fsync
/// of the directory), mode 0640. Rewriting an existing checkpoint's file is harmless (same
/// content). INTERNAL naming the path and the OS error on failure.
Status WriteCheckpointExportFile(const std::string& dir, const Checkpoint& cp,
                                 std::string_view public_key_raw);

/// Where the key that checked an exported checkpoint's signature came from.
enum class CheckpointKeySource {
  kPinned,      // the operator's copy of the audit public key (concordctl --expect-key)
  kExportFile,  // the key written in the export itself: proves consistency, not origin
};

/// Checks the exported signature with `pinned_key_raw` when given (and that the export names the
/// same key), else with the key in the export. INVALID_ARGUMENT when a key is malformed;
/// PERMISSION_DENIED (the check failed) when the export names another key than the pinned one
/// or the signature does not verify.
StatusOr<CheckpointKeySource> VerifyExportedCheckpoint(
    const ExportedCheckpoint& exported, const std::optional<std::string>& pinned_key_raw);

/// What the stored chain says about the records an exported checkpoint covers.
struct ChainAtCheckpoint {
  uint64_t head_seq = 0;  // the stored chain's head
  /// The verification of records 1..min(head_seq, checkpoint seq), from the genesis hash.
  bool verified = true;
  uint64_t first_bad_seq = 0;  // when !verified
  std::string reason;          // when !verified
  /// Hash of record `checkpoint seq` as the verification computed it (when head_seq >= seq and
  /// verified).
  std::string hash_at_seq;
};

struct CheckpointComparison {
  bool ok = true;
  /// The records the chain lacks compared with the checkpoint (0 when none): the chain ends
  /// before the checkpoint's record.
  uint64_t missing_from = 0;
  uint64_t missing_to = 0;
  /// The first record that is not the one the checkpoint covers (0 when none).
  uint64_t differs_from = 0;
  std::string message;  // why not ok; empty when ok
};

/// Pure: the stored chain against an exported checkpoint. Not ok when the chain is shorter than
/// the checkpoint (missing_from..missing_to = head+1..seq), when records 1..seq fail
/// verification, or when record seq's hash differs from the checkpoint's head hash (the chain
/// was rewritten: differs_from names the first record that cannot be the checkpointed one).
CheckpointComparison CompareChainWithCheckpoint(const Checkpoint& cp,
                                                const ChainAtCheckpoint& chain);

}  // namespace concord::audit
