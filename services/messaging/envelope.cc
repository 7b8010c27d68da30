#include "services/messaging/envelope.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/crypto/hash.h"
#include "common/status/status_macros.h"

namespace concord::messaging {
namespace {

constexpr std::string_view kEnvelopeDomain = "concord.messaging.envelope.v1";
constexpr std::string_view kPermissionDomain = "concord.messaging.forward_permission.v1";
constexpr std::string_view kReceiptDomain = "concord.messaging.receipt.v1";
constexpr std::string_view kChunkDomain = "concord.messaging.chunk.v1";

constexpr size_t kNonceBytes = 12;
constexpr size_t kEphemeralBytes = 32;
constexpr size_t kWrappedKeyBytes = 48;
constexpr size_t kSha256Bytes = 32;
constexpr size_t kSignatureBytes = 64;
constexpr size_t kMaxThreadId = 64;
constexpr size_t kMaxCaseReference = 128;
constexpr size_t kMaxHandlingText = 500;
constexpr size_t kMaxAttachmentName = 255;
constexpr size_t kMaxMediaType = 127;

// Tags of the envelope's canonical encoding (README.md "Canonical encoding"). Never renumber.
enum EnvelopeTag : uint8_t {
  kTagDomain = 0,
  kTagMessageId = 1,
  kTagSender = 2,
  kTagRecipients = 3,
  kTagThreadId = 4,
  kTagCaseReference = 5,
  kTagKind = 6,
  kTagClassification = 7,
  kTagHandlingCode = 8,
  kTagHandlingText = 9,
  kTagEvalSource = 10,
  kTagEvalInformation = 11,
  kTagCreatedAt = 12,
  kTagExpiresAt = 13,
  kTagBodyNonce = 14,
  kTagBodyCiphertext = 15,
  kTagKeyCount = 16,
  kTagKeyRecipient = 17,
  kTagKeyEphemeral = 18,
  kTagKeyNonce = 19,
  kTagKeyCiphertext = 20,
  kTagAttachmentCount = 21,
  kTagAttachmentId = 22,
  kTagAttachmentName = 23,
  kTagAttachmentMediaType = 24,
  kTagAttachmentSize = 25,
  kTagAttachmentSha256 = 26,
  kTagChunkCount = 27,
  kTagChunkIndex = 28,
  kTagChunkSize = 29,
  kTagChunkSha256 = 30,
  kTagInReplyTo = 31,
  kTagForwardPresent = 32,
  kTagForwardOriginalId = 33,
  kTagForwardOriginalSender = 34,
  kTagPermissionPresent = 35,
  kTagPermission = 36,
  kTagPermissionSignature = 37,
  kTagSignature = 63,
};

// Enum numbers in the encoding equal the proto enum numbers (UNSPECIFIED = 0 is never written).
int64_t KindNumber(MessageKind k) { return static_cast<int64_t>(k) + 1; }
int64_t ClassificationNumber(Classification c) { return static_cast<int64_t>(c) + 1; }
int64_t HandlingNumber(HandlingCode h) { return static_cast<int64_t>(h) + 1; }

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool IsPrintableText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsValidMediaType(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '.' || c == '+' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return s.find('/', slash + 1) == std::string_view::npos;
}

void ValidateAgency(const AgencyId& a, const std::string& path, FieldErrors& errors) {
  if (!ValidateTrustDomain(a.trust_domain).ok()) {
    errors.Add(path + ".trust_domain", "invalid trust domain");
  }
  if (!ValidateAgencyLocalId(a.id).ok()) {
    errors.Add(path + ".id", "must match [a-z0-9][a-z0-9-]{0,62}");
  }
}

void ValidateBody(const Envelope& e, const EnvelopeLimits& limits, FieldErrors& errors) {
  const SealedBox& b = e.body;
  if (b.nonce.size() != kNonceBytes) errors.Add("envelope.body.nonce", "must be 12 bytes");
  if (b.ciphertext.size() < 16) {
    errors.Add("envelope.body.ciphertext", "must hold at least the 16-byte tag");
  } else if (b.ciphertext.size() > limits.max_body_bytes) {
    errors.Add("envelope.body.ciphertext",
               absl::StrCat("larger than the limit of ", limits.max_body_bytes, " bytes"));
  }
  std::set<std::string> expected;
  for (const AgencyId& r : e.recipients) expected.insert(r.Key());
  std::set<std::string> seen;
  for (size_t i = 0; i < b.keys.size(); ++i) {
    const WrappedKey& k = b.keys[i];
    const std::string path = absl::StrCat("envelope.body.keys[", i, "]");
    if (!expected.contains(k.recipient)) {
      errors.Add(path + ".recipient", "not a recipient of the envelope");
    } else if (!seen.insert(k.recipient).second) {
      errors.Add(path + ".recipient", "duplicate wrapped key for this recipient");
    }
    if (k.ephemeral_public.size() != kEphemeralBytes) {
      errors.Add(path + ".ephemeral_public", "must be 32 bytes");
    }
    if (k.nonce.size() != kNonceBytes) errors.Add(path + ".nonce", "must be 12 bytes");
    if (k.ciphertext.size() != kWrappedKeyBytes) {
      errors.Add(path + ".ciphertext", "must be 48 bytes");
    }
  }
  if (seen.size() != expected.size()) {
    errors.Add("envelope.body.keys", "every recipient needs exactly one wrapped key");
  }
}

void ValidateAttachments(const Envelope& e, const EnvelopeLimits& limits, FieldErrors& errors) {
  if (e.attachments.size() > limits.max_attachments) {
    errors.Add("envelope.attachments",
               absl::StrCat("at most ", limits.max_attachments, " attachments"));
    return;
  }
  uint64_t total = 0;
  std::set<std::string> ids;
  for (size_t i = 0; i < e.attachments.size(); ++i) {
    const Attachment& a = e.attachments[i];
    const std::string path = absl::StrCat("envelope.attachments[", i, "]");
    if (!IsValidClientId(a.attachment_id)) {
      errors.Add(path + ".attachment_id", "must match [A-Za-z0-9_-]{16,64}");
    } else if (!ids.insert(a.attachment_id).second) {
      errors.Add(path + ".attachment_id", "duplicate attachment");
    }
    if (a.name.empty() || a.name.size() > kMaxAttachmentName || !IsPrintableText(a.name) ||
        a.name.find('/') != std::string::npos) {
      errors.Add(path + ".name", "1..255 printable characters without '/'");
    }
    if (a.media_type.size() > kMaxMediaType || !IsValidMediaType(a.media_type)) {
      errors.Add(path + ".media_type", "must be a media type such as application/pdf");
    }
    if (a.sha256.size() != kSha256Bytes) errors.Add(path + ".sha256", "must be 32 bytes");
    total += a.size;
    if (a.size > limits.max_attachment_bytes || total > limits.max_attachment_bytes) {
      errors.Add(path + ".size", absl::StrCat("attachments exceed the limit of ",
                                              limits.max_attachment_bytes, " bytes"));
    }
    const uint64_t needed = (a.size + kAttachmentChunkBytes - 1) / kAttachmentChunkBytes;
    if (a.chunks.empty() || a.chunks.size() < needed ||
        a.chunks.size() > std::max<uint64_t>(needed, 1)) {
      errors.Add(path + ".chunks", "one chunk per started MiB of plaintext (at least one)");
      continue;
    }
    for (size_t c = 0; c < a.chunks.size(); ++c) {
      const ChunkRef& ref = a.chunks[c];
      const std::string cpath = absl::StrCat(path, ".chunks[", c, "]");
      if (ref.index != c) errors.Add(cpath + ".index", "chunks must be numbered 0, 1, 2, ...");
      if (ref.sha256.size() != kSha256Bytes) errors.Add(cpath + ".sha256", "must be 32 bytes");
      if (ref.size == 0) errors.Add(cpath + ".size", "must be positive");
    }
  }
}

std::vector<std::string> SpiffeList(const std::vector<AgencyId>& agencies) {
  std::vector<std::string> out;
  out.reserve(agencies.size());
  for (const AgencyId& a : agencies) out.push_back(a.ToSpiffe());
  return out;
}

void WriteCanonical(const Envelope& e, crypto::CanonicalWriter& w) {
  w.AddString(kTagDomain, kEnvelopeDomain);
  w.AddString(kTagMessageId, e.message_id);
  w.AddString(kTagSender, e.sender.ToSpiffe());
  w.AddStrings(kTagRecipients, SpiffeList(e.recipients));
  w.AddString(kTagThreadId, e.thread_id);
  w.AddString(kTagCaseReference, e.case_reference);
  w.AddInt(kTagKind, KindNumber(e.kind));
  w.AddInt(kTagClassification, ClassificationNumber(e.classification));
  w.AddInt(kTagHandlingCode, HandlingNumber(e.handling_code));
  w.AddString(kTagHandlingText, e.handling_text);
  w.AddInt(kTagEvalSource, e.evaluation ? static_cast<int64_t>(e.evaluation->source) + 1 : 0);
  w.AddInt(kTagEvalInformation,
           e.evaluation ? static_cast<int64_t>(e.evaluation->information) + 1 : 0);
  w.AddInt(kTagCreatedAt, absl::ToUnixNanos(e.created_at));
  w.AddInt(kTagExpiresAt, absl::ToUnixNanos(e.expires_at));
  w.AddString(kTagBodyNonce, e.body.nonce);
  w.AddString(kTagBodyCiphertext, e.body.ciphertext);
  w.AddInt(kTagKeyCount, static_cast<int64_t>(e.body.keys.size()));
  for (const WrappedKey& k : e.body.keys) {
    w.AddString(kTagKeyRecipient, k.recipient);
    w.AddString(kTagKeyEphemeral, k.ephemeral_public);
    w.AddString(kTagKeyNonce, k.nonce);
    w.AddString(kTagKeyCiphertext, k.ciphertext);
  }
  w.AddInt(kTagAttachmentCount, static_cast<int64_t>(e.attachments.size()));
  for (const Attachment& a : e.attachments) {
    w.AddString(kTagAttachmentId, a.attachment_id);
    w.AddString(kTagAttachmentName, a.name);
    w.AddString(kTagAttachmentMediaType, a.media_type);
    w.AddInt(kTagAttachmentSize, static_cast<int64_t>(a.size));
    w.AddString(kTagAttachmentSha256, a.sha256);
    w.AddInt(kTagChunkCount, static_cast<int64_t>(a.chunks.size()));
    for (const ChunkRef& c : a.chunks) {
      w.AddInt(kTagChunkIndex, c.index);
      w.AddInt(kTagChunkSize, static_cast<int64_t>(c.size));
      w.AddString(kTagChunkSha256, c.sha256);
    }
  }
  w.AddString(kTagInReplyTo, e.in_reply_to);
  w.AddInt(kTagForwardPresent, e.forward ? 1 : 0);
  if (e.forward) {
    w.AddString(kTagForwardOriginalId, e.forward->original_message_id);
    w.AddString(kTagForwardOriginalSender, e.forward->original_sender.ToSpiffe());
    w.AddInt(kTagPermissionPresent, e.forward->permission ? 1 : 0);
    if (e.forward->permission) {
      w.AddString(kTagPermission, CanonicalForwardPermission(*e.forward->permission));
      w.AddString(kTagPermissionSignature, e.forward->permission->signature);
    }
  }
}

// Strict reader for the canonical encoding: every field must carry the expected tag, lengths
// must fit, and nothing may follow the last field.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view bytes) : in_(bytes) {}

  bool String(uint8_t tag, std::string& out) {
    uint32_t len = 0;
    if (!Tag(tag) || !U32(len) || in_.size() < len) return Fail();
    out.assign(in_.data(), len);
    in_.remove_prefix(len);
    return true;
  }
  bool Int(uint8_t tag, int64_t& out) {
    if (!Tag(tag) || in_.size() < 8) return Fail();
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    out = static_cast<int64_t>(v);
    return true;
  }
  bool Strings(uint8_t tag, std::vector<std::string>& out) {
    uint32_t count = 0;
    if (!Tag(tag) || !U32(count)) return Fail();
    out.clear();
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t len = 0;
      if (!U32(len) || in_.size() < len) return Fail();
      out.emplace_back(in_.data(), len);
      in_.remove_prefix(len);
    }
    return true;
  }
  bool Done() const { return ok_ && in_.empty(); }
  bool ok() const { return ok_; }

 private:
  bool Tag(uint8_t tag) {
    if (!ok_ || in_.empty() || static_cast<uint8_t>(in_[0]) != tag) return false;
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t& out) {
    if (in_.size() < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) out = (out << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }

  std::string_view in_;
  bool ok_ = true;
};

Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("stored envelope is malformed: ", std::string(what)));
}

template <typename E>
bool EnumFrom(int64_t n, int64_t max, E& out) {
  if (n < 1 || n > max) return false;
  out = static_cast<E>(n - 1);
  return true;
}

StatusOr<AgencyId> AgencyFromSpiffe(const std::string& s) {
  auto a = ParseSpiffeId(s);
  if (!a.ok()) return Corrupt("agency id");
  return *std::move(a);
}

StatusOr<ForwardPermission> DecodePermission(std::string_view bytes) {
  CanonicalReader r(bytes);
  std::string domain, provider;
  std::vector<std::string> grantees;
  int64_t granted_at = 0;
  ForwardPermission p;
  if (!r.String(0, domain) || domain != kPermissionDomain || !r.String(1, p.original_message_id) ||
      !r.String(2, provider) || !r.Strings(3, grantees) || !r.Int(4, granted_at) || !r.Done()) {
    return Corrupt("forward permission");
  }
  CONCORD_ASSIGN_OR_RETURN(p.provider, AgencyFromSpiffe(provider));
  for (const std::string& g : grantees) {
    CONCORD_ASSIGN_OR_RETURN(AgencyId a, AgencyFromSpiffe(g));
    p.grantees.push_back(std::move(a));
  }
  p.granted_at = absl::FromUnixNanos(granted_at);
  return p;
}

}  // namespace

std::string_view HandlingCodeName(HandlingCode code) {
  switch (code) {
    case HandlingCode::kH0:
      return "H0";
    case HandlingCode::kH1:
      return "H1";
    case HandlingCode::kH2:
      return "H2";
    case HandlingCode::kH3:
      return "H3";
  }
  return "?";
}

std::string_view MessageKindName(MessageKind kind) {
  switch (kind) {
    case MessageKind::kInformation:
      return "information";
    case MessageKind::kRequest:
      return "request";
    case MessageKind::kResponse:
      return "response";
    case MessageKind::kNotification:
      return "notification";
  }
  return "?";
}

std::string_view ClassificationName(Classification c) {
  switch (c) {
    case Classification::kUnclassified:
      return "unclassified";
    case Classification::kRestricted:
      return "restricted";
    case Classification::kConfidential:
      return "confidential";
  }
  return "?";
}

absl::Duration EnvelopeLimits::RetentionFor(Classification c) const {
  switch (c) {
    case Classification::kUnclassified:
      return retention_unclassified;
    case Classification::kRestricted:
      return retention_restricted;
    case Classification::kConfidential:
      return retention_confidential;
  }
  return retention_confidential;
}

bool IsValidClientId(std::string_view id) {
  if (id.size() < 16 || id.size() > 64) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

Status ValidateEnvelope(const Envelope& e, const EnvelopeLimits& limits) {
  FieldErrors errors;
  if (!IsValidClientId(e.message_id)) {
    errors.Add("envelope.message_id", "must match [A-Za-z0-9_-]{16,64}");
  }
  ValidateAgency(e.sender, "envelope.sender", errors);
  if (e.recipients.empty()) {
    errors.Add("envelope.recipients", "at least one recipient");
  } else if (e.recipients.size() > limits.max_recipients) {
    errors.Add("envelope.recipients", absl::StrCat("at most ", limits.max_recipients,
                                                   " recipients, got ", e.recipients.size()));
  }
  std::set<std::string> keys;
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    const std::string path = absl::StrCat("envelope.recipients[", i, "]");
    ValidateAgency(e.recipients[i], path, errors);
    if (!keys.insert(e.recipients[i].ToSpiffe()).second) errors.Add(path, "duplicate recipient");
  }
  if (e.thread_id.size() > kMaxThreadId ||
      !std::all_of(e.thread_id.begin(), e.thread_id.end(), IsIdChar)) {
    errors.Add("envelope.thread_id", "must match [A-Za-z0-9_-]{0,64}");
  }
  if (e.case_reference.size() > kMaxCaseReference || !IsPrintableText(e.case_reference)) {
    errors.Add("envelope.case_reference", "at most 128 printable characters");
  }
  if (e.handling_code == HandlingCode::kH3) {
    if (e.handling_text.empty() || e.handling_text.size() > kMaxHandlingText ||
        !IsPrintableText(e.handling_text)) {
      errors.Add("envelope.handling_text", "H3 requires 1..500 printable characters");
    }
  } else if (!e.handling_text.empty()) {
    errors.Add("envelope.handling_text", "only H3 carries handling text");
  }
  ValidateBody(e, limits, errors);
  ValidateAttachments(e, limits, errors);
  if (e.kind == MessageKind::kResponse && e.in_reply_to.empty()) {
    errors.Add("envelope.in_reply_to", "a response names the message it answers");
  }
  if (!e.in_reply_to.empty() && !IsValidClientId(e.in_reply_to)) {
    errors.Add("envelope.in_reply_to", "must match [A-Za-z0-9_-]{16,64}");
  }
  if (e.forward) {
    if (!IsValidClientId(e.forward->original_message_id)) {
      errors.Add("envelope.forward.original_message_id", "must match [A-Za-z0-9_-]{16,64}");
    }
    ValidateAgency(e.forward->original_sender, "envelope.forward.original_sender", errors);
    if (const auto& p = e.forward->permission) {
      if (p->original_message_id != e.forward->original_message_id) {
        errors.Add("envelope.forward.permission.original_message_id",
                   "must name the forwarded message");
      }
      if (!(p->provider == e.forward->original_sender)) {
        errors.Add("envelope.forward.permission.provider", "must be the original sender");
      }
      if (p->grantees.empty() || p->grantees.size() > limits.max_recipients) {
        errors.Add("envelope.forward.permission.grantees", "1..64 agencies");
      }
      if (p->signature.size() != kSignatureBytes) {
        errors.Add("envelope.forward.permission.signature", "must be 64 bytes");
      }
    }
  }
  if (e.signature.size() != kSignatureBytes) {
    errors.Add("envelope.signature", "must be 64 bytes (Ed25519)");
  }
  return errors.ToStatus("invalid envelope");
}

Status CheckEnvelopeTimes(const Envelope& e, const EnvelopeLimits& limits, absl::Time now) {
  if (e.expires_at <= now) {
    return WithReason(
        InvalidArgumentWithFields("message expired", {{"envelope.expires_at", "in the past"}}),
        "MESSAGE_EXPIRED");
  }
  if (e.created_at < now - limits.replay_window || e.created_at > now + limits.max_clock_skew) {
    return WithReason(
        InvalidArgumentWithFields(
            "created_at outside the replay window",
            {{"envelope.created_at",
              absl::StrCat("must be within ", absl::FormatDuration(limits.replay_window),
                           " before and ", absl::FormatDuration(limits.max_clock_skew),
                           " after the server's clock")}}),
        "OUTSIDE_REPLAY_WINDOW");
  }
  if (e.expires_at <= e.created_at) {
    return InvalidArgumentWithFields("invalid expiry",
                                     {{"envelope.expires_at", "must be after created_at"}});
  }
  const absl::Duration retention = limits.RetentionFor(e.classification);
  if (e.expires_at - e.created_at > retention) {
    return InvalidArgumentWithFields(
        "invalid expiry",
        {{"envelope.expires_at",
          absl::StrCat("at most ", absl::FormatDuration(retention), " after created_at for ",
                       std::string(ClassificationName(e.classification)), " messages")}});
  }
  return absl::OkStatus();
}

std::string CanonicalEnvelope(const Envelope& envelope) {
  crypto::CanonicalWriter w;
  WriteCanonical(envelope, w);
  return w.Release();
}

std::string EncodeStoredEnvelope(const Envelope& envelope) {
  crypto::CanonicalWriter w;
  WriteCanonical(envelope, w);
  w.AddString(kTagSignature, envelope.signature);
  return w.Release();
}

std::string EnvelopeSha256(const Envelope& envelope) {
  const auto digest = crypto::Sha256(EncodeStoredEnvelope(envelope));
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

StatusOr<Envelope> DecodeStoredEnvelope(std::string_view bytes) {
  CanonicalReader r(bytes);
  Envelope e;
  std::string domain, sender;
  std::vector<std::string> recipients;
  int64_t kind = 0, classification = 0, handling = 0, source = 0, information = 0;
  int64_t created = 0, expires = 0, key_count = 0, attachment_count = 0;
  if (!r.String(kTagDomain, domain) || domain != kEnvelopeDomain ||
      !r.String(kTagMessageId, e.message_id) || !r.String(kTagSender, sender) ||
      !r.Strings(kTagRecipients, recipients) || !r.String(kTagThreadId, e.thread_id) ||
      !r.String(kTagCaseReference, e.case_reference) || !r.Int(kTagKind, kind) ||
      !r.Int(kTagClassification, classification) || !r.Int(kTagHandlingCode, handling) ||
      !r.String(kTagHandlingText, e.handling_text) || !r.Int(kTagEvalSource, source) ||
      !r.Int(kTagEvalInformation, information) || !r.Int(kTagCreatedAt, created) ||
      !r.Int(kTagExpiresAt, expires) || !r.String(kTagBodyNonce, e.body.nonce) ||
      !r.String(kTagBodyCiphertext, e.body.ciphertext) || !r.Int(kTagKeyCount, key_count) ||
      key_count < 0 || key_count > 4096) {
    return Corrupt("header");
  }
  if (!EnumFrom(kind, 4, e.kind) || !EnumFrom(classification, 3, e.classification) ||
      !EnumFrom(handling, 4, e.handling_code)) {
    return Corrupt("enum value");
  }
  if (source != 0 || information != 0) {
    EvaluationCodes codes;
    if (!EnumFrom(source, 4, codes.source) || !EnumFrom(information, 4, codes.information)) {
      return Corrupt("evaluation codes");
    }
    e.evaluation = codes;
  }
  CONCORD_ASSIGN_OR_RETURN(e.sender, AgencyFromSpiffe(sender));
  for (const std::string& s : recipients) {
    CONCORD_ASSIGN_OR_RETURN(AgencyId a, AgencyFromSpiffe(s));
    e.recipients.push_back(std::move(a));
  }
  e.created_at = absl::FromUnixNanos(created);
  e.expires_at = absl::FromUnixNanos(expires);
  for (int64_t i = 0; i < key_count; ++i) {
    WrappedKey k;
    if (!r.String(kTagKeyRecipient, k.recipient) ||
        !r.String(kTagKeyEphemeral, k.ephemeral_public) || !r.String(kTagKeyNonce, k.nonce) ||
        !r.String(kTagKeyCiphertext, k.ciphertext)) {
      return Corrupt("wrapped key");
    }
    e.body.keys.push_back(std::move(k));
  }
  if (!r.Int(kTagAttachmentCount, attachment_count) || attachment_count < 0 ||
      attachment_count > 4096) {
    return Corrupt("attachments");
  }
  for (int64_t i = 0; i < attachment_count; ++i) {
    Attachment a;
    int64_t size = 0, chunk_count = 0;
    if (!r.String(kTagAttachmentId, a.attachment_id) || !r.String(kTagAttachmentName, a.name) ||
        !r.String(kTagAttachmentMediaType, a.media_type) || !r.Int(kTagAttachmentSize, size) ||
        !r.String(kTagAttachmentSha256, a.sha256) || !r.Int(kTagChunkCount, chunk_count) ||
        size < 0 || chunk_count < 0 || chunk_count > (1 << 20)) {
      return Corrupt("attachment");
    }
    a.size = static_cast<uint64_t>(size);
    for (int64_t c = 0; c < chunk_count; ++c) {
      ChunkRef ref;
      int64_t index = 0, csize = 0;
      if (!r.Int(kTagChunkIndex, index) || !r.Int(kTagChunkSize, csize) ||
          !r.String(kTagChunkSha256, ref.sha256) || index < 0 || index > UINT32_MAX || csize < 0) {
        return Corrupt("chunk");
      }
      ref.index = static_cast<uint32_t>(index);
      ref.size = static_cast<uint64_t>(csize);
      a.chunks.push_back(std::move(ref));
    }
    e.attachments.push_back(std::move(a));
  }
  int64_t forward_present = 0;
  if (!r.String(kTagInReplyTo, e.in_reply_to) || !r.Int(kTagForwardPresent, forward_present) ||
      forward_present < 0 || forward_present > 1) {
    return Corrupt("forward");
  }
  if (forward_present == 1) {
    ForwardLink link;
    std::string original_sender;
    int64_t permission_present = 0;
    if (!r.String(kTagForwardOriginalId, link.original_message_id) ||
        !r.String(kTagForwardOriginalSender, original_sender) ||
        !r.Int(kTagPermissionPresent, permission_present) || permission_present < 0 ||
        permission_present > 1) {
      return Corrupt("forward link");
    }
    CONCORD_ASSIGN_OR_RETURN(link.original_sender, AgencyFromSpiffe(original_sender));
    if (permission_present == 1) {
      std::string permission, signature;
      if (!r.String(kTagPermission, permission) || !r.String(kTagPermissionSignature, signature)) {
        return Corrupt("forward permission");
      }
      CONCORD_ASSIGN_OR_RETURN(ForwardPermission p, DecodePermission(permission));
      p.signature = std::move(signature);
      link.permission = std::move(p);
    }
    e.forward = std::move(link);
  }
  if (!r.String(kTagSignature, e.signature) || !r.Done()) return Corrupt("signature");
  return e;
}

std::string CanonicalChunk(std::string_view attachment_id, uint32_t index, const SealedBox& b) {
  crypto::CanonicalWriter w;
  w.AddString(0, kChunkDomain);
  w.AddString(1, attachment_id);
  w.AddInt(2, index);
  w.AddString(3, b.nonce);
  w.AddString(4, b.ciphertext);
  w.AddInt(5, static_cast<int64_t>(b.keys.size()));
  for (const WrappedKey& k : b.keys) {
    w.AddString(6, k.recipient);
    w.AddString(7, k.ephemeral_public);
    w.AddString(8, k.nonce);
    w.AddString(9, k.ciphertext);
  }
  return w.Release();
}

StatusOr<SealedBox> DecodeCanonicalChunk(std::string_view bytes, std::string_view attachment_id,
                                         uint32_t index) {
  CanonicalReader r(bytes);
  std::string domain, id;
  int64_t stored_index = 0, count = 0;
  SealedBox b;
  if (!r.String(0, domain) || domain != kChunkDomain || !r.String(1, id) || id != attachment_id ||
      !r.Int(2, stored_index) || stored_index != index || !r.String(3, b.nonce) ||
      !r.String(4, b.ciphertext) || !r.Int(5, count) || count < 0 || count > 4096) {
    return Corrupt("chunk");
  }
  for (int64_t i = 0; i < count; ++i) {
    WrappedKey k;
    if (!r.String(6, k.recipient) || !r.String(7, k.ephemeral_public) || !r.String(8, k.nonce) ||
        !r.String(9, k.ciphertext)) {
      return Corrupt("chunk key");
    }
    b.keys.push_back(std::move(k));
  }
  if (!r.Done()) return Corrupt("chunk");
  return b;
}

std::string CanonicalForwardPermission(const ForwardPermission& p) {
  crypto::CanonicalWriter w;
  w.AddString(0, kPermissionDomain);
  w.AddString(1, p.original_message_id);
  w.AddString(2, p.provider.ToSpiffe());
  w.AddStrings(3, SpiffeList(p.grantees));
  w.AddInt(4, absl::ToUnixNanos(p.granted_at));
  return w.Release();
}

std::string CanonicalReceipt(const Receipt& r) {
  crypto::CanonicalWriter w;
  w.AddString(0, kReceiptDomain);
  w.AddString(1, r.message_id);
  w.AddString(2, r.envelope_sha256);
  w.AddString(3, r.recipient.ToSpiffe());
  w.AddInt(4, r.kind == ReceiptKind::kDelivered ? 1 : 2);
  w.AddInt(5, absl::ToUnixNanos(r.at));
  return w.Release();
}

Status CheckForwardAllowed(const Envelope& original, const Envelope& forward,
                           bool permission_verified) {
  // Handling codes travel with the content: a forward may not relax them.
  if (forward.handling_code != original.handling_code ||
      forward.handling_text != original.handling_text) {
    return WithReason(absl::PermissionDeniedError(
                          "a forwarded message keeps the original's handling code and text"),
                      "HANDLING_CODE_CHANGED");
  }
  if (original.handling_code != HandlingCode::kH2) return absl::OkStatus();
  std::set<std::string> allowed;
  for (const AgencyId& r : original.recipients) allowed.insert(r.ToSpiffe());
  allowed.insert(original.sender.ToSpiffe());
  if (forward.forward && forward.forward->permission && permission_verified) {
    for (const AgencyId& g : forward.forward->permission->grantees) allowed.insert(g.ToSpiffe());
  }
  for (const AgencyId& r : forward.recipients) {
    if (!allowed.contains(r.ToSpiffe())) {
      return WithReason(absl::PermissionDeniedError(
                            "H2: not to be disseminated without the provider's permission; "
                            "attach a signed permission naming every new recipient"),
                        "H2_FORWARD_WITHOUT_PERMISSION");
    }
  }
  return absl::OkStatus();
}

}  // namespace concord::messaging
