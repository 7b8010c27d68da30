// File: services/messaging/messaging_service.h
//
// gRPC handlers of concord.messaging.v1.Messaging (STYLE G1): caller identity from the peer
// certificate, proto -> domain, Mailbox, audit record, domain -> proto. Authorization by agency
// type runs before any handler (common/authz policy table); ownership rules live in Mailbox.
//
// Audit (common/audit): Send/Forward -> disclosure, Ack/SendReceipt -> alteration,
// Get/DownloadAttachment/ListReceipts -> consultation of "message:<id>", ListInbox (one record per
// call) and Subscribe (one record per delivered batch, before it is written) -> consultation of
// "inbox:<type>/<id>", UploadAttachment -> collection, expiry -> erasure (MessagingModule's
// sweeper).
//
// Live revocation: Subscribe takes a CallGuard from the server's OpenCalls registry and checks it
// before every read and every write: once the caller's agency is suspended or its certificate
// serial revoked, the stream ends with UNAUTHENTICATED and ErrorInfo reason AGENCY_SUSPENDED or
// CERTIFICATE_REVOKED (common/server/open_calls.h). The registry's watcher wakes a waiting
// stream through the guard's callback, so it ends without waiting for its next poll.
//
// Bounds (docs/architecture.md "Bounds and quotas"): Send, Forward and UploadAttachment ask the
// QuotaChecker first (storage watermark, this replica's recent refusals; no I/O) and the store's
// scripts charge the agency's buckets; refusals are RESOURCE_EXHAUSTED with RetryInfo and
// QuotaFailure, counted by agency type and audited at most once per agency, limit and minute.
// Every streaming handler takes its CallGuard first, so the per-agency cap on open streams
// refuses the call before it does anything. Memory per call is bounded: ListInbox pages and
// Subscribe batches stop at a byte budget (list_page_bytes, delivery_batch_bytes),
// DownloadAttachment reads and writes one chunk at a time, an upload holds one chunk.
//
// Metrics (no agency label anywhere): concord_messages_sent_total{method},
// concord_deliveries_total, concord_redeliveries_total, concord_inbox_backlog (gauge, all
// inboxes), concord_message_delivery_seconds (histogram, acceptance -> written to a stream).
//
// Thread safety: thread-safe. Send, Subscribe and Ack hold no thread while they wait (callback
// API); the other methods hold one server thread per call.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/audit/audit_event.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/server/open_calls.h"
#include "common/time/clock.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/messaging/delivery_notifier.h"
#include "services/messaging/delivery_pump.h"
#include "services/messaging/mailbox.h"

namespace concord::messaging {

struct MessagingServiceOptions {
  size_t subscribe_batch = 64;
  absl::Duration poll_interval =
      absl::Seconds(1);  // Subscribe re-checks the inbox at least this often
  // Envelope bytes of one ListInbox page (at least one entry) and of one Subscribe batch (plus
  // one envelope): what one call holds in memory, whatever the inbox holds.
  size_t list_page_bytes = 2 * 1024 * 1024;
  size_t delivery_batch_bytes = 2 * 1024 * 1024;
  // The `read` bucket charged before ListInbox, Get, ListReceipts and DownloadAttachment (one
  // token each: each writes one consultation record); null = not charged. Must outlive the service.
  quota::ReadMeter* reads = nullptr;
};

/// Concord's messaging metrics, registered once per process.
struct MessagingMetrics {
  explicit MessagingMetrics(metrics::Metrics& metrics);
  prometheus::Counter* sent_send;
  prometheus::Counter* sent_forward;
  prometheus::Counter* deliveries;
  prometheus::Counter* redeliveries;
  prometheus::Gauge* inbox_backlog;
  prometheus::Histogram* delivery_seconds;
  // concord_message_send_stage_seconds{stage}: where a Send's time goes inside the server.
  // "checks": limits, caller, quota admission and the signature verification (every Send);
  // "store": the send script's round trip (Sends that reached it); "audit": the append of the
  // Send's audit record (every Send that got an outcome). Their sum is the server's share of a
  // Send's latency, without gRPC, TLS and the network (docs/operations.md "Metrics").
  prometheus::Histogram* send_checks_seconds;
  prometheus::Histogram* send_store_seconds;
  prometheus::Histogram* send_audit_seconds;
};

// Send runs on gRPC's callback API (a unary reactor): limits, caller, quota admission and the
// signature verification on the gRPC thread that received it, then the store's send script and
// the audit record through asynchronous Redis (MessageStore::SendAsync, AuditSink::AppendAsync);
// the reply leaves from the audit append's completion. No thread waits for a Send.
//
// Subscribe runs on the callback API too (a ServerWriteReactor per stream, messaging_service.cc
// SubscribeReactor), driven by the service's DeliveryPump (delivery_pump.h): a notification for
// the agency, or the stream's poll deadline, issues its read through the asynchronous store
// (Mailbox::DeliverAsync) at once if it is idle; the reply's batch gets its consultation record
// (AuditSink::AppendAsync), then is written with StartWrite one delivery at a time; the next read
// is issued when the batch's last write starts, and folds in every notification that arrived
// meanwhile (its batch is written once that write is done: a stream holds at most one batch and
// the delivery being written). The first read of a stream includes its terminal's own pending
// deliveries.
//
// Ack runs on the callback API as Send does: limits, caller and Mailbox::PrepareAck (the id
// checks, no I/O) on the gRPC thread that received it, then the store's ack script
// (Mailbox::CommitAckAsync, MessageStore::AckAsync; it charges the caller's msg_ack bucket one
// token per id) and the records, one per message id (one for a call refused as a whole:
// NOT_FOUND, RESOURCE_EXHAUSTED) (AuditSink::AppendAllAsync, one round trip), through
// asynchronous Redis; the reply leaves from the audit append's completion.
//
// Every other method is synchronous (a thread per call).
class MessagingService final
    : public v1::Messaging::WithCallbackMethod_Ack<v1::Messaging::WithCallbackMethod_Subscribe<
          v1::Messaging::WithCallbackMethod_Send<v1::Messaging::Service>>> {
 public:
  /// Every reference must outlive the service. `calls` is the server's registry of open calls
  /// (live revocation of Subscribe streams, the per-agency cap on streams); `quotas` the
  /// process's quota checker; `notifier` the replica's delivery notifier, whose one listener
  /// becomes the service's delivery pump.
  MessagingService(Mailbox& mailbox, audit::AuditSink& audit, DeliveryNotifier& notifier,
                   MessagingMetrics& metrics, server::OpenCalls& calls, quota::QuotaChecker& quotas,
                   const Clock& clock, MessagingServiceOptions options = {});
  /// Waits (bounded) for the asynchronous reads and audit appends of ended streams to return.
  ~MessagingService() override;

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* ctx, const v1::SendRequest* request,
                                 v1::SendResponse* response) override;
  grpc::ServerWriteReactor<v1::Delivery>* Subscribe(grpc::CallbackServerContext* ctx,
                                                    const v1::SubscribeRequest* request) override;
  grpc::Status ListInbox(grpc::ServerContext* ctx, const v1::ListInboxRequest* request,
                         v1::ListInboxResponse* response) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* request,
                   v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* ctx, const v1::AckRequest* request,
                                v1::AckResponse* response) override;
  grpc::Status SendReceipt(grpc::ServerContext* ctx, const v1::SendReceiptRequest* request,
                           v1::SendReceiptResponse* response) override;
  grpc::Status ListReceipts(grpc::ServerContext* ctx, const v1::ListReceiptsRequest* request,
                            v1::ListReceiptsResponse* response) override;
  grpc::Status UploadAttachment(grpc::ServerContext* ctx,
                                grpc::ServerReader<v1::UploadAttachmentRequest>* reader,
                                v1::UploadAttachmentResponse* response) override;
  grpc::Status DownloadAttachment(grpc::ServerContext* ctx,
                                  const v1::DownloadAttachmentRequest* request,
                                  grpc::ServerWriter<v1::AttachmentChunk>* writer) override;
  grpc::Status Forward(grpc::ServerContext* ctx, const v1::ForwardRequest* request,
                       v1::SendResponse* response) override;

 private:
  /// Appends the audit record; on an otherwise successful call a failing sink fails the call
  /// (UNAVAILABLE): an operation is never left unaudited without the caller knowing.
  Status Audit(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
               std::string object, std::string_view method, std::vector<std::string> recipients,
               const Status& outcome);
  /// The `read` bucket before a consultation (options_.reads): OK to read; otherwise the refusal,
  /// audited against `object` and `method` once a minute per agency (QuotaChecker::Observe).
  Status ChargeRead(const grpc::ServerContext& ctx, const Caller& caller, std::string_view object,
                    std::string_view method);
  /// The response of an accepted Send or Forward (and the sent-messages counter).
  void FillSendResponse(std::string_view method, const SendResult& result,
                        v1::SendResponse* response);
  /// Send's end: quota observation, the audit record (appended asynchronously; `event` lacks
  /// only its outcome and time), then the reactor's Finish. Runs on whichever thread the store's
  /// reply arrived on; never blocks.
  void FinishSendAsync(grpc::ServerUnaryReactor* reactor, audit::AuditEvent event,
                       StatusOr<SendResult> result, v1::SendResponse* response);
  /// What an Ack records: the call's record (object the caller's inbox; it lacks only its
  /// outcome and time) and the ids of the request.
  struct AckAudit {
    audit::AuditEvent call;
    std::vector<std::string> message_ids;
    bool stored_with_ack = false;  // the ack script stores the per-id records if it succeeds
  };
  /// The per-id records of a successful Ack: `call` with object message:<id>, in the ids' order.
  static std::vector<audit::AuditEvent> AckRecordsPerId(const AckAudit& records);
  /// Ack's end: quota observation, the records, appended asynchronously, then the reactor's
  /// Finish. One record per message id, except for an Ack refused as a whole (NOT_FOUND: an id
  /// not in the inbox; RESOURCE_EXHAUSTED: the msg_ack bucket), recorded once, naming the inbox;
  /// a quota flood is recorded once a minute per agency. A malformed request (INVALID_ARGUMENT)
  /// read nothing and is not recorded. Runs on whichever thread the store's reply arrived on;
  /// never blocks.
  void FinishAckAsync(grpc::ServerUnaryReactor* reactor, AckAudit records, StatusOr<uint32_t> acked,
                      v1::AckResponse* response);
  grpc::Status FinishSend(const grpc::ServerContext& ctx, const Caller& caller,
                          std::string_view method, const v1::Envelope& envelope,
                          const StatusOr<SendResult>& result, v1::SendResponse* response);

  Mailbox& mailbox_;
  audit::AuditSink& audit_;
  MessagingMetrics& metrics_;
  server::OpenCalls& calls_;
  quota::QuotaChecker& quotas_;
  const Clock& clock_;
  const MessagingServiceOptions options_;
  DeliveryPump pump_;  // wakes the Subscribe streams; last, so it goes first
};

}  // namespace concord::messaging
