#include "services/audit/audit_chain.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/crypto/hash.h"

namespace concord::audit {

ChainVerifier::ChainVerifier(const AuditKey& key, const crypto::Ed25519PublicKey& checkpoint_key,
                             uint64_t from_seq, std::optional<std::string> anchor,
                             const std::vector<StoredCheckpoint>& checkpoints)
    : key_(key),
      checkpoint_key_(checkpoint_key),
      next_seq_(from_seq),
      prev_hash_(std::move(anchor)) {
  for (const StoredCheckpoint& cp : checkpoints) {
    if (cp.seq >= from_seq) {
      checkpoints_[cp.seq] = cp.value;
    }
  }
}

bool ChainVerifier::Fail(uint64_t seq, std::string reason) {
  if (result_.ok) {
    result_.ok = false;
    result_.first_bad_seq = seq;
    result_.reason = std::move(reason);
  }
  return false;
}

void ChainVerifier::CheckCheckpoint(uint64_t seq, const std::string& chain_hash) {
  auto it = checkpoints_.find(seq);
  if (it == checkpoints_.end()) {
    return;
  }
  const std::string value = std::move(it->second);
  checkpoints_.erase(it);
  auto cp = ParseCheckpoint(value);
  if (!cp.ok() || cp->seq != seq) {
    Fail(seq, absl::StrCat("checkpoint at seq ", seq, " is malformed"));
    return;
  }
  if (!VerifyCheckpointSignature(checkpoint_key_, *cp)) {
    Fail(seq, absl::StrCat("checkpoint at seq ", seq, " has an invalid signature"));
    return;
  }
  if (!crypto::ConstantTimeEquals(cp->head_hash, chain_hash)) {
    Fail(seq, absl::StrCat("signed checkpoint at seq ", seq,
                           " does not match the chain (history rewritten up to here)"));
    return;
  }
  ++result_.checkpoints_checked;
  result_.last_checkpoint = *std::move(cp);
}

bool ChainVerifier::Add(uint64_t seq, const std::optional<std::string>& value) {
  if (!result_.ok) {
    return false;
  }
  if (seq != next_seq_) {
    return Fail(next_seq_,
                absl::StrCat("verifier fed seq ", seq, " where ", next_seq_, " was expected"));
  }
  ++next_seq_;
  if (!value) {
    return Fail(seq, absl::StrCat("record ", seq, " is missing (deleted)"));
  }
  auto record = StoredRecord::Parse(*value);
  if (!record.ok()) {
    return Fail(seq, absl::StrCat("record ", seq, " is malformed (too short)"));
  }
  if (prev_hash_ && !crypto::ConstantTimeEquals(record->prev_hash, *prev_hash_)) {
    return Fail(seq, absl::StrCat("record ", seq,
                                  " does not link to the previous record (altered, replaced "
                                  "or reordered)"));
  }
  const std::string expected = ChainHash(record->prev_hash, seq, record->sealed);
  if (!crypto::ConstantTimeEquals(record->hash, expected)) {
    return Fail(seq, absl::StrCat("record ", seq, " hash mismatch (altered)"));
  }
  if (!OpenRecord(key_, seq, *record).ok()) {
    return Fail(
        seq, absl::StrCat("record ", seq, " does not open with the audit key (altered or moved)"));
  }
  ++result_.records_checked;
  prev_hash_ = std::move(record->hash);
  CheckCheckpoint(seq, *prev_hash_);
  return result_.ok;
}

VerifyResult ChainVerifier::Finish(uint64_t to_seq, std::optional<std::string_view> head_hash) {
  if (result_.ok && next_seq_ <= to_seq) {
    Fail(next_seq_, absl::StrCat("record ", next_seq_, " was not verified (log ends early)"));
  }
  if (result_.ok && head_hash && to_seq > 0 &&
      (!prev_hash_ || !crypto::ConstantTimeEquals(*prev_hash_, *head_hash))) {
    Fail(to_seq, absl::StrCat("head hash does not match record ", to_seq));
  }
  if (result_.ok && !checkpoints_.empty()) {
    const uint64_t first = checkpoints_.begin()->first;
    if (first > to_seq) {
      Fail(to_seq + 1, absl::StrCat("log truncated: a signed checkpoint exists at seq ", first,
                                    " but the log ends at seq ", to_seq));
    }
  }
  return result_;
}

}  // namespace concord::audit
