// File: common/quota/quota_table.cc
#include "common/quota/quota_table.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace concord::quota {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kKiB = 1024;
// The largest request Concord accepts (ServerRunner's maximum receive size): no single envelope
// or chunk can be larger, so no byte bucket needs a larger minimum burst.
constexpr int64_t kMaxRequestBytes = 4 * kMiB;
// The most ids one messaging Ack may name (services/messaging/mailbox.cc, messaging.proto).
constexpr int64_t kMaxAckIdsPerCall = 500;
// The most consultation records one call writes: a referrals List of a full page (500 cases, one
// record per case returned; services/referrals/referrals_service.cc, referrals.proto).
constexpr int64_t kMaxRecordsPerRead = 500;

size_t Index(Quota q) { return static_cast<size_t>(q); }
size_t Index(Cap c) { return static_cast<size_t>(c); }
size_t Index(AgencyType t) { return static_cast<size_t>(t); }

// Operational agencies: police, magistrates, reception centres, the Immigration Office, social
// inspection, and admin (Concord's own notifiers, admin/concord-*, send as admin). Sized so that
// a pessimistic national peak day of the busiest agency fits in the burst and its refill is
// several times that day's average (docs/operations.md "Sizing"), while one agency flooding at
// full speed is refused after the burst.
TypeLimits Operational() {
  TypeLimits l;
  l.buckets[Index(Quota::kSend)] = {20000, 5};
  l.buckets[Index(Quota::kSendBytes)] = {64 * kMiB, 8 * kKiB};
  l.buckets[Index(Quota::kUpload)] = {500, 0.2};
  l.buckets[Index(Quota::kUploadBytes)] = {256 * kMiB, 16 * kKiB};
  l.buckets[Index(Quota::kDraft)] = {200, 0.1};
  l.buckets[Index(Quota::kPublish)] = {50, 0.02};
  l.buckets[Index(Quota::kAck)] = {500, 0.1};
  l.buckets[Index(Quota::kLiaisonRequest)] = {1000, 0.2};
  l.buckets[Index(Quota::kJitWrite)] = {1000, 0.2};
  // Messaging acknowledgements, one token per id: what the agency's inbox receives, i.e. what all
  // its peers send it (the standard benchmark's recipient side at the throughput target, 49,500
  // ids in 22 s, fits in the burst; the refill is 8.6 million ids a day).
  l.buckets[Index(Quota::kMsgAck)] = {100000, 100};
  // Consultations (one token per consultation record the read writes): an agency's system and its
  // case workers reading inboxes, cases and requests, as fast as the send bucket admits messages
  // (432,000 a day); a stolen key can add at most that many consultation records to the audit log
  // a day, where it was unbounded.
  l.buckets[Index(Quota::kRead)] = {20000, 5};
  // Audit checkpoints signed on request (the checkpointer's own, every interval, are not
  // charged): an administrator's few before an export or an inspection. Each writes a file to
  // the checkpoint volume and a hash field to Redis for good.
  l.buckets[Index(Quota::kCheckpoint)] = {10, 0.01};
  l.caps[Index(Cap::kStreams)] = 32;
  l.caps[Index(Cap::kPendingUploads)] = 64;
  l.caps[Index(Cap::kDrafts)] = 200;
  // An audit Verify reads the whole range it checks; one at a time per agency and replica.
  l.caps[Index(Cap::kVerifications)] = 1;
  return l;
}

// Platforms, foreign partners and the coordination unit: what the policy table lets them do is
// narrow (platforms answer requests and notify the police; the others exchange no messages here).
TypeLimits Restricted() {
  TypeLimits l;
  l.buckets[Index(Quota::kSend)] = {2000, 1};
  l.buckets[Index(Quota::kSendBytes)] = {16 * kMiB, 4 * kKiB};
  l.buckets[Index(Quota::kUpload)] = {100, 0.05};
  l.buckets[Index(Quota::kUploadBytes)] = {64 * kMiB, 4 * kKiB};
  l.buckets[Index(Quota::kDraft)] = {20, 0.01};
  // The coordination unit publishes most guidelines; platforms answer liaison requests (Act);
  // foreign partners share in JITs: the same buckets as the operational agencies for those.
  l.buckets[Index(Quota::kPublish)] = {50, 0.02};
  l.buckets[Index(Quota::kAck)] = {500, 0.1};
  l.buckets[Index(Quota::kLiaisonRequest)] = {1000, 0.2};
  l.buckets[Index(Quota::kJitWrite)] = {1000, 0.2};
  // Platforms receive orders from every police zone (the largest about 1,000 a day); the others
  // receive no messages (a recipient of their types is refused).
  l.buckets[Index(Quota::kMsgAck)] = {20000, 20};
  l.buckets[Index(Quota::kRead)] = {2000, 1};
  l.buckets[Index(Quota::kCheckpoint)] = {10, 0.01};
  l.caps[Index(Cap::kStreams)] = 8;
  l.caps[Index(Cap::kPendingUploads)] = 16;
  l.caps[Index(Cap::kDrafts)] = 20;
  l.caps[Index(Cap::kVerifications)] = 1;
  return l;
}

std::string_view Strip(std::string_view s) {
  const absl::string_view t = absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size()));
  return std::string_view(t.data(), t.size());
}

bool ParseInt(std::string_view s, int64_t& out) {
  s = Strip(s);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseRate(std::string_view s, double& out) {
  s = Strip(s);
  if (s.empty() || s.size() > 32) return false;
  const std::string text(s);
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

std::string FormatRate(double r) {
  std::string s = absl::StrCat(r);
  return s;
}

std::string FormatCount(int64_t n) {
  if (n >= kMiB && n % kMiB == 0) return absl::StrCat(n / kMiB, " MiB");
  if (n >= kKiB && n % kKiB == 0) return absl::StrCat(n / kKiB, " KiB");
  return absl::StrCat(n);
}

std::string FormatBucket(Quota q, const BucketSpec& b) {
  if (IsByteQuota(q)) {
    return absl::StrCat(FormatCount(b.burst), " + ",
                        FormatCount(static_cast<int64_t>(std::llround(b.per_second))), "/s");
  }
  return absl::StrCat(b.burst, " + ", FormatRate(b.per_second), "/s");
}

Status Bad(std::string_view entry, std::string_view why) {
  return InvalidArgumentWithFields(
      "invalid quota overrides",
      {{"--quotas", absl::StrCat("entry \"", std::string(entry), "\": ", std::string(why))}});
}

}  // namespace

std::string_view QuotaName(Quota quota) {
  switch (quota) {
    case Quota::kSend:
      return "send";
    case Quota::kSendBytes:
      return "send_bytes";
    case Quota::kUpload:
      return "upload";
    case Quota::kUploadBytes:
      return "upload_bytes";
    case Quota::kDraft:
      return "draft";
    case Quota::kPublish:
      return "publish";
    case Quota::kAck:
      return "ack";
    case Quota::kLiaisonRequest:
      return "liaison_request";
    case Quota::kJitWrite:
      return "jit_write";
    case Quota::kMsgAck:
      return "msg_ack";
    case Quota::kRead:
      return "read";
    case Quota::kCheckpoint:
      return "checkpoint";
  }
  return "unknown";
}

std::string_view CapName(Cap cap) {
  switch (cap) {
    case Cap::kStreams:
      return "streams";
    case Cap::kPendingUploads:
      return "pending_uploads";
    case Cap::kDrafts:
      return "drafts";
    case Cap::kVerifications:
      return "verifications";
  }
  return "unknown";
}

std::optional<Quota> ParseQuota(std::string_view name) {
  for (Quota q : kAllQuotas) {
    if (QuotaName(q) == name) return q;
  }
  return std::nullopt;
}

std::optional<Cap> ParseCap(std::string_view name) {
  for (Cap c : kAllCaps) {
    if (CapName(c) == name) return c;
  }
  return std::nullopt;
}

bool IsByteQuota(Quota quota) { return quota == Quota::kSendBytes || quota == Quota::kUploadBytes; }

int64_t MinimumBurst(Quota quota) {
  if (IsByteQuota(quota)) return kMaxRequestBytes;
  // A messaging Ack names up to 500 ids and is charged one token per id, all or nothing.
  if (quota == Quota::kMsgAck) return kMaxAckIdsPerCall;
  // A referrals List of a full page is charged one token per case returned, all at once.
  if (quota == Quota::kRead) return kMaxRecordsPerRead;
  return 1;
}

QuotaTable QuotaTable::Defaults() {
  QuotaTable t;
  for (AgencyType type : kAllAgencyTypes) {
    switch (type) {
      case AgencyType::kPlatform:
      case AgencyType::kForeignPartner:
      case AgencyType::kCoordinationUnit:
        t.by_type_[Index(type)] = Restricted();
        break;
      default:
        t.by_type_[Index(type)] = Operational();
    }
  }
  return t;
}

StatusOr<QuotaTable> QuotaTable::WithOverrides(std::string_view overrides) const {
  QuotaTable out = *this;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(overrides.data(), overrides.size()),
                                              ';', absl::SkipWhitespace())) {
    const std::string entry(absl::StripAsciiWhitespace(raw));
    const size_t eq = entry.find('=');
    const size_t dot = entry.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
      return Bad(entry, "expected <type>.<name>=<value>");
    }
    const std::string type_name = entry.substr(0, dot);
    const std::string name = entry.substr(dot + 1, eq - dot - 1);
    const std::string value = entry.substr(eq + 1);
    std::vector<AgencyType> types;
    if (type_name == "*") {
      types.assign(kAllAgencyTypes.begin(), kAllAgencyTypes.end());
    } else if (auto t = ParseAgencyType(type_name)) {
      types.push_back(*t);
    } else {
      return Bad(entry, "unknown agency type (police, magistrate, ..., platform, admin, or *)");
    }
    if (auto q = ParseQuota(name)) {
      const size_t slash = value.find('/');
      int64_t burst = 0;
      double rate = 0;
      if (slash == std::string::npos || !ParseInt(value.substr(0, slash), burst) ||
          !ParseRate(value.substr(slash + 1), rate)) {
        return Bad(entry, "a bucket is <burst>/<refill per second>, e.g. 20000/5");
      }
      if (burst < MinimumBurst(*q) || burst > (int64_t{1} << 50)) {
        return Bad(entry, absl::StrCat("burst must be ", MinimumBurst(*q),
                                       "..2^50 (smaller could never pass one charge)"));
      }
      if (!(rate > 0) || rate > 1e12)
        return Bad(entry, "refill must be > 0 and <= 1e12 per second");
      for (AgencyType t : types) out.by_type_[Index(t)].buckets[Index(*q)] = {burst, rate};
    } else if (auto c = ParseCap(name)) {
      int64_t n = 0;
      if (!ParseInt(value, n) || n < 1 || n > 100000) {
        return Bad(entry, "a cap is a count 1..100000");
      }
      for (AgencyType t : types) out.by_type_[Index(t)].caps[Index(*c)] = static_cast<int>(n);
    } else {
      return Bad(
          entry,
          "unknown name (buckets: send, send_bytes, upload, upload_bytes, draft, publish, ack, "
          "liaison_request, jit_write, msg_ack, read, checkpoint; caps: streams, pending_uploads, "
          "drafts, "
          "verifications)");
    }
  }
  return out;
}

const BucketSpec& QuotaTable::Bucket(AgencyType type, Quota quota) const {
  return by_type_[Index(type)].buckets[Index(quota)];
}

int QuotaTable::CapOf(AgencyType type, Cap cap) const {
  return by_type_[Index(type)].caps[Index(cap)];
}

const TypeLimits& QuotaTable::For(AgencyType type) const { return by_type_[Index(type)]; }

std::string QuotaTable::Markdown() const {
  std::string out = "| agency type |";
  for (Quota q : kAllQuotas) absl::StrAppend(&out, " `", std::string(QuotaName(q)), "` |");
  for (Cap c : kAllCaps) absl::StrAppend(&out, " `", std::string(CapName(c)), "` |");
  out += "\n|---|";
  for (size_t i = 0; i < kAllQuotas.size() + kAllCaps.size(); ++i) out += "---|";
  out += "\n";
  for (AgencyType type : kAllAgencyTypes) {
    absl::StrAppend(&out, "| ", std::string(AgencyTypeName(type)), " |");
    for (Quota q : kAllQuotas) absl::StrAppend(&out, " ", FormatBucket(q, Bucket(type, q)), " |");
    for (Cap c : kAllCaps) absl::StrAppend(&out, " ", CapOf(type, c), " |");
    out += "\n";
  }
  return out;
}

}  // namespace concord::quota
