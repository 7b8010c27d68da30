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

/// One upload in progress (UploadAttachment), as the handler drives it through BeginUpload,
/// PutChunk (once per chunk) and CompleteUpload, or AbortUpload when it fails.
struct Upload {
  AgencyId owner;
  std::string attachment_id;
  uint64_t size = 0;            // declared plaintext bytes
  uint64_t declared_total = 0;  // declared sum of the stored chunk sizes (0 = not checked)
  uint64_t chunk_count = 0;     // envelope::ChunkCount(size)
  uint32_t next = 0;            // index the next chunk must carry (= chunks stored)
  uint64_t total = 0;           // stored (canonical) bytes so far
};

/// The chunking rule for the next chunk of `upload` (common/envelope/chunk.h; docs/crypto.md
/// section 7): its index is upload.next, below chunk_count; its ciphertext is exactly its
/// plaintext share + 16 bytes; a 12-byte nonce and 1..max_recipients well-formed wrapped keys.
/// INVALID_ARGUMENT with field violations ("chunk.index", "chunk.sealed.ciphertext",
/// "chunk.sealed.keys[2].nonce", ...) and reason CHUNK_RULE when the index or length breaks the
/// rule. Pure.
Status CheckUploadChunk(const Upload& upload, uint32_t index, const SealedBox& sealed,
                        size_t max_recipients);

/// Communication policy on agency types (pure): who may send, who may receive. Platforms are
/// checked further by Mailbox (they may only answer requests addressed to them).
Status CheckSenderType(AgencyType sender);
Status CheckRecipientType(AgencyType recipient, size_t index);

/// What an accepted Send or Forward writes, decided by Mailbox::PrepareSend / PrepareForward
/// (every check above passed, the signature verified; nothing written yet) and carried out by
/// Mailbox::Commit (the store's one atomic, idempotent write). Callers may hold plans and commit
/// them later, e.g. several together.
struct SendPlan {
  AgencyId sender;    // the authenticated caller (envelope.sender is the same agency)
  Envelope envelope;  // with its sender filled in
  absl::Time accepted_at;
  // The call's audit record sealed as an intake entry, written by CommitAsync with the message
  // (MessageStore::SendAsync); empty: the caller appends the record itself. Set by the caller.
  std::string audit_entry;
};

/// What an Ack writes, decided by Mailbox::PrepareAck (the ids checked; nothing read or written
/// yet) and carried out by Mailbox::CommitAckAsync (the store's one ack script).
struct AckPlan {
  AgencyId recipient;                    // the authenticated caller: only its own inbox
  std::vector<std::string> message_ids;  // 1..500 well-formed ids, as requested
  absl::Time at;                         // the acknowledgement time recorded per message
  // The call's audit records sealed as intake entries, one per id, written by CommitAckAsync
  // with a successful Ack (MessageStore::AckAsync); empty: the caller appends them itself.
  std::vector<std::string> audit_entries;
};

class Mailbox {
 public:
  Mailbox(MessageStore& store, AgencyKeys& keys, const authz::RevocationView& revocations,
          const Clock& clock, MailboxOptions options);

  /// PrepareSend(caller, envelope) then Commit.
  StatusOr<SendResult> Send(const AgencyId& caller, Envelope envelope);
  /// PrepareForward(caller, envelope) then Commit.
  StatusOr<SendResult> Forward(const AgencyId& caller, Envelope envelope);

  /// Checks 1-5 of a Send (reads only: directory keys, revocations and, for a platform's answer,
  /// the original message); the write plan when all pass, the first failing check's status
  /// otherwise.
  StatusOr<SendPlan> PrepareSend(const AgencyId& caller, Envelope envelope);
  /// Checks 1-6 of a Forward (reads only), as PrepareSend.
  StatusOr<SendPlan> PrepareForward(const AgencyId& caller, Envelope envelope);
  /// Check 7 and the write: the store's Send of the plan (idempotent on message id).
  StatusOr<SendResult> Commit(const SendPlan& plan);
  /// Commit without holding the calling thread (MessageStore::SendAsync): `done` gets Commit's
  /// result, once, possibly on the store's I/O thread.
  void CommitAsync(const SendPlan& plan, MessageStore::SendCallback done);

  /// The message if the caller sent or received it; NOT_FOUND otherwise.
  StatusOr<StoredMessage> Get(const AgencyId& caller, const std::string& message_id);
  /// Get, plus whether the caller (as a recipient) acknowledged it (false for the sender).
  StatusOr<InboxItem> GetItem(const AgencyId& caller, const std::string& message_id);
  StatusOr<InboxPage> ListInbox(const AgencyId& caller, const InboxQuery& query);
  /// At most `max` deliveries and about `max_bytes` of envelopes (store's contract).
  StatusOr<std::vector<InboxDelivery>> Deliver(const AgencyId& caller, const std::string& terminal,
                                               size_t max, bool include_own_pending,
                                               size_t max_bytes);
  /// Deliver without holding the calling thread (MessageStore::DeliverAsync): `done` gets
  /// Deliver's result, once, possibly on the store's I/O thread. `audit_entry`: the batch's
  /// sealed audit record, stored with a non-empty batch when StoresAuditEntries().
  void DeliverAsync(const AgencyId& caller, const std::string& terminal, size_t max,
                    bool include_own_pending, size_t max_bytes, std::string audit_entry,
                    MessageStore::DeliverCallback done);
  bool StoresAuditEntries() const { return store_.StoresAuditEntries(); }
  /// PrepareAck then the store's Ack: how many were newly acknowledged.
  StatusOr<uint32_t> Ack(const AgencyId& caller, const std::vector<std::string>& message_ids);
  /// The checks of an Ack, without I/O: 1..500 ids, each a well-formed message id (INVALID_ARGUMENT
  /// with a field violation per bad field, "message_ids" or "message_ids[i]"). Whether the ids are
  /// in the caller's inbox is the store's check (NOT_FOUND). Pure.
  StatusOr<AckPlan> PrepareAck(const AgencyId& caller, std::vector<std::string> message_ids) const;
  /// The store's ack script for the plan without holding the calling thread
  /// (MessageStore::AckAsync): `done` gets what Ack would return, once, possibly on the store's
  /// I/O thread.
  void CommitAckAsync(const AckPlan& plan, MessageStore::AckCallback done);

  /// A receipt by the caller (a recipient), signed with its directory key, for the exact
  /// envelope (SHA-256) in its inbox.
  Status AddReceipt(const AgencyId& caller, const Receipt& receipt);
  /// Only the sender sees a message's receipts.
  StatusOr<std::vector<Receipt>> ListReceipts(const AgencyId& caller,
                                              const std::string& message_id);

  /// Attachment upload: Begin (the header: id and declared plaintext size, at most the
  /// attachment limit; the store counts it against the caller's pending uploads and upload
  /// quota), then each chunk as it arrives (CheckUploadChunk, then stored and charged to the
  /// upload bytes quota), then Complete (every chunk of the rule arrived; the declared total, if
  /// any, matches). A failed upload is aborted: nothing of it is kept.
  StatusOr<Upload> BeginUpload(const AgencyId& caller, const std::string& attachment_id,
                               uint64_t size, uint64_t declared_total);
  /// Returns the chunk reference (size and SHA-256 of the canonical sealed chunk).
  StatusOr<ChunkRef> PutChunk(Upload& upload, uint32_t index, const SealedBox& sealed);
  Status CompleteUpload(const Upload& upload);
  /// Deletes what an unfinished upload stored (best effort; the store's TTL is the backstop).
  void AbortUpload(const Upload& upload);

  /// The chunk references of an attachment of a message the caller sent or received, in order
  /// (NOT_FOUND otherwise); the handler then reads them one at a time with ReadChunk, so a
  /// download holds one chunk in memory, not the attachment.
  StatusOr<std::vector<ChunkRef>> DownloadPlan(const AgencyId& caller,
                                               const std::string& message_id,
                                               const std::string& attachment_id);
  StatusOr<SealedBox> ReadChunk(const std::string& attachment_id, uint32_t index);

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
