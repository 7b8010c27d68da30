#include "services/messaging/delivery_notifier.h"

#include <vector>

#include "absl/strings/str_split.h"

namespace concord::messaging {

DeliveryNotifier::Slot& DeliveryNotifier::SlotFor(const std::string& rkey) {
  return slots_[rkey];  // default-constructs the slot in place on first use
}

uint64_t DeliveryNotifier::Generation(const std::string& rkey) {
  std::lock_guard<std::mutex> lock(mu_);
  return SlotFor(rkey).generation + global_;
}

void DeliveryNotifier::Notify(const std::string& message) {
  std::vector<Slot*> woken;
  std::vector<std::string> keys;
  std::vector<std::string> entry_ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (absl::string_view token : absl::StrSplit(message, ' ', absl::SkipEmpty())) {
      const size_t at = token.find('@');
      keys.emplace_back(token.substr(0, at));
      entry_ids.emplace_back(at == absl::string_view::npos ? absl::string_view()
                                                           : token.substr(at + 1));
      Slot& slot = SlotFor(keys.back());
      ++slot.generation;
      woken.push_back(&slot);
    }
  }
  for (Slot* slot : woken) slot->cv.notify_all();
  if (keys.empty()) return;
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_(keys, entry_ids);
}

void DeliveryNotifier::NotifyAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++global_;
    for (auto& [key, slot] : slots_) slot.cv.notify_all();
  }
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_({}, {});
}

void DeliveryNotifier::SetListener(Listener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

bool DeliveryNotifier::WaitForChange(const std::string& rkey, uint64_t seen,
                                     absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  Slot& slot = SlotFor(rkey);
  return slot.cv.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                          [&] { return slot.generation + global_ != seen; });
}

}  // namespace concord::messaging
