#include "services/messaging/delivery_pump.h"

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace concord::messaging {

std::optional<EntryId> ParseEntryId(std::string_view s) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == s.size()) return std::nullopt;
  for (char c : s) {
    if (c != '-' && (c < '0' || c > '9')) return std::nullopt;
  }
  EntryId id;
  if (!absl::SimpleAtoi(absl::string_view(s.data(), dash), &id.ms) ||
      !absl::SimpleAtoi(absl::string_view(s.data() + dash + 1, s.size() - dash - 1), &id.seq)) {
    return std::nullopt;
  }
  return id;
}

DeliveryPump::DeliveryPump(DeliveryNotifier& notifier) : notifier_(notifier) {
  notifier_.SetListener(
      [this](const std::vector<std::string>& keys, const std::vector<std::string>& entry_ids) {
        OnChange(keys, entry_ids);
      });
  timer_ = std::thread([this] { TimerLoop(); });
}

DeliveryPump::~DeliveryPump() {
  notifier_.SetListener({});  // returns once no OnChange runs
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  timer_.join();
  (void)WaitForOps(absl::Seconds(10));
}

uint64_t DeliveryPump::Add(const std::string& rkey, std::weak_ptr<Stream> stream) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{rkey, std::move(stream), 0});
  by_agency_[rkey].insert(id);
  return id;
}

void DeliveryPump::Remove(uint64_t id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto agency = by_agency_.find(it->second.rkey);
  if (agency != by_agency_.end()) {
    agency->second.erase(id);
    if (agency->second.empty()) by_agency_.erase(agency);
  }
  entries_.erase(it);  // its timers are dropped when they come due
}

void DeliveryPump::WakeAt(uint64_t id, absl::Time deadline) {
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    const uint64_t generation = ++it->second.generation;
    earliest = timers_.empty() || deadline < timers_.top().at;
    timers_.push(Timer{deadline, id, generation});
  }
  if (earliest) cv_.notify_one();
}

size_t DeliveryPump::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void DeliveryPump::OnChange(const std::vector<std::string>& keys,
                            const std::vector<std::string>& entry_ids) {
  // On the pub/sub thread: wake the streams of the named agencies (every stream for an empty
  // list) outside the lock, with the announced entry when there is one; each idle one queues
  // its read on the asynchronous client.
  std::vector<std::pair<std::shared_ptr<Stream>, const std::string*>> woken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys.empty()) {
      for (auto& [id, entry] : entries_) {
        if (auto s = entry.stream.lock()) woken.emplace_back(std::move(s), nullptr);
      }
    } else {
      for (size_t i = 0; i < keys.size(); ++i) {
        auto agency = by_agency_.find(keys[i]);
        if (agency == by_agency_.end()) continue;
        const std::string* entry_id =
            i < entry_ids.size() && !entry_ids[i].empty() ? &entry_ids[i] : nullptr;
        for (uint64_t id : agency->second) {
          auto it = entries_.find(id);
          if (it == entries_.end()) continue;
          if (auto s = it->second.stream.lock()) woken.emplace_back(std::move(s), entry_id);
        }
      }
    }
  }
  for (const auto& [s, entry_id] : woken) {
    if (entry_id != nullptr) {
      s->WakeFor(*entry_id);
    } else {
      s->Wake();
    }
  }
}

void DeliveryPump::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const absl::Time next = timers_.top().at;
    const absl::Time now = absl::Now();
    if (next > now) {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(next - now));
      continue;
    }
    std::vector<std::shared_ptr<Stream>> due;
    while (!timers_.empty() && timers_.top().at <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      auto it = entries_.find(t.id);
      if (it == entries_.end() || it->second.generation != t.generation) continue;  // stale
      if (auto s = it->second.stream.lock()) due.push_back(std::move(s));
    }
    lock.unlock();
    for (const auto& s : due) s->Wake();
    due.clear();  // a stream's last reference may go here, outside the lock
    lock.lock();
  }
}

DeliveryPump::Op DeliveryPump::StartOp() {
  {
    std::lock_guard<std::mutex> lock(ops_mu_);
    ++ops_;
  }
  // The deleter ends the op when the last copy of the token goes (after its callback returned).
  return Op(static_cast<void*>(this),
            [](void* pump) { static_cast<DeliveryPump*>(pump)->EndOp(); });
}

void DeliveryPump::EndOp() {
  std::lock_guard<std::mutex> lock(ops_mu_);
  if (--ops_ == 0) ops_cv_.notify_all();
}

bool DeliveryPump::WaitForOps(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(ops_mu_);
  return ops_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return ops_ == 0; });
}

}  // namespace concord::messaging
