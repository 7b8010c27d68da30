#include "services/referrals/referrals_service.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/audit/audit_context.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/referrals/ids.h"
#include "services/referrals/routing.h"
#include "services/referrals/state_machine.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

constexpr std::string_view kService = "/concord.referrals.v1.Referrals/";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kDefaultDueWithinHours = 24 * 14;
constexpr size_t kMinJustification = 10;
constexpr size_t kMaxJustification = 500;

std::string Method(std::string_view name) { return std::string(kService) + std::string(name); }

// The audit object of a case: "referral:<case_id>" ("referral:invalid" for a malformed id).
std::string CaseObject(std::string_view case_id) {
  return "referral:" + std::string(IsCaseId(case_id) ? case_id : "invalid");
}

Status CaseIdProblem(std::string_view case_id) {
  if (IsCaseId(case_id)) return absl::OkStatus();
  return InvalidArgumentWithFields(
      "invalid case id",
      {{"case_id", "required: a case id as returned by SaveDraft (\"ref-\" + 26 characters)"}});
}

// The optimistic-concurrency check every change makes against the case it read: INVALID_ARGUMENT
// without a version, ABORTED when another change came first (the store's compare-and-set still
// decides between concurrent writers).
Status CheckExpectedVersion(const v1::Case& current, int64_t expected) {
  if (expected <= 0) {
    return InvalidArgumentWithFields("expected_version required",
                                     {{"expected_version", "required: the case version you read"}});
  }
  if (expected != current.version()) {
    return absl::AbortedError(absl::StrCat("case ", current.case_id(), " is at version ",
                                           current.version(), ", not ", expected));
  }
  return absl::OkStatus();
}

std::string TransitionBody(const v1::Case& next, const v1::HistoryEntry& entry) {
  nlohmann::json j = {{"type", "referral.transition"},
                      {"case_id", next.case_id()},
                      {"transition", entry.action()},
                      {"from", std::string(StateName(entry.from_state()))},
                      {"to", std::string(StateName(entry.to_state()))},
                      {"version", next.version()},
                      {"by", AgencyKeyOf(entry.actor())}};
  if (entry.has_sealed_note()) {
    // Who can open the sealed note of this entry (History, then OpenNote); never its content.
    nlohmann::json to = nlohmann::json::array();
    for (const v1::WrappedKey& k : entry.sealed_note().keys()) to.push_back(k.recipient());
    j["sealed_note_for"] = to;
  }
  if (!next.deadlines().empty()) {
    nlohmann::json deadlines = nlohmann::json::array();
    for (const v1::Deadline& d : next.deadlines()) {
      deadlines.push_back({{"deadline", std::string(DeadlineKindName(d.kind()))},
                           {"due_at", absl::FormatTime(absl::RFC3339_sec, FromProtoTime(d.due_at()),
                                                       absl::UTCTimeZone())}});
    }
    j["deadlines"] = deadlines;
  }
  return j.dump();
}

}  // namespace

ReferralsService::ReferralsService(ReferralStore& store, clients::DirectoryReader& directory,
                                   audit::AuditSink& audit, metrics::Metrics& metrics,
                                   const Clock& clock, ReferralsServiceOptions options)
    : store_(store),
      directory_(directory),
      audit_(audit),
      clock_(clock),
      options_(std::move(options)) {
  transitions_ = &prometheus::BuildCounter()
                      .Name("concord_referral_transitions_total")
                      .Help(
                          "Referral case changes applied, by transition (save_draft, submit, "
                          "accept, ..., update_sealed).")
                      .Register(metrics.registry());
  sealed_refusals_ = &prometheus::BuildCounter()
                          .Name("concord_referral_sealed_refusals_total")
                          .Help(
                              "Sealed boxes refused by this replica, by reason: "
                              "SIGNATURE_REQUIRED / BAD_SIGNATURE (a write whose box is not "
                              "signed by the caller), SEALED_RECORD_MISMATCH (a stored record "
                              "is not the version it is stored under: tampered storage).")
                          .Register(metrics.registry());
}

audit::AuditEvent ReferralsService::Event(const grpc::ServerContext& ctx, const Caller& caller,
                                          audit::Operation op, std::string object,
                                          std::string_view method, const Status& outcome,
                                          std::string justification,
                                          std::vector<std::string> recipients) const {
  return audit::AuditEvent{.agency = caller.agency,
                           .officer = audit::OfficerFromContext(ctx),
                           .operation = op,
                           .object = std::move(object),
                           .method = Method(method),
                           .justification = justification.empty()
                                                ? audit::JustificationFromContext(ctx)
                                                : std::move(justification),
                           .recipients = std::move(recipients),
                           .outcome = absl::StatusCodeToString(outcome.code()),
                           .time = clock_.Now()};
}

Status ReferralsService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                               audit::Operation op, std::string_view case_id,
                               std::string_view method, const Status& outcome,
                               std::string justification, std::vector<std::string> recipients) {
  const Status appended = audit_.Append(Event(ctx, caller, op, CaseObject(case_id), method, outcome,
                                              std::move(justification), std::move(recipients)));
  if (!appended.ok() && outcome.ok()) {
    return absl::UnavailableError("audit log unavailable; the operation may be retried");
  }
  return outcome;
}

void ReferralsService::Decorate(v1::Case& c) const {
  const absl::Time now = clock_.Now();
  for (v1::Deadline& d : *c.mutable_deadlines()) d.set_overdue(FromProtoTime(d.due_at()) < now);
}

StatusOr<v1::Case> ReferralsService::LoadAsParty(std::string_view case_id, const Caller& caller) {
  CONCORD_RETURN_IF_ERROR(CaseIdProblem(case_id));
  CONCORD_ASSIGN_OR_RETURN(v1::Case c, store_.Get(case_id));
  // Security: a draft is the referring agency's alone; the same answer as for a non-party, so
  // that nobody learns that a draft names it.
  if (!MayView(c, caller.agency)) {
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat("agency ", caller.agency.Key(),
                                                 " is not a party of case ", std::string(case_id))),
        "NOT_A_PARTY");
  }
  return c;
}

Status ReferralsService::CheckTarget(const v1::TransitionRequest& req) {
  if (IsUnset(req.target())) return absl::OkStatus();
  auto target = AgencyIdFromProto(req.target());
  if (!target.ok()) {
    return InvalidArgumentWithFields("invalid target", {{"target", "not a valid agency"}});
  }
  target->trust_domain = options_.trust_domain;
  auto entry = directory_.Get(*target);
  if (!entry.ok()) {
    if (entry.status().code() == absl::StatusCode::kNotFound) {
      return WithReason(absl::FailedPreconditionError(
                            absl::StrCat("target ", target->Key(), " is not a registered agency")),
                        "UNKNOWN_AGENCY");
    }
    return entry.status();
  }
  if (!entry->active) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat("target ", target->Key(), " is suspended")),
        "AGENCY_SUSPENDED");
  }
  return absl::OkStatus();
}

Status ReferralsService::CheckSigned(const Caller& caller, std::string_view case_id,
                                     const std::vector<SignedBox>& boxes) {
  if (boxes.empty()) return absl::OkStatus();
  auto entry = directory_.Get(caller.agency);
  if (!entry.ok()) {
    if (entry.status().code() != absl::StatusCode::kNotFound) return entry.status();
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "agency ", caller.agency.Key(), " is not registered: its signature cannot be checked")),
        "UNKNOWN_AGENCY");
  }
  auto key = crypto::Ed25519PublicKey::FromPem(entry->signing_public_key_pem);
  if (!key.ok()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "agency ", caller.agency.Key(),
                          " has no valid signing key in the directory: a sealed box it writes "
                          "cannot be verified")),
                      "NO_SIGNING_KEY");
  }
  for (const SignedBox& b : boxes) {
    Status checked = CheckBoxSignature(b.from_client, b.stamped, b.kind, case_id, *key, b.field);
    if (!checked.ok()) {
      sealed_refusals_->Add({{"reason", ReasonOf(checked)}}).Increment();
      return checked;
    }
  }
  return absl::OkStatus();
}

grpc::Status ReferralsService::SaveDraft(grpc::ServerContext* ctx, const v1::SaveDraftRequest* req,
                                         v1::SaveDraftResponse* resp) {
  // Every field within its bound (limits.proto) before anything reads the request.
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const absl::Time now = clock_.Now();
  auto run = [&]() -> StatusOr<v1::Case> {
    if (options_.quotas != nullptr) {
      // Drafts are new data: refused at the storage watermark and by this replica's recent
      // refusal of the caller's draft bucket, before any work (no I/O).
      CONCORD_RETURN_IF_ERROR(options_.quotas->Admit(caller.agency, {quota::Quota::kDraft}));
    }
    CONCORD_RETURN_IF_ERROR(ProblemsToStatus("invalid draft", FormatProblems(*req)));
    std::optional<v1::Case> previous;
    v1::Case next;
    if (req->case_id().empty()) {
      next.set_case_id(NewCaseId());
      next.set_subject_ref(NewSubjectRef());
      *next.mutable_referring_agency() = AgencyIdToProto(caller.agency);
      next.set_state(v1::CASE_STATE_DETECTED);
      next.set_version(1);
      *next.mutable_created_at() = ToProtoTime(now);
    } else {
      CONCORD_ASSIGN_OR_RETURN(v1::Case current, LoadAsParty(req->case_id(), caller));
      if (!SameAgency(current.referring_agency(), caller.agency)) {
        return WithReason(absl::PermissionDeniedError("only the referring agency edits its draft"),
                          "NOT_THE_REFERRER");
      }
      if (current.state() != v1::CASE_STATE_DETECTED) {
        return WithReason(absl::FailedPreconditionError(absl::StrCat(
                              "case ", current.case_id(), " is in state ",
                              std::string(StateName(current.state())), ", not a draft (DETECTED)")),
                          "NOT_A_DRAFT");
      }
      CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(current, req->expected_version()));
      previous = current;
      next = current;
      next.set_version(current.version() + 1);
    }
    ApplyDraft(*req, next);
    *next.mutable_updated_at() = ToProtoTime(now);
    CaseWrite write;
    if (!req->sealed_record().ciphertext().empty() || !req->sealed_record().keys().empty()) {
      v1::SealedRecord stamped = StampSealedRecord(
          req->sealed_record(), next.sealed_record_version() + 1, caller.agency, now);
      CONCORD_RETURN_IF_ERROR(CheckSigned(
          caller, next.case_id(),
          {{req->sealed_record(), stamped, client::SealedKind::kRecord, "sealed_record"}}));
      AttachSealedRecord(stamped, next);
      write.sealed = std::move(stamped);
    }
    v1::HistoryEntry& entry = write.entry;
    entry.set_version(next.version());
    entry.set_action(previous ? "save_draft" : "create_draft");
    entry.set_from_state(v1::CASE_STATE_DETECTED);
    entry.set_to_state(v1::CASE_STATE_DETECTED);
    *entry.mutable_actor() = AgencyIdToProto(caller.agency);
    *entry.mutable_at() = ToProtoTime(now);
    write.previous = std::move(previous);
    write.next = next;
    if (options_.quotas != nullptr) {
      write.charges.push_back(options_.quotas->ChargeOf(caller.agency, quota::Quota::kDraft, 1));
      write.draft_cap = options_.quotas->table().CapOf(caller.agency.type, quota::Cap::kDrafts);
    }
    CONCORD_RETURN_IF_ERROR(store_.Apply(write));
    transitions_->Add({{"transition", entry.action()}}).Increment();
    return next;
  };
  StatusOr<v1::Case> saved = run();
  // A flood of refused drafts is counted but audited once a minute per agency.
  if (options_.quotas != nullptr && !options_.quotas->Observe(caller.agency, saved.status())) {
    return ToGrpcStatus(saved.status());
  }
  const std::string case_id = saved.ok() ? saved->case_id() : req->case_id();
  const Status status =
      Audit(*ctx, caller,
            req->case_id().empty() ? audit::Operation::kCollection : audit::Operation::kAlteration,
            case_id, "SaveDraft", saved.status());
  if (!status.ok()) return ToGrpcStatus(status);
  for (v1::FieldProblem& p : SubmitProblems(*saved)) *resp->add_problems() = std::move(p);
  Decorate(*saved);
  *resp->mutable_case_() = *std::move(saved);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::Validate(grpc::ServerContext* ctx, const v1::ValidateRequest* req,
                                        v1::ValidateResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  std::vector<v1::FieldProblem> problems;
  if (!req->case_id().empty()) {
    // A stored draft is case data: its consultation is audited (before the answer).
    auto c = LoadAsParty(req->case_id(), caller);
    const Status status = Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(),
                                "Validate", c.status());
    if (!status.ok()) return ToGrpcStatus(status);
    problems = SubmitProblems(*c);
  } else {
    // An inline draft: the caller's own input, nothing stored is read (not audited).
    problems = FormatProblems(req->draft());
    v1::Case draft;
    *draft.mutable_referring_agency() = AgencyIdToProto(caller.agency);
    draft.set_state(v1::CASE_STATE_DETECTED);
    ApplyDraft(req->draft(), draft);
    if (!req->draft().sealed_record().ciphertext().empty()) {
      AttachSealedRecord(
          StampSealedRecord(req->draft().sealed_record(), 1, caller.agency, clock_.Now()), draft);
    }
    if (problems.empty()) problems = SubmitProblems(draft);
  }
  resp->set_valid(problems.empty());
  for (v1::FieldProblem& p : problems) *resp->add_problems() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::SuggestCentres(grpc::ServerContext* ctx,
                                              const v1::SuggestCentresRequest* req,
                                              v1::SuggestCentresResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  (void)caller;
  std::vector<v1::FieldProblem> problems = AttributeProblems(req->attributes(), "attributes");
  if (req->max_results() < 0) {
    v1::FieldProblem p;
    p.set_field("max_results");
    p.set_description("must be >= 0 (0 = all)");
    problems.push_back(p);
  }
  CONCORD_GRPC_RETURN_IF_ERROR(ProblemsToStatus("invalid request", problems));
  CONCORD_GRPC_ASSIGN_OR_RETURN(std::vector<clients::DirectoryEntry> entries,
                                directory_.ListByType(AgencyType::kReceptionCentre));
  CONCORD_GRPC_ASSIGN_OR_RETURN(auto load, store_.CentreLoad());
  std::vector<CentreInfo> centres;
  for (clients::DirectoryEntry& e : entries) {
    if (!e.active) continue;
    CentreInfo info{.id = e.id,
                    .display_name = std::move(e.display_name),
                    .jurisdiction = std::move(e.jurisdiction),
                    .languages = std::move(e.languages),
                    .specialisations = std::move(e.specialisations),
                    .capacity = e.capacity,
                    .open_cases = 0};
    if (auto it = load.find(e.id.Key()); it != load.end()) {
      info.open_cases = static_cast<int>(it->second);
    }
    centres.push_back(std::move(info));
  }
  for (v1::CentreSuggestion& s : RankCentres(req->attributes(), centres, req->max_results())) {
    *resp->add_suggestions() = std::move(s);
  }
  return grpc::Status::OK;
}

StatusOr<v1::TransitionResponse> ReferralsService::DoTransition(const Caller& caller,
                                                                const v1::TransitionRequest& req) {
  CONCORD_ASSIGN_OR_RETURN(v1::Case current, LoadAsParty(req.case_id(), caller));
  CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(current, req.expected_version()));
  const absl::Time now = clock_.Now();
  CONCORD_ASSIGN_OR_RETURN(TransitionOutcome outcome,
                           ApplyTransition(current, req, caller.agency, now, options_.deadlines));
  CONCORD_RETURN_IF_ERROR(CheckTarget(req));
  std::vector<SignedBox> boxes;
  if (outcome.sealed) {
    boxes.push_back(
        {req.sealed_record(), *outcome.sealed, client::SealedKind::kRecord, "sealed_record"});
  }
  if (outcome.entry.has_sealed_note()) {
    boxes.push_back(
        {req.sealed_note(), outcome.entry.sealed_note(), client::SealedKind::kNote, "sealed_note"});
  }
  CONCORD_RETURN_IF_ERROR(CheckSigned(caller, current.case_id(), boxes));
  CaseWrite write;
  write.previous = current;
  write.next = outcome.next;
  write.entry = outcome.entry;
  write.sealed = outcome.sealed;
  write.deadlines_started = outcome.started;
  write.deadlines_ended = outcome.ended;
  if (!outcome.notify.empty()) {
    Notification n;
    n.id = absl::StrCat(outcome.next.case_id(), "-v", outcome.next.version());
    n.case_id = outcome.next.case_id();
    for (const AgencyId& a : outcome.notify) n.recipients.push_back(a.Key());
    n.body = TransitionBody(outcome.next, outcome.entry);
    write.notifications.push_back(std::move(n));
  }
  CONCORD_RETURN_IF_ERROR(store_.Apply(write));
  transitions_->Add({{"transition", outcome.entry.action()}}).Increment();
  v1::TransitionResponse resp;
  *resp.mutable_case_() = std::move(outcome.next);
  *resp.mutable_entry() = std::move(outcome.entry);
  return resp;
}

grpc::Status ReferralsService::Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                                      v1::TransitionResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  v1::TransitionRequest t;
  t.set_case_id(req->case_id());
  t.set_expected_version(req->expected_version());
  t.set_kind(v1::TRANSITION_KIND_SUBMIT);
  StatusOr<v1::TransitionResponse> done = DoTransition(caller, t);
  const Status status =
      Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(), "Submit", done.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp = *std::move(done);
  Decorate(*resp->mutable_case_());
  return grpc::Status::OK;
}

grpc::Status ReferralsService::Transition(grpc::ServerContext* ctx,
                                          const v1::TransitionRequest* req,
                                          v1::TransitionResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<v1::TransitionResponse> done = DoTransition(caller, *req);
  const Status status = Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(),
                              "Transition", done.status());
  if (!status.ok()) return ToGrpcStatus(status);
  *resp = *std::move(done);
  Decorate(*resp->mutable_case_());
  return grpc::Status::OK;
}

grpc::Status ReferralsService::Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                                   v1::GetResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<v1::Case> c = LoadAsParty(req->case_id(), caller);
  const Status status =
      Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(), "Get", c.status());
  if (!status.ok()) return ToGrpcStatus(status);
  Decorate(*c);
  *resp->mutable_case_() = *std::move(c);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::OpenSealed(grpc::ServerContext* ctx,
                                          const v1::OpenSealedRequest* req,
                                          v1::OpenSealedResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const std::string justification =
      audit::SanitizeAssertedValue(req->justification(), kMaxJustification);
  v1::Case read;
  auto run = [&]() -> StatusOr<v1::SealedRecord> {
    if (justification.size() < kMinJustification) {
      return InvalidArgumentWithFields(
          "a justification is required to open a sealed record",
          {{"justification", absl::StrCat("required: ", kMinJustification, "..", kMaxJustification,
                                          " printable characters")}});
    }
    if (req->version() < 0) {
      return InvalidArgumentWithFields("invalid version", {{"version", "must be >= 0"}});
    }
    CONCORD_ASSIGN_OR_RETURN(v1::Case c, LoadAsParty(req->case_id(), caller));
    // Security: a centre that declined keeps no right on the personal data.
    if (IsDecliningCentre(c, caller.agency)) {
      return WithReason(absl::PermissionDeniedError(absl::StrCat(
                            "agency ", caller.agency.Key(), " declined case ", c.case_id(),
                            ": the sealed record is no longer handed to it")),
                        "CENTRE_DECLINED");
    }
    if (c.sealed_record_version() == 0) {
      return absl::NotFoundError(absl::StrCat("case ", c.case_id(), " has no sealed record"));
    }
    if (req->version() > c.sealed_record_version()) {
      return absl::NotFoundError(
          absl::StrCat("case ", c.case_id(), " has no sealed record version ", req->version()));
    }
    const int64_t slot = req->version() == 0 ? c.sealed_record_version() : req->version();
    CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord record, store_.GetSealed(c.case_id(), slot));
    if (record.version() != slot) {
      // The stored box is not the version it is stored under: an older version put back under
      // a newer number in the store. Readers would catch it too (the signature covers the
      // version); refusing here also protects readers that do not verify.
      sealed_refusals_->Add({{"reason", "SEALED_RECORD_MISMATCH"}}).Increment();
      return WithReason(absl::DataLossError(absl::StrCat(
                            "the sealed record stored as version ", slot, " of case ", c.case_id(),
                            " is version ", record.version(), ": storage altered")),
                        "SEALED_RECORD_MISMATCH");
    }
    // Only the agencies the record is sealed to (the centre and the magistrate, per version).
    const std::string me = caller.agency.Key();
    bool sealed_to_me = false;
    for (const v1::WrappedKey& k : record.keys()) sealed_to_me |= (k.recipient() == me);
    if (!sealed_to_me) {
      return WithReason(absl::PermissionDeniedError(
                            absl::StrCat("the sealed record of case ", c.case_id(), " version ",
                                         record.version(), " is not sealed to ", me)),
                        "NOT_A_RECIPIENT");
    }
    read = std::move(c);
    return record;
  };
  StatusOr<v1::SealedRecord> record = run();
  // Audited before anything is returned: no audit record, no personal record.
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(),
                              "OpenSealed", record.status(), justification);
  if (!status.ok()) return ToGrpcStatus(status);
  *resp->mutable_record() = *std::move(record);
  Decorate(read);
  *resp->mutable_case_() = std::move(read);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::UpdateSealed(grpc::ServerContext* ctx,
                                            const v1::UpdateSealedRequest* req,
                                            v1::UpdateSealedResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  const absl::Time now = clock_.Now();
  auto run = [&]() -> StatusOr<v1::Case> {
    CONCORD_RETURN_IF_ERROR(ProblemsToStatus(
        "invalid sealed record", SealedRecordProblems(req->sealed_record(), "sealed_record")));
    CONCORD_ASSIGN_OR_RETURN(v1::Case current, LoadAsParty(req->case_id(), caller));
    CONCORD_RETURN_IF_ERROR(CheckRecordKeeper(current, caller.agency));
    CONCORD_RETURN_IF_ERROR(ProblemsToStatus(
        "the sealed record must be sealed to the receiving centre and the magistrate only",
        RecipientProblems(req->sealed_record(), current, "sealed_record")));
    CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(current, req->expected_version()));
    v1::Case next = current;
    next.set_version(current.version() + 1);
    *next.mutable_updated_at() = ToProtoTime(now);
    v1::SealedRecord stamped = StampSealedRecord(
        req->sealed_record(), current.sealed_record_version() + 1, caller.agency, now);
    CONCORD_RETURN_IF_ERROR(CheckSigned(
        caller, current.case_id(),
        {{req->sealed_record(), stamped, client::SealedKind::kRecord, "sealed_record"}}));
    AttachSealedRecord(stamped, next);
    CaseWrite write;
    write.previous = current;
    write.next = next;
    write.sealed = std::move(stamped);
    write.entry.set_version(next.version());
    write.entry.set_action("update_sealed");
    write.entry.set_from_state(current.state());
    write.entry.set_to_state(current.state());
    *write.entry.mutable_actor() = AgencyIdToProto(caller.agency);
    *write.entry.mutable_at() = ToProtoTime(now);
    CONCORD_RETURN_IF_ERROR(store_.Apply(write));
    transitions_->Add({{"transition", "update_sealed"}}).Increment();
    return next;
  };
  StatusOr<v1::Case> updated = run();
  const Status status = Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(),
                              "UpdateSealed", updated.status());
  if (!status.ok()) return ToGrpcStatus(status);
  Decorate(*updated);
  *resp->mutable_case_() = *std::move(updated);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                                    v1::ListResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  FieldErrors errors;
  int page_size = req->page().page_size() == 0 ? kDefaultPageSize : req->page().page_size();
  if (page_size < 0 || page_size > kMaxPageSize) {
    errors.Add("page.page_size", absl::StrCat("must be in 0..", kMaxPageSize));
  }
  if (!v1::CaseState_IsValid(req->state())) errors.Add("state", "unknown state");
  if (req->due_within_hours() < 0) errors.Add("due_within_hours", "must be >= 0");
  auto run = [&]() -> StatusOr<CasePage> {
    CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid list request"));
    absl::Time due_before = absl::InfiniteFuture();
    if (req->deadline_due()) {
      const int hours =
          req->due_within_hours() == 0 ? kDefaultDueWithinHours : req->due_within_hours();
      due_before = clock_.Now() + absl::Hours(hours);
    }
    CONCORD_ASSIGN_OR_RETURN(CasePage page,
                             store_.ListForAgency(caller.agency.Key(), req->state(), due_before,
                                                  page_size, req->page().page_token()));
    // Security: the index may still hold a draft that names the caller (indexed before drafts
    // became private): only what the caller may see is returned.
    std::erase_if(page.cases, [&](const v1::Case& c) { return !MayView(c, caller.agency); });
    return page;
  };
  StatusOr<CasePage> page = run();
  // One consultation record per case returned, all stored before the page is returned (one
  // group-committed round trip); a refused List is recorded once, against "referral:list".
  std::vector<audit::AuditEvent> events;
  if (!page.ok()) {
    events.push_back(Event(*ctx, caller, audit::Operation::kConsultation, "referral:list", "List",
                           page.status()));
  } else {
    for (const v1::Case& c : page->cases) {
      events.push_back(Event(*ctx, caller, audit::Operation::kConsultation, CaseObject(c.case_id()),
                             "List", absl::OkStatus()));
    }
  }
  if (!events.empty()) {
    const Status appended = audit_.AppendAll(events);
    if (!page.ok()) return ToGrpcStatus(page.status());
    if (!appended.ok()) {
      return ToGrpcStatus(absl::UnavailableError("audit log unavailable; the list may be retried"));
    }
  }
  for (v1::Case& c : page->cases) {
    Decorate(c);
    *resp->add_cases() = std::move(c);
  }
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::History(grpc::ServerContext* ctx, const v1::HistoryRequest* req,
                                       v1::HistoryResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  auto run = [&]() -> StatusOr<std::vector<v1::HistoryEntry>> {
    CONCORD_RETURN_IF_ERROR(LoadAsParty(req->case_id(), caller).status());
    return store_.History(req->case_id());
  };
  StatusOr<std::vector<v1::HistoryEntry>> entries = run();
  const Status status = Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(),
                              "History", entries.status());
  if (!status.ok()) return ToGrpcStatus(status);
  for (v1::HistoryEntry& e : *entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

}  // namespace concord::referrals
