// File: services/referrals/notifier.h
//
// Case notifications as Concord messages (issue 4: "every transition notifies the parties by a
// sealed Concord message"; deadline reminders and overdue alerts likewise).
//
// Outbox pattern, so that nothing is lost: a transition writes its notification into the outbox
// stream in the SAME Lua script that changes the case, and the deadline scheduler moves each
// firing into the outbox in the script that claims it (redis_referral_store.cc). The OutboxWorker
// reads the outbox (consumer group: several replicas share the work; an item a dead replica read
// is re-read after `claim_after`), turns each item into a message, sends it through
// concord.messaging.v1 as Concord's own notifier identity (admin/concord-referrals: signed with
// its Ed25519 key, sealed to each recipient's X25519 key from the directory, kind NOTIFICATION)
// and acknowledges the item only after Send returned OK. The message id is a hash of the item's
// deterministic id, so a re-send after a crash is de-duplicated by messaging (ALREADY_EXISTS =
// the first send was stored). Bodies carry no personal data: case id, transition, states,
// deadline kind and due time.
//
// Thread safety: OutboxWorker runs one background thread; RunOnce may be called by tests instead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/metrics/metrics.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "services/referrals/referral_store.h"

namespace concord::referrals {

struct OutgoingNotification {
  std::string message_id;  // [A-Za-z0-9_-]{16,64}, deterministic per outbox item
  std::string case_id;
  std::vector<AgencyId> recipients;
  std::string body;  // JSON text, no personal data
};

class NotificationSender {
 public:
  virtual ~NotificationSender() = default;
  /// OK once messaging stored the message (or had already stored one under this id).
  /// FAILED_PRECONDITION / NOT_FOUND / INVALID_ARGUMENT: permanent (e.g. recipient suspended or
  /// unregistered); anything else is retried.
  virtual Status Send(const OutgoingNotification& notification) = 0;
};

/// Sends through concord.messaging.v1 over mutual TLS with the identity in `dir` (pki.sh layout:
/// cert.pem, key.pem, sign.key, seal.key). `target` gives host:port; it is asked on each send
/// until a channel exists (the in-process server's port is known only once it started).
class MessagingNotificationSender final : public NotificationSender {
 public:
  static StatusOr<std::unique_ptr<MessagingNotificationSender>> Create(
      const std::string& dir, const std::string& ca_file, const std::string& trust_domain,
      std::function<std::string()> target);
  ~MessagingNotificationSender() override;
  Status Send(const OutgoingNotification& notification) override;
  const AgencyId& identity() const;

 private:
  struct Impl;
  explicit MessagingNotificationSender(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The message id for an outbox item id: "rn-" + the first 40 hex digits of its SHA-256.
std::string NotificationMessageId(std::string_view item_id);

/// Recipients of a deadline firing: centre response -> centre and referrer; reflection end ->
/// centre, magistrate and referrer; document expiry -> centre, Immigration Office, magistrate.
std::vector<AgencyId> DeadlineRecipients(const v1::Case& c, v1::DeadlineKind kind);

/// The JSON body of a deadline notification.
std::string DeadlineBody(const v1::Case& c, v1::DeadlineKind kind, std::string_view stage,
                         absl::Time due);

struct OutboxWorkerOptions {
  std::string consumer = "notifier";  // unique per replica (host name + pid)
  int batch = 50;
  absl::Duration claim_after = absl::Seconds(30);
  absl::Duration idle_interval = absl::Seconds(1);
  std::string trust_domain;
};

class OutboxWorker {
 public:
  /// `sender` may be null: items then stay in the outbox (counted as pending).
  OutboxWorker(ReferralStore& store, NotificationSender* sender, metrics::Metrics& metrics,
               OutboxWorkerOptions options);
  ~OutboxWorker();  // stops the thread
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  void Start();
  void Stop();
  /// Reads one batch and sends it. Returns the number of items acknowledged.
  StatusOr<int> RunOnce();

 private:
  StatusOr<bool> Handle(const OutboxItem& item);  // true = done (ack)
  void Loop();

  ReferralStore& store_;
  NotificationSender* sender_;
  const OutboxWorkerOptions options_;
  prometheus::Family<prometheus::Counter>* sent_family_;
  prometheus::Counter* sent_;
  prometheus::Counter* dropped_;
  prometheus::Counter* failed_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace concord::referrals
