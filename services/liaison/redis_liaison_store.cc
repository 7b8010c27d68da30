// RedisLiaisonStore: the liaison keyspace, all under the one hash tag {lia}.
//
//   concord:{lia}:req:<request_id>        HASH  r = serialized v1::Request, v = version,
//                                               c = "<type label>:<state label>" (counted as),
//                                               f = the request's fire members (space-separated),
//                                               d = its due members (space-separated)
//   concord:{lia}:hist:<request_id>       LIST  serialized v1::HistoryEntry, oldest first
//   concord:{lia}:party:<agency_key>      ZSET  request ids the agency issued or must execute,
//                                               by updated_at ms
//   concord:{lia}:counts                  HASH  "<type label>:<state label>" -> requests
//   concord:{lia}:fire                    ZSET  "<request_id>|<clock>|<stage>|<due ms>|<type>" by
//                                               fire time (ms)
//   concord:{lia}:due                     ZSET  "<request_id>|<clock>|<type>" by due time (ms)
//   concord:{lia}:outbox                  STREAM {type: change, id, req, rcpt, body} |
//                                               {type: clock, id, req, clock, stage, due};
//                                               consumer group "notifier"; acked entries deleted
//   concord:{lia}:crossings               HASH  "<partner trust domain>|<its request id>" -> the
//                                               local request id it was recorded as
//                                               (ClaimCrossing; a retried crossing records once)
//   concord:{lia}:party:<td>|<agency_key> ZSET  as party:, for an agency of a partner deployment
//   concord:{lia}:dsa:<police_key>:<case_reference>  HASH  message id -> serialized link
//   concord:{lia}:jit:<jit_id>            HASH  j = serialized v1::Jit, v = version
//   concord:{lia}:jitm:<jit_id>           SET   agency keys of the current members
//   concord:{lia}:jitlog:<jit_id>         LIST  serialized v1::JitEntry (seq = index + 1)
//   concord:{lia}:quota:<quota>:<agency_key>  HASH token bucket {t, ts} of the acting agency
//                                         (liaison_request, jit_write; common/quota/
//                                         token_bucket.h), charged first by Apply, ApplyJit and
//                                         AppendJitEntry when the write carries charges
// <clock> is ClockKindName(); <stage> "reminder" | "overdue" | "follow_up"; <type> TypeLabel().
// Ids and agency keys contain neither '|' nor spaces.
//
// Atomicity: every change is one Lua script that checks everything (existence, version,
// membership) before its first write. Exactly-once firing: FireDue removes the fire entries it
// claims and appends their outbox items in the same script.
#include "services/liaison/redis_liaison_store.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/quota/token_bucket.h"
#include "common/redis/keys.h"
#include "common/redis/script.h"
#include "common/status/status_macros.h"
#include "services/liaison/clocks.h"
#include "services/liaison/ids.h"
#include "services/liaison/requests.h"

namespace concord::liaison {
namespace {

constexpr std::string_view kTag = "lia";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxScanPerPage = 2000;
constexpr int kMaxFirePerCall = 10000;
constexpr int kMaxCountScan = 100000;

std::string K(std::string_view rest) { return redis::Key(kTag, rest); }
std::string ReqKey(std::string_view id) { return K(absl::StrCat("req:", std::string(id))); }
std::string HistKey(std::string_view id) { return K(absl::StrCat("hist:", std::string(id))); }
std::string PartyKey(std::string_view agency) {
  return K(absl::StrCat("party:", std::string(agency)));
}
std::string CountsKey() { return K("counts"); }
std::string CrossingsKey() { return K("crossings"); }
std::string FireKey() { return K("fire"); }
std::string DueKey() { return K("due"); }
std::string OutboxKey() { return K("outbox"); }
std::string DsaKey(std::string_view police, std::string_view ref) {
  return K(absl::StrCat("dsa:", std::string(police), ":", std::string(ref)));
}
std::string JitKey(std::string_view id) { return K(absl::StrCat("jit:", std::string(id))); }
std::string JitMembersKey(std::string_view id) { return K(absl::StrCat("jitm:", std::string(id))); }
std::string JitLogKey(std::string_view id) { return K(absl::StrCat("jitlog:", std::string(id))); }

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

Status Malformed(std::string_view what) {
  return absl::InternalError(
      absl::StrCat("liaison store: unexpected reply to ", std::string(what)));
}

bool ParseInt(std::string_view s, int64_t& out) {
  return absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &out);
}

Status CheckRequestId(std::string_view id) {
  if (IsRequestId(id)) return absl::OkStatus();
  return InvalidArgumentWithFields("invalid request id", {{"request_id", "malformed"}});
}
Status CheckJitId(std::string_view id) {
  if (IsJitId(id)) return absl::OkStatus();
  return InvalidArgumentWithFields("invalid team id", {{"jit_id", "malformed"}});
}

std::string CountField(const v1::Request& r) {
  return absl::StrCat(TypeLabel(r.type()), ":", StateLabel(r.state()));
}

// Apply. KEYS: 1 req, 2 hist, 3 counts, 4 fire, 5 due, 6 outbox, 7 issuer party, 8 executor
// party. ARGV: 1 mode, 2 expected version, 3 next version, 4 request bytes, 5 entry bytes,
// 6 updated ms, 7 count field, 8 nfire, 9 ndue, 10 nnotes, 11 group, 12 request id; then
// (fire ms, member) x nfire, (due ms, member) x ndue, (id, recipients, body) x nnotes; then the
// actor's liaison_request bucket (KEYS[9], last 3 ARGV), charged first.
// Returns {'ok'} | {'exists'} | {'missing'} | {'stale', v} | {'quota', i, ms}.
const redis::Script& ApplyScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(8)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local v = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == 'create' then
  if v then return {'exists'} end
else
  if not v then return {'missing'} end
  if v ~= ARGV[2] then return {'stale', v} end
end
local old = redis.call('HMGET', KEYS[1], 'f', 'd', 'c')
if old[1] and old[1] ~= '' then
  for m in string.gmatch(old[1], '%S+') do redis.call('ZREM', KEYS[4], m) end
end
if old[2] and old[2] ~= '' then
  for m in string.gmatch(old[2], '%S+') do redis.call('ZREM', KEYS[5], m) end
end
if old[3] then redis.call('HINCRBY', KEYS[3], old[3], -1) end
redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
local i = 13
local fl, dl = {}, {}
for n = 1, tonumber(ARGV[8]) do
  redis.call('ZADD', KEYS[4], ARGV[i], ARGV[i + 1]); fl[#fl + 1] = ARGV[i + 1]; i = i + 2
end
for n = 1, tonumber(ARGV[9]) do
  redis.call('ZADD', KEYS[5], ARGV[i], ARGV[i + 1]); dl[#dl + 1] = ARGV[i + 1]; i = i + 2
end
redis.call('HSET', KEYS[1], 'r', ARGV[4], 'v', ARGV[3], 'c', ARGV[7], 'f', table.concat(fl, ' '),
           'd', table.concat(dl, ' '))
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[7], ARGV[6], ARGV[12])
redis.call('ZADD', KEYS[8], ARGV[6], ARGV[12])
local nnotes = tonumber(ARGV[10])
if nnotes > 0 and redis.call('EXISTS', KEYS[6]) == 0 then
  redis.pcall('XGROUP', 'CREATE', KEYS[6], ARGV[11], '0', 'MKSTREAM')
end
for n = 1, nnotes do
  redis.call('XADD', KEYS[6], '*', 'type', 'change', 'id', ARGV[i], 'req', ARGV[12],
             'rcpt', ARGV[i + 1], 'body', ARGV[i + 2])
  i = i + 3
end
return {'ok'}
)lua");
  return *script;
}

// FireDue. KEYS: fire, outbox. ARGV: now ms, max, group.
const redis::Script& ClaimCrossingScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local bound = redis.call('HGET', KEYS[1], ARGV[1])
if bound then return bound end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
)lua");
  return *script;
}

const redis::Script& FireScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return {} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[3], '0', 'MKSTREAM')
end
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local id, clock, stage, due_ms, t = string.match(member,
      '^([^|]+)|([^|]+)|([^|]+)|([^|]+)|([^|]+)$')
  if id then
    redis.call('XADD', KEYS[2], '*', 'type', 'clock',
               'id', id .. '-' .. clock .. '-' .. stage .. '-' .. due_ms, 'req', id,
               'clock', clock, 'stage', stage, 'due', due_ms)
    out[#out + 1] = member
  end
end
return out
)lua");
  return *script;
}

// ApplyJit. KEYS: jit, members, log. ARGV: 1 mode, 2 expected version, 3 next version,
// 4 jit bytes, 5 nadd, 6 nremove, 7 nentries; then add keys, remove keys, entries; then the
// actor's jit_write bucket (KEYS[4], last 3 ARGV) when charged, charged first.
const redis::Script& JitScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(3)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local v = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == 'create' then
  if v then return {'exists'} end
else
  if not v then return {'missing'} end
  if v ~= ARGV[2] then return {'stale', v} end
end
redis.call('HSET', KEYS[1], 'j', ARGV[4], 'v', ARGV[3])
local i = 8
for n = 1, tonumber(ARGV[5]) do redis.call('SADD', KEYS[2], ARGV[i]); i = i + 1 end
for n = 1, tonumber(ARGV[6]) do redis.call('SREM', KEYS[2], ARGV[i]); i = i + 1 end
local len = redis.call('LLEN', KEYS[3])
for n = 1, tonumber(ARGV[7]) do len = redis.call('RPUSH', KEYS[3], ARGV[i]); i = i + 1 end
return {'ok', len}
)lua");
  return *script;
}

// AppendJitEntry. KEYS: jit, members, log. ARGV: actor key, entry bytes, recipient keys...; then
// the actor's jit_write bucket (KEYS[4], last 3 ARGV) when charged, charged first.
const redis::Script& ShareScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(3)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {'not_member'} end
for i = 3, #ARGV - 3 * (#KEYS - 3) do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then return {'recipient', i - 3} end
end
return {'ok', redis.call('RPUSH', KEYS[3], ARGV[2])}
)lua");
  return *script;
}

std::optional<OutboxItem> ParseOutboxEntry(const redis::Reply& entry) {
  if (entry.elements.size() != 2 || entry.elements[1].type != redis::Reply::Type::kArray) {
    return std::nullopt;
  }
  OutboxItem item;
  item.stream_id = entry.elements[0].str;
  const auto& f = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < f.size(); i += 2) {
    const std::string& name = f[i].str;
    const std::string& value = f[i + 1].str;
    if (name == "type") {
      item.type = value;
    } else if (name == "id") {
      item.id = value;
    } else if (name == "req") {
      item.request_id = value;
    } else if (name == "rcpt") {
      item.recipients = absl::StrSplit(value, ' ', absl::SkipEmpty());
    } else if (name == "body") {
      item.body = value;
    } else if (name == "clock") {
      item.clock = ClockKindFromName(value);
    } else if (name == "stage") {
      item.stage = value;
    } else if (name == "due") {
      int64_t ms = 0;
      if (ParseInt(value, ms)) item.due = absl::FromUnixMillis(ms);
    }
  }
  return item;
}

StatusOr<v1::Request> ParseRequest(const std::string& bytes) {
  v1::Request r;
  if (!r.ParseFromString(bytes)) return absl::DataLossError("liaison store: corrupt request");
  return r;
}

}  // namespace

StatusOr<v1::Request> RedisLiaisonStore::Get(std::string_view request_id) {
  CONCORD_RETURN_IF_ERROR(CheckRequestId(request_id));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGET", ReqKey(request_id), "r"}));
  if (r.is_nil()) {
    return absl::NotFoundError(absl::StrCat("no request ", std::string(request_id)));
  }
  return ParseRequest(r.str);
}

StatusOr<std::vector<v1::HistoryEntry>> RedisLiaisonStore::History(std::string_view request_id) {
  CONCORD_RETURN_IF_ERROR(CheckRequestId(request_id));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"LRANGE", HistKey(request_id), "0", "-1"}));
  std::vector<v1::HistoryEntry> out;
  for (const redis::Reply& e : r.elements) {
    v1::HistoryEntry h;
    if (!h.ParseFromString(e.str)) return absl::DataLossError("liaison store: corrupt history");
    out.push_back(std::move(h));
  }
  if (out.empty()) return absl::NotFoundError(absl::StrCat("no request ", std::string(request_id)));
  return out;
}

Status RedisLiaisonStore::Apply(const RequestWrite& w) {
  const v1::Request& next = w.next;
  const std::string& id = next.request_id();
  CONCORD_RETURN_IF_ERROR(CheckRequestId(id));
  const int64_t expected = w.previous ? w.previous->version() : 0;
  if (next.version() != expected + 1 || (w.previous && w.previous->request_id() != id)) {
    return absl::InvalidArgumentError("liaison store: inconsistent write (id or version)");
  }
  const std::string issuer = w.issuer_index.empty() ? AgencyKeyOf(next.issuer()) : w.issuer_index;
  const std::string executor =
      w.executor_index.empty() ? AgencyKeyOf(next.executor()) : w.executor_index;
  if (issuer.empty() || executor.empty()) {
    return absl::InvalidArgumentError("liaison store: request without its parties");
  }
  const std::string type = TypeLabel(next.type());
  std::vector<std::string> fire, due;
  std::set<std::string> due_seen;
  for (const PlannedFiring& f : w.firings) {
    const std::string clock(ClockKindName(f.clock));
    fire.push_back(absl::StrCat(Ms(f.at)));
    fire.push_back(
        absl::StrCat(std::string(id), "|", clock, "|", f.stage, "|", Ms(f.due), "|", type));
    if (due_seen.insert(clock).second) {
      due.push_back(absl::StrCat(Ms(f.due)));
      due.push_back(absl::StrCat(std::string(id), "|", clock, "|", type));
    }
  }
  std::string entry;
  std::string bytes;
  if (!w.entry.SerializeToString(&entry) || !next.SerializeToString(&bytes)) {
    return absl::InternalError("liaison store: cannot serialize");
  }
  std::vector<std::string> args = {w.previous ? "update" : "create",
                                   absl::StrCat(expected),
                                   absl::StrCat(next.version()),
                                   bytes,
                                   entry,
                                   absl::StrCat(Ms(FromProtoTime(next.updated_at()))),
                                   CountField(next),
                                   absl::StrCat(fire.size() / 2),
                                   absl::StrCat(due.size() / 2),
                                   absl::StrCat(w.notes.size()),
                                   std::string(kOutboxGroup),
                                   std::string(id)};
  args.insert(args.end(), fire.begin(), fire.end());
  args.insert(args.end(), due.begin(), due.end());
  for (const ChangeNote& n : w.notes) {
    args.push_back(n.id);
    args.push_back(absl::StrJoin(n.recipients, " "));
    args.push_back(n.body);
  }
  std::vector<std::string> keys = {ReqKey(id), HistKey(id), CountsKey(),      FireKey(),
                                   DueKey(),   OutboxKey(), PartyKey(issuer), PartyKey(executor)};
  quota::AppendTrailingCharges(kTag, w.charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(ApplyScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, w.charges)) return *refused;
  if (r.elements.empty()) return Malformed("apply");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "ok") return absl::OkStatus();
  if (outcome == "exists")
    return absl::AlreadyExistsError(absl::StrCat("request ", std::string(id), " exists"));
  if (outcome == "missing")
    return absl::NotFoundError(absl::StrCat("no request ", std::string(id)));
  if (outcome == "stale" && r.elements.size() > 1) {
    return absl::AbortedError(absl::StrCat("request ", std::string(id), " is at version ",
                                           r.elements[1].str, ", not ", expected));
  }
  return Malformed("apply");
}

StatusOr<RequestPage> RedisLiaisonStore::ListForAgency(const std::string& agency_key,
                                                       v1::RequestType type, v1::RequestState state,
                                                       int page_size, std::string_view page_token) {
  if (page_size <= 0) page_size = kDefaultPageSize;
  page_size = std::min(page_size, kMaxPageSize);
  int64_t offset = 0;
  if (!page_token.empty() && (!ParseInt(page_token, offset) || offset < 0)) {
    return InvalidArgumentWithFields("invalid page token",
                                     {{"page.page_token", "not a token issued by this service"}});
  }
  RequestPage page;
  int scanned = 0;
  while (static_cast<int>(page.requests.size()) < page_size && scanned < kMaxScanPerPage) {
    const int batch = std::min(100, kMaxScanPerPage - scanned);
    CONCORD_ASSIGN_OR_RETURN(
        redis::Reply ids, redis_.Command({"ZREVRANGE", PartyKey(agency_key), absl::StrCat(offset),
                                          absl::StrCat(offset + batch - 1)}));
    if (ids.elements.empty()) return page;
    std::vector<std::vector<std::string>> cmds;
    for (const redis::Reply& id : ids.elements) cmds.push_back({"HGET", ReqKey(id.str), "r"});
    CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> got, redis_.Pipeline(cmds));
    for (size_t i = 0; i < got.size(); ++i) {
      ++offset;
      ++scanned;
      if (got[i].is_nil() || got[i].is_error()) continue;
      CONCORD_ASSIGN_OR_RETURN(v1::Request r, ParseRequest(got[i].str));
      if (type != v1::REQUEST_TYPE_UNSPECIFIED && r.type() != type) continue;
      if (state != v1::REQUEST_STATE_UNSPECIFIED && r.state() != state) continue;
      page.requests.push_back(std::move(r));
      if (static_cast<int>(page.requests.size()) == page_size) break;
    }
    if (static_cast<int>(ids.elements.size()) < batch) {
      if (static_cast<int>(page.requests.size()) < page_size) return page;
    }
  }
  page.next_page_token = absl::StrCat(offset);
  return page;
}

StatusOr<std::map<std::string, int64_t>> RedisLiaisonStore::CountByTypeState() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGETALL", CountsKey()}));
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    int64_t n = 0;
    if (ParseInt(r.elements[i + 1].str, n) && n > 0) out[r.elements[i].str] = n;
  }
  return out;
}

StatusOr<std::map<std::string, int64_t>> RedisLiaisonStore::CountDueBetween(absl::Time from,
                                                                            absl::Time to) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Command({"ZRANGEBYSCORE", DueKey(),
                      from == absl::InfinitePast() ? "-inf" : absl::StrCat(Ms(from)),
                      absl::StrCat("(", Ms(to)), "LIMIT", "0", absl::StrCat(kMaxCountScan)}));
  std::map<std::string, int64_t> out;
  for (const redis::Reply& m : r.elements) {
    const size_t bar = m.str.rfind('|');
    if (bar != std::string::npos) ++out[m.str.substr(bar + 1)];
  }
  return out;
}

StatusOr<std::vector<ClaimedFiring>> RedisLiaisonStore::FireDue(absl::Time now, int max) {
  if (max < 1) return std::vector<ClaimedFiring>{};
  max = std::min(max, kMaxFirePerCall);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(FireScript(), {FireKey(), OutboxKey()},
                                                       {absl::StrCat(Ms(now)), absl::StrCat(max),
                                                        std::string(kOutboxGroup)}));
  std::vector<ClaimedFiring> out;
  for (const redis::Reply& m : r.elements) {
    std::vector<std::string> parts = absl::StrSplit(m.str, '|');
    if (parts.size() != 5) return Malformed("fire");
    out.push_back({parts[0], ClockKindFromName(parts[1]), parts[2], parts[4]});
  }
  return out;
}

RedisLiaisonStore::RedisLiaisonStore(redis::RedisClient& redis)
    : redis_(redis), outbox_reader_(redis, OutboxKey(), std::string(kOutboxGroup)) {}

StatusOr<std::vector<OutboxItem>> RedisLiaisonStore::ReadOutbox(std::string_view consumer, int max,
                                                                absl::Duration claim_after) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> entries,
                           outbox_reader_.Read(consumer, max, claim_after));
  std::vector<OutboxItem> out;
  for (const redis::Reply& e : entries) {
    if (std::optional<OutboxItem> item = ParseOutboxEntry(e)) out.push_back(std::move(*item));
  }
  return out;
}

Status RedisLiaisonStore::AckOutbox(const std::vector<std::string>& stream_ids) {
  return outbox_reader_.AckAndDelete(stream_ids);
}

StatusOr<int64_t> RedisLiaisonStore::OutboxPending() { return outbox_reader_.Length(); }

StatusOr<std::string> RedisLiaisonStore::ClaimCrossing(std::string_view key,
                                                       std::string_view proposed_id) {
  CONCORD_RETURN_IF_ERROR(CheckRequestId(proposed_id));
  if (key.empty() || key.size() > 400 || key.find(' ') != std::string_view::npos) {
    return absl::InvalidArgumentError("liaison store: malformed crossing key");
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Eval(ClaimCrossingScript(), {CrossingsKey()},
                                       {std::string(key), std::string(proposed_id)}));
  if (r.str.empty()) return Malformed("claim crossing");
  return r.str;
}

StatusOr<std::optional<std::string>> RedisLiaisonStore::FindCrossing(std::string_view key) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HGET", CrossingsKey(), std::string(key)}));
  if (r.type == redis::Reply::Type::kNil || r.str.empty()) return std::optional<std::string>();
  return std::optional<std::string>(r.str);
}

Status RedisLiaisonStore::Link(const std::string& police_key, const v1::NotificationLink& link) {
  if (!IsReference(link.case_reference()) || !IsMessageId(link.message_id())) {
    return absl::InvalidArgumentError("liaison store: malformed link");
  }
  std::string bytes;
  if (!link.SerializeToString(&bytes)) return absl::InternalError("cannot serialize link");
  return redis_
      .Command({"HSET", DsaKey(police_key, link.case_reference()), link.message_id(), bytes})
      .status();
}

StatusOr<std::vector<v1::NotificationLink>> RedisLiaisonStore::Links(
    const std::string& police_key, std::string_view case_reference) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HVALS", DsaKey(police_key, case_reference)}));
  std::vector<v1::NotificationLink> out;
  for (const redis::Reply& e : r.elements) {
    v1::NotificationLink l;
    if (!l.ParseFromString(e.str)) return absl::DataLossError("liaison store: corrupt link");
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.linked_at().seconds() < b.linked_at().seconds();
  });
  return out;
}

StatusOr<v1::Jit> RedisLiaisonStore::GetJit(std::string_view jit_id) {
  CONCORD_RETURN_IF_ERROR(CheckJitId(jit_id));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGET", JitKey(jit_id), "j"}));
  if (r.is_nil()) return absl::NotFoundError(absl::StrCat("no team ", std::string(jit_id)));
  v1::Jit jit;
  if (!jit.ParseFromString(r.str)) return absl::DataLossError("liaison store: corrupt team");
  return jit;
}

StatusOr<int64_t> RedisLiaisonStore::ApplyJit(const JitWrite& w) {
  const std::string& id = w.next.jit_id();
  CONCORD_RETURN_IF_ERROR(CheckJitId(id));
  const int64_t expected = w.previous ? w.previous->version() : 0;
  if (w.next.version() != expected + 1) {
    return absl::InvalidArgumentError("liaison store: inconsistent team version");
  }
  std::string bytes;
  if (!w.next.SerializeToString(&bytes)) return absl::InternalError("cannot serialize team");
  std::vector<std::string> args = {
      w.previous ? "update" : "create", absl::StrCat(expected),
      absl::StrCat(w.next.version()),   bytes,
      absl::StrCat(w.add_keys.size()),  absl::StrCat(w.remove_keys.size()),
      absl::StrCat(w.entries.size())};
  args.insert(args.end(), w.add_keys.begin(), w.add_keys.end());
  args.insert(args.end(), w.remove_keys.begin(), w.remove_keys.end());
  for (const v1::JitEntry& e : w.entries) {
    std::string entry;
    if (!e.SerializeToString(&entry)) return absl::InternalError("cannot serialize entry");
    args.push_back(std::move(entry));
  }
  std::vector<std::string> keys = {JitKey(id), JitMembersKey(id), JitLogKey(id)};
  quota::AppendTrailingCharges(kTag, w.charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(JitScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, w.charges)) return *refused;
  if (r.elements.empty()) return Malformed("team");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "ok" && r.elements.size() > 1) return r.elements[1].integer;
  if (outcome == "exists")
    return absl::AlreadyExistsError(absl::StrCat("team ", std::string(id), " exists"));
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("no team ", std::string(id)));
  if (outcome == "stale" && r.elements.size() > 1) {
    return absl::AbortedError(absl::StrCat("team ", std::string(id), " is at version ",
                                           r.elements[1].str, ", not ", expected));
  }
  return Malformed("team");
}

StatusOr<int64_t> RedisLiaisonStore::AppendJitEntry(std::string_view jit_id,
                                                    const std::string& actor_key,
                                                    const std::vector<std::string>& recipient_keys,
                                                    const v1::JitEntry& entry,
                                                    const std::vector<quota::Charge>& charges) {
  CONCORD_RETURN_IF_ERROR(CheckJitId(jit_id));
  std::string bytes;
  if (!entry.SerializeToString(&bytes)) return absl::InternalError("cannot serialize entry");
  std::vector<std::string> args = {actor_key, bytes};
  args.insert(args.end(), recipient_keys.begin(), recipient_keys.end());
  std::vector<std::string> keys = {JitKey(jit_id), JitMembersKey(jit_id), JitLogKey(jit_id)};
  quota::AppendTrailingCharges(kTag, charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(ShareScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, charges)) return *refused;
  if (r.elements.empty()) return Malformed("share");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "ok" && r.elements.size() > 1) return r.elements[1].integer;
  if (outcome == "missing")
    return absl::NotFoundError(absl::StrCat("no team ", std::string(jit_id)));
  if (outcome == "not_member") {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat(actor_key, " is not a member of ", std::string(jit_id))),
                      "NOT_A_JIT_MEMBER");
  }
  if (outcome == "recipient" && r.elements.size() > 1) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("recipients[", r.elements[1].integer,
                                       "] is not a current member of ", std::string(jit_id))),
                      "RECIPIENT_NOT_A_MEMBER");
  }
  return Malformed("share");
}

StatusOr<std::vector<v1::JitEntry>> RedisLiaisonStore::JitEntries(std::string_view jit_id,
                                                                  int64_t after_seq, int max) {
  CONCORD_RETURN_IF_ERROR(CheckJitId(jit_id));
  if (max < 1) return std::vector<v1::JitEntry>{};
  after_seq = std::max<int64_t>(after_seq, 0);
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Command({"LRANGE", JitLogKey(std::string(jit_id)),
                                      absl::StrCat(after_seq), absl::StrCat(after_seq + max - 1)}));
  std::vector<v1::JitEntry> out;
  int64_t seq = after_seq;
  for (const redis::Reply& e : r.elements) {
    v1::JitEntry entry;
    if (!entry.ParseFromString(e.str)) return absl::DataLossError("liaison store: corrupt entry");
    entry.set_seq(++seq);
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<bool> RedisLiaisonStore::IsJitMember(std::string_view jit_id,
                                              const std::string& agency_key) {
  CONCORD_RETURN_IF_ERROR(CheckJitId(jit_id));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"SISMEMBER", JitMembersKey(jit_id), agency_key}));
  return r.integer == 1;
}

}  // namespace concord::liaison
