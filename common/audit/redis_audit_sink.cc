#include "common/audit/redis_audit_sink.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/status/status_macros.h"

namespace concord::audit {
namespace {

// Compare-and-set append. All keys share the {audit} hash tag.
//   KEYS[1] head  KEYS[2] records  KEYS[3] by-object index  KEYS[4] by-agency index
//   ARGV[1] expected head seq   ARGV[2] expected head hash (32 bytes; zeros for an empty log)
//   ARGV[3] new seq (= ARGV[1] + 1)   ARGV[4] new hash   ARGV[5] stored record
//   ARGV[6] "1" to index by object (object non-empty), "0" otherwise
// Returns {1} on success; {0, seq, hash} if the head moved (the caller retries from there);
// {2, reason} if head and records disagree (tampering) -- never overwrites a record.
constexpr char kAppendLua[] = R"lua(
local seq = redis.call('HGET', KEYS[1], 'seq')
local hash = redis.call('HGET', KEYS[1], 'hash')
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
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then
  return {2, 'a record already exists beyond the head'}
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('HSET', KEYS[1], 'seq', ARGV[3], 'hash', ARGV[4])
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[3])
end
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[3])
return {1}
)lua";

StatusOr<uint64_t> ParseSeq(std::string_view text) {
  uint64_t seq = 0;
  if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &seq)) {
    return absl::DataLossError("audit head: seq is not a number");
  }
  return seq;
}

}  // namespace

RedisAuditSink::RedisAuditSink(redis::RedisClient& redis, AuditKey key, Clock& clock)
    : redis_(redis),
      key_(std::move(key)),
      clock_(clock),
      append_script_(kAppendLua),
      jitter_(std::random_device{}()) {}

uint64_t RedisAuditSink::cached_head_seq_for_test() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_ ? head_->seq : 0;
}

StatusOr<RedisAuditSink::Head> RedisAuditSink::LoadHead() {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis_.Command({"HMGET", HeadKey(), "seq", "hash"}));
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 2) {
    return absl::InternalError("audit head: unexpected reply");
  }
  Head head;
  if (reply.elements[0].is_nil()) {
    head.hash = GenesisHash();
    return head;
  }
  CONCORD_ASSIGN_OR_RETURN(head.seq, ParseSeq(reply.elements[0].str));
  if (reply.elements[1].is_nil() || reply.elements[1].str.size() != kHashSize) {
    return absl::DataLossError("audit head: hash missing or malformed");
  }
  head.hash = reply.elements[1].str;
  return head;
}

Status RedisAuditSink::Append(const AuditEvent& input) {
  AuditEvent event = input;
  if (event.time == absl::UnixEpoch()) {
    event.time = clock_.Now();
  }
  const std::vector<std::string> keys = {HeadKey(), RecordsKey(), ObjectIndexKey(event.object),
                                         AgencyIndexKey(event.agency)};
  const std::string index_object = event.object.empty() ? "0" : "1";

  std::lock_guard<std::mutex> lock(mu_);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (!head_) {
      CONCORD_ASSIGN_OR_RETURN(head_, LoadHead());
    }
    const uint64_t seq = head_->seq + 1;
    CONCORD_ASSIGN_OR_RETURN(StoredRecord record, SealRecord(key_, seq, head_->hash, event));
    auto reply = redis_.Eval(append_script_, keys,
                             {absl::StrCat(head_->seq), head_->hash, absl::StrCat(seq), record.hash,
                              record.Encode(), index_object});
    if (!reply.ok()) {
      // The script may or may not have run (e.g. a timeout after sending): forget the head so
      // the next attempt starts from what Redis says.
      head_.reset();
      return reply.status();
    }
    if (reply->type != redis::Reply::Type::kArray || reply->elements.empty() ||
        reply->elements[0].type != redis::Reply::Type::kInteger) {
      head_.reset();
      return absl::InternalError("audit append: unexpected script reply");
    }
    switch (reply->elements[0].integer) {
      case 1:
        head_ = Head{seq, std::move(record.hash)};
        return absl::OkStatus();
      case 0: {  // another writer appended first: continue from its head
        if (reply->elements.size() != 3 || reply->elements[2].str.size() != kHashSize) {
          head_.reset();
          return absl::InternalError("audit append: malformed conflict reply");
        }
        conflicts_.fetch_add(1, std::memory_order_relaxed);
        CONCORD_ASSIGN_OR_RETURN(uint64_t current, ParseSeq(reply->elements[1].str));
        head_ = Head{current, reply->elements[2].str};
        if (attempt >= 1) {
          // Lost twice in a row: another writer is appending back to back. A random pause
          // (exponential cap 100 us .. 10 ms) lets this writer in; the mutex is held on purpose,
          // so this process's other appends queue behind rather than add to the contention.
          const int64_t cap_us = std::min<int64_t>(10'000, int64_t{50} << std::min(attempt, 8));
          std::uniform_int_distribution<int64_t> pause(0, cap_us);
          std::this_thread::sleep_for(std::chrono::microseconds(pause(jitter_)));
        }
        continue;
      }
      default:
        head_.reset();
        return absl::DataLossError(absl::StrCat(
            "audit log inconsistent: ",
            reply->elements.size() > 1 ? reply->elements[1].str : std::string("unknown")));
    }
  }
  return absl::AbortedError(
      absl::StrCat("audit append: lost the compare-and-set ", kMaxAttempts, " times in a row"));
}

}  // namespace concord::audit
