// File: services/directory/redis_directory_store.cc
//
// Redis key schema of the directory. Every key carries the hash tag "{dir}", so each write below
// is ONE Lua script in one slot (atomic, Redis Cluster-ready). The whole directory lives in one
// slot: it is small (hundreds of agencies) and read mostly through caches.
//
//   concord:{dir}:agency:<type>/<id>          HASH  version -> "<n>", json -> the record (below)
//   concord:{dir}:agencies                    ZSET  every agency key "<type>/<id>", score 0
//                                                   (lexicographic order = listing order)
//   concord:{dir}:suspended                   SET   keys of suspended agencies  (directory_keys.h)
//   concord:{dir}:revoked                     HASH  serial -> {"reason","revoked_at_us"}
//                                                   (directory_keys.h)
//   concord:{dir}:idx:type:<type>             SET   agency keys by type
//   concord:{dir}:idx:jurisdiction:<CODE>     SET   agency keys by jurisdiction ("BE-BRU")
//   concord:{dir}:idx:specialisation:<token>  SET   agency keys by specialisation ("thb")
//   concord:{dir}:idx:language:<code>         SET   agency keys by language ("nl")
//   concord:{dir}:attributes                  HASH  agency key -> JSON of its explicit attribute
//                                                   values (directory_keys.h; read by every
//                                                   replica's DirectoryCache)
//   concord:{dir}:outbox                      STREAM announcements to the agencies concerned:
//                                                   fields id ("<type>/<id>@v<version>"),
//                                                   agency ("<type>/<id>"), body (JSON, no
//                                                   personal data), seal_to (the X25519 public
//                                                   key PEM to seal it to); consumer group
//                                                   "announcer"
//
// Record JSON: {"type","id","display_name","jurisdiction","specialisations":[..],
//   "languages":[..],"signing_public_key_pem","sealing_public_key_pem","certificate_serials":[..],
//   "capacity" (reception centres' places, 0 = not declared),
//   "state":"active"|"suspended","suspension_reason","created_at_us","updated_at_us","version",
//   "attributes":{name: value} (explicit values, common/attributes),
//   "key_endorsement":{"previous_signing_key" (base64), "issued_at_ns", "signature" (base64)}
//   (absent when the current keys carry no endorsement)}
// (times in microseconds since the Unix epoch, issued_at in nanoseconds: it is signed). Agency
// records hold no personal data.
//
// Invariants kept by the scripts: a key is in `agencies` iff its record exists; it is in
// `suspended` iff its record's state is "suspended"; it is in exactly the index sets of its
// record's current fields; the record's version increases by one per write (optimistic
// concurrency: a write names the version it read); the attributes index holds the record's
// attributes; an announcement is queued iff the change is stored. Every write PUBLISHes a JSON
// event
// {"event": "...", "agency"|"serial": ...} on "concord:directory:events" in the same script, so
// a cache that reloads after the message sees the change.
#include "services/directory/redis_directory_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clients/directory_keys.h"
#include "common/crypto/encoding.h"
#include "common/status/status_macros.h"

namespace concord::directory {
namespace {

using clients::DirectoryKey;
using clients::kDirectoryEventsChannel;

// KEYS[1] record, KEYS[2] agencies zset, KEYS[3] suspended set, KEYS[4] attributes hash,
// KEYS[5] outbox stream, KEYS[6 .. 5+nrem] index sets to leave, KEYS[6+nrem ..] index sets to
// join.
// ARGV: expected version ("0" = create), new version, json, member, suspended "1"|"0", nrem,
//       channel, event, attributes json, announce "1"|"0", announcement id, announcement body,
//       announcement seal_to.
// Returns 1 written, 0 already exists, -1 not found, -2 version mismatch.
const redis::Script& WriteScript() {
  static const redis::Script* const script = new redis::Script(R"lua(
local cur = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '0' then
  if cur then return 0 end
else
  if not cur then return -1 end
  if cur ~= ARGV[1] then return -2 end
end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('HSET', KEYS[4], ARGV[4], ARGV[9])
if ARGV[10] == '1' then
  redis.call('XADD', KEYS[5], '*', 'id', ARGV[11], 'agency', ARGV[4], 'body', ARGV[12],
             'seal_to', ARGV[13])
end
local nrem = tonumber(ARGV[6])
for i = 6, 5 + nrem do redis.call('SREM', KEYS[i], ARGV[4]) end
for i = 6 + nrem, #KEYS do redis.call('SADD', KEYS[i], ARGV[4]) end
if ARGV[5] == '1' then
  redis.call('SADD', KEYS[3], ARGV[4])
else
  redis.call('SREM', KEYS[3], ARGV[4])
end
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 1
)lua");
  return *script;
}

// KEYS[1] revoked hash. ARGV: serial, json, channel, event. Returns the stored json (the
// existing one if the serial was already revoked).
const redis::Script& RevokeScript() {
  static const redis::Script* const script = new redis::Script(R"lua(
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return existing end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return ARGV[2]
)lua");
  return *script;
}

constexpr std::string_view kAnnouncerGroup = "announcer";

std::string RecordKey(std::string_view agency_key) {
  return DirectoryKey("agency:" + std::string(agency_key));
}
std::string AgenciesKey() { return DirectoryKey("agencies"); }
std::string IndexKey(std::string_view kind, std::string_view value) {
  return DirectoryKey("idx:" + std::string(kind) + ":" + std::string(value));
}

std::vector<std::string> IndexKeys(const Agency& a) {
  std::vector<std::string> keys;
  keys.push_back(IndexKey("type", AgencyTypeName(a.spec.id.type)));
  keys.push_back(IndexKey("jurisdiction", a.spec.jurisdiction));
  for (const auto& s : a.spec.specialisations) keys.push_back(IndexKey("specialisation", s));
  for (const auto& l : a.spec.languages) keys.push_back(IndexKey("language", l));
  return keys;
}

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }

std::string AttributesJson(const Agency& a) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : a.attributes) j[name] = value;
  return j.dump();
}

std::string Encode(const Agency& a) {
  nlohmann::json j = {
      {"type", std::string(AgencyTypeName(a.spec.id.type))},
      {"id", a.spec.id.id},
      {"display_name", a.spec.display_name},
      {"jurisdiction", a.spec.jurisdiction},
      {"specialisations", a.spec.specialisations},
      {"languages", a.spec.languages},
      {"signing_public_key_pem", a.spec.signing_public_key_pem},
      {"sealing_public_key_pem", a.spec.sealing_public_key_pem},
      {"certificate_serials", a.spec.certificate_serials},
      {"capacity", a.spec.capacity},
      {"state", a.state == AgencyState::kSuspended ? "suspended" : "active"},
      {"suspension_reason", a.suspension_reason},
      {"created_at_us", ToMicros(a.created_at)},
      {"updated_at_us", ToMicros(a.updated_at)},
      {"version", a.version},
      {"attributes", nlohmann::json::parse(AttributesJson(a))},
  };
  if (a.key_endorsement.has_value()) {
    j["key_endorsement"] = {
        {"previous_signing_key", crypto::Base64Encode(a.key_endorsement->previous_signing_key)},
        {"issued_at_ns", absl::ToUnixNanos(a.key_endorsement->issued_at)},
        {"signature", crypto::Base64Encode(a.key_endorsement->signature)}};
  }
  return j.dump();
}

std::string Event(std::string_view event, std::string_view field, std::string_view value) {
  return nlohmann::json{{"event", event}, {field, value}}.dump();
}

StatusOr<RevokedSerial> DecodeRevocation(const std::string& serial, const std::string& json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("directory: corrupt revocation record");
  }
  RevokedSerial r;
  r.serial = serial;
  r.reason = j.value("reason", "");
  r.revoked_at = absl::FromUnixMicros(j.value("revoked_at_us", int64_t{0}));
  return r;
}

bool IsArray(const redis::Reply& r) { return r.type == redis::Reply::Type::kArray; }

}  // namespace

std::string AnnouncementOutboxKey() { return DirectoryKey("outbox"); }

RedisDirectoryStore::RedisDirectoryStore(redis::RedisClient& redis, std::string trust_domain)
    : redis_(redis),
      trust_domain_(std::move(trust_domain)),
      announcement_reader_(redis, AnnouncementOutboxKey(), std::string(kAnnouncerGroup)) {}

StatusOr<Agency> RedisDirectoryStore::Decode(const std::string& json) const {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InternalError("directory: corrupt record");
  // json::value() with a default never throws for a missing key, but does for a wrong type.
  try {
    Agency a;
    const auto type = ParseAgencyType(j.value("type", ""));
    if (!type.has_value()) return absl::InternalError("directory: corrupt record type");
    a.spec.id = AgencyId{trust_domain_, *type, j.value("id", "")};
    a.spec.display_name = j.value("display_name", "");
    a.spec.jurisdiction = j.value("jurisdiction", "");
    a.spec.specialisations = j.value("specialisations", std::vector<std::string>{});
    a.spec.languages = j.value("languages", std::vector<std::string>{});
    a.spec.signing_public_key_pem = j.value("signing_public_key_pem", "");
    a.spec.sealing_public_key_pem = j.value("sealing_public_key_pem", "");
    a.spec.certificate_serials = j.value("certificate_serials", std::vector<std::string>{});
    a.spec.capacity = j.value("capacity", 0);
    a.state = j.value("state", "") == "suspended" ? AgencyState::kSuspended : AgencyState::kActive;
    a.suspension_reason = j.value("suspension_reason", "");
    a.created_at = absl::FromUnixMicros(j.value("created_at_us", int64_t{0}));
    a.updated_at = absl::FromUnixMicros(j.value("updated_at_us", int64_t{0}));
    a.version = j.value("version", int64_t{0});
    a.attributes = attributes::SanitizeStoredAttributes(
        a.spec.id, j.value("attributes", std::map<std::string, std::string>{}));
    if (const auto it = j.find("key_endorsement"); it != j.end() && it->is_object()) {
      auto previous = crypto::Base64Decode(it->value("previous_signing_key", ""));
      auto signature = crypto::Base64Decode(it->value("signature", ""));
      if (!previous.ok() || !signature.ok()) {
        return absl::InternalError("directory: corrupt key endorsement");
      }
      a.key_endorsement = crypto::KeyEndorsement{
          *std::move(previous), absl::FromUnixNanos(it->value("issued_at_ns", int64_t{0})),
          *std::move(signature)};
    }
    return a;
  } catch (const nlohmann::json::exception&) {
    return absl::InternalError("directory: corrupt record field");
  }
}

StatusOr<Agency> RedisDirectoryStore::Get(const AgencyId& id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply,
                           redis_.Command({"HGET", RecordKey(id.Key()), "json"}));
  if (reply.is_nil()) return absl::NotFoundError("agency not found");
  return Decode(reply.str);
}

Status RedisDirectoryStore::Create(const Agency& agency, const Announcement* announcement) {
  return Write(nullptr, agency, announcement);
}

Status RedisDirectoryStore::Replace(const Agency& previous, const Agency& next,
                                    const Announcement* announcement) {
  if (!(previous.spec.id == next.spec.id)) return absl::InternalError("replace: id mismatch");
  return Write(&previous, next, announcement);
}

Status RedisDirectoryStore::Write(const Agency* previous, const Agency& next,
                                  const Announcement* announcement) {
  const std::string member = next.spec.id.Key();
  std::vector<std::string> keys = {RecordKey(member), AgenciesKey(),
                                   clients::SuspendedAgenciesKey(), clients::AgencyAttributesKey(),
                                   AnnouncementOutboxKey()};
  std::vector<std::string> leave;
  if (previous != nullptr) leave = IndexKeys(*previous);
  const std::vector<std::string> join = IndexKeys(next);
  keys.insert(keys.end(), leave.begin(), leave.end());
  keys.insert(keys.end(), join.begin(), join.end());

  std::string event = "agency.registered";
  if (previous != nullptr) {
    if (previous->state != next.state) {
      event = next.state == AgencyState::kSuspended ? "agency.suspended" : "agency.reinstated";
    } else {
      event = "agency.updated";
    }
  }
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_.Eval(WriteScript(), keys,
                  {previous == nullptr ? "0" : std::to_string(previous->version),
                   std::to_string(next.version), Encode(next), member,
                   next.state == AgencyState::kSuspended ? "1" : "0", std::to_string(leave.size()),
                   std::string(kDirectoryEventsChannel), Event(event, "agency", member),
                   AttributesJson(next), announcement != nullptr ? "1" : "0",
                   announcement != nullptr ? announcement->id : "",
                   announcement != nullptr ? announcement->body : "",
                   announcement != nullptr ? announcement->seal_to_pem : ""}));
  switch (reply.integer) {
    case 1:
      return absl::OkStatus();
    case 0:
      return absl::AlreadyExistsError("an agency with this id is already registered");
    case -1:
      return absl::NotFoundError("agency not found");
    case -2:
      return absl::AbortedError("agency was changed concurrently (version mismatch); re-read it");
    default:
      return absl::InternalError("directory: unexpected write script result");
  }
}

StatusOr<AgencyPage> RedisDirectoryStore::List(const AgencyFilter& filter,
                                               std::string_view after_key, int limit) {
  // Candidates from the index sets (SINTER) or every agency; O(N) in the number of agencies,
  // which is small (hundreds). Suspended agencies are dropped with the suspended set, read in
  // the same MULTI so both come from one snapshot.
  std::vector<std::string> index_keys;
  if (filter.type.has_value()) index_keys.push_back(IndexKey("type", AgencyTypeName(*filter.type)));
  if (!filter.jurisdiction.empty()) {
    index_keys.push_back(IndexKey("jurisdiction", filter.jurisdiction));
  }
  if (!filter.specialisation.empty()) {
    index_keys.push_back(IndexKey("specialisation", filter.specialisation));
  }
  if (!filter.language.empty()) index_keys.push_back(IndexKey("language", filter.language));

  std::vector<std::string> candidates_cmd;
  if (index_keys.empty()) {
    candidates_cmd = {"ZRANGE", AgenciesKey(), "0", "-1"};
  } else {
    candidates_cmd = {"SINTER"};
    candidates_cmd.insert(candidates_cmd.end(), index_keys.begin(), index_keys.end());
  }
  CONCORD_ASSIGN_OR_RETURN(
      std::vector<redis::Reply> replies,
      redis_.Pipeline(
          {{"MULTI"}, candidates_cmd, {"SMEMBERS", clients::SuspendedAgenciesKey()}, {"EXEC"}}));
  const redis::Reply& exec = replies.back();
  if (!IsArray(exec) || exec.elements.size() != 2) {
    return absl::InternalError("directory: unexpected list reply");
  }
  std::set<std::string> suspended;
  for (const auto& r : exec.elements[1].elements) suspended.insert(r.str);
  std::vector<std::string> members;
  for (const auto& r : exec.elements[0].elements) {
    if (r.str <= after_key && !after_key.empty()) continue;
    if (!filter.include_suspended && suspended.count(r.str) > 0) continue;
    members.push_back(r.str);
  }
  std::sort(members.begin(), members.end());

  AgencyPage page;
  const bool more = members.size() > static_cast<size_t>(limit);
  if (more) members.resize(static_cast<size_t>(limit));
  if (members.empty()) return page;
  std::vector<std::vector<std::string>> gets;
  gets.reserve(members.size());
  for (const auto& m : members) gets.push_back({"HGET", RecordKey(m), "json"});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> records, redis_.Pipeline(gets));
  for (const auto& r : records) {
    if (r.is_error()) return absl::InternalError("directory: " + r.str);
    if (r.is_nil()) continue;  // cannot happen: records are never deleted
    CONCORD_ASSIGN_OR_RETURN(Agency a, Decode(r.str));
    // Re-check against the record itself (the index snapshot and the record read are separate).
    if (Matches(a, filter)) page.agencies.push_back(std::move(a));
  }
  if (more) page.next_after_key = members.back();
  return page;
}

StatusOr<RevokedSerial> RedisDirectoryStore::Revoke(const RevokedSerial& revocation) {
  const std::string json = nlohmann::json{{"reason", revocation.reason},
                                          {"revoked_at_us", ToMicros(revocation.revoked_at)}}
                               .dump();
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply reply,
      redis_.Eval(RevokeScript(), {clients::RevokedSerialsKey()},
                  {revocation.serial, json, std::string(kDirectoryEventsChannel),
                   Event("certificate.revoked", "serial", revocation.serial)}));
  return DecodeRevocation(revocation.serial, reply.str);
}

StatusOr<Revocations> RedisDirectoryStore::ListRevocations() {
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies,
                           redis_.Pipeline({{"MULTI"},
                                            {"SMEMBERS", clients::SuspendedAgenciesKey()},
                                            {"HGETALL", clients::RevokedSerialsKey()},
                                            {"EXEC"}}));
  const redis::Reply& exec = replies.back();
  if (!IsArray(exec) || exec.elements.size() != 2) {
    return absl::InternalError("directory: unexpected revocations reply");
  }
  Revocations out;
  const auto& pairs = exec.elements[1].elements;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    CONCORD_ASSIGN_OR_RETURN(RevokedSerial r, DecodeRevocation(pairs[i].str, pairs[i + 1].str));
    out.revoked_serials.push_back(std::move(r));
  }
  std::sort(out.revoked_serials.begin(), out.revoked_serials.end(),
            [](const RevokedSerial& a, const RevokedSerial& b) { return a.serial < b.serial; });

  std::vector<std::string> members;
  for (const auto& r : exec.elements[0].elements) members.push_back(r.str);
  std::sort(members.begin(), members.end());
  if (members.empty()) return out;
  std::vector<std::vector<std::string>> gets;
  for (const auto& m : members) gets.push_back({"HGET", RecordKey(m), "json"});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> records, redis_.Pipeline(gets));
  for (const auto& r : records) {
    if (r.is_error()) return absl::InternalError("directory: " + r.str);
    if (r.is_nil()) continue;
    CONCORD_ASSIGN_OR_RETURN(Agency a, Decode(r.str));
    out.suspended_agencies.push_back(std::move(a));
  }
  return out;
}

StatusOr<std::vector<QueuedAnnouncement>> RedisDirectoryStore::ReadAnnouncements(
    std::string_view consumer, int max, absl::Duration claim_after) {
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> entries,
                           announcement_reader_.Read(consumer, max, claim_after));
  std::vector<QueuedAnnouncement> out;
  for (const redis::Reply& e : entries) {
    QueuedAnnouncement q;
    q.stream_id = e.elements[0].str;
    const auto& f = e.elements[1].elements;
    std::string agency;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      if (f[i].str == "id") q.announcement.id = f[i + 1].str;
      if (f[i].str == "agency") agency = f[i + 1].str;
      if (f[i].str == "body") q.announcement.body = f[i + 1].str;
      if (f[i].str == "seal_to") q.announcement.seal_to_pem = f[i + 1].str;
    }
    auto id = ParseAgencyKey(trust_domain_, agency);
    // A malformed entry is handed on with an empty agency: the worker drops and acks it.
    if (id.ok()) q.announcement.agency = *id;
    out.push_back(std::move(q));
  }
  return out;
}

Status RedisDirectoryStore::AckAnnouncements(const std::vector<std::string>& stream_ids) {
  return announcement_reader_.AckAndDelete(stream_ids);
}

StatusOr<int64_t> RedisDirectoryStore::PendingAnnouncements() {
  return announcement_reader_.Length();
}

}  // namespace concord::directory
