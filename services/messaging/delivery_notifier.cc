#include "services/messaging/delivery_notifier.h"

#include "absl/strings/str_split.h"

namespace concord::messaging {

uint64_t DeliveryNotifier::Generation(const std::string& rkey) {
  std::lock_guard<std::mutex> lock(mu_);
  return generations_[rkey] + global_;
}

void DeliveryNotifier::Notify(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (absl::string_view key : absl::StrSplit(message, ' ', absl::SkipEmpty())) {
      ++generations_[std::string(key)];
    }
  }
  cv_.notify_all();
}

void DeliveryNotifier::NotifyAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++global_;
  }
  cv_.notify_all();
}

bool DeliveryNotifier::WaitForChange(const std::string& rkey, uint64_t seen,
                                     absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return generations_[rkey] + global_ != seen; });
}

}  // namespace concord::messaging
