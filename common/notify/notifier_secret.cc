#include "common/notify/notifier_secret.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/crypto/encoding.h"

namespace concord::notify {
namespace {

// Security: overwrite secret bytes; volatile so the stores are not elided.
void Wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
}

class ScopedWipe {
 public:
  explicit ScopedWipe(std::string& s) : s_(s) {}
  ~ScopedWipe() { Wipe(s_); }
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;

 private:
  std::string& s_;
};

}  // namespace

StatusOr<NotifierSecret> NotifierSecret::FromBytes(std::string_view raw) {
  if (raw.size() != kNotifierSecretSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("notifier secret must be exactly 32 bytes, got ", raw.size()));
  }
  return NotifierSecret(std::string(raw));
}

NotifierSecret::~NotifierSecret() { Wipe(bytes_); }

StatusOr<NotifierSecret> LoadNotifierSecret(const std::string& path, std::string_view flag_view) {
  const std::string flag(flag_view);
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, " is required: the notifier derives its message ids from this secret (32 random ",
        "bytes or 64 hex characters, e.g. `openssl rand -hex 32 > notifier.secret`)"));
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string what = absl::StrCat(flag, ": cannot open ", path, " (",
                                          err != 0 ? std::strerror(err) : "unknown error", ")");
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(what);
    return absl::NotFoundError(what);
  }
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ScopedWipe wipe_contents(contents);
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, ": read error"));
  if (contents.size() == kNotifierSecretSize) return NotifierSecret::FromBytes(contents);
  std::string_view text(contents);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.size() == 2 * kNotifierSecretSize) {
    auto raw = crypto::HexDecode(text);
    if (raw.ok()) {
      ScopedWipe wipe_raw(*raw);
      return NotifierSecret::FromBytes(*raw);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": ", path, " must hold 32 raw bytes or 64 hex characters (openssl rand -hex 32)"));
}

}  // namespace concord::notify
