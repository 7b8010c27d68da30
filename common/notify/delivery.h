// File: common/notify/delivery.h
//
// The delivery rule of Concord's notifiers, as a pure function over a NotificationSender:
//
//   for attempt = 0, 1, ... (at most max_attempts):
//     send under MessageIds::Derive(item, attempt)
//     ALREADY_EXISTS -> the id is taken: next attempt (nothing was sent)
//     anything else  -> that is the result
//
// Only an OK answer counts as sent, and messaging answers OK only for an envelope it stored
// as this sender's. An ALREADY_EXISTS answer is never taken for "delivered": before ids were
// keyed with a secret, that let an agency suppress a notification by sending first under its
// id (docs/security.md, "Threats, controls and proofs").
//
// What this costs: after a fault between messaging storing a notification and the outbox
// acknowledging it, the next round meets ALREADY_EXISTS on its own earlier envelope and sends
// again under a fresh id, so a recipient may receive the same notification twice (at least
// once). Notification bodies name their subject (case, transition version, deadline and stage),
// on which agency systems de-duplicate.
//
// Thread safety: pure; as thread-safe as `sender`.
#pragma once

#include <string>
#include <string_view>

#include "common/notify/message_ids.h"
#include "common/notify/notification_sender.h"

namespace concord::notify {

struct DeliveryResult {
  Status status;           // OK = sent; ALREADY_EXISTS = every id tried was taken
  std::string message_id;  // the id of the last attempt
  int ids_taken = 0;       // ALREADY_EXISTS answers met
};

/// Sends `notification` for the outbox item `item_id` under fresh ids until an answer other than
/// ALREADY_EXISTS, at most `max_attempts` (>= 1) sends.
DeliveryResult Deliver(NotificationSender& sender, const MessageIds& ids, std::string_view item_id,
                       const Notification& notification, int max_attempts);

}  // namespace concord::notify
