#include "common/audit/checkpoint_export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"

namespace concord::audit {
namespace {

constexpr size_t kHeadHashSize = 32;

std::string RfcTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E9SZ", t, absl::UTCTimeZone());
}

Status Bad(std::string field, std::string description) {
  return InvalidArgumentWithFields("not an exported audit checkpoint",
                                   {{std::move(field), std::move(description)}});
}

// A JSON number or a decimal string (log lines hold strings).
StatusOr<uint64_t> Unsigned(const nlohmann::json& doc, const char* field) {
  if (!doc.contains(field)) return Bad(field, "missing");
  const nlohmann::json& v = doc[field];
  uint64_t out = 0;
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &out)) return out;
  return Bad(field, "must be a non-negative integer");
}

StatusOr<std::string> HexField(const nlohmann::json& doc, const char* field, size_t bytes) {
  if (!doc.contains(field) || !doc[field].is_string()) return Bad(field, "missing");
  auto raw = crypto::HexDecode(doc[field].get<std::string>());
  if (!raw.ok() || raw->size() != bytes) {
    return Bad(field, absl::StrCat("must be ", bytes * 2, " hex characters"));
  }
  return *std::move(raw);
}

std::string Range(uint64_t from, uint64_t to) {
  return from == to ? absl::StrCat("record ", from) : absl::StrCat("records ", from, "..", to);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> CheckpointExportFields(
    const Checkpoint& cp, std::string_view public_key_raw) {
  return {{"format", std::string(kCheckpointExportFormat)},
          {"seq", absl::StrCat(cp.seq)},
          {"head_hash", crypto::HexEncode(cp.head_hash)},
          {"time", RfcTime(cp.time)},
          {"time_unix_nanos", absl::StrCat(absl::ToUnixNanos(cp.time))},
          {"signature", crypto::HexEncode(cp.signature)},
          {"public_key", crypto::HexEncode(public_key_raw)}};
}

std::string CheckpointToJson(const Checkpoint& cp, std::string_view public_key_raw) {
  nlohmann::ordered_json doc;
  doc["format"] = kCheckpointExportFormat;
  doc["seq"] = cp.seq;
  doc["head_hash"] = crypto::HexEncode(cp.head_hash);
  doc["time"] = RfcTime(cp.time);
  doc["time_unix_nanos"] = absl::ToUnixNanos(cp.time);
  doc["signature"] = crypto::HexEncode(cp.signature);
  doc["public_key"] = crypto::HexEncode(public_key_raw);
  return doc.dump();
}

StatusOr<ExportedCheckpoint> ParseExportedCheckpoint(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Bad("(file)", "not a JSON object");
  }
  if (!doc.contains("format") || !doc["format"].is_string() ||
      doc["format"].get<std::string>() != kCheckpointExportFormat) {
    return Bad("format", "must be \"" + std::string(kCheckpointExportFormat) + "\"");
  }
  ExportedCheckpoint out;
  auto seq = Unsigned(doc, "seq");
  if (!seq.ok()) return seq.status();
  if (*seq == 0) return Bad("seq", "must be at least 1");
  out.checkpoint.seq = *seq;
  auto nanos = Unsigned(doc, "time_unix_nanos");
  if (!nanos.ok()) return nanos.status();
  if (*nanos > static_cast<uint64_t>(INT64_MAX)) return Bad("time_unix_nanos", "out of range");
  out.checkpoint.time = absl::FromUnixNanos(static_cast<int64_t>(*nanos));
  auto hash = HexField(doc, "head_hash", kHeadHashSize);
  if (!hash.ok()) return hash.status();
  out.checkpoint.head_hash = *std::move(hash);
  auto signature = HexField(doc, "signature", crypto::kEd25519SignatureSize);
  if (!signature.ok()) return signature.status();
  out.checkpoint.signature = *std::move(signature);
  auto key = HexField(doc, "public_key", crypto::kEd25519KeySize);
  if (!key.ok()) return key.status();
  out.public_key = *std::move(key);
  return out;
}

std::string CheckpointExportFileName(uint64_t seq) {
  return absl::StrFormat("checkpoint-%020d.json", seq);
}

Status WriteCheckpointExportFile(const std::string& dir, const Checkpoint& cp,
                                 std::string_view public_key_raw) {
  const std::string path = absl::StrCat(dir, "/", CheckpointExportFileName(cp.seq));
  const std::string tmp = absl::StrCat(path, ".tmp");
  const std::string content = CheckpointToJson(cp, public_key_raw) + "\n";
  auto os_error = [](const std::string& what, const std::string& where) {
    return absl::InternalError(
        absl::StrCat("audit checkpoint export: ", what, " ", where, ": ", std::strerror(errno)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return os_error("cannot create", tmp);
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status st = os_error("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status st = os_error("cannot fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = os_error("cannot rename to", path);
    ::unlink(tmp.c_str());
    return st;
  }
  // The rename is durable once the directory is.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

StatusOr<CheckpointKeySource> VerifyExportedCheckpoint(
    const ExportedCheckpoint& exported, const std::optional<std::string>& pinned_key_raw) {
  const CheckpointKeySource source =
      pinned_key_raw ? CheckpointKeySource::kPinned : CheckpointKeySource::kExportFile;
  if (pinned_key_raw && *pinned_key_raw != exported.public_key) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the exported checkpoint names the audit key ", crypto::HexEncode(exported.public_key),
        ", not the expected key ", crypto::HexEncode(*pinned_key_raw)));
  }
  auto key =
      crypto::Ed25519PublicKey::FromRaw(pinned_key_raw ? *pinned_key_raw : exported.public_key);
  if (!key.ok()) {
    return InvalidArgumentWithFields("bad audit public key",
                                     {{"public_key", std::string(key.status().message())}});
  }
  if (!VerifyCheckpointSignature(*key, exported.checkpoint)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the exported checkpoint at record ", exported.checkpoint.seq,
                     " is not signed by the audit key (altered or forged)"));
  }
  return source;
}

CheckpointComparison CompareChainWithCheckpoint(const Checkpoint& cp,
                                                const ChainAtCheckpoint& chain) {
  CheckpointComparison out;
  const std::string signed_at = RfcTime(cp.time);
  if (chain.head_seq < cp.seq) {
    out.ok = false;
    out.missing_from = chain.head_seq + 1;
    out.missing_to = cp.seq;
    out.message =
        absl::StrCat(Range(out.missing_from, out.missing_to), " missing: the log ends at record ",
                     chain.head_seq, " but the exported checkpoint of ", signed_at,
                     " covers up to record ", cp.seq, " (the tail was cut)");
    if (!chain.verified && chain.first_bad_seq <= chain.head_seq) {
      absl::StrAppend(&out.message, "; record ", chain.first_bad_seq,
                      " also fails verification: ", chain.reason);
    }
    return out;
  }
  if (!chain.verified) {
    out.ok = false;
    out.differs_from = chain.first_bad_seq;
    out.message = absl::StrCat(Range(chain.first_bad_seq, cp.seq),
                               " differ from the exported checkpoint of ", signed_at, ": record ",
                               chain.first_bad_seq, " fails verification (", chain.reason, ")");
    return out;
  }
  if (chain.hash_at_seq != cp.head_hash) {
    out.ok = false;
    out.differs_from = 1;
    out.message = absl::StrCat("records 1..", cp.seq, " differ from the exported checkpoint of ",
                               signed_at, ": record ", cp.seq, " hashes to ",
                               crypto::HexEncode(chain.hash_at_seq), ", the checkpoint says ",
                               crypto::HexEncode(cp.head_hash), " (the log was rewritten)");
    return out;
  }
  return out;
}

}  // namespace concord::audit
