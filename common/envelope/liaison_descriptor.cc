// File: common/envelope/liaison_descriptor.cc
#include "common/envelope/liaison_descriptor.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"

namespace concord::envelope {
namespace {

constexpr std::string_view kRequestDomain = "concord.liaison.partner-request.v1";
constexpr std::string_view kActDomain = "concord.liaison.partner-act.v1";
constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
constexpr int kMaxOffenceYears = 99;
constexpr int kMaxExtensionDays = 30;

bool Alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsRequestId(std::string_view s) {
  return s.size() == 29 && s.substr(0, 3) == "lr-" &&
         std::all_of(s.begin() + 3, s.end(),
                     [](char c) { return kBase32.find(c) != std::string_view::npos; });
}
bool IsMessageId(std::string_view s) {
  return s.size() >= 16 && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return Alnum(c) || c == '_' || c == '-'; });
}
bool IsReference(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return Alnum(c) || c == '.' || c == '_' || c == '/' || c == '-';
  });
}
bool IsHexSha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}
std::string Spiffe(const ::concord::common::v1::AgencyId& proto) {
  auto a = AgencyFromProto(proto);
  return a.ok() ? a->ToSpiffe() : std::string();
}
void Agency(const ::concord::common::v1::AgencyId& proto, const std::string& path,
            FieldErrors& errors) {
  auto a = AgencyFromProto(proto);
  if (!a.ok()) errors.Add(path, "a valid agency id with its trust domain");
}
Status Mismatch(std::string what) {
  return WithReason(
      InvalidArgumentWithFields("the liaison descriptor does not match the item that carries it",
                                {{"liaison." + what, "differs from the item that carries it"}}),
      "DESCRIPTOR_MISMATCH");
}
std::string Bit(bool b) { return b ? "1" : "0"; }
// The fields separated by one 0x00 byte each (none after the last).
std::string Joined(std::initializer_list<std::string> fields) {
  std::string out;
  bool first = true;
  for (const std::string& f : fields) {
    if (!first) out.push_back('\0');
    out += f;
    first = false;
  }
  return out;
}

}  // namespace

std::string PartnerRequestSigningBytes(const lv1::PartnerRequestDescriptor& d) {
  return Joined({std::string(kRequestDomain), d.issuer_request_id(), Spiffe(d.issuer()),
                 Spiffe(d.executor()), absl::StrCat(static_cast<int>(d.type())),
                 absl::StrCat(static_cast<int>(d.urgency())), Bit(d.emergency()),
                 absl::StrCat(static_cast<int>(d.data_category())),
                 absl::StrCat(d.offence_max_years()), Bit(d.do_not_inform_user()),
                 d.order_message_id(), d.envelope_sha256(), d.case_reference()});
}

std::string PartnerActSigningBytes(const lv1::PartnerActDescriptor& d) {
  return Joined({std::string(kActDomain), d.issuer_request_id(), d.executor_request_id(),
                 Spiffe(d.actor()), absl::StrCat(static_cast<int>(d.move())),
                 absl::StrCat(d.executor_version()),
                 absl::StrCat(static_cast<int>(d.reason_code())), absl::StrCat(d.extension_days()),
                 d.carrier_message_id()});
}

std::string DescriptorSigningBytes(const lv1::SignedLiaisonDescriptor& d) {
  if (d.has_request()) return PartnerRequestSigningBytes(d.request());
  if (d.has_act()) return PartnerActSigningBytes(d.act());
  return {};
}

Status CheckDescriptorShape(const lv1::SignedLiaisonDescriptor& d, std::string_view field) {
  FieldErrors errors;
  const std::string f(field);
  if (d.has_request()) {
    const lv1::PartnerRequestDescriptor& r = d.request();
    const std::string p = f + ".request.";
    if (!IsRequestId(r.issuer_request_id())) {
      errors.Add(p + "issuer_request_id", "\"lr-\" + 26 base32 characters");
    }
    Agency(r.issuer(), p + "issuer", errors);
    Agency(r.executor(), p + "executor", errors);
    if (r.type() == lv1::REQUEST_TYPE_UNSPECIFIED || !lv1::RequestType_IsValid(r.type())) {
      errors.Add(p + "type", "required: a known request type");
    }
    if (!lv1::Urgency_IsValid(r.urgency())) errors.Add(p + "urgency", "unknown");
    if (!lv1::DataCategory_IsValid(r.data_category())) errors.Add(p + "data_category", "unknown");
    if (r.offence_max_years() < 0 || r.offence_max_years() > kMaxOffenceYears) {
      errors.Add(p + "offence_max_years", "0..99");
    }
    if (!IsMessageId(r.order_message_id())) {
      errors.Add(p + "order_message_id", "the REQUEST envelope's message id");
    }
    if (!IsHexSha256(r.envelope_sha256())) {
      errors.Add(p + "envelope_sha256", "64 lower-case hex digits");
    }
    if (!IsReference(r.case_reference())) {
      errors.Add(p + "case_reference", "required: [A-Za-z0-9._/-]{1,64}");
    }
  } else if (d.has_act()) {
    const lv1::PartnerActDescriptor& a = d.act();
    const std::string p = f + ".act.";
    if (!IsRequestId(a.issuer_request_id())) {
      errors.Add(p + "issuer_request_id", "\"lr-\" + 26 base32 characters");
    }
    if (!a.executor_request_id().empty() && !IsRequestId(a.executor_request_id())) {
      errors.Add(p + "executor_request_id", "empty or \"lr-\" + 26 base32 characters");
    }
    Agency(a.actor(), p + "actor", errors);
    if (a.move() == lv1::MOVE_UNSPECIFIED || !lv1::Move_IsValid(a.move())) {
      errors.Add(p + "move", "required: a known move");
    }
    if (a.executor_version() < 2) errors.Add(p + "executor_version", ">= 2");
    if (a.executor_request_id().empty() && a.move() != lv1::MOVE_WITHDRAW) {
      errors.Add(p + "executor_request_id", "required (only an issuer's WITHDRAW may omit it)");
    }
    if (!lv1::ReasonCode_IsValid(a.reason_code())) errors.Add(p + "reason_code", "unknown");
    if (a.extension_days() < 0 || a.extension_days() > kMaxExtensionDays) {
      errors.Add(p + "extension_days", "0..30");
    }
    if (!IsMessageId(a.carrier_message_id())) {
      errors.Add(p + "carrier_message_id", "the carrying envelope's message id");
    }
  } else {
    errors.Add(f, "a request or an act descriptor");
  }
  if (d.signature().size() != 64) errors.Add(f + ".signature", "64 bytes (Ed25519)");
  if (errors.empty()) return absl::OkStatus();
  return WithReason(errors.ToStatus("invalid liaison descriptor"), "DESCRIPTOR_INVALID");
}

StatusOr<AgencyId> DescriptorSigner(const lv1::SignedLiaisonDescriptor& d) {
  if (d.has_request()) return AgencyFromProto(d.request().issuer());
  if (d.has_act()) return AgencyFromProto(d.act().actor());
  return absl::InvalidArgumentError("no liaison descriptor");
}

Status CheckBoundToEnvelope(const lv1::SignedLiaisonDescriptor& d, const Envelope& envelope) {
  if (d.has_request()) {
    const lv1::PartnerRequestDescriptor& r = d.request();
    if (envelope.kind != MessageKind::kRequest) return Mismatch("request (a REQUEST envelope)");
    if (r.order_message_id() != envelope.message_id) return Mismatch("request.order_message_id");
    if (r.envelope_sha256() != absl::BytesToHexString(EnvelopeSha256(envelope))) {
      return Mismatch("request.envelope_sha256");
    }
    if (r.case_reference() != envelope.case_reference) return Mismatch("request.case_reference");
    auto issuer = AgencyFromProto(r.issuer());
    if (!issuer.ok() || *issuer != envelope.sender) return Mismatch("request.issuer");
    auto executor = AgencyFromProto(r.executor());
    if (!executor.ok() || std::find(envelope.recipients.begin(), envelope.recipients.end(),
                                    *executor) == envelope.recipients.end()) {
      return Mismatch("request.executor");
    }
    return absl::OkStatus();
  }
  if (d.has_act()) {
    const lv1::PartnerActDescriptor& a = d.act();
    if (envelope.kind != MessageKind::kResponse && envelope.kind != MessageKind::kInformation) {
      return Mismatch("act (a RESPONSE or INFORMATION envelope)");
    }
    if (a.carrier_message_id() != envelope.message_id) return Mismatch("act.carrier_message_id");
    auto actor = AgencyFromProto(a.actor());
    if (!actor.ok() || *actor != envelope.sender) return Mismatch("act.actor");
    return absl::OkStatus();
  }
  return Mismatch("descriptor");
}

Status CheckBoundToReceipt(const lv1::SignedLiaisonDescriptor& d, const Receipt& receipt) {
  if (!d.has_act()) return Mismatch("act (only an act descriptor rides a receipt)");
  const lv1::PartnerActDescriptor& a = d.act();
  if (a.carrier_message_id() != receipt.message_id) return Mismatch("act.carrier_message_id");
  auto actor = AgencyFromProto(a.actor());
  if (!actor.ok() || *actor != receipt.recipient) return Mismatch("act.actor");
  return absl::OkStatus();
}

Status SignDescriptor(lv1::SignedLiaisonDescriptor& d, const crypto::Ed25519PrivateKey& key) {
  auto sig = key.Sign(DescriptorSigningBytes(d));
  if (!sig.ok()) return sig.status();
  d.set_signature(*sig);
  return absl::OkStatus();
}

}  // namespace concord::envelope
