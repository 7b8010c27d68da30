#include "client/keys/known_keys_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto/encoding.h"

namespace concord::keys {
namespace {

constexpr absl::Duration kLockPoll = absl::Milliseconds(20);

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

Status FileError(const std::string& path, std::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("known-keys file ", path, ": ", std::string(what)));
}

std::string Errno() { return std::strerror(errno); }

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(Errno());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatKnownKeys(const KnownKeys& known) {
  nlohmann::ordered_json agencies = nlohmann::ordered_json::object();
  for (const auto& [spiffe, a] : known) {
    agencies[spiffe] = {{"signing_key", crypto::Base64Encode(a.keys.signing)},
                        {"sealing_key", crypto::Base64Encode(a.keys.sealing)},
                        {"source", std::string(KeySourceName(a.source))},
                        {"first_seen", Rfc3339(a.first_seen)},
                        {"since", Rfc3339(a.since)}};
  }
  nlohmann::ordered_json doc = {{"format", std::string(kKnownKeysFormat)},
                                {"agencies", std::move(agencies)}};
  return doc.dump(2) + "\n";
}

StatusOr<KnownKeys> ParseKnownKeys(std::string_view text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON (", e.what(), ")"));
  }
  if (!doc.is_object() || !doc.contains("format") || !doc["format"].is_string() ||
      doc["format"].get<std::string>() != kKnownKeysFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"format\" must be \"", std::string(kKnownKeysFormat), "\""));
  }
  KnownKeys out;
  if (!doc.contains("agencies")) return out;
  if (!doc["agencies"].is_object()) {
    return absl::InvalidArgumentError("\"agencies\" must be an object");
  }
  for (const auto& [spiffe, e] : doc["agencies"].items()) {
    const std::string where = absl::StrCat("agencies[\"", spiffe, "\"]");
    if (!spiffe.starts_with("spiffe://") || !e.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": not an agency entry"));
    }
    KnownAgency a;
    for (const char* field : {"signing_key", "sealing_key", "source", "first_seen", "since"}) {
      if (!e.contains(field) || !e[field].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".", field, ": missing"));
      }
    }
    auto signing = crypto::Base64Decode(e["signing_key"].get<std::string>());
    auto sealing = crypto::Base64Decode(e["sealing_key"].get<std::string>());
    if (!signing.ok() || signing->size() != 32 || !sealing.ok() || sealing->size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": keys must be Base64 of 32 raw bytes"));
    }
    a.keys = AgencyKeys{*std::move(signing), *std::move(sealing)};
    auto source = ParseKeySource(e["source"].get<std::string>());
    if (!source.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".source: first_use, endorsed or accepted"));
    }
    a.source = *source;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, e["first_seen"].get<std::string>(), &a.first_seen,
                         &err) ||
        !absl::ParseTime(absl::RFC3339_full, e["since"].get<std::string>(), &a.since, &err)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": times must be RFC 3339"));
    }
    out.emplace(spiffe, std::move(a));
  }
  return out;
}

StatusOr<KnownKeys> KnownKeysFile::Load() const {
  const int raw = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (raw < 0) {
    if (errno == ENOENT) return KnownKeys{};
    return FileError(path_, absl::StrCat("cannot open (", Errno(), ")"));
  }
  Fd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return FileError(path_, "not a regular file");
  }
  // Security: whoever can write this file decides which keys are trusted.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return FileError(path_, "is writable by group or others (chmod 600 it, after checking it)");
  }
  if (st.st_size > 16 * 1024 * 1024) return FileError(path_, "larger than 16 MiB");
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  StatusOr<KnownKeys> parsed = ParseKnownKeys(text);
  if (!parsed.ok()) {
    return FileError(path_, absl::StrCat("malformed, refused (not reset): ",
                                         std::string(parsed.status().message())));
  }
  return parsed;
}

Status KnownKeysFile::Update(const std::function<StatusOr<bool>(KnownKeys&)>& change) {
  const std::string lock_path = path_ + ".lock";
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0) {
    return FileError(path_, absl::StrCat("cannot create the lock ", lock_path, " (", Errno(), ")"));
  }
  const absl::Time deadline = absl::Now() + lock_wait_;
  while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return FileError(path_, absl::StrCat("cannot lock ", lock_path, " (", Errno(), ")"));
    }
    if (absl::Now() >= deadline) {
      return FileError(path_, absl::StrCat("locked by another process for more than ",
                                           absl::FormatDuration(lock_wait_)));
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(kLockPoll));
  }
  // The lock is released when `lock` is closed.
  StatusOr<KnownKeys> known = Load();
  if (!known.ok()) return known.status();
  StatusOr<bool> write = change(*known);
  if (!write.ok()) return write.status();
  if (!*write) return absl::OkStatus();

  const std::string text = FormatKnownKeys(*known);
  const std::string tmp = absl::StrCat(path_, ".tmp.", ::getpid());
  ::unlink(tmp.c_str());
  {
    Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (out.get() < 0)
      return FileError(path_, absl::StrCat("cannot write ", tmp, " (", Errno(), ")"));
    if (::fchmod(out.get(), 0600) != 0 || !WriteAll(out.get(), text).ok() ||
        ::fsync(out.get()) != 0) {
      const std::string why = Errno();
      ::unlink(tmp.c_str());
      return FileError(path_, absl::StrCat("cannot write ", tmp, " (", why, ")"));
    }
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string why = Errno();
    ::unlink(tmp.c_str());
    return FileError(path_, absl::StrCat("cannot replace it (", why, ")"));
  }
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() >= 0) ::fsync(d.get());  // the rename survives a crash
  return absl::OkStatus();
}

}  // namespace concord::keys
