// File: client/notify/messaging_notification_sender.h
//
// A Concord notifier's sender over concord.messaging.v1 (common/notify/notification_sender.h):
// mutual TLS with the notifier identity (common/notify/notifier_identity.h), the recipients'
// sealing keys from the directory, the body sealed to them and the envelope signed with the
// notifier's Ed25519 key (client/messaging), kind NOTIFICATION, classification RESTRICTED,
// handling H0, 30 days to live.
//
// It lives one floor above common/ because it builds envelopes with the agency-side messaging
// library; the outbox worker and the delivery rule stay in common/notify.
//
//   auto sender = MessagingNotificationSender::Create(std::move(identity), [] { return target; });
//   notify::OutboxWorker worker(outbox, sender.get(), &ids, metrics, options);
//
// Thread safety: Send may be called from several threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/notify/notification_sender.h"
#include "common/notify/notifier_identity.h"

namespace concord::notify {

class MessagingNotificationSender final : public NotificationSender {
 public:
  /// `target` gives the messaging service's host:port; it is asked on each send until a channel
  /// exists (an in-process server's port is known only once it started; "" = not yet).
  MessagingNotificationSender(NotifierIdentity identity, std::function<std::string()> target);
  ~MessagingNotificationSender() override;

  /// The contract of NotificationSender::Send. UNAVAILABLE while the target is not known.
  Status Send(const Notification& notification, std::string_view message_id) override;

  const AgencyId& identity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concord::notify
