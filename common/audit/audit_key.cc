#include "common/audit/audit_key.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/crypto/encoding.h"

namespace concord::audit {
namespace {

// Security: overwrite secret bytes; volatile so the stores are not elided.
void Wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) {
    p[i] = 0;
  }
}

// Wipes a string when it goes out of scope.
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

StatusOr<AuditKey> AuditKey::FromBytes(std::string_view raw) {
  if (raw.size() != kAuditKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit key must be exactly 32 bytes, got ", raw.size()));
  }
  auto aead = crypto::AeadKey::Create(raw);
  if (!aead.ok()) return aead.status();
  return AuditKey(std::string(raw), *std::move(aead));
}

AuditKey::~AuditKey() { Wipe(bytes_); }

StatusOr<AuditKey> LoadAuditKey(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string what = absl::StrCat("audit key file ", path, ": cannot open (",
                                          err != 0 ? std::strerror(err) : "unknown error", ")");
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(what);
    }
    return absl::NotFoundError(what);
  }
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ScopedWipe wipe_contents(contents);
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("audit key file ", path, ": read error"));
  }
  if (contents.size() == kAuditKeySize) {
    return AuditKey::FromBytes(contents);
  }
  // Hex form: 64 hex characters, optionally followed by whitespace.
  std::string_view text(contents);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.size() == 2 * kAuditKeySize) {
    auto raw = crypto::HexDecode(text);
    if (raw.ok()) {
      ScopedWipe wipe_raw(*raw);
      return AuditKey::FromBytes(*raw);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("audit key file ", path,
                     ": 64 characters but not valid hex (expected 32 raw bytes or "
                     "64 hex characters)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("audit key file ", path, ": expected 32 raw bytes or 64 hex characters, got ",
                   contents.size(), " bytes"));
}

}  // namespace concord::audit
