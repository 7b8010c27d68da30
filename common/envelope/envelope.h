// File: common/envelope/envelope.h
//
// The messaging envelope as plain values: what an agency signs and seals, what the messaging
// service validates, stores and routes. One model for both sides (the agency library in
// client/messaging and the service in services/messaging link this library); the proto types of
// concord.messaging.v1 stop at envelope_proto.h. The bytes that are signed and hashed are in
// envelope_encoding.h, documented byte for byte in docs/crypto.md "Messaging envelope".
//
// Two versions exist. v2 (kCurrentVersion) is what every new message is; v1 is only read back
// (stored messages accepted before v2 keep verifying). In v2 the attachment names, media types
// and plaintext digests and the H3 handling text travel inside the sealed body (sealed_content.h),
// and the signed header commits to the content key of the body and of every attachment chunk.
//
//   envelope::Envelope e;
//   e.version = envelope::EnvelopeVersion::kV2;
//   e.message_id = "...";  e.sender = me;  e.recipients = {...};
//   const std::string to_sign = envelope::CanonicalEnvelope(e);
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"

namespace concord::envelope {

/// The envelope format, named in the domain string of its canonical encoding
/// ("concord.messaging.envelope.v<N>") and in Envelope.version of the proto.
enum class EnvelopeVersion { kV1 = 1, kV2 = 2 };
/// What new messages are built as, and the only version Send and Forward accept.
inline constexpr EnvelopeVersion kCurrentVersion = EnvelopeVersion::kV2;

/// Europol handling codes (DOMAIN.md section 7).
enum class HandlingCode { kH0, kH1, kH2, kH3 };
/// Source reliability A/B/C/X and information accuracy 1-4 (Europol Regulation art. 29).
enum class SourceReliability { kA, kB, kC, kX };
enum class InformationAccuracy { k1, k2, k3, k4 };
enum class MessageKind { kInformation, kRequest, kResponse, kNotification };
enum class Classification { kUnclassified, kRestricted, kConfidential };
enum class ReceiptKind { kDelivered, kRead };

std::string_view HandlingCodeName(HandlingCode code);   // "H0".."H3"
std::string_view MessageKindName(MessageKind kind);     // "information", ...
std::string_view ClassificationName(Classification c);  // "unclassified", ...

/// True iff `id` matches [A-Za-z0-9_-]{16,64}: message and attachment ids (client-chosen; the
/// agency library draws 128 random bits, RandomId in client/messaging).
bool IsValidClientId(std::string_view id);

/// Plaintext bytes per attachment chunk (before sealing).
inline constexpr uint64_t kAttachmentChunkBytes = 1024 * 1024;
/// Sizes of the fixed-size fields.
inline constexpr size_t kSha256Bytes = 32;
inline constexpr size_t kKeyCommitmentBytes = 32;
inline constexpr size_t kSignatureBytes = 64;

struct EvaluationCodes {
  SourceReliability source = SourceReliability::kX;
  InformationAccuracy information = InformationAccuracy::k4;
  friend bool operator==(const EvaluationCodes&, const EvaluationCodes&) = default;
};

/// One content key wrapped for one recipient (common/crypto/seal.h).
struct WrappedKey {
  std::string recipient;  // the recipient's label "<type>/<id>" (AgencyId::Key())
  std::string ephemeral_public;
  std::string nonce;
  std::string ciphertext;
  friend bool operator==(const WrappedKey&, const WrappedKey&) = default;
};

struct SealedBox {
  std::string nonce;
  std::string ciphertext;
  std::vector<WrappedKey> keys;
  friend bool operator==(const SealedBox&, const SealedBox&) = default;
};

struct ChunkRef {
  uint32_t index = 0;
  uint64_t size = 0;           // bytes of the chunk's canonical encoding (chunk.h)
  std::string sha256;          // 32 bytes: SHA-256 of the chunk's canonical encoding
  std::string key_commitment;  // v2: 32 bytes, commitment to the chunk's content key; v1: empty
  friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct Attachment {
  std::string attachment_id;
  std::string name;        // v1 only (clear); v2: empty, the name is in the sealed content
  std::string media_type;  // v1 only (clear); v2: empty
  uint64_t size = 0;       // plaintext bytes
  std::string sha256;      // v1 only (clear, 32 bytes); v2: empty
  std::vector<ChunkRef> chunks;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

/// The original provider's signed permission to disseminate an H2 message to `grantees`. In v2
/// `original_message_id` names the ROOT message of the forward chain and `provider` is its
/// sender; in v1 it named the forwarded message and its sender.
struct ForwardPermission {
  std::string original_message_id;
  AgencyId provider;
  std::vector<AgencyId> grantees;
  absl::Time granted_at;
  std::string signature;
  friend bool operator==(const ForwardPermission&, const ForwardPermission&) = default;
};

struct ForwardLink {
  std::string original_message_id;  // the message forwarded (the forwarder received it)
  AgencyId original_sender;
  std::string root_message_id;  // v2: the first message of the forward chain; v1: empty
  AgencyId root_sender;         // v2: the original provider, its sender; v1: unset
  std::optional<ForwardPermission> permission;
  friend bool operator==(const ForwardLink&, const ForwardLink&) = default;
};

struct Envelope {
  EnvelopeVersion version = kCurrentVersion;
  std::string message_id;
  AgencyId sender;
  std::vector<AgencyId> recipients;
  std::string thread_id;
  std::string case_reference;
  MessageKind kind = MessageKind::kInformation;
  Classification classification = Classification::kRestricted;
  HandlingCode handling_code = HandlingCode::kH0;
  std::string handling_text;  // v1 only (clear); v2: empty, the text is in the sealed content
  std::optional<EvaluationCodes> evaluation;
  absl::Time created_at;
  absl::Time expires_at;
  SealedBox body;
  std::string body_key_commitment;  // v2: 32 bytes; v1: empty
  std::vector<Attachment> attachments;
  std::string in_reply_to;
  std::optional<ForwardLink> forward;
  std::string signature;  // Ed25519 over CanonicalEnvelope(*this)
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

/// A receipt signed by the recipient over CanonicalReceipt() (receipt.h).
struct Receipt {
  std::string message_id;
  std::string envelope_sha256;  // 32 bytes: EnvelopeSha256 of the envelope it acknowledges
  AgencyId recipient;
  ReceiptKind kind = ReceiptKind::kDelivered;
  absl::Time at;
  std::string signature;
  friend bool operator==(const Receipt&, const Receipt&) = default;
};

/// The root of the forward chain `envelope` starts or continues: the envelope itself when it is
/// not a forward; for a v2 forward its link's root; for a v1 forward its link's original (one
/// hop: a v1 link does not say more; the service resolves deeper v1 chains from its store).
struct ForwardRoot {
  std::string message_id;
  AgencyId sender;
  friend bool operator==(const ForwardRoot&, const ForwardRoot&) = default;
};
ForwardRoot RootOf(const Envelope& envelope);

}  // namespace concord::envelope
