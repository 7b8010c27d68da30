// File: services/messaging/envelope.h
//
// The messaging domain: Concord's own Envelope (proto types stop at the handler, STYLE G1), its
// pure validation (sizes, recipients, handling-code rules, expiry, replay window) and its
// canonical encoding (the bytes the sender signs, documented in services/messaging/README.md).
//
//   CONCORD_RETURN_IF_ERROR(ValidateEnvelope(envelope, limits));
//   CONCORD_RETURN_IF_ERROR(CheckEnvelopeTimes(envelope, limits, clock.Now()));
//   const std::string signed_bytes = CanonicalEnvelope(envelope);
//
// No I/O; time only through arguments. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::messaging {

/// Europol handling codes (DOMAIN.md section 7).
enum class HandlingCode { kH0, kH1, kH2, kH3 };
/// Source reliability A/B/C/X and information accuracy 1-4 (Europol Regulation art. 29).
enum class SourceReliability { kA, kB, kC, kX };
enum class InformationAccuracy { k1, k2, k3, k4 };
enum class MessageKind { kInformation, kRequest, kResponse, kNotification };
enum class Classification { kUnclassified, kRestricted, kConfidential };

std::string_view HandlingCodeName(HandlingCode code);   // "H0".."H3"
std::string_view MessageKindName(MessageKind kind);     // "information", ...
std::string_view ClassificationName(Classification c);  // "unclassified", ...

struct EvaluationCodes {
  SourceReliability source = SourceReliability::kX;
  InformationAccuracy information = InformationAccuracy::k4;
  friend bool operator==(const EvaluationCodes&, const EvaluationCodes&) = default;
};

/// One content key wrapped for one recipient (common/crypto SealedBox shape).
struct WrappedKey {
  std::string recipient;  // AgencyId::Key() of the recipient
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
  uint64_t size = 0;
  std::string sha256;  // 32 bytes
  friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct Attachment {
  std::string attachment_id;
  std::string name;
  std::string media_type;
  uint64_t size = 0;   // plaintext bytes
  std::string sha256;  // 32 bytes, of the plaintext
  std::vector<ChunkRef> chunks;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

/// The provider's signed permission to disseminate an H2 message to `grantees`.
struct ForwardPermission {
  std::string original_message_id;
  AgencyId provider;
  std::vector<AgencyId> grantees;
  absl::Time granted_at;
  std::string signature;
  friend bool operator==(const ForwardPermission&, const ForwardPermission&) = default;
};

struct ForwardLink {
  std::string original_message_id;
  AgencyId original_sender;
  std::optional<ForwardPermission> permission;
  friend bool operator==(const ForwardLink&, const ForwardLink&) = default;
};

struct Envelope {
  std::string message_id;
  AgencyId sender;
  std::vector<AgencyId> recipients;
  std::string thread_id;
  std::string case_reference;
  MessageKind kind = MessageKind::kInformation;
  Classification classification = Classification::kRestricted;
  HandlingCode handling_code = HandlingCode::kH0;
  std::string handling_text;
  std::optional<EvaluationCodes> evaluation;
  absl::Time created_at;
  absl::Time expires_at;
  SealedBox body;
  std::vector<Attachment> attachments;
  std::string in_reply_to;
  std::optional<ForwardLink> forward;
  std::string signature;  // Ed25519 over CanonicalEnvelope(*this)
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

/// A receipt signed by the recipient over CanonicalReceipt().
enum class ReceiptKind { kDelivered, kRead };
struct Receipt {
  std::string message_id;
  std::string envelope_sha256;  // 32 bytes
  AgencyId recipient;
  ReceiptKind kind = ReceiptKind::kDelivered;
  absl::Time at;
  std::string signature;
  friend bool operator==(const Receipt&, const Receipt&) = default;
};

/// Plaintext bytes per attachment chunk (before sealing).
inline constexpr uint64_t kAttachmentChunkBytes = 1024 * 1024;

/// Configurable limits; defaults follow issue 3.
struct EnvelopeLimits {
  size_t max_recipients = 64;
  size_t max_body_bytes = 1024 * 1024;  // sealed body ciphertext
  size_t max_attachments = 16;
  uint64_t max_attachment_bytes = 64ull * 1024 * 1024;  // per message, all attachments
  absl::Duration replay_window = absl::Minutes(5);      // created_at may be this old
  absl::Duration max_clock_skew = absl::Minutes(1);     // created_at may be this far ahead
  absl::Duration retention_unclassified = absl::Hours(24 * 365);
  absl::Duration retention_restricted = absl::Hours(24 * 180);
  absl::Duration retention_confidential = absl::Hours(24 * 90);

  absl::Duration RetentionFor(Classification c) const;
};

/// OK iff `id` matches [A-Za-z0-9_-]{16,64} (message and attachment ids: client-chosen, random).
bool IsValidClientId(std::string_view id);

/// Structural validation, independent of time: ids, recipients (1..max, distinct, valid), thread
/// id, case reference, handling code rules (H3 needs 1..500 characters of text; others none),
/// body (nonce, size, exactly one wrapped key per recipient and no other), attachments (count,
/// total size, ids, digests, contiguous chunks), in_reply_to (required for a response), forward
/// link and signature length. INVALID_ARGUMENT with one field violation per problem; field paths
/// start with "envelope." (e.g. "envelope.recipients[2]").
Status ValidateEnvelope(const Envelope& envelope, const EnvelopeLimits& limits);

/// Time rules against `now`: created_at within [now - replay_window, now + max_clock_skew]
/// (reason OUTSIDE_REPLAY_WINDOW), expires_at after now (reason MESSAGE_EXPIRED), after
/// created_at and at most the classification's retention after it (INVALID_ARGUMENT).
Status CheckEnvelopeTimes(const Envelope& envelope, const EnvelopeLimits& limits, absl::Time now);

/// The canonical encoding of everything in the envelope except the signature: what the sender
/// signs and the server verifies. Deterministic; documented in README.md.
std::string CanonicalEnvelope(const Envelope& envelope);

/// SHA-256 (32 raw bytes) of the stored form (canonical encoding + signature): the envelope's
/// identity for idempotent resend and receipts.
std::string EnvelopeSha256(const Envelope& envelope);

/// The stored form: CanonicalEnvelope plus the signature field. DecodeStoredEnvelope is its exact
/// inverse (DATA_LOSS on anything malformed).
std::string EncodeStoredEnvelope(const Envelope& envelope);
StatusOr<Envelope> DecodeStoredEnvelope(std::string_view bytes);

/// The canonical encoding of one sealed attachment chunk; ChunkRef.sha256 is its SHA-256.
std::string CanonicalChunk(std::string_view attachment_id, uint32_t index, const SealedBox& sealed);

/// Inverse of CanonicalChunk (DATA_LOSS if malformed or for another attachment or index).
StatusOr<SealedBox> DecodeCanonicalChunk(std::string_view bytes, std::string_view attachment_id,
                                         uint32_t index);

/// What a provider signs to permit forwarding an H2 message.
std::string CanonicalForwardPermission(const ForwardPermission& permission);

/// What a recipient signs in a receipt.
std::string CanonicalReceipt(const Receipt& receipt);

/// Handling-code rule for Forward: an H2 original may only go to agencies that were already
/// recipients of the original or that the provider's permission names. `permission_verified`
/// says whether the attached permission's signature was verified against the provider's key.
/// PERMISSION_DENIED (reason H2_FORWARD_WITHOUT_PERMISSION) otherwise.
Status CheckForwardAllowed(const Envelope& original, const Envelope& forward,
                           bool permission_verified);

}  // namespace concord::messaging
