// File: services/messaging/mailbox.h
//
// The messaging domain service: every rule a message must pass before it is stored, and the
// ownership rules of reading, acknowledging, receipts, forwarding and attachments. Handlers
// (messaging_service.cc) only convert protos and call this; the store and the directory come in
// as interfaces, time as a Clock, so all of it runs in unit tests with fakes.
//
// Send/Forward checks, in order (nothing is stored unless all pass):
//   1. sender: empty = the caller; otherwise must be the caller        PERMISSION_DENIED
//   2. CheckEnvelopeVersion (v2 only) / ValidateEnvelope / times      INVALID_ARGUMENT
//   3. communication policy (sender and recipient types, platforms)   PERMISSION_DENIED
//   4. signature against the sender's directory signing key          PERMISSION_DENIED
//   5. every recipient registered, in this trust domain and active   FAILED_PRECONDITION
//   6. Forward: original in the caller's inbox, its root named, the    NOT_FOUND / INVALID_ARGUMENT
//      permission from the root provider, handling code rules         / PERMISSION_DENIED
//   7. store (idempotent on message id, for the same sender only)     ALREADY_EXISTS
//
// Thread safety: thread-safe (state lives in the store).
#pragma once

#include <string>
#include <vector>

#include "common/authz/policy.h"
#include "common/time/clock.h"
#include "services/messaging/agency_keys.h"
#include "services/messaging/envelope.h"
#include "services/messaging/message_store.h"

namespace concord::messaging {

/// Admin identities whose local id starts with this are Concord's own notifiers (e.g.
/// admin/concord-referrals): they may Send NOTIFICATION messages to domestic agencies, nothing
/// else.
inline constexpr std::string_view kSystemSenderPrefix = "concord-";

/// The liaison service's notifier (services/liaison/notifier.h): it also notifies platforms of the
/// orders addressed to them (the e-Evidence desk's round-the-clock contact).
inline constexpr std::string_view kLiaisonNotifierId = "concord-liaison";

/// May Concord's notifier `notifier_id` (admin/<notifier_id>) send a NOTIFICATION to an agency of
/// type `recipient`? Every notifier: domestic operational agencies (police, magistrates,
/// reception centres, immigration office, social inspection). admin/concord-liaison also:
/// platforms. Never: foreign partners (reached through their own deployment), admin identities,
/// coordination units. PERMISSION_DENIED SENDER_TYPE_NOT_ALLOWED otherwise. Pure.
Status CheckSystemRecipient(std::string_view notifier_id, AgencyType recipient);

struct MailboxOptions {
  std::string trust_domain;
  EnvelopeLimits limits;
  absl::Duration visibility_timeout = absl::Seconds(30);
};

/// Communication policy on agency types (pure): who may send, who may receive. Platforms are
/// checked further by Mailbox (they may only answer requests addressed to them).
Status CheckSenderType(AgencyType sender);
Status CheckRecipientType(AgencyType recipient, size_t index);

class Mailbox {
 public:
  Mailbox(MessageStore& store, AgencyKeys& keys, const authz::RevocationView& revocations,
          const Clock& clock, MailboxOptions options);

  StatusOr<SendResult> Send(const AgencyId& caller, Envelope envelope);
  StatusOr<SendResult> Forward(const AgencyId& caller, Envelope envelope);

  /// The message if the caller sent or received it; NOT_FOUND otherwise.
  StatusOr<StoredMessage> Get(const AgencyId& caller, const std::string& message_id);
  /// Get, plus whether the caller (as a recipient) acknowledged it (false for the sender).
  StatusOr<InboxItem> GetItem(const AgencyId& caller, const std::string& message_id);
  StatusOr<InboxPage> ListInbox(const AgencyId& caller, const InboxQuery& query);
  StatusOr<std::vector<InboxDelivery>> Deliver(const AgencyId& caller, const std::string& terminal,
                                               size_t max, bool include_own_pending);
  StatusOr<uint32_t> Ack(const AgencyId& caller, const std::vector<std::string>& message_ids);

  /// A receipt by the caller (a recipient), signed with its directory key, for the exact
  /// envelope (SHA-256) in its inbox.
  Status AddReceipt(const AgencyId& caller, const Receipt& receipt);
  /// Only the sender sees a message's receipts.
  StatusOr<std::vector<Receipt>> ListReceipts(const AgencyId& caller,
                                              const std::string& message_id);

  /// Attachment upload: Begin, then chunks 0, 1, ... in order, then Complete.
  Status BeginUpload(const AgencyId& caller, const std::string& attachment_id,
                     uint64_t declared_total);
  /// Returns the chunk reference (size and SHA-256 of the canonical sealed chunk).
  StatusOr<ChunkRef> PutChunk(const std::string& attachment_id, uint32_t expected_index,
                              uint32_t index, const SealedBox& sealed, uint64_t& total_so_far);
  Status CompleteUpload(const std::string& attachment_id, uint32_t chunk_count);
  /// The sealed chunks of an attachment of a message the caller sent or received.
  StatusOr<std::vector<SealedBox>> Download(const AgencyId& caller, const std::string& message_id,
                                            const std::string& attachment_id);

  const MailboxOptions& options() const { return options_; }

 private:
  Status CheckSender(const AgencyId& caller, Envelope& envelope);
  Status CheckPlatformSend(const AgencyId& caller, const Envelope& envelope);
  Status CheckSystemSend(const AgencyId& caller, const Envelope& envelope);
  Status VerifySignature(const Envelope& envelope);
  Status CheckRecipients(const Envelope& envelope);
  StatusOr<bool> IsParty(const AgencyId& caller, const StoredMessage& message);
  /// The root of the forward chain `original` belongs to (FAILED_PRECONDITION, reason
  /// FORWARD_ROOT_UNAVAILABLE, when a stored v1 chain cannot be followed to its start).
  StatusOr<ForwardRoot> ResolveRoot(const Envelope& original);

  MessageStore& store_;
  AgencyKeys& keys_;
  const authz::RevocationView& revocations_;
  const Clock& clock_;
  const MailboxOptions options_;
};

}  // namespace concord::messaging
