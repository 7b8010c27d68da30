// File: common/quota/token_bucket.h
//
// Token buckets in Redis, charged INSIDE the Lua script a call already runs (no extra round trip
// on the hot path). A store prepends kTokenBucketLua to its script, declares the bucket keys in
// KEYS (they carry the script's own hash tag, so the script stays in one Cluster slot) and passes
// each charge's burst, refill rate and cost in ARGV:
//
//   static const redis::Script kSend(std::string(quota::kTokenBucketLua) + R"lua(
//     ...checks that decide whether the call would store anything...
//     local refused = concord_charge(concord_charges(5, 12, 2))  -- KEYS[5..6], ARGV[12..17]
//     if refused ~= 0 then return {'quota', refused[1], refused[2]} end
//     ...writes...
//   )lua");
//   keys.push_back(quota::BucketKey("msg", charge));      // at KEYS[5], KEYS[6]
//   quota::AppendChargeArgs(charge, args);                // at ARGV[12..14], ARGV[15..17]
//   ... on {'quota', i, ms}: return quota::QuotaRefusal(charges[i - 1], absl::Milliseconds(ms));
//
// A bucket is a hash {t = tokens (float), ts = Redis time in ms, x = the key's expiry, Redis time
// in ms} under concord:{<tag>}:quota:<quota>:<type>/<id>. Time is Redis's own clock (TIME), one
// clock for every replica. A missing key is a full bucket, so the key must live at least until
// the bucket would be full again: a charge whose bucket would be full only after `x` sets `x` to
// now + the time an EMPTY bucket takes to refill + 1 s (and the key's PEXPIRE to match); any
// other charge keeps `x` and the key's TTL (HSET keeps it), so a busy bucket costs HMGET + HSET
// per charge and a PEXPIRE only about once per refill time (it was a PEXPIRE on every charge). An
// idle agency's buckets leave Redis at most one refill time + 1 s after their last charge. A
// bucket without `x` (written before it existed) gets its PEXPIRE on its next charge. Several
// buckets are charged all or none: a call refused by one bucket consumes nothing from the others.
//
// Shared key: charges declared on the SAME key (consecutive in KEYS; SharedBucketKey) keep their
// buckets in one hash, read with one HMGET and written with one HSET (two commands for the call,
// not two per charge). The first charge's bucket is {t, ts} as above; the j-th's (j >= 2) is
// {t<j>, ts<j>}; `x` is the key's expiry, the largest refill time of its buckets + 1 s, set as
// above whenever one of them needs it. A shared key must always be charged with the same quotas
// in the same order. Its first bucket reads a key written before the sharing (the same fields);
// the others start full.
//
// Lua functions defined by the fragment (locals of the script):
//   concord_now_ms()                         Redis time in milliseconds
//   concord_charges(first_key, first_arg, n) the n charges declared at KEYS[first_key..] and
//                                            ARGV[first_arg..] (3 ARGV each: burst, rate, cost)
//   concord_charge(charges)                  0 when every bucket was charged, otherwise
//                                            {index of the first bucket short of tokens (1-based),
//                                             milliseconds until it holds the cost}
//   concord_charge_trailing(own_keys)        concord_charge of the charges declared LAST: their
//                                            keys after the script's own `own_keys` KEYS, their
//                                            ARGV (3 each) at the end of ARGV; 0 when there are
//                                            none. For a script whose ARGV has a variable tail
//                                            (AppendTrailingCharges builds both):
//
//   local refused = concord_charge_trailing(3)
//   if refused ~= 0 then return {'quota', refused[1], refused[2]} end
//   ... and for the script's own tail: for i = first, #ARGV - 3 * (#KEYS - 3) do ...
//
//   quota::AppendTrailingCharges("gl", charges, keys, args);  // after the script's own
//   if (auto refused = quota::RefusalOfReply(reply, charges)) return *refused;
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/quota/quota_table.h"
#include "common/redis/redis_client.h"
#include "common/redis/reply.h"
#include "common/status/status.h"

namespace concord::quota {

/// One charge of one agency's bucket.
struct Charge {
  Quota quota = Quota::kSend;
  AgencyId agency;
  BucketSpec spec;
  int64_t cost = 1;
};

inline constexpr std::string_view kTokenBucketLua = R"lua(
local function concord_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function concord_charges(first_key, first_arg, n)
  local out = {}
  for i = 1, n do
    local a = first_arg + (i - 1) * 3
    out[i] = {KEYS[first_key + i - 1], tonumber(ARGV[a]), tonumber(ARGV[a + 1]),
              tonumber(ARGV[a + 2])}
  end
  return out
end
local function concord_charge(charges)
  local now = concord_now_ms()
  -- Charges declared on the same key share its hash: one HMGET and one HSET per key.
  local order, slots = {}, {}
  for i, c in ipairs(charges) do
    local s = slots[c[1]]
    if not s then
      s = {}
      slots[c[1]] = s
      order[#order + 1] = c[1]
    end
    s[#s + 1] = i
  end
  local left, expiry = {}, {}
  for _, key in ipairs(order) do
    local s = slots[key]
    local fields = {}
    for j = 1, #s do
      local suffix = j == 1 and '' or tostring(j)
      fields[#fields + 1] = 't' .. suffix
      fields[#fields + 1] = 'ts' .. suffix
    end
    fields[#fields + 1] = 'x'
    local h = redis.call('HMGET', key, unpack(fields))
    expiry[key] = tonumber(h[#h]) or 0
    for j, i in ipairs(s) do
      local c = charges[i]
      local tokens, ts = tonumber(h[2 * j - 1]), tonumber(h[2 * j])
      local level = c[2]
      if tokens and ts then
        level = tokens
        if now > ts then level = level + (now - ts) * c[3] / 1000 end
        if level > c[2] then level = c[2] end
      end
      if level < c[4] then return {i, math.ceil((c[4] - level) * 1000 / c[3])} end
      left[i] = level - c[4]
    end
  end
  for _, key in ipairs(order) do
    local s = slots[key]
    local set, extend, ttl = {}, false, 0
    for j, i in ipairs(s) do
      local c = charges[i]
      local suffix = j == 1 and '' or tostring(j)
      set[#set + 1] = 't' .. suffix
      set[#set + 1] = tostring(left[i])
      set[#set + 1] = 'ts' .. suffix
      set[#set + 1] = now
      if expiry[key] < now + math.ceil((c[2] - left[i]) * 1000 / c[3]) + 1000 then
        extend = true
      end
      ttl = math.max(ttl, math.ceil(c[2] * 1000 / c[3]) + 1000)
    end
    if extend then
      set[#set + 1] = 'x'
      set[#set + 1] = now + ttl
    end
    redis.call('HSET', key, unpack(set))
    if extend then redis.call('PEXPIRE', key, ttl) end
  end
  return 0
end
local function concord_charge_trailing(own_keys)
  local nq = #KEYS - own_keys
  if nq <= 0 then return 0 end
  return concord_charge(concord_charges(own_keys + 1, #ARGV - 3 * nq + 1, nq))
end
)lua";

/// concord:{<tag>}:quota:<quota name>:<type>/<id>
std::string BucketKey(std::string_view tag, Quota quota, const AgencyId& agency);
inline std::string BucketKey(std::string_view tag, const Charge& charge) {
  return BucketKey(tag, charge.quota, charge.agency);
}

/// The one key under which all of `charges` keep their buckets (the first charge's BucketKey):
/// declare it once per charge, so the script reads and writes them with one HMGET and one HSET.
/// `charges` must not be empty, and the key must always be charged with the same quotas in the
/// same order.
inline std::string SharedBucketKey(std::string_view tag, const std::vector<Charge>& charges) {
  return BucketKey(tag, charges.front());
}

/// Appends burst, refill per second and cost (3 ARGV) of `charge`.
void AppendChargeArgs(const Charge& charge, std::vector<std::string>& args);

/// Appends the bucket keys of `charges` (under `tag`) to `keys` and their ARGV to `args`, after
/// everything the script declares itself: for scripts that call concord_charge_trailing.
void AppendTrailingCharges(std::string_view tag, const std::vector<Charge>& charges,
                           std::vector<std::string>& keys, std::vector<std::string>& args);

/// Charges `charge` on the bucket under `key` with a script of its own (one EVALSHA), for calls
/// that run no script of their own (reads, the federation gateway's crossings): OK, its
/// QuotaRefusal, or the client's error (UNAVAILABLE when Redis cannot be reached).
Status ChargeAlone(redis::RedisClient& redis, const std::string& key, const Charge& charge);

/// The refusal (QuotaRefusal) of a script's reply {'quota', i, ms}; nullopt for any other reply.
/// INTERNAL when `i` names no charge.
std::optional<Status> RefusalOfReply(const redis::Reply& reply, const std::vector<Charge>& charges);

}  // namespace concord::quota
