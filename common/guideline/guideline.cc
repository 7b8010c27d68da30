// File: common/guideline/guideline.cc
#include "common/guideline/guideline.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/crypto/canonical_reader.h"
#include "common/crypto/hash.h"
#include "common/text/utf8.h"

namespace concord::guideline {
namespace {

constexpr std::string_view kReasonVerification = "VERSION_VERIFICATION_FAILED";

std::string FieldAt(std::string_view field, std::string_view name) {
  return absl::StrCat(std::string(field), ".", std::string(name));
}
std::string FieldAt(std::string_view field, std::string_view name, size_t i) {
  return absl::StrCat(std::string(field), ".", std::string(name), "[", i, "]");
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A body: valid UTF-8 without control characters other than tab and line feed.
bool IsBodyText(std::string_view s) {
  if (!text::IsValidUtf8(s)) return false;
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F.
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return false;
    }
  }
  return true;
}

bool PrintableWithin(std::string_view s, size_t max_chars) {
  const std::optional<size_t> n = text::PrintableUtf8CodePoints(s);
  return n.has_value() && *n >= 1 && *n <= max_chars;
}

std::vector<std::string> SortedTypeNames(const std::vector<AgencyType>& types) {
  std::vector<std::string> out;
  out.reserve(types.size());
  for (AgencyType t : types) out.emplace_back(AgencyTypeName(t));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SortedSpiffe(const std::vector<AgencyId>& agencies) {
  std::vector<std::string> out;
  out.reserve(agencies.size());
  for (const AgencyId& a : agencies) out.push_back(a.ToSpiffe());
  std::sort(out.begin(), out.end());
  return out;
}

bool StrictlyIncreasing(const std::vector<std::string>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (!(v[i - 1] < v[i])) return false;
  }
  return true;
}

std::string Sha256Raw(std::string_view data) {
  const std::array<uint8_t, 32> digest = crypto::Sha256(data);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

Status Malformed(std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("stored guideline data is malformed: ", std::string(what)));
}

}  // namespace

bool IsOfficialLanguage(std::string_view code) {
  return code == "nl" || code == "fr" || code == "de" || code == "en";
}
bool IsOutreachLanguage(std::string_view code) { return code == "es" || code == "pt"; }

std::string VersionName(std::string_view guideline_id, int64_t version) {
  return absl::StrCat("guideline ", std::string(guideline_id), " version ", version);
}

std::string Version::Name() const { return VersionName(guideline_id, version); }

bool Version::Addresses(const AgencyId& agency) const {
  if (std::find(audience.types.begin(), audience.types.end(), agency.type) !=
      audience.types.end()) {
    return true;
  }
  return std::find(audience.agencies.begin(), audience.agencies.end(), agency) !=
         audience.agencies.end();
}

const Content* Version::ContentIn(std::string_view language) const {
  for (const Content& c : contents) {
    if (c.language == language) return &c;
  }
  return nullptr;
}

bool IsValidGuidelineId(std::string_view id) {
  if (id.size() < 3 || id.size() > kMaxGuidelineIdLength || !IsLowerAlnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

bool IsValidTopic(std::string_view topic) {
  if (topic.size() < 2 || topic.size() > 32 || !(topic[0] >= 'a' && topic[0] <= 'z')) return false;
  return std::all_of(topic.begin(), topic.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

Status ValidateVersion(const Version& v, std::string_view trust_domain, std::string_view field) {
  FieldErrors errors;
  if (!IsValidGuidelineId(v.guideline_id)) {
    errors.Add(FieldAt(field, "guideline_id"), "must match [a-z0-9][a-z0-9-]{2,63}");
  }
  if (v.version < 1) errors.Add(FieldAt(field, "version"), "must be 1 or more");
  // version - 1 is only computed for a valid version: a stored or fuzzed INT64_MIN must not
  // overflow.
  if (v.version >= 1 && v.supersedes != v.version - 1) {
    errors.Add(FieldAt(field, "supersedes"),
               "must be the previous version (0 for version 1, otherwise version - 1)");
  }
  if (v.publisher.trust_domain != trust_domain || !ValidateAgencyLocalId(v.publisher.id).ok()) {
    errors.Add(FieldAt(field, "publisher"), "must be an agency of this trust domain");
  }
  if (v.effective_at <= absl::UnixEpoch()) {
    errors.Add(FieldAt(field, "effective_at"), "required");
  }
  if (v.ack_deadline <= v.effective_at) {
    errors.Add(FieldAt(field, "ack_deadline"), "must be after effective_at");
  } else if (v.ack_deadline - v.effective_at > kMaxAckPeriod) {
    errors.Add(FieldAt(field, "ack_deadline"), "at most 366 days after effective_at");
  }

  // Topics.
  bool outreach = false;
  if (v.topics.empty() || v.topics.size() > kMaxTopics) {
    errors.Add(FieldAt(field, "topics"), "1 to 16 topic tags");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < v.topics.size(); ++i) {
    if (!IsValidTopic(v.topics[i])) {
      errors.Add(FieldAt(field, "topics", i), "must match [a-z][a-z0-9-]{1,31}");
    } else if (!seen.insert(v.topics[i]).second) {
      errors.Add(FieldAt(field, "topics", i), "duplicate");
    }
    if (v.topics[i] == kOutreachTopic) outreach = true;
  }

  // Legal references (order kept: it is the publisher's).
  if (v.legal_references.size() > kMaxLegalReferences) {
    errors.Add(FieldAt(field, "legal_references"), "at most 32");
  }
  seen.clear();
  for (size_t i = 0; i < v.legal_references.size(); ++i) {
    if (!PrintableWithin(v.legal_references[i], kMaxLegalReferenceChars)) {
      errors.Add(FieldAt(field, "legal_references", i), "1 to 200 printable characters");
    } else if (!seen.insert(v.legal_references[i]).second) {
      errors.Add(FieldAt(field, "legal_references", i), "duplicate");
    }
  }

  // Audience.
  const std::string audience = FieldAt(field, "audience");
  if (!v.audience.is_public && v.audience.types.empty() && v.audience.agencies.empty()) {
    errors.Add(audience, "name agency types, agencies or is_public");
  }
  std::set<AgencyType> types;
  for (size_t i = 0; i < v.audience.types.size(); ++i) {
    if (v.audience.types[i] == AgencyType::kAdmin) {
      errors.Add(FieldAt(audience, "agency_types", i), "admin receives no guidance");
    } else if (!types.insert(v.audience.types[i]).second) {
      errors.Add(FieldAt(audience, "agency_types", i), "duplicate");
    }
  }
  if (v.audience.agencies.size() > kMaxNamedAgencies) {
    errors.Add(FieldAt(audience, "agencies"), "at most 256");
  }
  seen.clear();
  for (size_t i = 0; i < v.audience.agencies.size(); ++i) {
    const AgencyId& a = v.audience.agencies[i];
    if (a.trust_domain != trust_domain || !ValidateAgencyLocalId(a.id).ok()) {
      errors.Add(FieldAt(audience, "agencies", i), "must be an agency of this trust domain");
    } else if (a.type == AgencyType::kAdmin) {
      errors.Add(FieldAt(audience, "agencies", i), "admin receives no guidance");
    } else if (!seen.insert(a.Key()).second) {
      errors.Add(FieldAt(audience, "agencies", i), "duplicate");
    }
  }

  // Contents.
  if (v.contents.empty() || v.contents.size() > kMaxContents) {
    errors.Add(FieldAt(field, "contents"), "1 to 6 languages");
  }
  seen.clear();
  for (size_t i = 0; i < v.contents.size(); ++i) {
    const Content& c = v.contents[i];
    const std::string at = FieldAt(field, "contents", i);
    if (IsOutreachLanguage(c.language)) {
      if (!v.audience.is_public && !outreach) {
        errors.Add(at + ".language",
                   "es and pt are for outreach material: a public audience or the topic "
                   "\"outreach\"");
      }
    } else if (!IsOfficialLanguage(c.language)) {
      errors.Add(at + ".language", "one of nl, fr, de, en (es, pt for outreach material)");
    }
    if (!seen.insert(c.language).second) errors.Add(at + ".language", "duplicate language");
    if (!PrintableWithin(c.title, kMaxTitleChars)) {
      errors.Add(at + ".title", "1 to 200 printable characters");
    }
    if (c.body.empty() || c.body.size() > kMaxBodyBytes) {
      errors.Add(at + ".body", "1 byte to 256 KiB");
    } else if (!IsBodyText(c.body)) {
      errors.Add(at + ".body", "UTF-8 text without control characters other than tab and \\n");
    }
  }
  if (errors.empty() && VersionBytes(v).size() > kMaxVersionBytes) {
    errors.Add(FieldAt(field, "contents"), "the version exceeds 1 MiB");
  }
  Status status = errors.ToStatus("invalid guideline version");
  return status.ok() ? status : WithReason(std::move(status), "INVALID_VERSION");
}

Status ValidateWithdrawal(const Withdrawal& w, std::string_view trust_domain,
                          std::string_view field) {
  FieldErrors errors;
  if (!IsValidGuidelineId(w.guideline_id)) {
    errors.Add(FieldAt(field, "guideline_id"), "must match [a-z0-9][a-z0-9-]{2,63}");
  }
  if (w.version < 1) errors.Add(FieldAt(field, "version"), "must be 1 or more");
  if (w.version_sha256.size() != 32) errors.Add(FieldAt(field, "version_sha256"), "32 bytes");
  if (w.withdrawn_by.trust_domain != trust_domain ||
      !ValidateAgencyLocalId(w.withdrawn_by.id).ok()) {
    errors.Add(FieldAt(field, "withdrawn_by"), "must be an agency of this trust domain");
  }
  if (w.withdrawn_at <= absl::UnixEpoch()) errors.Add(FieldAt(field, "withdrawn_at"), "required");
  if (!PrintableWithin(w.reason, kMaxReasonChars)) {
    errors.Add(FieldAt(field, "reason"), "1 to 500 printable characters");
  }
  Status status = errors.ToStatus("invalid withdrawal");
  return status.ok() ? status : WithReason(std::move(status), "INVALID_WITHDRAWAL");
}

std::string VersionBytes(const Version& v) {
  std::vector<std::string> topics = v.topics;
  std::sort(topics.begin(), topics.end());
  std::vector<const Content*> contents;
  contents.reserve(v.contents.size());
  for (const Content& c : v.contents) contents.push_back(&c);
  std::sort(contents.begin(), contents.end(),
            [](const Content* a, const Content* b) { return a->language < b->language; });

  crypto::CanonicalWriter w;
  w.AddString(0, kVersionDomain);
  w.AddString(1, v.guideline_id);
  w.AddInt(2, v.version);
  w.AddString(3, v.publisher.ToSpiffe());
  w.AddInt(4, v.supersedes);
  w.AddInt(5, absl::ToUnixNanos(v.effective_at));
  w.AddInt(6, absl::ToUnixNanos(v.ack_deadline));
  w.AddStrings(7, topics);
  w.AddStrings(8, v.legal_references);
  w.AddInt(9, v.audience.is_public ? 1 : 0);
  w.AddStrings(10, SortedTypeNames(v.audience.types));
  w.AddStrings(11, SortedSpiffe(v.audience.agencies));
  w.AddInt(12, static_cast<int64_t>(contents.size()));
  for (const Content* c : contents) {
    w.AddString(13, c->language);
    w.AddString(14, c->title);
    w.AddString(15, c->body);
  }
  return w.Release();
}

std::string VersionSha256(const Version& version) { return Sha256Raw(VersionBytes(version)); }

StatusOr<Version> ParseVersionBytes(std::string_view bytes) {
  crypto::CanonicalReader r(bytes);
  std::string domain, publisher;
  Version v;
  int64_t effective = 0, deadline = 0, is_public = 0, count = 0;
  std::vector<std::string> types, agencies;
  if (!r.String(0, domain) || domain != kVersionDomain) return Malformed("version domain");
  if (!r.String(1, v.guideline_id) || !r.Int(2, v.version) || !r.String(3, publisher) ||
      !r.Int(4, v.supersedes) || !r.Int(5, effective) || !r.Int(6, deadline) ||
      !r.Strings(7, v.topics) || !r.Strings(8, v.legal_references) || !r.Int(9, is_public) ||
      !r.Strings(10, types) || !r.Strings(11, agencies) || !r.Int(12, count)) {
    return Malformed("version fields");
  }
  if (count < 0 || count > static_cast<int64_t>(kMaxContents) ||
      (is_public != 0 && is_public != 1)) {
    return Malformed("version counts");
  }
  for (int64_t i = 0; i < count; ++i) {
    Content c;
    if (!r.String(13, c.language) || !r.String(14, c.title) || !r.String(15, c.body)) {
      return Malformed("version content");
    }
    v.contents.push_back(std::move(c));
  }
  if (!r.Done()) return Malformed("trailing bytes after the version");
  std::vector<std::string> languages;
  for (const Content& c : v.contents) languages.push_back(c.language);
  if (!StrictlyIncreasing(v.topics) || !StrictlyIncreasing(types) ||
      !StrictlyIncreasing(agencies) || !StrictlyIncreasing(languages)) {
    return Malformed("unsorted list");
  }
  auto pub = ParseSpiffeId(publisher);
  if (!pub.ok()) return Malformed("publisher");
  v.publisher = *std::move(pub);
  v.effective_at = absl::FromUnixNanos(effective);
  v.ack_deadline = absl::FromUnixNanos(deadline);
  v.audience.is_public = is_public == 1;
  for (const std::string& t : types) {
    std::optional<AgencyType> type = ParseAgencyType(t);
    if (!type.has_value()) return Malformed("audience type");
    v.audience.types.push_back(*type);
  }
  for (const std::string& a : agencies) {
    auto id = ParseSpiffeId(a);
    if (!id.ok()) return Malformed("audience agency");
    v.audience.agencies.push_back(*std::move(id));
  }
  return v;
}

std::string WithdrawalBytes(const Withdrawal& w) {
  crypto::CanonicalWriter c;
  c.AddString(0, kWithdrawalDomain);
  c.AddString(1, w.guideline_id);
  c.AddInt(2, w.version);
  c.AddString(3, w.version_sha256);
  c.AddString(4, w.withdrawn_by.ToSpiffe());
  c.AddInt(5, absl::ToUnixNanos(w.withdrawn_at));
  c.AddString(6, w.reason);
  return c.Release();
}

StatusOr<Withdrawal> ParseWithdrawalBytes(std::string_view bytes) {
  crypto::CanonicalReader r(bytes);
  std::string domain, by;
  Withdrawal w;
  int64_t at = 0;
  if (!r.String(0, domain) || domain != kWithdrawalDomain) return Malformed("withdrawal domain");
  if (!r.String(1, w.guideline_id) || !r.Int(2, w.version) || !r.String(3, w.version_sha256) ||
      !r.String(4, by) || !r.Int(5, at) || !r.String(6, w.reason) || !r.Done()) {
    return Malformed("withdrawal fields");
  }
  auto id = ParseSpiffeId(by);
  if (!id.ok()) return Malformed("withdrawn_by");
  w.withdrawn_by = *std::move(id);
  w.withdrawn_at = absl::FromUnixNanos(at);
  return w;
}

StatusOr<SignedVersion> SignVersion(Version version, const crypto::Ed25519PrivateKey& key) {
  StatusOr<std::string> signature = key.Sign(VersionBytes(version));
  if (!signature.ok()) return signature.status();
  return SignedVersion{std::move(version), *std::move(signature)};
}

StatusOr<SignedWithdrawal> SignWithdrawal(Withdrawal withdrawal,
                                          const crypto::Ed25519PrivateKey& key) {
  StatusOr<std::string> signature = key.Sign(WithdrawalBytes(withdrawal));
  if (!signature.ok()) return signature.status();
  return SignedWithdrawal{std::move(withdrawal), *std::move(signature)};
}

Status VerificationFailed(std::string_view guideline_id, int64_t version, std::string_view what) {
  return WithReason(
      absl::DataLossError(absl::StrCat(VersionName(guideline_id, version),
                                       " failed verification: ", std::string(what))),
      kReasonVerification,
      {{"guideline_id", std::string(guideline_id)}, {"version", std::to_string(version)}});
}

Status VerifyVersion(const SignedVersion& s, std::string_view claimed_sha256,
                     const crypto::Ed25519PublicKey& publisher_key) {
  const Version& v = s.version;
  const std::string bytes = VersionBytes(v);
  if (claimed_sha256.size() != 32 ||
      !crypto::ConstantTimeEquals(Sha256Raw(bytes), claimed_sha256)) {
    return VerificationFailed(v.guideline_id, v.version, "its SHA-256 does not match its content");
  }
  if (s.signature.size() != crypto::kEd25519SignatureSize ||
      !publisher_key.Verify(bytes, s.signature)) {
    return VerificationFailed(
        v.guideline_id, v.version,
        absl::StrCat("the signature does not verify under the directory key of ",
                     v.publisher.Key()));
  }
  return absl::OkStatus();
}

Status VerifyWithdrawal(const SignedWithdrawal& s, const crypto::Ed25519PublicKey& key) {
  const Withdrawal& w = s.withdrawal;
  if (s.signature.size() != crypto::kEd25519SignatureSize ||
      !key.Verify(WithdrawalBytes(w), s.signature)) {
    return VerificationFailed(
        w.guideline_id, w.version,
        absl::StrCat("the withdrawal's signature does not verify under the directory key of ",
                     w.withdrawn_by.Key()));
  }
  return absl::OkStatus();
}

}  // namespace concord::guideline
