// File: services/messaging/message_store.h
//
// Storage interface of the messaging service (STYLE G1): envelopes stored once, one inbox per
// recipient agency with at-least-once delivery to the agency's terminals, receipts, sealed
// attachment chunks, and expiry. RedisMessageStore (redis_message_store.h) implements it; tests may
// use it directly with a real redis-server.
//
// Terminal semantics: the terminals of one agency SHARE the work of its inbox (competing
// consumers): each delivery goes to one terminal, and a terminal that does not acknowledge within
// the visibility timeout loses it to another (README.md "Terminals").
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "services/messaging/envelope.h"

namespace concord::messaging {

/// The outcome of an accepted Send (the first one for idempotent resends).
struct SendResult {
  std::string message_id;
  std::string envelope_sha256;  // 32 bytes
  absl::Time accepted_at;
  bool duplicate = false;  // this call was a resend of an identical envelope
  // The call's audit entry (SendAsync's `audit_entry`) was stored with the message, in the same
  // atomic write: the caller must not append the record again.
  bool audited = false;
};

struct StoredMessage {
  Envelope envelope;
  std::string envelope_sha256;
  absl::Time accepted_at;
};

/// One delivery of a message to one terminal of a recipient agency.
struct InboxDelivery {
  StoredMessage message;
  uint32_t delivery_count = 1;
  // The inbox entry delivered ("<ms>-<seq>", the stream's id): every entry up to the largest id
  // of a batch has been taken by some terminal of the agency (a Subscribe stream skips the read
  // an announcement of such an entry would cost).
  std::string entry_id;
};

struct InboxQuery {
  std::string thread_id;            // empty: all
  std::optional<MessageKind> kind;  // nullopt: all
  bool unacknowledged_only = false;
  size_t page_size = 50;
  std::string page_token;  // from InboxPage::next_page_token
  // Byte budget of the page's stored envelopes: the page ends early (with a token) before an
  // entry that would exceed it, but holds at least one entry. 0 = no budget.
  size_t max_bytes = 0;
};

struct InboxItem {
  StoredMessage message;
  bool acknowledged = false;
};

struct InboxPage {
  std::vector<InboxItem> items;  // newest first
  std::string next_page_token;   // empty on the last page
};

/// A message removed by expiry, for the erasure audit record.
struct ExpiredMessage {
  std::string message_id;
  AgencyId sender;
  std::vector<AgencyId> recipients;
};

struct AttachmentInfo {
  std::string attachment_id;
  AgencyId owner;
  uint64_t size = 0;  // declared plaintext bytes (0 for uploads stored before the declaration)
  uint32_t chunk_count = 0;
  bool complete = false;
  std::string message_id;  // the message that references it, once sent
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  /// Stores `envelope` once and appends it to every recipient's inbox, atomically, before
  /// returning. `sender` is the authenticated caller (the mailbox has checked that
  /// envelope.sender is that agency). Idempotent on message id, for its sender only: the same
  /// sender with an identical envelope (same SHA-256) gets the first result with duplicate =
  /// true; anything else under a used id (another envelope, or the same bytes from another
  /// caller) is ALREADY_EXISTS (reason MESSAGE_ID_REUSED), so no caller is ever told that
  /// someone else's message is its own. Every attachment must be complete, owned by `sender`,
  /// of the declared size and not used by another message (FAILED_PRECONDITION, reason
  /// ATTACHMENT_UNAVAILABLE); a bound attachment no longer counts as a pending upload. With a
  /// quota table, a new message is charged to the sender's send and send_bytes buckets in the
  /// same script (RESOURCE_EXHAUSTED, common/quota/refusal.h, when short; nothing is stored).
  /// UNAVAILABLE if Redis is down.
  virtual StatusOr<SendResult> Send(const AgencyId& sender, const Envelope& envelope,
                                    absl::Time accepted_at) = 0;

  /// Send without holding the calling thread: `done` gets exactly what Send would return, once,
  /// possibly on another thread (an I/O thread that must not be blocked: `done` must not wait).
  /// `envelope` may be destroyed as soon as SendAsync returns. `audit_entry`, when not empty, is
  /// the call's audit record sealed as an intake entry (AuditSink::SealEntry): a store that can
  /// appends it to the audit log's slot intake in the same atomic write as a NEW message (not for
  /// a duplicate, nor when nothing is stored) and sets SendResult::audited. Default: Send on the
  /// calling thread, the entry ignored (stores without an asynchronous client, test fakes).
  using SendCallback = std::function<void(StatusOr<SendResult>)>;
  virtual void SendAsync(const AgencyId& sender, const Envelope& envelope, absl::Time accepted_at,
                         std::string /*audit_entry*/, SendCallback done) {
    done(Send(sender, envelope, accepted_at));
  }

  /// NOT_FOUND if unknown or expired.
  virtual StatusOr<StoredMessage> Get(const std::string& message_id) = 0;

  /// Deliveries for `terminal` of `recipient`'s inbox, at most `max` and, when `max_bytes` > 0,
  /// stored envelopes of at most `max_bytes` plus one envelope (the batch stops at the first
  /// envelope reaching the budget; entries not returned stay pending), in this order: the
  /// terminal's own unacknowledged deliveries (only when `include_own_pending`, i.e. on a new
  /// Subscribe), deliveries of any terminal left unacknowledged longer than `visibility_timeout`
  /// (redeliveries), then new messages. Never blocks. Messages acknowledged or expired meanwhile
  /// are skipped.
  virtual StatusOr<std::vector<InboxDelivery>> Deliver(const AgencyId& recipient,
                                                       const std::string& terminal, size_t max,
                                                       absl::Duration visibility_timeout,
                                                       bool include_own_pending,
                                                       size_t max_bytes) = 0;

  /// Deliver without holding the calling thread: `done` gets exactly what Deliver would return,
  /// once, possibly on another thread (an I/O thread that must not be blocked: `done` must not
  /// wait; it may call DeliverAsync again). Calls made one after the other are pipelined by the
  /// asynchronous client, so the reads of several streams woken together cost one round trip.
  /// `audit_entry`, when not empty, is the batch's audit record sealed as an intake entry
  /// (AuditSink::SealEntry): a store whose StoresAuditEntries() is true appends it to the
  /// audit log's slot intake, in the read's own script where it can, before `done` gets a
  /// non-empty batch (and not for an empty one); a failure to append fails the call, the entries
  /// read stay pending. Default: Deliver on the calling thread, the entry ignored (stores without
  /// an asynchronous client, test fakes).
  using DeliverCallback = std::function<void(StatusOr<std::vector<InboxDelivery>>)>;
  virtual void DeliverAsync(const AgencyId& recipient, const std::string& terminal, size_t max,
                            absl::Duration visibility_timeout, bool include_own_pending,
                            size_t max_bytes, std::string /*audit_entry*/, DeliverCallback done) {
    done(Deliver(recipient, terminal, max, visibility_timeout, include_own_pending, max_bytes));
  }
  /// Whether DeliverAsync stores its `audit_entry` with every non-empty batch and AckAsync its
  /// `audit_entries` with every successful Ack (the caller then appends no record of its own for
  /// them).
  virtual bool StoresAuditEntries() const { return false; }

  /// Acknowledges for `recipient` (idempotent). Returns how many were newly acknowledged;
  /// ids that are not in the recipient's inbox are NOT_FOUND (nothing is acknowledged then).
  /// With a quota table, the call is first charged to the recipient's msg_ack bucket, one token
  /// per id whatever the outcome, in the same script (RESOURCE_EXHAUSTED, common/quota/
  /// refusal.h, when short; nothing is acknowledged nor charged).
  virtual StatusOr<uint32_t> Ack(const AgencyId& recipient,
                                 const std::vector<std::string>& message_ids, absl::Time now) = 0;

  /// Ack without holding the calling thread: `done` gets exactly what Ack would return, once,
  /// possibly on another thread (an I/O thread that must not be blocked: `done` must not wait).
  /// `message_ids` may be destroyed as soon as AckAsync returns. `audit_entries`, when not empty,
  /// are the call's audit records sealed as intake entries (one per id): a store whose
  /// StoresAuditEntries() is true appends them to the audit log's slot intake in the ack's own
  /// write when the Ack succeeds, and not otherwise. Default: Ack on the calling thread, the
  /// entries ignored (stores without an asynchronous client, test fakes).
  using AckCallback = std::function<void(StatusOr<uint32_t>)>;
  virtual void AckAsync(const AgencyId& recipient, const std::vector<std::string>& message_ids,
                        absl::Time now, std::vector<std::string> /*audit_entries*/,
                        AckCallback done) {
    done(Ack(recipient, message_ids, now));
  }

  /// Newest first, filtered; INVALID_ARGUMENT for a malformed page token.
  virtual StatusOr<InboxPage> ListInbox(const AgencyId& recipient, const InboxQuery& query) = 0;

  /// True iff `recipient` acknowledged `message_id`.
  virtual StatusOr<bool> IsAcknowledged(const AgencyId& recipient,
                                        const std::string& message_id) = 0;

  /// True iff `message_id` is in `recipient`'s inbox.
  virtual StatusOr<bool> InInbox(const AgencyId& recipient, const std::string& message_id) = 0;

  /// Stores a verified receipt (one per recipient and kind; a second identical one is OK).
  virtual Status AddReceipt(const Receipt& receipt) = 0;
  virtual StatusOr<std::vector<Receipt>> ListReceipts(const std::string& message_id) = 0;

  /// Attachments: BeginAttachment registers the owner and the declared plaintext size
  /// (ALREADY_EXISTS if the id is taken by another owner or already complete; with a quota
  /// table, a new upload counts against the owner's pending uploads cap and upload bucket:
  /// RESOURCE_EXHAUSTED), PutChunk stores one canonical sealed chunk (charged to the owner's
  /// upload_bytes bucket), CompleteAttachment marks it complete with `chunk_count` chunks
  /// (FAILED_PRECONDITION if a chunk is missing), AbortAttachment deletes an incomplete upload of
  /// `owner` and its first `chunks_put` chunks and frees its pending slot (no-op otherwise).
  /// GetChunk: NOT_FOUND if absent.
  virtual Status BeginAttachment(const std::string& attachment_id, const AgencyId& owner,
                                 uint64_t size) = 0;
  virtual Status PutChunk(const std::string& attachment_id, const AgencyId& owner, uint32_t index,
                          const std::string& canonical_chunk) = 0;
  virtual Status CompleteAttachment(const std::string& attachment_id, uint32_t chunk_count) = 0;
  virtual Status AbortAttachment(const std::string& attachment_id, const AgencyId& owner,
                                 uint32_t chunks_put) = 0;
  virtual StatusOr<AttachmentInfo> GetAttachment(const std::string& attachment_id) = 0;
  virtual StatusOr<std::string> GetChunk(const std::string& attachment_id, uint32_t index) = 0;

  /// Removes up to `max` messages whose expires_at <= now (envelope, inbox entries, receipts,
  /// attachments) and returns them for the erasure audit.
  virtual StatusOr<std::vector<ExpiredMessage>> RemoveExpired(absl::Time now, size_t max) = 0;

  /// Deliveries not yet acknowledged, summed over every inbox (the concord_inbox_backlog gauge).
  virtual StatusOr<int64_t> Backlog() = 0;
};

}  // namespace concord::messaging
