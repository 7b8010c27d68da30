#include "client/messaging/message_crypto.h"

#include <openssl/rand.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/crypto/seal.h"
#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"

namespace concord::messaging::client {
namespace {

// Tags and domain strings: must stay byte-identical to services/messaging/envelope.cc (the
// README documents them; tests/client/messaging checks both implementations agree).
constexpr std::string_view kEnvelopeDomain = "concord.messaging.envelope.v1";
constexpr std::string_view kPermissionDomain = "concord.messaging.forward_permission.v1";
constexpr std::string_view kReceiptDomain = "concord.messaging.receipt.v1";
constexpr std::string_view kChunkDomain = "concord.messaging.chunk.v1";
constexpr uint8_t kTagSignature = 63;

std::string Spiffe(const AgencyProto& a) {
  auto type = AgencyTypeFromProto(a.type());
  AgencyId id{a.trust_domain(), type.ok() ? *type : AgencyType::kPolice, a.id()};
  if (!type.ok()) return "invalid:" + a.trust_domain() + "/" + a.id();
  return id.ToSpiffe();
}

std::vector<std::string> SpiffeList(const google::protobuf::RepeatedPtrField<AgencyProto>& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const AgencyProto& a : list) out.push_back(Spiffe(a));
  return out;
}

int64_t Nanos(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1'000'000'000 + ts.nanos();
}

void SetTime(absl::Time t, google::protobuf::Timestamp& out) {
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t s = ns / 1'000'000'000;
  int64_t n = ns % 1'000'000'000;
  if (n < 0) {
    n += 1'000'000'000;
    s -= 1;
  }
  out.set_seconds(s);
  out.set_nanos(static_cast<int32_t>(n));
}

std::string Digest(std::string_view bytes) {
  const auto d = crypto::Sha256(bytes);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

void WriteSealed(const v1::SealedBox& b, crypto::CanonicalWriter& w, uint8_t first_tag) {
  w.AddString(first_tag, b.nonce());
  w.AddString(first_tag + 1, b.ciphertext());
  w.AddInt(first_tag + 2, b.keys_size());
  for (const v1::WrappedKey& k : b.keys()) {
    w.AddString(first_tag + 3, k.recipient());
    w.AddString(first_tag + 4, k.ephemeral_public());
    w.AddString(first_tag + 5, k.nonce());
    w.AddString(first_tag + 6, k.ciphertext());
  }
}

void WriteEnvelope(const v1::Envelope& e, crypto::CanonicalWriter& w) {
  w.AddString(0, kEnvelopeDomain);
  w.AddString(1, e.message_id());
  w.AddString(2, Spiffe(e.sender()));
  w.AddStrings(3, SpiffeList(e.recipients()));
  w.AddString(4, e.thread_id());
  w.AddString(5, e.case_reference());
  w.AddInt(6, e.kind());
  w.AddInt(7, e.classification());
  w.AddInt(8, e.handling_code());
  w.AddString(9, e.handling_text());
  w.AddInt(10, e.has_evaluation() ? e.evaluation().source() : 0);
  w.AddInt(11, e.has_evaluation() ? e.evaluation().information() : 0);
  w.AddInt(12, Nanos(e.created_at()));
  w.AddInt(13, Nanos(e.expires_at()));
  WriteSealed(e.body(), w, 14);  // tags 14..20
  w.AddInt(21, e.attachments_size());
  for (const v1::Attachment& a : e.attachments()) {
    w.AddString(22, a.attachment_id());
    w.AddString(23, a.name());
    w.AddString(24, a.media_type());
    w.AddInt(25, static_cast<int64_t>(a.size()));
    w.AddString(26, a.sha256());
    w.AddInt(27, a.chunks_size());
    for (const v1::ChunkRef& c : a.chunks()) {
      w.AddInt(28, c.index());
      w.AddInt(29, static_cast<int64_t>(c.size()));
      w.AddString(30, c.sha256());
    }
  }
  w.AddString(31, e.in_reply_to());
  w.AddInt(32, e.has_forward() ? 1 : 0);
  if (e.has_forward()) {
    w.AddString(33, e.forward().original_message_id());
    w.AddString(34, Spiffe(e.forward().original_sender()));
    w.AddInt(35, e.forward().has_permission() ? 1 : 0);
    if (e.forward().has_permission()) {
      w.AddString(36, CanonicalForwardPermission(e.forward().permission()));
      w.AddString(37, e.forward().permission().signature());
    }
  }
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

std::string CanonicalEnvelope(const v1::Envelope& envelope) {
  crypto::CanonicalWriter w;
  WriteEnvelope(envelope, w);
  return w.Release();
}

std::string EnvelopeSha256(const v1::Envelope& envelope) {
  crypto::CanonicalWriter w;
  WriteEnvelope(envelope, w);
  w.AddString(kTagSignature, envelope.signature());
  return Digest(w.bytes());
}

std::string CanonicalForwardPermission(const v1::ForwardPermission& p) {
  crypto::CanonicalWriter w;
  w.AddString(0, kPermissionDomain);
  w.AddString(1, p.original_message_id());
  w.AddString(2, Spiffe(p.provider()));
  w.AddStrings(3, SpiffeList(p.grantees()));
  w.AddInt(4, Nanos(p.granted_at()));
  return w.Release();
}

std::string CanonicalReceipt(const v1::Receipt& r) {
  crypto::CanonicalWriter w;
  w.AddString(0, kReceiptDomain);
  w.AddString(1, r.message_id());
  w.AddString(2, r.envelope_sha256());
  w.AddString(3, Spiffe(r.recipient()));
  w.AddInt(4, r.kind());
  w.AddInt(5, Nanos(r.at()));
  return w.Release();
}

std::string CanonicalChunk(std::string_view attachment_id, const v1::AttachmentChunk& chunk) {
  crypto::CanonicalWriter w;
  w.AddString(0, kChunkDomain);
  w.AddString(1, attachment_id);
  w.AddInt(2, chunk.index());
  WriteSealed(chunk.sealed(), w, 3);  // tags 3..9
  return w.Release();
}

std::string BodyAad(std::string_view message_id) {
  return absl::StrCat("concord.messaging.body.v1|", std::string(message_id));
}

std::string ChunkAad(std::string_view attachment_id, uint32_t index) {
  return absl::StrCat("concord.messaging.chunk.v1|", std::string(attachment_id), "|", index);
}

StatusOr<v1::Envelope> BuildEnvelope(const SenderIdentity& identity, const MessageDraft& draft,
                                     absl::Time now) {
  v1::Envelope e;
  e.set_message_id(draft.message_id.empty() ? RandomId() : draft.message_id);
  *e.mutable_sender() = identity.agency;
  for (const Recipient& r : draft.recipients) *e.add_recipients() = r.agency;
  e.set_thread_id(draft.thread_id);
  e.set_case_reference(draft.case_reference);
  e.set_kind(draft.kind);
  e.set_classification(draft.classification);
  e.set_handling_code(draft.handling_code);
  e.set_handling_text(draft.handling_text);
  if (draft.evaluation) *e.mutable_evaluation() = *draft.evaluation;
  SetTime(now, *e.mutable_created_at());
  SetTime(now + draft.time_to_live, *e.mutable_expires_at());
  CONCORD_ASSIGN_OR_RETURN(auto targets, SealTargets(draft.recipients));
  CONCORD_ASSIGN_OR_RETURN(crypto::SealedBox box,
                           crypto::Seal(draft.body, targets, BodyAad(e.message_id())));
  FromCrypto(box, *e.mutable_body());
  for (const v1::Attachment& a : draft.attachments) *e.add_attachments() = a;
  e.set_in_reply_to(draft.in_reply_to);
  if (draft.forward) *e.mutable_forward() = *draft.forward;
  CONCORD_RETURN_IF_ERROR(SignEnvelope(e, identity.signing_key));
  return e;
}

Status SignEnvelope(v1::Envelope& envelope, const crypto::Ed25519PrivateKey& key) {
  CONCORD_ASSIGN_OR_RETURN(std::string sig, key.Sign(CanonicalEnvelope(envelope)));
  envelope.set_signature(std::move(sig));
  return absl::OkStatus();
}

Status VerifyEnvelope(const v1::Envelope& envelope, const crypto::Ed25519PublicKey& sender_key) {
  if (!sender_key.Verify(CanonicalEnvelope(envelope), envelope.signature())) {
    return BadSignature("envelope");
  }
  return absl::OkStatus();
}

StatusOr<std::string> OpenBody(const v1::Envelope& envelope, const AgencyProto& me,
                               const crypto::X25519PrivateKey& sealing_key) {
  return crypto::Open(ToCrypto(envelope.body()), AgencyKey(me), sealing_key,
                      BodyAad(envelope.message_id()));
}

StatusOr<std::string> VerifyAndOpen(const v1::Envelope& envelope,
                                    const crypto::Ed25519PublicKey& sender_key,
                                    const AgencyProto& me,
                                    const crypto::X25519PrivateKey& sealing_key) {
  CONCORD_RETURN_IF_ERROR(VerifyEnvelope(envelope, sender_key));
  return OpenBody(envelope, me, sealing_key);
}

StatusOr<SealedAttachment> SealAttachment(std::string attachment_id, std::string name,
                                          std::string media_type, std::string_view plaintext,
                                          const std::vector<Recipient>& recipients) {
  if (attachment_id.empty()) attachment_id = RandomId();
  CONCORD_ASSIGN_OR_RETURN(auto targets, SealTargets(recipients));
  SealedAttachment out;
  out.header.set_attachment_id(attachment_id);
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
    CONCORD_ASSIGN_OR_RETURN(crypto::SealedBox box,
                             crypto::Seal(part, targets, ChunkAad(attachment_id, index)));
    v1::AttachmentChunk chunk;
    chunk.set_index(index);
    FromCrypto(box, *chunk.mutable_sealed());
    const std::string canonical = CanonicalChunk(attachment_id, chunk);
    v1::ChunkRef* cref = ref.add_chunks();
    cref->set_index(index);
    cref->set_size(canonical.size());
    cref->set_sha256(Digest(canonical));
    total += canonical.size();
    out.chunks.push_back(std::move(chunk));
    offset += part.size();
    ++index;
  } while (offset < plaintext.size());
  out.header.set_total_size(total);
  return out;
}

StatusOr<std::string> OpenAttachment(const v1::Attachment& reference,
                                     const std::vector<v1::AttachmentChunk>& chunks,
                                     const AgencyProto& me,
                                     const crypto::X25519PrivateKey& sealing_key) {
  if (static_cast<int>(chunks.size()) != reference.chunks_size()) {
    return absl::DataLossError("attachment: chunk count differs from the signed reference");
  }
  std::string plaintext;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const v1::ChunkRef& cref = reference.chunks(static_cast<int>(i));
    if (chunks[i].index() != i || cref.index() != i) {
      return absl::DataLossError("attachment: chunks out of order");
    }
    const std::string canonical = CanonicalChunk(reference.attachment_id(), chunks[i]);
    if (!crypto::ConstantTimeEquals(Digest(canonical), cref.sha256())) {
      return absl::DataLossError(absl::StrCat("attachment: chunk ", i, " was altered"));
    }
    CONCORD_ASSIGN_OR_RETURN(
        std::string part,
        crypto::Open(ToCrypto(chunks[i].sealed()), AgencyKey(me), sealing_key,
                     ChunkAad(reference.attachment_id(), static_cast<uint32_t>(i))));
    plaintext += part;
  }
  if (plaintext.size() != reference.size() ||
      !crypto::ConstantTimeEquals(Digest(plaintext), reference.sha256())) {
    return absl::DataLossError("attachment: size or SHA-256 differs from the signed reference");
  }
  return plaintext;
}

StatusOr<v1::Receipt> MakeReceipt(const SenderIdentity& identity, const v1::Envelope& envelope,
                                  v1::ReceiptKind kind, absl::Time now) {
  v1::Receipt r;
  r.set_message_id(envelope.message_id());
  r.set_envelope_sha256(EnvelopeSha256(envelope));
  *r.mutable_recipient() = identity.agency;
  r.set_kind(kind);
  SetTime(now, *r.mutable_at());
  CONCORD_ASSIGN_OR_RETURN(std::string sig, identity.signing_key.Sign(CanonicalReceipt(r)));
  r.set_signature(std::move(sig));
  return r;
}

Status VerifyReceipt(const v1::Receipt& receipt, const crypto::Ed25519PublicKey& recipient_key) {
  if (!recipient_key.Verify(CanonicalReceipt(receipt), receipt.signature())) {
    return BadSignature("receipt");
  }
  return absl::OkStatus();
}

StatusOr<v1::ForwardPermission> GrantForwardPermission(const SenderIdentity& provider,
                                                       const v1::Envelope& original,
                                                       const std::vector<AgencyProto>& grantees,
                                                       absl::Time now) {
  v1::ForwardPermission p;
  p.set_original_message_id(original.message_id());
  *p.mutable_provider() = provider.agency;
  for (const AgencyProto& g : grantees) *p.add_grantees() = g;
  SetTime(now, *p.mutable_granted_at());
  CONCORD_ASSIGN_OR_RETURN(std::string sig,
                           provider.signing_key.Sign(CanonicalForwardPermission(p)));
  p.set_signature(std::move(sig));
  return p;
}

Status VerifyForwardPermission(const v1::ForwardPermission& permission,
                               const crypto::Ed25519PublicKey& provider_key) {
  if (!provider_key.Verify(CanonicalForwardPermission(permission), permission.signature())) {
    return BadSignature("forward permission");
  }
  return absl::OkStatus();
}

StatusOr<v1::Envelope> BuildForward(const SenderIdentity& identity, const v1::Envelope& original,
                                    std::string_view plaintext,
                                    const std::vector<Recipient>& recipients,
                                    std::optional<v1::ForwardPermission> permission,
                                    absl::Time now) {
  MessageDraft draft;
  draft.recipients = recipients;
  draft.thread_id = original.thread_id();
  draft.case_reference = original.case_reference();
  draft.kind =
      original.kind() == v1::MESSAGE_KIND_RESPONSE ? v1::MESSAGE_KIND_INFORMATION : original.kind();
  draft.classification = original.classification();
  draft.handling_code = original.handling_code();
  draft.handling_text = original.handling_text();
  if (original.has_evaluation()) draft.evaluation = original.evaluation();
  // Never outlive the original's retention.
  const absl::Time original_expiry = absl::FromUnixSeconds(original.expires_at().seconds()) +
                                     absl::Nanoseconds(original.expires_at().nanos());
  draft.time_to_live = std::max(original_expiry - now, absl::Seconds(1));
  draft.body = std::string(plaintext);
  v1::ForwardLink link;
  link.set_original_message_id(original.message_id());
  *link.mutable_original_sender() = original.sender();
  if (permission) *link.mutable_permission() = *std::move(permission);
  draft.forward = std::move(link);
  return BuildEnvelope(identity, draft, now);
}

}  // namespace concord::messaging::client
