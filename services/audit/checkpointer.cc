#include "services/audit/checkpointer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace concord::audit {

Checkpointer::Checkpointer(AuditLog& log, CheckpointerOptions options)
    : log_(log), options_(options) {}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) {
    return;
  }
  started_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Checkpointer::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      return;
    }
    stop_ = true;
    started_ = false;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) {
    thread.join();
  }
}

StatusOr<bool> Checkpointer::RunOnce() {
  CONCORD_ASSIGN_OR_RETURN(ChainHead head, log_.Head());
  if (head.seq == 0) {
    return false;
  }
  CONCORD_ASSIGN_OR_RETURN(std::optional<Checkpoint> latest, log_.LatestCheckpoint());
  const uint64_t covered = latest ? latest->seq : 0;
  if (covered >= head.seq) {
    return false;
  }
  bool due = !latest;  // the first records get a checkpoint at once
  if (options_.every_records > 0 && head.seq - covered >= options_.every_records) {
    due = true;
  }
  if (latest && options_.interval > absl::ZeroDuration() &&
      log_.clock().Now() - latest->time >= options_.interval) {
    due = true;
  }
  if (!due) {
    return false;
  }
  CONCORD_RETURN_IF_ERROR(log_.CreateCheckpoint().status());
  return true;
}

void Checkpointer::Loop() {
  const absl::Duration poll = std::max(options_.poll_interval, absl::Milliseconds(10));
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto created = RunOnce();
    if (!created.ok()) {
      if (!failing_) {  // once per outage, not once per poll
        log::Event(log::Level::kWarn, "audit.checkpoint_failed",
                   {{"code", absl::StatusCodeToString(created.status().code())},
                    {"error", std::string(created.status().message())}});
      }
      failing_ = true;
    } else {
      if (failing_) {
        log::Event(log::Level::kInfo, "audit.checkpoint_recovered");
      }
      failing_ = false;
      if (*created) {
        log::Event(log::Level::kDebug, "audit.checkpoint_created");
      }
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoMilliseconds(poll), [this] { return stop_; });
  }
}

}  // namespace concord::audit
