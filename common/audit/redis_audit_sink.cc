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

// Compare-and-set append of a batch of n >= 1 consecutive records. All keys share the {audit}
// hash tag.
//   KEYS[1] head  KEYS[2] records  then per record i (0-based): KEYS[3+2i] by-object index,
//   KEYS[4+2i] by-agency index
//   ARGV[1] expected head seq   ARGV[2] expected head hash (32 bytes; zeros for an empty log)
//   ARGV[3] n   then per record i: ARGV[4+4i] seq (= expected + 1 + i)  ARGV[5+4i] hash
//   ARGV[6+4i] stored record  ARGV[7+4i] "1" to index by object (object non-empty), "0" otherwise
// Returns {1} on success; {0, seq, hash} if the head moved (the caller retries from there);
// {2, reason} if head and records disagree (tampering) -- never overwrites a record. Every
// check runs before the first write, so a refused batch writes nothing.
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
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  if redis.call('HEXISTS', KEYS[2], ARGV[4 + 4 * i]) == 1 then
    return {2, 'a record already exists beyond the head'}
  end
end
for i = 0, n - 1 do
  local s = ARGV[4 + 4 * i]
  redis.call('HSET', KEYS[2], s, ARGV[6 + 4 * i])
  if ARGV[7 + 4 * i] == '1' then
    redis.call('ZADD', KEYS[3 + 2 * i], s, s)
  end
  redis.call('ZADD', KEYS[4 + 2 * i], s, s)
end
redis.call('HSET', KEYS[1], 'seq', ARGV[4 + 4 * (n - 1)], 'hash', ARGV[5 + 4 * (n - 1)])
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
  std::vector<Pending> items(1);
  items[0].event = input;
  return Commit(items);
}

Status RedisAuditSink::AppendAll(const std::vector<AuditEvent>& events) {
  std::vector<Pending> items(events.size());
  for (size_t i = 0; i < events.size(); ++i) items[i].event = events[i];
  return Commit(items);
}

Status RedisAuditSink::Commit(std::vector<Pending>& items) {
  // Group commit: the caller queues its events; whoever finds no append in flight becomes the
  // leader, takes everything queued (up to kMaxBatch) and appends it in ONE script call, then
  // hands each waiter its result. Under load, the events that arrive during one round trip go
  // together in the next, so the chain needs one Redis round trip per batch instead of per event
  // (the mutex-serialised round trip was the ceiling of every audited RPC). A caller still
  // returns only once its own records are in Redis (or failed), in chain order.
  if (items.empty()) return absl::OkStatus();
  for (Pending& p : items) {
    if (p.event.time == absl::UnixEpoch()) p.event.time = clock_.Now();
  }
  // Each caller sleeps on its own condition variable: the leader wakes exactly the owners of
  // the records it appended, plus the owner of the oldest queued record to lead the next batch
  // (a shared notify_all woke every waiter for every batch).
  std::condition_variable mine;
  for (Pending& p : items) p.owner = &mine;
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (Pending& p : items) queue_.push_back(&p);
  auto all_done = [&items] {
    return std::all_of(items.begin(), items.end(), [](const Pending& p) { return p.done; });
  };
  while (!all_done()) {
    if (leader_active_) {
      mine.wait(lock);
      continue;
    }
    leader_active_ = true;
    const size_t take = std::min(queue_.size(), kMaxBatch);
    std::vector<Pending*> batch(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
    lock.unlock();
    AppendBatch(batch);
    lock.lock();
    leader_active_ = false;
    std::condition_variable* last = nullptr;
    for (Pending* p : batch) {
      p->done = true;
      if (p->owner != &mine && p->owner != last) p->owner->notify_one();
      last = p->owner;
    }
    if (!queue_.empty() && queue_.front()->owner != &mine) queue_.front()->owner->notify_one();
  }
  for (const Pending& p : items) {
    if (!p.result.ok()) return p.result;
  }
  return absl::OkStatus();
}

void RedisAuditSink::AppendBatch(const std::vector<Pending*>& input) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (!head_) {
      auto head = LoadHead();
      if (!head.ok()) {
        for (Pending* p : input) p->result = head.status();
        return;
      }
      head_ = *std::move(head);
    }
    // Seal the batch for the positions after the head, chaining the hashes. An event that cannot
    // be sealed (too large) fails alone and takes no position.
    std::vector<Pending*> batch;
    std::vector<std::string> keys = {HeadKey(), RecordsKey()};
    std::vector<std::string> args = {absl::StrCat(head_->seq), head_->hash, ""};
    uint64_t seq = head_->seq;
    std::string prev = head_->hash;
    for (Pending* p : input) {
      auto record = SealRecord(key_, seq + 1, prev, p->event);
      if (!record.ok()) {
        p->result = record.status();
        continue;
      }
      ++seq;
      batch.push_back(p);
      keys.push_back(ObjectIndexKey(p->event.object));
      keys.push_back(AgencyIndexKey(p->event.agency));
      args.push_back(absl::StrCat(seq));
      args.push_back(record->hash);
      args.push_back(record->Encode());
      args.push_back(p->event.object.empty() ? "0" : "1");
      prev = std::move(record->hash);
    }
    if (batch.empty()) return;
    args[2] = absl::StrCat(batch.size());
    auto fail = [&batch](const Status& status) {
      for (Pending* p : batch) p->result = status;
    };
    auto reply = redis_.Eval(append_script_, keys, args);
    if (!reply.ok()) {
      // The script may or may not have run (e.g. a timeout after sending): forget the head so
      // the next attempt starts from what Redis says.
      head_.reset();
      return fail(reply.status());
    }
    if (reply->type != redis::Reply::Type::kArray || reply->elements.empty() ||
        reply->elements[0].type != redis::Reply::Type::kInteger) {
      head_.reset();
      return fail(absl::InternalError("audit append: unexpected script reply"));
    }
    switch (reply->elements[0].integer) {
      case 1:
        head_ = Head{seq, std::move(prev)};
        return fail(absl::OkStatus());
      case 0: {  // another writer appended first: continue from its head
        if (reply->elements.size() != 3 || reply->elements[2].str.size() != kHashSize) {
          head_.reset();
          return fail(absl::InternalError("audit append: malformed conflict reply"));
        }
        conflicts_.fetch_add(1, std::memory_order_relaxed);
        auto current = ParseSeq(reply->elements[1].str);
        if (!current.ok()) {
          head_.reset();
          return fail(current.status());
        }
        head_ = Head{*current, reply->elements[2].str};
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
        return fail(absl::DataLossError(absl::StrCat(
            "audit log inconsistent: ",
            reply->elements.size() > 1 ? reply->elements[1].str : std::string("unknown"))));
    }
  }
  for (Pending* p : input) {
    if (p->result.ok()) {
      p->result = absl::AbortedError(
          absl::StrCat("audit append: lost the compare-and-set ", kMaxAttempts, " times in a row"));
    }
  }
}

}  // namespace concord::audit
