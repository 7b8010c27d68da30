#include "services/messaging/mailbox.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/hash.h"
#include "common/status/status_macros.h"

namespace concord::messaging {
namespace {

constexpr size_t kMaxAckIds = 500;
// Hops walked to find the root of a stored v1 forward chain.
constexpr int kMaxForwardChain = 16;
constexpr size_t kNonceBytes = 12;
constexpr size_t kEphemeralBytes = 32;
constexpr size_t kWrappedKeyBytes = 48;
constexpr size_t kMaxLabelBytes = 128;  // "<type>/<id>": at most 18 + 1 + 63

Status Denied(std::string_view message, std::string_view reason) {
  return WithReason(absl::PermissionDeniedError(std::string(message)), reason);
}

Status Precondition(std::string_view message, std::string_view reason) {
  return WithReason(absl::FailedPreconditionError(std::string(message)), reason);
}

}  // namespace

Status CheckSenderType(AgencyType sender) {
  switch (sender) {
    case AgencyType::kForeignPartner:
      return Denied("foreign partners exchange messages through liaison",
                    "SENDER_TYPE_NOT_ALLOWED");
    case AgencyType::kAdmin:
    case AgencyType::kCoordinationUnit:
      return Denied("this agency type has no access to message content", "SENDER_TYPE_NOT_ALLOWED");
    default:
      return absl::OkStatus();
  }
}

Status CheckRecipientType(AgencyType recipient, size_t index) {
  switch (recipient) {
    case AgencyType::kForeignPartner:
    case AgencyType::kAdmin:
    case AgencyType::kCoordinationUnit:
      return WithReason(
          absl::PermissionDeniedError(absl::StrCat(
              "recipients[", index, "]: agency type ", std::string(AgencyTypeName(recipient)),
              " does not receive messages (foreign partners: use liaison)")),
          "RECIPIENT_TYPE_NOT_ALLOWED");
    default:
      return absl::OkStatus();
  }
}

Status CheckSystemRecipient(std::string_view notifier_id, AgencyType recipient) {
  switch (recipient) {
    case AgencyType::kForeignPartner:
    case AgencyType::kAdmin:
    case AgencyType::kCoordinationUnit:
      return Denied("a Concord notifier notifies domestic operational agencies only",
                    "SENDER_TYPE_NOT_ALLOWED");
    case AgencyType::kPlatform:
      // The liaison desk tells a platform of the orders addressed to it (8-hour orders at once).
      if (notifier_id == kLiaisonNotifierId) return absl::OkStatus();
      return Denied(
          "a Concord notifier notifies domestic operational agencies only (platforms: "
          "admin/concord-liaison only)",
          "SENDER_TYPE_NOT_ALLOWED");
    default:
      return absl::OkStatus();
  }
}

Mailbox::Mailbox(MessageStore& store, AgencyKeys& keys, const authz::RevocationView& revocations,
                 const Clock& clock, MailboxOptions options)
    : store_(store),
      keys_(keys),
      revocations_(revocations),
      clock_(clock),
      options_(std::move(options)) {}

Status Mailbox::CheckSender(const AgencyId& caller, Envelope& envelope) {
  // Security: the sender is the peer certificate's agency, never a request field.
  if (envelope.sender.trust_domain.empty() && envelope.sender.id.empty()) {
    envelope.sender = caller;
  } else if (!(envelope.sender == caller)) {
    return Denied("envelope.sender is not the caller's agency", "SENDER_MISMATCH");
  }
  // Concord's own notifiers (admin/concord-*): what they may send is CheckSystemSend's rule.
  if (caller.type == AgencyType::kAdmin && caller.id.starts_with(kSystemSenderPrefix)) {
    return absl::OkStatus();
  }
  return CheckSenderType(caller.type);
}

Status Mailbox::VerifySignature(const Envelope& envelope) {
  auto record = keys_.Lookup(envelope.sender);
  if (!record.ok()) {
    if (record.status().code() == absl::StatusCode::kNotFound) {
      return Denied("the sender has no signing key in the directory", "BAD_SIGNATURE");
    }
    return record.status();
  }
  if (!record->signing_key.Verify(CanonicalEnvelope(envelope), envelope.signature)) {
    return Denied("signature does not verify against the sender's directory key", "BAD_SIGNATURE");
  }
  return absl::OkStatus();
}

Status Mailbox::CheckRecipients(const Envelope& envelope) {
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const AgencyId& r = envelope.recipients[i];
    CONCORD_RETURN_IF_ERROR(CheckRecipientType(r.type, i));
    if (r.trust_domain != options_.trust_domain) {
      return Precondition(absl::StrCat("recipients[", i, "] is not in this trust domain"),
                          "UNKNOWN_RECIPIENT");
    }
    auto record = keys_.Lookup(r);
    if (!record.ok()) {
      if (record.status().code() == absl::StatusCode::kNotFound) {
        return Precondition(absl::StrCat("recipients[", i, "] is not a registered agency"),
                            "UNKNOWN_RECIPIENT");
      }
      if (record.status().code() != absl::StatusCode::kFailedPrecondition) {
        return record.status();
      }
    }
    if ((record.ok() && !record->active) || revocations_.IsSuspended(r)) {
      return Precondition(absl::StrCat("recipients[", i, "] is suspended"), "RECIPIENT_SUSPENDED");
    }
  }
  return absl::OkStatus();
}

Status Mailbox::CheckSystemSend(const AgencyId& caller, const Envelope& envelope) {
  if (caller.type != AgencyType::kAdmin) return absl::OkStatus();
  // Concord's own notifiers (e.g. admin/concord-referrals: case transitions and deadline
  // reminders) send NOTIFICATIONs to domestic agencies; any other admin identity sends nothing.
  if (!caller.id.starts_with(kSystemSenderPrefix)) {
    return Denied("admin agencies send no messages (only Concord's own notifiers, admin/concord-*)",
                  "SENDER_TYPE_NOT_ALLOWED");
  }
  if (envelope.kind != MessageKind::kNotification) {
    return Denied("a Concord notifier sends notifications only", "SENDER_TYPE_NOT_ALLOWED");
  }
  for (const AgencyId& r : envelope.recipients) {
    CONCORD_RETURN_IF_ERROR(CheckSystemRecipient(caller.id, r.type));
  }
  return absl::OkStatus();
}

Status Mailbox::CheckPlatformSend(const AgencyId& caller, const Envelope& envelope) {
  if (caller.type != AgencyType::kPlatform) return absl::OkStatus();
  if (envelope.kind == MessageKind::kNotification) {
    // DSA art. 18: notification of offences threatening life or safety, to the police.
    for (const AgencyId& r : envelope.recipients) {
      if (r.type != AgencyType::kPolice) {
        return Denied("a platform notifies the police only", "PLATFORM_REPLY_ONLY");
      }
    }
    return absl::OkStatus();
  }
  if (envelope.kind != MessageKind::kResponse || envelope.in_reply_to.empty()) {
    return Denied("a platform may only answer requests addressed to it", "PLATFORM_REPLY_ONLY");
  }
  auto original = store_.Get(envelope.in_reply_to);
  if (!original.ok() && original.status().code() != absl::StatusCode::kNotFound) {
    return original.status();
  }
  CONCORD_ASSIGN_OR_RETURN(bool addressed, original.ok()
                                               ? store_.InInbox(caller, envelope.in_reply_to)
                                               : StatusOr<bool>(false));
  if (!addressed || original->envelope.kind != MessageKind::kRequest) {
    return Denied("a platform may only answer requests addressed to it", "PLATFORM_REPLY_ONLY");
  }
  for (const AgencyId& r : envelope.recipients) {
    if (!(r == original->envelope.sender)) {
      return Denied("a platform answers the requesting agency only", "PLATFORM_REPLY_ONLY");
    }
  }
  return absl::OkStatus();
}

StatusOr<SendResult> Mailbox::Send(const AgencyId& caller, Envelope envelope) {
  CONCORD_ASSIGN_OR_RETURN(SendPlan plan, PrepareSend(caller, std::move(envelope)));
  return Commit(plan);
}

StatusOr<SendResult> Mailbox::Forward(const AgencyId& caller, Envelope envelope) {
  CONCORD_ASSIGN_OR_RETURN(SendPlan plan, PrepareForward(caller, std::move(envelope)));
  return Commit(plan);
}

StatusOr<SendResult> Mailbox::Commit(const SendPlan& plan) {
  return store_.Send(plan.sender, plan.envelope, plan.accepted_at);
}

void Mailbox::CommitAsync(const SendPlan& plan, MessageStore::SendCallback done) {
  store_.SendAsync(plan.sender, plan.envelope, plan.accepted_at, plan.audit_entry, std::move(done));
}

StatusOr<SendPlan> Mailbox::PrepareSend(const AgencyId& caller, Envelope envelope) {
  CONCORD_RETURN_IF_ERROR(CheckSender(caller, envelope));
  if (envelope.forward) {
    return InvalidArgumentWithFields("use Forward", {{"envelope.forward", "set by Forward only"}});
  }
  CONCORD_RETURN_IF_ERROR(CheckEnvelopeVersion(envelope));
  CONCORD_RETURN_IF_ERROR(ValidateEnvelope(envelope, options_.limits));
  const absl::Time now = clock_.Now();
  CONCORD_RETURN_IF_ERROR(CheckEnvelopeTimes(envelope, options_.limits, now));
  CONCORD_RETURN_IF_ERROR(CheckPlatformSend(caller, envelope));
  CONCORD_RETURN_IF_ERROR(CheckSystemSend(caller, envelope));
  CONCORD_RETURN_IF_ERROR(VerifySignature(envelope));
  CONCORD_RETURN_IF_ERROR(CheckRecipients(envelope));
  return SendPlan{caller, std::move(envelope), now, {}};
}

StatusOr<SendPlan> Mailbox::PrepareForward(const AgencyId& caller, Envelope envelope) {
  CONCORD_RETURN_IF_ERROR(CheckSender(caller, envelope));
  if (caller.type == AgencyType::kPlatform) {
    return Denied("platforms do not forward messages", "SENDER_TYPE_NOT_ALLOWED");
  }
  if (caller.type == AgencyType::kAdmin) {
    return Denied("admin identities do not forward messages", "SENDER_TYPE_NOT_ALLOWED");
  }
  if (!envelope.forward) {
    return InvalidArgumentWithFields("not a forward", {{"envelope.forward", "required"}});
  }
  CONCORD_RETURN_IF_ERROR(CheckEnvelopeVersion(envelope));
  CONCORD_RETURN_IF_ERROR(ValidateEnvelope(envelope, options_.limits));
  const absl::Time now = clock_.Now();
  CONCORD_RETURN_IF_ERROR(CheckEnvelopeTimes(envelope, options_.limits, now));
  CONCORD_RETURN_IF_ERROR(VerifySignature(envelope));

  const ForwardLink& link = *envelope.forward;
  auto original = store_.Get(link.original_message_id);
  if (!original.ok() && original.status().code() != absl::StatusCode::kNotFound) {
    return original.status();
  }
  CONCORD_ASSIGN_OR_RETURN(bool received, original.ok()
                                              ? store_.InInbox(caller, link.original_message_id)
                                              : StatusOr<bool>(false));
  if (!received) return absl::NotFoundError("the original message is not in the caller's inbox");
  if (!(link.original_sender == original->envelope.sender)) {
    return InvalidArgumentWithFields(
        "invalid forward", {{"envelope.forward.original_sender", "not the original's sender"}});
  }
  CONCORD_ASSIGN_OR_RETURN(const ForwardRoot root, ResolveRoot(original->envelope));
  if (link.root_message_id != root.message_id || !(link.root_sender == root.sender)) {
    // The forwarder may learn the root: it is the provider it must ask for an H2 permission
    // (v2 links show it anyway; only deep stored v1 chains leave the library unable to tell).
    return WithReason(
        InvalidArgumentWithFields(
            absl::StrCat("invalid forward: the root of this forward chain is message ",
                         root.message_id, " by ", root.sender.Key()),
            {{"envelope.forward.root_message_id",
              "must name the root of the original's forward chain (the original itself when it "
              "is not a forward, otherwise the root its own link names) and its sender"}}),
        "FORWARD_ROOT_MISMATCH",
        {{"root_message_id", root.message_id}, {"root_sender", root.sender.ToSpiffe()}});
  }
  bool permission_verified = false;
  if (link.permission) {
    CONCORD_RETURN_IF_ERROR(CheckPermissionFromRoot(envelope, root));
    auto provider = keys_.Lookup(link.permission->provider);
    if (!provider.ok() && provider.status().code() != absl::StatusCode::kNotFound) {
      return provider.status();
    }
    permission_verified =
        provider.ok() &&
        provider->signing_key.Verify(CanonicalForwardPermission(*link.permission, envelope.version),
                                     link.permission->signature);
    if (!permission_verified) {
      return Denied("the forward permission's signature does not verify against the provider's key",
                    "BAD_PERMISSION_SIGNATURE");
    }
  }
  CONCORD_RETURN_IF_ERROR(
      CheckForwardAllowed(original->envelope, root, envelope, permission_verified));
  if (envelope.expires_at > original->envelope.expires_at) {
    return InvalidArgumentWithFields(
        "invalid forward", {{"envelope.expires_at", "may not outlive the original message"}});
  }
  CONCORD_RETURN_IF_ERROR(CheckRecipients(envelope));
  return SendPlan{caller, std::move(envelope), now, {}};
}

StatusOr<ForwardRoot> Mailbox::ResolveRoot(const Envelope& original) {
  // A v2 forward names its root (checked when it was accepted); a message that is no forward is
  // its own root. Only a stored v1 forward needs its chain walked: a v1 link names one hop.
  if (!original.forward || original.version != EnvelopeVersion::kV1) {
    return envelope::RootOf(original);
  }
  std::string next = original.forward->original_message_id;
  for (int hop = 0; hop < kMaxForwardChain; ++hop) {
    auto parent = store_.Get(next);
    if (!parent.ok()) {
      if (parent.status().code() != absl::StatusCode::kNotFound) return parent.status();
      return Precondition(
          "the root of this v1 forward chain is no longer stored; the provider cannot be named",
          "FORWARD_ROOT_UNAVAILABLE");
    }
    const Envelope& p = parent->envelope;
    if (!p.forward || p.version != EnvelopeVersion::kV1) return envelope::RootOf(p);
    next = p.forward->original_message_id;
  }
  return Precondition("the forward chain is longer than 16 messages", "FORWARD_ROOT_UNAVAILABLE");
}

StatusOr<bool> Mailbox::IsParty(const AgencyId& caller, const StoredMessage& message) {
  if (message.envelope.sender == caller) return true;
  return store_.InInbox(caller, message.envelope.message_id);
}

StatusOr<StoredMessage> Mailbox::Get(const AgencyId& caller, const std::string& message_id) {
  if (!IsValidClientId(message_id)) {
    return InvalidArgumentWithFields("invalid message id", {{"message_id", "malformed"}});
  }
  CONCORD_ASSIGN_OR_RETURN(StoredMessage m, store_.Get(message_id));
  CONCORD_ASSIGN_OR_RETURN(bool party, IsParty(caller, m));
  // Security: NOT_FOUND (not PERMISSION_DENIED) so that ids of others' messages leak nothing.
  if (!party) return absl::NotFoundError("no such message");
  return m;
}

StatusOr<InboxItem> Mailbox::GetItem(const AgencyId& caller, const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(StoredMessage m, Get(caller, message_id));
  bool acknowledged = false;
  if (!(m.envelope.sender == caller)) {
    CONCORD_ASSIGN_OR_RETURN(acknowledged, store_.IsAcknowledged(caller, message_id));
  }
  return InboxItem{std::move(m), acknowledged};
}

StatusOr<InboxPage> Mailbox::ListInbox(const AgencyId& caller, const InboxQuery& query) {
  return store_.ListInbox(caller, query);
}

StatusOr<std::vector<InboxDelivery>> Mailbox::Deliver(const AgencyId& caller,
                                                      const std::string& terminal, size_t max,
                                                      bool include_own_pending, size_t max_bytes) {
  return store_.Deliver(caller, terminal, max, options_.visibility_timeout, include_own_pending,
                        max_bytes);
}

void Mailbox::DeliverAsync(const AgencyId& caller, const std::string& terminal, size_t max,
                           bool include_own_pending, size_t max_bytes, std::string audit_entry,
                           MessageStore::DeliverCallback done) {
  store_.DeliverAsync(caller, terminal, max, options_.visibility_timeout, include_own_pending,
                      max_bytes, std::move(audit_entry), std::move(done));
}

StatusOr<uint32_t> Mailbox::Ack(const AgencyId& caller,
                                const std::vector<std::string>& message_ids) {
  CONCORD_ASSIGN_OR_RETURN(const AckPlan plan, PrepareAck(caller, message_ids));
  return store_.Ack(plan.recipient, plan.message_ids, plan.at);
}

StatusOr<AckPlan> Mailbox::PrepareAck(const AgencyId& caller,
                                      std::vector<std::string> message_ids) const {
  FieldErrors errors;
  if (message_ids.empty() || message_ids.size() > kMaxAckIds) {
    errors.Add("message_ids", "1..500 ids");
  }
  for (size_t i = 0; i < message_ids.size(); ++i) {
    if (!IsValidClientId(message_ids[i])) {
      errors.Add(absl::StrCat("message_ids[", i, "]"), "malformed");
    }
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid ack"));
  return AckPlan{caller, std::move(message_ids), clock_.Now(), {}};
}

void Mailbox::CommitAckAsync(const AckPlan& plan, MessageStore::AckCallback done) {
  store_.AckAsync(plan.recipient, plan.message_ids, plan.at, plan.audit_entries, std::move(done));
}

Status Mailbox::AddReceipt(const AgencyId& caller, const Receipt& receipt) {
  if (!(receipt.recipient == caller)) {
    return Denied("receipt.recipient is not the caller's agency", "SENDER_MISMATCH");
  }
  CONCORD_ASSIGN_OR_RETURN(StoredMessage m, Get(caller, receipt.message_id));
  if (m.envelope.sender == caller) return absl::NotFoundError("no such message in the inbox");
  if (m.envelope_sha256 != receipt.envelope_sha256) {
    return Precondition("receipt.envelope_sha256 does not match the stored envelope",
                        "ENVELOPE_MISMATCH");
  }
  CONCORD_ASSIGN_OR_RETURN(AgencyKeyRecord key, keys_.Lookup(caller));
  if (!key.signing_key.Verify(CanonicalReceipt(receipt), receipt.signature)) {
    return Denied("receipt signature does not verify against the recipient's directory key",
                  "BAD_SIGNATURE");
  }
  return store_.AddReceipt(receipt);
}

StatusOr<std::vector<Receipt>> Mailbox::ListReceipts(const AgencyId& caller,
                                                     const std::string& message_id) {
  if (!IsValidClientId(message_id)) {
    return InvalidArgumentWithFields("invalid message id", {{"message_id", "malformed"}});
  }
  CONCORD_ASSIGN_OR_RETURN(StoredMessage m, store_.Get(message_id));
  if (!(m.envelope.sender == caller)) return absl::NotFoundError("no such message");
  return store_.ListReceipts(message_id);
}

StatusOr<Upload> Mailbox::BeginUpload(const AgencyId& caller, const std::string& attachment_id,
                                      uint64_t size, uint64_t declared_total) {
  CONCORD_RETURN_IF_ERROR(CheckSenderType(caller.type));
  FieldErrors errors;
  if (!IsValidClientId(attachment_id)) {
    errors.Add("header.attachment_id", "must match [A-Za-z0-9_-]{16,64}");
  }
  if (size > options_.limits.max_attachment_bytes) {
    errors.Add("header.size", absl::StrCat("the file's plaintext bytes: at most ",
                                           options_.limits.max_attachment_bytes));
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid attachment"));
  CONCORD_RETURN_IF_ERROR(store_.BeginAttachment(attachment_id, caller, size));
  return Upload{.owner = caller,
                .attachment_id = attachment_id,
                .size = size,
                .declared_total = declared_total,
                .chunk_count = envelope::ChunkCount(size),
                .next = 0,
                .total = 0};
}

Status CheckUploadChunk(const Upload& upload, uint32_t index, const SealedBox& sealed,
                        size_t max_recipients) {
  // Security: the rule is checked chunk by chunk, so an upload of a million tiny chunks (a
  // million keys, each a Redis round trip) is refused at its first chunk, not at Send.
  FieldErrors rule;
  if (index != upload.next || index >= upload.chunk_count) {
    rule.Add("chunk.index",
             index >= upload.chunk_count && index == upload.next
                 ? absl::StrCat("the declared size of ", upload.size, " bytes makes ",
                                upload.chunk_count, " chunks: there is no chunk ", index)
                 : absl::StrCat("chunks come in order 0, 1, 2, ...: expected chunk ", upload.next));
  } else {
    const uint64_t plaintext = envelope::ChunkPlaintextBytes(upload.size, index);
    if (sealed.ciphertext.size() != plaintext + envelope::kChunkTagBytes) {
      rule.Add("chunk.sealed.ciphertext",
               absl::StrCat("chunk ", index, " of a file of ", upload.size, " bytes carries ",
                            plaintext, " bytes of plaintext: its ciphertext must be ",
                            plaintext + envelope::kChunkTagBytes, " bytes (plaintext + 16), got ",
                            sealed.ciphertext.size()));
    }
  }
  if (!rule.empty()) {
    return WithReason(
        rule.ToStatus("the chunk breaks the chunking rule (docs/crypto.md section 7): every "
                      "chunk but the last carries exactly 1 MiB of plaintext"),
        "CHUNK_RULE");
  }
  FieldErrors errors;
  if (sealed.nonce.size() != kNonceBytes) errors.Add("chunk.sealed.nonce", "must be 12 bytes");
  if (sealed.keys.empty() || sealed.keys.size() > max_recipients) {
    errors.Add("chunk.sealed.keys", absl::StrCat("1..", max_recipients, " wrapped keys"));
  }
  for (size_t i = 0; i < sealed.keys.size() && i < max_recipients; ++i) {
    const WrappedKey& k = sealed.keys[i];
    const std::string path = absl::StrCat("chunk.sealed.keys[", i, "]");
    if (k.recipient.empty() || k.recipient.size() > kMaxLabelBytes) {
      errors.Add(path + ".recipient", "the recipient's label \"<type>/<id>\"");
    }
    if (k.ephemeral_public.size() != kEphemeralBytes) {
      errors.Add(path + ".ephemeral_public", "must be 32 bytes");
    }
    if (k.nonce.size() != kNonceBytes) errors.Add(path + ".nonce", "must be 12 bytes");
    if (k.ciphertext.size() != kWrappedKeyBytes)
      errors.Add(path + ".ciphertext", "must be 48 bytes");
  }
  return errors.ToStatus("invalid chunk");
}

StatusOr<ChunkRef> Mailbox::PutChunk(Upload& upload, uint32_t index, const SealedBox& sealed) {
  CONCORD_RETURN_IF_ERROR(CheckUploadChunk(upload, index, sealed, options_.limits.max_recipients));
  const std::string canonical = CanonicalChunk(upload.attachment_id, index, sealed);
  CONCORD_RETURN_IF_ERROR(store_.PutChunk(upload.attachment_id, upload.owner, index, canonical));
  upload.total += canonical.size();
  ++upload.next;
  const auto digest = crypto::Sha256(canonical);
  // The key commitment is the sender's to add (the service cannot see the content key).
  return ChunkRef{index, canonical.size(),
                  std::string(reinterpret_cast<const char*>(digest.data()), digest.size()), ""};
}

Status Mailbox::CompleteUpload(const Upload& upload) {
  if (upload.next != upload.chunk_count) {
    return WithReason(
        InvalidArgumentWithFields(
            "the upload ended early",
            {{"chunk", absl::StrCat("the declared size of ", upload.size, " bytes makes ",
                                    upload.chunk_count, " chunks; ", upload.next, " arrived")}}),
        "CHUNK_RULE");
  }
  if (upload.declared_total != 0 && upload.declared_total != upload.total) {
    return InvalidArgumentWithFields(
        "invalid attachment",
        {{"header.total_size", absl::StrCat("declared ", upload.declared_total,
                                            " bytes of stored chunks, uploaded ", upload.total)}});
  }
  return store_.CompleteAttachment(upload.attachment_id, upload.next);
}

void Mailbox::AbortUpload(const Upload& upload) {
  (void)store_.AbortAttachment(upload.attachment_id, upload.owner, upload.next);
}

StatusOr<std::vector<ChunkRef>> Mailbox::DownloadPlan(const AgencyId& caller,
                                                      const std::string& message_id,
                                                      const std::string& attachment_id) {
  CONCORD_ASSIGN_OR_RETURN(StoredMessage m, Get(caller, message_id));
  for (const Attachment& a : m.envelope.attachments) {
    if (a.attachment_id == attachment_id) return a.chunks;
  }
  return absl::NotFoundError("the message has no such attachment");
}

StatusOr<SealedBox> Mailbox::ReadChunk(const std::string& attachment_id, uint32_t index) {
  CONCORD_ASSIGN_OR_RETURN(std::string bytes, store_.GetChunk(attachment_id, index));
  return DecodeCanonicalChunk(bytes, attachment_id, index);
}

}  // namespace concord::messaging
