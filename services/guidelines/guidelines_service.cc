// File: services/guidelines/guidelines_service.cc
#include "services/guidelines/guidelines_service.h"

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_context.h"
#include "common/guideline/guideline_proto.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::guidelines {
namespace {

constexpr std::string_view kService = "/concord.guidelines.v1.Guidelines/";

std::string Method(std::string_view name) {
  return absl::StrCat(std::string(kService), std::string(name));
}

std::string CodeName(const Status& s) { return absl::StatusCodeToString(s.code()); }

// The audit object of a version: ids only (guidance is not personal data).
std::string Object(std::string_view gid, int64_t version) {
  if (!guideline::IsValidGuidelineId(gid)) return "guideline:invalid";
  if (version <= 0) return absl::StrCat("guideline:", std::string(gid));
  return absl::StrCat("guideline:", std::string(gid), "@", version);
}

void ViewToProto(const VersionMeta& meta, const CallerView& view,
                 const std::optional<guideline::SignedWithdrawal>& withdrawal,
                 v1::VersionStatus& out) {
  guideline::TimeToProto(meta.published_at, *out.mutable_published_at());
  out.set_effective(view.effective);
  out.set_in_force(view.in_force);
  out.set_superseded_by(meta.superseded_by);
  if (meta.superseded_by != 0) {
    guideline::TimeToProto(meta.superseded_at, *out.mutable_superseded_at());
  }
  if (withdrawal.has_value()) {
    guideline::SignedWithdrawalToProto(*withdrawal, *out.mutable_withdrawal());
  }
  out.set_addressed(view.addressed);
  out.set_acknowledged(view.acknowledged.has_value());
  if (view.acknowledged.has_value()) {
    guideline::TimeToProto(view.acknowledged->at, *out.mutable_acknowledged_at());
  }
}

void AudienceToProto(const guideline::Audience& a, v1::Audience& out) {
  out.set_is_public(a.is_public);
  for (AgencyType t : a.types) out.add_agency_types(AgencyTypeToProto(t));
  for (const AgencyId& id : a.agencies) guideline::AgencyToProto(id, *out.add_agencies());
}

void AgencyStatusToProto(const AgencyStatus& s, std::string_view trust_domain,
                         v1::AgencyCompliance& out) {
  auto id = ParseAgencyKey(trust_domain, s.agency);
  if (id.ok()) guideline::AgencyToProto(*id, *out.mutable_agency());
  out.set_acknowledged(s.acknowledged);
  if (s.acknowledged) guideline::TimeToProto(s.acknowledged_at, *out.mutable_acknowledged_at());
  out.set_late(s.late);
  out.set_overdue(s.overdue);
}

void FiguresToProto(const TypeFigures& f, v1::Figures& out) {
  if (f.type.has_value()) out.set_agency_type(AgencyTypeToProto(*f.type));
  out.set_audience(f.audience);
  out.set_acknowledged(f.acknowledged);
  out.set_pending(f.pending);
  out.set_overdue(f.overdue);
  out.set_late(f.late);
  out.set_acknowledged_percent(f.acknowledged_percent);
}

// ---- Subscribe -------------------------------------------------------------------------------

bool IsCursor(std::string_view s) {
  if (s.size() > 41) return false;
  int dashes = 0;
  for (char c : s) {
    if (c == '-') {
      ++dashes;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dashes <= 1;
}

// One Subscribe stream: a callback-API reactor (no thread of its own) fed by the Distributor.
// Writes one event at a time; never calls StartWrite or Finish with its lock held (either may
// run reactions inline, and the registry's watcher calls OnRevoked under the call's own lock).
class SubscribeReactor final : public grpc::ServerWriteReactor<v1::GuidelineEvent>,
                               public Subscriber {
 public:
  SubscribeReactor(Distributor& distributor, DistributorMetrics& metrics, const Clock& clock,
                   size_t max_queue)
      : distributor_(distributor), metrics_(metrics), clock_(clock), max_queue_(max_queue) {}

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
    StatusOr<Caller> caller = CallerFromAuthContext(*ctx->auth_context());
    if (!caller.ok()) return End(caller.status());
    caller_ = *std::move(caller);
    // Security: admission is re-checked before every write; the watcher wakes the stream when
    // the caller's certificate is revoked or its agency suspended.
    std::weak_ptr<SubscribeReactor> weak = self;
    guard_.emplace(calls.Guard(*ctx, caller_, [weak] {
      if (auto s = weak.lock()) s->OnRevoked();
    }));
    guard_ready_.store(true);
    if (Status admitted = guard_->Check(); !admitted.ok()) return End(admitted);
    if (Status bounded = limits::CheckFieldLimits(request); !bounded.ok()) return End(bounded);
    if (!IsCursor(request.after_cursor())) {
      return End(InvalidArgumentWithFields(
          "invalid cursor", {{"after_cursor", "a cursor of an earlier GuidelineEvent"}}));
    }
    if (Status attached = distributor_.Attach(self, request.after_cursor()); !attached.ok()) {
      return End(attached);
    }
    std::lock_guard<std::mutex> lock(mu_);
    attached_ = true;
  }

  // Subscriber
  const AgencyId& agency() const override { return caller_.agency; }

  void Push(std::vector<OutEvent> events) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || finish_.has_value()) return;
      for (OutEvent& e : events) queue_.push_back(std::move(e));
      if (queue_.size() > max_queue_) {
        queue_.clear();
        finish_ = WithReason(absl::ResourceExhaustedError(
                                 "the client does not read its guideline stream; resume with "
                                 "the last cursor processed"),
                             "SUBSCRIBER_TOO_SLOW");
      }
    }
    Pump();
  }

  void Fail(const Status& status) override { End(status); }

  // On the registry's watcher thread, under the call's own lock: must not block.
  void OnRevoked() {
    if (!guard_ready_.load()) return;  // Begin checks the guard right after it is set
    if (Status status = guard_->Check(); !status.ok()) End(status);
  }

  // Reactions
  void OnWriteDone(bool ok) override {
    (void)begun_.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        if (!finish_.has_value()) finish_ = absl::CancelledError("the stream was closed");
      } else {
        (written_kind_ == FeedEntry::Kind::kVersion ? metrics_.deliveries_version
                                                    : metrics_.deliveries_withdrawal)
            ->Increment();
        if (!written_backlog_) {
          metrics_.delivery_seconds->Observe(absl::ToDoubleSeconds(clock_.Now() - written_seen_));
        }
      }
    }
    Pump();
  }

  void OnCancel() override {
    (void)begun_.load(std::memory_order_acquire);
    End(absl::CancelledError("cancelled"));
  }

  void OnDone() override {
    (void)begun_.load(std::memory_order_acquire);
    std::shared_ptr<SubscribeReactor> keep;  // alive until we return
    bool attached = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keep = std::move(self_);
      attached = attached_;
    }
    if (attached) distributor_.Detach(this);  // outside mu_: the distributor pushes under its lock
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    queue_.clear();
  }

 private:
  void End(const Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || finish_.has_value()) return;
      finish_ = status;
    }
    Pump();
  }

  // Starts the next write, or finishes the call, outside the lock.
  void Pump() {
    // The guard takes the call's lock, which the watcher holds when it calls OnRevoked (which
    // takes mu_): checked before mu_, never under it.
    const Status admitted = guard_ready_.load() ? guard_->Check() : absl::OkStatus();
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (done_ || finished_ || writing_) return;
      if (!finish_.has_value() && !admitted.ok()) finish_ = admitted;
      if (finish_.has_value()) {
        finished_ = true;
        finish = ToGrpcStatus(*finish_);
      } else {
        while (!queue_.empty() && sent_.count(queue_.front().Key()) > 0) queue_.pop_front();
        if (queue_.empty()) return;
        OutEvent e = std::move(queue_.front());
        queue_.pop_front();
        sent_.insert(e.Key());
        Fill(e);
        writing_ = true;
      }
    }
    if (finish.has_value()) {
      Finish(*finish);
    } else {
      StartWrite(&out_);
    }
  }

  // mu_ held.
  void Fill(const OutEvent& e) {
    out_.Clear();
    out_.set_cursor(e.cursor);
    out_.set_backlog(e.backlog);
    written_kind_ = e.kind;
    written_backlog_ = e.backlog;
    written_seen_ = e.seen_at;
    const StoredVersion& v = *e.version;
    if (e.kind == FeedEntry::Kind::kWithdrawal && v.withdrawal.has_value()) {
      guideline::SignedWithdrawalToProto(*v.withdrawal, *out_.mutable_withdrawal());
      return;
    }
    guideline::SignedVersionToProto(v.signed_version, v.meta.sha256, *out_.mutable_version());
    const CallerView view{.effective = Effective(v.meta, clock_.Now()),
                          .in_force = true,
                          .addressed = true,
                          .acknowledged = std::nullopt};
    ViewToProto(v.meta, view, v.withdrawal, *out_.mutable_status());
  }

  Distributor& distributor_;
  DistributorMetrics& metrics_;
  const Clock& clock_;
  const size_t max_queue_;
  Caller caller_;
  std::optional<server::CallGuard> guard_;  // set once in Begin, then read only
  std::atomic<bool> guard_ready_{false};
  std::atomic<bool> begun_{false};  // released when Begin returns, acquired by every reaction
  bool attached_ = false;           // guarded by mu_
  std::shared_ptr<SubscribeReactor> self_;  // guarded by mu_; released in OnDone

  std::mutex mu_;
  std::deque<OutEvent> queue_;    // guarded by mu_
  std::set<std::string> sent_;    // guarded by mu_: what this stream wrote
  std::optional<Status> finish_;  // guarded by mu_: the status to end with
  bool writing_ = false;          // guarded by mu_
  bool finished_ = false;         // guarded by mu_: Finish() called
  bool done_ = false;             // guarded by mu_: OnDone ran
  v1::GuidelineEvent out_;        // the write in flight (guarded by writing_)
  FeedEntry::Kind written_kind_ = FeedEntry::Kind::kVersion;
  bool written_backlog_ = false;
  absl::Time written_seen_;
};

}  // namespace

GuidelinesMetrics::GuidelinesMetrics(metrics::Metrics& metrics) {
  auto& registry = metrics.registry();
  publications = &prometheus::BuildCounter()
                      .Name("concord_guideline_publications_total")
                      .Help("Guideline versions published (idempotent resends excluded).")
                      .Register(registry)
                      .Add({});
  withdrawals = &prometheus::BuildCounter()
                     .Name("concord_guideline_withdrawals_total")
                     .Help("Guideline versions withdrawn.")
                     .Register(registry)
                     .Add({});
  acknowledgements = &prometheus::BuildCounter()
                          .Name("concord_guideline_acknowledgements_total")
                          .Help(
                              "First acknowledgements of guideline versions by agencies "
                              "(duplicates excluded).")
                          .Register(registry)
                          .Add({});
  ack_ratio = &prometheus::BuildGauge()
                   .Name("concord_guideline_ack_ratio")
                   .Help(
                       "Share (0..1) of the counted audience that acknowledged the version in "
                       "force of each guideline (suspended agencies apart).")
                   .Register(registry);
  overdue = &prometheus::BuildGauge()
                 .Name("concord_guideline_acknowledgements_overdue")
                 .Help(
                     "Agencies of the counted audience that have not acknowledged the version in "
                     "force of each guideline although its deadline has passed.")
                 .Register(registry);
}

GuidelinesService::GuidelinesService(Guidebook& book, Distributor& distributor,
                                     DistributorMetrics& stream_metrics, GuidelinesMetrics& metrics,
                                     audit::AuditSink& audit, server::OpenCalls& calls,
                                     const Clock& clock, GuidelinesServiceOptions options)
    : book_(book),
      distributor_(distributor),
      stream_metrics_(stream_metrics),
      metrics_(metrics),
      audit_(audit),
      calls_(calls),
      clock_(clock),
      options_(options) {}

Status GuidelinesService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                                audit::Operation op, std::string object, std::string_view method,
                                const Status& outcome) {
  const audit::AuditEvent event{.agency = caller.agency,
                                .officer = audit::OfficerFromContext(ctx),
                                .operation = op,
                                .object = std::move(object),
                                .method = Method(method),
                                .justification = audit::JustificationFromContext(ctx),
                                .recipients = {},
                                .outcome = CodeName(outcome),
                                .time = clock_.Now()};
  if (!audit_.Append(event).ok() && outcome.ok()) {
    return absl::UnavailableError("audit log unavailable; the operation may be retried");
  }
  return outcome;
}

bool GuidelinesService::Observe(const Caller& caller, const Status& outcome) {
  return options_.quotas == nullptr || options_.quotas->Observe(caller.agency, outcome);
}

grpc::Status GuidelinesService::Publish(grpc::ServerContext* ctx, const v1::PublishRequest* request,
                                        v1::PublishResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const v1::GuidelineVersion& pv = request->version();
  StatusOr<PublishResult> result = [&]() -> StatusOr<PublishResult> {
    // Redis never fills silently: a new version is new data, refused at the watermark; and by
    // this replica's recent refusal of the caller's publish bucket (no I/O). The bucket itself
    // is charged in the store's script.
    if (options_.quotas != nullptr) {
      CONCORD_RETURN_IF_ERROR(options_.quotas->Admit(caller.agency, {quota::Quota::kPublish}));
    }
    CONCORD_ASSIGN_OR_RETURN(guideline::SignedVersion sv, guideline::SignedVersionFromProto(pv));
    return book_.Publish(caller.agency, sv);
  }();
  // A flood of refused calls is counted but audited once a minute per agency.
  if (!Observe(caller, result.status())) return ToGrpcStatus(result.status());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kCollection,
                                     Object(pv.guideline_id(), pv.version()), "Publish",
                                     result.status()));
  response->set_guideline_id(pv.guideline_id());
  response->set_version(pv.version());
  response->set_sha256(result->sha256);
  guideline::TimeToProto(result->published_at, *response->mutable_published_at());
  response->set_duplicate(result->duplicate);
  response->set_audience_size(result->audience_size);
  response->set_effective(result->effective);
  if (!result->duplicate) metrics_.publications->Increment();
  return grpc::Status::OK;
}

grpc::Status GuidelinesService::Withdraw(grpc::ServerContext* ctx,
                                         const v1::WithdrawRequest* request,
                                         v1::WithdrawResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const v1::Withdrawal& pw = request->withdrawal();
  StatusOr<WithdrawResult> result = [&]() -> StatusOr<WithdrawResult> {
    // Withdrawals go on above the storage watermark, but are charged the publish bucket.
    if (options_.quotas != nullptr) {
      CONCORD_RETURN_IF_ERROR(
          options_.quotas->AdmitRecent(caller.agency, {quota::Quota::kPublish}));
    }
    CONCORD_ASSIGN_OR_RETURN(guideline::SignedWithdrawal sw,
                             guideline::SignedWithdrawalFromProto(pw));
    return book_.Withdraw(caller.agency, sw);
  }();
  if (!Observe(caller, result.status())) return ToGrpcStatus(result.status());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kAlteration,
                                     Object(pw.guideline_id(), pw.version()), "Withdraw",
                                     result.status()));
  guideline::TimeToProto(result->recorded_at, *response->mutable_recorded_at());
  response->set_duplicate(result->duplicate);
  if (!result->duplicate) metrics_.withdrawals->Increment();
  return grpc::Status::OK;
}

grpc::Status GuidelinesService::Get(grpc::ServerContext* ctx, const v1::GetRequest* request,
                                    v1::GetResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const std::vector<std::string> preferred(request->preferred_languages().begin(),
                                           request->preferred_languages().end());
  CONCORD_GRPC_ASSIGN_OR_RETURN(ReadResult read, book_.Get(caller.agency, request->guideline_id(),
                                                           request->version(), preferred));
  guideline::SignedVersionToProto(read.stored.signed_version, read.stored.meta.sha256,
                                  *response->mutable_version());
  ViewToProto(read.stored.meta, read.view, read.stored.withdrawal, *response->mutable_status());
  response->set_served_language(read.language.served);
  for (const std::string& l : read.language.order) response->add_fallback_order(l);
  return grpc::Status::OK;
}

grpc::Status GuidelinesService::List(grpc::ServerContext* ctx, const v1::ListRequest* request,
                                     v1::ListResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  ListQuery q;
  q.guideline_id = request->guideline_id();
  q.topic = request->topic();
  if (request->audience_type() != ::concord::common::v1::AGENCY_TYPE_UNSPECIFIED) {
    auto type = AgencyTypeFromProto(request->audience_type());
    if (!type.ok()) {
      return ToGrpcStatus(
          InvalidArgumentWithFields("invalid filter", {{"audience_type", "unknown agency type"}}));
    }
    q.audience_type = *type;
  }
  q.public_only = request->public_only();
  if (request->has_effective()) {
    if (request->effective().has_from()) {
      q.effective_from = guideline::TimeFromProto(request->effective().from());
    }
    if (request->effective().has_to()) {
      q.effective_to = guideline::TimeFromProto(request->effective().to());
    }
  }
  q.include_superseded = request->include_superseded();
  q.include_withdrawn = request->include_withdrawn();
  q.page_size = request->page().page_size();
  q.page_token = request->page().page_token();
  CONCORD_GRPC_ASSIGN_OR_RETURN(ListPage page, book_.List(caller.agency, q));
  for (const ListItem& item : page.items) {
    const VersionMeta& m = item.meta;
    v1::VersionSummary* s = response->add_versions();
    s->set_guideline_id(m.guideline_id);
    s->set_version(m.version);
    guideline::AgencyToProto(m.publisher, *s->mutable_publisher());
    guideline::TimeToProto(m.effective_at, *s->mutable_effective_at());
    guideline::TimeToProto(m.ack_deadline, *s->mutable_ack_deadline());
    for (const std::string& t : m.topics) s->add_topics(t);
    for (const auto& [language, title] : m.titles) {
      v1::Content* c = s->add_titles();
      c->set_language(language);
      c->set_title(title);
    }
    AudienceToProto(m.audience, *s->mutable_audience());
    s->set_sha256(m.sha256);
    ViewToProto(m, item.view, std::nullopt, *s->mutable_status());
  }
  response->set_next_page_token(page.next_page_token);
  return grpc::Status::OK;
}

grpc::Status GuidelinesService::Diff(grpc::ServerContext* ctx, const v1::DiffRequest* request,
                                     v1::DiffResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(
      DiffResult diff, book_.Diff(caller.agency, request->guideline_id(), request->from_version(),
                                  request->to_version(), request->language()));
  response->set_from_title(diff.from_title);
  response->set_to_title(diff.to_title);
  for (const DiffOp& op : diff.ops) {
    v1::DiffLine* line = response->add_lines();
    line->set_op(op.kind == DiffOp::Kind::kEqual    ? v1::DiffLine::OP_EQUAL
                 : op.kind == DiffOp::Kind::kDelete ? v1::DiffLine::OP_DELETE
                                                    : v1::DiffLine::OP_INSERT);
    line->set_text(op.text);
    line->set_from_line(op.from_line);
    line->set_to_line(op.to_line);
  }
  response->set_deleted(diff.deleted);
  response->set_inserted(diff.inserted);
  response->set_from_sha256(diff.from.sha256);
  response->set_to_sha256(diff.to.sha256);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::GuidelineEvent>* GuidelinesService::Subscribe(
    grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) {
  auto reactor = std::make_shared<SubscribeReactor>(distributor_, stream_metrics_, clock_,
                                                    options_.max_stream_queue);
  reactor->Begin(reactor, ctx, *request, calls_);
  return reactor.get();  // kept alive by its own reference until OnDone
}

grpc::Status GuidelinesService::Acknowledge(grpc::ServerContext* ctx,
                                            const v1::AcknowledgeRequest* request,
                                            v1::AcknowledgeResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<AckResult> result = [&]() -> StatusOr<AckResult> {
    // The acting officer is what makes the acknowledgement meaningful: required, and kept in the
    // (sealed) audit record.
    if (audit::OfficerFromContext(*ctx).empty()) {
      return WithReason(
          InvalidArgumentWithFields(
              "an acknowledgement records the acting officer",
              {{std::string(audit::kOfficerMetadataKey),
                "metadata required: the officer's identifier within the agency (1..128 "
                "printable ASCII characters, no name)"}}),
          "OFFICER_REQUIRED");
    }
    // Acknowledgements go on above the storage watermark; each one (duplicates included) is
    // charged the caller's ack bucket in the store's script, and a flood is answered here from
    // this replica's recent refusal without I/O.
    if (options_.quotas != nullptr) {
      CONCORD_RETURN_IF_ERROR(options_.quotas->AdmitRecent(caller.agency, {quota::Quota::kAck}));
    }
    return book_.Acknowledge(caller.agency, request->guideline_id(), request->version(),
                             request->sha256());
  }();
  // Beyond the bucket a flood writes no audit record (one per agency and minute, and the metric).
  if (!Observe(caller, result.status())) return ToGrpcStatus(result.status());
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kAlteration,
                                     Object(request->guideline_id(), request->version()),
                                     "Acknowledge", result.status()));
  guideline::TimeToProto(result->record.at, *response->mutable_acknowledged_at());
  response->set_duplicate(result->duplicate);
  response->set_late(result->late);
  response->set_counted(result->counted);
  if (!result->duplicate) metrics_.acknowledgements->Increment();
  return grpc::Status::OK;
}

grpc::Status GuidelinesService::Compliance(grpc::ServerContext* ctx,
                                           const v1::ComplianceRequest* request,
                                           v1::ComplianceResponse* response) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(
      quota::ChargeRead(options_.reads, caller.agency, 1, [&](const Status& refusal) {
        (void)Audit(*ctx, caller, audit::Operation::kConsultation,
                    Object(request->guideline_id(), request->version()), "Compliance", refusal);
      }));
  StatusOr<ComplianceResult> result =
      book_.Compliance(caller.agency, request->guideline_id(), request->version());
  const int64_t version = result.ok() ? result->meta.version : request->version();
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     Object(request->guideline_id(), version), "Compliance",
                                     result.status()));
  const VersionMeta& m = result->meta;
  response->set_guideline_id(m.guideline_id);
  response->set_version(m.version);
  response->set_sha256(m.sha256);
  guideline::TimeToProto(m.ack_deadline, *response->mutable_ack_deadline());
  guideline::TimeToProto(result->as_of, *response->mutable_as_of());
  response->set_frozen(result->frozen);
  response->set_frozen_reason(result->frozen_reason);
  response->set_superseded_by(m.superseded_by);
  const ComplianceReport& r = result->report;
  FiguresToProto(r.total, *response->mutable_total());
  for (const TypeFigures& f : r.by_type) FiguresToProto(f, *response->add_by_type());
  const std::string& td = caller.agency.trust_domain;
  for (const AgencyStatus& s : r.acknowledged) {
    AgencyStatusToProto(s, td, *response->add_acknowledged());
  }
  for (const AgencyStatus& s : r.not_acknowledged) {
    AgencyStatusToProto(s, td, *response->add_not_acknowledged());
  }
  for (const AgencyStatus& s : r.suspended) {
    AgencyStatusToProto(s, td, *response->add_suspended());
  }
  for (const AgencyStatus& s : r.not_counted) {
    AgencyStatusToProto(s, td, *response->add_not_counted());
  }
  return grpc::Status::OK;
}

}  // namespace concord::guidelines
