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

// Compare-and-set append of n >= 0 records taken from m >= 0 intakes and s >= 0 slot intakes
// (m + s >= 1). All keys share the {audit} hash tag.
//   KEYS[1] head  KEYS[2] records  KEYS[3 .. 2+m] the intakes  then per record i (0-based):
//   KEYS[3+m+2i] by-object index  KEYS[4+m+2i] by-agency index  and last, KEYS[#KEYS], the
//   slot intakes' consumed counts (concord:{audit}:slot-consumed)
//   ARGV[1] expected head seq  ARGV[2] expected head hash (32 bytes; zeros for an empty log)
//   ARGV[3] m  ARGV[4 .. 3+m] entries to remove from the front of each intake  ARGV[4+m] n
//   then per record i: ARGV[5+m+4i] seq (= expected + 1 + i)  ARGV[6+m+4i] hash
//   ARGV[7+m+4i] stored record  ARGV[8+m+4i] "1" to index by object, "0" otherwise
//   then ARGV[5+m+4n] s, and per slot intake j: tag, expected consumed count, next count
// Returns {1} on success; {0, seq, hash} if the head (or a slot intake's consumed count) moved
// (the caller re-reads the intakes);
// {2, reason} on tampering. Every check runs before the first write, so a refused call writes
// nothing. The batch costs a fixed number of commands, not a number per record: one HMGET of the
// head, one HMGET checking that no record exists beyond it, one HSET of all the records, one ZADD
// per distinct index key (members in seq order), the LLEN/LTRIM of each intake and one HSET of the
// head. Multi-argument calls are split every kChunk arguments (Lua's unpack limit).
constexpr char kAppendLua[] = R"lua(
local kChunk = 1000
local function call_chunked(cmd, key, args)
  for i = 1, #args, kChunk do
    redis.call(cmd, key, unpack(args, i, math.min(i + kChunk - 1, #args)))
  end
end
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash')
local seq = head[1]
local hash = head[2]
if not seq then
  seq = '0'
  hash = string.rep('\0', 32)
end
if not hash then
  return {2, 'head has a seq but no hash'}
end
if seq ~= ARGV[1] or hash ~= ARGV[2] then
  return {0, seq, hash}
end
local m = tonumber(ARGV[3])
local n = tonumber(ARGV[4 + m])
local sa = 5 + m + 4 * n
local s = tonumber(ARGV[sa])
local moved = {}
for j = 0, s - 1 do
  local tag = ARGV[sa + 1 + 3 * j]
  if (redis.call('HGET', KEYS[#KEYS], tag) or '0') ~= ARGV[sa + 2 + 3 * j] then
    return {0, seq, hash}
  end
  moved[#moved + 1] = tag
  moved[#moved + 1] = ARGV[sa + 3 + 3 * j]
end
for j = 1, m do
  if redis.call('LLEN', KEYS[2 + j]) < tonumber(ARGV[3 + j]) then
    return {2, 'an intake holds fewer entries than were read'}
  end
end
local a = 5 + m
local k = 3 + m
local seqs = {}
for i = 0, n - 1 do
  seqs[#seqs + 1] = ARGV[a + 4 * i]
end
for i = 1, #seqs, kChunk do
  local found = redis.call('HMGET', KEYS[2], unpack(seqs, i, math.min(i + kChunk - 1, #seqs)))
  for _, v in ipairs(found) do
    if v then
      return {2, 'a record already exists beyond the head'}
    end
  end
end
local records = {}
local order = {}
local members = {}
local function index(key, s)
  local t = members[key]
  if not t then
    t = {}
    members[key] = t
    order[#order + 1] = key
  end
  t[#t + 1] = s
  t[#t + 1] = s
end
for i = 0, n - 1 do
  local s = ARGV[a + 4 * i]
  records[#records + 1] = s
  records[#records + 1] = ARGV[a + 2 + 4 * i]
  if ARGV[a + 3 + 4 * i] == '1' then
    index(KEYS[k + 2 * i], s)
  end
  index(KEYS[k + 1 + 2 * i], s)
end
if n > 0 then
  call_chunked('HSET', KEYS[2], records)
  for _, key in ipairs(order) do
    call_chunked('ZADD', key, members[key])
  end
end
for j = 1, m do
  local c = tonumber(ARGV[3 + j])
  if c > 0 then
    redis.call('LTRIM', KEYS[2 + j], c, -1)
  end
end
if #moved > 0 then
  redis.call('HSET', KEYS[#KEYS], unpack(moved))
end
if n > 0 then
  redis.call('HSET', KEYS[1], 'seq', ARGV[a + 4 * (n - 1)], 'hash', ARGV[a + 1 + 4 * (n - 1)])
end
return {1}
)lua";

// A slot intake (common/audit/audit_record.h "Slot intakes") from absolute position ARGV[1]:
// KEYS[1] the intake, KEYS[2] its trimmed count; ARGV[2] entries at most, ARGV[3] the largest
// entry returned as is (larger: kOversizeMarker .. its length, as kReadIntakesLua). Returns
// {trimmed, entries}; no entries when ARGV[1] < trimmed.
constexpr char kReadSlotIntakeLua[] = R"lua(
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
local from = tonumber(ARGV[1])
if from < t then return {t, {}} end
local skip = from - t
local entries = redis.call('LRANGE', KEYS[1], skip, skip + tonumber(ARGV[2]) - 1)
local max = tonumber(ARGV[3])
for j = 1, #entries do
  if #entries[j] > max then
    entries[j] = '\0concord-intake-oversize:' .. #entries[j]
  end
end
return {t, entries}
)lua";

// Trims a slot intake to its chained count: KEYS[1] the intake, KEYS[2] its trimmed count,
// ARGV[1] the consumed count. Removes the entries below it that are still there; never moves the
// trimmed count backwards (a late or repeated call changes nothing). Returns the trimmed count
// it found.
constexpr char kTrimSlotIntakeLua[] = R"lua(
local t = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > t then
  redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]) - t, -1)
  redis.call('SET', KEYS[2], ARGV[1])
end
return t
)lua";

// The front of each intake: KEYS = the intakes, ARGV[1] entries per intake, ARGV[2] the largest
// entry returned as is. A larger entry (no genuine one is: records are bounded) is returned as
// kOversizeMarker .. its length, so that a workload pushing huge garbage cannot make the
// ingester read it; the append script still removes it from the intake with the others.
constexpr char kReadIntakesLua[] = R"lua(
local n = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local entries = redis.call('LRANGE', KEYS[i], 0, n - 1)
  for j = 1, #entries do
    if #entries[j] > max then
      entries[j] = '\0concord-intake-oversize:' .. #entries[j]
    end
  end
  out[i] = entries
end
return out
)lua";

// The ingestion lease: KEYS[1] the lease hash; ARGV[1] owner, ARGV[2] ttl ms. Taken when free,
// expired (by Redis's clock) or already the caller's; returns 1 when the caller holds it.
constexpr char kIngestLeaseLua[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local l = redis.call('HMGET', KEYS[1], 'owner', 'until')
if l[1] and l[1] ~= ARGV[1] and l[2] and tonumber(l[2]) > now then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'until', tostring(now + tonumber(ARGV[2])))
return 1
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
    : redis_(redis),
      put_checkpoint_script_(kPutCheckpointLua),
      append_script_(kAppendLua),
      read_intakes_script_(kReadIntakesLua),
      read_slot_intake_script_(kReadSlotIntakeLua),
      trim_slot_intake_script_(kTrimSlotIntakeLua),
      ingest_lease_script_(kIngestLeaseLua) {}

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

StatusOr<std::vector<std::vector<std::string>>> RedisAuditStore::ReadIntakes(
    const std::vector<std::string>& workloads, size_t max_each) {
  std::vector<std::vector<std::string>> out(workloads.size());
  if (workloads.empty() || max_each == 0) return out;
  std::vector<std::string> keys;
  keys.reserve(workloads.size());
  for (const std::string& w : workloads) keys.push_back(IntakeKey(w));
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Eval(read_intakes_script_, keys,
                                  {absl::StrCat(max_each), absl::StrCat(kMaxIntakeEntryBytes)}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit intakes"));
  if (r.elements.size() != workloads.size()) {
    return absl::InternalError("audit intakes: unexpected reply length");
  }
  for (size_t i = 0; i < r.elements.size(); ++i) {
    CONCORD_RETURN_IF_ERROR(ExpectArray(r.elements[i], "audit intake"));
    out[i].reserve(r.elements[i].elements.size());
    for (redis::Reply& e : r.elements[i].elements) out[i].push_back(std::move(e.str));
  }
  return out;
}

StatusOr<std::vector<uint64_t>> RedisAuditStore::IntakeLengths(
    const std::vector<std::string>& workloads) {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(workloads.size());
  for (const std::string& w : workloads) cmds.push_back({"LLEN", IntakeKey(w)});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(cmds));
  std::vector<uint64_t> out;
  out.reserve(replies.size());
  for (const redis::Reply& r : replies) {
    if (r.is_error()) return absl::InternalError(absl::StrCat("redis: ", r.str));
    out.push_back(static_cast<uint64_t>(std::max<int64_t>(0, r.integer)));
  }
  return out;
}

StatusOr<ChainAppendResult> RedisAuditStore::AppendFromIntakes(
    const ChainHead& expected, const std::vector<ChainEntry>& entries,
    const std::vector<std::pair<std::string, size_t>>& consumed,
    const std::vector<SlotConsumedUpdate>& slots) {
  if (consumed.empty() && slots.empty()) {
    return absl::InvalidArgumentError("audit append: no intake named");
  }
  std::vector<std::string> keys = {HeadKey(), RecordsKey()};
  std::vector<std::string> args = {absl::StrCat(expected.seq), expected.hash,
                                   absl::StrCat(consumed.size())};
  for (const auto& [workload, count] : consumed) {
    keys.push_back(IntakeKey(workload));
    args.push_back(absl::StrCat(count));
  }
  args.push_back(absl::StrCat(entries.size()));
  for (const ChainEntry& e : entries) {
    keys.push_back(ObjectIndexKey(e.object));
    keys.push_back(AgencyIndexKey(e.agency));
    args.push_back(absl::StrCat(e.seq));
    args.push_back(e.hash);
    args.push_back(e.stored);
    args.push_back(e.object.empty() ? "0" : "1");
  }
  keys.push_back(SlotConsumedKey());
  args.push_back(absl::StrCat(slots.size()));
  for (const SlotConsumedUpdate& s : slots) {
    args.push_back(s.tag);
    args.push_back(absl::StrCat(s.expected));
    args.push_back(absl::StrCat(s.next));
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis_.Eval(append_script_, keys, args));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.empty() ||
      reply.elements[0].type != redis::Reply::Type::kInteger) {
    return absl::InternalError("audit append: unexpected script reply");
  }
  ChainAppendResult result;
  switch (reply.elements[0].integer) {
    case 1:
      result.appended = true;
      result.head = entries.empty() ? expected : ChainHead{entries.back().seq, entries.back().hash};
      return result;
    case 0: {
      if (reply.elements.size() != 3) {
        return absl::InternalError("audit append: malformed conflict reply");
      }
      CONCORD_ASSIGN_OR_RETURN(result.head.seq, ParseU64(reply.elements[1].str, "audit head seq"));
      result.head.hash = std::move(reply.elements[2].str);
      return result;
    }
    default:
      return absl::DataLossError(
          absl::StrCat("audit log inconsistent: ",
                       reply.elements.size() > 1 ? reply.elements[1].str : std::string("unknown")));
  }
}

StatusOr<std::vector<uint64_t>> RedisAuditStore::SlotConsumed(
    const std::vector<std::string>& tags) {
  std::vector<uint64_t> out;
  if (tags.empty()) return out;
  std::vector<std::string> cmd = {"HMGET", SlotConsumedKey()};
  cmd.insert(cmd.end(), tags.begin(), tags.end());
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command(cmd));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit slot-consumed"));
  if (r.elements.size() != tags.size()) {
    return absl::InternalError("audit slot-consumed: unexpected reply length");
  }
  for (const redis::Reply& e : r.elements) {
    if (e.is_nil()) {
      out.push_back(0);
      continue;
    }
    CONCORD_ASSIGN_OR_RETURN(uint64_t v, ParseU64(e.str, "audit slot-consumed count"));
    out.push_back(v);
  }
  return out;
}

StatusOr<SlotIntakeRead> RedisAuditStore::ReadSlotIntake(const std::string& tag, uint64_t from,
                                                         size_t max) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Eval(read_slot_intake_script_, {SlotIntakeKey(tag), SlotIntakeTrimmedKey(tag)},
                  {absl::StrCat(from), absl::StrCat(max), absl::StrCat(kMaxIntakeEntryBytes)}));
  CONCORD_RETURN_IF_ERROR(ExpectArray(r, "audit slot intake"));
  if (r.elements.size() != 2 || r.elements[0].type != redis::Reply::Type::kInteger ||
      r.elements[0].integer < 0) {
    return absl::InternalError("audit slot intake: unexpected reply");
  }
  CONCORD_RETURN_IF_ERROR(ExpectArray(r.elements[1], "audit slot intake entries"));
  SlotIntakeRead out;
  out.trimmed = static_cast<uint64_t>(r.elements[0].integer);
  out.entries.reserve(r.elements[1].elements.size());
  for (redis::Reply& e : r.elements[1].elements) out.entries.push_back(std::move(e.str));
  return out;
}

Status RedisAuditStore::TrimSlotIntake(const std::string& tag, uint64_t consumed) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Eval(trim_slot_intake_script_, {SlotIntakeKey(tag), SlotIntakeTrimmedKey(tag)},
                  {absl::StrCat(consumed)}));
  if (r.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("audit slot intake trim: unexpected reply");
  }
  return absl::OkStatus();
}

StatusOr<uint64_t> RedisAuditStore::SlotIntakeLength(const std::string& tag) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"LLEN", SlotIntakeKey(tag)}));
  if (r.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("audit slot intake length: unexpected reply");
  }
  return static_cast<uint64_t>(std::max<int64_t>(0, r.integer));
}

StatusOr<bool> RedisAuditStore::TakeIngestLease(const std::string& owner, absl::Duration ttl) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Eval(ingest_lease_script_, {IngestLeaseKey()},
                  {owner, absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))}));
  if (r.type != redis::Reply::Type::kInteger) {
    return absl::InternalError("audit ingest lease: unexpected reply");
  }
  return r.integer == 1;
}

}  // namespace concord::audit
