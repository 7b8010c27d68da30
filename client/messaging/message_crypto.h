// File: client/messaging/message_crypto.h
//
// The agency-side half of Concord messaging, embedded by agency systems, concordctl and the tests:
// it builds envelopes (v2), seals bodies and attachments to the recipients' X25519 keys, signs
// with the sender's Ed25519 key, and on receipt verifies the signature against the sender's
// directory key, unwraps the content key, checks it against the signed key commitment and opens.
// The server never sees plaintext. The bytes signed and hashed are computed by the one library
// the server uses too (common/envelope, docs/crypto.md "Messaging envelope"): this file only
// converts the protos and drives the crypto.
//
//   SenderIdentity me{my_agency, signing_key, sealing_key};
//   MessageDraft draft;
//   draft.recipients = {{payoke_id, payoke_sealing_pub}};
//   draft.body = "...";                                   // plaintext, never leaves this process
//   CONCORD_ASSIGN_OR_RETURN(v1::Envelope env, BuildEnvelope(me, draft, absl::Now()));
//   stub->Send(ctx, request_with(env), &reply);
//   ...
//   // recipient side (v2 and stored v1 envelopes alike)
//   CONCORD_ASSIGN_OR_RETURN(OpenedContent c, VerifyAndOpenContent(env, sender_signing_pub,
//                                                                   me.agency, me.sealing_key));
//
// Thread safety: pure functions; keys are immutable and shareable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/status/status.h"
#include "concord/messaging/v1/messaging.pb.h"

namespace concord::messaging::client {

namespace v1 = ::concord::messaging::v1;
using AgencyProto = ::concord::common::v1::AgencyId;

/// Plaintext bytes per attachment chunk (the server refuses bigger sealed chunks).
inline constexpr size_t kChunkBytes = 1024 * 1024;

/// The local agency: its identity and private keys.
struct SenderIdentity {
  AgencyProto agency;
  crypto::Ed25519PrivateKey signing_key;
  crypto::X25519PrivateKey sealing_key;
};

/// A recipient and its sealing key (from the directory).
struct Recipient {
  AgencyProto agency;
  crypto::X25519PublicKey sealing_key;
};

/// An attachment sealed for upload, and the reference the envelope will carry. The reference
/// holds the name, media type and plaintext SHA-256 for BuildEnvelope, which moves them into the
/// sealed content and leaves only id, size and chunk references (with key commitments) clear.
struct SealedAttachment {
  v1::UploadAttachmentHeader header;
  std::vector<v1::AttachmentChunk> chunks;  // each <= kChunkBytes of plaintext, sealed
  v1::Attachment reference;                 // as above
};

struct MessageDraft {
  std::string message_id;  // empty: a random 32-character id is chosen
  std::vector<Recipient> recipients;
  std::string thread_id;       // clear: opaque ([A-Za-z0-9_-]{0,64}), never content
  std::string case_reference;  // clear: an opaque file number (common/envelope/case_reference.h)
  v1::MessageKind kind = v1::MESSAGE_KIND_INFORMATION;
  v1::Classification classification = v1::CLASSIFICATION_RESTRICTED;
  v1::HandlingCode handling_code = v1::HANDLING_CODE_H0;
  std::string handling_text;  // H3 only; sealed
  std::optional<v1::EvaluationCodes> evaluation;
  absl::Duration time_to_live = absl::Hours(24 * 30);
  std::string body;                         // plaintext; sealed
  std::vector<v1::Attachment> attachments;  // SealedAttachment::reference of each upload
  std::string in_reply_to;
  std::optional<v1::ForwardLink> forward;  // set by ForwardDraft
};

/// What a recipient reads once a message is opened, for v2 (from the sealed content) and stored
/// v1 envelopes (from the clear fields) alike.
struct OpenedAttachment {
  std::string attachment_id;
  std::string name;
  std::string media_type;
  uint64_t size = 0;
  std::string sha256;  // 32 bytes, of the plaintext file
};
struct OpenedContent {
  std::string body;
  std::string handling_text;
  std::vector<OpenedAttachment> attachments;  // in the envelope's order
};

/// "<type>/<id>": the recipient label of a wrapped key (AgencyId::Key() on the server).
std::string AgencyKey(const AgencyProto& agency);

/// A random id for messages and attachments: 32 lower-case hex characters (128 bits).
std::string RandomId();

/// SHA-256 (32 raw bytes) of the envelope's stored form, for v1 and v2 alike: the hash the server
/// reports and a receipt names. INVALID_ARGUMENT for an envelope that is not well-formed.
StatusOr<std::string> EnvelopeSha256(const v1::Envelope& envelope);

/// Builds an envelope v2: seals the sealed content (body, handling text, attachment names, media
/// types and digests) to every recipient with a key commitment, fills the header with sender =
/// identity.agency and created_at = now, and signs. INVALID_ARGUMENT for a draft the library
/// refuses (no or duplicate recipient, case reference that is no opaque file number, bad
/// attachment name or media type, handling text not matching the code); the server validates
/// the rest.
StatusOr<v1::Envelope> BuildEnvelope(const SenderIdentity& identity, const MessageDraft& draft,
                                     absl::Time now);

/// Signs (or re-signs) `envelope` in place with `key`, over the layout of its version.
Status SignEnvelope(v1::Envelope& envelope, const crypto::Ed25519PrivateKey& key);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless `envelope.signature` verifies under
/// `sender_key` over the canonical encoding of its version (v1 or v2).
Status VerifyEnvelope(const v1::Envelope& envelope, const crypto::Ed25519PublicKey& sender_key);

/// Opens the body as `me` (no signature check: use VerifyAndOpenContent unless it was already
/// done). v2: unwraps the content key and refuses it unless it matches body_key_commitment
/// (DATA_LOSS, reason KEY_COMMITMENT_MISMATCH: the sender gave recipients different keys), then
/// decodes and checks the sealed content (DATA_LOSS, SEALED_CONTENT_INVALID). NOT_FOUND if not
/// addressed to `me`; DATA_LOSS on any tampering.
StatusOr<OpenedContent> OpenContent(const v1::Envelope& envelope, const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key);

/// VerifyEnvelope, then OpenContent.
StatusOr<OpenedContent> VerifyAndOpenContent(const v1::Envelope& envelope,
                                             const crypto::Ed25519PublicKey& sender_key,
                                             const AgencyProto& me,
                                             const crypto::X25519PrivateKey& sealing_key);

/// The body text only (OpenContent(...).body, and VerifyAndOpenContent(...).body).
StatusOr<std::string> OpenBody(const v1::Envelope& envelope, const AgencyProto& me,
                               const crypto::X25519PrivateKey& sealing_key);
StatusOr<std::string> VerifyAndOpen(const v1::Envelope& envelope,
                                    const crypto::Ed25519PublicKey& sender_key,
                                    const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key);

/// Splits `plaintext` into chunks of at most kChunkBytes, seals each to `recipients` (aad =
/// the chunk's ChunkAad) with a commitment to its content key, and computes the reference (name,
/// media type, size, plaintext SHA-256, per-chunk canonical SHA-256 and key commitment).
/// `attachment_id` empty: random. At least one chunk, even for an empty file. INVALID_ARGUMENT
/// for a name (1..255 bytes of printable UTF-8 without '/' or '\') or media type the envelope
/// cannot carry.
StatusOr<SealedAttachment> SealAttachment(std::string attachment_id, std::string name,
                                          std::string media_type, std::string_view plaintext,
                                          const std::vector<Recipient>& recipients);

/// Opens attachment `attachment_id` of `envelope` (whose content was opened as `content`) from
/// its downloaded `chunks`: checks each chunk against the signed reference (count, order,
/// canonical SHA-256), unwraps and (v2) checks each chunk's content key against its signed
/// commitment, decrypts as `me`, and checks size and plaintext SHA-256. NOT_FOUND if the message
/// has no such attachment; DATA_LOSS on any mismatch.
StatusOr<std::string> OpenAttachment(const v1::Envelope& envelope, const OpenedContent& content,
                                     std::string_view attachment_id,
                                     const std::vector<v1::AttachmentChunk>& chunks,
                                     const AgencyProto& me,
                                     const crypto::X25519PrivateKey& sealing_key);

/// A receipt for `envelope` by `identity` (the recipient), naming its envelope hash, signed.
StatusOr<v1::Receipt> MakeReceipt(const SenderIdentity& identity, const v1::Envelope& envelope,
                                  v1::ReceiptKind kind, absl::Time now);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless the receipt verifies under `recipient_key`.
Status VerifyReceipt(const v1::Receipt& receipt, const crypto::Ed25519PublicKey& recipient_key);

/// The original provider's signed permission (v2) to forward its message `original` to
/// `grantees`. Only the provider of the information can give it: FAILED_PRECONDITION (reason
/// H2_PERMISSION_NOT_FROM_PROVIDER) if `original` was not sent by `provider` or is itself a
/// forward (then the permission must come from the root provider its link names).
StatusOr<v1::ForwardPermission> GrantForwardPermission(const SenderIdentity& provider,
                                                       const v1::Envelope& original,
                                                       const std::vector<AgencyProto>& grantees,
                                                       absl::Time now);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless the permission (v2) verifies under
/// `provider_key`.
Status VerifyForwardPermission(const v1::ForwardPermission& permission,
                               const crypto::Ed25519PublicKey& provider_key);

/// The root of the forward chain `original` belongs to: {message id, sender}. The original itself
/// unless it is a forward; then the root its v2 link names (a stored v1 link names one hop).
StatusOr<std::pair<std::string, AgencyProto>> ForwardRootOf(const v1::Envelope& original);

/// A draft forwarding `original`, opened as `content`, to `recipients`: same kind (a RESPONSE
/// becomes INFORMATION), classification, handling code and text, evaluation, case and thread;
/// a new id; the forward link names the original and the root of its chain, with `permission`
/// (required for H2 when a recipient is new; it must be the root provider's). No attachments:
/// re-seal the original's for the new recipients with SealAttachment, upload them and add their
/// references before BuildEnvelope.
StatusOr<MessageDraft> ForwardDraft(const v1::Envelope& original, const OpenedContent& content,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now);

/// BuildEnvelope(identity, ForwardDraft(...)): a forward without attachments.
StatusOr<v1::Envelope> BuildForward(const SenderIdentity& identity, const v1::Envelope& original,
                                    const OpenedContent& content,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now);

}  // namespace concord::messaging::client
