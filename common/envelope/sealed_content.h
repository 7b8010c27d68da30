// File: common/envelope/sealed_content.h
//
// What the sealed body of a v2 envelope holds: the message text, the H3 handling text and, for
// each attachment, its name, media type and plaintext SHA-256. These used to be clear header
// fields (v1); a file name such as "passport-<name>.pdf" or a restriction naming a person would
// then sit in Redis in clear. Now only the recipients, after unwrapping the committed content
// key, can read them. The encoding is crypto::CanonicalWriter's (docs/crypto.md "Sealed
// content"):
//
//   0 "concord.messaging.content.v2", 1 text, 2 handling_text, 3 int attachment count,
//   then per attachment, in the envelope's order: 4 attachment_id, 5 name, 6 media_type,
//   7 sha256 (32 bytes, of the plaintext file)
//
//   const std::string plaintext = EncodeSealedContent(content);      // sealed with BodyAad
//   CONCORD_ASSIGN_OR_RETURN(SealedContent c, DecodeSealedContent(opened));
//
// A v1 envelope's body is the bare text; OpenedContent in client/messaging presents both alike.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/envelope/envelope.h"
#include "common/status/status.h"

namespace concord::envelope {

inline constexpr std::string_view kContentDomainV2 = "concord.messaging.content.v2";
inline constexpr size_t kMaxAttachmentName = 255;  // bytes
inline constexpr size_t kMaxMediaType = 127;       // bytes
inline constexpr size_t kMaxHandlingText = 500;    // code points

/// The sealed facts of one attachment (v2).
struct AttachmentMeta {
  std::string attachment_id;  // equals the clear Attachment.attachment_id at the same position
  std::string name;           // 1..255 bytes of printable UTF-8, no '/' or '\', not "." or ".."
  std::string media_type;     // type/subtype, e.g. "application/pdf"
  std::string sha256;         // 32 bytes: SHA-256 of the plaintext file
  friend bool operator==(const AttachmentMeta&, const AttachmentMeta&) = default;
};

struct SealedContent {
  std::string text;           // the message body (any bytes; UTF-8 by convention)
  std::string handling_text;  // H3: 1..500 printable characters; otherwise empty
  std::vector<AttachmentMeta> attachments;
  friend bool operator==(const SealedContent&, const SealedContent&) = default;
};

std::string EncodeSealedContent(const SealedContent& content);

/// Inverse of EncodeSealedContent: DATA_LOSS (reason SEALED_CONTENT_INVALID) if malformed.
StatusOr<SealedContent> DecodeSealedContent(std::string_view bytes);

/// The rules a content must meet in an envelope with `handling_code` and the clear
/// `attachments`: handling text present iff H3, one entry per attachment with the same id in the
/// same order, valid names, media types and digests. Adds one violation per problem to `errors`,
/// with paths under `path` (e.g. "content.attachments[0].name").
void ValidateSealedContent(const SealedContent& content, HandlingCode handling_code,
                           const std::vector<Attachment>& attachments, std::string_view path,
                           FieldErrors& errors);

/// True iff `name` may name an attachment (the rule of AttachmentMeta::name).
bool IsValidAttachmentName(std::string_view name);
/// True iff `media_type` is type/subtype of [A-Za-z0-9.+_-], at most 127 bytes.
bool IsValidMediaType(std::string_view media_type);

/// The AAD binding a sealed body to its message id and envelope version:
/// "concord.messaging.body.v1|<message_id>" or "concord.messaging.body.v2|<message_id>".
std::string BodyAad(EnvelopeVersion version, std::string_view message_id);

}  // namespace concord::envelope
