#include "common/notify/delivery.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace concord::notify {

bool IsPermanent(const Status& s) {
  return s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kNotFound ||
         s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kPermissionDenied;
}

DeliveryResult Deliver(NotificationSender& sender, const MessageIds& ids, std::string_view item_id,
                       const Notification& notification, int max_attempts) {
  DeliveryResult result;
  const int attempts = std::max(1, max_attempts);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    result.message_id = ids.Derive(item_id, attempt);
    result.status = sender.Send(notification, result.message_id);
    if (result.status.code() != absl::StatusCode::kAlreadyExists) return result;
    ++result.ids_taken;
  }
  result.status = absl::AlreadyExistsError(absl::StrCat("every message id tried for notification ",
                                                        std::string(item_id), " was taken (",
                                                        attempts, " attempts)"));
  return result;
}

}  // namespace concord::notify
