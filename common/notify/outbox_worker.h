// File: common/notify/outbox_worker.h
//
// The outbox worker every Concord notifier runs. A service writes what it must announce into
// its own outbox (in Redis, in the same script as the change it announces, so nothing is lost);
// this worker reads the outbox, composes each item into a Notification, delivers it under
// secret-keyed message ids with the rule of delivery.h, and acknowledges an item only once
// messaging confirmed it as sent - or refused it for good (dropped: counted and logged).
//
// What is service-specific is behind `Outbox`: where items live, how an item becomes a message
// (what to say, to whom). The referrals service implements it over its outbox stream
// (services/referrals/notifier.h); the directory, guidelines and liaison services do the same
// with their own identity (admin/concord-directory, ...).
//
// Metrics, with `metric_prefix` P (e.g. concord_referral_notifications):
//   P_total{outcome="sent"|"dropped"|"failed"}  items sent, dropped for good, failed (retried)
//   P_id_taken_total                              sends answered ALREADY_EXISTS (re-sent under a
//                                                 fresh id: after a crash between send and ack,
//                                                 or by someone who holds the notifier secret)
// Log events, with `log_prefix` L: L.notification_dropped (warn), L.notification_retry (warn),
// L.notification_id_taken (warn), L.notification_ids_exhausted (error).
//
// Thread safety: Start() runs one background thread; RunOnce() may be called by tests instead
// (not both at once).
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/notify/message_ids.h"
#include "common/notify/notification_sender.h"
#include "common/status/status.h"
#include "prometheus/counter.h"

namespace concord::notify {

/// One outbox item, read and composed by the service.
struct OutboxEntry {
  std::string ack_id;   // handed back to Outbox::Ack
  std::string item_id;  // stable id of the item: the message ids derive from it
  std::string subject;  // what logs name (e.g. the case id); never personal data
  /// Not OK: the item could not be composed now (e.g. storage unreachable): retried later.
  Status status;
  /// nullopt (status OK): nothing to say any more (acknowledged without sending).
  std::optional<Notification> notification;
};

/// A service's outbox. Implementations are thread-safe.
class Outbox {
 public:
  virtual ~Outbox() = default;
  /// At most `max` items, without blocking: first those another consumer read but did not
  /// acknowledge within `claim_after` (now owned by `consumer`), then new ones; each composed.
  virtual StatusOr<std::vector<OutboxEntry>> Read(std::string_view consumer, int max,
                                                  absl::Duration claim_after) = 0;
  /// Acknowledges (removes) the items.
  virtual Status Ack(const std::vector<std::string>& ack_ids) = 0;
};

struct OutboxWorkerOptions {
  std::string consumer = "notifier";  // unique per replica (host name + pid)
  int batch = 50;
  absl::Duration claim_after = absl::Seconds(30);
  absl::Duration idle_interval = absl::Seconds(1);
  int max_id_attempts = 8;  // fresh ids tried per item and round (delivery.h)
  std::string metric_prefix = "concord_notifications";
  std::string what = "Notifications";  // the Help text's subject, e.g. "Referral notifications"
  std::string log_prefix = "notifier";
  std::string subject_field = "subject";  // log field name of OutboxEntry::subject ("case_id")
};

class OutboxWorker {
 public:
  /// `sender` may be null: items then stay in the outbox. `outbox`, `sender`, `ids` and
  /// `metrics` must outlive the worker.
  OutboxWorker(Outbox& outbox, NotificationSender* sender, const MessageIds* ids,
               metrics::Metrics& metrics, OutboxWorkerOptions options);
  ~OutboxWorker();  // stops the thread
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  void Start();
  void Stop();
  /// Reads one batch and delivers it. Returns the number of items acknowledged (sent, dropped,
  /// or with nothing to say). Stops at the first transient failure (the rest waits).
  StatusOr<int> RunOnce();

 private:
  // true = done (acknowledge); false = leave it for later but go on; error = stop this round.
  StatusOr<bool> Handle(const OutboxEntry& entry);
  void Loop();

  Outbox& outbox_;
  NotificationSender* sender_;
  const MessageIds* ids_;
  const OutboxWorkerOptions options_;
  prometheus::Counter* sent_;
  prometheus::Counter* dropped_;
  prometheus::Counter* failed_;
  prometheus::Counter* id_taken_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace concord::notify
