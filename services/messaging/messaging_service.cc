#include "services/messaging/messaging_service.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

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

// Whether an Ack's outcome is recorded once per message id (it acknowledged them, or may have:
// UNAVAILABLE, INTERNAL) or once for the call: refused as a whole by the store (an id not in the
// caller's inbox: NOT_FOUND) or by the msg_ack bucket (RESOURCE_EXHAUSTED), nothing acknowledged.
bool AckRecordedPerId(const Status& outcome) {
  return outcome.code() != absl::StatusCode::kNotFound &&
         outcome.code() != absl::StatusCode::kResourceExhausted;
}

void StoredToEntry(const StoredMessage& m, bool acknowledged, v1::InboxEntry& out) {
  EnvelopeToProto(m.envelope, *out.mutable_envelope());
  TimeToProto(m.accepted_at, *out.mutable_accepted_at());
  out.set_acknowledged(acknowledged);
}

// ---- Subscribe ------------------------------------------------------------------------------

// What a Subscribe stream uses of its service. The service outlives every stream's asynchronous
// calls: each holds a DeliveryPump::Op, and the pump waits for them before the service goes.
struct SubscribeDeps {
  Mailbox& mailbox;
  audit::AuditSink& audit;
  MessagingMetrics& metrics;
  DeliveryPump& pump;
  const Clock& clock;
  const MessagingServiceOptions& options;
};

// The first steps of every callback-API call, before anything reads the request: every field
// within its bound (limits.proto), then the caller from the peer certificate.
StatusOr<Caller> AdmittedCaller(grpc::CallbackServerContext& ctx,
                                const google::protobuf::Message& request) {
  CONCORD_RETURN_IF_ERROR(limits::CheckFieldLimits(request));
  const std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth == nullptr) return absl::UnauthenticatedError("no peer identity");
  return CallerFromAuthContext(*auth);
}

// One Subscribe stream: a callback-API reactor (no thread of its own), woken by the DeliveryPump.
// A read (Mailbox::DeliverAsync) that also stores the batch's consultation record when the store
// can (else the record is appended next: AuditSink::AppendAsync), then the batch's deliveries
// written one by one (StartWrite). The next read is issued as soon as the
// batch's last write starts if a wake-up came meanwhile or the batch was full, else the stream
// waits for its next wake-up (a notification, or its poll deadline); its batch is written once
// that last write is done. Memory: at most one read (or audited batch) and the delivery being
// written, i.e. delivery_batch_bytes plus two envelopes of the stream's own (a client that does
// not read stalls the stream in a write; nothing more is read for it). Admission (the
// CallGuard) is checked before every read and every write (Advance). Never calls StartWrite,
// Finish or the store with its lock held (each may run callbacks inline, and the registry's
// watcher calls OnRevoked under the call's own lock).
// Lifetime: the reactor owns itself (self_) until OnDone; every asynchronous call holds a
// shared reference, so a reply arriving after OnDone finds the object alive and does nothing.
class SubscribeReactor final : public grpc::ServerWriteReactor<v1::Delivery>,
                               public DeliveryPump::Stream,
                               public std::enable_shared_from_this<SubscribeReactor> {
 public:
  explicit SubscribeReactor(SubscribeDeps deps) : deps_(deps) {}

  void Begin(std::shared_ptr<SubscribeReactor> self, grpc::CallbackServerContext* ctx,
             const v1::SubscribeRequest& request, server::OpenCalls& calls) {
    // Reactions run on other threads of gRPC's, after this handler returns: an order gRPC keeps
    // in its own code, which ThreadSanitizer does not see. Begin ends with a release of begun_
    // and every reaction starts with an acquire (docs/reliability.md "Sanitizers").
    struct Begun {
      std::atomic<bool>& begun;
      ~Begun() { begun.store(true, std::memory_order_release); }
    } begun{begun_};
    {
      std::lock_guard<std::mutex> lock(mu_);
      self_ = self;
    }
    StatusOr<Caller> caller = AdmittedCaller(*ctx, request);
    if (!caller.ok()) return End(caller.status());
    caller_ = *std::move(caller);
    terminal_ =
        request.terminal_id().empty() ? "serial-" + caller_.cert_serial : request.terminal_id();
    if (!IsTerminalId(terminal_)) {
      return End(InvalidArgumentWithFields("invalid terminal id",
                                           {{"terminal_id", "must match [A-Za-z0-9_.-]{1,64}"}}));
    }
    officer_ = audit::OfficerFromContext(*ctx);
    justification_ = audit::JustificationFromContext(*ctx);
    // Security: admission is re-checked before every read and every write of the stream; the
    // registry's watcher wakes the stream when the caller loses it (and cancels the call if it
    // is stuck in a write), so nothing is delivered once this replica knows of the revocation.
    std::weak_ptr<SubscribeReactor> weak = self;
    guard_.emplace(calls.Guard(*ctx, caller_, [weak] {
      if (auto s = weak.lock()) s->OnRevoked();
    }));
    guard_ready_.store(true);
    pump_id_.store(deps_.pump.Add(caller_.agency.Key(), weak));
    Advance();  // the first read, at once (with the terminal's own pending deliveries)
  }

  // DeliveryPump::Stream: a poll deadline, or a notification that names no entry.
  void Wake() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wanted_ = true;
    }
    Advance();
  }

  // A notification of inbox entry `entry_id`. Skipped when a read of this stream already took
  // entries up to it: the group has then given the entry to one of the agency's terminals
  // (XREADGROUP ">" hands entries out in id order), so a read for it would come back without
  // it. Else it is due, and a read in flight may still cover it (OnRead).
  void WakeFor(const std::string& entry_id) override {
    const std::optional<EntryId> id = ParseEntryId(entry_id);
    if (!id.has_value()) return Wake();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (covered_.has_value() && *id <= *covered_) return;
      if (!announced_.has_value() || *announced_ < *id) announced_ = *id;
    }
    Advance();
  }

  // On the registry's watcher thread, under the call's own lock: must not block.
  void OnRevoked() {
    if (!guard_ready_.load()) return;  // Begin checks the guard right after it is set
    if (Status status = guard_->Check(); !status.ok()) End(status);
  }

  // Reactions
  void OnWriteDone(bool ok) override {
    (void)begun_.load(std::memory_order_acquire);
    uint32_t count = 0;
    absl::Time accepted_at;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        if (!finish_.has_value()) finish_ = absl::OkStatus();  // the client went away
      } else {
        count = out_.delivery_count;
        accepted_at = out_.accepted_at;
      }
    }
    if (ok) {
      if (count > 1) {
        deps_.metrics.redeliveries->Increment();
      } else {
        deps_.metrics.deliveries->Increment();
        deps_.metrics.delivery_seconds->Observe(
            absl::ToDoubleSeconds(deps_.clock.Now() - accepted_at));
      }
    }
    Advance();
  }

  void OnCancel() override {
    (void)begun_.load(std::memory_order_acquire);
    End(absl::CancelledError("cancelled"));
  }

  void OnDone() override {
    (void)begun_.load(std::memory_order_acquire);
    std::shared_ptr<SubscribeReactor> keep;  // alive until we return
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      keep = std::move(self_);
      queue_.clear();
    }
    deps_.pump.Remove(pump_id_.load());
  }

 private:
  // One delivery ready to be written, with what its metrics need.
  struct Out {
    v1::Delivery delivery;
    uint32_t delivery_count = 1;
    absl::Time accepted_at;
  };

  void End(const Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || finish_.has_value()) return;
      finish_ = status;
    }
    Advance();
  }

  // The next step, decided under the lock and started outside it: finish the call, write the
  // next delivery of the batch, or issue the next read. Nothing while a step is in flight.
  void Advance() {
    // The guard takes the call's lock, which the watcher holds when it calls OnRevoked (which
    // takes mu_): checked before mu_, never under it.
    const Status admitted = guard_ready_.load() ? guard_->Check() : absl::OkStatus();
    bool finish = false;
    grpc::Status status;
    bool write = false;
    bool read = false;
    bool own_pending = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || finished_) return;
      if (!finish_.has_value() && !admitted.ok()) finish_ = admitted;
      if (finish_.has_value()) {
        if (writing_) return;  // OnWriteDone comes back here
        // A read or audit append in flight is dropped when it returns: its entries stay
        // pending and are delivered again (visibility timeout, or the terminal's next stream),
        // and so is a batch waiting for the previous one's last write.
        finished_ = true;
        status = ToGrpcStatus(*finish_);
        finish = true;
      } else {
        if (!writing_ && !queue_.empty()) {
          out_ = std::move(queue_.front());
          queue_.pop_front();
          writing_ = true;
          write = true;
        }
        // The next read leaves as soon as the batch's last delivery is handed to gRPC (its
        // write started), not when that write is done: the read's round trip and the batch's
        // audit append overlap the last write. Its batch then waits in queue_ for that write,
        // so a stream holds at most one batch being written (its last delivery) and one read
        // or batch behind it: a client that does not read stalls the stream there.
        if (queue_.empty() && !reading_ && !auditing_ && (wanted_ || announced_.has_value())) {
          wanted_ = false;
          announced_.reset();
          reading_ = true;
          own_pending = first_;
          first_ = false;
          read = true;
        }
      }
    }
    if (finish) return Finish(status);
    if (write) StartWrite(&out_.delivery);
    if (read) Read(own_pending);
  }

  // The consultation record of one delivered batch: the inbox, not its messages, so it is known
  // before the read.
  audit::AuditEvent BatchEvent() const {
    return audit::AuditEvent{.agency = caller_.agency,
                             .officer = officer_,
                             .operation = audit::Operation::kConsultation,
                             .object = InboxObject(caller_),
                             .method = Method("Subscribe"),
                             .justification = justification_,
                             .recipients = {},
                             .outcome = CodeName(absl::OkStatus()),
                             .time = deps_.clock.Now()};
  }

  void Read(bool own_pending) {
    // Poll at least every poll_interval: redeliveries after the visibility timeout, and
    // notifications lost while pub/sub was disconnected.
    deps_.pump.WakeAt(pump_id_.load(), absl::Now() + deps_.options.poll_interval);
    // The batch's record goes with the read when the store can take it: sealed now, stored by
    // the read's script if it takes entries (one round trip for the read and its record).
    std::string entry;
    if (deps_.mailbox.StoresAuditEntries()) {
      if (auto sealed = deps_.audit.SealEntry(BatchEvent()); sealed.ok()) entry = *sealed;
    }
    const bool audited = !entry.empty();
    deps_.mailbox.DeliverAsync(caller_.agency, terminal_, deps_.options.subscribe_batch,
                               own_pending, deps_.options.delivery_batch_bytes, std::move(entry),
                               [self = shared_from_this(), audited, op = deps_.pump.StartOp()](
                                   StatusOr<std::vector<InboxDelivery>> batch) {
                                 self->OnRead(std::move(batch), audited);
                               });
  }

  // On the store's I/O thread (or inline): must not block. `audited`: the store stored the
  // batch's record with it.
  void OnRead(StatusOr<std::vector<InboxDelivery>> batch, bool audited) {
    (void)begun_.load(std::memory_order_acquire);
    const bool deliver = batch.ok() && !batch->empty();
    bool full = false;
    if (deliver) {
      size_t bytes = 0;
      for (const InboxDelivery& d : *batch) bytes += d.message.envelope.body.ciphertext.size();
      full =
          batch->size() >= deps_.options.subscribe_batch ||
          (deps_.options.delivery_batch_bytes > 0 && bytes >= deps_.options.delivery_batch_bytes);
    }
    // The newest entry this read took: every entry up to it has been taken by a terminal.
    std::optional<EntryId> newest;
    if (batch.ok()) {
      for (const InboxDelivery& d : *batch) {
        const std::optional<EntryId> id = ParseEntryId(d.entry_id);
        if (id.has_value() && (!newest.has_value() || *newest < *id)) newest = id;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      if (done_ || finished_) return;
      if (newest.has_value() && (!covered_.has_value() || *covered_ < *newest)) covered_ = newest;
      // Announcements heard while the read was in flight that it already covered cost no read
      // (the pub/sub connection and the read's cannot tell which came first in Redis).
      if (announced_.has_value() && covered_.has_value() && *announced_ <= *covered_) {
        announced_.reset();
      }
      if (deliver) {
        auditing_ = true;
        if (full) wanted_ = true;  // more is waiting: read again once its last write starts
      }
    }
    if (!batch.ok()) return End(batch.status());
    if (!deliver) return Advance();
    auto out = std::make_shared<std::deque<Out>>();
    for (const InboxDelivery& d : *batch) {
      Out o;
      EnvelopeToProto(d.message.envelope, *o.delivery.mutable_envelope());
      o.delivery.set_delivery_count(d.delivery_count);
      TimeToProto(d.message.accepted_at, *o.delivery.mutable_accepted_at());
      o.delivery_count = d.delivery_count;
      o.accepted_at = d.message.accepted_at;
      out->push_back(std::move(o));
    }
    // One consultation record per delivered batch, before any of it is written (the entries
    // stay pending and are delivered again if this fails): stored by the read already, or
    // appended now.
    if (audited) return OnAudited(absl::OkStatus(), std::move(*out));
    deps_.audit.AppendAsync(
        BatchEvent(), [self = shared_from_this(), out, op = deps_.pump.StartOp()](Status appended) {
          self->OnAudited(appended, std::move(*out));
        });
  }

  void OnAudited(const Status& appended, std::deque<Out> out) {
    (void)begun_.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auditing_ = false;
      if (done_ || finished_) return;
      if (!appended.ok()) {
        if (!finish_.has_value()) {
          finish_ = absl::UnavailableError("audit log unavailable; the operation may be retried");
        }
      } else {
        queue_ = std::move(out);  // empty until now: a read is issued only when it is
      }
    }
    Advance();
  }

  const SubscribeDeps deps_;
  // Set once in Begin before the stream is registered with the pump or the registry, then read
  // only.
  Caller caller_;
  std::string terminal_;
  std::string officer_;
  std::string justification_;
  std::optional<server::CallGuard> guard_;
  std::atomic<bool> guard_ready_{false};
  std::atomic<uint64_t> pump_id_{0};
  std::atomic<bool> begun_{false};  // released when Begin returns, acquired by every reaction

  std::mutex mu_;
  std::shared_ptr<SubscribeReactor> self_;  // guarded by mu_; released in OnDone
  std::optional<Status> finish_;            // guarded by mu_: the status to end with
  std::deque<Out> queue_;  // guarded by mu_: the batch's deliveries not yet written
  bool first_ = true;      // guarded by mu_: the next read is the stream's first
  bool wanted_ = true;     // guarded by mu_: a read is due (poll, full batch, unnamed entry)
  // guarded by mu_: the newest announced entry not known to be taken (a read is due)
  std::optional<EntryId> announced_;
  // guarded by mu_: the newest entry a read of this stream took (entries up to it are taken)
  std::optional<EntryId> covered_;
  bool reading_ = false;   // guarded by mu_: a read in flight
  bool auditing_ = false;  // guarded by mu_: the batch's audit append in flight
  bool writing_ = false;   // guarded by mu_: a write in flight
  bool finished_ = false;  // guarded by mu_: Finish() called
  bool done_ = false;      // guarded by mu_: OnDone ran
  Out out_;                // the write in flight (guarded by writing_)
};

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
  auto& stages = prometheus::BuildHistogram()
                     .Name("concord_message_send_stage_seconds")
                     .Help(
                         "Where a Send's time goes in the server, by stage: checks (limits, "
                         "caller, quota admission, signature verification), store (the send "
                         "script's Redis round trip, which also stores a new message's audit "
                         "record), audit (a "
                         "separate append of the record: duplicates and refusals only).")
                     .Register(registry);
  const prometheus::Histogram::BucketBoundaries stage_buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10};
  send_checks_seconds = &stages.Add({{"stage", "checks"}}, stage_buckets);
  send_store_seconds = &stages.Add({{"stage", "store"}}, stage_buckets);
  send_audit_seconds = &stages.Add({{"stage", "audit"}}, stage_buckets);
}

MessagingService::MessagingService(Mailbox& mailbox, audit::AuditSink& audit,
                                   DeliveryNotifier& notifier, MessagingMetrics& metrics,
                                   server::OpenCalls& calls, quota::QuotaChecker& quotas,
                                   const Clock& clock, MessagingServiceOptions options)
    : mailbox_(mailbox),
      audit_(audit),
      metrics_(metrics),
      calls_(calls),
      quotas_(quotas),
      clock_(clock),
      options_(options),
      pump_(notifier) {}

MessagingService::~MessagingService() {
  // The server has stopped: wait for replies to reads and audit appends of ended streams.
  (void)pump_.WaitForOps(absl::Seconds(10));
}

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

Status MessagingService::ChargeRead(const grpc::ServerContext& ctx, const Caller& caller,
                                    std::string_view object, std::string_view method) {
  return quota::ChargeRead(options_.reads, caller.agency, 1, [&](const Status& refusal) {
    (void)Audit(ctx, caller, audit::Operation::kConsultation, std::string(object), method, {},
                refusal);
  });
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
  const absl::Time received = absl::Now();
  StatusOr<Caller> caller = AdmittedCaller(*ctx, *request);
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
  const absl::Time checked = absl::Now();
  metrics_.send_checks_seconds->Observe(absl::ToDoubleSeconds(checked - received));
  if (!plan.ok()) {
    FinishSendAsync(reactor, *event, plan.status(), response);
    return reactor;
  }
  // The record of a new message goes with it: the send script appends it to the audit slot
  // intake in the same atomic write (no second round trip; the message is stored if and only if
  // its record is). Sealed now, outcome OK. A duplicate or a refusal stores no entry: its record
  // is appended once the outcome is known, as when the sink cannot seal entries.
  {
    audit::AuditEvent stored = *event;
    stored.outcome = "OK";
    stored.time = clock_.Now();
    if (auto entry = audit_.SealEntry(stored); entry.ok()) plan->audit_entry = std::move(*entry);
  }
  // The store's send script through the asynchronous client; the reply finishes the call.
  mailbox_.CommitAsync(
      *plan, [this, reactor, response, event, checked](StatusOr<SendResult> result) {
        metrics_.send_store_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - checked));
        FinishSendAsync(reactor, *event, std::move(result), response);
      });
  return reactor;
}

void MessagingService::FinishSendAsync(grpc::ServerUnaryReactor* reactor, audit::AuditEvent event,
                                       StatusOr<SendResult> result, v1::SendResponse* response) {
  // As FinishSend: a quota flood is audited at most once a minute per agency.
  if (!quotas_.Observe(event.agency, result.status())) {
    reactor->Finish(ToGrpcStatus(result.status()));
    return;
  }
  if (result.ok() && result->audited) {  // the send script stored the record with the message
    FillSendResponse("Send", *result, response);
    reactor->Finish(grpc::Status::OK);
    return;
  }
  event.outcome = CodeName(result.status());
  event.time = clock_.Now();
  auto outcome = std::make_shared<StatusOr<SendResult>>(std::move(result));
  const absl::Time appending = absl::Now();
  audit_.AppendAsync(
      std::move(event), [this, reactor, response, outcome, appending](Status appended) {
        metrics_.send_audit_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - appending));
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

grpc::ServerWriteReactor<v1::Delivery>* MessagingService::Subscribe(
    grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) {
  auto reactor = std::make_shared<SubscribeReactor>(
      SubscribeDeps{mailbox_, audit_, metrics_, pump_, clock_, options_});
  reactor->Begin(reactor, ctx, *request, calls_);
  return reactor.get();  // kept alive by its own reference until OnDone
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
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, InboxObject(caller), "ListInbox"));
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
  CONCORD_GRPC_RETURN_IF_ERROR(
      ChargeRead(*ctx, caller, absl::StrCat("message:", request->message_id()), "Get"));
  StatusOr<InboxItem> m = mailbox_.GetItem(caller.agency, request->message_id());
  if (m.status().code() == absl::StatusCode::kInvalidArgument) return ToGrpcStatus(m.status());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     absl::StrCat("message:", request->message_id()), "Get", {},
                                     m.status()));
  StoredToEntry(m->message, m->acknowledged, *response->mutable_entry());
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* MessagingService::Ack(grpc::CallbackServerContext* ctx,
                                                const v1::AckRequest* request,
                                                v1::AckResponse* response) {
  // The callback API, as Send: this returns without waiting for Redis; a revocation cancels the
  // call (TryCancel, the registry of open calls) while it waits.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  StatusOr<Caller> caller = AdmittedCaller(*ctx, *request);
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  StatusOr<AckPlan> plan = [&]() -> StatusOr<AckPlan> {
    CONCORD_ASSIGN_OR_RETURN(
        AckPlan p, mailbox_.PrepareAck(caller->agency,
                                       std::vector<std::string>(request->message_ids().begin(),
                                                                request->message_ids().end())));
    // Security: the msg_ack bucket (one token per id) is charged inside the store's ack script;
    // a flood this replica refused is refused again here, without Redis, until the bucket holds
    // a token again. No storage watermark: acknowledgements free space and go on above it.
    CONCORD_RETURN_IF_ERROR(
        quotas_.AdmitRecent(caller->agency, {quota::Quota::kMsgAck}, request->message_ids_size()));
    return p;
  }();
  // The records are prepared now (the request and the context are read on this thread) and
  // appended together once the outcome is known (one Redis round trip).
  AckAudit records{.call = audit::AuditEvent{.agency = caller->agency,
                                             .officer = audit::OfficerFromContext(*ctx),
                                             .operation = audit::Operation::kAlteration,
                                             .object = InboxObject(*caller),
                                             .method = Method("Ack"),
                                             .justification = audit::JustificationFromContext(*ctx),
                                             .recipients = {},
                                             .outcome = "",
                                             .time = absl::UnixEpoch()},
                   .message_ids = std::vector<std::string>(request->message_ids().begin(),
                                                           request->message_ids().end())};
  if (!plan.ok()) {
    FinishAckAsync(reactor, std::move(records), plan.status(), response);
    return reactor;
  }
  // A successful Ack's records go with it when the store can take them: sealed now (outcome OK),
  // stored by the ack script once every id is found (one round trip, and no acknowledgement
  // without its record). A refused or failed Ack appends its record(s) once the outcome is known.
  if (mailbox_.StoresAuditEntries()) {
    AckAudit ok = records;
    ok.call.outcome = CodeName(absl::OkStatus());
    ok.call.time = clock_.Now();
    std::vector<std::string> entries;
    entries.reserve(records.message_ids.size());
    for (const audit::AuditEvent& e : AckRecordsPerId(ok)) {
      auto sealed = audit_.SealEntry(e);
      if (!sealed.ok()) break;
      entries.push_back(*std::move(sealed));
    }
    if (entries.size() == records.message_ids.size()) {
      plan->audit_entries = std::move(entries);
      records.stored_with_ack = true;
    }
  }
  // The store's ack script through the asynchronous client; the reply finishes the call.
  auto pending = std::make_shared<AckAudit>(std::move(records));
  mailbox_.CommitAckAsync(*plan, [this, reactor, response, pending](StatusOr<uint32_t> acked) {
    FinishAckAsync(reactor, std::move(*pending), std::move(acked), response);
  });
  return reactor;
}

std::vector<audit::AuditEvent> MessagingService::AckRecordsPerId(const AckAudit& records) {
  std::vector<audit::AuditEvent> events;
  events.reserve(records.message_ids.size());
  for (const std::string& id : records.message_ids) {
    audit::AuditEvent e = records.call;
    e.object = absl::StrCat("message:", id);
    events.push_back(std::move(e));
  }
  return events;
}

void MessagingService::FinishAckAsync(grpc::ServerUnaryReactor* reactor, AckAudit records,
                                      StatusOr<uint32_t> acked, v1::AckResponse* response) {
  // Refused as malformed: nothing was read or changed, nothing is recorded.
  if (acked.status().code() == absl::StatusCode::kInvalidArgument) {
    reactor->Finish(ToGrpcStatus(acked.status()));
    return;
  }
  // A flood refused by the msg_ack bucket is counted, but audited once a minute per agency (the
  // audit log must not grow with the flood).
  if (!quotas_.Observe(records.call.agency, acked.status(),
                       static_cast<int64_t>(records.message_ids.size()))) {
    reactor->Finish(ToGrpcStatus(acked.status()));
    return;
  }
  if (acked.ok() && records.stored_with_ack) {  // the ack script stored the records
    response->set_acknowledged(*acked);
    reactor->Finish(grpc::Status::OK);
    return;
  }
  records.call.outcome = CodeName(acked.status());
  records.call.time = clock_.Now();
  std::vector<audit::AuditEvent> events;
  if (AckRecordedPerId(acked.status())) {
    // One alteration record per message id (an acknowledgement, or an outcome that may have been
    // one: UNAVAILABLE after the script may have run).
    events = AckRecordsPerId(records);
  } else {
    // Refused as a whole (an id not in the inbox, the msg_ack bucket): nothing was acknowledged,
    // so one record of the refused call, naming the caller's inbox, not one per id.
    events.push_back(std::move(records.call));
  }
  audit_.AppendAllAsync(std::move(events), [reactor, response, acked](Status appended) {
    // An operation is never left unaudited without the caller knowing.
    if (!appended.ok() && acked.ok()) {
      reactor->Finish(ToGrpcStatus(
          absl::UnavailableError("audit log unavailable; the operation may be retried")));
      return;
    }
    if (!acked.ok()) {
      reactor->Finish(ToGrpcStatus(acked.status()));
      return;
    }
    response->set_acknowledged(*acked);
    reactor->Finish(grpc::Status::OK);
  });
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
  CONCORD_GRPC_RETURN_IF_ERROR(
      ChargeRead(*ctx, caller, absl::StrCat("message:", request->message_id()), "ListReceipts"));
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
  const std::string object = absl::StrCat("attachment:", IsValidClientId(request->attachment_id())
                                                             ? request->attachment_id()
                                                             : "invalid");
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, object, "DownloadAttachment"));
  StatusOr<std::vector<ChunkRef>> plan =
      mailbox_.DownloadPlan(caller.agency, request->message_id(), request->attachment_id());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation, object,
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
