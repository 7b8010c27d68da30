#include "common/envelope/sealed_content.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/envelope/canonical_reader.h"
#include "common/text/utf8.h"

namespace concord::envelope {
namespace {

constexpr int64_t kMaxDecodedAttachments = 4096;

Status Invalid(std::string_view what) {
  return WithReason(
      absl::DataLossError(absl::StrCat("sealed content is malformed: ", std::string(what))),
      "SEALED_CONTENT_INVALID");
}

}  // namespace

std::string EncodeSealedContent(const SealedContent& c) {
  crypto::CanonicalWriter w;
  w.AddString(0, kContentDomainV2);
  w.AddString(1, c.text);
  w.AddString(2, c.handling_text);
  w.AddInt(3, static_cast<int64_t>(c.attachments.size()));
  for (const AttachmentMeta& a : c.attachments) {
    w.AddString(4, a.attachment_id);
    w.AddString(5, a.name);
    w.AddString(6, a.media_type);
    w.AddString(7, a.sha256);
  }
  return w.Release();
}

StatusOr<SealedContent> DecodeSealedContent(std::string_view bytes) {
  internal::CanonicalReader r(bytes);
  SealedContent c;
  std::string domain;
  int64_t count = 0;
  if (!r.String(0, domain)) return Invalid("no domain string");
  if (domain != kContentDomainV2) return Invalid("unknown domain string");
  if (!r.String(1, c.text) || !r.String(2, c.handling_text) || !r.Int(3, count) || count < 0 ||
      count > kMaxDecodedAttachments) {
    return Invalid("header");
  }
  for (int64_t i = 0; i < count; ++i) {
    AttachmentMeta a;
    if (!r.String(4, a.attachment_id) || !r.String(5, a.name) || !r.String(6, a.media_type) ||
        !r.String(7, a.sha256)) {
      return Invalid("attachment");
    }
    c.attachments.push_back(std::move(a));
  }
  if (!r.Done()) return Invalid("trailing bytes");
  return c;
}

bool IsValidAttachmentName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttachmentName || name == "." || name == "..") {
    return false;
  }
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
    return false;
  }
  return text::PrintableUtf8CodePoints(name).has_value();
}

bool IsValidMediaType(std::string_view s) {
  if (s.size() > kMaxMediaType) return false;
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '.' || c == '+' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return s.find('/', slash + 1) == std::string_view::npos;
}

void ValidateSealedContent(const SealedContent& c, HandlingCode handling_code,
                           const std::vector<Attachment>& attachments, std::string_view path,
                           FieldErrors& errors) {
  const std::string base(path);
  if (handling_code == HandlingCode::kH3) {
    const auto n = text::PrintableUtf8CodePoints(c.handling_text);
    if (!n || *n == 0 || *n > kMaxHandlingText) {
      errors.Add(base + ".handling_text", "H3 requires 1..500 printable characters");
    }
  } else if (!c.handling_text.empty()) {
    errors.Add(base + ".handling_text", "only H3 carries handling text");
  }
  if (c.attachments.size() != attachments.size()) {
    errors.Add(base + ".attachments", "one entry per attachment of the envelope, in its order");
    return;
  }
  for (size_t i = 0; i < c.attachments.size(); ++i) {
    const AttachmentMeta& a = c.attachments[i];
    const std::string p = absl::StrCat(base, ".attachments[", i, "]");
    if (a.attachment_id != attachments[i].attachment_id) {
      errors.Add(p + ".attachment_id", "differs from the envelope's attachment at this position");
    }
    if (!IsValidAttachmentName(a.name)) {
      errors.Add(p + ".name",
                 "1..255 bytes of printable UTF-8 without '/' or '\\', not \".\" or \"..\"");
    }
    if (!IsValidMediaType(a.media_type)) {
      errors.Add(p + ".media_type", "must be a media type such as application/pdf");
    }
    if (a.sha256.size() != kSha256Bytes) errors.Add(p + ".sha256", "must be 32 bytes");
  }
}

std::string BodyAad(EnvelopeVersion version, std::string_view message_id) {
  return absl::StrCat(
      version == EnvelopeVersion::kV2 ? "concord.messaging.body.v2|" : "concord.messaging.body.v1|",
      absl::string_view(message_id.data(), message_id.size()));
}

}  // namespace concord::envelope
