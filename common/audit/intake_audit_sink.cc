#include "common/audit/intake_audit_sink.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"

namespace concord::audit {

IntakeAuditSink::IntakeAuditSink(redis::RedisClient& redis, AuditKey key, Clock& clock,
                                 std::string workload, redis::AsyncRedisClient* async)
    : redis_(redis),
      async_(async),
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

StatusOr<std::string> IntakeAuditSink::SealEntry(const AuditEvent& input) {
  if (input.time != absl::UnixEpoch()) return SealIntakeEntry(key_, workload_, input);
  AuditEvent event = input;
  event.time = clock_.Now();
  return SealIntakeEntry(key_, workload_, event);
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
  // One round trip: the append. The ingester's wake-up only when the intake was empty before
  // it (see the header; its outcome does not matter: the ingester polls as well).
  auto replies = redis_.Pipeline({rpush});
  fail(BatchStatus(replies, batch.size()));
  if (WasEmpty(replies, batch.size())) {
    (void)redis_.Command({"PUBLISH", std::string(kIntakeChannel), ""});
  }
}

bool IntakeAuditSink::WasEmpty(const StatusOr<std::vector<redis::Reply>>& replies, size_t entries) {
  return replies.ok() && !replies->empty() && (*replies)[0].type == redis::Reply::Type::kInteger &&
         (*replies)[0].integer == static_cast<int64_t>(entries);
}

Status IntakeAuditSink::BatchStatus(const StatusOr<std::vector<redis::Reply>>& replies,
                                    size_t entries) {
  if (!replies.ok()) return replies.status();
  if (replies->empty()) return absl::InternalError("audit intake: no RPUSH reply");
  const redis::Reply& pushed = (*replies)[0];
  if (pushed.is_error()) return absl::InternalError(absl::StrCat("redis: ", pushed.str));
  if (pushed.type != redis::Reply::Type::kInteger ||
      pushed.integer < static_cast<int64_t>(entries)) {
    return absl::InternalError("audit intake: unexpected RPUSH reply");
  }
  return absl::OkStatus();
}

void IntakeAuditSink::AppendAsync(AuditEvent event, std::function<void(Status)> done) {
  if (async_ == nullptr) return done(Append(event));
  if (event.time == absl::UnixEpoch()) event.time = clock_.Now();
  // An event that cannot be sealed (too large) fails alone and is not written.
  auto entry = SealIntakeEntry(key_, workload_, event);
  if (!entry.ok()) return done(entry.status());
  {
    std::lock_guard<std::mutex> lock(async_mu_);
    async_queue_.push_back(AsyncPending{*std::move(entry), std::move(done)});
    if (async_in_flight_) return;  // the reply of the write in flight sends it
    async_in_flight_ = true;
  }
  WriteAsyncBatch(TakeAsyncBatch());
}

void IntakeAuditSink::AppendAllAsync(std::vector<AuditEvent> events,
                                     std::function<void(Status)> done) {
  if (async_ == nullptr) return done(AppendAll(events));
  if (events.empty()) return done(absl::OkStatus());
  // `done` runs once every record is stored or failed, with the first error in order (as
  // AppendAll). Each record's own completion reports to the group.
  struct Group {
    Group(size_t n, std::function<void(Status)> d) : results(n), remaining(n), done(std::move(d)) {}
    void Set(size_t i, Status s) {
      {
        std::lock_guard<std::mutex> lock(mu);
        results[i] = std::move(s);
        if (--remaining > 0) return;
      }
      // The last record: every result was written before this, under mu.
      for (const Status& r : results) {
        if (!r.ok()) return done(r);
      }
      done(absl::OkStatus());
    }
    std::mutex mu;
    std::vector<Status> results;  // guarded by mu
    size_t remaining;             // guarded by mu
    const std::function<void(Status)> done;
  };
  auto group = std::make_shared<Group>(events.size(), std::move(done));
  // Sealed on the calling thread; a record that cannot be sealed (too large) fails alone and is
  // not written. The others join the asynchronous queue together, so they leave in one RPUSH
  // (two when the queue already held nearly kMaxBatch entries).
  std::vector<AsyncPending> sealed;
  sealed.reserve(events.size());
  std::vector<std::pair<size_t, Status>> refused;
  for (size_t i = 0; i < events.size(); ++i) {
    AuditEvent& event = events[i];
    if (event.time == absl::UnixEpoch()) event.time = clock_.Now();
    auto entry = SealIntakeEntry(key_, workload_, event);
    if (!entry.ok()) {
      refused.emplace_back(i, entry.status());
      continue;
    }
    sealed.push_back(AsyncPending{*std::move(entry), [group, i](Status s) { group->Set(i, s); }});
  }
  bool write = false;
  if (!sealed.empty()) {
    std::lock_guard<std::mutex> lock(async_mu_);
    for (AsyncPending& p : sealed) async_queue_.push_back(std::move(p));
    if (!async_in_flight_) {  // else the reply of the write in flight sends them
      async_in_flight_ = true;
      write = true;
    }
  }
  // Reported after the others are queued, so `done` cannot run before the last record is in.
  for (auto& [i, status] : refused) group->Set(i, std::move(status));
  if (write) WriteAsyncBatch(TakeAsyncBatch());
}

std::vector<IntakeAuditSink::AsyncPending> IntakeAuditSink::TakeAsyncBatch() {
  std::lock_guard<std::mutex> lock(async_mu_);
  const size_t take = std::min(async_queue_.size(), kMaxBatch);
  std::vector<AsyncPending> batch(std::make_move_iterator(async_queue_.begin()),
                                  std::make_move_iterator(async_queue_.begin() + take));
  async_queue_.erase(async_queue_.begin(), async_queue_.begin() + static_cast<ptrdiff_t>(take));
  if (batch.empty()) async_in_flight_ = false;
  return batch;
}

void IntakeAuditSink::WriteAsyncBatch(std::vector<AsyncPending> batch) {
  // Bounded: each round sends what queued during the previous round trip, and stops (clearing
  // async_in_flight_) once nothing did.
  while (!batch.empty()) {
    std::vector<std::string> rpush = {"RPUSH", intake_key_};
    rpush.reserve(2 + batch.size());
    auto dones = std::make_shared<std::vector<std::function<void(Status)>>>();
    dones->reserve(batch.size());
    for (AsyncPending& p : batch) {
      rpush.push_back(std::move(p.entry));
      dones->push_back(std::move(p.done));
    }
    // The callback runs on the I/O thread, or here at once when the client fails the call
    // without I/O (backoff window, shutdown). Whichever of the callback and this loop comes
    // second sends the next batch: the callback when this call has returned, else this loop (so
    // an outage does not recurse).
    auto phase = std::make_shared<std::atomic<int>>(0);  // 1: replied first, 2: returned first
    async_->Pipeline({std::move(rpush)},
                     [this, dones, phase](StatusOr<std::vector<redis::Reply>> replies) {
                       const Status status = BatchStatus(replies, dones->size());
                       if (WasEmpty(replies, dones->size())) {
                         async_->Command({"PUBLISH", std::string(kIntakeChannel), ""},
                                         [](StatusOr<redis::Reply>) {});
                       }
                       int expected = 0;
                       if (!phase->compare_exchange_strong(expected, 1)) {
                         // The next batch leaves before this one's callers are answered.
                         std::vector<AsyncPending> next = TakeAsyncBatch();
                         if (!next.empty()) WriteAsyncBatch(std::move(next));
                       }
                       for (auto& done : *dones) done(status);
                     });
    int expected = 0;
    if (phase->compare_exchange_strong(expected, 2)) return;  // the reply sends the next batch
    batch = TakeAsyncBatch();
  }
}

}  // namespace concord::audit
