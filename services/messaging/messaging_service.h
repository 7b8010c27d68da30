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
// CERTIFICATE_REVOKED (common/server/open_calls.h).
//
// Metrics (no agency label anywhere): concord_messages_sent_total{method},
// concord_deliveries_total, concord_redeliveries_total, concord_inbox_backlog (gauge, all
// inboxes), concord_message_delivery_seconds (histogram, acceptance -> written to a stream).
//
// Thread safety: thread-safe; Subscribe holds one server thread per open stream.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/audit/audit_event.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/server/open_calls.h"
#include "common/time/clock.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/messaging/delivery_notifier.h"
#include "services/messaging/mailbox.h"

namespace concord::messaging {

struct MessagingServiceOptions {
  size_t subscribe_batch = 64;
  absl::Duration poll_interval =
      absl::Seconds(1);  // Subscribe re-checks the inbox at least this often
  // A busy stream (its last read delivered something) waits this long after a notification
  // before reading, so that one read and one wake-up carry several messages under load. An idle
  // stream reads at once.
  absl::Duration delivery_linger = absl::Milliseconds(2);
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
};

class MessagingService final : public v1::Messaging::Service {
 public:
  /// Every reference must outlive the service. `calls` is the server's registry of open calls
  /// (live revocation of Subscribe streams).
  MessagingService(Mailbox& mailbox, audit::AuditSink& audit, DeliveryNotifier& notifier,
                   MessagingMetrics& metrics, server::OpenCalls& calls, const Clock& clock,
                   MessagingServiceOptions options = {});

  grpc::Status Send(grpc::ServerContext* ctx, const v1::SendRequest* request,
                    v1::SendResponse* response) override;
  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::Delivery>* writer) override;
  grpc::Status ListInbox(grpc::ServerContext* ctx, const v1::ListInboxRequest* request,
                         v1::ListInboxResponse* response) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* request,
                   v1::GetResponse* response) override;
  grpc::Status Ack(grpc::ServerContext* ctx, const v1::AckRequest* request,
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
  grpc::Status FinishSend(const grpc::ServerContext& ctx, const Caller& caller,
                          std::string_view method, const v1::Envelope& envelope,
                          const StatusOr<SendResult>& result, v1::SendResponse* response);

  Mailbox& mailbox_;
  audit::AuditSink& audit_;
  DeliveryNotifier& notifier_;
  MessagingMetrics& metrics_;
  server::OpenCalls& calls_;
  const Clock& clock_;
  const MessagingServiceOptions options_;
};

}  // namespace concord::messaging
