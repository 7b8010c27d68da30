#include "common/envelope/envelope_encoding.h"

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/crypto/hash.h"
#include "common/envelope/canonical_reader.h"
#include "common/status/status_macros.h"

namespace concord::envelope {
namespace {

using internal::CanonicalReader;

// Tags of the envelope's canonical encoding (docs/crypto.md "Messaging envelope"). Never
// renumber: stored envelopes and signatures depend on them. v1 writes 0..37; v2 drops 9, 23,
// 24 and 26 (sealed in v2) and adds 38..41.
enum Tag : uint8_t {
  kTagDomain = 0,
  kTagMessageId = 1,
  kTagSender = 2,
  kTagRecipients = 3,
  kTagThreadId = 4,
  kTagCaseReference = 5,
  kTagKind = 6,
  kTagClassification = 7,
  kTagHandlingCode = 8,
  kTagHandlingText = 9,  // v1 only
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
  kTagAttachmentName = 23,       // v1 only
  kTagAttachmentMediaType = 24,  // v1 only
  kTagAttachmentSize = 25,
  kTagAttachmentSha256 = 26,  // v1 only
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
  kTagBodyKeyCommitment = 38,   // v2
  kTagChunkKeyCommitment = 39,  // v2
  kTagForwardRootId = 40,       // v2
  kTagForwardRootSender = 41,   // v2
  kTagSignature = 63,
};

// Limits of the decoder only (the service's own limits are far lower).
constexpr int64_t kMaxDecodedKeys = 4096;
constexpr int64_t kMaxDecodedAttachments = 4096;
constexpr int64_t kMaxDecodedChunks = 1 << 20;

// Enum numbers in the encoding equal the proto enum numbers (UNSPECIFIED = 0 is never written).
template <typename E>
int64_t Number(E e) {
  return static_cast<int64_t>(e) + 1;
}

template <typename E>
bool EnumFrom(int64_t n, int64_t max, E& out) {
  if (n < 1 || n > max) return false;
  out = static_cast<E>(n - 1);
  return true;
}

std::vector<std::string> SpiffeList(const std::vector<AgencyId>& agencies) {
  std::vector<std::string> out;
  out.reserve(agencies.size());
  for (const AgencyId& a : agencies) out.push_back(a.ToSpiffe());
  return out;
}

bool IsV2(const Envelope& e) { return e.version == EnvelopeVersion::kV2; }

void WriteCanonical(const Envelope& e, crypto::CanonicalWriter& w) {
  const bool v2 = IsV2(e);
  w.AddString(kTagDomain, v2 ? kEnvelopeDomainV2 : kEnvelopeDomainV1);
  w.AddString(kTagMessageId, e.message_id);
  w.AddString(kTagSender, e.sender.ToSpiffe());
  w.AddStrings(kTagRecipients, SpiffeList(e.recipients));
  w.AddString(kTagThreadId, e.thread_id);
  w.AddString(kTagCaseReference, e.case_reference);
  w.AddInt(kTagKind, Number(e.kind));
  w.AddInt(kTagClassification, Number(e.classification));
  w.AddInt(kTagHandlingCode, Number(e.handling_code));
  if (!v2) w.AddString(kTagHandlingText, e.handling_text);
  w.AddInt(kTagEvalSource, e.evaluation ? Number(e.evaluation->source) : 0);
  w.AddInt(kTagEvalInformation, e.evaluation ? Number(e.evaluation->information) : 0);
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
  if (v2) w.AddString(kTagBodyKeyCommitment, e.body_key_commitment);
  w.AddInt(kTagAttachmentCount, static_cast<int64_t>(e.attachments.size()));
  for (const Attachment& a : e.attachments) {
    w.AddString(kTagAttachmentId, a.attachment_id);
    if (!v2) {
      w.AddString(kTagAttachmentName, a.name);
      w.AddString(kTagAttachmentMediaType, a.media_type);
    }
    // Unsigned integers are written as the 8-byte int field (sizes stay far below 2^63).
    w.AddInt(kTagAttachmentSize, static_cast<int64_t>(a.size));
    if (!v2) w.AddString(kTagAttachmentSha256, a.sha256);
    w.AddInt(kTagChunkCount, static_cast<int64_t>(a.chunks.size()));
    for (const ChunkRef& c : a.chunks) {
      w.AddInt(kTagChunkIndex, c.index);
      w.AddInt(kTagChunkSize, static_cast<int64_t>(c.size));
      w.AddString(kTagChunkSha256, c.sha256);
      if (v2) w.AddString(kTagChunkKeyCommitment, c.key_commitment);
    }
  }
  w.AddString(kTagInReplyTo, e.in_reply_to);
  w.AddInt(kTagForwardPresent, e.forward ? 1 : 0);
  if (e.forward) {
    w.AddString(kTagForwardOriginalId, e.forward->original_message_id);
    w.AddString(kTagForwardOriginalSender, e.forward->original_sender.ToSpiffe());
    if (v2) {
      w.AddString(kTagForwardRootId, e.forward->root_message_id);
      w.AddString(kTagForwardRootSender, e.forward->root_sender.ToSpiffe());
    }
    w.AddInt(kTagPermissionPresent, e.forward->permission ? 1 : 0);
    if (e.forward->permission) {
      w.AddString(kTagPermission, CanonicalForwardPermission(*e.forward->permission, e.version));
      w.AddString(kTagPermissionSignature, e.forward->permission->signature);
    }
  }
}

Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("stored envelope is malformed: ", std::string(what)));
}

StatusOr<AgencyId> AgencyFromSpiffe(const std::string& s) {
  auto a = ParseSpiffeId(s);
  if (!a.ok()) return Corrupt("agency id");
  return *std::move(a);
}

StatusOr<ForwardPermission> DecodePermission(std::string_view bytes, EnvelopeVersion version) {
  CanonicalReader r(bytes);
  std::string domain, provider;
  std::vector<std::string> grantees;
  int64_t granted_at = 0;
  ForwardPermission p;
  const std::string_view expected =
      version == EnvelopeVersion::kV2 ? kPermissionDomainV2 : kPermissionDomainV1;
  if (!r.String(0, domain) || domain != expected || !r.String(1, p.original_message_id) ||
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

Status DecodeAttachments(CanonicalReader& r, bool v2, Envelope& e) {
  int64_t attachment_count = 0;
  if (!r.Int(kTagAttachmentCount, attachment_count) || attachment_count < 0 ||
      attachment_count > kMaxDecodedAttachments) {
    return Corrupt("attachments");
  }
  for (int64_t i = 0; i < attachment_count; ++i) {
    Attachment a;
    int64_t size = 0, chunk_count = 0;
    if (!r.String(kTagAttachmentId, a.attachment_id) ||
        (!v2 && (!r.String(kTagAttachmentName, a.name) ||
                 !r.String(kTagAttachmentMediaType, a.media_type))) ||
        !r.Int(kTagAttachmentSize, size) || (!v2 && !r.String(kTagAttachmentSha256, a.sha256)) ||
        !r.Int(kTagChunkCount, chunk_count) || size < 0 || chunk_count < 0 ||
        chunk_count > kMaxDecodedChunks) {
      return Corrupt("attachment");
    }
    a.size = static_cast<uint64_t>(size);
    for (int64_t c = 0; c < chunk_count; ++c) {
      ChunkRef ref;
      int64_t index = 0, csize = 0;
      if (!r.Int(kTagChunkIndex, index) || !r.Int(kTagChunkSize, csize) ||
          !r.String(kTagChunkSha256, ref.sha256) ||
          (v2 && !r.String(kTagChunkKeyCommitment, ref.key_commitment)) || index < 0 ||
          index > UINT32_MAX || csize < 0) {
        return Corrupt("chunk");
      }
      ref.index = static_cast<uint32_t>(index);
      ref.size = static_cast<uint64_t>(csize);
      a.chunks.push_back(std::move(ref));
    }
    e.attachments.push_back(std::move(a));
  }
  return absl::OkStatus();
}

Status DecodeForward(CanonicalReader& r, bool v2, Envelope& e) {
  int64_t forward_present = 0;
  if (!r.String(kTagInReplyTo, e.in_reply_to) || !r.Int(kTagForwardPresent, forward_present) ||
      forward_present < 0 || forward_present > 1) {
    return Corrupt("forward");
  }
  if (forward_present == 0) return absl::OkStatus();
  ForwardLink link;
  std::string original_sender, root_sender;
  int64_t permission_present = 0;
  if (!r.String(kTagForwardOriginalId, link.original_message_id) ||
      !r.String(kTagForwardOriginalSender, original_sender) ||
      (v2 && (!r.String(kTagForwardRootId, link.root_message_id) ||
              !r.String(kTagForwardRootSender, root_sender))) ||
      !r.Int(kTagPermissionPresent, permission_present) || permission_present < 0 ||
      permission_present > 1) {
    return Corrupt("forward link");
  }
  CONCORD_ASSIGN_OR_RETURN(link.original_sender, AgencyFromSpiffe(original_sender));
  if (v2) {
    CONCORD_ASSIGN_OR_RETURN(link.root_sender, AgencyFromSpiffe(root_sender));
  }
  if (permission_present == 1) {
    std::string permission, signature;
    if (!r.String(kTagPermission, permission) || !r.String(kTagPermissionSignature, signature)) {
      return Corrupt("forward permission");
    }
    CONCORD_ASSIGN_OR_RETURN(ForwardPermission p, DecodePermission(permission, e.version));
    p.signature = std::move(signature);
    link.permission = std::move(p);
  }
  e.forward = std::move(link);
  return absl::OkStatus();
}

}  // namespace

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
  if (!r.String(kTagDomain, domain)) return Corrupt("domain");
  if (domain == kEnvelopeDomainV1) {
    e.version = EnvelopeVersion::kV1;
  } else if (domain == kEnvelopeDomainV2) {
    e.version = EnvelopeVersion::kV2;
  } else {
    return Corrupt("unknown domain string");
  }
  const bool v2 = IsV2(e);
  std::vector<std::string> recipients;
  int64_t kind = 0, classification = 0, handling = 0, source = 0, information = 0;
  int64_t created = 0, expires = 0, key_count = 0;
  if (!r.String(kTagMessageId, e.message_id) || !r.String(kTagSender, sender) ||
      !r.Strings(kTagRecipients, recipients) || !r.String(kTagThreadId, e.thread_id) ||
      !r.String(kTagCaseReference, e.case_reference) || !r.Int(kTagKind, kind) ||
      !r.Int(kTagClassification, classification) || !r.Int(kTagHandlingCode, handling) ||
      (!v2 && !r.String(kTagHandlingText, e.handling_text)) || !r.Int(kTagEvalSource, source) ||
      !r.Int(kTagEvalInformation, information) || !r.Int(kTagCreatedAt, created) ||
      !r.Int(kTagExpiresAt, expires) || !r.String(kTagBodyNonce, e.body.nonce) ||
      !r.String(kTagBodyCiphertext, e.body.ciphertext) || !r.Int(kTagKeyCount, key_count) ||
      key_count < 0 || key_count > kMaxDecodedKeys) {
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
  if (v2 && !r.String(kTagBodyKeyCommitment, e.body_key_commitment)) {
    return Corrupt("body key commitment");
  }
  CONCORD_RETURN_IF_ERROR(DecodeAttachments(r, v2, e));
  CONCORD_RETURN_IF_ERROR(DecodeForward(r, v2, e));
  if (!r.String(kTagSignature, e.signature) || !r.Done()) return Corrupt("signature");
  return e;
}

std::string CanonicalForwardPermission(const ForwardPermission& p, EnvelopeVersion version) {
  crypto::CanonicalWriter w;
  w.AddString(0, version == EnvelopeVersion::kV2 ? kPermissionDomainV2 : kPermissionDomainV1);
  w.AddString(1, p.original_message_id);
  w.AddString(2, p.provider.ToSpiffe());
  w.AddStrings(3, SpiffeList(p.grantees));
  w.AddInt(4, absl::ToUnixNanos(p.granted_at));
  return w.Release();
}

}  // namespace concord::envelope
