#include "services/audit/redis_audit_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/status/status_macros.h"

namespace concord::audit {
namespace {

// KEYS[1] checkpoints hash, KEYS[2] checkpoint index; ARGV[1] seq, ARGV[2] stored checkpoint.
// Returns the checkpoint now stored at seq (the existing one if another replica was first).
constexpr char kPutCheckpointLua[] = R"lua(
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
  return ARGV[2]
end
return redis.call('HGET', KEYS[1], ARGV[1])
)lua";

StatusOr<uint64_t> ParseU64(const std::string& s, std::string_view what) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) {
    return absl::DataLossError(
        absl::StrCat(absl::string_view(what.data(), what.size()), ": not a number"));
  }
  return v;
}

Status ExpectArray(const redis::Reply& r, std::string_view what) {
  if (r.type != redis::Reply::Type::kArray) {
    return absl::InternalError(
        absl::StrCat(absl::string_view(what.data(), what.size()), ": unexpected reply type"));
  }
  return absl::OkStatus();
}

}  // namespace

RedisAuditStore::RedisAuditStore(redis::RedisClient& redis)
    : redis_(redis), put_checkpoint_script_(kPutCheckpointLua) {}

StatusOr<ChainHead> RedisAuditStore::GetHead() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HMGET", HeadKey(), "seq", "hash"}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit head"));
  if (r.elements.size() != 2) {
    return absl::InternalError("audit head: unexpected reply");
  }
  ChainHead head;
  if (r.elements[0].is_nil()) {
    head.hash = GenesisHash();
    return head;
  }
  CONCORD_ASSIGN_OR_RETURN(head.seq, ParseU64(r.elements[0].str, "audit head seq"));
  head.hash = r.elements[1].str;
  return head;
}

StatusOr<uint64_t> RedisAuditStore::CountRecords() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HLEN", RecordsKey()}));
  return static_cast<uint64_t>(std::max<int64_t>(0, r.integer));
}

StatusOr<std::vector<std::optional<std::string>>> RedisAuditStore::GetRecords(
    const std::vector<uint64_t>& seqs) {
  std::vector<std::optional<std::string>> out;
  out.reserve(seqs.size());
  for (size_t start = 0; start < seqs.size(); start += kBatchSize) {
    const size_t end = std::min(seqs.size(), start + kBatchSize);
    std::vector<std::string> cmd = {"HMGET", RecordsKey()};
    cmd.reserve(2 + end - start);
    for (size_t i = start; i < end; ++i) {
      cmd.push_back(absl::StrCat(seqs[i]));
    }
    CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command(cmd));
    CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit records"));
    if (r.elements.size() != end - start) {
      return absl::InternalError("audit records: unexpected reply length");
    }
    for (redis::Reply& e : r.elements) {
      if (e.is_nil()) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::move(e.str));
      }
    }
  }
  return out;
}

StatusOr<std::vector<uint64_t>> RedisAuditStore::ListIndex(const IndexSelector& index,
                                                           uint64_t before_seq, size_t limit) {
  const std::string key = index.kind == IndexSelector::Kind::kObject ? ObjectIndexKey(index.object)
                                                                     : AgencyIndexKey(index.agency);
  const std::string max = before_seq == 0 ? "+inf" : absl::StrCat("(", before_seq);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"ZREVRANGEBYSCORE", key, max, "-inf",
                                                           "LIMIT", "0", absl::StrCat(limit)}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit index"));
  std::vector<uint64_t> seqs;
  seqs.reserve(r.elements.size());
  for (const redis::Reply& e : r.elements) {
    CONCORD_ASSIGN_OR_RETURN(uint64_t seq, ParseU64(e.str, "audit index member"));
    seqs.push_back(seq);
  }
  return seqs;
}

StatusOr<Checkpoint> RedisAuditStore::PutCheckpoint(const Checkpoint& cp) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Eval(put_checkpoint_script_, {CheckpointsKey(), CheckpointIndexKey()},
                                  {absl::StrCat(cp.seq), EncodeCheckpoint(cp)}));
  if (r.type != redis::Reply::Type::kString) {
    return absl::InternalError("audit checkpoint: unexpected script reply");
  }
  return ParseCheckpoint(r.str);
}

StatusOr<std::vector<StoredCheckpoint>> RedisAuditStore::ListCheckpoints(uint64_t from_seq,
                                                                         uint64_t to_seq) {
  // The hash, not the index, is authoritative: an index entry removed by an attacker must not
  // hide a checkpoint from verification. HKEYS is O(number of checkpoints).
  CONCORD_ASSIGN_OR_RETURN(redis::Reply keys, redis_.Command({"HKEYS", CheckpointsKey()}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(keys, "audit checkpoints"));
  std::vector<uint64_t> seqs;
  for (const redis::Reply& e : keys.elements) {
    uint64_t seq = 0;
    if (!absl::SimpleAtoi(e.str, &seq)) {
      continue;  // not a checkpoint field; cannot be attributed to a seq
    }
    if (seq >= from_seq && (to_seq == 0 || seq <= to_seq)) {
      seqs.push_back(seq);
    }
  }
  std::sort(seqs.begin(), seqs.end());
  std::vector<StoredCheckpoint> out;
  out.reserve(seqs.size());
  for (size_t start = 0; start < seqs.size(); start += kBatchSize) {
    const size_t end = std::min(seqs.size(), start + kBatchSize);
    std::vector<std::string> cmd = {"HMGET", CheckpointsKey()};
    for (size_t i = start; i < end; ++i) {
      cmd.push_back(absl::StrCat(seqs[i]));
    }
    CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command(cmd));
    CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit checkpoints"));
    if (r.elements.size() != end - start) {
      return absl::InternalError("audit checkpoints: unexpected reply length");
    }
    for (size_t i = start; i < end; ++i) {
      if (!r.elements[i - start].is_nil()) {
        out.push_back(StoredCheckpoint{seqs[i], std::move(r.elements[i - start].str)});
      }
    }
  }
  return out;
}

StatusOr<std::optional<Checkpoint>> RedisAuditStore::LatestCheckpoint() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"ZREVRANGE", CheckpointIndexKey(), "0", "0"}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit checkpoint index"));
  if (r.elements.empty()) {
    return std::optional<Checkpoint>();
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply v,
                           redis_.Command({"HGET", CheckpointsKey(), r.elements[0].str}));
  if (v.is_nil()) {
    return absl::DataLossError("audit checkpoint index names a missing checkpoint");
  }
  CONCORD_ASSIGN_OR_RETURN(Checkpoint cp, ParseCheckpoint(v.str));
  return std::optional<Checkpoint>(std::move(cp));
}

}  // namespace concord::audit
