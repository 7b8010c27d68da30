// File: common/audit/checkpoint.h
//
// A signed checkpoint: the audit service's statement that the chain head at `seq` had hash
// `head_hash` at `time`. Anyone holding the audit public key can check it; a checkpoint copied
// out of Redis (the audit service exports each one: checkpoint_export.h) later proves that the
// log up to `seq` was neither rewritten nor cut. Shared by services/audit (signs, stores) and
// concordctl (checks an exported one).
//
// Signed message (CanonicalWriter, common/crypto/canonical.h):
//   AddString(0, "concord.audit.checkpoint.v1")   domain separation
//   AddInt(1, seq)   AddString(2, head_hash (32 bytes))   AddInt(3, time in unix nanoseconds)
// Stored form (concord:{audit}:checkpoints field <seq>), fixed layout, 112 bytes:
//   seq (8, BE) || time unix nanos (8, BE) || head_hash (32) || signature (64)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/status/status.h"

namespace concord::audit {

struct Checkpoint {
  uint64_t seq = 0;
  std::string head_hash;  // 32 bytes
  absl::Time time;
  std::string signature;  // 64 bytes, Ed25519

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

/// The exact bytes that are signed.
std::string CheckpointMessage(uint64_t seq, std::string_view head_hash, absl::Time time);

/// Signs (seq, head_hash, time). INVALID_ARGUMENT if head_hash is not 32 bytes.
StatusOr<Checkpoint> SignCheckpoint(const crypto::Ed25519PrivateKey& key, uint64_t seq,
                                    std::string_view head_hash, absl::Time time);

/// True iff the signature is valid under `key`.
bool VerifyCheckpointSignature(const crypto::Ed25519PublicKey& key, const Checkpoint& cp);

/// Stored form (see the file comment).
std::string EncodeCheckpoint(const Checkpoint& cp);
/// DATA_LOSS when `value` is not a well-formed stored checkpoint.
StatusOr<Checkpoint> ParseCheckpoint(std::string_view value);

}  // namespace concord::audit
