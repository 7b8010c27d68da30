#include "services/liaison/liaison_service.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/attributes/agency_attributes.h"
#include "common/audit/audit_context.h"
#include "common/crypto/ed25519.h"
#include "common/envelope/liaison_descriptor.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/time/calendar.h"
#include "services/liaison/ids.h"
#include "services/liaison/jit.h"

namespace concord::liaison {
namespace {

constexpr std::string_view kService = "/concord.liaison.v1.Liaison/";
constexpr int kMaxPageSize = 500;
constexpr int kDefaultEntries = 100;
constexpr int kMaxEntries = 500;
constexpr absl::Duration kCancelCheck = absl::Milliseconds(50);

std::string Method(std::string_view name) {
  return absl::StrCat(std::string(kService), std::string(name));
}
std::string RequestObject(std::string_view id) {
  return absl::StrCat("liaison:", IsRequestId(std::string(id)) ? std::string(id) : "invalid");
}
std::string JitObject(std::string_view id) {
  return absl::StrCat("jit:", IsJitId(std::string(id)) ? std::string(id) : "invalid");
}

Status NotFoundRequest(std::string_view id) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("no request ", std::string(id), " for this agency")),
      "REQUEST_NOT_FOUND");
}

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(absl::RFC3339_sec, FromProtoTime(t), absl::UTCTimeZone());
}

}  // namespace

std::string ChangeBody(const v1::Request& next, const v1::HistoryEntry& entry, bool urgent) {
  nlohmann::json j = {{"type", "liaison.change"},
                      {"request_id", next.request_id()},
                      {"request_type", std::string(TypeName(next.type()))},
                      {"action", entry.action()},
                      {"from", std::string(StateName(entry.from_state()))},
                      {"to", std::string(StateName(entry.to_state()))},
                      {"version", next.version()},
                      {"by", AgencyKeyOf(entry.actor())}};
  nlohmann::json clocks = nlohmann::json::array();
  for (const v1::Clock& c : next.clocks()) {
    clocks.push_back({{"clock", std::string(ClockKindName(c.kind()))},
                      {"due_at", Rfc3339(c.due_at())},
                      {"time_zone", c.time_zone()}});
  }
  j["clocks"] = clocks;
  if (urgent) {
    j["urgent"] = true;
    j["text"] = "an 8-hour clock runs: the round-the-clock contact must act now";
  }
  return j.dump();
}

LiaisonService::LiaisonService(LiaisonStore& store, clients::DirectoryReader& directory,
                               audit::AuditSink& audit, metrics::Metrics& metrics,
                               server::OpenCalls& calls, const Clock& clock,
                               LiaisonServiceOptions options)
    : store_(store),
      directory_(directory),
      audit_(audit),
      calls_(calls),
      clock_(clock),
      options_(std::move(options)) {
  changes_ = &prometheus::BuildCounter()
                  .Name("concord_liaison_changes_total")
                  .Help(
                      "Liaison request changes applied, by request type and action (create, "
                      "acknowledge, answer, ...).")
                  .Register(metrics.registry());
  refusals_ = &prometheus::BuildCounter()
                   .Name("concord_liaison_refusals_total")
                   .Help(
                       "Liaison calls refused by this replica's domain rules, by reason "
                       "(JUDGE_REQUIRED, NOT_A_JIT_MEMBER, BAD_SIGNATURE, ...).")
                   .Register(metrics.registry());
  jit_streams_ = &prometheus::BuildGauge()
                      .Name("concord_liaison_jit_streams")
                      .Help("WatchJit streams open on this replica (one per watching member).")
                      .Register(metrics.registry())
                      .Add({});
}

Status LiaisonService::ChargeRead(const grpc::ServerContext& ctx, const Caller& caller,
                                  std::string object, std::string_view method) {
  return quota::ChargeRead(options_.reads, caller.agency, 1, [&](const Status& refusal) {
    (void)Audit(ctx, caller, audit::Operation::kConsultation, std::move(object), method, refusal);
  });
}

Status LiaisonService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                             audit::Operation op, std::string object, std::string_view method,
                             const Status& outcome, std::vector<std::string> recipients) {
  if (!outcome.ok()) {
    const std::string reason = ReasonOf(outcome);
    if (!reason.empty()) refusals_->Add({{"reason", reason}}).Increment();
  }
  const Status appended =
      audit_.Append(audit::AuditEvent{.agency = caller.agency,
                                      .officer = audit::OfficerFromContext(ctx),
                                      .operation = op,
                                      .object = std::move(object),
                                      .method = Method(method),
                                      .justification = audit::JustificationFromContext(ctx),
                                      .recipients = std::move(recipients),
                                      .outcome = absl::StatusCodeToString(outcome.code()),
                                      .time = clock_.Now()});
  if (!appended.ok() && outcome.ok()) {
    return absl::UnavailableError("audit log unavailable; the operation may be retried");
  }
  return outcome;
}

void LiaisonService::Decorate(v1::Request& r) const {
  const absl::Time now = clock_.Now();
  for (v1::Clock& c : *r.mutable_clocks()) c.set_overdue(FromProtoTime(c.due_at()) < now);
}

StatusOr<v1::Request> LiaisonService::LoadAsParty(std::string_view request_id,
                                                  const Caller& caller) {
  if (!IsRequestId(request_id)) {
    return InvalidArgumentWithFields("invalid request id",
                                     {{"request_id", "required: \"lr-\" + 26 characters"}});
  }
  auto r = store_.Get(request_id);
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kNotFound) return NotFoundRequest(request_id);
    return r.status();
  }
  // Security: the same answer as for a request that does not exist, so that a platform (or any
  // agency) learns nothing of the requests addressed to others.
  if (!SideOf(*r, caller.agency)) return NotFoundRequest(request_id);
  return r;
}

StatusOr<v1::Jit> LiaisonService::LoadAsMember(std::string_view jit_id, const Caller& caller) {
  if (!IsJitId(jit_id)) {
    return InvalidArgumentWithFields("invalid team id",
                                     {{"jit_id", "required: \"jit-\" + 26 characters"}});
  }
  CONCORD_ASSIGN_OR_RETURN(v1::Jit jit, store_.GetJit(jit_id));
  if (!IsJitMember(jit, caller.agency)) {
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat("agency ", caller.agency.Key(),
                                                 " is not a member of team ", std::string(jit_id))),
        "NOT_A_JIT_MEMBER");
  }
  return jit;
}

StatusOr<clients::DirectoryEntry> LiaisonService::ActiveAgency(
    const concord::common::v1::AgencyId& proto, std::string_view field) {
  auto id = AgencyIdFromProto(proto);
  if (!id.ok()) {
    return InvalidArgumentWithFields("invalid agency",
                                     {{std::string(field), "not a valid agency"}});
  }
  if (id->trust_domain.empty()) id->trust_domain = options_.trust_domain;
  if (id->trust_domain != options_.trust_domain) {
    return InvalidArgumentWithFields(
        "invalid agency",
        {{std::string(field) + ".trust_domain",
          "a partner deployment's agency is reached through the federation gateway"}});
  }
  auto entry = directory_.Get(*id);
  if (!entry.ok()) {
    if (entry.status().code() == absl::StatusCode::kNotFound) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            std::string(field), " ", id->Key(), " is not a registered agency")),
                        "UNKNOWN_AGENCY");
    }
    return entry.status();
  }
  if (!entry->active) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat(std::string(field), " ", id->Key(), " is suspended")),
                      "AGENCY_SUSPENDED");
  }
  return entry;
}

bool LiaisonService::IsPartnerAgency(const concord::common::v1::AgencyId& proto) const {
  return !proto.trust_domain().empty() && proto.trust_domain() != options_.trust_domain;
}

std::string LiaisonService::PartyIndex(const concord::common::v1::AgencyId& proto) const {
  if (!IsPartnerAgency(proto)) return AgencyKeyOf(proto);
  return absl::StrCat(proto.trust_domain(), "|", AgencyKeyOf(proto));
}

StatusOr<absl::TimeZone> LiaisonService::LoadZone(const std::string& name) {
  // common/time: FAILED_PRECONDITION naming the zone instead of absl's silent fall-back to UTC.
  return concord::LoadTimeZone(name);
}

Status LiaisonService::CheckAnswerSignature(const Caller& caller, const v1::Request& current,
                                            const v1::ActRequest& req) {
  if (req.move() != v1::MOVE_ANSWER || req.evidence().empty()) return absl::OkStatus();
  auto entry = directory_.Get(caller.agency);
  if (!entry.ok()) return entry.status();
  auto key = crypto::Ed25519PublicKey::FromPem(entry->signing_public_key_pem);
  if (!key.ok()) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("agency ", caller.agency.Key(),
                                       " has no valid signing key: its answer cannot be verified")),
                      "NO_SIGNING_KEY");
  }
  const std::string bytes =
      AnswerSigningBytes(current.request_id(), current.version() + 1, req.evidence());
  if (!key->Verify(bytes, req.answer_signature())) {
    return WithReason(
        InvalidArgumentWithFields(
            "bad answer signature",
            {{"answer_signature",
              "not the caller's Ed25519 signature of AnswerSigningBytes (request id, the version "
              "the answer creates, the evidence items in order)"}}),
        "BAD_SIGNATURE");
  }
  return absl::OkStatus();
}

Status LiaisonService::Write(const v1::Request* previous, const Outcome& outcome,
                             const AgencyId* charged) {
  const absl::Time now = clock_.Now();
  RequestWrite w;
  if (charged != nullptr) w.charges = ChargesOf(*charged, quota::Quota::kLiaisonRequest);
  w.issuer_index = PartyIndex(outcome.next.issuer());
  w.executor_index = PartyIndex(outcome.next.executor());
  if (previous != nullptr) w.previous = *previous;
  w.next = outcome.next;
  w.entry = outcome.entry;
  for (const v1::Clock& c : outcome.next.clocks()) {
    for (const Firing& f : FiringPlan(c, now, options_.clocks)) {
      w.firings.push_back({f.at, c.kind(), f.stage, FromProtoTime(c.due_at())});
    }
  }
  std::vector<std::string> local_recipients;
  for (const AgencyId& a : outcome.notify) {
    // A partner deployment's agency has no inbox here: its own deployment tells it.
    if (a.trust_domain.empty() || a.trust_domain == options_.trust_domain) {
      local_recipients.push_back(a.Key());
    }
  }
  if (!local_recipients.empty()) {
    ChangeNote n;
    n.id = absl::StrCat(outcome.next.request_id(), "-v", outcome.next.version());
    n.recipients = std::move(local_recipients);
    n.body = ChangeBody(outcome.next, outcome.entry, outcome.urgent);
    w.notes.push_back(std::move(n));
  }
  CONCORD_RETURN_IF_ERROR(store_.Apply(w));
  changes_->Add({{"type", TypeLabel(outcome.next.type())}, {"action", outcome.entry.action()}})
      .Increment();
  return absl::OkStatus();
}

Status LiaisonService::AdmitNewData(const Caller& caller, quota::Quota bucket) {
  if (options_.quotas == nullptr) return absl::OkStatus();
  return options_.quotas->Admit(caller.agency, {bucket});
}

Status LiaisonService::AdmitCharged(const Caller& caller, quota::Quota bucket) {
  if (options_.quotas == nullptr) return absl::OkStatus();
  return options_.quotas->AdmitRecent(caller.agency, {bucket});
}

std::vector<quota::Charge> LiaisonService::ChargesOf(const AgencyId& agency,
                                                     quota::Quota bucket) const {
  if (options_.quotas == nullptr) return {};
  return {options_.quotas->ChargeOf(agency, bucket, 1)};
}

bool LiaisonService::ObserveNewData(const Caller& caller, const Status& outcome) {
  return options_.quotas == nullptr || options_.quotas->Observe(caller.agency, outcome);
}

grpc::Status LiaisonService::CreateRequest(grpc::ServerContext* ctx,
                                           const v1::CreateRequestRequest* req,
                                           v1::RequestResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<Outcome> {
    CONCORD_RETURN_IF_ERROR(AdmitNewData(caller, quota::Quota::kLiaisonRequest));
    if (IsUnset(req->executor())) {
      return InvalidArgumentWithFields("invalid request", {{"executor", "required"}});
    }
    AgencyId executor_id;
    std::string zone_name;
    std::optional<AgencyType> executor_party;
    if (IsPartnerAgency(req->executor())) {
      // An executor of a partner deployment (reached through the federation gateway): counted
      // as a foreign partner by the party table; its zone is the one its signed directory
      // export states (Federation/GetPartnerAgency), given by the issuer.
      CONCORD_ASSIGN_OR_RETURN(executor_id, AgencyIdFromProto(req->executor()));
      if (req->executor_time_zone().empty()) {
        return InvalidArgumentWithFields(
            "invalid request", {{"executor_time_zone",
                                 "required for a partner deployment's executor: its time zone as "
                                 "Federation/GetPartnerAgency gives it"}});
      }
      if (!concord::LoadTimeZone(req->executor_time_zone()).ok()) {
        return InvalidArgumentWithFields(
            "invalid request", {{"executor_time_zone", "not an IANA time zone known here"}});
      }
      zone_name = req->executor_time_zone();
      executor_party = AgencyType::kForeignPartner;
    } else {
      if (!req->executor_time_zone().empty()) {
        return InvalidArgumentWithFields(
            "invalid request",
            {{"executor_time_zone",
              "only for a partner deployment's executor (a local executor's zone is its "
              "directory attribute)"}});
      }
      CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry executor,
                               ActiveAgency(req->executor(), "executor"));
      if (executor.id.Key() == caller.agency.Key()) {
        return InvalidArgumentWithFields("invalid request",
                                         {{"executor", "an agency does not order itself"}});
      }
      executor_id = executor.id;
      zone_name = attributes::AgencyAttributes(executor.id, executor.attributes).TimeZoneName();
    }
    CONCORD_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(zone_name));
    std::optional<std::string> role;
    if (auto me = directory_.Get(caller.agency); me.ok()) {
      role = attributes::AgencyAttributes(caller.agency, me->attributes)
                 .Enum(attributes::kMagistrateRole);
    } else if (me.status().code() != absl::StatusCode::kNotFound) {
      return me.status();
    }
    IssueContext ic{.issuer = caller.agency,
                    .issuer_role = role,
                    .executor = executor_id,
                    .executor_zone = zone,
                    .executor_zone_name = zone_name,
                    .now = clock_.Now(),
                    .request_id = NewRequestId(),
                    .issuer_party = std::nullopt,
                    .executor_party = executor_party};
    CONCORD_ASSIGN_OR_RETURN(Outcome out, Issue(*req, ic, options_.clocks));
    CONCORD_RETURN_IF_ERROR(Write(nullptr, out, &caller.agency));
    return out;
  };
  StatusOr<Outcome> done = run();
  // A flood of refused calls is counted but audited once a minute per agency.
  if (!ObserveNewData(caller, done.status())) return ToGrpcStatus(done.status());
  const Status status =
      Audit(*ctx, caller, audit::Operation::kCollection,
            RequestObject(done.ok() ? done->next.request_id() : ""), "CreateRequest", done.status(),
            done.ok() ? std::vector<std::string>{AgencyKeyOf(done->next.executor())}
                      : std::vector<std::string>{});
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_request() = std::move(done->next);
  *resp->mutable_entry() = std::move(done->entry);
  Decorate(*resp->mutable_request());
  return grpc::Status::OK;
}

grpc::Status LiaisonService::Act(grpc::ServerContext* ctx, const v1::ActRequest* req,
                                 v1::RequestResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<Outcome> {
    // Moves on existing requests go on above the storage watermark, but are charged the
    // caller's liaison_request bucket (in the store's script; here only this replica's recent
    // refusal, without I/O).
    CONCORD_RETURN_IF_ERROR(AdmitCharged(caller, quota::Quota::kLiaisonRequest));
    CONCORD_ASSIGN_OR_RETURN(v1::Request current, LoadAsParty(req->request_id(), caller));
    if (req->expected_version() <= 0) {
      return InvalidArgumentWithFields("expected_version required",
                                       {{"expected_version", "required: the version you read"}});
    }
    if (req->expected_version() != current.version()) {
      return absl::AbortedError(absl::StrCat("request ", current.request_id(), " is at version ",
                                             current.version(), ", not ", req->expected_version()));
    }
    CONCORD_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(current.executor_time_zone()));
    CONCORD_ASSIGN_OR_RETURN(
        Outcome out, ApplyMove(current, *req, caller.agency, clock_.Now(), zone, options_.clocks));
    CONCORD_RETURN_IF_ERROR(CheckAnswerSignature(caller, current, *req));
    CONCORD_RETURN_IF_ERROR(Write(&current, out, &caller.agency));
    return out;
  };
  StatusOr<Outcome> done = run();
  if (!ObserveNewData(caller, done.status())) return ToGrpcStatus(done.status());
  std::vector<std::string> recipients;
  if (done.ok()) {
    for (const AgencyId& a : done->notify) recipients.push_back(a.Key());
  }
  const Status status = Audit(*ctx, caller, audit::Operation::kAlteration,
                              RequestObject(req->request_id()), "Act", done.status(), recipients);
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_request() = std::move(done->next);
  *resp->mutable_entry() = std::move(done->entry);
  Decorate(*resp->mutable_request());
  return grpc::Status::OK;
}

grpc::Status LiaisonService::GetRequest(grpc::ServerContext* ctx, const v1::GetRequestRequest* req,
                                        v1::GetRequestResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(
      ChargeRead(*ctx, caller, RequestObject(req->request_id()), "GetRequest"));
  auto run = [&]() -> StatusOr<v1::GetRequestResponse> {
    v1::GetRequestResponse out;
    CONCORD_ASSIGN_OR_RETURN(*out.mutable_request(), LoadAsParty(req->request_id(), caller));
    CONCORD_ASSIGN_OR_RETURN(std::vector<v1::HistoryEntry> history,
                             store_.History(req->request_id()));
    for (v1::HistoryEntry& h : history) *out.add_history() = std::move(h);
    return out;
  };
  StatusOr<v1::GetRequestResponse> got = run();
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation,
                              RequestObject(req->request_id()), "GetRequest", got.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp = *std::move(got);
  Decorate(*resp->mutable_request());
  return grpc::Status::OK;
}

grpc::Status LiaisonService::ListRequests(grpc::ServerContext* ctx,
                                          const v1::ListRequestsRequest* req,
                                          v1::ListRequestsResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  FieldErrors errors;
  if (req->page().page_size() < 0 || req->page().page_size() > kMaxPageSize) {
    errors.Add("page.page_size", "0..500 (0 = 50)");
  }
  if (!v1::RequestType_IsValid(req->type())) errors.Add("type", "unknown");
  if (!v1::RequestState_IsValid(req->state())) errors.Add("state", "unknown");
  CONCORD_GRPC_RETURN_IF_ERROR(errors.ToStatus("invalid listing"));
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, "liaison:list", "ListRequests"));
  // A platform (like every agency) is indexed only under the requests it issued or must execute.
  StatusOr<RequestPage> page =
      store_.ListForAgency(caller.agency.Key(), req->type(), req->state(), req->page().page_size(),
                           req->page().page_token());
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation, "liaison:list",
                              "ListRequests", page.status());
  if (!status.ok()) return ToGrpcStatus(status);
  for (v1::Request& r : page->requests) {
    Decorate(r);
    *resp->add_requests() = std::move(r);
  }
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::LinkNotification(grpc::ServerContext* ctx,
                                              const v1::LinkNotificationRequest* req,
                                              v1::LinkNotificationResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<v1::NotificationLink> {
    FieldErrors errors;
    if (!IsMessageId(req->message_id())) {
      errors.Add("message_id", "required: the NOTIFICATION's message id ([A-Za-z0-9_-]{16,64})");
    }
    if (!IsReference(req->case_reference())) {
      errors.Add("case_reference", "required: [A-Za-z0-9._/-]{1,64}");
    }
    auto platform = AgencyIdFromProto(req->platform());
    if (!platform.ok() || platform->type != AgencyType::kPlatform) {
      errors.Add("platform", "required: the notifying platform (type platform)");
    }
    CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid link"));
    v1::NotificationLink link;
    link.set_message_id(req->message_id());
    link.set_case_reference(req->case_reference());
    *link.mutable_platform() = req->platform();
    if (link.platform().trust_domain().empty()) {
      link.mutable_platform()->set_trust_domain(options_.trust_domain);
    }
    *link.mutable_linked_by() = AgencyIdToProto(caller.agency);
    *link.mutable_linked_at() = ToProtoTime(clock_.Now());
    CONCORD_RETURN_IF_ERROR(store_.Link(caller.agency.Key(), link));
    return link;
  };
  StatusOr<v1::NotificationLink> link = run();
  const Status status =
      Audit(*ctx, caller, audit::Operation::kCombination,
            absl::StrCat("dsa:", IsMessageId(req->message_id()) ? req->message_id() : "invalid"),
            "LinkNotification", link.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_link() = *std::move(link);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::ListLinkedNotifications(grpc::ServerContext* ctx,
                                                     const v1::ListLinkedNotificationsRequest* req,
                                                     v1::ListLinkedNotificationsResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  if (!IsReference(req->case_reference())) {
    return ToGrpcStatus(InvalidArgumentWithFields(
        "invalid case reference", {{"case_reference", "required: [A-Za-z0-9._/-]{1,64}"}}));
  }
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, "dsa:list", "ListLinkedNotifications"));
  auto links = store_.Links(caller.agency.Key(), req->case_reference());
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation, "dsa:list",
                              "ListLinkedNotifications", links.status());
  if (!status.ok()) return ToGrpcStatus(status);
  for (v1::NotificationLink& l : *links) *resp->add_links() = std::move(l);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::CreateJit(grpc::ServerContext* ctx, const v1::CreateJitRequest* req,
                                       v1::JitResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  std::vector<std::string> member_keys;
  auto run = [&]() -> StatusOr<v1::Jit> {
    CONCORD_RETURN_IF_ERROR(AdmitNewData(caller, quota::Quota::kJitWrite));
    CONCORD_ASSIGN_OR_RETURN(std::vector<AgencyId> members,
                             CheckNewJit(*req, caller.agency, options_.trust_domain));
    for (size_t i = 0; i < members.size(); ++i) {
      CONCORD_RETURN_IF_ERROR(
          ActiveAgency(AgencyIdToProto(members[i]), absl::StrCat("members[", i, "]")).status());
    }
    const absl::Time now = clock_.Now();
    JitWrite w;
    v1::Jit& jit = w.next;
    jit.set_jit_id(NewJitId());
    jit.set_reference(req->reference());
    *jit.mutable_lead() = AgencyIdToProto(caller.agency);
    *jit.add_members() = AgencyIdToProto(caller.agency);
    w.add_keys.push_back(caller.agency.Key());
    for (const AgencyId& m : members) {
      *jit.add_members() = AgencyIdToProto(m);
      w.add_keys.push_back(m.Key());
      v1::JitEntry e;
      e.set_kind(v1::JIT_ENTRY_KIND_MEMBER_ADDED);
      *e.mutable_actor() = AgencyIdToProto(caller.agency);
      *e.mutable_at() = ToProtoTime(now);
      *e.mutable_member() = AgencyIdToProto(m);
      w.entries.push_back(std::move(e));
    }
    jit.set_version(1);
    *jit.mutable_created_at() = ToProtoTime(now);
    w.charges = ChargesOf(caller.agency, quota::Quota::kJitWrite);
    CONCORD_RETURN_IF_ERROR(store_.ApplyJit(w).status());
    member_keys = w.add_keys;
    return jit;
  };
  StatusOr<v1::Jit> jit = run();
  if (!ObserveNewData(caller, jit.status())) return ToGrpcStatus(jit.status());
  const Status status =
      Audit(*ctx, caller, audit::Operation::kCollection, JitObject(jit.ok() ? jit->jit_id() : ""),
            "CreateJit", jit.status(), member_keys);
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_jit() = *std::move(jit);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::AddJitMember(grpc::ServerContext* ctx,
                                          const v1::AddJitMemberRequest* req,
                                          v1::JitResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  std::string added;
  auto run = [&]() -> StatusOr<v1::Jit> {
    CONCORD_ASSIGN_OR_RETURN(v1::Jit current, LoadAsMember(req->jit_id(), caller));
    if (!SameAgency(current.lead(), caller.agency)) {
      return WithReason(absl::PermissionDeniedError("only the team's lead adds members"),
                        "NOT_THE_LEAD");
    }
    CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry member, ActiveAgency(req->member(), "member"));
    if (!MayJoinJit(member.id.type)) {
      return InvalidArgumentWithFields(
          "invalid member",
          {{"member.type",
            "a team's members are police, magistrates, social inspection and foreign partners"}});
    }
    if (IsJitMember(current, member.id)) {
      return WithReason(absl::AlreadyExistsError(absl::StrCat(member.id.Key(), " is a member")),
                        "ALREADY_A_MEMBER");
    }
    if (current.members_size() >= kMaxJitMembers) {
      return WithReason(absl::FailedPreconditionError("a team has at most 64 members"),
                        "TEAM_FULL");
    }
    JitWrite w;
    w.previous = current;
    w.next = current;
    *w.next.add_members() = AgencyIdToProto(member.id);
    w.next.set_version(current.version() + 1);
    w.add_keys.push_back(member.id.Key());
    v1::JitEntry e;
    e.set_kind(v1::JIT_ENTRY_KIND_MEMBER_ADDED);
    *e.mutable_actor() = AgencyIdToProto(caller.agency);
    *e.mutable_at() = ToProtoTime(clock_.Now());
    *e.mutable_member() = AgencyIdToProto(member.id);
    w.entries.push_back(std::move(e));
    CONCORD_RETURN_IF_ERROR(store_.ApplyJit(w).status());
    added = member.id.Key();
    return w.next;
  };
  StatusOr<v1::Jit> jit = run();
  const Status status =
      Audit(*ctx, caller, audit::Operation::kAlteration, JitObject(req->jit_id()), "AddJitMember",
            jit.status(), added.empty() ? std::vector<std::string>{} : std::vector{added});
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_jit() = *std::move(jit);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::LeaveJit(grpc::ServerContext* ctx, const v1::LeaveJitRequest* req,
                                      v1::JitResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<v1::Jit> {
    CONCORD_ASSIGN_OR_RETURN(v1::Jit current, LoadAsMember(req->jit_id(), caller));
    AgencyId target = caller.agency;
    if (!IsUnset(req->member())) {
      auto m = AgencyIdFromProto(req->member());
      if (!m.ok()) {
        return InvalidArgumentWithFields("invalid member", {{"member", "not a valid agency"}});
      }
      target = *m;
      if (target.trust_domain.empty()) target.trust_domain = options_.trust_domain;
    }
    const bool self = target.Key() == caller.agency.Key();
    if (!self && !SameAgency(current.lead(), caller.agency)) {
      return WithReason(absl::PermissionDeniedError("only the team's lead removes a member"),
                        "NOT_THE_LEAD");
    }
    if (SameAgency(current.lead(), target)) {
      return WithReason(absl::FailedPreconditionError("the lead cannot leave its team"),
                        "LEAD_CANNOT_LEAVE");
    }
    if (!IsJitMember(current, target)) {
      return WithReason(absl::FailedPreconditionError(
                            absl::StrCat(target.Key(), " is not a member of ", req->jit_id())),
                        "NOT_A_JIT_MEMBER");
    }
    JitWrite w;
    w.previous = current;
    w.next = current;
    w.next.clear_members();
    for (const auto& m : current.members()) {
      if (!SameAgency(m, target)) *w.next.add_members() = m;
    }
    w.next.set_version(current.version() + 1);
    w.remove_keys.push_back(target.Key());
    v1::JitEntry e;
    e.set_kind(v1::JIT_ENTRY_KIND_MEMBER_LEFT);
    *e.mutable_actor() = AgencyIdToProto(caller.agency);
    *e.mutable_at() = ToProtoTime(clock_.Now());
    *e.mutable_member() = AgencyIdToProto(target);
    w.entries.push_back(std::move(e));
    CONCORD_RETURN_IF_ERROR(store_.ApplyJit(w).status());
    return w.next;
  };
  StatusOr<v1::Jit> jit = run();
  const Status status = Audit(*ctx, caller, audit::Operation::kAlteration, JitObject(req->jit_id()),
                              "LeaveJit", jit.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_jit() = *std::move(jit);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::GetJit(grpc::ServerContext* ctx, const v1::GetJitRequest* req,
                                    v1::JitResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, JitObject(req->jit_id()), "GetJit"));
  StatusOr<v1::Jit> jit = LoadAsMember(req->jit_id(), caller);
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation,
                              JitObject(req->jit_id()), "GetJit", jit.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_jit() = *std::move(jit);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::ShareInJit(grpc::ServerContext* ctx, const v1::ShareInJitRequest* req,
                                        v1::ShareInJitResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  std::vector<std::string> recipients;
  auto run = [&]() -> StatusOr<v1::JitEntry> {
    CONCORD_RETURN_IF_ERROR(AdmitNewData(caller, quota::Quota::kJitWrite));
    CONCORD_RETURN_IF_ERROR(CheckShare(*req));
    for (const auto& r : req->recipients()) recipients.push_back(AgencyKeyOf(r));
    v1::JitEntry e;
    e.set_kind(req->kind());
    *e.mutable_actor() = AgencyIdToProto(caller.agency);
    *e.mutable_at() = ToProtoTime(clock_.Now());
    e.set_message_id(req->message_id());
    e.set_envelope_sha256(req->envelope_sha256());
    *e.mutable_evidence() = req->evidence();
    *e.mutable_recipients() = req->recipients();
    // Security: the sharer and every recipient must be current members, checked in the same
    // script that appends to the ledger (a member removed a moment ago cannot slip in).
    CONCORD_ASSIGN_OR_RETURN(
        int64_t seq, store_.AppendJitEntry(req->jit_id(), caller.agency.Key(), recipients, e,
                                           ChargesOf(caller.agency, quota::Quota::kJitWrite)));
    e.set_seq(seq);
    return e;
  };
  StatusOr<v1::JitEntry> entry = run();
  if (!ObserveNewData(caller, entry.status())) return ToGrpcStatus(entry.status());
  const Status status = Audit(*ctx, caller, audit::Operation::kDisclosure, JitObject(req->jit_id()),
                              "ShareInJit", entry.status(), recipients);
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_entry() = *std::move(entry);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::ListJitEntries(grpc::ServerContext* ctx,
                                            const v1::ListJitEntriesRequest* req,
                                            v1::ListJitEntriesResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(
      ChargeRead(*ctx, caller, JitObject(req->jit_id()), "ListJitEntries"));
  auto run = [&]() -> StatusOr<std::vector<v1::JitEntry>> {
    FieldErrors errors;
    if (req->max() < 0 || req->max() > kMaxEntries) errors.Add("max", "0..500 (0 = 100)");
    if (req->after_seq() < 0) errors.Add("after_seq", "must be >= 0");
    CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid listing"));
    CONCORD_RETURN_IF_ERROR(LoadAsMember(req->jit_id(), caller).status());
    return store_.JitEntries(req->jit_id(), req->after_seq(),
                             req->max() == 0 ? kDefaultEntries : req->max());
  };
  auto entries = run();
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation,
                              JitObject(req->jit_id()), "ListJitEntries", entries.status());
  if (!status.ok()) return ToGrpcStatus(status);
  for (v1::JitEntry& e : *entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status LiaisonService::WatchJit(grpc::ServerContext* ctx, const v1::WatchJitRequest* req,
                                      grpc::ServerWriter<v1::JitEntry>* writer) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Security: admission (certificate, suspension) and membership are re-checked before every
  // write: a member that leaves, or whose certificate is revoked, stops receiving at once. The
  // guard is taken first: a stream beyond the agency's cap on open streams is refused
  // (RESOURCE_EXHAUSTED LIMIT_REACHED) before anything is read.
  const server::CallGuard guard = calls_.Guard(*ctx, caller);
  CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, JitObject(req->jit_id()), "WatchJit"));
  Status opened = req->after_seq() < 0
                      ? InvalidArgumentWithFields("invalid watch", {{"after_seq", ">= 0"}})
                      : LoadAsMember(req->jit_id(), caller).status();
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                     JitObject(req->jit_id()), "WatchJit", opened));
  jit_streams_->Increment();
  struct StreamCount {
    prometheus::Gauge* gauge;
    ~StreamCount() { gauge->Decrement(); }
  } const counted{jit_streams_};
  const std::string me = caller.agency.Key();
  int64_t seq = req->after_seq();
  while (!ctx->IsCancelled()) {
    CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
    CONCORD_GRPC_ASSIGN_OR_RETURN(bool member, store_.IsJitMember(req->jit_id(), me));
    if (!member) {
      const Status left =
          WithReason(absl::PermissionDeniedError(
                         absl::StrCat("agency ", me, " is no longer a member of ", req->jit_id())),
                     "NOT_A_JIT_MEMBER");
      (void)Audit(*ctx, caller, audit::Operation::kConsultation, JitObject(req->jit_id()),
                  "WatchJit", left);
      return ToGrpcStatus(left);
    }
    CONCORD_GRPC_ASSIGN_OR_RETURN(std::vector<v1::JitEntry> batch,
                                  store_.JitEntries(req->jit_id(), seq, kDefaultEntries));
    for (const v1::JitEntry& e : batch) {
      CONCORD_GRPC_RETURN_IF_ERROR(guard.Check());
      if (!writer->Write(e)) return grpc::Status::OK;
      seq = e.seq();
    }
    if (static_cast<int>(batch.size()) == kDefaultEntries) continue;
    for (absl::Duration waited; waited < options_.watch_poll && !ctx->IsCancelled();
         waited += kCancelCheck) {
      if (guard.revoked()) break;
      absl::SleepFor(kCancelCheck);
    }
  }
  return grpc::Status::OK;
}

}  // namespace concord::liaison

namespace concord::liaison {
namespace {

constexpr std::string_view kGatewayId = "concord-gateway";  // common/authz kGatewayIdentityId
constexpr absl::Duration kMaxReceivedSkew = absl::Minutes(5);

std::string CrossingKey(const AgencyId& partner, std::string_view partner_request_id) {
  return absl::StrCat(partner.trust_domain, "|", std::string(partner_request_id));
}

}  // namespace

StatusOr<Outcome> LiaisonService::RecordPartnerRequest(const v1::SignedLiaisonDescriptor& signed_d,
                                                       absl::Time received_at) {
  const v1::PartnerRequestDescriptor& d = signed_d.request();
  CONCORD_ASSIGN_OR_RETURN(AgencyId issuer, AgencyIdFromProto(d.issuer()));
  if (!IsPartnerAgency(d.issuer())) {
    return InvalidArgumentWithFields("invalid crossing", {{"crossing.request.issuer.trust_domain",
                                                           "must be a partner deployment's"}});
  }
  CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry executor,
                           ActiveAgency(d.executor(), "crossing.request.executor"));
  // Idempotent: the first record of this partner request keeps its id (and its clocks).
  CONCORD_ASSIGN_OR_RETURN(
      std::string local_id,
      store_.ClaimCrossing(CrossingKey(issuer, d.issuer_request_id()), NewRequestId()));
  // The request already recorded under local_id, if any (a retried or replayed crossing).
  auto recorded = [&]() -> StatusOr<std::optional<Outcome>> {
    auto existing = store_.Get(local_id);
    if (absl::IsNotFound(existing.status())) return std::optional<Outcome>();
    CONCORD_RETURN_IF_ERROR(existing.status());
    if (!SameAgency(existing->issuer(), issuer) || !SameAgency(existing->executor(), executor.id)) {
      return WithReason(
          absl::AlreadyExistsError(absl::StrCat("partner request ", d.issuer_request_id(),
                                                " was recorded with other parties")),
          "DESCRIPTOR_MISMATCH");
    }
    Outcome out;
    out.next = *std::move(existing);
    CONCORD_ASSIGN_OR_RETURN(std::vector<v1::HistoryEntry> history, store_.History(local_id));
    if (!history.empty()) out.entry = history.front();
    return std::optional<Outcome>(std::move(out));
  };
  CONCORD_ASSIGN_OR_RETURN(std::optional<Outcome> first, recorded());
  if (first) return *std::move(first);
  const std::string zone_name =
      attributes::AgencyAttributes(executor.id, executor.attributes).TimeZoneName();
  CONCORD_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(zone_name));
  v1::CreateRequestRequest cr;
  cr.set_type(d.type());
  cr.set_order_message_id(d.order_message_id());
  cr.set_case_reference(d.case_reference());
  cr.set_urgency(d.urgency());
  cr.set_emergency(d.emergency());
  cr.set_data_category(d.data_category());
  cr.set_offence_max_years(d.offence_max_years());
  cr.set_do_not_inform_user(d.do_not_inform_user());
  // Security: the clocks start at the receiving gateway's acceptance, never at a time the
  // sender chose; the executor's zone is its own directory attribute here.
  IssueContext ic{.issuer = issuer,
                  .issuer_role = std::nullopt,
                  .executor = executor.id,
                  .executor_zone = zone,
                  .executor_zone_name = zone_name,
                  .now = received_at,
                  .request_id = local_id,
                  .issuer_party = AgencyType::kForeignPartner,
                  .executor_party = std::nullopt};
  CONCORD_ASSIGN_OR_RETURN(Outcome out, Issue(cr, ic, options_.clocks));
  out.next.set_partner_request_id(d.issuer_request_id());
  Status written = Write(nullptr, out, nullptr);
  if (absl::IsAlreadyExists(written)) {  // a concurrent retry recorded it first: return it
    CONCORD_ASSIGN_OR_RETURN(std::optional<Outcome> other, recorded());
    if (other) return *std::move(other);
  }
  CONCORD_RETURN_IF_ERROR(written);
  return out;
}

StatusOr<Outcome> LiaisonService::RecordPartnerAct(const v1::SignedLiaisonDescriptor& signed_d,
                                                   absl::Time received_at) {
  const v1::PartnerActDescriptor& d = signed_d.act();
  CONCORD_ASSIGN_OR_RETURN(AgencyId actor, AgencyIdFromProto(d.actor()));
  if (!IsPartnerAgency(d.actor())) {
    return InvalidArgumentWithFields("invalid crossing", {{"crossing.act.actor.trust_domain",
                                                           "must be a partner deployment's"}});
  }
  // Which side is this? The issuing side when issuer_request_id is a request this side issued
  // to the actor (an executor of the partner deployment); the executing side when it is the
  // request this side recorded from the actor (the partner issuer: its WITHDRAW, ...).
  std::optional<v1::Request> found;
  bool executor_acts = false;
  if (auto mine = store_.Get(d.issuer_request_id()); mine.ok()) {
    if (SameAgency(mine->executor(), actor) && IsPartnerAgency(mine->executor())) {
      found = *std::move(mine);
      executor_acts = true;
    }
  } else if (!absl::IsNotFound(mine.status())) {
    return mine.status();
  }
  if (!found) {
    CONCORD_ASSIGN_OR_RETURN(std::optional<std::string> local,
                             store_.FindCrossing(CrossingKey(actor, d.issuer_request_id())));
    if (local) {
      auto recorded = store_.Get(*local);
      if (recorded.ok() && SameAgency(recorded->issuer(), actor)) {
        found = *std::move(recorded);
      } else if (!recorded.ok() && !absl::IsNotFound(recorded.status())) {
        return recorded.status();
      }
    }
  }
  if (!found) return NotFoundRequest(d.issuer_request_id());
  v1::Request current = *std::move(found);
  const std::string act_ref = absl::StrCat(
      executor_acts ? d.executor_request_id() : d.issuer_request_id(), "/v", d.executor_version());
  CONCORD_ASSIGN_OR_RETURN(std::vector<v1::HistoryEntry> history,
                           store_.History(current.request_id()));
  for (const v1::HistoryEntry& h : history) {
    if (h.partner_act() == act_ref) {  // a retried relay: recorded once
      Outcome out;
      out.next = current;
      out.entry = h;
      return out;
    }
  }
  v1::ActRequest act;
  act.set_request_id(current.request_id());
  act.set_expected_version(current.version());
  act.set_move(d.move());
  if (d.reason_code() != v1::REASON_CODE_UNSPECIFIED) {
    act.mutable_reason()->set_code(d.reason_code());
  }
  act.set_extension_days(d.extension_days());
  CONCORD_ASSIGN_OR_RETURN(absl::TimeZone zone, LoadZone(current.executor_time_zone()));
  // The same move table as a local move: a move the table does not allow in this state, or by
  // this side, is refused (and the relay with it).
  CONCORD_ASSIGN_OR_RETURN(Outcome out,
                           ApplyMove(current, act, actor, received_at, zone, options_.clocks));
  if (executor_acts) out.next.set_partner_request_id(d.executor_request_id());
  out.entry.set_partner_act(act_ref);
  CONCORD_RETURN_IF_ERROR(Write(&current, out, nullptr));
  return out;
}

grpc::Status LiaisonService::RecordCrossing(grpc::ServerContext* ctx,
                                            const v1::RecordCrossingRequest* req,
                                            v1::RequestResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<Outcome> {
    // Security: only this deployment's federation gateway, which verified the descriptor's
    // signature against the partner's signed export, records what crossed.
    if (caller.agency.type != AgencyType::kAdmin || caller.agency.id != kGatewayId ||
        caller.agency.trust_domain != options_.trust_domain) {
      return WithReason(absl::PermissionDeniedError(
                            absl::StrCat("only this deployment's federation gateway (admin/",
                                         std::string(kGatewayId), ") records crossings")),
                        "NOT_THE_GATEWAY");
    }
    CONCORD_RETURN_IF_ERROR(envelope::CheckDescriptorShape(req->crossing(), "crossing"));
    const absl::Time now = clock_.Now();
    if (!req->has_received_at() ||
        absl::AbsDuration(FromProtoTime(req->received_at()) - now) > kMaxReceivedSkew) {
      return InvalidArgumentWithFields(
          "invalid crossing",
          {{"received_at", "required: the gateway's acceptance, within 5 minutes of now"}});
    }
    const absl::Time received_at = FromProtoTime(req->received_at());
    if (req->crossing().has_request()) {
      return RecordPartnerRequest(req->crossing(), received_at);
    }
    return RecordPartnerAct(req->crossing(), received_at);
  };
  StatusOr<Outcome> done = run();
  // Audited in the name of the partner agency that signed the descriptor (the gateway is only
  // the messenger), as the gateway's own records are.
  Caller audited = caller;
  if (auto signer = envelope::DescriptorSigner(req->crossing()); signer.ok()) {
    audited.agency = *signer;
  }
  std::vector<std::string> recipients;
  if (done.ok()) {
    recipients.push_back(
        AgencyKeyOf(req->crossing().has_request() ? done->next.executor() : done->next.issuer()));
  }
  const Status status = Audit(
      *ctx, audited,
      req->crossing().has_request() ? audit::Operation::kCollection : audit::Operation::kAlteration,
      RequestObject(done.ok() ? done->next.request_id() : ""), "RecordCrossing", done.status(),
      recipients);
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_request() = std::move(done->next);
  *resp->mutable_entry() = std::move(done->entry);
  Decorate(*resp->mutable_request());
  return grpc::Status::OK;
}

}  // namespace concord::liaison
