// File: services/audit/audit_chain.h
//
// Pure verification of the audit hash chain (no I/O). The caller reads stored records from the
// store in seq order and feeds them one by one; the verifier recomputes every hash, checks every
// link, opens every record with the audit key and checks every signed checkpoint it passes.
//
//   ChainVerifier v(key, public_key, /*from_seq=*/1, GenesisHash(), checkpoints);
//   for (seq = 1; seq <= head; ++seq) if (!v.Add(seq, value_of(seq))) break;
//   VerifyResult r = v.Finish(head, head_hash);
//
// Tamper semantics: first_bad_seq is the lowest seq at which the stored log stops being the log
// that was written. For a record n that was
//   altered (any byte of prev_hash, hash or sealed)  -> n  (hash/link mismatch or AEAD failure)
//   deleted (field removed, a gap)                   -> n  (record missing)
//   swapped with record m > n                        -> n  (n's stored prev_hash links to m-1)
//   truncated (records n.. and the head rewound),
//     with a signed checkpoint at c >= n             -> n  (checkpoint beyond the end of the log)
//   a checkpoint at c with a bad signature or a
//     head hash that differs from the chain at c     -> c
// An attacker who also holds the AEAD key can rewrite record n and re-chain everything after it;
// that is detected only at the first signed checkpoint c >= n, which is then reported.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit/audit_key.h"
#include "common/audit/checkpoint.h"
#include "common/crypto/ed25519.h"

namespace concord::audit {

struct VerifyResult {
  bool ok = true;
  uint64_t records_checked = 0;
  uint64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;          // empty when ok; never contains record contents
  uint64_t checkpoints_checked = 0;
  std::optional<Checkpoint> last_checkpoint;  // latest valid checkpoint passed
};

/// A checkpoint as read from storage: parsing happens in the verifier so a malformed one is
/// reported at its seq like any other tampering.
struct StoredCheckpoint {
  uint64_t seq = 0;
  std::string value;
};

class ChainVerifier {
 public:
  /// Verifies records from_seq, from_seq + 1, ... `anchor` is the expected prev_hash of
  /// record from_seq (GenesisHash() when from_seq == 1); nullopt accepts the stored one (a
  /// range starting after a record that is itself unreadable). `checkpoints` are those to
  /// check (any order); ones below from_seq are ignored.
  ChainVerifier(const AuditKey& key, const crypto::Ed25519PublicKey& checkpoint_key,
                uint64_t from_seq, std::optional<std::string> anchor,
                const std::vector<StoredCheckpoint>& checkpoints);

  /// Feeds the stored value of record `seq` (nullopt when absent). Seqs must be fed in order
  /// without gaps, starting at from_seq. Returns false once verification has failed; further
  /// calls are ignored.
  bool Add(uint64_t seq, const std::optional<std::string>& value);

  /// Ends the verification after record `to_seq`. `head_hash`, when given, is the hash the
  /// head claims for to_seq. Checkpoints after to_seq that were given to the constructor mean
  /// the log was truncated (reported at to_seq + 1, or at the first record not fed).
  VerifyResult Finish(uint64_t to_seq, std::optional<std::string_view> head_hash);

  bool failed() const { return !result_.ok; }
  /// Hash of the last verified record (the anchor before any).
  const std::optional<std::string>& last_hash() const { return prev_hash_; }

 private:
  bool Fail(uint64_t seq, std::string reason);
  void CheckCheckpoint(uint64_t seq, const std::string& chain_hash);

  const AuditKey& key_;
  const crypto::Ed25519PublicKey& checkpoint_key_;
  uint64_t next_seq_;
  std::optional<std::string> prev_hash_;
  std::map<uint64_t, std::string> checkpoints_;  // seq -> stored value, not yet checked
  VerifyResult result_;
};

}  // namespace concord::audit
