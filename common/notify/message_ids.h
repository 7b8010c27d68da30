// File: common/notify/message_ids.h
//
// The message ids of Concord's notifications, keyed with the deployment's notifier secret.
//
// Why: messaging de-duplicates by message id, and an id is first come, first served. Were the id
// of a notification computable from public data (the case id, the deadline, its due time), the
// agency a notification warns about could send a message of its own under that id first and the
// notification would be refused (ALREADY_EXISTS) - e.g. a reception centre pre-empting its own
// overdue alert. Keyed with a secret only Concord holds, the ids cannot be predicted; and a
// notifier that still meets ALREADY_EXISTS re-sends under the next attempt's id (delivery.h).
//
//   id(item, attempt) = prefix || hex(HMAC-SHA256(secret,
//                            "concord.notifier.message_id.v1" 0x00 notifier 0x00 item 0x00
//                            decimal(attempt)))[0..40)
//
// `notifier` is the notifier's agency key ("admin/concord-referrals"), so two notifiers sharing
// one secret never derive the same id for items that happen to share an id.
//
// Thread safety: an immutable value.
#pragma once

#include <string>
#include <string_view>

#include "common/notify/notifier_secret.h"

namespace concord::notify {

inline constexpr std::string_view kMessageIdDomain = "concord.notifier.message_id.v1";
inline constexpr size_t kMessageIdHexDigits = 40;  // 160 bits

class MessageIds {
 public:
  /// `prefix` names the notifier in ids ("rn-" for referrals): [A-Za-z0-9_-]{0,16};
  /// INVALID_ARGUMENT otherwise. `notifier` is the notifier's agency key (not empty).
  static StatusOr<MessageIds> Create(NotifierSecret secret, std::string notifier,
                                     std::string prefix);

  /// The id of attempt `attempt` (0, 1, ...) for the outbox item `item_id`: [A-Za-z0-9_-], of
  /// length prefix + 40, as messaging requires ([A-Za-z0-9_-]{16,64}).
  std::string Derive(std::string_view item_id, int attempt) const;

  const std::string& notifier() const { return notifier_; }

 private:
  MessageIds(NotifierSecret secret, std::string notifier, std::string prefix)
      : secret_(std::move(secret)), notifier_(std::move(notifier)), prefix_(std::move(prefix)) {}

  NotifierSecret secret_;
  std::string notifier_;
  std::string prefix_;
};

}  // namespace concord::notify
