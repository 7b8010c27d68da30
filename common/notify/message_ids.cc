#include "common/notify/message_ids.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"

namespace concord::notify {

StatusOr<MessageIds> MessageIds::Create(NotifierSecret secret, std::string notifier,
                                        std::string prefix) {
  if (prefix.size() > 16 ||
      prefix.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                               "qrstuvwxyz0123456789_-") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "notifier message id prefix must match [A-Za-z0-9_-]{0,16}, got \"", prefix, "\""));
  }
  if (notifier.empty()) return absl::InvalidArgumentError("notifier identity is empty");
  return MessageIds(std::move(secret), std::move(notifier), std::move(prefix));
}

std::string MessageIds::Derive(std::string_view item_id, int attempt) const {
  std::string input;
  input.reserve(kMessageIdDomain.size() + notifier_.size() + item_id.size() + 16);
  input.append(kMessageIdDomain).push_back('\0');
  input.append(notifier_).push_back('\0');
  input.append(item_id).push_back('\0');
  input.append(std::to_string(attempt));
  return prefix_ + crypto::HmacSha256Hex(secret_.bytes(), input).substr(0, kMessageIdHexDigits);
}

}  // namespace concord::notify
