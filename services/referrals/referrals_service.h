// File: services/referrals/referrals_service.h
//
// concord.referrals.v1.Referrals over gRPC: thin handlers over the pure domain (state_machine,
// case_change, validation, routing), the ReferralStore and the audit sink. docs/referrals.md.
//
// Each handler: the caller from the peer certificate; the domain decides (ApplyTransition,
// PlanDraftSave, PlanSealedUpdate, PlanOpenSealed); the service adds what only it can know (the
// stored case, the directory: the agencies a case names and a transition targets (parties.h),
// the caller's signing key, recognised_centre); one atomic store write; an audit record; the
// reply.
//
// Rules every handler keeps:
//   - the caller is the agency of the peer certificate (CallerFromContext), never a field;
//   - the policy table (common/authz) has already refused agency types that may not call the
//     method at all (coordination unit, admin, foreign partners, platforms); here: the caller
//     must be a party of the case, and the transition table decides what it may do;
//   - bad input is INVALID_ARGUMENT with field violations and changes nothing; a stale version
//     is ABORTED; a forbidden transition FAILED_PRECONDITION naming the state and the allowed
//     transitions; a forbidden actor PERMISSION_DENIED;
//   - a draft is visible to its referring agency only; a centre that declined keeps no right on
//     the personal data (state_machine.h MayView, IsDecliningCentre, CheckRecordKeeper);
//   - every change, every consultation of a case (Get, List, History, Validate of a stored
//     draft, OpenSealed) and every refusal is audited; a read is audited BEFORE anything is
//     returned (no audit record, no data); OpenSealed records its request's justification
//     exactly as validated;
//   - every sealed box stored (record version, note, document identity, guardian) is signed by
//     the caller, and verified against its directory signing key before anything is written;
//   - personal data never reaches this process in clear (every box is sealed in the client);
//   - a case is never sent to an agency the directory does not hold as registered, active and of
//     a type that may hold the role (Submit, every transition's target; SaveDraft and Validate
//     report it); a directory that cannot be read is UNAVAILABLE, never a pass.
//
// Thread safety: thread-safe (gRPC calls handlers concurrently).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "client/referrals/record_signature.h"
#include "common/audit/audit_event.h"
#include "common/clients/directory_reader.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/time/clock.h"
#include "concord/referrals/v1/referrals.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "services/referrals/case_change.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/parties.h"
#include "services/referrals/referral_store.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {

struct ReferralsServiceOptions {
  std::string trust_domain;
  DeadlineConfig deadlines;  // periods and the legal zone (Europe/Brussels)
  /// The process's quotas and storage watermark (docs/operations.md "Quotas and limits"):
  /// SaveDraft is refused at the watermark, charged to the caller's draft bucket and bounded by
  /// its drafts cap. Null: none (tests). Must outlive the service.
  quota::QuotaChecker* quotas = nullptr;
  /// The `read` bucket (common/quota/read_meter.h), charged one token per consultation record:
  /// before Get, OpenSealed, History and Validate of a stored draft, and for each case a List
  /// returns (after the read, before anything is returned). Null: not charged. Must outlive the
  /// service.
  quota::ReadMeter* reads = nullptr;
};

class ReferralsService final : public v1::Referrals::Service {
 public:
  ReferralsService(ReferralStore& store, clients::DirectoryReader& directory,
                   audit::AuditSink& audit, metrics::Metrics& metrics, const Clock& clock,
                   ReferralsServiceOptions options);

  grpc::Status SaveDraft(grpc::ServerContext* ctx, const v1::SaveDraftRequest* req,
                         v1::SaveDraftResponse* resp) override;
  grpc::Status Validate(grpc::ServerContext* ctx, const v1::ValidateRequest* req,
                        v1::ValidateResponse* resp) override;
  grpc::Status SuggestCentres(grpc::ServerContext* ctx, const v1::SuggestCentresRequest* req,
                              v1::SuggestCentresResponse* resp) override;
  grpc::Status Submit(grpc::ServerContext* ctx, const v1::SubmitRequest* req,
                      v1::TransitionResponse* resp) override;
  grpc::Status Transition(grpc::ServerContext* ctx, const v1::TransitionRequest* req,
                          v1::TransitionResponse* resp) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* req,
                   v1::GetResponse* resp) override;
  grpc::Status OpenSealed(grpc::ServerContext* ctx, const v1::OpenSealedRequest* req,
                          v1::OpenSealedResponse* resp) override;
  grpc::Status UpdateSealed(grpc::ServerContext* ctx, const v1::UpdateSealedRequest* req,
                            v1::UpdateSealedResponse* resp) override;
  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* req,
                    v1::ListResponse* resp) override;
  grpc::Status History(grpc::ServerContext* ctx, const v1::HistoryRequest* req,
                       v1::HistoryResponse* resp) override;

 private:
  // The case `case_id` if the caller may see it (a party; only the referrer while a draft):
  // NOT_FOUND / PERMISSION_DENIED (NOT_A_PARTY) otherwise.
  StatusOr<v1::Case> LoadAsParty(std::string_view case_id, const Caller& caller);
  // A box a client sent and the same box as it will be stored (stamped).
  struct SignedBox {
    const v1::SealedRecord& from_client;
    const v1::SealedRecord& stamped;
    client::SealedKind kind;
    std::string_view field;
  };
  // Security: each box must be signed by the caller (CheckBoxSignature) with its directory
  // signing key; FAILED_PRECONDITION when the directory holds no valid key for it.
  Status CheckSigned(const Caller& caller, std::string_view case_id,
                     const std::vector<SignedBox>& boxes);
  // What the directory holds for a named agency (parties.h DirectoryStanding): its record under
  // the type it is named with, else the types its id is registered under. UNAVAILABLE when the
  // directory cannot be read: never a silent pass.
  StatusOr<DirectoryStanding> StandingOf(const AgencyId& agency);
  // The named parties the directory does not accept (parties.h CheckNamedParty), in order.
  StatusOr<std::vector<PartyProblem>> PartyProblemsOf(const std::vector<NamedParty>& parties);
  // Safety: every agency a transition sends the case to must be registered, active and of a
  // type that may hold its role: SUBMIT the draft's centre, magistrate and Guardianship Service;
  // any other kind its `target`. FAILED_PRECONDITION (UNKNOWN_AGENCY, AGENCY_SUSPENDED,
  // WRONG_AGENCY_TYPE) with a field violation per agency, counted by reason and role.
  Status CheckParties(const v1::Case& current, const v1::TransitionRequest& req);
  // SaveDraft and Validate: what Submit would refuse in a draft, as problems (a draft may be
  // incomplete): SubmitProblems, then the same check of its named agencies as CheckParties.
  StatusOr<std::vector<v1::FieldProblem>> DraftProblems(const v1::Case& draft);
  // What the directory says of the caller that the transition table needs (recognised_centre).
  StatusOr<TransitionContext> ContextOf(const Caller& caller, const v1::TransitionRequest& req);
  StatusOr<v1::TransitionResponse> DoTransition(const Caller& caller,
                                                const v1::TransitionRequest& req);
  // The saved draft and what Submit would still refuse in it (DraftProblems).
  struct SavedDraft {
    v1::Case saved;
    std::vector<v1::FieldProblem> problems;
  };
  StatusOr<SavedDraft> DoSaveDraft(const Caller& caller, const v1::SaveDraftRequest& req);
  StatusOr<v1::Case> DoUpdateSealed(const Caller& caller, const v1::UpdateSealedRequest& req);
  StatusOr<v1::OpenSealedResponse> DoOpenSealed(const Caller& caller,
                                                const v1::OpenSealedRequest& req);
  // Writes a change that is not a transition (draft save, record update) and counts it.
  // Stores a planned change; a draft's author (draft_of) is charged its draft quota.
  Status Write(const CaseChange& change, const AgencyId* draft_of = nullptr);
  // The audit record of a call on `object` ("referral:<case_id>"). `justification` is recorded
  // as given (OpenSealed: exactly as validated); with `from_metadata` and none given, the
  // concord-justification metadata asserted by the caller.
  audit::AuditEvent Event(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
                          std::string object, std::string_view method, const Status& outcome,
                          std::string justification = "", bool from_metadata = true,
                          std::string details = "") const;
  // Appends an audit record; when `outcome` is OK and the append fails, UNAVAILABLE.
  Status Audit(const audit::AuditEvent& event, const Status& outcome);
  Status Audit(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
               std::string_view case_id, std::string_view method, const Status& outcome);
  void Decorate(v1::Case& c) const;  // deadline overdue flags as of now
  // The read bucket (options_.reads), `cost` tokens: OK to go on; otherwise the refusal, audited
  // against `object` and `method` once a minute per agency (QuotaChecker::Observe).
  Status ChargeRead(const grpc::ServerContext& ctx, const Caller& caller, std::string object,
                    std::string_view method, int64_t cost = 1);

  ReferralStore& store_;
  clients::DirectoryReader& directory_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  const ReferralsServiceOptions options_;
  prometheus::Family<prometheus::Counter>* transitions_;
  prometheus::Family<prometheus::Counter>* sealed_refusals_;
  prometheus::Family<prometheus::Counter>* party_refusals_;
};

}  // namespace concord::referrals
