// RedisReferralStore: the referrals keyspace, all under the one hash tag {ref} (one Cluster slot,
// so every script may touch every key it declares).
//
//   concord:{ref}:case:<case_id>        HASH  c  = serialized v1::Case
//                                             v  = version
//                                             s  = state (enum number)
//                                             p  = agency keys that may see the case (the
//                                                  referrer alone while a draft, then every
//                                                  party), sorted, space-separated
//                                             l  = centre key counted in the load ("" = none)
//                                             u  = updated_at (unix ms; the party index score)
//                                             sv = latest sealed record version
//                                             due = earliest due time of a running deadline (ms)
//   concord:{ref}:history:<case_id>     LIST  serialized v1::HistoryEntry, oldest first
//   concord:{ref}:sealed:<case_id>      HASH  <version> -> serialized v1::SealedRecord (ciphertext
//                                             and wrapped keys only; every version is kept);
//                                             identity:<case version> -> a document request's
//                                             sealed identity fields; guardian:<case version> ->
//                                             the sealed guardian (same shape, never plaintext)
//   concord:{ref}:deadlines:<case_id>   HASH  <kind name> -> "<due ms> <fire member> ..." (the
//                                             running deadlines of the case and their fire entries)
//   concord:{ref}:party:<agency_key>    ZSET  case ids the agency may see (Viewers: a draft only
//                                             its referrer's), by updated_at ms
//   concord:{ref}:party:<agency_key>:s:<state>  ZSET  the same, restricted to one state
//   concord:{ref}:drafts:<agency_key>   ZSET  the agency's drafts (cases in DETECTED it refers), by
//                                             updated_at ms: the drafts cap (drafts stored before
//                                             the cap existed join it at their next save)
//   concord:{ref}:quota:draft:<agency_key> HASH token bucket {t, ts} of draft saves
//                                             (common/quota/token_bucket.h)
//   concord:{ref}:counts                HASH  <state number> -> cases in that state
//   concord:{ref}:load                  HASH  <centre agency key> -> cases in OccupiesCentre states
//   concord:{ref}:fire                  ZSET  "<case_id>|<kind>|<stage>|<due ms>" by fire time (ms)
//   concord:{ref}:due                   ZSET  "<case_id>|<kind>" by due time (ms): the overdue
//   gauge concord:{ref}:outbox                STREAM {type: transition, id, case, rcpt, body} |
//                                             {type: deadline, id, case, kind, stage, due};
//                                             consumer group "notifier"; acked entries are deleted
// <agency_key> is AgencyId::Key() ("<type>/<id>"); <kind> is DeadlineKindName(); <stage> is
// "reminder", "due", "overdue" or "expired". Case ids are restricted to [A-Za-z0-9_-] so members
// can be split on '|' and lists on ' '.
//
// Atomicity: Apply and FireDue are one Lua script each. A Lua script is not rolled back when a
// command fails half-way, so the Apply script checks everything (existence, version, stored
// parties and state, sealed version) before its first write, and the C++ side validates the
// write's own consistency before sending it. Exactly-once firing: FireDue removes the fire
// entries it claims and appends their outbox items in the same script, so concurrent callers on
// several replicas never claim the same entry twice.
#include "services/referrals/redis_referral_store.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto/encoding.h"
#include "common/identity/agency_id.h"
#include "common/quota/refusal.h"
#include "common/status/status_macros.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {
namespace {

constexpr std::string_view kTag = "ref";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// ListForAgency examines at most this many index entries per call (filters may match few).
constexpr size_t kMaxScanPerPage = 2000;
constexpr int kMaxFirePerCall = 10000;

std::string CaseKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("case:", std::string(id)));
}
std::string HistoryKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("history:", std::string(id)));
}
std::string SealedKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("sealed:", std::string(id)));
}
std::string DeadlinesKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("deadlines:", std::string(id)));
}
std::string PartyKey(std::string_view agency_key) {
  return redis::Key(kTag, absl::StrCat("party:", std::string(agency_key)));
}
std::string PartyStateKey(std::string_view agency_key, v1::CaseState state) {
  return redis::Key(
      kTag, absl::StrCat("party:", std::string(agency_key), ":s:", static_cast<int>(state)));
}
std::string DraftsKey(std::string_view agency_key) {
  return redis::Key(kTag, absl::StrCat("drafts:", std::string(agency_key)));
}
std::string CountsKey() { return redis::Key(kTag, "counts"); }
std::string LoadKey() { return redis::Key(kTag, "load"); }
std::string FireKey() { return redis::Key(kTag, "fire"); }
std::string DueKey() { return redis::Key(kTag, "due"); }
std::string OutboxKey() { return redis::Key(kTag, "outbox"); }

std::string IdentityField(int64_t version) { return absl::StrCat("identity:", version); }
std::string GuardianField(int64_t version) { return absl::StrCat("guardian:", version); }

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

int64_t TimestampMs(const google::protobuf::Timestamp& ts) { return Ms(FromProtoTime(ts)); }

// Apply. KEYS: case, history, sealed, deadlines, counts, load, fire, due, outbox,
//              party zsets to remove the case from x nrem, party zsets to add it to x nadd,
//              the referring agency's drafts zset, quota buckets x nq.
// ARGV (fixed): 1 case_id, 2 mode ("create" | "update"), 3 expected version, 4 next version,
//   5 case bytes, 6 history entry bytes, 7 updated_at ms, 8 previous parties, 9 previous state,
//   10 next parties, 11 next state, 12 next load centre ("" = none), 13 sealed version ("0" =
//   none), 14 sealed bytes, 15 group, 16 nrem, 17 nadd, 18 nclear, 19 nstart, 20 nnotify,
//   21 previous parties as indexed before drafts became private (every party; accepted too),
//   22 drafts cap ("0" = none; checked on create), 23 nq, 24 nboxes (identity / guardian
//   boxes), 25.. bucket args (3 x nq).
// "parties" are the viewers (Viewers(c)): a draft is indexed for its referrer only.
// ARGV (variable, from 25 + 3 nq): (field, box bytes) x nboxes; kind names to clear x nclear;
//   per started deadline: kind, due ms, nfire, (fire ms, member) x nfire;
//   per notification: id, recipients (space-separated), body.
// Returns {'ok'} | {'exists'} | {'missing'} | {'stale', version} | {'mismatch', version} |
//         {'sealed_exists'} | {'drafts', cap} | {'quota', i, ms}.
const redis::Script& ApplyScript() {
  static const redis::Script* script = new redis::Script(std::string(quota::kTokenBucketLua) +
                                                         R"lua(
local case_id, mode = ARGV[1], ARGV[2]
local nrem, nadd = tonumber(ARGV[16]), tonumber(ARGV[17])
local nclear, nstart, nnotify = tonumber(ARGV[18]), tonumber(ARGV[19]), tonumber(ARGV[20])
-- 1. Checks: nothing is written before all of them passed.
local stored = redis.call('HMGET', KEYS[1], 'v', 'p', 's', 'l')
if mode == 'create' then
  if stored[1] then return {'exists'} end
else
  if not stored[1] then return {'missing'} end
  if stored[1] ~= ARGV[3] then return {'stale', stored[1]} end
  if (stored[2] ~= ARGV[8] and stored[2] ~= ARGV[21]) or stored[3] ~= ARGV[9] then
    return {'mismatch', stored[1]}
  end
end
if ARGV[13] ~= '0' and redis.call('HEXISTS', KEYS[3], ARGV[13]) == 1 then
  return {'sealed_exists'}
end
local drafts_key, nq, cap = KEYS[10 + nrem + nadd], tonumber(ARGV[23]), tonumber(ARGV[22])
local nboxes = tonumber(ARGV[24])
local boxes = 25 + 3 * nq
for i = 0, nboxes - 1 do
  if redis.call('HEXISTS', KEYS[3], ARGV[boxes + 2 * i]) == 1 then return {'sealed_exists'} end
end
if mode == 'create' and ARGV[11] == '1' and cap > 0 and
   redis.call('ZCARD', drafts_key) >= cap then
  return {'drafts', cap}
end
if nq > 0 then
  local refused = concord_charge(concord_charges(11 + nrem + nadd, 25, nq))
  if refused ~= 0 then return {'quota', refused[1], refused[2]} end
end
-- 2. The case and its history.
redis.call('HSET', KEYS[1], 'c', ARGV[5], 'v', ARGV[4], 's', ARGV[11], 'p', ARGV[10],
           'l', ARGV[12], 'u', ARGV[7])
redis.call('RPUSH', KEYS[2], ARGV[6])
-- 3. Counts per state and centre load.
if mode == 'update' then
  if redis.call('HINCRBY', KEYS[5], ARGV[9], -1) <= 0 then redis.call('HDEL', KEYS[5], ARGV[9]) end
  if stored[4] and stored[4] ~= '' then
    if redis.call('HINCRBY', KEYS[6], stored[4], -1) <= 0 then redis.call('HDEL', KEYS[6], stored[4]) end
  end
end
redis.call('HINCRBY', KEYS[5], ARGV[11], 1)
if ARGV[12] ~= '' then redis.call('HINCRBY', KEYS[6], ARGV[12], 1) end
-- 4. Party indexes: removals first, so a party that stays is re-added with the new score.
for i = 1, nrem do redis.call('ZREM', KEYS[10 + i - 1], case_id) end
for i = 1, nadd do redis.call('ZADD', KEYS[10 + nrem + i - 1], ARGV[7], case_id) end
if ARGV[11] == '1' then
  redis.call('ZADD', drafts_key, ARGV[7], case_id)
else
  redis.call('ZREM', drafts_key, case_id)
end
-- 5. Deadlines: clear the ended and the replaced ones, then start the new ones.
local a = boxes + 2 * nboxes
for i = 1, nclear do
  local kind = ARGV[a]
  a = a + 1
  local running = redis.call('HGET', KEYS[4], kind)
  if running then
    local first = true
    for word in string.gmatch(running, '%S+') do
      if not first then redis.call('ZREM', KEYS[7], word) end
      first = false
    end
    redis.call('HDEL', KEYS[4], kind)
  end
  redis.call('ZREM', KEYS[8], case_id .. '|' .. kind)
end
for i = 1, nstart do
  local kind, due, nfire = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  local parts = {due}
  for j = 1, nfire do
    redis.call('ZADD', KEYS[7], ARGV[a], ARGV[a + 1])
    parts[#parts + 1] = ARGV[a + 1]
    a = a + 2
  end
  redis.call('HSET', KEYS[4], kind, table.concat(parts, ' '))
  redis.call('ZADD', KEYS[8], due, case_id .. '|' .. kind)
end
local earliest, earliest_text = nil, nil
for _, running in ipairs(redis.call('HVALS', KEYS[4])) do
  local text = string.match(running, '^(%S+)')
  local due = tonumber(text)
  if due and (not earliest or due < earliest) then earliest, earliest_text = due, text end
end
if earliest then
  redis.call('HSET', KEYS[1], 'due', earliest_text)
else
  redis.call('HDEL', KEYS[1], 'due')
end
-- 6. Sealed record version, and the other boxes.
for i = 0, nboxes - 1 do
  redis.call('HSET', KEYS[3], ARGV[boxes + 2 * i], ARGV[boxes + 2 * i + 1])
end
if ARGV[13] ~= '0' then
  redis.call('HSET', KEYS[3], ARGV[13], ARGV[14])
  local latest = tonumber(redis.call('HGET', KEYS[1], 'sv') or '0')
  if tonumber(ARGV[13]) > latest then redis.call('HSET', KEYS[1], 'sv', ARGV[13]) end
end
-- 7. Outbox.
if nnotify > 0 and redis.call('EXISTS', KEYS[9]) == 0 then
  redis.pcall('XGROUP', 'CREATE', KEYS[9], ARGV[15], '0', 'MKSTREAM')
end
for i = 1, nnotify do
  redis.call('XADD', KEYS[9], '*', 'type', 'transition', 'id', ARGV[a], 'case', case_id,
             'rcpt', ARGV[a + 1], 'body', ARGV[a + 2])
  a = a + 3
end
return {'ok'}
)lua");
  return *script;
}

// FireDue. KEYS: fire, outbox. ARGV: now ms, max, group.
// Returns {member, fire score, ...} of the claimed entries.
const redis::Script& FireScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
                       tonumber(ARGV[2]))
if #due == 0 then return {} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[3], '0', 'MKSTREAM')
end
local out = {}
for i = 1, #due, 2 do
  local member = due[i]
  redis.call('ZREM', KEYS[1], member)
  local case_id, kind, stage, due_ms = string.match(member, '^([^|]+)|([^|]+)|([^|]+)|([^|]+)$')
  if case_id then
    redis.call('XADD', KEYS[2], '*', 'type', 'deadline',
               'id', case_id .. '-' .. kind .. '-' .. stage .. '-' .. due_ms, 'case', case_id,
               'kind', kind, 'stage', stage, 'due', due_ms)
    out[#out + 1] = member
    out[#out + 1] = due[i + 1]
  end
end
return out
)lua");
  return *script;
}

// GetSealed. KEYS: case, sealed. ARGV: version ("0" = latest). Returns the record or nil.
const redis::Script& SealedScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local v = ARGV[1]
if v == '0' then
  v = redis.call('HGET', KEYS[1], 'sv')
  if not v then return false end
end
return redis.call('HGET', KEYS[2], v)
)lua");
  return *script;
}

Status Malformed(std::string_view what) {
  return absl::InternalError(
      absl::StrCat("referral store: unexpected reply to ", std::string(what)));
}

bool IsValidCaseId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

Status CheckCaseId(std::string_view id) {
  if (IsValidCaseId(id)) return absl::OkStatus();
  return InvalidArgumentWithFields("invalid case id", {{"case_id", "malformed"}});
}

// An agency key usable as a key suffix and a space-separated list element.
bool IsValidAgencyKey(std::string_view key) {
  if (key.empty() || key.size() > 200) return false;
  return std::none_of(key.begin(), key.end(), [](char c) {
    return c == ' ' || c == '|' || c == '{' || c == '}' || static_cast<unsigned char>(c) < 0x21;
  });
}

// The agency key of a proto AgencyId; nullopt when it is not set.
StatusOr<std::optional<std::string>> ProtoAgencyKey(const concord::common::v1::AgencyId& id) {
  if (id.id().empty()) {
    return std::optional<std::string>();
  }
  CONCORD_ASSIGN_OR_RETURN(AgencyType type, AgencyTypeFromProto(id.type()));
  return std::optional<std::string>(absl::StrCat(std::string(AgencyTypeName(type)), "/", id.id()));
}

// Sorted, de-duplicated agency keys of `agencies`.
std::vector<std::string> SortedKeys(const std::vector<AgencyId>& agencies) {
  std::set<std::string> keys;
  for (const AgencyId& a : agencies) keys.insert(a.Key());
  return {keys.begin(), keys.end()};
}

// The agencies whose index lists the case: those that may see it (a draft: its referrer only).
std::vector<std::string> ViewerKeys(const v1::Case& c) { return SortedKeys(Viewers(c)); }

// The centre whose load the case counts toward ("" = none).
StatusOr<std::string> LoadCentre(const v1::Case& c) {
  if (!OccupiesCentre(c.state())) return std::string();
  CONCORD_ASSIGN_OR_RETURN(std::optional<std::string> key, ProtoAgencyKey(c.receiving_centre()));
  return key.value_or("");
}

std::optional<v1::DeadlineKind> ParseKindName(std::string_view name) {
  for (int k = v1::DeadlineKind_MIN; k <= v1::DeadlineKind_MAX; ++k) {
    if (!v1::DeadlineKind_IsValid(k) || k == v1::DEADLINE_KIND_UNSPECIFIED) continue;
    const auto kind = static_cast<v1::DeadlineKind>(k);
    if (DeadlineKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

std::string KindName(v1::DeadlineKind kind) { return std::string(DeadlineKindName(kind)); }

StatusOr<v1::Case> ParseCase(const std::string& bytes) {
  v1::Case c;
  if (!c.ParseFromString(bytes)) return absl::DataLossError("referral store: corrupt case");
  return c;
}

bool ParseInt(std::string_view s, int64_t& out) {
  return absl::SimpleAtoi(absl::string_view(s.data(), s.size()), &out);
}

// Redis formats integral scores of up to 17 digits as integers; be lenient anyway.
bool ParseScoreMs(std::string_view s, int64_t& out) {
  if (ParseInt(s, out)) return true;
  double d = 0;
  if (!absl::SimpleAtod(absl::string_view(s.data(), s.size()), &d) || !std::isfinite(d)) {
    return false;
  }
  out = std::llround(d);
  return true;
}

// Paging token: Base64("<updated ms>|<case id>") of the last case examined.
std::string EncodePageToken(int64_t score, std::string_view case_id) {
  return crypto::Base64Encode(absl::StrCat(score, "|", std::string(case_id)));
}

Status BadPageToken(std::string_view why) {
  return InvalidArgumentWithFields("invalid page token", {{"page.page_token", std::string(why)}});
}

StatusOr<std::pair<int64_t, std::string>> DecodePageToken(std::string_view token) {
  auto raw = crypto::Base64Decode(token);
  if (!raw.ok()) return BadPageToken("not a token issued by this service (not base64)");
  const size_t bar = raw->find('|');
  if (bar == std::string::npos) return BadPageToken("not a token issued by this service");
  int64_t score = 0;
  if (!ParseInt(std::string_view(*raw).substr(0, bar), score) || score < 0) {
    return BadPageToken("not a token issued by this service (position)");
  }
  std::string case_id = raw->substr(bar + 1);
  if (!IsValidCaseId(case_id)) {
    return BadPageToken("not a token issued by this service (case)");
  }
  return std::make_pair(score, std::move(case_id));
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
    } else if (name == "case") {
      item.case_id = value;
    } else if (name == "rcpt") {
      item.recipients = absl::StrSplit(value, ' ', absl::SkipEmpty());
    } else if (name == "body") {
      item.body = value;
    } else if (name == "kind") {
      item.kind = ParseKindName(value).value_or(v1::DEADLINE_KIND_UNSPECIFIED);
    } else if (name == "stage") {
      item.stage = value;
    } else if (name == "due") {
      int64_t ms = 0;
      if (ParseInt(value, ms)) item.due = absl::FromUnixMillis(ms);
    }
  }
  return item;
}

// Everything Apply sends, derived and validated before any Redis call.
struct PreparedWrite {
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

StatusOr<PreparedWrite> Prepare(const CaseWrite& w) {
  const v1::Case& next = w.next;
  const std::string& id = next.case_id();
  CONCORD_RETURN_IF_ERROR(CheckCaseId(id));
  FieldErrors errors;
  if (w.previous && w.previous->case_id() != id) {
    errors.Add("previous.case_id", "differs from next.case_id");
  }
  const int64_t expected = w.previous ? w.previous->version() : 0;
  if (next.version() != expected + 1) {
    errors.Add("next.version", absl::StrCat("must be ", expected + 1));
  }
  if (w.entry.version() != next.version()) {
    errors.Add("entry.version", "must equal next.version");
  }
  if (!v1::CaseState_IsValid(next.state()) || next.state() == v1::CASE_STATE_UNSPECIFIED) {
    errors.Add("next.state", "unspecified");
  }
  if (w.sealed && w.sealed->version() < 1) errors.Add("sealed.version", "must be >= 1");
  if (w.sealed_identity && w.sealed_identity->version() != next.version()) {
    errors.Add("sealed_identity.version", "must equal next.version");
  }
  if (w.sealed_guardian && w.sealed_guardian->version() != next.version()) {
    errors.Add("sealed_guardian.version", "must equal next.version");
  }

  std::set<v1::DeadlineKind> started_kinds;
  for (size_t i = 0; i < w.deadlines_started.size(); ++i) {
    const DeadlineStart& d = w.deadlines_started[i];
    const std::string field = absl::StrCat("deadlines_started[", i, "]");
    if (!v1::DeadlineKind_IsValid(d.kind) || d.kind == v1::DEADLINE_KIND_UNSPECIFIED) {
      errors.Add(field + ".kind", "unspecified");
    } else if (!started_kinds.insert(d.kind).second) {
      errors.Add(field + ".kind", "started twice");
    }
    if (d.fire_at.empty()) errors.Add(field + ".fire_at", "empty");
    for (absl::Time t : d.fire_at) {
      if (t > d.due) errors.Add(field + ".fire_at", "after the due time");
    }
  }
  for (size_t i = 0; i < w.deadlines_ended.size(); ++i) {
    const v1::DeadlineKind k = w.deadlines_ended[i];
    if (!v1::DeadlineKind_IsValid(k) || k == v1::DEADLINE_KIND_UNSPECIFIED) {
      errors.Add(absl::StrCat("deadlines_ended[", i, "]"), "unspecified");
    }
  }
  for (size_t i = 0; i < w.notifications.size(); ++i) {
    const Notification& n = w.notifications[i];
    const std::string field = absl::StrCat("notifications[", i, "]");
    if (n.id.empty()) errors.Add(field + ".id", "empty");
    if (n.case_id != id) errors.Add(field + ".case_id", "differs from next.case_id");
    for (const std::string& r : n.recipients) {
      if (!IsValidAgencyKey(r)) errors.Add(field + ".recipients", "malformed agency key");
    }
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("inconsistent case write"));

  const std::vector<std::string> next_parties = ViewerKeys(next);
  std::vector<std::string> prev_parties, prev_legacy;
  if (w.previous) {
    prev_parties = ViewerKeys(*w.previous);
    // A draft stored before drafts became private was indexed for every party.
    prev_legacy = SortedKeys(Parties(*w.previous));
  }
  for (const std::string& p : next_parties) {
    if (!IsValidAgencyKey(p)) {
      return InvalidArgumentWithFields("inconsistent case write", {{"next", "malformed party"}});
    }
  }
  CONCORD_ASSIGN_OR_RETURN(const std::string load_centre, LoadCentre(next));

  PreparedWrite p;
  p.keys = {CaseKey(id), HistoryKey(id), SealedKey(id), DeadlinesKey(id), CountsKey(),
            LoadKey(),   FireKey(),      DueKey(),      OutboxKey()};
  std::vector<std::string> rem, add;
  if (w.previous) {
    // Removal of both forms (removing a member that is absent is harmless).
    std::set<std::string> previous(prev_parties.begin(), prev_parties.end());
    previous.insert(prev_legacy.begin(), prev_legacy.end());
    for (const std::string& a : previous) {
      rem.push_back(PartyKey(a));
      rem.push_back(PartyStateKey(a, w.previous->state()));
    }
  }
  for (const std::string& a : next_parties) {
    add.push_back(PartyKey(a));
    add.push_back(PartyStateKey(a, next.state()));
  }
  p.keys.insert(p.keys.end(), rem.begin(), rem.end());
  p.keys.insert(p.keys.end(), add.begin(), add.end());
  p.keys.push_back(DraftsKey(AgencyKeyOf(next.referring_agency())));
  for (const quota::Charge& c : w.charges) p.keys.push_back(quota::BucketKey(kTag, c));

  std::string case_bytes, entry_bytes, sealed_bytes;
  if (!next.SerializeToString(&case_bytes) || !w.entry.SerializeToString(&entry_bytes) ||
      (w.sealed && !w.sealed->SerializeToString(&sealed_bytes))) {
    return absl::InvalidArgumentError("case write does not serialize");
  }
  // Kinds whose running deadline is cleared: the ended ones and the replaced ones.
  std::set<v1::DeadlineKind> clear(w.deadlines_ended.begin(), w.deadlines_ended.end());
  clear.insert(started_kinds.begin(), started_kinds.end());

  const int64_t updated_ms =
      next.has_updated_at() ? TimestampMs(next.updated_at()) : TimestampMs(w.entry.at());
  p.args = {id,
            w.previous ? "update" : "create",
            absl::StrCat(expected),
            absl::StrCat(next.version()),
            std::move(case_bytes),
            std::move(entry_bytes),
            absl::StrCat(updated_ms),
            absl::StrJoin(prev_parties, " "),
            absl::StrCat(w.previous ? static_cast<int>(w.previous->state()) : 0),
            absl::StrJoin(next_parties, " "),
            absl::StrCat(static_cast<int>(next.state())),
            load_centre,
            absl::StrCat(w.sealed ? w.sealed->version() : 0),
            std::move(sealed_bytes),
            std::string(kOutboxGroup),
            absl::StrCat(rem.size()),
            absl::StrCat(add.size()),
            absl::StrCat(clear.size()),
            absl::StrCat(w.deadlines_started.size()),
            absl::StrCat(w.notifications.size()),
            absl::StrJoin(prev_legacy, " "),
            absl::StrCat(std::max(0, w.draft_cap)),
            absl::StrCat(w.charges.size())};
  std::vector<std::pair<std::string, const v1::SealedRecord*>> boxes;
  if (w.sealed_identity) boxes.emplace_back(IdentityField(next.version()), &*w.sealed_identity);
  if (w.sealed_guardian) boxes.emplace_back(GuardianField(next.version()), &*w.sealed_guardian);
  p.args.push_back(absl::StrCat(boxes.size()));
  for (const quota::Charge& c : w.charges) quota::AppendChargeArgs(c, p.args);
  for (const auto& [field, box] : boxes) {
    std::string bytes;
    if (!box->SerializeToString(&bytes))
      return absl::InvalidArgumentError("box does not serialize");
    p.args.push_back(field);
    p.args.push_back(std::move(bytes));
  }
  for (v1::DeadlineKind k : clear) p.args.push_back(KindName(k));
  for (const DeadlineStart& d : w.deadlines_started) {
    const std::string kind = KindName(d.kind);
    const int64_t due_ms = Ms(d.due);
    p.args.push_back(kind);
    p.args.push_back(absl::StrCat(due_ms));
    p.args.push_back(absl::StrCat(d.fire_at.size()));
    for (absl::Time t : d.fire_at) {
      const std::string stage(DeadlineStage(d.kind, t, d.due));
      p.args.push_back(absl::StrCat(Ms(t)));
      p.args.push_back(absl::StrCat(id, "|", kind, "|", stage, "|", due_ms));
    }
  }
  for (const Notification& n : w.notifications) {
    p.args.push_back(n.id);
    p.args.push_back(absl::StrJoin(n.recipients, " "));
    p.args.push_back(n.body);
  }
  return p;
}

}  // namespace

RedisReferralStore::RedisReferralStore(redis::RedisClient& redis)
    : redis_(redis), outbox_reader_(redis, OutboxKey(), std::string(kOutboxGroup)) {}

StatusOr<v1::Case> RedisReferralStore::Get(std::string_view case_id) {
  CONCORD_RETURN_IF_ERROR(CheckCaseId(case_id));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGET", CaseKey(case_id), "c"}));
  if (r.is_nil()) {
    return absl::NotFoundError(absl::StrCat("case ", std::string(case_id), " not found"));
  }
  return ParseCase(r.str);
}

Status RedisReferralStore::Apply(const CaseWrite& write) {
  CONCORD_ASSIGN_OR_RETURN(PreparedWrite p, Prepare(write));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(ApplyScript(), p.keys, p.args));
  if (r.elements.empty()) return Malformed("apply");
  const std::string& outcome = r.elements[0].str;
  const std::string& id = write.next.case_id();
  if (outcome == "ok") return absl::OkStatus();
  if (outcome == "exists") {
    return absl::AlreadyExistsError(absl::StrCat("case ", id, " already exists"));
  }
  if (outcome == "missing") return absl::NotFoundError(absl::StrCat("case ", id, " not found"));
  if (outcome == "drafts" && r.elements.size() == 2) {
    CONCORD_ASSIGN_OR_RETURN(const AgencyId referrer,
                             AgencyIdFromProto(write.next.referring_agency()));
    return quota::CapRefusal(referrer, quota::Cap::kDrafts, static_cast<int>(r.elements[1].integer),
                             absl::Minutes(1));
  }
  if (outcome == "quota" && r.elements.size() == 3) {
    const int64_t i = r.elements[1].integer;
    if (i < 1 || static_cast<size_t>(i) > write.charges.size()) return Malformed("apply");
    return quota::QuotaRefusal(write.charges[i - 1], absl::Milliseconds(r.elements[2].integer));
  }
  if (outcome == "sealed_exists") {
    return absl::AlreadyExistsError(absl::StrCat("sealed record version ", write.sealed->version(),
                                                 " of case ", id, " is already stored"));
  }
  const std::string at = r.elements.size() > 1 ? r.elements[1].str : "?";
  if (outcome == "stale") {
    return WithReason(absl::AbortedError(absl::StrCat("case ", id, " is at version ", at, ", not ",
                                                      write.previous->version())),
                      "STALE_VERSION", {{"current_version", at}});
  }
  if (outcome == "mismatch") {
    return WithReason(
        absl::AbortedError(absl::StrCat("case ", id, " at version ", at,
                                        " differs from the previous case given; read it again")),
        "STALE_VERSION", {{"current_version", at}});
  }
  return Malformed("apply");
}

StatusOr<v1::SealedRecord> RedisReferralStore::GetSealed(std::string_view case_id,
                                                         int64_t version) {
  CONCORD_RETURN_IF_ERROR(CheckCaseId(case_id));
  if (version < 0) {
    return InvalidArgumentWithFields("invalid sealed record version", {{"version", "negative"}});
  }
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Eval(SealedScript(), {CaseKey(case_id), SealedKey(case_id)}, {absl::StrCat(version)}));
  if (r.is_nil()) {
    return absl::NotFoundError(
        version == 0 ? absl::StrCat("case ", std::string(case_id), " has no sealed record")
                     : absl::StrCat("case ", std::string(case_id), " has no sealed record version ",
                                    version));
  }
  v1::SealedRecord record;
  if (!record.ParseFromString(r.str)) {
    return absl::DataLossError("referral store: corrupt sealed record");
  }
  return record;
}

StatusOr<v1::SealedRecord> RedisReferralStore::GetSealedBox(std::string_view case_id,
                                                            v1::SealedBox box, int64_t version) {
  if (box == v1::SEALED_BOX_UNSPECIFIED || box == v1::SEALED_BOX_RECORD) {
    return GetSealed(case_id, version);
  }
  CONCORD_RETURN_IF_ERROR(CheckCaseId(case_id));
  if (version < 1) {
    return InvalidArgumentWithFields("invalid sealed box version", {{"version", "must be >= 1"}});
  }
  const std::string field =
      box == v1::SEALED_BOX_GUARDIAN ? GuardianField(version) : IdentityField(version);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGET", SealedKey(case_id), field}));
  if (r.is_nil()) {
    return absl::NotFoundError(
        absl::StrCat("case ", std::string(case_id), " has no sealed ", field));
  }
  v1::SealedRecord record;
  if (!record.ParseFromString(r.str)) {
    return absl::DataLossError("referral store: corrupt sealed box");
  }
  return record;
}

StatusOr<std::vector<v1::HistoryEntry>> RedisReferralStore::History(std::string_view case_id) {
  CONCORD_RETURN_IF_ERROR(CheckCaseId(case_id));
  CONCORD_ASSIGN_OR_RETURN(
      std::vector<redis::Reply> r,
      redis_.Pipeline({{"EXISTS", CaseKey(case_id)}, {"LRANGE", HistoryKey(case_id), "0", "-1"}}));
  if (r.size() != 2 || r[0].is_error() || r[1].is_error()) return Malformed("history");
  if (r[0].integer == 0) {
    return absl::NotFoundError(absl::StrCat("case ", std::string(case_id), " not found"));
  }
  std::vector<v1::HistoryEntry> out;
  out.reserve(r[1].elements.size());
  for (const redis::Reply& e : r[1].elements) {
    v1::HistoryEntry entry;
    if (!entry.ParseFromString(e.str)) {
      return absl::DataLossError("referral store: corrupt history entry");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

StatusOr<CasePage> RedisReferralStore::ListForAgency(const std::string& agency_key,
                                                     v1::CaseState state, absl::Time due_before,
                                                     int page_size, std::string_view page_token) {
  if (!IsValidAgencyKey(agency_key)) {
    return InvalidArgumentWithFields("invalid agency", {{"agency", "malformed agency key"}});
  }
  if (!v1::CaseState_IsValid(state)) {
    return InvalidArgumentWithFields("invalid state", {{"state", "unknown state"}});
  }
  if (page_size < 0) {
    return InvalidArgumentWithFields("invalid page size", {{"page.page_size", "negative"}});
  }
  const size_t size =
      static_cast<size_t>(std::min(page_size == 0 ? kDefaultPageSize : page_size, kMaxPageSize));
  std::optional<std::pair<int64_t, std::string>> cursor;
  if (!page_token.empty()) {
    CONCORD_ASSIGN_OR_RETURN(cursor, DecodePageToken(page_token));
  }
  const bool filter_due = due_before != absl::InfiniteFuture();
  const int64_t due_before_ms = filter_due ? Ms(due_before) : 0;
  const std::string index =
      state == v1::CASE_STATE_UNSPECIFIED ? PartyKey(agency_key) : PartyStateKey(agency_key, state);
  const std::string max = cursor ? absl::StrCat(cursor->first) : "+inf";
  const size_t batch = std::max<size_t>(size, 64);

  CasePage page;
  size_t offset = 0;
  size_t scanned = 0;
  std::optional<std::pair<int64_t, std::string>> last;  // last entry examined
  while (scanned < kMaxScanPerPage) {
    CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                             redis_.Command({"ZREVRANGEBYSCORE", index, max, "-inf", "WITHSCORES",
                                             "LIMIT", absl::StrCat(offset), absl::StrCat(batch)}));
    const size_t n = r.elements.size() / 2;
    offset += n;
    scanned += n;
    std::vector<std::pair<int64_t, std::string>> candidates;
    for (size_t i = 0; i < n; ++i) {
      int64_t score = 0;
      if (!ParseScoreMs(r.elements[2 * i + 1].str, score)) return Malformed("list");
      std::string member = r.elements[2 * i].str;
      // Equal scores come in reverse lexicographic order: those >= the cursor were returned.
      if (cursor && score == cursor->first && member >= cursor->second) continue;
      candidates.emplace_back(score, std::move(member));
    }
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(candidates.size());
    for (const auto& c : candidates) cmds.push_back({"HMGET", CaseKey(c.second), "c", "due"});
    CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> cases, redis_.Pipeline(cmds));
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (page.cases.size() == size) {
        page.next_page_token = EncodePageToken(last->first, last->second);
        return page;
      }
      last = candidates[i];
      const redis::Reply& h = cases[i];
      if (h.is_error() || h.elements.size() != 2 || h.elements[0].is_nil()) continue;
      if (filter_due) {
        int64_t due = 0;
        if (h.elements[1].is_nil() || !ParseInt(h.elements[1].str, due) || due >= due_before_ms) {
          continue;
        }
      }
      CONCORD_ASSIGN_OR_RETURN(v1::Case c, ParseCase(h.elements[0].str));
      page.cases.push_back(std::move(c));
    }
    if (n < batch) return page;  // the index is exhausted
    if (page.cases.size() == size) {
      // Full exactly at the end of a batch: more may follow.
      page.next_page_token = EncodePageToken(last->first, last->second);
      return page;
    }
  }
  // Scan budget spent: resume after the last entry examined.
  if (last) page.next_page_token = EncodePageToken(last->first, last->second);
  return page;
}

StatusOr<std::map<std::string, int64_t>> RedisReferralStore::CentreLoad() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGETALL", LoadKey()}));
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    int64_t n = 0;
    if (!ParseInt(r.elements[i + 1].str, n)) return Malformed("centre load");
    if (n > 0) out[r.elements[i].str] = n;
  }
  return out;
}

StatusOr<std::map<v1::CaseState, int64_t>> RedisReferralStore::CountByState() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGETALL", CountsKey()}));
  std::map<v1::CaseState, int64_t> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    int64_t state = 0, n = 0;
    if (!ParseInt(r.elements[i].str, state) || !ParseInt(r.elements[i + 1].str, n) ||
        !v1::CaseState_IsValid(static_cast<int>(state))) {
      return Malformed("counts");
    }
    if (n > 0) out[static_cast<v1::CaseState>(state)] = n;
  }
  return out;
}

StatusOr<int64_t> RedisReferralStore::CountOverdue(absl::Time now) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Command({"ZCOUNT", DueKey(), "-inf", absl::StrCat("(", Ms(now))}));
  return r.integer;
}

StatusOr<int> RedisReferralStore::FireDue(absl::Time now, int max) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<Firing> firings, FireDueFirings(now, max));
  return static_cast<int>(firings.size());
}

StatusOr<std::vector<Firing>> RedisReferralStore::FireDueFirings(absl::Time now, int max) {
  if (max < 1) return std::vector<Firing>{};
  max = std::min(max, kMaxFirePerCall);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(FireScript(), {FireKey(), OutboxKey()},
                                                       {absl::StrCat(Ms(now)), absl::StrCat(max),
                                                        std::string(kOutboxGroup)}));
  std::vector<Firing> out;
  out.reserve(r.elements.size() / 2);
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    std::vector<std::string> parts = absl::StrSplit(r.elements[i].str, '|');
    int64_t due_ms = 0, fire_ms = 0;
    if (parts.size() != 4 || !ParseInt(parts[3], due_ms) ||
        !ParseScoreMs(r.elements[i + 1].str, fire_ms)) {
      return Malformed("fire");
    }
    Firing f;
    f.id = absl::StrCat(parts[0], "-", parts[1], "-", parts[2], "-", parts[3]);
    f.case_id = parts[0];
    f.kind = ParseKindName(parts[1]).value_or(v1::DEADLINE_KIND_UNSPECIFIED);
    f.stage = parts[2];
    f.due = absl::FromUnixMillis(due_ms);
    f.fire_at = absl::FromUnixMillis(fire_ms);
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<std::vector<OutboxItem>> RedisReferralStore::ReadOutbox(std::string_view consumer, int max,
                                                                 absl::Duration claim_after) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> entries,
                           outbox_reader_.Read(consumer, max, claim_after));
  std::vector<OutboxItem> out;
  for (const redis::Reply& e : entries) {
    if (std::optional<OutboxItem> item = ParseOutboxEntry(e)) out.push_back(std::move(*item));
  }
  return out;
}

Status RedisReferralStore::AckOutbox(const std::vector<std::string>& stream_ids) {
  return outbox_reader_.AckAndDelete(stream_ids);
}

StatusOr<int64_t> RedisReferralStore::OutboxPending() { return outbox_reader_.Length(); }

}  // namespace concord::referrals
