// File: client/messaging/message_crypto.h
//
// The agency-side half of Concord messaging, embedded by agency systems, concordctl and the tests:
// it builds envelopes, seals bodies and attachments to the recipients' X25519 keys, signs with
// the sender's Ed25519 key, and on receipt verifies the signature against the sender's directory
// key and unseals. The server never sees plaintext; it verifies the same signature over the same
// canonical encoding (services/messaging/README.md "Canonical encoding"), implemented here a
// second time over the proto types so that an agency system needs nothing from the server's code.
//
//   SenderIdentity me{my_agency, signing_key, sealing_key};
//   MessageDraft draft;
//   draft.recipients = {{payoke_id, payoke_sealing_pub}};
//   draft.body = "...";                                   // plaintext, never leaves this process
//   CONCORD_ASSIGN_OR_RETURN(v1::Envelope env, BuildEnvelope(me, draft, absl::Now()));
//   stub->Send(ctx, request_with(env), &reply);
//   ...
//   // recipient side
//   CONCORD_ASSIGN_OR_RETURN(std::string body,
//                            VerifyAndOpen(env, sender_signing_pub, me.agency, me.sealing_key));
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

/// An attachment sealed for upload, and the reference the envelope will carry.
struct SealedAttachment {
  v1::UploadAttachmentHeader header;
  std::vector<v1::AttachmentChunk> chunks;  // each <= kChunkBytes of plaintext, sealed
  v1::Attachment reference;                 // name, type, size, plaintext sha256, chunk refs
};

struct MessageDraft {
  std::string message_id;  // empty: a random 32-character id is chosen
  std::vector<Recipient> recipients;
  std::string thread_id;
  std::string case_reference;
  v1::MessageKind kind = v1::MESSAGE_KIND_INFORMATION;
  v1::Classification classification = v1::CLASSIFICATION_RESTRICTED;
  v1::HandlingCode handling_code = v1::HANDLING_CODE_H0;
  std::string handling_text;
  std::optional<v1::EvaluationCodes> evaluation;
  absl::Duration time_to_live = absl::Hours(24 * 30);
  std::string body;                         // plaintext
  std::vector<v1::Attachment> attachments;  // SealedAttachment::reference of each upload
  std::string in_reply_to;
  std::optional<v1::ForwardLink> forward;  // set by BuildForward
};

/// "<type>/<id>": the recipient label of a wrapped key (AgencyId::Key() on the server).
std::string AgencyKey(const AgencyProto& agency);

/// A random id for messages and attachments: 32 lower-case hex characters (128 bits).
std::string RandomId();

/// The canonical encodings the signatures cover (byte-identical to the server's).
std::string CanonicalEnvelope(const v1::Envelope& envelope);  // without the signature
std::string CanonicalForwardPermission(const v1::ForwardPermission& permission);
std::string CanonicalReceipt(const v1::Receipt& receipt);
std::string CanonicalChunk(std::string_view attachment_id, const v1::AttachmentChunk& chunk);

/// SHA-256 (32 raw bytes) of the canonical envelope plus signature, as the server reports it.
std::string EnvelopeSha256(const v1::Envelope& envelope);

/// The AAD binding a sealed body to its message id, and a chunk to its attachment and index.
std::string BodyAad(std::string_view message_id);
std::string ChunkAad(std::string_view attachment_id, uint32_t index);

/// Seals the draft's body to every recipient (aad = BodyAad(message id)), fills the header with
/// sender = identity.agency and created_at = now, and signs. INVALID_ARGUMENT for a draft the
/// crypto cannot take (no recipient, duplicate recipient); the server validates the rest.
StatusOr<v1::Envelope> BuildEnvelope(const SenderIdentity& identity, const MessageDraft& draft,
                                     absl::Time now);

/// Signs (or re-signs) `envelope` in place with `key`.
Status SignEnvelope(v1::Envelope& envelope, const crypto::Ed25519PrivateKey& key);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless `envelope.signature` verifies under
/// `sender_key` over CanonicalEnvelope(envelope).
Status VerifyEnvelope(const v1::Envelope& envelope, const crypto::Ed25519PublicKey& sender_key);

/// Opens the body as `me` (no signature check: use VerifyAndOpen unless it was already done).
/// NOT_FOUND if not addressed to `me`; DATA_LOSS on any tampering.
StatusOr<std::string> OpenBody(const v1::Envelope& envelope, const AgencyProto& me,
                               const crypto::X25519PrivateKey& sealing_key);

/// VerifyEnvelope, then OpenBody.
StatusOr<std::string> VerifyAndOpen(const v1::Envelope& envelope,
                                    const crypto::Ed25519PublicKey& sender_key,
                                    const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key);

/// Splits `plaintext` into chunks of at most kChunkBytes, seals each to `recipients` (aad =
/// ChunkAad(id, index)) and computes the reference (plaintext SHA-256, per-chunk canonical
/// SHA-256). `attachment_id` empty: random. At least one chunk, even for an empty file.
StatusOr<SealedAttachment> SealAttachment(std::string attachment_id, std::string name,
                                          std::string media_type, std::string_view plaintext,
                                          const std::vector<Recipient>& recipients);

/// Checks each chunk against `reference` (count, order, canonical SHA-256: the reference is
/// covered by the envelope signature), opens them as `me`, and checks size and plaintext
/// SHA-256. DATA_LOSS on any mismatch.
StatusOr<std::string> OpenAttachment(const v1::Attachment& reference,
                                     const std::vector<v1::AttachmentChunk>& chunks,
                                     const AgencyProto& me,
                                     const crypto::X25519PrivateKey& sealing_key);

/// A receipt for `envelope` by `identity` (the recipient), signed.
StatusOr<v1::Receipt> MakeReceipt(const SenderIdentity& identity, const v1::Envelope& envelope,
                                  v1::ReceiptKind kind, absl::Time now);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless the receipt verifies under `recipient_key`.
Status VerifyReceipt(const v1::Receipt& receipt, const crypto::Ed25519PublicKey& recipient_key);

/// The provider's (original sender's) signed permission to forward `original` to `grantees`.
StatusOr<v1::ForwardPermission> GrantForwardPermission(const SenderIdentity& provider,
                                                       const v1::Envelope& original,
                                                       const std::vector<AgencyProto>& grantees,
                                                       absl::Time now);

/// PERMISSION_DENIED (reason BAD_SIGNATURE) unless the permission verifies under `provider_key`.
Status VerifyForwardPermission(const v1::ForwardPermission& permission,
                               const crypto::Ed25519PublicKey& provider_key);

/// A forward of `original`, whose opened body is `plaintext`, re-sealed for `recipients` by
/// `identity`: same kind, classification, handling code and text, evaluation, case and thread;
/// a new id; forward link to the original (with `permission` if given: required for H2 when a
/// recipient was not an original recipient). Attachments are not carried: re-seal and upload
/// them with SealAttachment and add the references to the result before SignEnvelope.
StatusOr<v1::Envelope> BuildForward(const SenderIdentity& identity, const v1::Envelope& original,
                                    std::string_view plaintext,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now);

}  // namespace concord::messaging::client
