// File: services/liaison/notifier.h
//
// What the liaison service announces, and to whom, as Concord notifications from its own
// identity admin/concord-liaison (which may only send notifications): every change of a request
// to the other party (when it has a Concord inbox: domestic agencies and platforms; a foreign
// partner's side is reached through its own deployment), an alert AT ONCE when an 8-hour clock
// starts (the platform's or the single point of contact's round-the-clock contact), a reminder
// before every clock is due and an overdue alert when it is.
//
// Outbox pattern (common/notify): a change writes its notification in the SAME Lua script that
// changes the request; the scheduler moves each clock firing into the outbox in the script that
// claims it; the OutboxWorker sends under message ids keyed with the notifier secret and
// acknowledges only what messaging confirmed. Bodies carry no personal data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/notify/outbox_worker.h"
#include "services/liaison/liaison_store.h"

namespace concord::liaison {

/// "ln-" + 40 hex digits (common/notify/message_ids.h).
inline constexpr char kNotificationIdPrefix[] = "ln-";

/// Metric concord_liaison_notifications_*, log events liaison.notification_*, logs name the
/// request id.
notify::OutboxWorkerOptions LiaisonNotifierOptions(std::string consumer);

/// Recipients of a clock firing: the parties with a Concord inbox (the executor first).
std::vector<AgencyId> ClockRecipients(const v1::Request& r);

/// The JSON body of a clock notification.
std::string ClockBody(const v1::Request& r, v1::ClockKind clock, std::string_view stage,
                      absl::Time due);

class LiaisonOutbox final : public notify::Outbox {
 public:
  LiaisonOutbox(LiaisonStore& store, std::string trust_domain)
      : store_(store), trust_domain_(std::move(trust_domain)) {}

  StatusOr<std::vector<notify::OutboxEntry>> Read(std::string_view consumer, int max,
                                                  absl::Duration claim_after) override;
  Status Ack(const std::vector<std::string>& ack_ids) override;

 private:
  notify::OutboxEntry Compose(const OutboxItem& item);

  LiaisonStore& store_;
  const std::string trust_domain_;
};

}  // namespace concord::liaison
