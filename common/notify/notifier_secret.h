// File: common/notify/notifier_secret.h
//
// The deployment's notifier secret: 32 random bytes that Concord's notifiers (referrals, and
// later directory, guidelines, liaison) key their message ids with (message_ids.h), so that no
// agency can predict the id of a notification and take it first (docs/security.md).
//
// Secret file: exactly 32 raw bytes, or 64 hex characters optionally followed by a newline or
// other trailing whitespace (`openssl rand -hex 32 > notifier.secret`, mode 0600; scripts/pki.sh
// `notifier`; the Helm chart generates a Secret). Rotating it is harmless: items still queued
// are then sent under ids derived from the new secret.
//
//   CONCORD_ASSIGN_OR_RETURN(NotifierSecret secret,
//                            LoadNotifierSecret(cfg.notifier_secret_file,
//                            "--notifier-secret-file"));
//
// Thread safety: an immutable value.
#pragma once

#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::notify {

inline constexpr size_t kNotifierSecretSize = 32;

/// 32 secret bytes; wiped from memory when destroyed; never printed.
class NotifierSecret {
 public:
  /// INVALID_ARGUMENT unless `raw` is exactly 32 bytes.
  static StatusOr<NotifierSecret> FromBytes(std::string_view raw);

  NotifierSecret(const NotifierSecret&) = default;
  NotifierSecret& operator=(const NotifierSecret&) = default;
  ~NotifierSecret();

  std::string_view bytes() const { return bytes_; }

 private:
  explicit NotifierSecret(std::string raw) : bytes_(std::move(raw)) {}
  std::string bytes_;
};

/// Reads a secret file (see the file comment). Every error names `flag` and the path, never the
/// secret: INVALID_ARGUMENT "<flag> is required ..." when `path` is empty, NOT_FOUND /
/// PERMISSION_DENIED when it cannot be opened, INVALID_ARGUMENT when the contents are neither 32
/// raw bytes nor 64 hex characters.
StatusOr<NotifierSecret> LoadNotifierSecret(const std::string& path, std::string_view flag);

}  // namespace concord::notify
