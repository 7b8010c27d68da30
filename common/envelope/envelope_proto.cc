#include "common/envelope/envelope_proto.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace concord::envelope {
namespace {

namespace cv1 = ::concord::common::v1;

// proto enum N (N >= 1) <-> domain enum N - 1; 0 (UNSPECIFIED) and unknown values are refused.
template <typename E>
bool FromNumber(int n, int max, E& out) {
  if (n < 1 || n > max) return false;
  out = static_cast<E>(n - 1);
  return true;
}
template <typename E>
int ToNumber(E e) {
  return static_cast<int>(e) + 1;
}

void AgencyInto(const cv1::AgencyId& proto, const std::string& path, AgencyId& out,
                FieldErrors& errors) {
  auto a = AgencyFromProto(proto);
  if (!a.ok()) {
    errors.Add(path, std::string(a.status().message()));
    return;
  }
  out = *std::move(a);
}

bool ValidTimestamp(const google::protobuf::Timestamp& ts) {
  // google.protobuf.Timestamp range: 0001-01-01 .. 9999-12-31; nanos in [0, 1e9). Concord also
  // needs the value to fit int64 nanoseconds (years 1678..2262) for the canonical encoding.
  return ts.nanos() >= 0 && ts.nanos() < 1'000'000'000 && ts.seconds() >= -9'223'372'035LL &&
         ts.seconds() <= 9'223'372'035LL;
}

void PermissionInto(const v1::ForwardPermission& p, const std::string& path, ForwardPermission& out,
                    FieldErrors& errors) {
  out.original_message_id = p.original_message_id();
  AgencyInto(p.provider(), path + ".provider", out.provider, errors);
  for (int i = 0; i < p.grantees_size(); ++i) {
    AgencyId a;
    AgencyInto(p.grantees(i), absl::StrCat(path, ".grantees[", i, "]"), a, errors);
    out.grantees.push_back(std::move(a));
  }
  if (!p.has_granted_at() || !ValidTimestamp(p.granted_at())) {
    errors.Add(path + ".granted_at", "required");
  } else {
    out.granted_at = TimeFromProto(p.granted_at());
  }
  out.signature = p.signature();
}

}  // namespace

void SealedFromProto(const v1::SealedBox& p, SealedBox& out) {
  out.nonce = p.nonce();
  out.ciphertext = p.ciphertext();
  out.keys.reserve(p.keys_size());
  for (const v1::WrappedKey& k : p.keys()) {
    out.keys.push_back({k.recipient(), k.ephemeral_public(), k.nonce(), k.ciphertext()});
  }
}

void SealedToProto(const SealedBox& b, v1::SealedBox& out) {
  out.set_nonce(b.nonce);
  out.set_ciphertext(b.ciphertext);
  for (const WrappedKey& k : b.keys) {
    v1::WrappedKey* pk = out.add_keys();
    pk->set_recipient(k.recipient);
    pk->set_ephemeral_public(k.ephemeral_public);
    pk->set_nonce(k.nonce);
    pk->set_ciphertext(k.ciphertext);
  }
}

StatusOr<AgencyId> AgencyFromProto(const cv1::AgencyId& proto) {
  auto type = AgencyTypeFromProto(proto.type());
  if (!type.ok()) return absl::InvalidArgumentError("unknown agency type");
  AgencyId a{proto.trust_domain(), *type, proto.id()};
  if (!ValidateTrustDomain(a.trust_domain).ok()) {
    return absl::InvalidArgumentError("invalid trust domain");
  }
  if (!ValidateAgencyLocalId(a.id).ok()) {
    return absl::InvalidArgumentError("agency id must match [a-z0-9][a-z0-9-]{0,62}");
  }
  return a;
}

void AgencyToProto(const AgencyId& agency, cv1::AgencyId& out) {
  out.set_trust_domain(agency.trust_domain);
  out.set_type(AgencyTypeToProto(agency.type));
  out.set_id(agency.id);
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

void TimeToProto(absl::Time t, google::protobuf::Timestamp& out) {
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

StatusOr<Envelope> EnvelopeFromProto(const v1::Envelope& p) {
  FieldErrors errors;
  Envelope e;
  if (p.version() == 0 || p.version() == 1) {
    e.version = EnvelopeVersion::kV1;
  } else if (p.version() == 2) {
    e.version = EnvelopeVersion::kV2;
  } else {
    errors.Add("envelope.version", absl::StrCat("unknown envelope version ", p.version(),
                                                " (this server reads 1 and 2, accepts 2)"));
  }
  e.message_id = p.message_id();
  if (p.has_sender()) AgencyInto(p.sender(), "envelope.sender", e.sender, errors);
  for (int i = 0; i < p.recipients_size(); ++i) {
    AgencyId a;
    AgencyInto(p.recipients(i), absl::StrCat("envelope.recipients[", i, "]"), a, errors);
    e.recipients.push_back(std::move(a));
  }
  e.thread_id = p.thread_id();
  e.case_reference = p.case_reference();
  if (!FromNumber(p.kind(), 4, e.kind)) errors.Add("envelope.kind", "required");
  if (!FromNumber(p.classification(), 3, e.classification)) {
    errors.Add("envelope.classification", "required");
  }
  if (!FromNumber(p.handling_code(), 4, e.handling_code)) {
    errors.Add("envelope.handling_code", "required (H0..H3)");
  }
  e.handling_text = p.handling_text();
  if (p.has_evaluation()) {
    const int s = p.evaluation().source();
    const int i = p.evaluation().information();
    if (s != 0 || i != 0) {
      EvaluationCodes codes;
      if (!FromNumber(s, 4, codes.source)) {
        errors.Add("envelope.evaluation.source", "A, B, C or X when information is given");
      }
      if (!FromNumber(i, 4, codes.information)) {
        errors.Add("envelope.evaluation.information", "1..4 when source is given");
      }
      e.evaluation = codes;
    }
  }
  if (!p.has_created_at() || !ValidTimestamp(p.created_at())) {
    errors.Add("envelope.created_at", "required");
  } else {
    e.created_at = TimeFromProto(p.created_at());
  }
  if (!p.has_expires_at() || !ValidTimestamp(p.expires_at())) {
    errors.Add("envelope.expires_at", "required");
  } else {
    e.expires_at = TimeFromProto(p.expires_at());
  }
  SealedFromProto(p.body(), e.body);
  e.body_key_commitment = p.body_key_commitment();
  for (int i = 0; i < p.attachments_size(); ++i) {
    const v1::Attachment& pa = p.attachments(i);
    Attachment a{pa.attachment_id(), pa.name(), pa.media_type(), pa.size(), pa.sha256(), {}};
    for (const v1::ChunkRef& c : pa.chunks()) {
      a.chunks.push_back({c.index(), c.size(), c.sha256(), c.key_commitment()});
    }
    e.attachments.push_back(std::move(a));
  }
  e.in_reply_to = p.in_reply_to();
  if (p.has_forward()) {
    ForwardLink link;
    link.original_message_id = p.forward().original_message_id();
    AgencyInto(p.forward().original_sender(), "envelope.forward.original_sender",
               link.original_sender, errors);
    if (e.version == EnvelopeVersion::kV2) {
      link.root_message_id = p.forward().root_message_id();
      AgencyInto(p.forward().root_sender(), "envelope.forward.root_sender", link.root_sender,
                 errors);
    }
    if (p.forward().has_permission()) {
      ForwardPermission perm;
      PermissionInto(p.forward().permission(), "envelope.forward.permission", perm, errors);
      link.permission = std::move(perm);
    }
    e.forward = std::move(link);
  }
  e.signature = p.signature();
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid envelope"));
  return e;
}

void EnvelopeToProto(const Envelope& e, v1::Envelope& out) {
  out.Clear();
  out.set_version(static_cast<uint32_t>(e.version));
  out.set_message_id(e.message_id);
  AgencyToProto(e.sender, *out.mutable_sender());
  for (const AgencyId& r : e.recipients) AgencyToProto(r, *out.add_recipients());
  out.set_thread_id(e.thread_id);
  out.set_case_reference(e.case_reference);
  out.set_kind(static_cast<v1::MessageKind>(ToNumber(e.kind)));
  out.set_classification(static_cast<v1::Classification>(ToNumber(e.classification)));
  out.set_handling_code(static_cast<v1::HandlingCode>(ToNumber(e.handling_code)));
  out.set_handling_text(e.handling_text);
  if (e.evaluation) {
    out.mutable_evaluation()->set_source(
        static_cast<v1::SourceReliability>(ToNumber(e.evaluation->source)));
    out.mutable_evaluation()->set_information(
        static_cast<v1::InformationAccuracy>(ToNumber(e.evaluation->information)));
  }
  TimeToProto(e.created_at, *out.mutable_created_at());
  TimeToProto(e.expires_at, *out.mutable_expires_at());
  SealedToProto(e.body, *out.mutable_body());
  out.set_body_key_commitment(e.body_key_commitment);
  for (const Attachment& a : e.attachments) {
    v1::Attachment* pa = out.add_attachments();
    pa->set_attachment_id(a.attachment_id);
    pa->set_name(a.name);
    pa->set_media_type(a.media_type);
    pa->set_size(a.size);
    pa->set_sha256(a.sha256);
    for (const ChunkRef& c : a.chunks) {
      v1::ChunkRef* pc = pa->add_chunks();
      pc->set_index(c.index);
      pc->set_size(c.size);
      pc->set_sha256(c.sha256);
      pc->set_key_commitment(c.key_commitment);
    }
  }
  out.set_in_reply_to(e.in_reply_to);
  if (e.forward) {
    v1::ForwardLink* link = out.mutable_forward();
    link->set_original_message_id(e.forward->original_message_id);
    AgencyToProto(e.forward->original_sender, *link->mutable_original_sender());
    if (e.version == EnvelopeVersion::kV2) {
      link->set_root_message_id(e.forward->root_message_id);
      AgencyToProto(e.forward->root_sender, *link->mutable_root_sender());
    }
    if (e.forward->permission)
      PermissionToProto(*e.forward->permission, *link->mutable_permission());
  }
  out.set_signature(e.signature);
}

StatusOr<ForwardPermission> PermissionFromProto(const v1::ForwardPermission& proto) {
  FieldErrors errors;
  ForwardPermission p;
  PermissionInto(proto, "permission", p, errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid permission"));
  return p;
}

void PermissionToProto(const ForwardPermission& p, v1::ForwardPermission& out) {
  out.set_original_message_id(p.original_message_id);
  AgencyToProto(p.provider, *out.mutable_provider());
  for (const AgencyId& g : p.grantees) AgencyToProto(g, *out.add_grantees());
  TimeToProto(p.granted_at, *out.mutable_granted_at());
  out.set_signature(p.signature);
}

StatusOr<Receipt> ReceiptFromProto(const v1::Receipt& p) {
  FieldErrors errors;
  Receipt r;
  r.message_id = p.message_id();
  if (!IsValidClientId(r.message_id)) {
    errors.Add("receipt.message_id", "must match [A-Za-z0-9_-]{16,64}");
  }
  r.envelope_sha256 = p.envelope_sha256();
  if (r.envelope_sha256.size() != 32) errors.Add("receipt.envelope_sha256", "must be 32 bytes");
  AgencyInto(p.recipient(), "receipt.recipient", r.recipient, errors);
  if (!FromNumber(p.kind(), 2, r.kind)) errors.Add("receipt.kind", "DELIVERED or READ");
  if (!p.has_at() || !ValidTimestamp(p.at())) {
    errors.Add("receipt.at", "required");
  } else {
    r.at = TimeFromProto(p.at());
  }
  r.signature = p.signature();
  if (r.signature.size() != 64) errors.Add("receipt.signature", "must be 64 bytes (Ed25519)");
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid receipt"));
  return r;
}

void ReceiptToProto(const Receipt& r, v1::Receipt& out) {
  out.set_message_id(r.message_id);
  out.set_envelope_sha256(r.envelope_sha256);
  AgencyToProto(r.recipient, *out.mutable_recipient());
  out.set_kind(static_cast<v1::ReceiptKind>(ToNumber(r.kind)));
  TimeToProto(r.at, *out.mutable_at());
  out.set_signature(r.signature);
}

}  // namespace concord::envelope
