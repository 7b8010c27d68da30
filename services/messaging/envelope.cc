#include "services/messaging/envelope.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/envelope/case_reference.h"
#include "common/status/status_macros.h"

namespace concord::messaging {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kEphemeralBytes = 32;
constexpr size_t kWrappedKeyBytes = 48;
constexpr size_t kMaxThreadId = 64;
constexpr std::string_view kSealedInV2 =
    "travels in the sealed content in envelope v2: leave empty";

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void ValidateAgency(const AgencyId& a, const std::string& path, FieldErrors& errors) {
  if (!ValidateTrustDomain(a.trust_domain).ok()) {
    errors.Add(path + ".trust_domain", "required: a valid trust domain");
  }
  if (!ValidateAgencyLocalId(a.id).ok()) {
    errors.Add(path + ".id", "must match [a-z0-9][a-z0-9-]{0,62}");
  }
}

void ValidateCommitment(const std::string& commitment, const std::string& path,
                        FieldErrors& errors) {
  if (commitment.size() != envelope::kKeyCommitmentBytes) {
    errors.Add(path, "must be the 32-byte commitment to the content key");
  }
}

void ValidateBody(const Envelope& e, const EnvelopeLimits& limits, FieldErrors& errors) {
  const SealedBox& b = e.body;
  if (b.nonce.size() != kNonceBytes) errors.Add("envelope.body.nonce", "must be 12 bytes");
  if (b.ciphertext.size() < 16) {
    errors.Add("envelope.body.ciphertext", "must hold at least the 16-byte tag");
  } else if (b.ciphertext.size() > limits.max_body_bytes) {
    errors.Add("envelope.body.ciphertext",
               absl::StrCat("larger than the limit of ", limits.max_body_bytes, " bytes"));
  }
  std::set<std::string> expected;
  for (const AgencyId& r : e.recipients) expected.insert(r.Key());
  std::set<std::string> seen;
  for (size_t i = 0; i < b.keys.size(); ++i) {
    const WrappedKey& k = b.keys[i];
    const std::string path = absl::StrCat("envelope.body.keys[", i, "]");
    if (!expected.contains(k.recipient)) {
      errors.Add(path + ".recipient", "not the \"<type>/<id>\" label of a recipient");
    } else if (!seen.insert(k.recipient).second) {
      errors.Add(path + ".recipient", "duplicate wrapped key for this recipient");
    }
    if (k.ephemeral_public.size() != kEphemeralBytes) {
      errors.Add(path + ".ephemeral_public", "must be 32 bytes");
    }
    if (k.nonce.size() != kNonceBytes) errors.Add(path + ".nonce", "must be 12 bytes");
    if (k.ciphertext.size() != kWrappedKeyBytes) {
      errors.Add(path + ".ciphertext", "must be 48 bytes");
    }
  }
  if (seen.size() != expected.size()) {
    errors.Add("envelope.body.keys", "every recipient needs exactly one wrapped key");
  }
  ValidateCommitment(e.body_key_commitment, "envelope.body_key_commitment", errors);
}

void ValidateAttachments(const Envelope& e, const EnvelopeLimits& limits, FieldErrors& errors) {
  if (e.attachments.size() > limits.max_attachments) {
    errors.Add("envelope.attachments",
               absl::StrCat("at most ", limits.max_attachments, " attachments"));
    return;
  }
  uint64_t total = 0;
  std::set<std::string> ids;
  for (size_t i = 0; i < e.attachments.size(); ++i) {
    const Attachment& a = e.attachments[i];
    const std::string path = absl::StrCat("envelope.attachments[", i, "]");
    if (!IsValidClientId(a.attachment_id)) {
      errors.Add(path + ".attachment_id", "must match [A-Za-z0-9_-]{16,64}");
    } else if (!ids.insert(a.attachment_id).second) {
      errors.Add(path + ".attachment_id", "duplicate attachment");
    }
    // Security: a file name ("passport-<name>.pdf") or type would sit in Redis in clear.
    if (!a.name.empty()) errors.Add(path + ".name", std::string(kSealedInV2));
    if (!a.media_type.empty()) errors.Add(path + ".media_type", std::string(kSealedInV2));
    if (!a.sha256.empty()) errors.Add(path + ".sha256", std::string(kSealedInV2));
    total += a.size;
    if (a.size > limits.max_attachment_bytes || total > limits.max_attachment_bytes) {
      errors.Add(path + ".size", absl::StrCat("attachments exceed the limit of ",
                                              limits.max_attachment_bytes, " bytes"));
    }
    const uint64_t needed = (a.size + kAttachmentChunkBytes - 1) / kAttachmentChunkBytes;
    if (a.chunks.empty() || a.chunks.size() < needed ||
        a.chunks.size() > std::max<uint64_t>(needed, 1)) {
      errors.Add(path + ".chunks", "one chunk per started MiB of plaintext (at least one)");
      continue;
    }
    for (size_t c = 0; c < a.chunks.size(); ++c) {
      const ChunkRef& ref = a.chunks[c];
      const std::string cpath = absl::StrCat(path, ".chunks[", c, "]");
      if (ref.index != c) errors.Add(cpath + ".index", "chunks must be numbered 0, 1, 2, ...");
      if (ref.sha256.size() != envelope::kSha256Bytes) {
        errors.Add(cpath + ".sha256", "must be 32 bytes");
      }
      if (ref.size == 0) errors.Add(cpath + ".size", "must be positive");
      ValidateCommitment(ref.key_commitment, cpath + ".key_commitment", errors);
    }
  }
}

void ValidateForward(const Envelope& e, const EnvelopeLimits& limits, FieldErrors& errors) {
  if (!e.forward) return;
  const ForwardLink& link = *e.forward;
  if (!IsValidClientId(link.original_message_id)) {
    errors.Add("envelope.forward.original_message_id", "must match [A-Za-z0-9_-]{16,64}");
  }
  ValidateAgency(link.original_sender, "envelope.forward.original_sender", errors);
  if (!IsValidClientId(link.root_message_id)) {
    errors.Add("envelope.forward.root_message_id",
               "the root of the forward chain: must match [A-Za-z0-9_-]{16,64}");
  }
  ValidateAgency(link.root_sender, "envelope.forward.root_sender", errors);
  if (const auto& p = link.permission) {
    if (!IsValidClientId(p->original_message_id)) {
      errors.Add("envelope.forward.permission.original_message_id",
                 "must match [A-Za-z0-9_-]{16,64}");
    }
    ValidateAgency(p->provider, "envelope.forward.permission.provider", errors);
    if (p->grantees.empty() || p->grantees.size() > limits.max_recipients) {
      errors.Add("envelope.forward.permission.grantees", "1..64 agencies");
    }
    for (size_t i = 0; i < p->grantees.size(); ++i) {
      ValidateAgency(p->grantees[i], absl::StrCat("envelope.forward.permission.grantees[", i, "]"),
                     errors);
    }
    if (p->signature.size() != envelope::kSignatureBytes) {
      errors.Add("envelope.forward.permission.signature", "must be 64 bytes");
    }
  }
}

Status Denied(std::string_view message, std::string_view reason) {
  return WithReason(absl::PermissionDeniedError(std::string(message)), reason);
}

}  // namespace

absl::Duration EnvelopeLimits::RetentionFor(Classification c) const {
  switch (c) {
    case Classification::kUnclassified:
      return retention_unclassified;
    case Classification::kRestricted:
      return retention_restricted;
    case Classification::kConfidential:
      return retention_confidential;
  }
  return retention_confidential;
}

Status CheckEnvelopeVersion(const Envelope& e) {
  if (e.version == envelope::kCurrentVersion) return absl::OkStatus();
  return WithReason(InvalidArgumentWithFields(
                        absl::StrCat("envelope version ", static_cast<int>(e.version),
                                     " is no longer accepted for new messages; send envelope v2"),
                        {{"envelope.version",
                          "must be 2 (docs/crypto.md \"Messaging envelope\"); v1 is read-only"}}),
                    "ENVELOPE_VERSION_UNSUPPORTED");
}

Status ValidateEnvelope(const Envelope& e, const EnvelopeLimits& limits) {
  FieldErrors errors;
  if (!IsValidClientId(e.message_id)) {
    errors.Add("envelope.message_id", "must match [A-Za-z0-9_-]{16,64}");
  }
  ValidateAgency(e.sender, "envelope.sender", errors);
  if (e.recipients.empty()) {
    errors.Add("envelope.recipients", "at least one recipient");
  } else if (e.recipients.size() > limits.max_recipients) {
    errors.Add("envelope.recipients", absl::StrCat("at most ", limits.max_recipients,
                                                   " recipients, got ", e.recipients.size()));
  }
  std::set<std::string> keys;
  for (size_t i = 0; i < e.recipients.size(); ++i) {
    const std::string path = absl::StrCat("envelope.recipients[", i, "]");
    ValidateAgency(e.recipients[i], path, errors);
    if (!keys.insert(e.recipients[i].ToSpiffe()).second) errors.Add(path, "duplicate recipient");
  }
  if (e.thread_id.size() > kMaxThreadId ||
      !std::all_of(e.thread_id.begin(), e.thread_id.end(), IsIdChar)) {
    errors.Add("envelope.thread_id", "must match [A-Za-z0-9_-]{0,64}");
  }
  // Security: the case reference is clear text in Redis; only an opaque file number passes.
  if (!envelope::IsOpaqueCaseReference(e.case_reference)) {
    errors.Add("envelope.case_reference", std::string(envelope::kCaseReferenceRule));
  }
  if (!e.handling_text.empty()) errors.Add("envelope.handling_text", std::string(kSealedInV2));
  ValidateBody(e, limits, errors);
  ValidateAttachments(e, limits, errors);
  if (e.kind == MessageKind::kResponse && e.in_reply_to.empty()) {
    errors.Add("envelope.in_reply_to", "a response names the message it answers");
  }
  if (!e.in_reply_to.empty() && !IsValidClientId(e.in_reply_to)) {
    errors.Add("envelope.in_reply_to", "must match [A-Za-z0-9_-]{16,64}");
  }
  ValidateForward(e, limits, errors);
  if (e.signature.size() != envelope::kSignatureBytes) {
    errors.Add("envelope.signature", "must be 64 bytes (Ed25519)");
  }
  return errors.ToStatus("invalid envelope");
}

Status CheckEnvelopeTimes(const Envelope& e, const EnvelopeLimits& limits, absl::Time now) {
  if (e.expires_at <= now) {
    return WithReason(
        InvalidArgumentWithFields("message expired", {{"envelope.expires_at", "in the past"}}),
        "MESSAGE_EXPIRED");
  }
  if (e.created_at < now - limits.replay_window || e.created_at > now + limits.max_clock_skew) {
    return WithReason(
        InvalidArgumentWithFields(
            "created_at outside the replay window",
            {{"envelope.created_at",
              absl::StrCat("must be within ", absl::FormatDuration(limits.replay_window),
                           " before and ", absl::FormatDuration(limits.max_clock_skew),
                           " after the server's clock")}}),
        "OUTSIDE_REPLAY_WINDOW");
  }
  if (e.expires_at <= e.created_at) {
    return InvalidArgumentWithFields("invalid expiry",
                                     {{"envelope.expires_at", "must be after created_at"}});
  }
  const absl::Duration retention = limits.RetentionFor(e.classification);
  if (e.expires_at - e.created_at > retention) {
    return InvalidArgumentWithFields(
        "invalid expiry",
        {{"envelope.expires_at",
          absl::StrCat("at most ", absl::FormatDuration(retention), " after created_at for ",
                       std::string(ClassificationName(e.classification)), " messages")}});
  }
  return absl::OkStatus();
}

Status CheckPermissionFromRoot(const Envelope& forward, const ForwardRoot& root) {
  if (!forward.forward || !forward.forward->permission) return absl::OkStatus();
  const ForwardPermission& p = *forward.forward->permission;
  // Security: only the original provider may let H2 information go further. A middle
  // forwarder's permission (it received the information, it did not provide it) never counts.
  if (!(p.provider == root.sender) || p.original_message_id != root.message_id) {
    return Denied(absl::StrCat("a forward permission must be signed by the original provider ",
                               root.sender.Key(), " and name the root message ", root.message_id,
                               " of the forward chain; this one is by ", p.provider.Key(),
                               " for message ", p.original_message_id),
                  "H2_PERMISSION_NOT_FROM_PROVIDER");
  }
  return absl::OkStatus();
}

Status CheckForwardAllowed(const Envelope& original, const ForwardRoot& root,
                           const Envelope& forward, bool permission_verified) {
  // Handling codes travel with the content: a forward may not relax them. (The H3 text is
  // sealed in v2: the forwarder's library copies it; the service cannot compare it.)
  if (forward.handling_code != original.handling_code) {
    return Denied("a forwarded message keeps the original's handling code",
                  "HANDLING_CODE_CHANGED");
  }
  if (original.handling_code != HandlingCode::kH2) return absl::OkStatus();
  std::set<std::string> allowed;
  for (const AgencyId& r : original.recipients) allowed.insert(r.ToSpiffe());
  allowed.insert(original.sender.ToSpiffe());
  allowed.insert(root.sender.ToSpiffe());
  if (forward.forward && forward.forward->permission && permission_verified) {
    for (const AgencyId& g : forward.forward->permission->grantees) allowed.insert(g.ToSpiffe());
  }
  for (const AgencyId& r : forward.recipients) {
    if (!allowed.contains(r.ToSpiffe())) {
      return Denied(absl::StrCat("H2: not to be disseminated without the provider's permission; ",
                                 "attach a permission signed by the original provider ",
                                 root.sender.Key(), " naming every new recipient"),
                    "H2_FORWARD_WITHOUT_PERMISSION");
    }
  }
  return absl::OkStatus();
}

}  // namespace concord::messaging
