// File: services/guidelines/redis_guideline_store.cc
//
// RedisGuidelineStore: the guidelines keyspace, all under the one hash tag {gl} (one Cluster
// slot, so every script may touch every key it declares).
//
//   concord:{gl}:g:<gid>         HASH  owner   = SPIFFE id of the publisher of version 1
//                                      latest  = the highest version number
//                                      created = publication time of version 1 (unix ns)
//   concord:{gl}:guidelines      ZSET  every guideline id (score 0: lexicographic)
//   concord:{gl}:v:<gid>:<n>     HASH  c      = the canonical bytes of the version (what was
//                                               signed; docs/crypto.md "Guideline versions")
//                                      sig    = the publisher's Ed25519 signature (64 bytes)
//                                      sha    = SHA-256 of c (32 bytes), computed at publication
//                                      meta   = JSON summary of c for listing without decoding
//                                               {g, n, pub, eff, dl, topics, public, types,
//                                               agencies, titles} (times in unix ns)
//                                      pub_at = publication time (unix ns)
//                                      state  = "active" | "withdrawn"
//                                      wd, wd_sig, wd_at = the withdrawal's canonical bytes, its
//                                               signature, the time it was recorded
//                                      sup_by, sup_at = the version that superseded it and when
//                                      frozen_at, frozen_susp = when its compliance figures froze
//                                               (supersession or withdrawal) and the audience
//                                               agencies suspended then (space-separated keys)
//   concord:{gl}:aud:<gid>:<n>   SET   agency keys "<type>/<id>" of the audience frozen at
//                                      publication
//   concord:{gl}:ack:<gid>:<n>   HASH  agency key -> "<unix ns> <1|0>": its first acknowledgement
//                                      and whether it came before the freeze (1) or after (0)
//   concord:{gl}:versions        ZSET  "<gid>@<n>" of every version (score 0)
//   concord:{gl}:scheduled       ZSET  "<gid>@<n>" published but not yet effective, by
//                                      effective_at (unix ms)
//   concord:{gl}:feed            STREAM {k: "v" | "w", g: gid, n: version}: what took effect and
//                                      what was withdrawn, in order (XADD MAXLEN ~ 100000)
//   channel concord:{gl}:events  PUBLISH of the feed id after each append (wakes every replica's
//                                      distributor)
//   concord:{gl}:quota:<quota>:<type>/<id>  HASH token bucket {t, ts} of the publishing or
//                                      acknowledging agency (publish, ack; common/quota/
//                                      token_bucket.h), charged first by the Publish, Withdraw and
//                                      Acknowledge scripts: a refused call writes nothing
// Guideline ids are [a-z0-9][a-z0-9-]{2,63}, so "<gid>@<n>" splits on '@' and keys never
// collide. Nothing here is personal data: guidance texts, agency keys, hashes and times. The
// acting officer of an acknowledgement is kept in its (sealed) audit record, not here.
//
// Atomicity: every change is one Lua script that checks everything before its first write (a
// Lua script is not rolled back when a command fails half-way). Times are passed as decimal
// strings and never computed on in Lua (its numbers are doubles; unix ns exceed 2^53).
#include "services/guidelines/redis_guideline_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/quota/token_bucket.h"
#include "common/status/status_macros.h"

namespace concord::guidelines {
namespace {

constexpr std::string_view kTag = "gl";

std::string S(std::string_view v) { return std::string(v); }

std::string GuidelineKey(std::string_view gid) {
  return redis::Key(kTag, absl::StrCat("g:", S(gid)));
}
std::string VersionKey(std::string_view gid, int64_t n) {
  return redis::Key(kTag, absl::StrCat("v:", S(gid), ":", n));
}
std::string AudienceKey(std::string_view gid, int64_t n) {
  return redis::Key(kTag, absl::StrCat("aud:", S(gid), ":", n));
}
std::string AckKey(std::string_view gid, int64_t n) {
  return redis::Key(kTag, absl::StrCat("ack:", S(gid), ":", n));
}
std::string GuidelinesKey() { return redis::Key(kTag, "guidelines"); }
std::string VersionsKey() { return redis::Key(kTag, "versions"); }
std::string ScheduledKey() { return redis::Key(kTag, "scheduled"); }
std::string FeedKey() { return redis::Key(kTag, "feed"); }
std::string Member(std::string_view gid, int64_t n) { return absl::StrCat(S(gid), "@", n); }

std::string Ns(absl::Time t) { return std::to_string(absl::ToUnixNanos(t)); }

absl::Time FromNs(std::string_view s) {
  int64_t ns = 0;
  if (!absl::SimpleAtoi(S(s), &ns)) return absl::UnixEpoch();
  return absl::FromUnixNanos(ns);
}

int64_t Int(std::string_view s) {
  int64_t v = 0;
  return absl::SimpleAtoi(S(s), &v) ? v : 0;
}

// Fields of a version hash read for its summary, in this order.
const std::vector<std::string>& MetaFields() {
  static const auto* fields =
      new std::vector<std::string>{"meta", "sha", "pub_at", "state", "wd_at", "sup_by", "sup_at"};
  return *fields;
}

std::string MetaJson(const guideline::Version& v) {
  nlohmann::json j;
  j["g"] = v.guideline_id;
  j["n"] = v.version;
  j["pub"] = v.publisher.ToSpiffe();
  j["eff"] = absl::ToUnixNanos(v.effective_at);
  j["dl"] = absl::ToUnixNanos(v.ack_deadline);
  std::vector<std::string> topics = v.topics;
  std::sort(topics.begin(), topics.end());
  j["topics"] = topics;
  j["public"] = v.audience.is_public;
  std::vector<std::string> types, agencies;
  for (AgencyType t : v.audience.types) types.emplace_back(AgencyTypeName(t));
  for (const AgencyId& a : v.audience.agencies) agencies.push_back(a.ToSpiffe());
  j["types"] = types;
  j["agencies"] = agencies;
  nlohmann::json titles = nlohmann::json::object();
  for (const guideline::Content& c : v.contents) titles[c.language] = c.title;
  j["titles"] = titles;
  return j.dump();
}

// A summary from the HMGET of MetaFields(). DATA_LOSS when the stored summary is unreadable.
StatusOr<VersionMeta> MetaFrom(const std::vector<redis::Reply>& f, std::string_view name) {
  if (f.size() != MetaFields().size() || f[0].is_nil()) {
    return absl::DataLossError(absl::StrCat(S(name), ": stored summary missing"));
  }
  const nlohmann::json j = nlohmann::json::parse(f[0].str, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(S(name), ": stored summary unreadable"));
  }
  VersionMeta m;
  try {
    m.guideline_id = j.at("g").get<std::string>();
    m.version = j.at("n").get<int64_t>();
    auto pub = ParseSpiffeId(j.at("pub").get<std::string>());
    if (!pub.ok()) return absl::DataLossError(absl::StrCat(S(name), ": stored publisher"));
    m.publisher = *std::move(pub);
    m.effective_at = absl::FromUnixNanos(j.at("eff").get<int64_t>());
    m.ack_deadline = absl::FromUnixNanos(j.at("dl").get<int64_t>());
    m.topics = j.at("topics").get<std::vector<std::string>>();
    m.audience.is_public = j.at("public").get<bool>();
    for (const std::string& t : j.at("types").get<std::vector<std::string>>()) {
      std::optional<AgencyType> type = ParseAgencyType(t);
      if (type.has_value()) m.audience.types.push_back(*type);
    }
    for (const std::string& a : j.at("agencies").get<std::vector<std::string>>()) {
      auto id = ParseSpiffeId(a);
      if (id.ok()) m.audience.agencies.push_back(*std::move(id));
    }
    m.titles = j.at("titles").get<std::map<std::string, std::string>>();
  } catch (const nlohmann::json::exception&) {
    return absl::DataLossError(absl::StrCat(S(name), ": stored summary fields"));
  }
  m.sha256 = f[1].str;
  m.published_at = FromNs(f[2].str);
  m.withdrawn = f[3].str == "withdrawn";
  if (!f[4].is_nil()) m.withdrawn_at = FromNs(f[4].str);
  if (!f[5].is_nil()) m.superseded_by = Int(f[5].str);
  if (!f[6].is_nil()) m.superseded_at = FromNs(f[6].str);
  return m;
}

std::vector<std::string> HmgetMeta(std::string key) {
  std::vector<std::string> cmd = {"HMGET", std::move(key)};
  for (const std::string& f : MetaFields()) cmd.push_back(f);
  return cmd;
}

AckRecord ParseAck(std::string_view value) {
  const std::vector<std::string> parts = absl::StrSplit(S(value), ' ');
  AckRecord r;
  if (!parts.empty()) r.at = FromNs(parts[0]);
  r.before_freeze = parts.size() < 2 || parts[1] != "0";
  return r;
}

std::string ReplyWord(const redis::Reply& r, size_t i) {
  if (r.type != redis::Reply::Type::kArray || r.elements.size() <= i) return "";
  const redis::Reply& e = r.elements[i];
  if (e.type == redis::Reply::Type::kInteger) return std::to_string(e.integer);
  return e.str;
}

// Publish. KEYS: 1 guideline, 2 version, 3 audience, 4 versions, 5 scheduled, 6 feed,
//                7 previous version (the version key itself for version 1), 8 guidelines.
// ARGV: 1 gid, 2 n, 3 publisher SPIFFE, 4 canonical bytes, 5 signature, 6 sha, 7 meta JSON,
//       8 published_at ns, 9 effective now "1"|"0", 10 effective_at ms, 11 previous suspended
//       (space-separated), 12 member "<gid>@<n>", 13 channel, 14 audience count, 15.. keys
//       (added 1000 per SADD).
// Then the publisher's publish bucket, charged first (quota::AppendTrailingCharges).
// Returns {'ok', feed id or ''} | {'dup'} | {'exists'} | {'conflict', latest} |
//         {'not_owner', owner} | {'missing'} | {'quota', i, ms}.
const redis::Script& PublishScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(8)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local n = tonumber(ARGV[2])
local stored = redis.call('HMGET', KEYS[2], 'sha', 'sig')
if stored[1] then
  if stored[1] == ARGV[6] and stored[2] == ARGV[5] then return {'dup'} end
  return {'exists'}
end
local head = redis.call('HMGET', KEYS[1], 'owner', 'latest')
if n == 1 then
  if head[1] then return {'conflict', head[2]} end
else
  if not head[1] then return {'missing'} end
  if head[1] ~= ARGV[3] then return {'not_owner', head[1]} end
  if tonumber(head[2]) ~= n - 1 then return {'conflict', head[2]} end
end
redis.call('HSET', KEYS[2], 'c', ARGV[4], 'sig', ARGV[5], 'sha', ARGV[6], 'meta', ARGV[7],
           'pub_at', ARGV[8], 'state', 'active')
local naud = tonumber(ARGV[14])
local i = 1
while i <= naud do
  local last = math.min(naud, i + 999)
  redis.call('SADD', KEYS[3], unpack(ARGV, 14 + i, 14 + last))
  i = last + 1
end
if n == 1 then
  redis.call('HSET', KEYS[1], 'owner', ARGV[3], 'latest', '1', 'created', ARGV[8])
  redis.call('ZADD', KEYS[8], 0, ARGV[1])
else
  redis.call('HSET', KEYS[1], 'latest', ARGV[2])
  redis.call('HSET', KEYS[7], 'sup_by', ARGV[2], 'sup_at', ARGV[8])
  if redis.call('HEXISTS', KEYS[7], 'frozen_at') == 0 then
    redis.call('HSET', KEYS[7], 'frozen_at', ARGV[8], 'frozen_susp', ARGV[11])
  end
end
redis.call('ZADD', KEYS[4], 0, ARGV[12])
local id = ''
if ARGV[9] == '1' then
  id = redis.call('XADD', KEYS[6], 'MAXLEN', '~', '100000', '*', 'k', 'v', 'g', ARGV[1],
                  'n', ARGV[2])
  redis.call('PUBLISH', ARGV[13], id)
else
  redis.call('ZADD', KEYS[5], ARGV[10], ARGV[12])
end
return {'ok', id}
)lua");
  return *script;
}

// Withdraw. KEYS: 1 version, 2 feed, 3 scheduled.
// ARGV: 1 withdrawal bytes, 2 signature, 3 version sha, 4 now ns, 5 suspended (space-separated),
//       6 gid, 7 n, 8 member, 9 channel.
// Then the withdrawer's publish bucket, charged first (duplicates included).
// Returns {'ok', feed id} | {'dup'} | {'missing'} | {'mismatch'} | {'already'} | {'quota', i, ms}.
const redis::Script& WithdrawScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(3)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local st = redis.call('HMGET', KEYS[1], 'sha', 'state', 'wd', 'wd_sig')
if not st[1] then return {'missing'} end
if st[1] ~= ARGV[3] then return {'mismatch'} end
if st[2] == 'withdrawn' then
  if st[3] == ARGV[1] and st[4] == ARGV[2] then return {'dup'} end
  return {'already'}
end
redis.call('HSET', KEYS[1], 'state', 'withdrawn', 'wd', ARGV[1], 'wd_sig', ARGV[2],
           'wd_at', ARGV[4])
if redis.call('HEXISTS', KEYS[1], 'frozen_at') == 0 then
  redis.call('HSET', KEYS[1], 'frozen_at', ARGV[4], 'frozen_susp', ARGV[5])
end
redis.call('ZREM', KEYS[3], ARGV[8])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'k', 'w', 'g', ARGV[6],
                      'n', ARGV[7])
redis.call('PUBLISH', ARGV[9], id)
return {'ok', id}
)lua");
  return *script;
}

// Acknowledge. KEYS: 1 version, 2 acks. ARGV: 1 agency key, 2 sha, 3 now ns.
// Then the agency's ack bucket, charged first: every acknowledgement that reaches the store is
// audited, duplicates included, so every one of them costs a token.
// Returns {'ok', record} | {'dup', record} | {'missing'} | {'mismatch'} | {'withdrawn'} |
//         {'quota', i, ms}.
const redis::Script& AckScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + R"lua(
local refused = concord_charge_trailing(2)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local st = redis.call('HMGET', KEYS[1], 'sha', 'state', 'frozen_at')
if not st[1] then return {'missing'} end
if st[1] ~= ARGV[2] then return {'mismatch'} end
local prev = redis.call('HGET', KEYS[2], ARGV[1])
if prev then return {'dup', prev} end
if st[2] == 'withdrawn' then return {'withdrawn'} end
local rec = ARGV[3] .. ' ' .. (st[3] and '0' or '1')
redis.call('HSET', KEYS[2], ARGV[1], rec)
return {'ok', rec}
)lua");
  return *script;
}

// PromoteDue. KEYS: 1 scheduled, 2 feed. ARGV: 1 now ms, 2 max, 3 channel.
// Returns the number of versions appended to the feed.
const redis::Script& PromoteScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local id = nil
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local at = string.find(m, '@', 1, true)
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'k', 'v',
                  'g', string.sub(m, 1, at - 1), 'n', string.sub(m, at + 1))
end
if id then redis.call('PUBLISH', ARGV[3], id) end
return #due
)lua");
  return *script;
}

Status Unexpected(std::string_view what) {
  return absl::InternalError(absl::StrCat("redis: unexpected reply to ", S(what)));
}

}  // namespace

bool FeedIdLess(std::string_view a, std::string_view b) {
  if (a.empty()) return !b.empty();
  if (b.empty()) return false;
  auto parse = [](std::string_view id, uint64_t& ms, uint64_t& seq) {
    const size_t dash = id.find('-');
    ms = seq = 0;
    if (dash == std::string_view::npos) return absl::SimpleAtoi(S(id), &ms);
    return absl::SimpleAtoi(S(id.substr(0, dash)), &ms) &&
           absl::SimpleAtoi(S(id.substr(dash + 1)), &seq);
  };
  uint64_t ams, aseq, bms, bseq;
  if (!parse(a, ams, aseq) || !parse(b, bms, bseq)) return a < b;
  return ams != bms ? ams < bms : aseq < bseq;
}

RedisGuidelineStore::RedisGuidelineStore(redis::RedisClient& redis) : redis_(redis) {}

StatusOr<GuidelineHead> RedisGuidelineStore::Head(std::string_view gid) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HMGET", GuidelineKey(gid), "owner", "latest"}));
  if (r.elements.size() != 2 || r.elements[0].is_nil()) {
    return WithReason(absl::NotFoundError(absl::StrCat("guideline ", S(gid), " not found")),
                      "GUIDELINE_NOT_FOUND");
  }
  auto owner = ParseSpiffeId(r.elements[0].str);
  if (!owner.ok()) return absl::DataLossError(absl::StrCat("guideline ", S(gid), ": owner"));
  return GuidelineHead{*std::move(owner), Int(r.elements[1].str)};
}

StatusOr<PublishOutcome> RedisGuidelineStore::Publish(const PublishWrite& w) {
  const guideline::Version& v = w.signed_version.version;
  const std::string& gid = v.guideline_id;
  const int64_t n = v.version;
  std::vector<std::string> keys = {GuidelineKey(gid),
                                   VersionKey(gid, n),
                                   AudienceKey(gid, n),
                                   VersionsKey(),
                                   ScheduledKey(),
                                   FeedKey(),
                                   VersionKey(gid, n > 1 ? n - 1 : n),
                                   GuidelinesKey()};
  const bool effective = v.effective_at <= w.now;
  std::vector<std::string> args = {gid,
                                   std::to_string(n),
                                   v.publisher.ToSpiffe(),
                                   guideline::VersionBytes(v),
                                   w.signed_version.signature,
                                   w.sha256,
                                   MetaJson(v),
                                   Ns(w.now),
                                   effective ? "1" : "0",
                                   std::to_string(absl::ToUnixMillis(v.effective_at)),
                                   absl::StrJoin(w.previous_suspended, " "),
                                   Member(gid, n),
                                   S(kFeedChannel),
                                   std::to_string(w.audience.size())};
  for (const std::string& a : w.audience) args.push_back(a);
  quota::AppendTrailingCharges(kTag, w.charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(PublishScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, w.charges)) return *refused;
  const std::string word = ReplyWord(r, 0);
  const std::string name = v.Name();
  if (word == "ok") return PublishOutcome::kPublished;
  if (word == "dup") return PublishOutcome::kDuplicate;
  if (word == "exists") {
    return WithReason(absl::AlreadyExistsError(
                          absl::StrCat(name, " exists with other content: publish a new version")),
                      "VERSION_EXISTS");
  }
  if (word == "conflict") {
    const std::string latest = ReplyWord(r, 1);
    return WithReason(absl::AbortedError(absl::StrCat("guideline ", gid, " is at version ",
                                                      latest.empty() ? "0" : latest)),
                      "VERSION_CONFLICT", {{"latest", latest}});
  }
  if (word == "not_owner") {
    return WithReason(absl::PermissionDeniedError(absl::StrCat("only the publisher of guideline ",
                                                               gid, " publishes its versions")),
                      "NOT_GUIDELINE_PUBLISHER");
  }
  if (word == "missing") {
    return WithReason(absl::NotFoundError(absl::StrCat("guideline ", gid, " not found")),
                      "GUIDELINE_NOT_FOUND");
  }
  return Unexpected("publish");
}

StatusOr<StoredVersion> RedisGuidelineStore::Get(std::string_view gid, int64_t n) {
  const std::string name = guideline::VersionName(gid, n);
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Command({"HMGET", VersionKey(gid, n), "c", "sig", "sha", "pub_at", "state", "wd",
                      "wd_sig", "wd_at", "sup_by", "sup_at", "frozen_at", "frozen_susp"}));
  if (r.elements.size() != 12) return Unexpected("HMGET");
  const auto& f = r.elements;
  if (f[0].is_nil()) {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " not found")), "VERSION_NOT_FOUND");
  }
  auto version = guideline::ParseVersionBytes(f[0].str);
  if (!version.ok()) {
    return guideline::VerificationFailed(gid, n, "its stored bytes do not decode");
  }
  if (version->guideline_id != gid || version->version != n) {
    return guideline::VerificationFailed(gid, n, "its stored bytes name another version");
  }
  StoredVersion out;
  out.meta = MetaOf(*version, f[2].str);
  out.signed_version = guideline::SignedVersion{*std::move(version), f[1].str};
  out.meta.published_at = FromNs(f[3].str);
  out.meta.withdrawn = f[4].str == "withdrawn";
  if (!f[5].is_nil()) {
    auto w = guideline::ParseWithdrawalBytes(f[5].str);
    if (!w.ok()) return guideline::VerificationFailed(gid, n, "its withdrawal does not decode");
    out.withdrawal = guideline::SignedWithdrawal{*std::move(w), f[6].str};
  }
  if (!f[7].is_nil()) out.meta.withdrawn_at = FromNs(f[7].str);
  if (!f[8].is_nil()) out.meta.superseded_by = Int(f[8].str);
  if (!f[9].is_nil()) out.meta.superseded_at = FromNs(f[9].str);
  if (!f[10].is_nil()) out.frozen_at = FromNs(f[10].str);
  if (!f[11].is_nil() && !f[11].str.empty()) {
    out.frozen_suspended = absl::StrSplit(f[11].str, ' ', absl::SkipEmpty());
  }
  return out;
}

StatusOr<std::vector<VersionMeta>> RedisGuidelineStore::Versions(std::string_view gid) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply latest,
                           redis_.Command({"HGET", GuidelineKey(gid), "latest"}));
  std::vector<VersionMeta> out;
  if (latest.is_nil()) return out;
  const int64_t n = Int(latest.str);
  std::vector<std::vector<std::string>> commands;
  for (int64_t i = 1; i <= n; ++i) commands.push_back(HmgetMeta(VersionKey(gid, i)));
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(commands));
  for (int64_t i = 1; i <= n; ++i) {
    const redis::Reply& r = replies[static_cast<size_t>(i - 1)];
    if (r.is_error()) return absl::InternalError(absl::StrCat("redis: ", r.str));
    CONCORD_ASSIGN_OR_RETURN(VersionMeta m, MetaFrom(r.elements, guideline::VersionName(gid, i)));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<std::vector<VersionMeta>> RedisGuidelineStore::AllVersions(size_t max) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply members,
                           redis_.Command({"ZRANGE", VersionsKey(), "0", "-1"}));
  if (members.elements.size() > max) {
    return absl::InternalError(
        absl::StrCat("more than ", max, " guideline versions: List needs an index"));
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> names;
  for (const redis::Reply& m : members.elements) {
    const size_t at = m.str.rfind('@');
    if (at == std::string::npos) continue;
    const std::string gid = m.str.substr(0, at);
    const int64_t n = Int(std::string_view(m.str).substr(at + 1));
    commands.push_back(HmgetMeta(VersionKey(gid, n)));
    names.push_back(guideline::VersionName(gid, n));
  }
  std::vector<VersionMeta> out;
  if (commands.empty()) return out;
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(commands));
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].is_error()) return absl::InternalError(absl::StrCat("redis: ", replies[i].str));
    CONCORD_ASSIGN_OR_RETURN(VersionMeta m, MetaFrom(replies[i].elements, names[i]));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<std::vector<std::string>> RedisGuidelineStore::GuidelineIds() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"ZRANGE", GuidelinesKey(), "0", "-1"}));
  std::vector<std::string> out;
  for (const redis::Reply& e : r.elements) out.push_back(e.str);
  return out;
}

StatusOr<std::vector<std::string>> RedisGuidelineStore::Audience(std::string_view gid, int64_t n) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"SMEMBERS", AudienceKey(gid, n)}));
  std::vector<std::string> out;
  for (const redis::Reply& e : r.elements) out.push_back(e.str);
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<bool> RedisGuidelineStore::InAudience(std::string_view gid, int64_t n,
                                               const std::string& agency_key) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"SISMEMBER", AudienceKey(gid, n), agency_key}));
  return r.integer == 1;
}

StatusOr<bool> RedisGuidelineStore::Withdraw(const WithdrawWrite& w) {
  const guideline::Withdrawal& wd = w.signed_withdrawal.withdrawal;
  const std::string name = guideline::VersionName(wd.guideline_id, wd.version);
  std::vector<std::string> keys = {VersionKey(wd.guideline_id, wd.version), FeedKey(),
                                   ScheduledKey()};
  std::vector<std::string> args = {guideline::WithdrawalBytes(wd),
                                   w.signed_withdrawal.signature,
                                   wd.version_sha256,
                                   Ns(w.now),
                                   absl::StrJoin(w.suspended, " "),
                                   wd.guideline_id,
                                   std::to_string(wd.version),
                                   Member(wd.guideline_id, wd.version),
                                   S(kFeedChannel)};
  quota::AppendTrailingCharges(kTag, w.charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(WithdrawScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, w.charges)) return *refused;
  const std::string word = ReplyWord(r, 0);
  if (word == "ok") return false;
  if (word == "dup") return true;
  if (word == "missing") {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " not found")), "VERSION_NOT_FOUND");
  }
  if (word == "mismatch") {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("the withdrawal names other content than ", name)),
                      "SHA256_MISMATCH");
  }
  if (word == "already") {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(name, " is already withdrawn")),
                      "ALREADY_WITHDRAWN");
  }
  return Unexpected("withdraw");
}

StatusOr<AckOutcome> RedisGuidelineStore::Acknowledge(std::string_view gid, int64_t n,
                                                      const std::string& agency_key,
                                                      std::string_view sha256, absl::Time now,
                                                      const std::vector<quota::Charge>& charges) {
  const std::string name = guideline::VersionName(gid, n);
  std::vector<std::string> keys = {VersionKey(gid, n), AckKey(gid, n)};
  std::vector<std::string> args = {agency_key, S(sha256), Ns(now)};
  quota::AppendTrailingCharges(kTag, charges, keys, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(AckScript(), keys, args));
  if (std::optional<Status> refused = quota::RefusalOfReply(r, charges)) return *refused;
  const std::string word = ReplyWord(r, 0);
  if (word == "ok" || word == "dup") {
    return AckOutcome{ParseAck(ReplyWord(r, 1)), word == "dup"};
  }
  if (word == "missing") {
    return WithReason(absl::NotFoundError(absl::StrCat(name, " not found")), "VERSION_NOT_FOUND");
  }
  if (word == "mismatch") {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("the SHA-256 acknowledged is not the content of ", name)),
                      "SHA256_MISMATCH");
  }
  if (word == "withdrawn") {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat(name, " is withdrawn: there is nothing to acknowledge")),
                      "VERSION_WITHDRAWN");
  }
  return Unexpected("acknowledge");
}

StatusOr<std::map<std::string, AckRecord>> RedisGuidelineStore::Acks(std::string_view gid,
                                                                     int64_t n) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGETALL", AckKey(gid, n)}));
  std::map<std::string, AckRecord> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out[r.elements[i].str] = ParseAck(r.elements[i + 1].str);
  }
  return out;
}

StatusOr<std::vector<std::optional<AckRecord>>> RedisGuidelineStore::AckedBy(
    const std::string& agency_key, const std::vector<std::pair<std::string, int64_t>>& versions) {
  std::vector<std::optional<AckRecord>> out;
  if (versions.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  for (const auto& [gid, n] : versions) commands.push_back({"HGET", AckKey(gid, n), agency_key});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(commands));
  for (const redis::Reply& r : replies) {
    if (r.is_error()) return absl::InternalError(absl::StrCat("redis: ", r.str));
    if (r.is_nil()) {
      out.push_back(std::nullopt);
    } else {
      out.push_back(ParseAck(r.str));
    }
  }
  return out;
}

StatusOr<std::vector<FeedEntry>> RedisGuidelineStore::ReadFeed(std::string_view after, size_t max) {
  const std::string start = after.empty() ? "-" : absl::StrCat("(", S(after));
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"XRANGE", FeedKey(), start, "+", "COUNT",
                                                           std::to_string(max)}));
  std::vector<FeedEntry> out;
  for (const redis::Reply& entry : r.elements) {
    if (entry.elements.size() != 2) continue;
    FeedEntry e;
    e.id = entry.elements[0].str;
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      const std::string& k = fields[i].str;
      const std::string& v = fields[i + 1].str;
      if (k == "k") e.kind = v == "w" ? FeedEntry::Kind::kWithdrawal : FeedEntry::Kind::kVersion;
      if (k == "g") e.guideline_id = v;
      if (k == "n") e.version = Int(v);
    }
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<int> RedisGuidelineStore::PromoteDue(absl::Time now, int max) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(PromoteScript(), {ScheduledKey(), FeedKey()},
                                                       {std::to_string(absl::ToUnixMillis(now)),
                                                        std::to_string(max), S(kFeedChannel)}));
  return static_cast<int>(r.integer);
}

}  // namespace concord::guidelines
