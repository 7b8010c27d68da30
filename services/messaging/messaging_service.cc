#include "services/messaging/messaging_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/audit/audit_context.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "prometheus/family.h"
#include "services/messaging/envelope_proto.h"

namespace concord::messaging {
namespace {

constexpr std::string_view kService = "/concord.messaging.v1.Messaging/";
constexpr absl::Duration kCancelCheck = absl::Milliseconds(200);

std::string Method(std::string_view name) {
  return absl::StrCat(std::string(kService), std::string(name));
}

std::string CodeName(const Status& s) { return absl::StatusCodeToString(s.code()); }

// The audit record's recipients: the envelope's, as "<type>/<id>" (bounded by the field limit).
std::vector<std::string> AuditRecipients(const v1::Envelope& envelope) {
  std::vector<std::string> recipients;
  for (const auto& r : envelope.recipients()) {
    if (recipients.size() >= 64) break;  // bounded by the field limit; never more
    auto a = AgencyFromProto(r);
    if (a.ok()) recipients.push_back(a->Key());
  }
  return recipients;
}

std::string AuditMessageObject(const v1::Envelope& envelope) {
  return absl::StrCat("message:",
                      IsValidClientId(envelope.message_id()) ? envelope.message_id() : "invalid");
}

bool IsTerminalId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// The audit object of a read of an agency's own inbox (ListInbox pages, Subscribe batches).
// Agency ids are organisations, never persons.
std::string InboxObject(const Caller& caller) {
  return absl::StrCat("inbox:", caller.agency.Key());
}

void StoredToEntry(const StoredMessage& m, bool acknowledged, v1::InboxEntry& out) {
  EnvelopeToProto(m.envelope, *out.mutable_envelope());
  TimeToProto(m.accepted_at, *out.mutable_accepted_at());
  out.set_acknowledged(acknowledged);
}

}  // namespace

MessagingMetrics::MessagingMetrics(metrics::Metrics& metrics) {
  auto& registry = metrics.registry();
  auto& sent = prometheus::BuildCounter()
                   .Name("concord_messages_sent_total")
                   .Help("Messages accepted by Send or Forward (idempotent resends excluded).")
                   .Register(registry);
  sent_send = &sent.Add({{"method", "send"}});
  sent_forward = &sent.Add({{"method", "forward"}});
  deliveries = &prometheus::BuildCounter()
                    .Name("concord_deliveries_total")
                    .Help("Messages written to a Subscribe stream (first deliveries).")
                    .Register(registry)
                    .Add({});
  redeliveries = &prometheus::BuildCounter()
                      .Name("concord_redeliveries_total")
                      .Help(
                          "Unacknowledged messages delivered again (reconnect or visibility "
                          "timeout).")
                      .Register(registry)
                      .Add({});
  inbox_backlog = &prometheus::BuildGauge()
                       .Name("concord_inbox_backlog")
                       .Help("Deliveries not yet acknowledged, summed over every inbox.")
                       .Register(registry)
                       .Add({});
  delivery_seconds =
      &prometheus::BuildHistogram()
           .Name("concord_message_delivery_seconds")
           .Help("Time from a message's acceptance to its delivery on a Subscribe stream.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
}

MessagingService::MessagingService(Mailbox& mailbox, audit::AuditSink& audit,
                                   DeliveryNotifier& notifier, MessagingMetrics& metrics,
                                   server::OpenCalls& calls, quota::QuotaChecker& quotas,
                                   const Clock& clock, MessagingServiceOptions options)
    : mailbox_(mailbox),
      audit_(audit),
      notifier_(notifier),
      metrics_(metrics),
      calls_(calls),
      quotas_(quotas),
      clock_(clock),
      options_(options) {}

Status MessagingService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                               audit::Operation op, std::string object, std::string_view method,
                               std::vector<std::string> recipients, const Status& outcome) {
  audit::AuditEvent event{.agency = caller.agency,
                          .officer = audit::OfficerFromContext(ctx),
                          .operation = op,
                          .object = std::move(object),
                          .method = Method(method),
                          .justification = audit::JustificationFromContext(ctx),
                          .recipients = std::move(recipients),
                          .outcome = CodeName(outcome),
                          .time = clock_.Now()};
  const Status appended = audit_.Append(event);
  if (!appended.ok() && outcome.ok()) {
    return absl::UnavailableError("audit log unavailable; the operation may be retried");
  }
  return outcome;
}

grpc::Status MessagingService::FinishSend(const grpc::ServerContext& ctx, const Caller& caller,
                                          std::string_view method, const v1::Envelope& envelope,
                                          const StatusOr<SendResult>& result,
                                          v1::SendResponse* response) {
  // A flood refused by quotas is counted, but audited once a minute per agency (the audit log
  // must not grow with the flood).
  if (!quotas_.Observe(caller.agency, result.status())) return ToGrpcStatus(result.status());
  const Status status =
      Audit(ctx, caller, audit::Operation::kDisclosure, AuditMessageObject(envelope), method,
            AuditRecipients(envelope), result.status());
  if (!status.ok()) return ToGrpcStatus(status);
  FillSendResponse(method, *result, response);
  return grpc::Status::OK;
}

void MessagingService::FillSendResponse(std::string_view method, const SendResult& result,
                                        v1::SendResponse* response) {
  response->set_message_id(result.message_id);
  response->set_envelope_sha256(result.envelope_sha256);
  TimeToProto(result.accepted_at, *response->mutable_accepted_at());
  response->set_duplicate(result.duplicate);
  if (!result.duplicate) {
    (method == "Send" ? metrics_.sent_send : metrics_.sent_forward)->Increment();
  }
}

grpc::ServerUnaryReactor* MessagingService::Send(grpc::CallbackServerContext* ctx,
                                                 const v1::SendRequest* request,
                                                 v1::SendResponse* response) {
  // gRPC's callback API: this runs on a gRPC thread and returns without waiting for Redis. The
  // authorizer (AuthMetadataProcessor) and the open-calls interceptor ran before it, as for the
  // synchronous methods; a revocation cancels the call (TryCancel) while it waits.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Every field within its bound (limits.proto) before anything reads the request.
  if (Status bounded = limits::CheckFieldLimits(*request); !bounded.ok()) {
    reactor->Finish(ToGrpcStatus(bounded));
    return reactor;
  }
  const std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
  StatusOr<Caller> caller = auth != nullptr
                                ? CallerFromAuthContext(*auth)
                                : StatusOr<Caller>(absl::UnauthenticatedError("no peer identity"));
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  // Checks and signature verification here (reads only: cached directory keys, revocations).
  StatusOr<SendPlan> plan = [&]() -> StatusOr<SendPlan> {
    CONCORD_RETURN_IF_ERROR(
        quotas_.Admit(caller->agency, {quota::Quota::kSend, quota::Quota::kSendBytes}));
    CONCORD_ASSIGN_OR_RETURN(Envelope envelope, EnvelopeFromProto(request->envelope()));
    return mailbox_.PrepareSend(caller->agency, std::move(envelope));
  }();
  // The audit record is prepared now (the request and the context are read on this thread) and
  // appended once the outcome is known.
  auto event = std::make_shared<audit::AuditEvent>(
      audit::AuditEvent{.agency = caller->agency,
                        .officer = audit::OfficerFromContext(*ctx),
                        .operation = audit::Operation::kDisclosure,
                        .object = AuditMessageObject(request->envelope()),
                        .method = Method("Send"),
                        .justification = audit::JustificationFromContext(*ctx),
                        .recipients = AuditRecipients(request->envelope()),
                        .outcome = "",
                        .time = absl::UnixEpoch()});
  auto finish = [this, reactor, response, event](StatusOr<SendResult> result) {
    FinishSendAsync(reactor, *event, std::move(result), response);
  };
  if (!plan.ok()) {
    finish(plan.status());
    return reactor;
  }
  // The store's send script through the asynchronous client; the reply finishes the call.
  mailbox_.CommitAsync(*plan, std::move(finish));
  return reactor;
}

void MessagingService::FinishSendAsync(grpc::ServerUnaryReactor* reactor, audit::AuditEvent event,
                                       StatusOr<SendResult> result, v1::SendResponse* response) {
  // As FinishSend: a quota flood is audited at most once a minute per agency.
  if (!quotas_.Observe(event.agency, result.status())) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return;
  }
  event.outcome = CodeName(result.status());
  event.time = clock_.Now();
  auto outcome = std::make_shared<StatusOr<SendResult>>(std::move(result));
  audit_.AppendAsync(std::move(event), [this, reactor, response, outcome](Status appended) {
    // An operation is never left unaudited without the caller knowing.
    if (!appended.ok() && outcome->ok()) {
      reactor->Finish(ToGrpcStatus(
          absl::UnavailableError("audit log unavailable; the operation may be retried")));
      return;
    }
    if (!outcome->ok()) {
      reactor->Finish(ToGrpcStatus(outcome->status()));
      return;
    }
    FillSendResponse("Send", **outcome, response);
    reactor->Finish(grpc::Status::OK);
  });
}

grpc::Status MessagingService::Forward(grpc::ServerContext* ctx, const v1::ForwardRequest* request,
                                       v1::SendResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<SendResult> result = [&]() -> StatusOr<SendResult> {
    CONCORD_RETURN_IF_ERROR(
        quotas_.Admit(caller.agency, {quota::Quota::kSend, quota::Quota::kSendBytes}));
    CONCORD_ASSIGN_OR_RETURN(Envelope envelope, EnvelopeFromProto(request->envelope()));
    return mailbox_.Forward(caller.agency, std::move(envelope));
  }();
  return FinishSend(*ctx, caller, "Forward", request->envelope(), result, response);
}

grpc::Status MessagingService::Subscribe(grpc::ServerContext* ctx,
                                         const v1::SubscribeRequest* request,
                                         grpc::ServerWriter<v1::Delivery>* writer) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const std::string terminal =
      request->terminal_id().empty() ? "serial-" + caller.cert_serial : request->terminal_id();
  if (!IsTerminalId(terminal)) {
    return ToGrpcStatus(InvalidArgumentWithFields(
        "invalid terminal id", {{"terminal_id", "must match [A-Za-z0-9_.-]{1,64}"}}));
  }
  const std::string rkey = caller.agency.Key();
  // Security: admission is re-checked before every read and every write of the stream; the
  // registry's watcher wakes this loop when the caller loses it (and cancels the call if it is
  // stuck in a write), so nothing is delivered once this replica knows of the revocation.
  const server::CallGuard guard =
      calls_.Guard(*ctx, caller, [this, rkey] { notifier_.Notify(rkey); });
  bool first = true;
  while (!ctx->IsCancelled()) {
    CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
    const uint64_t generation = notifier_.Generation(rkey);
    auto batch = mailbox_.Deliver(caller.agency, terminal, options_.subscribe_batch, first,
                                  options_.delivery_batch_bytes);
    if (!batch.ok()) return ToGrpcStatus(batch.status());
    first = false;
    if (!batch->empty()) {
      // One consultation record per delivered batch, before any of it is written (the entries
      // stay pending and are delivered again if this fails).
      CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                         InboxObject(caller), "Subscribe", {}, absl::OkStatus()));
    }
    for (const InboxDelivery& d : *batch) {
      CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
      v1::Delivery out;
      EnvelopeToProto(d.message.envelope, *out.mutable_envelope());
      out.set_delivery_count(d.delivery_count);
      TimeToProto(d.message.accepted_at, *out.mutable_accepted_at());
      if (!writer->Write(out)) return grpc::Status::OK;  // the client went away
      if (d.delivery_count > 1) {
        metrics_.redeliveries->Increment();
      } else {
        metrics_.deliveries->Increment();
        metrics_.delivery_seconds->Observe(
            absl::ToDoubleSeconds(clock_.Now() - d.message.accepted_at));
      }
    }
    if (batch->size() >= options_.subscribe_batch) continue;
    // Wait for a notification, re-checking cancellation and admission; poll at least every
    // poll_interval (redeliveries after the visibility timeout and lost notifications).
    bool notified = false;
    for (absl::Duration waited; waited < options_.poll_interval && !ctx->IsCancelled();
         waited += kCancelCheck) {
      if (notifier_.WaitForChange(rkey, generation, kCancelCheck)) {
        notified = true;
        break;
      }
      if (guard.revoked()) break;
    }
    if (notified && !batch->empty() && options_.delivery_linger > absl::ZeroDuration()) {
      absl::SleepFor(options_.delivery_linger);
    }
  }
  return grpc::Status::OK;
}

grpc::Status MessagingService::ListInbox(grpc::ServerContext* ctx,
                                         const v1::ListInboxRequest* request,
                                         v1::ListInboxResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  InboxQuery query;
  query.thread_id = request->thread_id();
  if (request->kind() != v1::MESSAGE_KIND_UNSPECIFIED) {
    if (request->kind() < 1 || request->kind() > 4) {
      return ToGrpcStatus(InvalidArgumentWithFields("invalid filter", {{"kind", "unknown"}}));
    }
    query.kind = static_cast<MessageKind>(request->kind() - 1);
  }
  query.unacknowledged_only = request->unacknowledged_only();
  if (request->page().page_size() < 0 || request->page().page_size() > 500) {
    return ToGrpcStatus(InvalidArgumentWithFields("invalid page", {{"page.page_size", "0..500"}}));
  }
  query.page_size = request->page().page_size() == 0 ? 50 : request->page().page_size();
  query.page_token = request->page().page_token();
  query.max_bytes = options_.list_page_bytes;
  StatusOr<InboxPage> page = mailbox_.ListInbox(caller.agency, query);
  if (page.status().code() == absl::StatusCode::kInvalidArgument) {
    return ToGrpcStatus(page.status());
  }
  // One consultation record per call (the page holds sealed envelopes).
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     InboxObject(caller), "ListInbox", {}, page.status()));
  for (const InboxItem& item : page->items) {
    StoredToEntry(item.message, item.acknowledged, *response->add_entries());
  }
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status MessagingService::Get(grpc::ServerContext* ctx, const v1::GetRequest* request,
                                   v1::GetResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<InboxItem> m = mailbox_.GetItem(caller.agency, request->message_id());
  if (m.status().code() == absl::StatusCode::kInvalidArgument) return ToGrpcStatus(m.status());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     absl::StrCat("message:", request->message_id()), "Get", {},
                                     m.status()));
  StoredToEntry(m->message, m->acknowledged, *response->mutable_entry());
  return grpc::Status::OK;
}

grpc::Status MessagingService::Ack(grpc::ServerContext* ctx, const v1::AckRequest* request,
                                   v1::AckResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const std::vector<std::string> ids(request->message_ids().begin(), request->message_ids().end());
  StatusOr<uint32_t> acked = mailbox_.Ack(caller.agency, ids);
  if (acked.status().code() == absl::StatusCode::kInvalidArgument) {
    return ToGrpcStatus(acked.status());
  }
  // One record per message id, appended together (one Redis round trip for the whole Ack).
  std::vector<audit::AuditEvent> events;
  events.reserve(ids.size());
  const std::string officer = audit::OfficerFromContext(*ctx);
  const std::string justification = audit::JustificationFromContext(*ctx);
  const absl::Time now = clock_.Now();
  for (const std::string& id : ids) {
    events.push_back(audit::AuditEvent{.agency = caller.agency,
                                       .officer = officer,
                                       .operation = audit::Operation::kAlteration,
                                       .object = absl::StrCat("message:", id),
                                       .method = Method("Ack"),
                                       .justification = justification,
                                       .recipients = {},
                                       .outcome = CodeName(acked.status()),
                                       .time = now});
  }
  if (!audit_.AppendAll(events).ok() && acked.ok()) {
    return ToGrpcStatus(
        absl::UnavailableError("audit log unavailable; the operation may be retried"));
  }
  if (!acked.ok()) return ToGrpcStatus(acked.status());
  response->set_acknowledged(*acked);
  return grpc::Status::OK;
}

grpc::Status MessagingService::SendReceipt(grpc::ServerContext* ctx,
                                           const v1::SendReceiptRequest* request,
                                           v1::SendReceiptResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(Receipt receipt, ReceiptFromProto(request->receipt()));
  const Status added = mailbox_.AddReceipt(caller.agency, receipt);
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kAlteration,
                                     absl::StrCat("message:", receipt.message_id), "SendReceipt",
                                     {}, added));
  return grpc::Status::OK;
}

grpc::Status MessagingService::ListReceipts(grpc::ServerContext* ctx,
                                            const v1::ListReceiptsRequest* request,
                                            v1::ListReceiptsResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<std::vector<Receipt>> receipts =
      mailbox_.ListReceipts(caller.agency, request->message_id());
  if (receipts.status().code() == absl::StatusCode::kInvalidArgument) {
    return ToGrpcStatus(receipts.status());
  }
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     absl::StrCat("message:", request->message_id()),
                                     "ListReceipts", {}, receipts.status()));
  for (const Receipt& r : *receipts) ReceiptToProto(r, *response->add_receipts());
  return grpc::Status::OK;
}

grpc::Status MessagingService::UploadAttachment(
    grpc::ServerContext* ctx, grpc::ServerReader<v1::UploadAttachmentRequest>* reader,
    v1::UploadAttachmentResponse* response) {
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // The per-agency cap on open streams (and live revocation) before anything else.
  const server::CallGuard guard = calls_.Guard(*ctx, caller);
  CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
  v1::UploadAttachmentRequest part;
  if (reader->Read(&part)) CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(part));
  if (!part.has_header()) {
    return ToGrpcStatus(InvalidArgumentWithFields("invalid upload",
                                                  {{"header", "the first message is the header"}}));
  }
  const std::string id = part.header().attachment_id();
  StatusOr<Upload> upload = [&]() -> StatusOr<Upload> {
    CONCORD_RETURN_IF_ERROR(
        quotas_.Admit(caller.agency, {quota::Quota::kUpload, quota::Quota::kUploadBytes}));
    return mailbox_.BeginUpload(caller.agency, id, part.header().size(),
                                part.header().total_size());
  }();
  Status status = upload.status();
  // Each chunk is checked and stored as it arrives: memory is one chunk, and the first chunk
  // that breaks the chunking rule ends the upload.
  while (status.ok() && reader->Read(&part)) {
    status = limits::CheckFieldLimits(part);
    if (!status.ok()) break;
    if (!part.has_chunk()) {
      status = InvalidArgumentWithFields("invalid upload", {{"chunk", "expected a chunk"}});
      break;
    }
    status = guard.Check();
    if (!status.ok()) break;
    SealedBox sealed;
    SealedFromProto(part.chunk().sealed(), sealed);
    auto ref = mailbox_.PutChunk(*upload, part.chunk().index(), sealed);
    if (!ref.ok()) {
      status = ref.status();
      break;
    }
    v1::ChunkRef* out = response->add_chunks();
    out->set_index(ref->index);
    out->set_size(ref->size);
    out->set_sha256(ref->sha256);
  }
  if (status.ok()) status = mailbox_.CompleteUpload(*upload);
  // Nothing of a failed upload is kept (its pending slot is freed too).
  if (!status.ok() && upload.ok()) mailbox_.AbortUpload(*upload);
  if (quotas_.Observe(caller.agency, status)) {
    status = Audit(*ctx, caller, audit::Operation::kCollection,
                   absl::StrCat("attachment:", IsValidClientId(id) ? id : "invalid"),
                   "UploadAttachment", {}, status);
  }
  if (!status.ok()) {
    response->Clear();
    return ToGrpcStatus(status);
  }
  response->set_attachment_id(id);
  return grpc::Status::OK;
}

grpc::Status MessagingService::DownloadAttachment(grpc::ServerContext* ctx,
                                                  const v1::DownloadAttachmentRequest* request,
                                                  grpc::ServerWriter<v1::AttachmentChunk>* writer) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const server::CallGuard guard = calls_.Guard(*ctx, caller);
  CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
  StatusOr<std::vector<ChunkRef>> plan =
      mailbox_.DownloadPlan(caller.agency, request->message_id(), request->attachment_id());
  CONCORD_GRPC_RETURN_IF_ERROR(
      Audit(*ctx, caller, audit::Operation::kConsultation,
            absl::StrCat("attachment:", IsValidClientId(request->attachment_id())
                                            ? request->attachment_id()
                                            : "invalid"),
            "DownloadAttachment", {}, plan.status()));
  // Chunk by chunk: the server holds one chunk (~1 MiB) of a 64 MiB attachment at a time.
  for (const ChunkRef& ref : *plan) {
    CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
    CONCORD_GRPC_ASSIGN_OR_RETURN(SealedBox box,
                                  mailbox_.ReadChunk(request->attachment_id(), ref.index));
    v1::AttachmentChunk out;
    out.set_index(ref.index);
    SealedToProto(box, *out.mutable_sealed());
    box = SealedBox{};
    if (!writer->Write(out)) break;
  }
  return grpc::Status::OK;
}

}  // namespace concord::messaging
