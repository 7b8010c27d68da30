#include "services/referrals/referrals_service.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/attributes/agency_attributes.h"
#include "common/audit/audit_context.h"
#include "common/limits/field_limits.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/referrals/ids.h"
#include "services/referrals/routing.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

constexpr std::string_view kService = "/concord.referrals.v1.Referrals/";
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kDefaultDueWithinHours = 24 * 14;

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

nlohmann::json DeadlinesJson(const google::protobuf::RepeatedPtrField<v1::Deadline>& deadlines,
                             absl::TimeZone zone) {
  nlohmann::json out = nlohmann::json::array();
  for (const v1::Deadline& d : deadlines) {
    nlohmann::json j = {{"deadline", std::string(DeadlineKindName(d.kind()))},
                        {"due_at", FormatLocalTime(FromProtoTime(d.due_at()), zone)}};
    if (!d.last_day().empty()) j["last_day"] = d.last_day();
    out.push_back(std::move(j));
  }
  return out;
}

// The notification of a transition: what happened, never personal data; times in the legal zone
// (ISO 8601 with the offset).
std::string TransitionBody(const v1::Case& next, const v1::HistoryEntry& entry,
                           absl::TimeZone zone) {
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
  if (entry.document() != v1::DOCUMENT_KIND_UNSPECIFIED) {
    j["document"] = std::string(DocumentName(entry.document()));
  }
  if (!next.document_valid_through().empty() && entry.document() != v1::DOCUMENT_KIND_UNSPECIFIED) {
    j["document_expires"] = next.document_valid_through();
  }
  if (entry.ground() != v1::DOCUMENT_GROUND_UNSPECIFIED) {
    j["ground"] = v1::DocumentGround_Name(entry.ground()).substr(sizeof("DOCUMENT_GROUND_") - 1);
  }
  if (!next.deadlines().empty()) j["deadlines"] = DeadlinesJson(next.deadlines(), zone);
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
                          "Referral case changes applied, by transition (create_draft, "
                          "save_draft, submit, accept, ..., update_sealed).")
                      .Register(metrics.registry());
  sealed_refusals_ = &prometheus::BuildCounter()
                          .Name("concord_referral_sealed_refusals_total")
                          .Help(
                              "Sealed boxes refused by this replica, by reason: "
                              "SIGNATURE_REQUIRED / BAD_SIGNATURE (a write whose box is not "
                              "signed by the caller), SEALED_RECORD_MISMATCH (a stored box "
                              "is not the version it is stored under: tampered storage).")
                          .Register(metrics.registry());
  party_refusals_ = &prometheus::BuildCounter()
                         .Name("concord_referral_party_refusals_total")
                         .Help(
                             "Agencies a Submit or a transition named and the directory did not "
                             "accept (nothing was changed), by reason (UNKNOWN_AGENCY, "
                             "AGENCY_SUSPENDED, WRONG_AGENCY_TYPE) and role (centre, magistrate, "
                             "guardianship_service, immigration_office, investigating_unit, "
                             "target).")
                         .Register(metrics.registry());
}

audit::AuditEvent ReferralsService::Event(const grpc::ServerContext& ctx, const Caller& caller,
                                          audit::Operation op, std::string object,
                                          std::string_view method, const Status& outcome,
                                          std::string justification, bool from_metadata,
                                          std::string details) const {
  if (justification.empty() && from_metadata) {
    justification = audit::JustificationFromContext(ctx);
  }
  return audit::AuditEvent{.agency = caller.agency,
                           .officer = audit::OfficerFromContext(ctx),
                           .operation = op,
                           .object = std::move(object),
                           .method = Method(method),
                           .justification = std::move(justification),
                           .recipients = {},
                           .outcome = absl::StatusCodeToString(outcome.code()),
                           .time = clock_.Now(),
                           .details = std::move(details)};
}

Status ReferralsService::Audit(const audit::AuditEvent& event, const Status& outcome) {
  const Status appended = audit_.Append(event);
  if (!appended.ok() && outcome.ok()) {
    return absl::UnavailableError("audit log unavailable; the operation may be retried");
  }
  return outcome;
}

Status ReferralsService::Audit(const grpc::ServerContext& ctx, const Caller& caller,
                               audit::Operation op, std::string_view case_id,
                               std::string_view method, const Status& outcome) {
  return Audit(Event(ctx, caller, op, CaseObject(case_id), method, outcome), outcome);
}

Status ReferralsService::ChargeRead(const grpc::ServerContext& ctx, const Caller& caller,
                                    std::string object, std::string_view method, int64_t cost) {
  return quota::ChargeRead(options_.reads, caller.agency, cost, [&](const Status& refusal) {
    (void)Audit(
        Event(ctx, caller, audit::Operation::kConsultation, std::move(object), method, refusal),
        refusal);
  });
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

StatusOr<DirectoryStanding> ReferralsService::StandingOf(const AgencyId& agency) {
  DirectoryStanding standing;
  // An agency of another trust domain is no agency of this directory: it would receive nothing.
  if (!agency.trust_domain.empty() && agency.trust_domain != options_.trust_domain) {
    return standing;
  }
  StatusOr<clients::DirectoryEntry> entry = directory_.Get(agency);
  if (entry.ok()) {
    standing.registered = true;
    standing.active = entry->active;
    return standing;
  }
  if (entry.status().code() != absl::StatusCode::kNotFound) return entry.status();
  CONCORD_ASSIGN_OR_RETURN(standing.registered_as, directory_.TypesRegisteredFor(agency.id));
  return standing;
}

StatusOr<std::vector<PartyProblem>> ReferralsService::PartyProblemsOf(
    const std::vector<NamedParty>& parties) {
  std::vector<PartyProblem> problems;
  for (const NamedParty& party : parties) {
    CONCORD_ASSIGN_OR_RETURN(const DirectoryStanding standing, StandingOf(party.agency));
    if (auto problem = CheckNamedParty(party, standing)) problems.push_back(*std::move(problem));
  }
  return problems;
}

Status ReferralsService::CheckParties(const v1::Case& current, const v1::TransitionRequest& req) {
  std::vector<NamedParty> parties;
  if (req.kind() == v1::TRANSITION_KIND_SUBMIT) {
    parties = NamedPartiesOfDraft(current, options_.trust_domain);
  } else if (!IsUnset(req.target())) {
    auto target = AgencyIdFromProto(req.target());
    if (!target.ok()) {
      return InvalidArgumentWithFields("invalid target", {{"target", "not a valid agency"}});
    }
    if (target->trust_domain.empty()) target->trust_domain = options_.trust_domain;
    parties.push_back({TargetRole(req.kind()), "target", *std::move(target)});
  }
  CONCORD_ASSIGN_OR_RETURN(const std::vector<PartyProblem> problems, PartyProblemsOf(parties));
  for (const PartyProblem& p : problems) {
    party_refusals_->Add({{"reason", p.reason}, {"role", p.role}}).Increment();
  }
  return PartiesRefusal(problems);
}

StatusOr<std::vector<v1::FieldProblem>> ReferralsService::DraftProblems(const v1::Case& draft) {
  CONCORD_ASSIGN_OR_RETURN(const std::vector<PartyProblem> problems,
                           PartyProblemsOf(NamedPartiesOfDraft(draft, options_.trust_domain)));
  std::vector<v1::FieldProblem> out = SubmitProblems(draft);
  for (const PartyProblem& p : problems) out.push_back(ToFieldProblem(p));
  return out;
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

StatusOr<TransitionContext> ReferralsService::ContextOf(const Caller& caller,
                                                        const v1::TransitionRequest& req) {
  TransitionContext context{.caller = caller.agency, .now = clock_.Now()};
  // Security: the right to request residence documents is the directory's recognised_centre
  // attribute of the centre, not its agency type (docs/referrals.md "Who may record what").
  if (req.kind() == v1::TRANSITION_KIND_REQUEST_DOCUMENT &&
      caller.agency.type == AgencyType::kReceptionCentre) {
    auto entry = directory_.Get(caller.agency);
    if (!entry.ok() && entry.status().code() != absl::StatusCode::kNotFound) {
      return entry.status();
    }
    context.caller_is_recognised_centre =
        entry.ok() && attributes::AgencyAttributes(caller.agency, entry->attributes)
                          .Flag(attributes::kRecognisedCentre);
  }
  return context;
}

Status ReferralsService::Write(const CaseChange& change, const AgencyId* draft_of) {
  CaseWrite write;
  write.previous = change.previous;
  write.next = change.next;
  write.entry = change.entry;
  write.sealed = change.sealed;
  if (draft_of != nullptr && options_.quotas != nullptr) {
    // A draft is charged to its author's draft bucket, and a new one is bounded by the drafts
    // cap, inside the Apply script (no extra round trip).
    write.charges.push_back(options_.quotas->ChargeOf(*draft_of, quota::Quota::kDraft, 1));
    write.draft_cap = options_.quotas->table().CapOf(draft_of->type, quota::Cap::kDrafts);
  }
  CONCORD_RETURN_IF_ERROR(store_.Apply(write));
  transitions_->Add({{"transition", change.entry.action()}}).Increment();
  return absl::OkStatus();
}

StatusOr<ReferralsService::SavedDraft> ReferralsService::DoSaveDraft(
    const Caller& caller, const v1::SaveDraftRequest& req) {
  if (options_.quotas != nullptr) {
    // Drafts are new data: refused at the storage watermark and by this replica's recent
    // refusal of the caller's draft bucket, before any work (no I/O).
    CONCORD_RETURN_IF_ERROR(options_.quotas->Admit(caller.agency, {quota::Quota::kDraft}));
  }
  std::optional<v1::Case> current;
  if (!req.case_id().empty()) {
    CONCORD_RETURN_IF_ERROR(CaseIdProblem(req.case_id()));
    CONCORD_ASSIGN_OR_RETURN(current, LoadAsParty(req.case_id(), caller));
  }
  CONCORD_ASSIGN_OR_RETURN(
      CaseChange change,
      PlanDraftSave(current, req, caller.agency, clock_.Now(), NewCaseId(), NewSubjectRef()));
  if (change.sealed) {
    CONCORD_RETURN_IF_ERROR(CheckSigned(
        caller, change.next.case_id(),
        {{req.sealed_record(), *change.sealed, client::SealedKind::kRecord, "sealed_record"}}));
  }
  // Safety: the agencies the draft names are checked before it is stored, and reported (a draft
  // may be incomplete; Submit refuses them). A directory that cannot be read fails the save.
  CONCORD_ASSIGN_OR_RETURN(std::vector<v1::FieldProblem> problems, DraftProblems(change.next));
  CONCORD_RETURN_IF_ERROR(Write(change, &caller.agency));
  return SavedDraft{.saved = change.next, .problems = std::move(problems)};
}

grpc::Status ReferralsService::SaveDraft(grpc::ServerContext* ctx, const v1::SaveDraftRequest* req,
                                         v1::SaveDraftResponse* resp) {
  // Every field within its bound (limits.proto) before anything reads the request.
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<SavedDraft> saved = DoSaveDraft(caller, *req);
  // A flood of refused drafts is counted but audited once a minute per agency.
  if (options_.quotas != nullptr && !options_.quotas->Observe(caller.agency, saved.status())) {
    return ToGrpcStatus(saved.status());
  }
  const std::string case_id = saved.ok() ? saved->saved.case_id() : req->case_id();
  const auto op =
      req->case_id().empty() ? audit::Operation::kCollection : audit::Operation::kAlteration;
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, op, case_id, "SaveDraft", saved.status()));
  for (v1::FieldProblem& p : saved->problems) *resp->add_problems() = std::move(p);
  Decorate(saved->saved);
  *resp->mutable_case_() = std::move(saved->saved);
  return grpc::Status::OK;
}

grpc::Status ReferralsService::Validate(grpc::ServerContext* ctx, const v1::ValidateRequest* req,
                                        v1::ValidateResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  std::vector<v1::FieldProblem> problems;
  if (!req->case_id().empty()) {
    // A stored draft is case data: its consultation is charged and audited (before the answer).
    CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, CaseObject(req->case_id()), "Validate"));
    auto run = [&]() -> StatusOr<std::vector<v1::FieldProblem>> {
      CONCORD_ASSIGN_OR_RETURN(const v1::Case c, LoadAsParty(req->case_id(), caller));
      return DraftProblems(c);
    };
    auto found = run();
    CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation,
                                       req->case_id(), "Validate", found.status()));
    problems = *std::move(found);
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
    if (problems.empty()) {
      CONCORD_GRPC_ASSIGN_OR_RETURN(problems, DraftProblems(draft));
    }
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
  for (v1::FieldProblem& p : SuggestProblems(*req)) problems.push_back(std::move(p));
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
    const attributes::AgencyAttributes attrs(e.id, e.attributes);
    CentreInfo info{.id = e.id,
                    .display_name = std::move(e.display_name),
                    .jurisdiction = std::move(e.jurisdiction),
                    .languages = std::move(e.languages),
                    .specialisations = std::move(e.specialisations),
                    .capacity = e.capacity,
                    .open_cases = 0,
                    .recognised_centre = attrs.Flag(attributes::kRecognisedCentre),
                    .minors_shelter = attrs.Flag(attributes::kMinorsShelter)};
    if (auto it = load.find(e.id.Key()); it != load.end()) {
      info.open_cases = static_cast<int>(it->second);
    }
    centres.push_back(std::move(info));
  }
  for (v1::CentreSuggestion& s : RankCentres(*req, centres)) {
    *resp->add_suggestions() = std::move(s);
  }
  return grpc::Status::OK;
}

StatusOr<v1::TransitionResponse> ReferralsService::DoTransition(const Caller& caller,
                                                                const v1::TransitionRequest& req) {
  CONCORD_ASSIGN_OR_RETURN(v1::Case current, LoadAsParty(req.case_id(), caller));
  CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(current, req.expected_version()));
  CONCORD_ASSIGN_OR_RETURN(const TransitionContext context, ContextOf(caller, req));
  CONCORD_ASSIGN_OR_RETURN(TransitionOutcome outcome,
                           ApplyTransition(current, req, context, options_.deadlines));
  CONCORD_RETURN_IF_ERROR(CheckParties(current, req));
  std::vector<SignedBox> boxes;
  using K = client::SealedKind;
  if (outcome.sealed)
    boxes.push_back({req.sealed_record(), *outcome.sealed, K::kRecord, "sealed_record"});
  if (outcome.entry.has_sealed_note()) {
    boxes.push_back({req.sealed_note(), outcome.entry.sealed_note(), K::kNote, "sealed_note"});
  }
  if (outcome.sealed_identity) {
    boxes.push_back(
        {req.sealed_identity(), *outcome.sealed_identity, K::kDocumentIdentity, "sealed_identity"});
  }
  if (outcome.sealed_guardian) {
    boxes.push_back(
        {req.sealed_guardian(), *outcome.sealed_guardian, K::kGuardian, "sealed_guardian"});
  }
  CONCORD_RETURN_IF_ERROR(CheckSigned(caller, current.case_id(), boxes));
  CaseWrite write{.previous = current,
                  .next = outcome.next,
                  .entry = outcome.entry,
                  .sealed = outcome.sealed,
                  .sealed_identity = outcome.sealed_identity,
                  .sealed_guardian = outcome.sealed_guardian,
                  .deadlines_started = outcome.started,
                  .deadlines_ended = outcome.ended,
                  .notifications = {},
                  .charges = {},
                  .draft_cap = 0};
  if (!outcome.notify.empty()) {
    Notification n;
    n.id = absl::StrCat(outcome.next.case_id(), "-v", outcome.next.version());
    n.case_id = outcome.next.case_id();
    for (const AgencyId& a : outcome.notify) n.recipients.push_back(a.Key());
    n.body = TransitionBody(outcome.next, outcome.entry, options_.deadlines.zone);
    write.notifications.push_back(std::move(n));
  }
  CONCORD_RETURN_IF_ERROR(store_.Apply(write));
  transitions_->Add({{"transition", outcome.entry.action()}}).Increment();
  v1::TransitionResponse resp;
  *resp.mutable_case_() = std::move(outcome.next);
  *resp.mutable_entry() = std::move(outcome.entry);
  for (const DeadlineStart& d : outcome.started) *resp.add_deadlines_started() = DeadlineProto(d);
  for (v1::DeadlineKind k : outcome.ended) resp.add_deadlines_ended(k);
  for (const AgencyId& a : outcome.notify) *resp.add_notified() = AgencyIdToProto(a);
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
  CONCORD_GRPC_RETURN_IF_ERROR(
      Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(), "Submit", done.status()));
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
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(),
                                     "Transition", done.status()));
  *resp = *std::move(done);
  Decorate(*resp->mutable_case_());
  return grpc::Status::OK;
}

grpc::Status ReferralsService::Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                                   v1::GetResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, CaseObject(req->case_id()), "Get"));
  StatusOr<v1::Case> c = LoadAsParty(req->case_id(), caller);
  CONCORD_GRPC_RETURN_IF_ERROR(
      Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(), "Get", c.status()));
  Decorate(*c);
  *resp->mutable_case_() = *std::move(c);
  return grpc::Status::OK;
}

StatusOr<v1::OpenSealedResponse> ReferralsService::DoOpenSealed(const Caller& caller,
                                                                const v1::OpenSealedRequest& req) {
  CONCORD_RETURN_IF_ERROR(OpenSealedJustification(req.justification()).status());
  CONCORD_ASSIGN_OR_RETURN(v1::Case c, LoadAsParty(req.case_id(), caller));
  CONCORD_ASSIGN_OR_RETURN(const SealedSlot slot, PlanOpenSealed(c, req, caller.agency));
  CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box,
                           store_.GetSealedBox(c.case_id(), slot.box, slot.version));
  if (Status checked = CheckOpenedBox(box, slot, c.case_id(), caller.agency); !checked.ok()) {
    if (ReasonOf(checked) == "SEALED_RECORD_MISMATCH") {
      sealed_refusals_->Add({{"reason", "SEALED_RECORD_MISMATCH"}}).Increment();
    }
    return checked;
  }
  v1::OpenSealedResponse resp;
  *resp.mutable_record() = std::move(box);
  Decorate(c);
  *resp.mutable_case_() = std::move(c);
  return resp;
}

grpc::Status ReferralsService::OpenSealed(grpc::ServerContext* ctx,
                                          const v1::OpenSealedRequest* req,
                                          v1::OpenSealedResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // ONE source: the request's justification, recorded exactly as validated (not the metadata).
  const StatusOr<std::string> justification = OpenSealedJustification(req->justification());
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, CaseObject(req->case_id()), "OpenSealed"));
  StatusOr<v1::OpenSealedResponse> opened = DoOpenSealed(caller, *req);
  std::string details = "box=" + std::string(SealedBoxName(req->box()));
  if (req->version() > 0) details += absl::StrCat(" version=", req->version());
  // Audited before anything is returned: no audit record, no sealed box.
  CONCORD_GRPC_RETURN_IF_ERROR(
      Audit(Event(*ctx, caller, audit::Operation::kConsultation, CaseObject(req->case_id()),
                  "OpenSealed", opened.status(), justification.ok() ? *justification : "",
                  /*from_metadata=*/false, details),
            opened.status()));
  *resp = *std::move(opened);
  return grpc::Status::OK;
}

StatusOr<v1::Case> ReferralsService::DoUpdateSealed(const Caller& caller,
                                                    const v1::UpdateSealedRequest& req) {
  CONCORD_ASSIGN_OR_RETURN(v1::Case current, LoadAsParty(req.case_id(), caller));
  CONCORD_ASSIGN_OR_RETURN(CaseChange change,
                           PlanSealedUpdate(current, req, caller.agency, clock_.Now()));
  CONCORD_RETURN_IF_ERROR(CheckSigned(
      caller, current.case_id(),
      {{req.sealed_record(), *change.sealed, client::SealedKind::kRecord, "sealed_record"}}));
  CONCORD_RETURN_IF_ERROR(Write(change));
  return change.next;
}

grpc::Status ReferralsService::UpdateSealed(grpc::ServerContext* ctx,
                                            const v1::UpdateSealedRequest* req,
                                            v1::UpdateSealedResponse* resp) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  StatusOr<v1::Case> updated = DoUpdateSealed(caller, *req);
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kAlteration, req->case_id(),
                                     "UpdateSealed", updated.status()));
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
  if (page.ok()) {
    // The read bucket: one token per consultation record the page writes (one per case, one for
    // an empty page), before any record is written or any case returned.
    CONCORD_GRPC_RETURN_IF_ERROR(
        ChargeRead(*ctx, caller, "referral:list", "List",
                   std::max<int64_t>(1, static_cast<int64_t>(page->cases.size()))));
  }
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
  CONCORD_GRPC_RETURN_IF_ERROR(ChargeRead(*ctx, caller, CaseObject(req->case_id()), "History"));
  auto run = [&]() -> StatusOr<std::vector<v1::HistoryEntry>> {
    CONCORD_RETURN_IF_ERROR(LoadAsParty(req->case_id(), caller).status());
    return store_.History(req->case_id());
  };
  StatusOr<std::vector<v1::HistoryEntry>> entries = run();
  CONCORD_GRPC_RETURN_IF_ERROR(Audit(*ctx, caller, audit::Operation::kConsultation, req->case_id(),
                                     "History", entries.status()));
  for (v1::HistoryEntry& e : *entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

}  // namespace concord::referrals
