#include "common/notify/outbox_worker.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/notify/delivery.h"
#include "common/status/status_macros.h"
#include "prometheus/family.h"

namespace concord::notify {

OutboxWorker::OutboxWorker(Outbox& outbox, NotificationSender* sender, const MessageIds* ids,
                           metrics::Metrics& metrics, OutboxWorkerOptions options)
    : outbox_(outbox), sender_(sender), ids_(ids), options_(std::move(options)) {
  auto& family = prometheus::BuildCounter()
                     .Name(options_.metric_prefix + "_total")
                     .Help(options_.what +
                           " by outcome: sent as a Concord message, dropped (refused for good, "
                           "e.g. recipient unknown or suspended), failed (will be retried).")
                     .Register(metrics.registry());
  sent_ = &family.Add({{"outcome", "sent"}});
  dropped_ = &family.Add({{"outcome", "dropped"}});
  failed_ = &family.Add({{"outcome", "failed"}});
  id_taken_ = &prometheus::BuildCounter()
                   .Name(options_.metric_prefix + "_id_taken_total")
                   .Help(options_.what +
                         ": sends refused ALREADY_EXISTS because the message id was taken; each "
                         "was re-sent under a fresh secret-keyed id. Expected only after a crash "
                         "between a send and its acknowledgement.")
                   .Register(metrics.registry())
                   .Add({});
}

OutboxWorker::~OutboxWorker() { Stop(); }

void OutboxWorker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || sender_ == nullptr || ids_ == nullptr) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutboxWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutboxWorker::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    StatusOr<int> done = RunOnce();
    lock.lock();
    // A full batch: go on at once; otherwise wait (new items are picked up within a second).
    if (done.ok() && *done >= options_.batch) continue;
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.idle_interval), [this] { return stop_; });
  }
}

StatusOr<bool> OutboxWorker::Handle(const OutboxEntry& entry) {
  if (!entry.status.ok()) return entry.status;
  if (!entry.notification.has_value() || entry.notification->recipients.empty()) return true;
  const std::string_view field = options_.subject_field;
  const DeliveryResult r =
      Deliver(*sender_, *ids_, entry.item_id, *entry.notification, options_.max_id_attempts);
  if (r.ids_taken > 0) {
    id_taken_->Increment(r.ids_taken);
    log::Event(log::Level::kWarn, absl::StrCat(options_.log_prefix, ".notification_id_taken"),
               {{field, entry.subject},
                {"item", entry.item_id},
                {"ids_taken", absl::StrCat(r.ids_taken)}});
  }
  if (r.status.ok()) {
    sent_->Increment();
    return true;
  }
  if (r.status.code() == absl::StatusCode::kAlreadyExists) {
    // Every fresh id was taken: only someone holding the notifier secret can do that. Leave the
    // item for a later round without holding up the others.
    failed_->Increment();
    log::Event(log::Level::kError, absl::StrCat(options_.log_prefix, ".notification_ids_exhausted"),
               {{field, entry.subject},
                {"item", entry.item_id},
                {"error", std::string(r.status.message())}});
    return false;
  }
  if (IsPermanent(r.status)) {
    dropped_->Increment();
    log::Event(log::Level::kWarn, absl::StrCat(options_.log_prefix, ".notification_dropped"),
               {{field, entry.subject},
                {"item", entry.item_id},
                {"code", absl::StatusCodeToString(r.status.code())},
                {"error", std::string(r.status.message())}});
    return true;
  }
  failed_->Increment();
  return r.status;
}

StatusOr<int> OutboxWorker::RunOnce() {
  if (sender_ == nullptr || ids_ == nullptr) return 0;
  CONCORD_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries,
                           outbox_.Read(options_.consumer, options_.batch, options_.claim_after));
  std::vector<std::string> done;
  for (const OutboxEntry& entry : entries) {
    StatusOr<bool> handled = Handle(entry);
    if (handled.ok()) {
      if (*handled) done.push_back(entry.ack_id);
      continue;
    }
    log::Event(log::Level::kWarn, absl::StrCat(options_.log_prefix, ".notification_retry"),
               {{std::string_view(options_.subject_field), entry.subject},
                {"code", absl::StatusCodeToString(handled.status().code())},
                {"error", std::string(handled.status().message())}});
    break;  // messaging or storage is down: the rest waits for the next round
  }
  if (!done.empty()) CONCORD_RETURN_IF_ERROR(outbox_.Ack(done));
  return static_cast<int>(done.size());
}

}  // namespace concord::notify
