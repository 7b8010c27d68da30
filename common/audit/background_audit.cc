#include "common/audit/background_audit.h"

#include <vector>

#include "common/log/log.h"
#include "prometheus/family.h"

namespace concord::audit {
namespace {
constexpr int kAttempts = 3;
constexpr auto kRetryPause = std::chrono::milliseconds(200);
constexpr size_t kBatch = 64;
}  // namespace

BackgroundAuditWriter::BackgroundAuditWriter(AuditSink& sink, metrics::Metrics& metrics,
                                             size_t capacity)
    : sink_(sink), capacity_(capacity) {
  dropped_ = &prometheus::BuildCounter()
                  .Name("concord_audit_background_dropped_total")
                  .Help(
                      "Audit records of refused calls dropped (queue full or audit store "
                      "unreachable); the refused operations were not performed.")
                  .Register(metrics.registry())
                  .Add({});
  thread_ = std::thread([this] { Loop(); });
}

BackgroundAuditWriter::~BackgroundAuditWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool BackgroundAuditWriter::Submit(AuditEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= capacity_) {
      dropped_->Increment();
      return false;
    }
    queue_.push_back(std::move(event));
  }
  cv_.notify_one();
  return true;
}

void BackgroundAuditWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void BackgroundAuditWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained
    std::vector<AuditEvent> batch;
    while (!queue_.empty() && batch.size() < kBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    busy_ = true;
    lock.unlock();
    Status s;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      s = sink_.AppendAll(batch);
      if (s.ok()) break;
      std::this_thread::sleep_for(kRetryPause);  // bounded: kAttempts pauses per batch
    }
    if (!s.ok()) {
      dropped_->Increment(static_cast<double>(batch.size()));
      log::Event(log::Level::kWarn, "audit.background_dropped",
                 {{"records", std::to_string(batch.size())}, {"error", std::string(s.message())}});
    }
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

}  // namespace concord::audit
