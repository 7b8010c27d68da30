// File: services/messaging/redis_message_store.h
//
// MessageStore on Redis Streams. Every key carries the one hash tag {msg}, so the whole messaging
// keyspace lives in one Cluster slot and Send is a single atomic Lua script (de-duplication,
// envelope, every recipient inbox, expiry index, delivery notification). README.md "Redis layout"
// explains the choice and the scaling path.
//
//   concord:{msg}:m:<message_id>        HASH  env (stored canonical encoding, v1 or v2),
//                                             sha (hex), snd (<rkey> of the sender), acc / exp
//                                             (unix ms), e:<rkey> (inbox entry id per
//                                             recipient), a:<rkey> (ack time, unix ms: written
//                                             by the previous release only, still read)
//   concord:{msg}:gone:<message_id>     STRING "<sha hex>|<acc ms>|<sender rkey>", TTL:
//                                             tombstone after expiry so that the sender's replay
//                                             inside the window is still a duplicate
//   concord:{msg}:inbox:<rkey>          STREAM entries {m: id, t: thread, k: kind}; consumer
//                                             group "terminals" (one per agency inbox)
//   concord:{msg}:acked:<rkey>          ZSET  the inbox's acknowledged entry ids scored by their
//                                             message's expiry (unix ms); one ZADD per Ack call,
//                                             trimmed a day after expiry by each Ack
//   concord:{msg}:inboxes               SET   every <rkey> that has an inbox (backlog gauge)
//   concord:{msg}:expiry                ZSET  message id scored by expires_at (unix ms)
//   concord:{msg}:rcpt:<message_id>     HASH  "<rkey>|<kind>" -> "<at ns>|<sig hex>"
//   concord:{msg}:att:<attachment_id>   HASH  owner, size (declared plaintext bytes), chunks,
//                                             done, msg, h:<i> (chunk sha hex)
//   concord:{msg}:att:<id>:c:<index>    STRING canonical sealed chunk
//   concord:{msg}:uploads:<rkey>        ZSET  the agency's pending uploads (attachment ids not yet
//                                             bound to a message) scored by expiry (unix ms):
//                                             the pending_uploads cap
//   concord:{msg}:quota:<quota>:<rkey>  HASH  token bucket {t, ts, x} (common/quota/token_bucket.h)
//                                             of send (with send_bytes: t2, ts2), upload,
//                                             upload_bytes, msg_ack (Ack: one token per id)
//   concord:audit-intake:{msg}          LIST  NOT messaging's: the audit log's slot intake
//                                             (common/audit/audit_record.h); the send script
//                                             RPUSHes a new message's audit record, the only
//                                             command the messaging user may run on it
//   channel concord:{msg}:deliveries    PUBLISH "<rkey> <rkey> ..." after each Send
// <rkey> is AgencyId::Key() ("<type>/<id>"). Unsent attachments expire after 24 h; sent ones
// with their message.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"
#include "common/quota/quota_table.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "services/messaging/message_store.h"

namespace concord::messaging {

struct RedisMessageStoreOptions {
  std::string trust_domain;                          // of the recipients' agency keys
  absl::Duration tombstone_ttl = absl::Minutes(10);  // >= replay window + clock skew
  absl::Duration unsent_attachment_ttl = absl::Hours(24);
  // The per-agency buckets (send, send_bytes, upload, upload_bytes, msg_ack) and the pending
  // uploads cap, charged inside the scripts; null: no quotas. Must outlive the store.
  const quota::QuotaTable* quotas = nullptr;
  // The client of SendAsync, DeliverAsync and AckAsync (same ACL user as `redis`); null: they
  // run Send, Deliver and Ack on the calling thread. Must outlive the store.
  redis::AsyncRedisClient* async_redis = nullptr;
};

/// The pub/sub channel announcing new deliveries ("<rkey> <rkey> ...").
inline constexpr std::string_view kDeliveriesChannel = "concord:{msg}:deliveries";

class RedisMessageStore final : public MessageStore {
 public:
  RedisMessageStore(redis::RedisClient& redis, RedisMessageStoreOptions options);

  StatusOr<SendResult> Send(const AgencyId& sender, const Envelope& envelope,
                            absl::Time accepted_at) override;
  /// Send's script through the asynchronous client (options.async_redis): the attachment checks
  /// (if any) and the script call are queued without blocking; `done` runs on the client's I/O
  /// thread with exactly Send's result. A non-empty `audit_entry` is RPUSHed by the send script
  /// to the audit slot intake concord:audit-intake:{msg} (a key outside this user's pattern that
  /// it may only RPUSH to), with a wake-up on concord:audit:intake when that found it empty, if
  /// and only if the message is stored new (SendResult::audited).
  void SendAsync(const AgencyId& sender, const Envelope& envelope, absl::Time accepted_at,
                 std::string audit_entry, SendCallback done) override;
  StatusOr<StoredMessage> Get(const std::string& message_id) override;
  StatusOr<std::vector<InboxDelivery>> Deliver(const AgencyId& recipient,
                                               const std::string& terminal, size_t max,
                                               absl::Duration visibility_timeout,
                                               bool include_own_pending, size_t max_bytes) override;
  /// Deliver's commands through the asynchronous client (options.async_redis), each step queued
  /// from the previous one's reply: a busy stream's read is one script call (ReadNewScript); a
  /// new stream's first read and the throttled XAUTOCLAIM add their commands before it. `done`
  /// runs on the client's I/O thread with exactly Deliver's result. The store must outlive the
  /// call (until `done` returned).
  /// A non-empty `audit_entry` goes to the audit slot intake concord:audit-intake:{msg}: in the
  /// delivery read script when that read runs (it RPUSHes the entry when the batch is not
  /// empty), else (a batch of pending entries only) by one RPUSH before `done`.
  void DeliverAsync(const AgencyId& recipient, const std::string& terminal, size_t max,
                    absl::Duration visibility_timeout, bool include_own_pending, size_t max_bytes,
                    std::string audit_entry, DeliverCallback done) override;
  bool StoresAuditEntries() const override { return async_ != nullptr; }
  StatusOr<uint32_t> Ack(const AgencyId& recipient, const std::vector<std::string>& message_ids,
                         absl::Time now) override;
  /// Ack's script through the asynchronous client (options.async_redis): one script call queued
  /// without blocking; `done` runs on the client's I/O thread with exactly Ack's result
  /// (UNAVAILABLE past the client's command deadline or while Redis is unreachable). Non-empty
  /// `audit_entries` are RPUSHed by the ack script to concord:audit-intake:{msg} once every id is
  /// found, before anything is acknowledged (with a wake-up when the intake was empty).
  void AckAsync(const AgencyId& recipient, const std::vector<std::string>& message_ids,
                absl::Time now, std::vector<std::string> audit_entries, AckCallback done) override;
  StatusOr<InboxPage> ListInbox(const AgencyId& recipient, const InboxQuery& query) override;
  StatusOr<bool> InInbox(const AgencyId& recipient, const std::string& message_id) override;
  StatusOr<bool> IsAcknowledged(const AgencyId& recipient, const std::string& message_id) override;
  Status AddReceipt(const Receipt& receipt) override;
  StatusOr<std::vector<Receipt>> ListReceipts(const std::string& message_id) override;
  Status BeginAttachment(const std::string& attachment_id, const AgencyId& owner,
                         uint64_t size) override;
  Status PutChunk(const std::string& attachment_id, const AgencyId& owner, uint32_t index,
                  const std::string& canonical_chunk) override;
  Status CompleteAttachment(const std::string& attachment_id, uint32_t chunk_count) override;
  Status AbortAttachment(const std::string& attachment_id, const AgencyId& owner,
                         uint32_t chunks_put) override;
  StatusOr<AttachmentInfo> GetAttachment(const std::string& attachment_id) override;
  StatusOr<std::string> GetChunk(const std::string& attachment_id, uint32_t index) override;
  StatusOr<std::vector<ExpiredMessage>> RemoveExpired(absl::Time now, size_t max) override;
  StatusOr<int64_t> Backlog() override;

 private:
  // Send's script call: built once for both clients, its reply read the same way.
  struct SendCall;
  SendCall BuildSendCall(const AgencyId& caller, const Envelope& envelope, absl::Time accepted_at,
                         std::string audit_entry) const;
  static StatusOr<SendResult> SendReply(const SendCall& call, const redis::Reply& reply);
  void RunSendScript(std::shared_ptr<SendCall> call, SendCallback done);

  // One DeliverAsync call, carried from step to step (each step is a method below that queues
  // its command and continues in the reply's callback).
  struct DeliverCall;
  void DeliverClaim(std::shared_ptr<DeliverCall> call);
  void DeliverCounts(std::shared_ptr<DeliverCall> call);
  void DeliverLoad(std::shared_ptr<DeliverCall> call);
  void DeliverNew(std::shared_ptr<DeliverCall> call, bool group_created);
  // Finishes with the batch, appending its audit entry first when the read script did not.
  void FinishAudited(std::shared_ptr<DeliverCall> call);

  struct Entry {
    std::string entry_id;
    std::string message_id;
  };
  // The stored fields of pending entries, up to `max_bytes` of envelopes (0 = no budget), in
  // one script call; appends the deliverable ones to `out`. True when the budget cut the list.
  StatusOr<bool> Load(const AgencyId& recipient, const std::vector<Entry>& entries,
                      const std::vector<uint32_t>& counts, size_t max_bytes,
                      std::vector<InboxDelivery>& out);
  // New messages for `terminal` (XREADGROUP ">", at most `count` and `max_bytes` plus one
  // envelope) with their stored fields, in one script call; appends them to `out` as first
  // deliveries.
  Status ReadNew(const std::string& inbox, const std::string& rkey, const std::string& terminal,
                 size_t count, size_t max_bytes, std::vector<InboxDelivery>& out);
  // Creates `rkey`'s inbox and consumer group if missing, and registers it in the known inboxes.
  Status EnsureGroup(const std::string& rkey);
  // Whether Deliver should run XAUTOCLAIM now (throttled per inbox and terminal).
  bool ClaimDue(const std::string& inbox, const std::string& terminal,
                absl::Duration visibility_timeout, bool new_stream);

  redis::RedisClient& redis_;
  const RedisMessageStoreOptions options_;
  redis::AsyncRedisClient* const async_ = options_.async_redis;
  std::mutex claim_mu_;
  std::unordered_map<std::string, absl::Time> last_claim_;  // "<inbox>|<terminal>" -> last run
};

}  // namespace concord::messaging
