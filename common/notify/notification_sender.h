// File: common/notify/notification_sender.h
//
// What a Concord notifier sends, and the interface of whatever sends it (the messaging sender
// in client/notify, or a recording fake in tests). A notification is a NOTIFICATION message from
// Concord's own identity (admin/concord-<service>) to domestic agencies; its body carries no
// personal data (ids, states, deadlines), so it can be composed from what the service stores.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::notify {

struct Notification {
  std::string thread_id;             // the message's thread (e.g. a random case id)
  std::vector<AgencyId> recipients;  // 1..64 domestic agencies
  std::string body;                  // text (JSON), no personal data
  /// Optional, one per recipient: the X25519 public key (SubjectPublicKeyInfo PEM) to seal to
  /// instead of the recipient's current directory key. The directory announces a change of an
  /// agency's keys sealed to the key the agency had BEFORE it, so that the agency, and not
  /// whoever set the new key, can read it. Empty: the directory's keys.
  std::vector<std::string> sealing_key_pems{};
};

class NotificationSender {
 public:
  virtual ~NotificationSender() = default;

  /// Sends `notification` under `message_id`. Contract of the answer:
  ///   OK               messaging stored it as THIS sender's message: a new message, or
  ///                    `duplicate` for an identical envelope this sender had sent before
  ///                    (messaging answers duplicate only to the sender of that envelope);
  ///   ALREADY_EXISTS   the id holds another envelope (someone else's, or an earlier attempt of
  ///                    ours that was built again): nothing was sent; try a fresh id (delivery.h);
  ///   IsPermanent()    refused for good (recipient unknown or suspended, not allowed);
  ///   anything else    transient (messaging or the network down): retry later.
  virtual Status Send(const Notification& notification, std::string_view message_id) = 0;
};

/// FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED: a notification refused
/// with one of these is refused again however often it is retried; it is dropped (counted and
/// logged) instead of blocking the outbox.
bool IsPermanent(const Status& status);

}  // namespace concord::notify
