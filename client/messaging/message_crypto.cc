#include "client/messaging/message_crypto.h"

#include <openssl/rand.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/crypto/seal.h"
#include "common/envelope/case_reference.h"
#include "common/envelope/chunk.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"
#include "common/envelope/receipt.h"
#include "common/envelope/sealed_content.h"
#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"

namespace concord::messaging::client {
namespace {

namespace env = ::concord::envelope;

std::string Digest(std::string_view bytes) {
  const auto d = crypto::Sha256(bytes);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

Status BadSignature(std::string_view what) {
  return WithReason(
      absl::PermissionDeniedError(absl::StrCat(std::string(what), ": signature does not verify")),
      "BAD_SIGNATURE");
}

crypto::SealedBox ToCrypto(const v1::SealedBox& p) {
  crypto::SealedBox box;
  box.nonce = p.nonce();
  box.ciphertext = p.ciphertext();
  for (const v1::WrappedKey& k : p.keys()) {
    box.keys.push_back({k.recipient(), k.ephemeral_public(), k.nonce(), k.ciphertext()});
  }
  return box;
}

void FromCrypto(const crypto::SealedBox& box, v1::SealedBox& out) {
  out.Clear();
  out.set_nonce(box.nonce);
  out.set_ciphertext(box.ciphertext);
  for (const crypto::WrappedKey& k : box.keys) {
    v1::WrappedKey* pk = out.add_keys();
    pk->set_recipient(k.recipient);
    pk->set_ephemeral_public(k.ephemeral_public);
    pk->set_nonce(k.nonce);
    pk->set_ciphertext(k.ciphertext);
  }
}

env::SealedBox ToEnvelopeBox(const v1::SealedBox& p) {
  env::SealedBox box;
  env::SealedFromProto(p, box);
  return box;
}

StatusOr<std::vector<std::pair<std::string, crypto::X25519PublicKey>>> SealTargets(
    const std::vector<Recipient>& recipients) {
  std::vector<std::pair<std::string, crypto::X25519PublicKey>> out;
  std::set<std::string> seen;
  for (const Recipient& r : recipients) {
    std::string key = AgencyKey(r.agency);
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate recipient ", key));
    }
    out.emplace_back(std::move(key), r.sealing_key);
  }
  if (out.empty()) return absl::InvalidArgumentError("at least one recipient");
  return out;
}

void SetTime(absl::Time t, google::protobuf::Timestamp& out) { env::TimeToProto(t, out); }

// The values the canonical encoding is computed from. A malformed proto has none.
StatusOr<env::Envelope> ToDomain(const v1::Envelope& envelope) {
  return env::EnvelopeFromProto(envelope);
}

StatusOr<env::ForwardPermission> PermissionToDomain(const v1::ForwardPermission& permission) {
  return env::PermissionFromProto(permission);
}

env::HandlingCode HandlingOf(v1::HandlingCode code) {
  switch (code) {
    case v1::HANDLING_CODE_H1:
      return env::HandlingCode::kH1;
    case v1::HANDLING_CODE_H2:
      return env::HandlingCode::kH2;
    case v1::HANDLING_CODE_H3:
      return env::HandlingCode::kH3;
    default:
      return env::HandlingCode::kH0;
  }
}

Status SealedContentInvalid(const Status& field_errors) {
  std::string detail;
  for (const FieldViolation& v : FieldViolationsOf(field_errors)) {
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", v.field, ": ", v.description);
  }
  return WithReason(absl::DataLossError(absl::StrCat("sealed content is invalid: ", detail)),
                    "SEALED_CONTENT_INVALID");
}

}  // namespace

std::string AgencyKey(const AgencyProto& agency) {
  auto type = AgencyTypeFromProto(agency.type());
  if (!type.ok()) return "invalid/" + agency.id();
  return absl::StrCat(std::string(AgencyTypeName(*type)), "/", agency.id());
}

std::string RandomId() {
  std::string raw(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), 16) != 1) {
    std::abort();  // the CSPRNG failing is not an input error (crypto/openssl_util.h policy)
  }
  return crypto::HexEncode(raw);
}

StatusOr<std::string> EnvelopeSha256(const v1::Envelope& envelope) {
  CONCORD_ASSIGN_OR_RETURN(env::Envelope e, ToDomain(envelope));
  return env::EnvelopeSha256(e);
}

StatusOr<v1::Envelope> BuildEnvelope(const SenderIdentity& identity, const MessageDraft& draft,
                                     absl::Time now) {
  CONCORD_RETURN_IF_ERROR(env::ValidateCaseReference(draft.case_reference));
  v1::Envelope e;
  e.set_version(static_cast<uint32_t>(env::kCurrentVersion));
  e.set_message_id(draft.message_id.empty() ? RandomId() : draft.message_id);
  *e.mutable_sender() = identity.agency;
  for (const Recipient& r : draft.recipients) *e.add_recipients() = r.agency;
  e.set_thread_id(draft.thread_id);
  e.set_case_reference(draft.case_reference);
  e.set_kind(draft.kind);
  e.set_classification(draft.classification);
  e.set_handling_code(draft.handling_code);
  if (draft.evaluation) *e.mutable_evaluation() = *draft.evaluation;
  SetTime(now, *e.mutable_created_at());
  SetTime(now + draft.time_to_live, *e.mutable_expires_at());

  // Security: names, media types, digests and the handling text go into the sealed content;
  // the clear header keeps only what routing and policy need.
  env::SealedContent content;
  content.text = draft.body;
  content.handling_text = draft.handling_text;
  std::vector<env::Attachment> clear;
  for (const v1::Attachment& a : draft.attachments) {
    content.attachments.push_back({a.attachment_id(), a.name(), a.media_type(), a.sha256()});
    v1::Attachment* out = e.add_attachments();
    *out = a;
    out->clear_name();
    out->clear_media_type();
    out->clear_sha256();
    clear.push_back(env::Attachment{a.attachment_id(), "", "", a.size(), "", {}});
  }
  FieldErrors errors;
  env::ValidateSealedContent(content, HandlingOf(draft.handling_code), clear, "content", errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("the message cannot be sealed"));

  CONCORD_ASSIGN_OR_RETURN(auto targets, SealTargets(draft.recipients));
  CONCORD_ASSIGN_OR_RETURN(
      crypto::CommittedBox sealed,
      crypto::SealCommitted(env::EncodeSealedContent(content), targets,
                            env::BodyAad(env::kCurrentVersion, e.message_id())));
  FromCrypto(sealed.box, *e.mutable_body());
  e.set_body_key_commitment(sealed.key_commitment);
  e.set_in_reply_to(draft.in_reply_to);
  if (draft.forward) *e.mutable_forward() = *draft.forward;
  CONCORD_RETURN_IF_ERROR(SignEnvelope(e, identity.signing_key));
  return e;
}

Status SignEnvelope(v1::Envelope& envelope, const crypto::Ed25519PrivateKey& key) {
  CONCORD_ASSIGN_OR_RETURN(env::Envelope e, ToDomain(envelope));
  CONCORD_ASSIGN_OR_RETURN(std::string sig, key.Sign(env::CanonicalEnvelope(e)));
  envelope.set_signature(std::move(sig));
  return absl::OkStatus();
}

Status VerifyEnvelope(const v1::Envelope& envelope, const crypto::Ed25519PublicKey& sender_key) {
  auto e = ToDomain(envelope);
  if (!e.ok()) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "envelope is malformed and cannot verify: ", e.status().message())),
                      "BAD_SIGNATURE");
  }
  if (!sender_key.Verify(env::CanonicalEnvelope(*e), envelope.signature())) {
    return BadSignature("envelope");
  }
  return absl::OkStatus();
}

StatusOr<OpenedContent> OpenContent(const v1::Envelope& envelope, const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key) {
  auto parsed = ToDomain(envelope);
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat("envelope is malformed: ", parsed.status().message()));
  }
  const env::Envelope& e = *parsed;
  const crypto::SealedBox box = ToCrypto(envelope.body());
  const std::string aad = env::BodyAad(e.version, e.message_id);
  OpenedContent out;
  if (e.version == env::EnvelopeVersion::kV1) {
    // A stored v1 envelope: the body is the bare text, everything else is in clear.
    CONCORD_ASSIGN_OR_RETURN(out.body, crypto::Open(box, AgencyKey(me), sealing_key, aad));
    out.handling_text = e.handling_text;
    for (const env::Attachment& a : e.attachments) {
      out.attachments.push_back({a.attachment_id, a.name, a.media_type, a.size, a.sha256});
    }
    return out;
  }
  CONCORD_ASSIGN_OR_RETURN(
      std::string plaintext,
      crypto::OpenCommitted(box, AgencyKey(me), sealing_key, aad, e.body_key_commitment));
  CONCORD_ASSIGN_OR_RETURN(env::SealedContent content, env::DecodeSealedContent(plaintext));
  FieldErrors errors;
  env::ValidateSealedContent(content, e.handling_code, e.attachments, "content", errors);
  if (!errors.empty()) return SealedContentInvalid(errors.ToStatus("invalid"));
  out.body = std::move(content.text);
  out.handling_text = std::move(content.handling_text);
  for (size_t i = 0; i < content.attachments.size(); ++i) {
    env::AttachmentMeta& m = content.attachments[i];
    out.attachments.push_back({std::move(m.attachment_id), std::move(m.name),
                               std::move(m.media_type), e.attachments[i].size,
                               std::move(m.sha256)});
  }
  return out;
}

StatusOr<OpenedContent> VerifyAndOpenContent(const v1::Envelope& envelope,
                                             const crypto::Ed25519PublicKey& sender_key,
                                             const AgencyProto& me,
                                             const crypto::X25519PrivateKey& sealing_key) {
  CONCORD_RETURN_IF_ERROR(VerifyEnvelope(envelope, sender_key));
  return OpenContent(envelope, me, sealing_key);
}

StatusOr<std::string> OpenBody(const v1::Envelope& envelope, const AgencyProto& me,
                               const crypto::X25519PrivateKey& sealing_key) {
  CONCORD_ASSIGN_OR_RETURN(OpenedContent content, OpenContent(envelope, me, sealing_key));
  return std::move(content.body);
}

StatusOr<std::string> VerifyAndOpen(const v1::Envelope& envelope,
                                    const crypto::Ed25519PublicKey& sender_key,
                                    const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key) {
  CONCORD_ASSIGN_OR_RETURN(OpenedContent content,
                           VerifyAndOpenContent(envelope, sender_key, me, sealing_key));
  return std::move(content.body);
}

StatusOr<SealedAttachment> SealAttachment(std::string attachment_id, std::string name,
                                          std::string media_type, std::string_view plaintext,
                                          const std::vector<Recipient>& recipients) {
  FieldErrors errors;
  if (!env::IsValidAttachmentName(name)) {
    errors.Add("name", "1..255 bytes of printable UTF-8 without '/' or '\\', not \".\" or \"..\"");
  }
  if (!env::IsValidMediaType(media_type)) {
    errors.Add("media_type", "must be a media type such as application/pdf");
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid attachment"));
  if (attachment_id.empty()) attachment_id = RandomId();
  CONCORD_ASSIGN_OR_RETURN(auto targets, SealTargets(recipients));
  SealedAttachment out;
  out.header.set_attachment_id(attachment_id);
  // The declared size fixes the chunking rule the service checks chunk by chunk (docs/crypto.md
  // section 7): 1 MiB per chunk, the last one the rest.
  out.header.set_size(plaintext.size());
  v1::Attachment& ref = out.reference;
  ref.set_attachment_id(attachment_id);
  ref.set_name(std::move(name));
  ref.set_media_type(std::move(media_type));
  ref.set_size(plaintext.size());
  ref.set_sha256(Digest(plaintext));
  uint64_t total = 0;
  uint32_t index = 0;
  size_t offset = 0;
  do {
    const std::string_view part = plaintext.substr(offset, kChunkBytes);
    CONCORD_ASSIGN_OR_RETURN(
        crypto::CommittedBox sealed,
        crypto::SealCommitted(part, targets, env::ChunkAad(attachment_id, index)));
    v1::AttachmentChunk chunk;
    chunk.set_index(index);
    FromCrypto(sealed.box, *chunk.mutable_sealed());
    const std::string canonical =
        env::CanonicalChunk(attachment_id, index, ToEnvelopeBox(chunk.sealed()));
    v1::ChunkRef* cref = ref.add_chunks();
    cref->set_index(index);
    cref->set_size(canonical.size());
    cref->set_sha256(Digest(canonical));
    cref->set_key_commitment(sealed.key_commitment);
    total += canonical.size();
    out.chunks.push_back(std::move(chunk));
    offset += part.size();
    ++index;
  } while (offset < plaintext.size());
  out.header.set_total_size(total);
  return out;
}

StatusOr<std::string> OpenAttachment(const v1::Envelope& envelope, const OpenedContent& content,
                                     std::string_view attachment_id,
                                     const std::vector<v1::AttachmentChunk>& chunks,
                                     const AgencyProto& me,
                                     const crypto::X25519PrivateKey& sealing_key) {
  const v1::Attachment* reference = nullptr;
  for (const v1::Attachment& a : envelope.attachments()) {
    if (a.attachment_id() == attachment_id) reference = &a;
  }
  const OpenedAttachment* opened = nullptr;
  for (const OpenedAttachment& a : content.attachments) {
    if (a.attachment_id == attachment_id) opened = &a;
  }
  if (reference == nullptr || opened == nullptr) {
    return absl::NotFoundError("the message has no such attachment");
  }
  const bool v2 = envelope.version() == static_cast<uint32_t>(env::EnvelopeVersion::kV2);
  if (static_cast<int>(chunks.size()) != reference->chunks_size()) {
    return absl::DataLossError("attachment: chunk count differs from the signed reference");
  }
  std::string plaintext;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const v1::ChunkRef& cref = reference->chunks(static_cast<int>(i));
    if (chunks[i].index() != i || cref.index() != i) {
      return absl::DataLossError("attachment: chunks out of order");
    }
    const std::string canonical = env::CanonicalChunk(
        reference->attachment_id(), static_cast<uint32_t>(i), ToEnvelopeBox(chunks[i].sealed()));
    if (!crypto::ConstantTimeEquals(Digest(canonical), cref.sha256())) {
      return absl::DataLossError(absl::StrCat("attachment: chunk ", i, " was altered"));
    }
    const std::string aad = env::ChunkAad(reference->attachment_id(), static_cast<uint32_t>(i));
    const crypto::SealedBox box = ToCrypto(chunks[i].sealed());
    CONCORD_ASSIGN_OR_RETURN(
        std::string part,
        v2 ? crypto::OpenCommitted(box, AgencyKey(me), sealing_key, aad, cref.key_commitment())
           : crypto::Open(box, AgencyKey(me), sealing_key, aad));
    plaintext += part;
  }
  if (plaintext.size() != opened->size ||
      !crypto::ConstantTimeEquals(Digest(plaintext), opened->sha256)) {
    return absl::DataLossError("attachment: size or SHA-256 differs from the signed reference");
  }
  return plaintext;
}

StatusOr<v1::Receipt> MakeReceipt(const SenderIdentity& identity, const v1::Envelope& envelope,
                                  v1::ReceiptKind kind, absl::Time now) {
  v1::Receipt r;
  r.set_message_id(envelope.message_id());
  CONCORD_ASSIGN_OR_RETURN(std::string sha, EnvelopeSha256(envelope));
  r.set_envelope_sha256(std::move(sha));
  *r.mutable_recipient() = identity.agency;
  r.set_kind(kind);
  SetTime(now, *r.mutable_at());
  r.set_signature(std::string(64, '\0'));  // a placeholder so that the receipt converts
  CONCORD_ASSIGN_OR_RETURN(env::Receipt domain, env::ReceiptFromProto(r));
  CONCORD_ASSIGN_OR_RETURN(std::string sig,
                           identity.signing_key.Sign(env::CanonicalReceipt(domain)));
  r.set_signature(std::move(sig));
  return r;
}

Status VerifyReceipt(const v1::Receipt& receipt, const crypto::Ed25519PublicKey& recipient_key) {
  auto r = env::ReceiptFromProto(receipt);
  if (!r.ok() || !recipient_key.Verify(env::CanonicalReceipt(*r), receipt.signature())) {
    return BadSignature("receipt");
  }
  return absl::OkStatus();
}

StatusOr<std::pair<std::string, AgencyProto>> ForwardRootOf(const v1::Envelope& original) {
  CONCORD_ASSIGN_OR_RETURN(env::Envelope e, ToDomain(original));
  const env::ForwardRoot root = env::RootOf(e);
  AgencyProto sender;
  env::AgencyToProto(root.sender, sender);
  return std::make_pair(root.message_id, sender);
}

StatusOr<v1::ForwardPermission> GrantForwardPermission(const SenderIdentity& provider,
                                                       const v1::Envelope& original,
                                                       const std::vector<AgencyProto>& grantees,
                                                       absl::Time now) {
  if (AgencyKey(original.sender()) != AgencyKey(provider.agency) ||
      original.sender().trust_domain() != provider.agency.trust_domain()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "only the provider of message ", original.message_id(), " (",
                          AgencyKey(original.sender()), ") can permit its dissemination")),
                      "H2_PERMISSION_NOT_FROM_PROVIDER");
  }
  if (original.has_forward()) {
    CONCORD_ASSIGN_OR_RETURN(auto root, ForwardRootOf(original));
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "message ", original.message_id(),
            " is a forward: permission to pass it on comes from the original provider ",
            AgencyKey(root.second), " for the root message ", root.first)),
        "H2_PERMISSION_NOT_FROM_PROVIDER");
  }
  v1::ForwardPermission p;
  p.set_original_message_id(original.message_id());
  *p.mutable_provider() = provider.agency;
  for (const AgencyProto& g : grantees) *p.add_grantees() = g;
  SetTime(now, *p.mutable_granted_at());
  CONCORD_ASSIGN_OR_RETURN(env::ForwardPermission domain, PermissionToDomain(p));
  CONCORD_ASSIGN_OR_RETURN(std::string sig,
                           provider.signing_key.Sign(env::CanonicalForwardPermission(domain)));
  p.set_signature(std::move(sig));
  return p;
}

Status VerifyForwardPermission(const v1::ForwardPermission& permission,
                               const crypto::Ed25519PublicKey& provider_key) {
  auto p = PermissionToDomain(permission);
  if (!p.ok() ||
      !provider_key.Verify(env::CanonicalForwardPermission(*p), permission.signature())) {
    return BadSignature("forward permission");
  }
  return absl::OkStatus();
}

StatusOr<MessageDraft> ForwardDraft(const v1::Envelope& original, const OpenedContent& content,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now) {
  CONCORD_ASSIGN_OR_RETURN(auto root, ForwardRootOf(original));
  MessageDraft draft;
  draft.recipients = recipients;
  draft.thread_id = original.thread_id();
  draft.case_reference = original.case_reference();
  draft.kind =
      original.kind() == v1::MESSAGE_KIND_RESPONSE ? v1::MESSAGE_KIND_INFORMATION : original.kind();
  draft.classification = original.classification();
  draft.handling_code = original.handling_code();
  draft.handling_text = content.handling_text;
  if (original.has_evaluation()) draft.evaluation = original.evaluation();
  // Never outlive the original's retention.
  const absl::Time original_expiry = env::TimeFromProto(original.expires_at());
  draft.time_to_live = std::max(original_expiry - now, absl::Seconds(1));
  draft.body = content.body;
  v1::ForwardLink link;
  link.set_original_message_id(original.message_id());
  *link.mutable_original_sender() = original.sender();
  link.set_root_message_id(root.first);
  *link.mutable_root_sender() = root.second;
  if (permission) *link.mutable_permission() = *std::move(permission);
  draft.forward = std::move(link);
  return draft;
}

StatusOr<v1::Envelope> BuildForward(const SenderIdentity& identity, const v1::Envelope& original,
                                    const OpenedContent& content,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now) {
  CONCORD_ASSIGN_OR_RETURN(MessageDraft draft,
                           ForwardDraft(original, content, recipients, std::move(permission), now));
  return BuildEnvelope(identity, draft, now);
}

}  // namespace concord::messaging::client
