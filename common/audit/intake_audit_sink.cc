#include "common/audit/intake_audit_sink.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"

namespace concord::audit {

IntakeAuditSink::IntakeAuditSink(redis::RedisClient& redis, AuditKey key, Clock& clock,
                                 std::string workload)
    : redis_(redis),
      key_(std::move(key)),
      clock_(clock),
      workload_(std::move(workload)),
      intake_key_(IntakeKey(workload_)) {}

Status IntakeAuditSink::Append(const AuditEvent& input) {
  std::vector<Pending> items(1);
  items[0].event = input;
  return Commit(items);
}

Status IntakeAuditSink::AppendAll(const std::vector<AuditEvent>& events) {
  std::vector<Pending> items(events.size());
  for (size_t i = 0; i < events.size(); ++i) items[i].event = events[i];
  return Commit(items);
}

Status IntakeAuditSink::Commit(std::vector<Pending>& items) {
  // Group commit: the caller queues its events; whoever finds no write in flight becomes the
  // leader, takes everything queued (up to kMaxBatch) and stores it in ONE round trip, then hands
  // each waiter its result. Under load, the events that arrive during one round trip go together
  // in the next. A caller still returns only once its own entries are in Redis (or failed).
  if (items.empty()) return absl::OkStatus();
  for (Pending& p : items) {
    if (p.event.time == absl::UnixEpoch()) p.event.time = clock_.Now();
  }
  // Each caller sleeps on its own condition variable: the leader wakes exactly the owners of
  // the entries it stored, plus the owner of the oldest queued entry to lead the next batch.
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
    StoreBatch(batch);
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

void IntakeAuditSink::StoreBatch(const std::vector<Pending*>& input) {
  // An event that cannot be sealed (too large) fails alone and is not written.
  std::vector<Pending*> batch;
  std::vector<std::string> rpush = {"RPUSH", intake_key_};
  for (Pending* p : input) {
    auto entry = SealIntakeEntry(key_, workload_, p->event);
    if (!entry.ok()) {
      p->result = entry.status();
      continue;
    }
    batch.push_back(p);
    rpush.push_back(*std::move(entry));
  }
  if (batch.empty()) return;
  auto fail = [&batch](const Status& status) {
    for (Pending* p : batch) p->result = status;
  };
  // One round trip: the append, then the ingester's wake-up (whose outcome does not matter:
  // the ingester polls as well).
  auto replies = redis_.Pipeline({rpush, {"PUBLISH", std::string(kIntakeChannel), ""}});
  if (!replies.ok()) return fail(replies.status());
  const redis::Reply& pushed = (*replies)[0];
  if (pushed.is_error()) {
    return fail(absl::InternalError(absl::StrCat("redis: ", pushed.str)));
  }
  if (pushed.type != redis::Reply::Type::kInteger ||
      pushed.integer < static_cast<int64_t>(batch.size())) {
    return fail(absl::InternalError("audit intake: unexpected RPUSH reply"));
  }
  fail(absl::OkStatus());
}

}  // namespace concord::audit
