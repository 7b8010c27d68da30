#include "services/messaging/redis_message_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/audit/audit_record.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/quota/refusal.h"
#include "common/quota/token_bucket.h"
#include "common/status/status_macros.h"

namespace concord::messaging {
namespace {

constexpr std::string_view kTag = "msg";
constexpr std::string_view kGroup = "terminals";
// ListInbox scans at most this many stream entries per call (filters may match few).
constexpr size_t kMaxScanPerPage = 2000;

std::string MsgKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("m:", std::string(id)));
}
std::string GoneKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("gone:", std::string(id)));
}
std::string InboxKey(const std::string& rkey) { return redis::Key(kTag, "inbox:" + rkey); }
std::string InboxesKey() { return redis::Key(kTag, "inboxes"); }
std::string AckedKey(const std::string& rkey) { return redis::Key(kTag, "acked:" + rkey); }
// How long an acknowledgement outlives its message's expiry in the inbox's acknowledged set
// (the expiry sweeper removes the message and its inbox entries long before).
constexpr absl::Duration kAckedGrace = absl::Hours(24);
std::string ExpiryKey() { return redis::Key(kTag, "expiry"); }
std::string ReceiptsKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("rcpt:", std::string(id)));
}
std::string AttKey(std::string_view id) {
  return redis::Key(kTag, absl::StrCat("att:", std::string(id)));
}
std::string ChunkKey(std::string_view id, uint32_t index) {
  return redis::Key(kTag, absl::StrCat("att:", std::string(id), ":c:", index));
}
std::string PendingUploadsKey(const std::string& rkey) {
  return redis::Key(kTag, "uploads:" + rkey);
}

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

// The audit slot intake append shared by the send, delivery read and ack scripts: RPUSH of the
// entries to `key` (concord:audit-intake:{msg}, named by an argument: see SendScript), and a
// wake-up on `channel` when the intake was empty (as IntakeAuditSink does for its intakes).
constexpr char kAuditPushLua[] = R"lua(
local function concord_audit_push(key, channel, ...)
  if redis.call('RPUSH', key, ...) == select('#', ...) then redis.call('PUBLISH', channel, '') end
end
)lua";

// Send: de-duplicate, store once, append to every inbox, index expiry, bind attachments,
// charge the sender's quota, announce. Atomic: either all of it happened or none (a Lua script
// runs to completion, and every check comes before the first write).
// Security: a duplicate is answered only to the stored sender (ARGV[8], the authenticated
// caller); rows and tombstones written before 'snd' existed compare the hash alone, which covers
// the signed sender. A duplicate or a refused message is never charged.
// KEYS: 1 m, 2 gone, 3 expiry, 4 inboxes, 5 the sender's pending uploads, 6.. the quota buckets
//       x nq, then inbox x n, att x natt, chunk keys...
// ARGV: 1 id, 2 sha, 3 env, 4 acc, 5 exp, 6 thread, 7 kind, 8 sender, 9 channel, 10 group,
//       11 n, 12 natt, 13 nq, 14.. bucket args (3 x nq), then rkey x n, att id x natt,
//       chunk count x natt, declared size x natt, then the audit slot intake ('' = no audit
//       entry), its wake-up channel, the audit entry
// The audit entry (the Send's record, sealed by the caller) is RPUSHed to the audit slot intake
// concord:audit-intake:{msg} once every check passed and before the message's writes, only for
// a new message: the message and its record are stored together or not at all (a wake-up is
// published on the channel when the RPUSH found the intake empty). That key is not declared in
// KEYS: it is outside the messaging user's key pattern (the user may only RPUSH to it, so it
// cannot delete pending records, and Redis checks a script's declared keys against one
// permission set); it carries the {msg} hash tag, so the script stays in one Cluster slot
// (Redis 7 allows undeclared keys of the script's slot).
// Returns {'ok', acc, audited 0|1} | {'dup', acc} | {'conflict', ''} | {'noatt', id} |
//         {'quota', i, ms}.
const redis::Script& SendScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + kAuditPushLua + R"lua(
local id, sha = ARGV[1], ARGV[2]
local prev = redis.call('HMGET', KEYS[1], 'sha', 'acc', 'snd')
if prev[1] then
  if prev[1] == sha and (not prev[3] or prev[3] == ARGV[8]) then return {'dup', prev[2]} end
  return {'conflict', ''}
end
local gone = redis.call('GET', KEYS[2])
if gone then
  local gsha, gacc, gsnd = string.match(gone, '^([^|]*)|([^|]*)|?(.*)$')
  if gsha == sha and (gsnd == '' or gsnd == ARGV[8]) then return {'dup', gacc} end
  return {'conflict', ''}
end
local n, natt, nq = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local kb, ab = 5 + nq, 13 + 3 * nq  -- KEYS before the inboxes, ARGV before the rkeys
for j = 1, natt do
  local key = KEYS[kb + n + j]
  local att = redis.call('HMGET', key, 'owner', 'done', 'msg', 'chunks', 'size')
  if att[1] ~= ARGV[8] or att[2] ~= '1' or (att[3] and att[3] ~= id) or
     att[4] ~= ARGV[ab + n + natt + j] or (att[5] and att[5] ~= ARGV[ab + n + 2 * natt + j]) then
    return {'noatt', ARGV[ab + n + j]}
  end
end
if nq > 0 then
  local refused = concord_charge(concord_charges(6, 14, nq))
  if refused ~= 0 then return {'quota', refused[1], refused[2]} end
end
-- The message will be stored: its audit record first, so that a refused RPUSH (an ACL without
-- the slot intake) fails the call before anything of the message is written.
local xa, audited = ab + n + 3 * natt, 0
if ARGV[xa + 1] ~= '' then
  concord_audit_push(ARGV[xa + 1], ARGV[xa + 2], ARGV[xa + 3])
  audited = 1
end
local fields = {'env', ARGV[3], 'sha', sha, 'snd', ARGV[8], 'acc', ARGV[4], 'exp', ARGV[5]}
local rkeys, announced = {}, {}
for i = 1, n do rkeys[i] = ARGV[ab + i] end
-- XADD NOMKSTREAM appends to an existing inbox only: a known inbox costs its XADD alone (was one
-- SMISMEMBER for every recipient too). A new inbox (nil) is registered in the known inboxes, gets
-- its consumer group, and then the entry. (Deliver registers the inboxes it creates itself.)
for i = 1, n do
  local rkey, inbox = rkeys[i], KEYS[kb + i]
  local eid = redis.call('XADD', inbox, 'NOMKSTREAM', '*', 'm', id, 't', ARGV[6], 'k', ARGV[7])
  if not eid then
    redis.call('SADD', KEYS[4], rkey)
    redis.pcall('XGROUP', 'CREATE', inbox, ARGV[10], '0', 'MKSTREAM')
    eid = redis.call('XADD', inbox, '*', 'm', id, 't', ARGV[6], 'k', ARGV[7])
  end
  fields[#fields + 1] = 'e:' .. rkey
  fields[#fields + 1] = eid
  announced[i] = rkey .. '@' .. eid
end
-- One HSET for the stored fields and every inbox's entry id (was one more HSET per recipient).
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[3], ARGV[5], id)
for k = kb + 1 + n, #KEYS do
  redis.call('PEXPIREAT', KEYS[k], ARGV[5])
end
for j = 1, natt do
  redis.call('HSET', KEYS[kb + n + j], 'msg', id)
  redis.call('ZREM', KEYS[5], ARGV[ab + n + j])
end
-- "<rkey>@<entry id> ...": a stream whose last read already took the entry skips a read for it.
redis.call('PUBLISH', ARGV[9], table.concat(announced, ' '))
return {'ok', ARGV[4], audited}
)lua");
  return *script;
}

// Ack: charges the caller's msg_ack bucket one token per id FIRST (whatever the outcome: an
// unknown id costs as much as a real one, so a flood of unknown ids is bounded too), then all
// ids must be in the inbox; records the newly acknowledged ones in the inbox's acknowledged set
// (ONE ZADD NX for the call: members the inbox entry ids, scored by the message's expiry; it was
// one HSETNX of a flag in each message's hash) and XACKs. Refused by the bucket or NOT_FOUND:
// nothing is acknowledged. An id whose message carries the flag of the previous release
// (a:<rkey>) is already acknowledged (counts 0, not added). The set's members of messages
// expired more than kAckedGrace ago are trimmed here (one ZREMRANGEBYSCORE for the call).
// The charge runs inside this script (the same {msg} slot), so it costs no round trip: TIME,
// HMGET and HSET of the bucket (and its PEXPIRE about once per refill time).
// The call's audit records (one per id, sealed by the caller) are RPUSHed to the audit slot
// intake concord:audit-intake:{msg} once every id is found, before anything is acknowledged
// (undeclared, as in the send script): the acknowledgements and their records are one write.
// KEYS: 1 inbox, 2 the inbox's acknowledged set, 3.. m x n, then the bucket (0 or 1,
// quota::AppendTrailingCharges).
// ARGV: 1 rkey, 2 now ms, 3 group, 4 n, 5 trim bound ms (now - grace), 6 the audit slot intake
// ('' = no audit entries), 7 its wake-up channel, then n audit entries when 6 is not '', then
// the bucket's 3 ARGV.
// Returns {newly, 0} | {-1, index of the first id not in the inbox (1-based)} | {'quota', 1, ms}.
const redis::Script& AckScript() {
  static const redis::Script* script =
      new redis::Script(std::string(quota::kTokenBucketLua) + kAuditPushLua + R"lua(
local n = tonumber(ARGV[4])
local refused = concord_charge_trailing(2 + n)
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
local entry, flag = 'e:' .. ARGV[1], 'a:' .. ARGV[1]
local eids, add = {}, {}
for i = 3, n + 2 do
  local h = redis.call('HMGET', KEYS[i], entry, flag, 'exp')
  if not h[1] then return {-1, i - 2} end
  eids[#eids + 1] = h[1]
  if not h[2] then
    add[#add + 1] = h[3] or ARGV[2]
    add[#add + 1] = h[1]
  end
end
if ARGV[6] ~= '' and n > 0 then concord_audit_push(ARGV[6], ARGV[7], unpack(ARGV, 8, 7 + n)) end
local newly = 0
if #add > 0 then
  newly = redis.call('ZADD', KEYS[2], 'NX', unpack(add))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[5])
end
if #eids > 0 then redis.pcall('XACK', KEYS[1], ARGV[3], unpack(eids)) end
return {newly, 0}
)lua");
  return *script;
}

// New deliveries in ONE round trip: XREADGROUP ">" for the terminal, then the stored fields of
// each message read, then XACK of the entries whose message was acknowledged by the recipient or
// expired meanwhile. The message hashes are not declared in KEYS (their names come from the
// stream): they carry the same {msg} hash tag as the inbox, so the script stays in one Cluster
// slot (docs/redis.md, "Scripts").
// Memory: the read stops once the envelopes returned reach the byte budget (ARGV[6], 0 = none),
// so a batch holds at most the budget plus one envelope, and no entry is taken into the pending
// list that is not returned. Commands: a first XREADGROUP COUNT 1 takes the oldest new entry
// (an idle inbox costs this one command); the entries after it are then exactly those an
// XREADGROUP ">" would return next (the script is atomic), so one XRANGE reads them without
// taking them, ONE ZMSCORE checks them (and the first) against the inbox's acknowledged set, the
// envelopes of the unacknowledged ones are read (HMGET) in order while the budget allows, and ONE
// more XREADGROUP takes exactly the entries read: 4 + one HMGET per message, however many.
// Acknowledged: in the inbox's acknowledged set, or the flag a:<rkey> of the previous release in
// the message's hash (read with the envelope).
// KEYS: inbox, the inbox's acknowledged set. ARGV: group, terminal, count, rkey, message key
// prefix, byte budget, then the audit slot intake ('' = no audit entry), its wake-up channel,
// the batch's audit entry, and "1" when the caller already holds deliveries of this batch.
// The audit entry (the batch's consultation record, sealed by the caller) is RPUSHed to the
// audit slot intake concord:audit-intake:{msg} (undeclared, as in the send script) when the
// batch is not empty: the entries are taken and their record stored in one atomic script.
// Returns a flat array: per delivered entry, entry id, env, sha, acc.
// A missing group is a Lua error containing NOGROUP (the caller creates the group and retries).
const redis::Script& ReadNewScript() {
  static const redis::Script* script = new redis::Script(std::string(kAuditPushLua) + R"lua(
local out = {}
local stale = {}
local ack = 'a:' .. ARGV[4]
local count, budget, used, delivered = tonumber(ARGV[3]), tonumber(ARGV[6]), 0, 0
local function mid_of(f)
  if f then
    for i = 1, #f, 2 do
      if f[i] == 'm' then return f[i + 1] end
    end
  end
  return nil
end
local function envelope_of(mid)
  if not mid then return false end
  return redis.call('HMGET', ARGV[5] .. mid, 'env', 'sha', 'acc', ack)
end
-- The entry ids among `eids` in the acknowledged set (one ZMSCORE).
local function acked_of(eids)
  local t = {}
  if #eids == 0 then return t end
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(eids))
  for i = 1, #eids do
    if scores[i] then t[eids[i]] = true end
  end
  return t
end
local function take(eid, h)
  if not h or not h[1] or h[4] then
    stale[#stale + 1] = eid
  else
    out[#out + 1] = eid
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
    used = used + #h[1]
    delivered = delivered + 1
  end
end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if r and r[1] and #r[1][2] > 0 then
  local first = r[1][2][1]
  local last = first[1]
  local want, first_pending = count, true
  while true do
    local after = {}
    if want > 0 then
      after = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', want)
    end
    -- The first entry is checked with the entries after it: one ZMSCORE for the pass.
    local ids = {}
    if first_pending then ids[1] = first[1] end
    for i = 1, #after do ids[#ids + 1] = after[i][1] end
    local acked = acked_of(ids)
    if first_pending then
      first_pending = false
      take(first[1], not acked[first[1]] and envelope_of(mid_of(first[2])))
    end
    local room = count - delivered
    if room <= 0 or (budget > 0 and used >= budget) then break end
    local read, n, planned, cut = {}, 0, used, false
    for i = 1, math.min(#after, room) do
      if budget > 0 and planned >= budget then
        cut = true
        break
      end
      local h = not acked[after[i][1]] and envelope_of(mid_of(after[i][2]))
      n = n + 1
      read[n] = h
      if h and h[1] and not h[4] then planned = planned + #h[1] end
    end
    if n == 0 then break end
    local taken = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n,
                             'STREAMS', KEYS[1], '>')
    if not taken or not taken[1] or #taken[1][2] == 0 then break end
    local entries = taken[1][2]
    for i = 1, #entries do
      local e, h = entries[i], read[i]
      if not after[i] or e[1] ~= after[i][1] then
        h = not acked_of({e[1]})[e[1]] and envelope_of(mid_of(e[2]))
      end
      take(e[1], h)
      last = e[1]
    end
    if #after < want or cut then break end  -- the stream is exhausted, or the budget
    want = count - delivered
  end
end
if #stale > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(stale)) end
if ARGV[7] ~= '' and (delivered > 0 or ARGV[10] == '1') then
  concord_audit_push(ARGV[7], ARGV[8], ARGV[9])
end
return out
)lua");
  return *script;
}

// Stored fields of entries already pending (own pending, claimed), up to a byte budget.
// KEYS: the inbox's acknowledged set, m x k (one per entry). ARGV: rkey, byte budget (0 = none),
// entry id x k.
// Returns {consumed, then per consumed entry: state, env, sha, acc}: state 1 = deliver, 0 =
// stale (acknowledged by the recipient, in the acknowledged set or by the previous release's
// flag, or expired). Entries after `consumed` were not read (the budget was reached) and stay
// pending.
const redis::Script& LoadScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local budget, used, consumed = tonumber(ARGV[2]), 0, 0
local out = {0}
local ack = 'a:' .. ARGV[1]
local eids = {}
for i = 2, #KEYS do eids[#eids + 1] = ARGV[i + 1] end
local acked = {}
if #eids > 0 then acked = redis.call('ZMSCORE', KEYS[1], unpack(eids)) end
for i = 2, #KEYS do
  if budget > 0 and used >= budget then break end
  local h = redis.call('HMGET', KEYS[i], 'env', 'sha', 'acc', ack)
  consumed = i - 1
  if not h[1] or h[4] or acked[i - 1] then
    out[#out + 1] = 0
    out[#out + 1] = ''
    out[#out + 1] = ''
    out[#out + 1] = ''
  else
    out[#out + 1] = 1
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
    used = used + #h[1]
  end
end
out[1] = consumed
return out
)lua");
  return *script;
}

// One ListInbox page from candidate entries, newest first, up to page slots and a byte budget.
// KEYS: the inbox's acknowledged set, m x k (the candidates, in page order). ARGV: rkey, slots,
// byte budget (0 = none), unacknowledged only ("1"/"0"), entries already in the page (from earlier
// calls), then the candidates' entry ids x k.
// An entry is added only if the page stays within the budget (the page's first always is); its
// size is read with HSTRLEN before its envelope, so nothing beyond the page is read. Acknowledged:
// in the acknowledged set (one ZMSCORE for the call) or the previous release's flag (HEXISTS).
// Returns {consumed, then per consumed candidate: state, env, sha, acc, acked}: state 1 = in the
// page, 0 = skipped (expired, or acknowledged when only unacknowledged are asked for).
const redis::Script& ListPageScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local slots, budget, unacked_only = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local before = tonumber(ARGV[5])
local used, taken, consumed = 0, 0, 0
local out = {0}
local ack = 'a:' .. ARGV[1]
local eids = {}
for i = 2, #KEYS do eids[#eids + 1] = ARGV[i + 4] end
local in_set = {}
if #eids > 0 then in_set = redis.call('ZMSCORE', KEYS[1], unpack(eids)) end
for i = 2, #KEYS do
  if taken >= slots then break end
  local size = redis.call('HSTRLEN', KEYS[i], 'env')
  local acked = (in_set[i - 1] and true) or redis.call('HEXISTS', KEYS[i], ack) == 1
  if size == 0 or (unacked_only and acked) then
    consumed = i - 1
    out[#out + 1] = 0
    out[#out + 1] = ''
    out[#out + 1] = ''
    out[#out + 1] = ''
    out[#out + 1] = 0
  else
    if budget > 0 and before + taken > 0 and used + size > budget then break end
    local h = redis.call('HMGET', KEYS[i], 'env', 'sha', 'acc')
    consumed = i - 1
    taken = taken + 1
    used = used + size
    out[#out + 1] = 1
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[3]
    out[#out + 1] = acked and 1 or 0
  end
end
out[1] = consumed
return out
)lua");
  return *script;
}

// Expiry of one message. KEYS: m, gone, expiry, rcpt, inbox x n.
// ARGV: id, group, tombstone value, tombstone ttl ms, (entry id) x n aligned with the inboxes.
const redis::Script& RemoveScript() {
  static const redis::Script* script = new redis::Script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 0
end
for i = 5, #KEYS do
  redis.pcall('XACK', KEYS[i], ARGV[2], ARGV[i])
  redis.call('XDEL', KEYS[i], ARGV[i])
end
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
)lua");
  return *script;
}

// Receipt: only for a stored message; first receipt per (recipient, kind) wins.
// KEYS: m, rcpt. ARGV: field, value. Returns 1 stored, 0 identical, -1 different, -2 no message.
const redis::Script& ReceiptScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp then return -2 end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('PEXPIREAT', KEYS[2], exp)
  return 1
end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return 0 end
return -1
)lua");
  return *script;
}

// Begin (or restart) an upload. A new upload counts against the owner's pending uploads (a zset
// of attachment ids scored by their expiry, pruned here) and is charged to its upload bucket.
// KEYS: 1 att, 2 the owner's pending uploads, 3.. quota bucket x nq.
// ARGV: 1 owner, 2 ttl ms, 3 declared size, 4 attachment id, 5 pending cap (0 = none), 6 nq,
//       7.. bucket args.
// Returns {'ok'} | {'taken'} | {'cap', cap} | {'quota', i, ms}.
const redis::Script& BeginAttachmentScript() {
  static const redis::Script* script = new redis::Script(std::string(quota::kTokenBucketLua) +
                                                         R"lua(
local att = redis.call('HMGET', KEYS[1], 'owner', 'done')
if att[1] and (att[1] ~= ARGV[1] or att[2] == '1') then return {'taken'} end
local now, ttl, cap, nq = concord_now_ms(), tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[6])
if not att[1] then
  if cap > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= cap then return {'cap', cap} end
  end
  if nq > 0 then
    local refused = concord_charge(concord_charges(3, 7, nq))
    if refused ~= 0 then return {'quota', refused[1], refused[2]} end
  end
end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'size', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ttl)
return {'ok'}
)lua");
  return *script;
}

// KEYS: 1 att, 2 chunk, 3.. quota bucket x nq. ARGV: 1 index, 2 bytes, 3 sha hex, 4 nq,
// 5.. bucket args. Returns {'ok'} | {'closed'} | {'quota', i, ms}.
const redis::Script& PutChunkScript() {
  static const redis::Script* script = new redis::Script(std::string(quota::kTokenBucketLua) +
                                                         R"lua(
local att = redis.call('HMGET', KEYS[1], 'owner', 'done')
if not att[1] or att[2] == '1' then return {'closed'} end
local nq = tonumber(ARGV[4])
if nq > 0 then
  local refused = concord_charge(concord_charges(3, 5, nq))
  if refused ~= 0 then return {'quota', refused[1], refused[2]} end
end
local ttl = redis.call('PTTL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', math.max(ttl, 1000))
redis.call('HSET', KEYS[1], 'h:' .. ARGV[1], ARGV[3])
return {'ok'}
)lua");
  return *script;
}

// KEYS: att, chunk x n. ARGV: n. 1 ok, 0 not open, -1 missing chunk.
const redis::Script& CompleteAttachmentScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local att = redis.call('HMGET', KEYS[1], 'owner', 'done')
if not att[1] or att[2] == '1' then return 0 end
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then return -1 end
end
redis.call('HSET', KEYS[1], 'done', '1', 'chunks', ARGV[1])
return 1
)lua");
  return *script;
}

// An incomplete upload of its owner, deleted with its chunks; its pending slot freed.
// KEYS: att, the owner's pending uploads, chunk x n. ARGV: owner, attachment id.
// Returns 1 deleted, 0 not an incomplete upload of the owner (nothing done).
const redis::Script& AbortAttachmentScript() {
  static const redis::Script* script = new redis::Script(R"lua(
local att = redis.call('HMGET', KEYS[1], 'owner', 'done')
if att[1] ~= ARGV[1] or att[2] == '1' then return 0 end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
)lua");
  return *script;
}

Status Malformed(std::string_view what) {
  return absl::InternalError(
      absl::StrCat("messaging store: unexpected reply to ", std::string(what)));
}

bool IsEntryId(std::string_view s) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != dash && (s[i] < '0' || s[i] > '9')) return false;
  }
  return s.size() <= 41;
}

// Stream entries [[id, [f, v, ...]], ...] -> (entry id, message id); entries whose fields are
// nil (deleted while pending) get an empty message id.
void ParseEntries(const redis::Reply& list, std::vector<std::pair<std::string, std::string>>& out,
                  std::vector<std::string>* thread = nullptr,
                  std::vector<std::string>* kind = nullptr) {
  for (const redis::Reply& entry : list.elements) {
    if (entry.elements.size() != 2) continue;
    std::string message_id, t, k;
    const auto& fields = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == "m") message_id = fields[i + 1].str;
      if (fields[i].str == "t") t = fields[i + 1].str;
      if (fields[i].str == "k") k = fields[i + 1].str;
    }
    out.emplace_back(entry.elements[0].str, message_id);
    if (thread) thread->push_back(t);
    if (kind) kind->push_back(k);
  }
}

StatusOr<StoredMessage> ParseStored(const redis::Reply& env, const redis::Reply& sha,
                                    const redis::Reply& acc) {
  CONCORD_ASSIGN_OR_RETURN(Envelope e, DecodeStoredEnvelope(env.str));
  StoredMessage m;
  m.envelope = std::move(e);
  CONCORD_ASSIGN_OR_RETURN(m.envelope_sha256, crypto::HexDecode(sha.str));
  int64_t acc_ms = 0;
  if (!absl::SimpleAtoi(acc.str, &acc_ms)) return Malformed("accepted_at");
  m.accepted_at = absl::FromUnixMillis(acc_ms);
  return m;
}

// The reply of LoadScript for `entry_ids` (with their delivery `counts`): deliverable entries
// appended to `out`, entries acknowledged or expired meanwhile to `stale`. True when the byte
// budget cut the list (entries after the consumed ones stay pending).
StatusOr<bool> ParseLoadReply(const redis::Reply& r, const std::vector<std::string>& entry_ids,
                              const std::vector<uint32_t>& counts, std::vector<InboxDelivery>& out,
                              std::vector<std::string>& stale) {
  if (r.elements.empty()) return Malformed("load");
  const int64_t consumed = r.elements[0].integer;
  if (consumed < 0 || static_cast<size_t>(consumed) > entry_ids.size() ||
      r.elements.size() != 1 + 4 * static_cast<size_t>(consumed)) {
    return Malformed("load");
  }
  for (int64_t i = 0; i < consumed; ++i) {
    const redis::Reply* f = &r.elements[1 + 4 * i];
    if (f[0].integer != 1) {
      stale.push_back(entry_ids[i]);
      continue;
    }
    CONCORD_ASSIGN_OR_RETURN(StoredMessage m, ParseStored(f[1], f[2], f[3]));
    out.push_back({std::move(m), counts[i], entry_ids[i]});
  }
  return static_cast<size_t>(consumed) < entry_ids.size();
}

// The reply of ReadNewScript: first deliveries appended to `out`.
Status ParseReadNewReply(const redis::Reply& r, std::vector<InboxDelivery>& out) {
  if (r.type != redis::Reply::Type::kArray || r.elements.size() % 4 != 0) {
    return Malformed("deliver");
  }
  for (size_t i = 0; i < r.elements.size(); i += 4) {
    CONCORD_ASSIGN_OR_RETURN(StoredMessage m,
                             ParseStored(r.elements[i + 1], r.elements[i + 2], r.elements[i + 3]));
    out.push_back({std::move(m), 1, r.elements[i].str});
  }
  return absl::OkStatus();
}

// An own pending entry idle past the timeout is also returned by XAUTOCLAIM: keep it once.
// `redelivered` (the entries before it are redeliveries) is adjusted.
void DedupeEntries(std::vector<std::pair<std::string, std::string>>& entries, size_t& redelivered) {
  std::set<std::string> seen;
  std::vector<std::pair<std::string, std::string>> unique;
  size_t unique_redelivered = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!seen.insert(entries[i].first).second) continue;
    if (i < redelivered) ++unique_redelivered;
    unique.push_back(std::move(entries[i]));
  }
  entries = std::move(unique);
  redelivered = unique_redelivered;
}

// XPENDING's reply -> delivery counts of the first `redelivered` entries.
void ApplyPendingCounts(const redis::Reply& p,
                        const std::vector<std::pair<std::string, std::string>>& entries,
                        size_t redelivered, std::vector<uint32_t>& counts) {
  std::map<std::string, uint32_t> by_id;
  for (const redis::Reply& e : p.elements) {
    if (e.elements.size() == 4)
      by_id[e.elements[0].str] = static_cast<uint32_t>(e.elements[3].integer);
  }
  for (size_t i = 0; i < redelivered; ++i) {
    auto it = by_id.find(entries[i].first);
    if (it != by_id.end()) counts[i] = std::max<uint32_t>(it->second, 1);
  }
}

bool IsNoGroup(const Status& s) { return s.message().find("NOGROUP") != std::string_view::npos; }

}  // namespace

RedisMessageStore::RedisMessageStore(redis::RedisClient& redis, RedisMessageStoreOptions options)
    : redis_(redis), options_(std::move(options)) {}

// The send script's call for one message: built once, run by Send (RedisClient) or SendAsync
// (AsyncRedisClient), its reply read by SendReply.
struct RedisMessageStore::SendCall {
  std::string id;
  std::string sha;  // 32 bytes
  std::vector<quota::Charge> charges;
  std::vector<std::string> keys;
  std::vector<std::string> args;
  // One HMGET per attachment: the signed chunk references against what was uploaded.
  std::vector<std::vector<std::string>> attachment_checks;
};

RedisMessageStore::SendCall RedisMessageStore::BuildSendCall(const AgencyId& caller,
                                                             const Envelope& envelope,
                                                             absl::Time accepted_at,
                                                             std::string audit_entry) const {
  SendCall call;
  // The stored form is encoded once: its SHA-256 is the envelope hash (EnvelopeSha256).
  std::string stored = EncodeStoredEnvelope(envelope);
  const auto digest = crypto::Sha256(stored);
  call.sha.assign(reinterpret_cast<const char*>(digest.data()), digest.size());
  const std::string sha_hex = crypto::HexEncode(call.sha);
  call.id = envelope.message_id;
  const std::string sender = caller.Key();

  for (const Attachment& a : envelope.attachments) {
    std::vector<std::string> cmd = {"HMGET", AttKey(a.attachment_id)};
    for (const ChunkRef& c : a.chunks) cmd.push_back(absl::StrCat("h:", c.index));
    call.attachment_checks.push_back(std::move(cmd));
  }
  std::vector<quota::Charge>& charges = call.charges;
  if (options_.quotas != nullptr) {
    charges.push_back({quota::Quota::kSend, caller,
                       options_.quotas->Bucket(caller.type, quota::Quota::kSend), 1});
    charges.push_back({quota::Quota::kSendBytes, caller,
                       options_.quotas->Bucket(caller.type, quota::Quota::kSendBytes),
                       static_cast<int64_t>(stored.size())});
  }
  std::vector<std::string>& keys = call.keys;
  keys = {MsgKey(call.id), GoneKey(call.id), ExpiryKey(), InboxesKey(), PendingUploadsKey(sender)};
  // The send and send-bytes buckets share one key: one HMGET and one HSET per Send (was two).
  for (size_t i = 0; i < charges.size(); ++i) {
    keys.push_back(quota::SharedBucketKey(kTag, charges));
  }
  std::vector<std::string>& args = call.args;
  args = {call.id,
          sha_hex,
          std::move(stored),
          absl::StrCat(Ms(accepted_at)),
          absl::StrCat(Ms(envelope.expires_at)),
          envelope.thread_id,
          std::string(MessageKindName(envelope.kind)),
          sender,
          std::string(kDeliveriesChannel),
          std::string(kGroup),
          absl::StrCat(envelope.recipients.size()),
          absl::StrCat(envelope.attachments.size()),
          absl::StrCat(charges.size())};
  for (const quota::Charge& c : charges) quota::AppendChargeArgs(c, args);
  for (const AgencyId& r : envelope.recipients) {
    keys.push_back(InboxKey(r.Key()));
    args.push_back(r.Key());
  }
  for (const Attachment& a : envelope.attachments) {
    keys.push_back(AttKey(a.attachment_id));
    args.push_back(a.attachment_id);
  }
  for (const Attachment& a : envelope.attachments) {
    args.push_back(absl::StrCat(a.chunks.size()));
    for (const ChunkRef& c : a.chunks) keys.push_back(ChunkKey(a.attachment_id, c.index));
  }
  for (const Attachment& a : envelope.attachments) args.push_back(absl::StrCat(a.size));
  args.push_back(audit_entry.empty() ? std::string() : audit::SlotIntakeKey(kTag));
  args.push_back(std::string(audit::kIntakeChannel));
  args.push_back(std::move(audit_entry));
  return call;
}

namespace {
// Attachments are immutable once complete: the signed chunk references must match what was
// uploaded before the script binds them (the recipient verifies the chunks again).
Status CheckAttachmentUpload(const Attachment& a, const redis::Reply& r) {
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    if (i >= r.elements.size() || r.elements[i].str != crypto::HexEncode(a.chunks[i].sha256)) {
      return WithReason(
          absl::FailedPreconditionError(absl::StrCat("attachment ", a.attachment_id,
                                                     " does not match its upload (chunk ", i, ")")),
          "ATTACHMENT_UNAVAILABLE");
    }
  }
  return absl::OkStatus();
}
}  // namespace

StatusOr<SendResult> RedisMessageStore::SendReply(const SendCall& call, const redis::Reply& r) {
  if (r.elements.size() < 2) return Malformed("send");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "quota") {
    if (r.elements.size() != 3) return Malformed("send");
    const int64_t i = r.elements[1].integer;
    if (i < 1 || static_cast<size_t>(i) > call.charges.size()) return Malformed("send");
    return quota::QuotaRefusal(call.charges[i - 1], absl::Milliseconds(r.elements[2].integer));
  }
  const bool ok = outcome == "ok";
  if (r.elements.size() != (ok ? 3u : 2u)) return Malformed("send");
  if (outcome == "conflict") {
    return WithReason(absl::AlreadyExistsError("message id already used for a different envelope"),
                      "MESSAGE_ID_REUSED");
  }
  if (outcome == "noatt") {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "attachment ", r.elements[1].str,
                          " is not a complete upload of the sender of the declared size, or is "
                          "used by another message")),
                      "ATTACHMENT_UNAVAILABLE");
  }
  if (!ok && outcome != "dup") return Malformed("send");
  int64_t acc_ms = 0;
  if (!absl::SimpleAtoi(r.elements[1].str, &acc_ms)) return Malformed("send");
  return SendResult{call.id, call.sha, absl::FromUnixMillis(acc_ms), !ok,
                    ok && r.elements[2].integer == 1};
}

StatusOr<SendResult> RedisMessageStore::Send(const AgencyId& caller, const Envelope& envelope,
                                             absl::Time accepted_at) {
  const SendCall call = BuildSendCall(caller, envelope, accepted_at, {});
  for (size_t i = 0; i < call.attachment_checks.size(); ++i) {
    CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command(call.attachment_checks[i]));
    CONCORD_RETURN_IF_ERROR(CheckAttachmentUpload(envelope.attachments[i], r));
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(SendScript(), call.keys, call.args));
  return SendReply(call, r);
}

void RedisMessageStore::SendAsync(const AgencyId& caller, const Envelope& envelope,
                                  absl::Time accepted_at, std::string audit_entry,
                                  SendCallback done) {
  if (async_ == nullptr) return done(Send(caller, envelope, accepted_at));
  auto call = std::make_shared<SendCall>(
      BuildSendCall(caller, envelope, accepted_at, std::move(audit_entry)));
  if (call->attachment_checks.empty()) return RunSendScript(std::move(call), std::move(done));
  std::vector<std::vector<std::string>> checks = std::move(call->attachment_checks);
  async_->Pipeline(std::move(checks),
                   [this, call, attachments = envelope.attachments,
                    done = std::move(done)](StatusOr<std::vector<redis::Reply>> replies) mutable {
                     if (!replies.ok()) return done(replies.status());
                     for (size_t i = 0; i < attachments.size() && i < replies->size(); ++i) {
                       const redis::Reply& r = (*replies)[i];
                       if (r.is_error())
                         return done(absl::InternalError(absl::StrCat("redis: ", r.str)));
                       if (Status s = CheckAttachmentUpload(attachments[i], r); !s.ok())
                         return done(s);
                     }
                     RunSendScript(std::move(call), std::move(done));
                   });
}

void RedisMessageStore::RunSendScript(std::shared_ptr<SendCall> call, SendCallback done) {
  std::vector<std::string> keys = std::move(call->keys);
  std::vector<std::string> args = std::move(call->args);
  async_->Eval(SendScript(), std::move(keys), std::move(args),
               [call, done = std::move(done)](StatusOr<redis::Reply> r) {
                 if (!r.ok()) return done(r.status());
                 done(SendReply(*call, *r));
               });
}

StatusOr<StoredMessage> RedisMessageStore::Get(const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HMGET", MsgKey(message_id), "env", "sha", "acc"}));
  if (r.elements.size() != 3) return Malformed("get");
  if (r.elements[0].is_nil()) return absl::NotFoundError("no such message");
  return ParseStored(r.elements[0], r.elements[1], r.elements[2]);
}

namespace {

// The inbox may be created by a delivery read (MKSTREAM): it joins the known inboxes as well,
// since Send registers only the inboxes it creates (its XADD NOMKSTREAM finds this one), and the
// backlog gauge reads the known inboxes. Shared by EnsureGroup and DeliverAsync.
std::vector<std::vector<std::string>> EnsureGroupCommands(const std::string& rkey) {
  return {{"XGROUP", "CREATE", InboxKey(rkey), std::string(kGroup), "0", "MKSTREAM"},
          {"SADD", InboxesKey(), rkey}};
}

Status EnsureGroupReplies(const StatusOr<std::vector<redis::Reply>>& replies) {
  if (!replies.ok()) return replies.status();
  for (const redis::Reply& r : *replies) {
    if (r.is_error() && r.str.find("BUSYGROUP") == std::string::npos) {
      return absl::InternalError(absl::StrCat("redis: ", r.str));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Status RedisMessageStore::EnsureGroup(const std::string& rkey) {
  return EnsureGroupReplies(redis_.Pipeline(EnsureGroupCommands(rkey)));
}

bool RedisMessageStore::ClaimDue(const std::string& inbox, const std::string& terminal,
                                 absl::Duration visibility_timeout, bool new_stream) {
  // XAUTOCLAIM scans the inbox's pending list; on every Deliver call (i.e. on every wake-up of a
  // busy stream) it was a third Redis round trip per batch, for redeliveries that are only due
  // after the visibility timeout. Run it on a new stream, and then at most every
  // min(timeout / 4, 1 s) per inbox and terminal: a redelivery is at most that much later.
  const absl::Duration every = std::min(visibility_timeout / 4, absl::Seconds(1));
  const absl::Time now = absl::Now();
  const std::string key = absl::StrCat(inbox, "|", terminal);
  std::lock_guard<std::mutex> lock(claim_mu_);
  auto it = last_claim_.find(key);
  if (!new_stream && it != last_claim_.end() && now - it->second < every) return false;
  if (last_claim_.size() >= 10000) last_claim_.clear();  // bounded; worst case one early claim
  last_claim_[key] = now;
  return true;
}

StatusOr<std::vector<InboxDelivery>> RedisMessageStore::Deliver(
    const AgencyId& recipient, const std::string& terminal, size_t max,
    absl::Duration visibility_timeout, bool include_own_pending, size_t max_bytes) {
  const std::string inbox = InboxKey(recipient.Key());
  const std::string count = absl::StrCat(std::max<size_t>(max, 1));
  std::vector<std::pair<std::string, std::string>> entries;
  size_t redelivered = 0;

  auto read_group = [&](const std::string& from) -> Status {
    auto r = redis_.Command({"XREADGROUP", "GROUP", std::string(kGroup), terminal, "COUNT", count,
                             "STREAMS", inbox, from});
    if (!r.ok() && r.status().message().find("NOGROUP") != std::string_view::npos) {
      CONCORD_RETURN_IF_ERROR(EnsureGroup(recipient.Key()));
      r = redis_.Command({"XREADGROUP", "GROUP", std::string(kGroup), terminal, "COUNT", count,
                          "STREAMS", inbox, from});
    }
    if (!r.ok()) return r.status();
    for (const redis::Reply& stream : r->elements) {
      if (stream.elements.size() == 2) ParseEntries(stream.elements[1], entries);
    }
    return absl::OkStatus();
  };

  if (include_own_pending) {
    CONCORD_RETURN_IF_ERROR(read_group("0"));
    redelivered = entries.size();
  }
  if (entries.size() < max && ClaimDue(inbox, terminal, visibility_timeout, include_own_pending)) {
    auto r = redis_.Command({"XAUTOCLAIM", inbox, std::string(kGroup), terminal,
                             absl::StrCat(absl::ToInt64Milliseconds(visibility_timeout)), "0-0",
                             "COUNT", absl::StrCat(max - entries.size())});
    if (r.ok() && r->elements.size() >= 2) {
      ParseEntries(r->elements[1], entries);
      redelivered = entries.size();
    } else if (!r.ok() && r.status().message().find("NOGROUP") == std::string_view::npos) {
      return r.status();
    }
  }
  std::vector<InboxDelivery> out;
  size_t used = 0;  // envelope bytes of `out`
  bool budget_hit = false;
  if (!entries.empty()) {
    DedupeEntries(entries, redelivered);

    // Delivery counts for redeliveries (new deliveries are 1).
    std::vector<uint32_t> counts(entries.size(), 1);
    if (redelivered > 0) {
      auto p = redis_.Command({"XPENDING", inbox, std::string(kGroup), "-", "+",
                               absl::StrCat(std::max<size_t>(redelivered * 4, 64)), terminal});
      if (p.ok()) ApplyPendingCounts(*p, entries, redelivered, counts);
    }
    std::vector<Entry> list;
    list.reserve(entries.size());
    for (auto& [eid, mid] : entries) list.push_back({eid, mid});
    CONCORD_ASSIGN_OR_RETURN(budget_hit, Load(recipient, list, counts, max_bytes, out));
    for (const InboxDelivery& d : out) used += d.message.envelope.body.ciphertext.size();
  }
  // New messages: one script call reads the stream and the envelopes (was XREADGROUP plus a
  // pipeline of HMGETs, two round trips per wake-up of every Subscribe stream).
  if (!budget_hit && entries.size() < max && (max_bytes == 0 || used < max_bytes)) {
    CONCORD_RETURN_IF_ERROR(ReadNew(inbox, recipient.Key(), terminal, max - entries.size(),
                                    max_bytes == 0 ? 0 : max_bytes - used, out));
  }
  return out;
}

struct RedisMessageStore::DeliverCall {
  AgencyId recipient;
  std::string rkey;
  std::string inbox;
  std::string terminal;
  size_t max = 1;
  absl::Duration visibility_timeout;
  bool include_own_pending = false;
  size_t max_bytes = 0;
  std::vector<std::pair<std::string, std::string>> entries;  // pending: (entry id, message id)
  size_t redelivered = 0;
  std::vector<uint32_t> counts;
  std::vector<InboxDelivery> out;
  std::string audit_entry;  // the batch's sealed audit record ("" = none)
  DeliverCallback done;

  void Finish(StatusOr<std::vector<InboxDelivery>> result) {
    DeliverCallback callback = std::move(done);
    callback(std::move(result));
  }
};

void RedisMessageStore::DeliverAsync(const AgencyId& recipient, const std::string& terminal,
                                     size_t max, absl::Duration visibility_timeout,
                                     bool include_own_pending, size_t max_bytes,
                                     std::string audit_entry, DeliverCallback done) {
  if (async_ == nullptr) {
    return done(
        Deliver(recipient, terminal, max, visibility_timeout, include_own_pending, max_bytes));
  }
  auto call = std::make_shared<DeliverCall>();
  call->recipient = recipient;
  call->rkey = recipient.Key();
  call->inbox = InboxKey(call->rkey);
  call->terminal = terminal;
  call->max = std::max<size_t>(max, 1);
  call->visibility_timeout = visibility_timeout;
  call->include_own_pending = include_own_pending;
  call->max_bytes = max_bytes;
  call->audit_entry = std::move(audit_entry);
  call->done = std::move(done);
  if (!include_own_pending) return DeliverClaim(std::move(call));
  // A new stream first takes back its terminal's own pending deliveries (as Deliver).
  async_->Command({"XREADGROUP", "GROUP", std::string(kGroup), terminal, "COUNT",
                   absl::StrCat(call->max), "STREAMS", call->inbox, "0"},
                  [this, call](StatusOr<redis::Reply> r) {
                    // No group yet: nothing is pending (ReadNew creates the group).
                    if (!r.ok() && !IsNoGroup(r.status())) return call->Finish(r.status());
                    if (r.ok()) {
                      for (const redis::Reply& stream : r->elements) {
                        if (stream.elements.size() == 2) {
                          ParseEntries(stream.elements[1], call->entries);
                        }
                      }
                    }
                    call->redelivered = call->entries.size();
                    DeliverClaim(call);
                  });
}

void RedisMessageStore::DeliverClaim(std::shared_ptr<DeliverCall> call) {
  if (call->entries.size() >= call->max ||
      !ClaimDue(call->inbox, call->terminal, call->visibility_timeout, call->include_own_pending)) {
    return DeliverCounts(std::move(call));
  }
  async_->Command({"XAUTOCLAIM", call->inbox, std::string(kGroup), call->terminal,
                   absl::StrCat(absl::ToInt64Milliseconds(call->visibility_timeout)), "0-0",
                   "COUNT", absl::StrCat(call->max - call->entries.size())},
                  [this, call](StatusOr<redis::Reply> r) {
                    if (r.ok() && r->elements.size() >= 2) {
                      ParseEntries(r->elements[1], call->entries);
                      call->redelivered = call->entries.size();
                    } else if (!r.ok() && !IsNoGroup(r.status())) {
                      return call->Finish(r.status());
                    }
                    DeliverCounts(call);
                  });
}

void RedisMessageStore::DeliverCounts(std::shared_ptr<DeliverCall> call) {
  if (call->entries.empty()) return DeliverNew(std::move(call), false);
  DedupeEntries(call->entries, call->redelivered);
  call->counts.assign(call->entries.size(), 1);
  if (call->redelivered == 0) return DeliverLoad(std::move(call));
  async_->Command({"XPENDING", call->inbox, std::string(kGroup), "-", "+",
                   absl::StrCat(std::max<size_t>(call->redelivered * 4, 64)), call->terminal},
                  [this, call](StatusOr<redis::Reply> p) {
                    if (p.ok())
                      ApplyPendingCounts(*p, call->entries, call->redelivered, call->counts);
                    DeliverLoad(call);
                  });
}

void RedisMessageStore::DeliverLoad(std::shared_ptr<DeliverCall> call) {
  std::vector<std::string> keys;
  std::vector<std::string> args = {call->rkey, absl::StrCat(call->max_bytes)};
  keys.reserve(1 + call->entries.size());
  args.reserve(2 + call->entries.size());
  keys.push_back(AckedKey(call->rkey));
  for (const auto& [eid, mid] : call->entries) {
    keys.push_back(MsgKey(mid.empty() ? "-" : mid));
    args.push_back(eid);
  }
  async_->Eval(LoadScript(), std::move(keys), std::move(args),
               [this, call](StatusOr<redis::Reply> r) {
                 if (!r.ok()) return call->Finish(r.status());
                 std::vector<std::string> ids;
                 ids.reserve(call->entries.size());
                 for (const auto& [eid, mid] : call->entries) ids.push_back(eid);
                 std::vector<std::string> stale;
                 StatusOr<bool> cut = ParseLoadReply(*r, ids, call->counts, call->out, stale);
                 if (!cut.ok()) return call->Finish(cut.status());
                 size_t used = 0;
                 for (const InboxDelivery& d : call->out)
                   used += d.message.envelope.body.ciphertext.size();
                 const bool more = !*cut && call->entries.size() < call->max &&
                                   (call->max_bytes == 0 || used < call->max_bytes);
                 auto next = [this, call, more] {
                   if (!more) return FinishAudited(call);
                   DeliverNew(call, false);
                 };
                 if (stale.empty()) return next();
                 std::vector<std::string> cmd = {"XACK", call->inbox, std::string(kGroup)};
                 cmd.insert(cmd.end(), stale.begin(), stale.end());
                 async_->Command(std::move(cmd), [call, next](StatusOr<redis::Reply> a) {
                   if (!a.ok()) return call->Finish(a.status());
                   next();
                 });
               });
}

void RedisMessageStore::DeliverNew(std::shared_ptr<DeliverCall> call, bool group_created) {
  size_t used = 0;
  for (const InboxDelivery& d : call->out) used += d.message.envelope.body.ciphertext.size();
  const size_t count = call->max - std::min(call->entries.size(), call->max - 1);
  const size_t budget =
      call->max_bytes == 0 ? 0 : call->max_bytes - std::min(used, call->max_bytes);
  const bool audited = !call->audit_entry.empty();
  async_->Eval(
      ReadNewScript(), {call->inbox, AckedKey(call->rkey)},
      {std::string(kGroup), call->terminal, absl::StrCat(count), call->rkey, redis::Key(kTag, "m:"),
       absl::StrCat(budget), audited ? audit::SlotIntakeKey(kTag) : std::string(),
       std::string(audit::kIntakeChannel), call->audit_entry, call->out.empty() ? "0" : "1"},
      [this, call, group_created](StatusOr<redis::Reply> r) {
        if (!r.ok() && IsNoGroup(r.status()) && !group_created) {
          return async_->Pipeline(EnsureGroupCommands(call->rkey),
                                  [this, call](StatusOr<std::vector<redis::Reply>> g) {
                                    if (Status s = EnsureGroupReplies(g); !s.ok()) {
                                      return call->Finish(s);
                                    }
                                    DeliverNew(call, true);
                                  });
        }
        if (!r.ok()) return call->Finish(r.status());
        if (Status parsed = ParseReadNewReply(*r, call->out); !parsed.ok()) {
          return call->Finish(parsed);
        }
        call->Finish(std::move(call->out));
      });
}

// A batch of pending entries only (the read script, which stores the audit entry itself, did not
// run): the entry is appended on its own before the batch is handed over.
void RedisMessageStore::FinishAudited(std::shared_ptr<DeliverCall> call) {
  if (call->out.empty() || call->audit_entry.empty()) return call->Finish(std::move(call->out));
  async_->Command({"RPUSH", audit::SlotIntakeKey(kTag), call->audit_entry},
                  [this, call](StatusOr<redis::Reply> r) {
                    if (r.ok() && r->is_error()) {
                      r = absl::InternalError(absl::StrCat("redis: ", r->str));
                    }
                    if (!r.ok()) return call->Finish(r.status());
                    if (r->integer == 1) {  // the intake was empty: wake the ingester
                      async_->Command({"PUBLISH", std::string(audit::kIntakeChannel), ""},
                                      [](StatusOr<redis::Reply>) {});
                    }
                    call->Finish(std::move(call->out));
                  });
}

Status RedisMessageStore::ReadNew(const std::string& inbox, const std::string& rkey,
                                  const std::string& terminal, size_t count, size_t max_bytes,
                                  std::vector<InboxDelivery>& out) {
  const std::vector<std::string> keys = {inbox, AckedKey(rkey)};
  const std::vector<std::string> args = {std::string(kGroup),
                                         terminal,
                                         absl::StrCat(count),
                                         rkey,
                                         redis::Key(kTag, "m:"),
                                         absl::StrCat(max_bytes),
                                         "",
                                         "",
                                         "",
                                         "0"};
  auto r = redis_.Eval(ReadNewScript(), keys, args);
  if (!r.ok() && r.status().message().find("NOGROUP") != std::string_view::npos) {
    CONCORD_RETURN_IF_ERROR(EnsureGroup(rkey));
    r = redis_.Eval(ReadNewScript(), keys, args);
  }
  if (!r.ok()) return r.status();
  return ParseReadNewReply(*r, out);
}

StatusOr<bool> RedisMessageStore::Load(const AgencyId& recipient, const std::vector<Entry>& entries,
                                       const std::vector<uint32_t>& counts, size_t max_bytes,
                                       std::vector<InboxDelivery>& out) {
  const std::string rkey = recipient.Key();
  std::vector<std::string> keys;
  std::vector<std::string> args = {rkey, absl::StrCat(max_bytes)};
  keys.reserve(1 + entries.size());
  args.reserve(2 + entries.size());
  keys.push_back(AckedKey(rkey));
  for (const Entry& e : entries) {
    keys.push_back(MsgKey(e.message_id.empty() ? "-" : e.message_id));
    args.push_back(e.entry_id);
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(LoadScript(), keys, args));
  std::vector<std::string> ids;
  ids.reserve(entries.size());
  for (const Entry& e : entries) ids.push_back(e.entry_id);
  std::vector<std::string> stale;  // acknowledged or expired meanwhile: drop from the PEL
  CONCORD_ASSIGN_OR_RETURN(const bool cut, ParseLoadReply(r, ids, counts, out, stale));
  if (!stale.empty()) {
    std::vector<std::string> cmd = {"XACK", InboxKey(rkey), std::string(kGroup)};
    cmd.insert(cmd.end(), stale.begin(), stale.end());
    CONCORD_RETURN_IF_ERROR(redis_.Command(cmd).status());
  }
  // Entries after the consumed ones were not read: they stay pending and come again (visibility
  // timeout), so one batch never holds more than the budget plus one envelope.
  return cut;
}

namespace {
// The ack script's call (KEYS and ARGV of AckScript), built once for both clients.
struct AckCall {
  std::vector<quota::Charge> charges;  // the msg_ack bucket, one token per id (none: no quotas)
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

AckCall BuildAckCall(const quota::QuotaTable* quotas, const AgencyId& recipient,
                     const std::vector<std::string>& message_ids, absl::Time now,
                     std::vector<std::string> audit_entries) {
  const std::string rkey = recipient.Key();
  AckCall call;
  if (quotas != nullptr) {
    call.charges.push_back({quota::Quota::kMsgAck, recipient,
                            quotas->Bucket(recipient.type, quota::Quota::kMsgAck),
                            static_cast<int64_t>(message_ids.size())});
  }
  call.keys.reserve(3 + message_ids.size());
  call.keys.push_back(InboxKey(rkey));
  call.keys.push_back(AckedKey(rkey));
  for (const std::string& id : message_ids) call.keys.push_back(MsgKey(id));
  call.args = {rkey, absl::StrCat(Ms(now)), std::string(kGroup), absl::StrCat(message_ids.size()),
               absl::StrCat(Ms(now - kAckedGrace))};
  // One entry per id, or none.
  const bool audited = !audit_entries.empty() && audit_entries.size() == message_ids.size();
  call.args.push_back(audited ? audit::SlotIntakeKey(kTag) : std::string());
  call.args.push_back(std::string(audit::kIntakeChannel));
  if (audited) {
    for (std::string& e : audit_entries) call.args.push_back(std::move(e));
  }
  quota::AppendTrailingCharges(kTag, call.charges, call.keys, call.args);
  return call;
}

StatusOr<uint32_t> AckReply(const std::vector<quota::Charge>& charges, const redis::Reply& r) {
  if (std::optional<Status> refused = quota::RefusalOfReply(r, charges)) return *refused;
  if (r.elements.size() != 2) return Malformed("ack");
  if (r.elements[0].integer < 0) {
    return absl::NotFoundError(
        absl::StrCat("message_ids[", r.elements[1].integer - 1, "] is not in the caller's inbox"));
  }
  return static_cast<uint32_t>(r.elements[0].integer);
}
}  // namespace

StatusOr<uint32_t> RedisMessageStore::Ack(const AgencyId& recipient,
                                          const std::vector<std::string>& message_ids,
                                          absl::Time now) {
  const AckCall call = BuildAckCall(options_.quotas, recipient, message_ids, now, {});
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(AckScript(), call.keys, call.args));
  return AckReply(call.charges, r);
}

void RedisMessageStore::AckAsync(const AgencyId& recipient,
                                 const std::vector<std::string>& message_ids, absl::Time now,
                                 std::vector<std::string> audit_entries, AckCallback done) {
  if (async_ == nullptr) return done(Ack(recipient, message_ids, now));
  AckCall call =
      BuildAckCall(options_.quotas, recipient, message_ids, now, std::move(audit_entries));
  std::vector<std::string> keys = std::move(call.keys);
  std::vector<std::string> args = std::move(call.args);
  async_->Eval(
      AckScript(), std::move(keys), std::move(args),
      [charges = std::move(call.charges), done = std::move(done)](StatusOr<redis::Reply> r) {
        if (!r.ok()) return done(r.status());
        done(AckReply(charges, *r));
      });
}

StatusOr<InboxPage> RedisMessageStore::ListInbox(const AgencyId& recipient,
                                                 const InboxQuery& query) {
  if (!query.page_token.empty() && !IsEntryId(query.page_token)) {
    return InvalidArgumentWithFields("invalid page token", {{"page.page_token", "malformed"}});
  }
  const size_t page_size = std::clamp<size_t>(query.page_size == 0 ? 50 : query.page_size, 1, 500);
  const std::string rkey = recipient.Key();
  const std::string inbox = InboxKey(rkey);
  const std::string kind = query.kind ? std::string(MessageKindName(*query.kind)) : "";
  InboxPage page;
  std::string cursor = query.page_token;
  size_t scanned = 0;
  size_t used = 0;    // envelope bytes in the page
  bool full = false;  // slots or bytes exhausted
  const size_t batch = std::max<size_t>(page_size, 64);
  while (!full && page.items.size() < page_size && scanned < kMaxScanPerPage) {
    CONCORD_ASSIGN_OR_RETURN(
        redis::Reply r, redis_.Command({"XREVRANGE", inbox, cursor.empty() ? "+" : "(" + cursor,
                                        "-", "COUNT", absl::StrCat(batch)}));
    std::vector<std::pair<std::string, std::string>> entries;
    std::vector<std::string> threads, kinds;
    ParseEntries(r, entries, &threads, &kinds);
    scanned += entries.size();
    std::vector<size_t> candidates;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!query.thread_id.empty() && threads[i] != query.thread_id) continue;
      if (!kind.empty() && kinds[i] != kind) continue;
      candidates.push_back(i);
    }
    size_t last_consumed = entries.size();  // index after the last entry this page consumed
    if (!candidates.empty()) {
      // One script call fills the page from the candidates, within the page's slots and byte
      // budget, reading no envelope beyond the page (memory per call: the budget).
      size_t budget = 0;
      if (query.max_bytes > 0) budget = used < query.max_bytes ? query.max_bytes - used : 1;
      std::vector<std::string> keys;
      std::vector<std::string> args = {rkey, absl::StrCat(page_size - page.items.size()),
                                       absl::StrCat(budget), query.unacknowledged_only ? "1" : "0",
                                       absl::StrCat(page.items.size())};
      keys.reserve(1 + candidates.size());
      keys.push_back(AckedKey(rkey));
      for (size_t i : candidates) {
        keys.push_back(MsgKey(entries[i].second));
        args.push_back(entries[i].first);
      }
      CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(ListPageScript(), keys, args));
      if (r.elements.empty()) return Malformed("list");
      const int64_t consumed = r.elements[0].integer;
      if (consumed < 0 || static_cast<size_t>(consumed) > candidates.size() ||
          r.elements.size() != 1 + 5 * static_cast<size_t>(consumed)) {
        return Malformed("list");
      }
      for (int64_t c = 0; c < consumed; ++c) {
        const redis::Reply* f = &r.elements[1 + 5 * c];
        if (f[0].integer != 1) continue;
        used += f[1].str.size();
        CONCORD_ASSIGN_OR_RETURN(StoredMessage stored, ParseStored(f[1], f[2], f[3]));
        page.items.push_back({std::move(stored), f[4].integer == 1});
      }
      if (static_cast<size_t>(consumed) < candidates.size()) {
        last_consumed = candidates[consumed];  // the page is full (slots or bytes)
        full = true;
      }
    }
    if (entries.size() < batch && last_consumed == entries.size()) {
      return page;  // the stream is exhausted
    }
    if (last_consumed > 0) cursor = entries[last_consumed - 1].first;
  }
  page.next_page_token = cursor;
  return page;
}

StatusOr<bool> RedisMessageStore::InInbox(const AgencyId& recipient,
                                          const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HEXISTS", MsgKey(message_id), "e:" + recipient.Key()}));
  return r.integer == 1;
}

StatusOr<bool> RedisMessageStore::IsAcknowledged(const AgencyId& recipient,
                                                 const std::string& message_id) {
  const std::string rkey = recipient.Key();
  // The entry id of the message in the inbox and the previous release's flag, then the inbox's
  // acknowledged set (members: entry ids).
  CONCORD_ASSIGN_OR_RETURN(redis::Reply h,
                           redis_.Command({"HMGET", MsgKey(message_id), "e:" + rkey, "a:" + rkey}));
  if (h.elements.size() != 2) return Malformed("acknowledged");
  if (!h.elements[1].is_nil()) return true;
  if (h.elements[0].is_nil()) return false;
  CONCORD_ASSIGN_OR_RETURN(redis::Reply z,
                           redis_.Command({"ZSCORE", AckedKey(rkey), h.elements[0].str}));
  return !z.is_nil();
}

Status RedisMessageStore::AddReceipt(const Receipt& receipt) {
  const std::string field = absl::StrCat(
      receipt.recipient.Key(), "|", receipt.kind == ReceiptKind::kDelivered ? "delivered" : "read");
  const std::string value =
      absl::StrCat(absl::ToUnixNanos(receipt.at), "|", crypto::HexEncode(receipt.envelope_sha256),
                   "|", crypto::HexEncode(receipt.signature));
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Eval(ReceiptScript(), {MsgKey(receipt.message_id), ReceiptsKey(receipt.message_id)},
                  {field, value}));
  if (r.integer == -2) return absl::NotFoundError("no such message");
  if (r.integer == -1) {
    return WithReason(absl::AlreadyExistsError("a different receipt of this kind exists"),
                      "RECEIPT_EXISTS");
  }
  return absl::OkStatus();
}

StatusOr<std::vector<Receipt>> RedisMessageStore::ListReceipts(const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HGETALL", ReceiptsKey(message_id)}));
  std::vector<Receipt> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    std::vector<std::string> field = absl::StrSplit(r.elements[i].str, '|');
    std::vector<std::string> value = absl::StrSplit(r.elements[i + 1].str, '|');
    if (field.size() != 2 || value.size() != 3) return Malformed("receipt");
    Receipt rc;
    rc.message_id = message_id;
    CONCORD_ASSIGN_OR_RETURN(rc.recipient, ParseAgencyKey(options_.trust_domain, field[0]));
    rc.kind = field[1] == "delivered" ? ReceiptKind::kDelivered : ReceiptKind::kRead;
    int64_t at = 0;
    if (!absl::SimpleAtoi(value[0], &at)) return Malformed("receipt time");
    rc.at = absl::FromUnixNanos(at);
    CONCORD_ASSIGN_OR_RETURN(rc.envelope_sha256, crypto::HexDecode(value[1]));
    CONCORD_ASSIGN_OR_RETURN(rc.signature, crypto::HexDecode(value[2]));
    out.push_back(std::move(rc));
  }
  std::sort(out.begin(), out.end(), [](const Receipt& a, const Receipt& b) {
    return std::tie(a.at, a.message_id) < std::tie(b.at, b.message_id);
  });
  return out;
}

Status RedisMessageStore::BeginAttachment(const std::string& attachment_id, const AgencyId& owner,
                                          uint64_t size) {
  const std::string rkey = owner.Key();
  int cap = 0;
  std::vector<quota::Charge> charges;
  if (options_.quotas != nullptr) {
    cap = options_.quotas->CapOf(owner.type, quota::Cap::kPendingUploads);
    charges.push_back({quota::Quota::kUpload, owner,
                       options_.quotas->Bucket(owner.type, quota::Quota::kUpload), 1});
  }
  std::vector<std::string> keys = {AttKey(attachment_id), PendingUploadsKey(rkey)};
  std::vector<std::string> args = {
      rkey,
      absl::StrCat(absl::ToInt64Milliseconds(options_.unsent_attachment_ttl)),
      absl::StrCat(size),
      attachment_id,
      absl::StrCat(cap),
      absl::StrCat(charges.size())};
  for (const quota::Charge& c : charges) {
    keys.push_back(quota::BucketKey(kTag, c));
    quota::AppendChargeArgs(c, args);
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(BeginAttachmentScript(), keys, args));
  if (r.elements.empty()) return Malformed("begin attachment");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "ok") return absl::OkStatus();
  if (outcome == "taken") {
    return WithReason(absl::AlreadyExistsError("attachment id already used"),
                      "ATTACHMENT_ID_REUSED");
  }
  if (outcome == "cap" && r.elements.size() == 2) {
    // A slot frees when an upload is sent or expires: no sooner than a minute is worth it.
    return quota::CapRefusal(owner, quota::Cap::kPendingUploads,
                             static_cast<int>(r.elements[1].integer), absl::Minutes(1));
  }
  if (outcome == "quota" && r.elements.size() == 3 && r.elements[1].integer == 1 &&
      !charges.empty()) {
    return quota::QuotaRefusal(charges[0], absl::Milliseconds(r.elements[2].integer));
  }
  return Malformed("begin attachment");
}

Status RedisMessageStore::PutChunk(const std::string& attachment_id, const AgencyId& owner,
                                   uint32_t index, const std::string& canonical_chunk) {
  const auto digest = crypto::Sha256(canonical_chunk);
  const std::string sha(reinterpret_cast<const char*>(digest.data()), digest.size());
  std::vector<quota::Charge> charges;
  if (options_.quotas != nullptr) {
    charges.push_back({quota::Quota::kUploadBytes, owner,
                       options_.quotas->Bucket(owner.type, quota::Quota::kUploadBytes),
                       static_cast<int64_t>(canonical_chunk.size())});
  }
  std::vector<std::string> keys = {AttKey(attachment_id), ChunkKey(attachment_id, index)};
  std::vector<std::string> args = {absl::StrCat(index), canonical_chunk, crypto::HexEncode(sha),
                                   absl::StrCat(charges.size())};
  for (const quota::Charge& c : charges) {
    keys.push_back(quota::BucketKey(kTag, c));
    quota::AppendChargeArgs(c, args);
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(PutChunkScript(), keys, args));
  if (r.elements.empty()) return Malformed("put chunk");
  const std::string& outcome = r.elements[0].str;
  if (outcome == "ok") return absl::OkStatus();
  if (outcome == "closed")
    return absl::FailedPreconditionError("attachment is not open for upload");
  if (outcome == "quota" && r.elements.size() == 3 && !charges.empty()) {
    return quota::QuotaRefusal(charges[0], absl::Milliseconds(r.elements[2].integer));
  }
  return Malformed("put chunk");
}

Status RedisMessageStore::AbortAttachment(const std::string& attachment_id, const AgencyId& owner,
                                          uint32_t chunks_put) {
  const std::string rkey = owner.Key();
  std::vector<std::string> keys = {AttKey(attachment_id), PendingUploadsKey(rkey)};
  for (uint32_t i = 0; i < chunks_put; ++i) keys.push_back(ChunkKey(attachment_id, i));
  return redis_.Eval(AbortAttachmentScript(), keys, {rkey, attachment_id}).status();
}

Status RedisMessageStore::CompleteAttachment(const std::string& attachment_id,
                                             uint32_t chunk_count) {
  std::vector<std::string> keys = {AttKey(attachment_id)};
  for (uint32_t i = 0; i < chunk_count; ++i) keys.push_back(ChunkKey(attachment_id, i));
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Eval(CompleteAttachmentScript(), keys, {absl::StrCat(chunk_count)}));
  if (r.integer == 0) return absl::FailedPreconditionError("attachment is not open for upload");
  if (r.integer < 0) return absl::FailedPreconditionError("attachment chunk missing");
  return absl::OkStatus();
}

StatusOr<AttachmentInfo> RedisMessageStore::GetAttachment(const std::string& attachment_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"HMGET", AttKey(attachment_id), "owner",
                                                           "chunks", "done", "msg", "size"}));
  if (r.elements.size() != 5) return Malformed("attachment");
  if (r.elements[0].is_nil()) return absl::NotFoundError("no such attachment");
  AttachmentInfo info;
  info.attachment_id = attachment_id;
  CONCORD_ASSIGN_OR_RETURN(info.owner, ParseAgencyKey(options_.trust_domain, r.elements[0].str));
  int64_t chunks = 0;
  if (!r.elements[1].is_nil() && absl::SimpleAtoi(r.elements[1].str, &chunks)) {
    info.chunk_count = static_cast<uint32_t>(chunks);
  }
  info.complete = r.elements[2].str == "1";
  info.message_id = r.elements[3].str;
  int64_t size = 0;
  if (!r.elements[4].is_nil() && absl::SimpleAtoi(r.elements[4].str, &size) && size >= 0) {
    info.size = static_cast<uint64_t>(size);
  }
  return info;
}

StatusOr<std::string> RedisMessageStore::GetChunk(const std::string& attachment_id,
                                                  uint32_t index) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Command({"GET", ChunkKey(attachment_id, index)}));
  if (r.is_nil()) return absl::NotFoundError("no such chunk");
  return r.str;
}

StatusOr<std::vector<ExpiredMessage>> RedisMessageStore::RemoveExpired(absl::Time now, size_t max) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply ids, redis_.Command({"ZRANGEBYSCORE", ExpiryKey(), "-inf", absl::StrCat(Ms(now)),
                                        "LIMIT", "0", absl::StrCat(max)}));
  std::vector<ExpiredMessage> out;
  for (const redis::Reply& id_reply : ids.elements) {
    const std::string& id = id_reply.str;
    CONCORD_ASSIGN_OR_RETURN(redis::Reply h, redis_.Command({"HGETALL", MsgKey(id)}));
    std::vector<std::string> keys = {MsgKey(id), GoneKey(id), ExpiryKey(), ReceiptsKey(id)};
    std::string sha_hex, acc, snd;
    std::vector<std::string> entry_ids;
    ExpiredMessage expired;
    expired.message_id = id;
    for (size_t i = 0; i + 1 < h.elements.size(); i += 2) {
      const std::string& f = h.elements[i].str;
      const std::string& v = h.elements[i + 1].str;
      if (f == "sha") sha_hex = v;
      if (f == "acc") acc = v;
      if (f == "snd") snd = v;
      if (f == "env") {
        auto e = DecodeStoredEnvelope(v);
        if (e.ok()) {
          expired.sender = e->sender;
          expired.recipients = e->recipients;
        }
      }
      if (f.rfind("e:", 0) == 0) {
        keys.push_back(InboxKey(f.substr(2)));
        entry_ids.push_back(v);
      }
    }
    std::vector<std::string> args = {
        id, std::string(kGroup), absl::StrCat(sha_hex, "|", acc, snd.empty() ? "" : "|", snd),
        absl::StrCat(std::max<int64_t>(absl::ToInt64Milliseconds(options_.tombstone_ttl), 1))};
    args.insert(args.end(), entry_ids.begin(), entry_ids.end());
    CONCORD_ASSIGN_OR_RETURN(redis::Reply r, redis_.Eval(RemoveScript(), keys, args));
    if (r.integer == 1) out.push_back(std::move(expired));
  }
  return out;
}

StatusOr<int64_t> RedisMessageStore::Backlog() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply members, redis_.Command({"SMEMBERS", InboxesKey()}));
  std::vector<std::vector<std::string>> cmds;
  for (const redis::Reply& m : members.elements)
    cmds.push_back({"XINFO", "GROUPS", InboxKey(m.str)});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(cmds));
  int64_t total = 0;
  for (const redis::Reply& groups : replies) {
    for (const redis::Reply& g : groups.elements) {
      for (size_t i = 0; i + 1 < g.elements.size(); i += 2) {
        if (g.elements[i].str == "pending" || g.elements[i].str == "lag") {
          total += g.elements[i + 1].integer;
        }
      }
    }
  }
  return total;
}

}  // namespace concord::messaging
