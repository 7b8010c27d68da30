#include "services/referrals/state_machine.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/referrals/ids.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

namespace cv1 = ::concord::common::v1;

using S = v1::CaseState;
using D = v1::DeadlineKind;
using R = Applies::Residence;
using M = Applies::Minor;

constexpr S kDetected = v1::CASE_STATE_DETECTED;
constexpr S kReferred = v1::CASE_STATE_REFERRED;
constexpr S kAccepted = v1::CASE_STATE_ACCEPTED;
constexpr S kDeclined = v1::CASE_STATE_DECLINED;
constexpr S kReflection = v1::CASE_STATE_REFLECTION;
constexpr S kStatement = v1::CASE_STATE_STATEMENT_MADE;
constexpr S kAttestation = v1::CASE_STATE_REGISTRATION_ATTESTATION;
constexpr S kCertificate = v1::CASE_STATE_REGISTRATION_CERTIFICATE;
constexpr S kUnlimited = v1::CASE_STATE_UNLIMITED_STAY;
constexpr S kClosed = v1::CASE_STATE_CLOSED;
constexpr S kUnchanged = v1::CASE_STATE_UNSPECIFIED;

constexpr D kCentreResponse = v1::DEADLINE_KIND_CENTRE_RESPONSE;
constexpr D kReflectionEnd = v1::DEADLINE_KIND_REFLECTION_END;
constexpr D kAttestationExpiry = v1::DEADLINE_KIND_ATTESTATION_EXPIRY;
constexpr D kCertificateExpiry = v1::DEADLINE_KIND_CERTIFICATE_EXPIRY;

constexpr AgencyType kPolice = AgencyType::kPolice;
constexpr AgencyType kMagistrateType = AgencyType::kMagistrate;
constexpr AgencyType kCentreType = AgencyType::kReceptionCentre;
constexpr AgencyType kOfficeType = AgencyType::kImmigrationOffice;
constexpr AgencyType kInspection = AgencyType::kSocialInspection;
constexpr AgencyType kGuardianshipType = AgencyType::kGuardianshipService;

constexpr Applies kEvery{};
constexpr Applies kResidence{R::kNeeded, M::kAny};
constexpr Applies kResidenceAdult{R::kNeeded, M::kNotUnaccompanied};
constexpr Applies kResidenceMinor{R::kNeeded, M::kUnaccompanied};
constexpr Applies kNoResidence{R::kNotNeeded, M::kAny};
constexpr Applies kUnaccompanied{R::kAny, M::kUnaccompanied};

// Frontline services that detect and refer (DOMAIN.md §1 step 1).
std::vector<AgencyType> Referring() { return {kPolice, kMagistrateType, kOfficeType, kInspection}; }

std::vector<AgencyType> ReferringAndCentre() {
  std::vector<AgencyType> out = Referring();
  out.push_back(kCentreType);
  return out;
}

std::vector<TransitionRule> BuildTable() {
  using P = Party;
  const std::vector<D> all_deadlines = {kCentreResponse, kReflectionEnd, kAttestationExpiry,
                                        kCertificateExpiry};
  const std::vector<D> documents = {kReflectionEnd, kAttestationExpiry, kCertificateExpiry};
  const std::vector<S> supported = {kAccepted, kReflection, kStatement, kAttestation, kCertificate};
  const std::vector<S> open = {kReferred,  kAccepted,    kReflection,
                               kStatement, kAttestation, kCertificate};
  const std::vector<S> after_referral = {kReferred,    kAccepted,  kDeclined,
                                         kReflection,  kStatement, kAttestation,
                                         kCertificate, kUnlimited, kClosed};
  const std::vector<S> requesting = {kAccepted, kStatement, kAttestation, kCertificate};
  const std::vector<AgencyType> statement_takers = {kPolice, kMagistrateType, kInspection};
  const std::vector<P> statement_roles = {P::kReferrer, P::kMagistrate, P::kInvestigatingUnit};
  const std::vector<P> told_of_documents = {P::kCentre, P::kReferrer, P::kMagistrate,
                                            P::kGuardianshipService};
  const std::vector<P> told_of_opinions = {P::kCentre, P::kImmigrationOffice, P::kReferrer,
                                           P::kGuardianshipService};
  return {
      {v1::TRANSITION_KIND_SUBMIT,
       {kDetected},
       kReferred,
       kEvery,
       Referring(),
       {P::kReferrer},
       "the draft is complete (Validate reports no problem)",
       {kCentreResponse},
       {},
       {P::kCentre, P::kMagistrate, P::kGuardianshipService},
       "The referring agency refers the presumed victim to the chosen reception centre."},
      {v1::TRANSITION_KIND_ACCEPT,
       {kReferred},
       kAccepted,
       kEvery,
       {kCentreType},
       {P::kCentre},
       "-",
       {},
       {kCentreResponse},
       {P::kReferrer, P::kMagistrate, P::kGuardianshipService},
       "The centre takes the person into its mandatory support (condition 2)."},
      {v1::TRANSITION_KIND_DECLINE,
       {kReferred},
       kDeclined,
       kEvery,
       {kCentreType},
       {P::kCentre},
       "`note`: the reason (no personal data); or `sealed_note`",
       {},
       {kCentreResponse},
       {P::kReferrer, P::kMagistrate, P::kGuardianshipService},
       "The centre declines; it is recorded in `declined_by` and stays the case's centre until "
       "the referrer refers elsewhere."},
      {v1::TRANSITION_KIND_REFER_ELSEWHERE,
       {kDeclined},
       kReferred,
       kEvery,
       Referring(),
       {P::kReferrer},
       "`target`: another reception centre that has not declined the case; `sealed_record` "
       "re-sealed to it (and to the magistrate, when set)",
       {kCentreResponse},
       {},
       {P::kCentre, P::kMagistrate, P::kGuardianshipService},
       "The referrer refers the declined case to another centre."},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT,
       requesting,
       kUnchanged,
       kResidenceAdult,
       {kCentreType},
       {P::kCentre},
       "a recognised centre (directory attribute `recognised_centre`); `document` requestable in "
       "the state (see \"Document requests\"); no request pending; `target`: the Immigration "
       "Office (may be omitted once the case has one); `sealed_identity` sealed to that office "
       "only (not for UNLIMITED_STAY or a renewal)",
       {},
       {},
       {P::kImmigrationOffice},
       "The recognised centre asks the Immigration Office for a residence document (arts "
       "61/2-61/5)."},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT,
       requesting,
       kUnchanged,
       kResidenceMinor,
       {kCentreType, kGuardianshipType},
       {P::kCentre, P::kGuardianshipService},
       "a recognised centre, or the Guardianship Service (V?); `document` requestable in the "
       "state (see \"Document requests\"); no request pending; `target`: the Immigration Office "
       "(may be omitted once the case has one); `sealed_identity` sealed to that office only (not "
       "for UNLIMITED_STAY or a renewal)",
       {},
       {},
       {P::kImmigrationOffice, P::kCentre, P::kGuardianshipService},
       "For an unaccompanied minor, the recognised centre or the Guardianship Service asks for "
       "the document (a shelter for minors accommodates without that right)."},
      {v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT,
       {kAccepted},
       kReflection,
       kResidenceAdult,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the centre's pending request for REFLECTION; `valid_until_date` optional (the date "
       "printed)",
       {kReflectionEnd},
       {},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The Immigration Office issues the 45-day reflection document (annex 15)."},
      {v1::TRANSITION_KIND_RECORD_STATEMENT,
       {kAccepted, kReflection},
       kStatement,
       kEvery,
       statement_takers,
       statement_roles,
       "-",
       {},
       {kReflectionEnd},
       {P::kCentre, P::kReferrer, P::kMagistrate, P::kGuardianshipService},
       "The person has made statements or filed a complaint (condition 3) to the unit that "
       "records them."},
      {v1::TRANSITION_KIND_RECORD_STATEMENT,
       {kAttestation},
       kUnchanged,
       kResidenceMinor,
       statement_takers,
       statement_roles,
       "not recorded yet",
       {},
       {},
       {P::kCentre, P::kReferrer, P::kMagistrate, P::kGuardianshipService},
       "An unaccompanied minor who received the attestation directly makes statements."},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION,
       {kAccepted},
       kAttestation,
       kResidenceMinor,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the pending request for REGISTRATION_ATTESTATION; `valid_until_date` optional",
       {kAttestationExpiry},
       {},
       told_of_documents,
       "An unaccompanied minor receives the 3-month document directly, without a reflection "
       "period."},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION,
       {kStatement},
       kAttestation,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the pending request for REGISTRATION_ATTESTATION; `valid_until_date` optional",
       {kAttestationExpiry},
       {},
       told_of_documents,
       "The Immigration Office issues the attestation of registration (max. 3 months)."},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION,
       {kAttestation},
       kUnchanged,
       kResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "no opinion recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate considers the person a victim (only the magistrate recognises victims)."},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION,
       {kAccepted, kStatement},
       kUnchanged,
       kNoResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "no opinion recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate considers a Belgian or EU/EEA person a victim."},
      {v1::TRANSITION_KIND_RECORD_NOT_VICTIM,
       {kAttestation},
       kUnchanged,
       kResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "no opinion recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate does not consider the person a victim: no certificate can follow."},
      {v1::TRANSITION_KIND_RECORD_NOT_VICTIM,
       {kAccepted, kStatement},
       kUnchanged,
       kNoResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "no opinion recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate does not consider a Belgian or EU/EEA person a victim."},
      {v1::TRANSITION_KIND_ISSUE_CERTIFICATE,
       {kAttestation},
       kCertificate,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the magistrate's victim opinion; the pending request for REGISTRATION_CERTIFICATE; "
       "`valid_until_date` optional",
       {kCertificateExpiry},
       {kAttestationExpiry},
       told_of_documents,
       "The Immigration Office issues the 6-month certificate of registration (CIRE)."},
      {v1::TRANSITION_KIND_RENEW_CERTIFICATE,
       {kCertificate},
       kUnchanged,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the pending request for REGISTRATION_CERTIFICATE (renewal); the proceedings have not "
       "ended; `valid_until_date` optional",
       {kCertificateExpiry},
       {},
       {P::kCentre, P::kMagistrate, P::kGuardianshipService},
       "The Immigration Office renews the certificate for 6 months from its current expiry, "
       "while proceedings run."},
      {v1::TRANSITION_KIND_RECORD_CONVICTION,
       {kCertificate},
       kUnchanged,
       kResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "not recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate records the conviction (or charges retaining trafficking)."},
      {v1::TRANSITION_KIND_RECORD_CONVICTION,
       {kStatement},
       kUnchanged,
       kNoResidence,
       {kMagistrateType},
       {P::kMagistrate},
       "not recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate records the conviction for a Belgian or EU/EEA victim."},
      {v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY,
       {kCertificate},
       kUnlimited,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the magistrate's recorded conviction; the centre's pending request for UNLIMITED_STAY",
       {},
       {kCertificateExpiry},
       told_of_documents,
       "The Immigration Office grants unlimited stay."},
      {v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT,
       after_referral,
       kUnchanged,
       kEvery,
       {kMagistrateType},
       {P::kMagistrate},
       "`note`: the assessment (no personal data); or `sealed_note`",
       {},
       {},
       {P::kCentre, P::kReferrer},
       "The magistrate records the non-punishment assessment (Directive 2011/36 art. 8), at any "
       "stage and independently of cooperation; recording it again replaces it."},
      {v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED,
       {kAccepted, kReflection, kStatement, kAttestation, kCertificate, kUnlimited},
       kUnchanged,
       kEvery,
       {kMagistrateType},
       {P::kMagistrate},
       "not recorded yet",
       {},
       {},
       told_of_opinions,
       "The magistrate records that the proceedings ended: the certificate is no longer renewed."},
      {v1::TRANSITION_KIND_REFUSE_DOCUMENT,
       requesting,
       kUnchanged,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "`ground`; a pending request (which it clears)",
       {},
       {},
       told_of_documents,
       "The Immigration Office refuses the requested document, with a ground."},
      {v1::TRANSITION_KIND_WITHDRAW_DOCUMENT,
       {kReflection, kAttestation, kCertificate},
       kUnchanged,
       kResidence,
       {kOfficeType},
       {P::kImmigrationOffice},
       "`ground`; a valid document (which it ends)",
       {},
       documents,
       told_of_documents,
       "The Immigration Office withdraws the current document, with a ground."},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE,
       {kDetected, kDeclined},
       kUnchanged,
       kEvery,
       Referring(),
       {P::kReferrer},
       "`target`: a magistrate other than the current one; `sealed_record` re-sealed to it (and "
       "to the centre, except in DECLINED)",
       {},
       {},
       {P::kMagistrate, P::kCentre, P::kReferrer, P::kGuardianshipService},
       "The referrer names the competent magistrate (on a draft or a declined case)."},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE,
       open,
       kUnchanged,
       kEvery,
       ReferringAndCentre(),
       {P::kReferrer, P::kCentre},
       "`target`: a magistrate other than the current one; `sealed_record` re-sealed to the "
       "centre and to it",
       {},
       {},
       {P::kMagistrate, P::kCentre, P::kReferrer, P::kGuardianshipService},
       "The referrer or the centre names (or changes) the competent magistrate."},
      {v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT,
       open,
       kUnchanged,
       kEvery,
       ReferringAndCentre(),
       {P::kReferrer, P::kCentre, P::kMagistrate},
       "`target`: a police or social inspection unit other than the current one",
       {},
       {},
       {P::kInvestigatingUnit, P::kCentre, P::kReferrer, P::kMagistrate},
       "Names the unit that takes the person's statements; it becomes a party (it does not "
       "receive the personal record)."},
      {v1::TRANSITION_KIND_RECORD_GUARDIAN,
       {kReferred, kAccepted, kStatement, kAttestation, kCertificate},
       kUnchanged,
       kUnaccompanied,
       {kGuardianshipType, kCentreType},
       {P::kGuardianshipService, P::kCentre},
       "`sealed_guardian` sealed to exactly the centre and the Guardianship Service of the case",
       {},
       {},
       {P::kCentre, P::kGuardianshipService},
       "The guardian's identity, sealed to the centre and the Guardianship Service."},
      {v1::TRANSITION_KIND_CLOSE,
       {kDetected, kReferred, kDeclined},
       kClosed,
       kEvery,
       Referring(),
       {P::kReferrer},
       "`close_reason` (see \"Closing\")",
       {},
       all_deadlines,
       {P::kCentre, P::kMagistrate, P::kImmigrationOffice, P::kGuardianshipService},
       "The referrer closes a case no centre supports yet (or abandons a draft)."},
      {v1::TRANSITION_KIND_CLOSE,
       supported,
       kClosed,
       kEvery,
       {kCentreType},
       {P::kCentre},
       "`close_reason` (see \"Closing\")",
       {},
       all_deadlines,
       {P::kReferrer, P::kMagistrate, P::kImmigrationOffice, P::kGuardianshipService,
        P::kInvestigatingUnit},
       "The centre closes the case (see \"Closing\" for the reasons)."},
  };
}

// absl::StrCat of Debian's Abseil 20220623 does not take std::string_view.
void AppendOne(std::string& out, std::string_view s) { out.append(s.data(), s.size()); }

template <typename... Args>
void AppendTo(std::string& out, const Args&... args) {
  (AppendOne(out, args), ...);
}

template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  AppendTo(out, args...);
  return out;
}

template <typename T>
bool Contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  return absl::StrJoin(parts, absl::string_view(sep.data(), sep.size()));
}

std::string NamesOf(const std::vector<v1::TransitionKind>& kinds) {
  std::vector<std::string> names;
  for (v1::TransitionKind k : kinds) names.emplace_back(TransitionName(k));
  return names.empty() ? "none" : Join(names, ", ");
}

std::string TypeNames(const std::vector<AgencyType>& types) {
  std::vector<std::string> names;
  for (AgencyType t : types) names.emplace_back(AgencyTypeName(t));
  return Join(names, ", ");
}

std::string PartyNames(const std::vector<Party>& parties, std::string_view sep) {
  std::vector<std::string> names;
  for (Party p : parties) names.emplace_back(PartyName(p));
  return Join(names, sep);
}

Status InvalidProblems(std::string_view message, const std::vector<v1::FieldProblem>& problems) {
  return ProblemsToStatus(message, problems);
}

Status InvalidField(std::string_view message, std::string field, std::string description) {
  v1::FieldProblem p;
  p.set_field(std::move(field));
  p.set_description(std::move(description));
  return InvalidProblems(message, {p});
}

// FAILED_PRECONDITION carrying field violations (the stored draft, not the request, is at fault).
Status FailedWithProblems(std::string_view message, const std::vector<v1::FieldProblem>& problems) {
  std::vector<FieldViolation> violations;
  for (const v1::FieldProblem& p : problems) violations.push_back({p.field(), p.description()});
  return WithFieldViolations(
      absl::FailedPreconditionError(absl::string_view(message.data(), message.size())), violations);
}

Status Failed(const std::string& message) { return absl::FailedPreconditionError(message); }

Status RequirePending(const v1::Case& c, v1::DocumentKind document) {
  if (c.pending_document_request() == document) return absl::OkStatus();
  return Failed(
      Cat("no pending request for a ", DocumentName(document), " document (REQUEST_DOCUMENT)"));
}

void StartOrReplace(TransitionOutcome& out, const DeadlineStart& start) {
  out.started.push_back(start);
  auto* deadlines = out.next.mutable_deadlines();
  for (int i = deadlines->size() - 1; i >= 0; --i) {
    if (deadlines->Get(i).kind() == start.kind) deadlines->DeleteSubrange(i, 1);
  }
  *deadlines->Add() = DeadlineProto(start);
}

void End(TransitionOutcome& out, D kind) {
  if (!Contains(out.ended, kind)) out.ended.push_back(kind);
  auto* deadlines = out.next.mutable_deadlines();
  for (int i = deadlines->size() - 1; i >= 0; --i) {
    if (deadlines->Get(i).kind() == kind) deadlines->DeleteSubrange(i, 1);
  }
}

bool IsDocumentStep(v1::TransitionKind kind) {
  switch (kind) {
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT:
    case v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT:
    case v1::TRANSITION_KIND_ISSUE_ATTESTATION:
    case v1::TRANSITION_KIND_ISSUE_CERTIFICATE:
    case v1::TRANSITION_KIND_RENEW_CERTIFICATE:
    case v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY:
    case v1::TRANSITION_KIND_REFUSE_DOCUMENT:
    case v1::TRANSITION_KIND_WITHDRAW_DOCUMENT:
      return true;
    default:
      return false;
  }
}

std::string PathText(const v1::Case& c) {
  const bool minor = c.attributes().unaccompanied_minor();
  if (!NeedsResidence(c.attributes().nationality_class())) {
    return minor ? "a Belgian or EU/EEA unaccompanied minor" : "a Belgian or EU/EEA national";
  }
  return minor ? "an unaccompanied minor who needs a residence document"
               : "an adult who needs a residence document";
}

// A box carried by the request (identity, guardian): shape, exact recipients, stamped as the box
// of the history entry this transition creates.
StatusOr<v1::SealedRecord> TakeBox(const v1::SealedRecord& box, bool present,
                                   const std::vector<std::string>& recipients,
                                   std::string_view field, std::string_view who,
                                   const TransitionContext& ctx, int64_t version) {
  if (!present) {
    return InvalidField("a sealed box is required", std::string(field),
                        Cat("required: sealed to ", who, " and signed by the caller"));
  }
  std::vector<v1::FieldProblem> problems = SealedRecordProblems(box, field);
  if (problems.empty()) problems = ExactRecipientProblems(box, recipients, field, who);
  if (!problems.empty()) return InvalidProblems("invalid sealed box", problems);
  return StampSealedRecord(box, version, ctx.caller, ctx.now);
}

// The re-sealed record of REFER_ELSEWHERE / ASSIGN_MAGISTRATE, checked against `next` (the case
// with its new centre / magistrate) and stamped with the next record version.
Status TakeSealed(const v1::TransitionRequest& request, const TransitionContext& ctx,
                  std::string_view why, TransitionOutcome& out) {
  if (!request.has_sealed_record()) {
    return InvalidField("a re-sealed personal record is required", "sealed_record",
                        std::string(why));
  }
  std::vector<v1::FieldProblem> problems =
      SealedRecordProblems(request.sealed_record(), "sealed_record");
  if (problems.empty())
    problems = RecipientProblems(request.sealed_record(), out.next, "sealed_record");
  if (!problems.empty()) return InvalidProblems("invalid sealed record", problems);
  v1::SealedRecord stamped = StampSealedRecord(
      request.sealed_record(), out.next.sealed_record_version() + 1, ctx.caller, ctx.now);
  AttachSealedRecord(stamped, out.next);
  out.sealed = std::move(stamped);
  return absl::OkStatus();
}

// Issues (or renews) a document: the printed date or the rule's, the deadline, the validity.
Status IssueDocument(const v1::TransitionRequest& request, D kind, const TransitionContext& ctx,
                     const DeadlineConfig& config, std::optional<absl::CivilDay> extend_from,
                     TransitionOutcome& out) {
  const Period period = DeadlinePeriod(kind, config);
  const absl::CivilDay today = DayIn(ctx.now, config.zone);
  absl::CivilDay last = extend_from ? ExtendPeriod(*extend_from, period, config.zone).last_day
                                    : EndOfPeriod(ctx.now, period, config.zone).last_day;
  if (!request.valid_until_date().empty()) {
    StatusOr<absl::CivilDay> printed = ParseDate(request.valid_until_date());
    const absl::CivilDay earliest = extend_from ? *extend_from + 1 : today;
    if (!printed.ok()) {
      return InvalidField("invalid validity date", "valid_until_date",
                          "must be the date printed on the document, YYYY-MM-DD");
    }
    if (*printed < earliest || *printed > last) {
      return InvalidField(
          "invalid validity date", "valid_until_date",
          Cat("must be between ", FormatDate(earliest), " and ", FormatDate(last), " (",
              period.ToString(), extend_from ? " from the current expiry" : " from the issue date",
              ", Europe/Brussels)"));
    }
    last = *printed;
  }
  const DeadlineStart start = PlanDeadlineOn(kind, ctx.now, last, config);
  *out.next.mutable_document_valid_until() = ToProtoTime(start.due);
  out.next.set_document_valid_through(FormatDate(last));
  out.next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
  StartOrReplace(out, start);
  return absl::OkStatus();
}

v1::DocumentKind DocumentOfState(S state) {
  switch (state) {
    case kReflection:
      return v1::DOCUMENT_KIND_REFLECTION;
    case kAttestation:
      return v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION;
    case kCertificate:
      return v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE;
    default:
      return v1::DOCUMENT_KIND_UNSPECIFIED;
  }
}

Status RequireGround(const v1::TransitionRequest& request) {
  if (request.ground() != v1::DOCUMENT_GROUND_UNSPECIFIED &&
      v1::DocumentGround_IsValid(request.ground())) {
    return absl::OkStatus();
  }
  return InvalidField("a ground is required", "ground",
                      "required: contact_with_exploiters, no_cooperation, not_considered_victim, "
                      "proceedings_ended, public_order, fraud or other");
}

Status RequestDocument(const v1::Case& current, const v1::TransitionRequest& request,
                       const TransitionContext& ctx, TransitionOutcome& out) {
  v1::Case& next = out.next;
  std::vector<v1::FieldProblem> problems;
  if (request.document() == v1::DOCUMENT_KIND_UNSPECIFIED ||
      !v1::DocumentKind_IsValid(request.document())) {
    v1::FieldProblem p;
    p.set_field("document");
    p.set_description("required: the document requested");
    problems.push_back(p);
  }
  const bool has_office = !IsUnset(current.immigration_office());
  for (auto& p :
       AgencyProblems(request.target(), kOfficeType, /*required=*/!has_office, "target")) {
    problems.push_back(std::move(p));
  }
  if (!problems.empty()) return InvalidProblems("invalid document request", problems);
  const std::vector<v1::DocumentKind> allowed = RequestableDocuments(current);
  if (!Contains(allowed, request.document())) {
    std::vector<std::string> names;
    for (auto d : allowed) names.emplace_back(DocumentName(d));
    return Failed(Cat("in state ", StateName(current.state()), ", for ", PathText(current),
                      ", the document that may be requested is: ", Join(names, ", ")));
  }
  if (current.pending_document_request() != v1::DOCUMENT_KIND_UNSPECIFIED) {
    return Failed(Cat("a request for a ", DocumentName(current.pending_document_request()),
                      " document is already pending"));
  }
  next.set_pending_document_request(request.document());
  if (!IsUnset(request.target())) *next.mutable_immigration_office() = request.target();
  out.entry.set_document(request.document());
  const bool renewal = request.document() == v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE &&
                       current.state() == kCertificate;
  const bool needs_identity = request.document() != v1::DOCUMENT_KIND_UNLIMITED_STAY && !renewal;
  if (needs_identity || request.has_sealed_identity()) {
    CONCORD_ASSIGN_OR_RETURN(
        v1::SealedRecord box,
        TakeBox(request.sealed_identity(), request.has_sealed_identity(),
                {AgencyKeyOf(next.immigration_office())}, "sealed_identity",
                "the Immigration Office of the request only", ctx, next.version()));
    next.set_document_identity_version(next.version());
    next.clear_document_identity_recipients();
    for (const v1::WrappedKey& k : box.keys()) next.add_document_identity_recipients(k.recipient());
    for (const v1::WrappedKey& k : box.keys()) out.entry.add_sealed_box_recipients(k.recipient());
    out.sealed_identity = std::move(box);
  }
  return absl::OkStatus();
}

// The requirements and effects of each kind (request fields first, then the case).
Status ApplyEffects(const v1::Case& current, const v1::TransitionRequest& request,
                    const TransitionContext& ctx, const DeadlineConfig& config,
                    const TransitionRule& rule, TransitionOutcome& out) {
  v1::Case& next = out.next;
  switch (request.kind()) {
    case v1::TRANSITION_KIND_SUBMIT: {
      const std::vector<v1::FieldProblem> problems = SubmitProblems(current);
      if (!problems.empty()) {
        std::vector<std::string> fields;
        for (const auto& p : problems) fields.push_back(p.field());
        return WithReason(FailedWithProblems("the draft is not complete (see Validate); fields: " +
                                                 Join(fields, ", "),
                                             problems),
                          kReasonDraftIncomplete);
      }
      StartOrReplace(out, StartDeadline(kCentreResponse, ctx.now, config));
      break;
    }
    case v1::TRANSITION_KIND_ACCEPT:
      break;
    case v1::TRANSITION_KIND_DECLINE: {
      std::vector<v1::FieldProblem> problems =
          NoteProblems(request.note(), !request.has_sealed_note(), "note");
      if (!problems.empty()) return InvalidProblems("a decline needs a reason", problems);
      if (!std::any_of(current.declined_by().begin(), current.declined_by().end(),
                       [&](const cv1::AgencyId& a) { return SameAgency(a, ctx.caller); })) {
        *next.add_declined_by() = current.receiving_centre();
      }
      break;
    }
    case v1::TRANSITION_KIND_REFER_ELSEWHERE: {
      std::vector<v1::FieldProblem> problems =
          AgencyProblems(request.target(), kCentreType, /*required=*/true, "target");
      if (!problems.empty()) return InvalidProblems("invalid target centre", problems);
      const bool declined =
          SameAgency(request.target(), current.receiving_centre()) ||
          std::any_of(current.declined_by().begin(), current.declined_by().end(),
                      [&](const cv1::AgencyId& a) { return SameAgency(a, request.target()); });
      if (declined) return Failed("the target centre has already declined this case");
      *next.mutable_receiving_centre() = request.target();
      next.set_state(kReferred);  // RequiredRecipients depends on the state
      CONCORD_RETURN_IF_ERROR(
          TakeSealed(request, ctx, "required: the record re-sealed to the new centre", out));
      StartOrReplace(out, StartDeadline(kCentreResponse, ctx.now, config));
      break;
    }
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT:
      CONCORD_RETURN_IF_ERROR(RequestDocument(current, request, ctx, out));
      break;
    case v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT:
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REFLECTION));
      out.entry.set_document(v1::DOCUMENT_KIND_REFLECTION);
      CONCORD_RETURN_IF_ERROR(
          IssueDocument(request, kReflectionEnd, ctx, config, std::nullopt, out));
      break;
    case v1::TRANSITION_KIND_RECORD_STATEMENT:
      if (current.statement_recorded() && rule.to == kUnchanged) {
        return Failed("the statement is already recorded");
      }
      next.set_statement_recorded(true);
      break;
    case v1::TRANSITION_KIND_ISSUE_ATTESTATION:
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION));
      out.entry.set_document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
      CONCORD_RETURN_IF_ERROR(
          IssueDocument(request, kAttestationExpiry, ctx, config, std::nullopt, out));
      break;
    case v1::TRANSITION_KIND_RECORD_VICTIM_OPINION:
    case v1::TRANSITION_KIND_RECORD_NOT_VICTIM: {
      if (OpinionOf(current) != v1::MAGISTRATE_OPINION_UNSPECIFIED) {
        return Failed("the magistrate's opinion is already recorded");
      }
      const bool victim = request.kind() == v1::TRANSITION_KIND_RECORD_VICTIM_OPINION;
      next.set_opinion(victim ? v1::MAGISTRATE_OPINION_VICTIM : v1::MAGISTRATE_OPINION_NOT_VICTIM);
      next.set_victim_opinion(victim);
      break;
    }
    case v1::TRANSITION_KIND_ISSUE_CERTIFICATE:
      if (OpinionOf(current) != v1::MAGISTRATE_OPINION_VICTIM) {
        return Failed(
            "the magistrate has not recorded the opinion that the person is a victim "
            "(RECORD_VICTIM_OPINION)");
      }
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
      out.entry.set_document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
      CONCORD_RETURN_IF_ERROR(
          IssueDocument(request, kCertificateExpiry, ctx, config, std::nullopt, out));
      break;
    case v1::TRANSITION_KIND_RENEW_CERTIFICATE: {
      if (current.proceedings_ended()) {
        return Failed("the proceedings ended: the certificate is renewable until then only");
      }
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
      out.entry.set_document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
      // A renewal runs on from the current expiry (not from today).
      std::optional<absl::CivilDay> from;
      if (StatusOr<absl::CivilDay> through = ParseDate(current.document_valid_through());
          through.ok()) {
        from = *through;
      } else if (current.has_document_valid_until()) {
        from = DayIn(FromProtoTime(current.document_valid_until()) - absl::Nanoseconds(1),
                     config.zone);
      }
      CONCORD_RETURN_IF_ERROR(IssueDocument(request, kCertificateExpiry, ctx, config, from, out));
      break;
    }
    case v1::TRANSITION_KIND_RECORD_CONVICTION:
      if (current.conviction_recorded()) return Failed("the conviction is already recorded");
      next.set_conviction_recorded(true);
      break;
    case v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY:
      if (!current.conviction_recorded()) {
        return Failed("the magistrate has not recorded a conviction (RECORD_CONVICTION)");
      }
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_UNLIMITED_STAY));
      out.entry.set_document(v1::DOCUMENT_KIND_UNLIMITED_STAY);
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      next.clear_document_valid_until();  // unlimited
      next.clear_document_valid_through();
      break;
    case v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT: {
      std::vector<v1::FieldProblem> problems =
          NoteProblems(request.note(), !request.has_sealed_note(), "note");
      if (!problems.empty()) return InvalidProblems("the assessment is required", problems);
      next.set_non_punishment_assessed(true);
      next.set_non_punishment_assessment(request.note());
      break;
    }
    case v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED:
      if (current.proceedings_ended()) return Failed("the end of proceedings is already recorded");
      next.set_proceedings_ended(true);
      break;
    case v1::TRANSITION_KIND_REFUSE_DOCUMENT: {
      CONCORD_RETURN_IF_ERROR(RequireGround(request));
      if (current.pending_document_request() == v1::DOCUMENT_KIND_UNSPECIFIED) {
        return Failed("no document request is pending");
      }
      v1::DocumentOutcome* o = next.mutable_last_document_outcome();
      o->set_document(current.pending_document_request());
      o->set_decision(v1::DOCUMENT_DECISION_REFUSED);
      o->set_ground(request.ground());
      *o->mutable_at() = ToProtoTime(ctx.now);
      out.entry.set_document(current.pending_document_request());
      out.entry.set_ground(request.ground());
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      break;
    }
    case v1::TRANSITION_KIND_WITHDRAW_DOCUMENT: {
      CONCORD_RETURN_IF_ERROR(RequireGround(request));
      if (!current.has_document_valid_until()) {
        return Failed("no valid document to withdraw (already withdrawn?)");
      }
      v1::DocumentOutcome* o = next.mutable_last_document_outcome();
      o->set_document(DocumentOfState(current.state()));
      o->set_decision(v1::DOCUMENT_DECISION_WITHDRAWN);
      o->set_ground(request.ground());
      *o->mutable_at() = ToProtoTime(ctx.now);
      out.entry.set_document(DocumentOfState(current.state()));
      out.entry.set_ground(request.ground());
      next.clear_document_valid_until();
      next.clear_document_valid_through();
      break;
    }
    case v1::TRANSITION_KIND_ASSIGN_MAGISTRATE: {
      std::vector<v1::FieldProblem> problems =
          AgencyProblems(request.target(), kMagistrateType, /*required=*/true, "target");
      if (!problems.empty()) return InvalidProblems("invalid target magistrate", problems);
      if (SameAgency(request.target(), current.magistrate())) {
        return Failed("the target is already the magistrate of the case");
      }
      *next.mutable_magistrate() = request.target();
      CONCORD_RETURN_IF_ERROR(
          TakeSealed(request, ctx, "required: the record re-sealed to the new magistrate", out));
      break;
    }
    case v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT: {
      const AgencyType type =
          request.target().type() == cv1::AGENCY_TYPE_SOCIAL_INSPECTION ? kInspection : kPolice;
      std::vector<v1::FieldProblem> problems =
          AgencyProblems(request.target(), type, /*required=*/true, "target");
      if (!problems.empty()) {
        return InvalidProblems("invalid investigating unit (a police or social inspection unit)",
                               problems);
      }
      if (SameAgency(request.target(), current.investigating_unit())) {
        return Failed("the target is already the investigating unit of the case");
      }
      *next.mutable_investigating_unit() = request.target();
      break;
    }
    case v1::TRANSITION_KIND_RECORD_GUARDIAN: {
      if (IsUnset(current.receiving_centre()) || IsUnset(current.guardianship_service())) {
        return Failed(
            "the case names no centre or no Guardianship Service to seal the guardian to");
      }
      CONCORD_ASSIGN_OR_RETURN(
          v1::SealedRecord box,
          TakeBox(request.sealed_guardian(), request.has_sealed_guardian(),
                  {AgencyKeyOf(current.receiving_centre()),
                   AgencyKeyOf(current.guardianship_service())},
                  "sealed_guardian", "the centre and the Guardianship Service of the case", ctx,
                  next.version()));
      next.set_guardian_version(next.version());
      next.clear_guardian_recipients();
      for (const v1::WrappedKey& k : box.keys()) next.add_guardian_recipients(k.recipient());
      for (const v1::WrappedKey& k : box.keys()) out.entry.add_sealed_box_recipients(k.recipient());
      out.sealed_guardian = std::move(box);
      break;
    }
    case v1::TRANSITION_KIND_CLOSE: {
      const v1::CloseReason reason = request.close_reason();
      if (reason == v1::CLOSE_REASON_UNSPECIFIED || !v1::CloseReason_IsValid(reason)) {
        return InvalidField("a close reason is required", "close_reason",
                            "required: conditions_not_met, proceedings_ended, document_refused, "
                            "document_withdrawn, other_residence_route, voluntary_return, "
                            "lost_contact, death or other");
      }
      if (reason == v1::CLOSE_REASON_WITHDRAWAL || reason == v1::CLOSE_REASON_REFUSAL) {
        return InvalidField("ambiguous close reason", "close_reason",
                            "withdrawal and refusal are no longer accepted: use "
                            "conditions_not_met, document_refused, document_withdrawn or other");
      }
      next.set_close_reason(reason);
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      out.entry.set_close_reason(reason);
      break;
    }
    default:
      return absl::InternalError("transition kind without effects");
  }
  // The rows' ends (kept in one place so table and effects agree).
  for (D kind : rule.ends) End(out, kind);
  return absl::OkStatus();
}

}  // namespace

bool NeedsResidence(v1::NationalityClass nationality) {
  return nationality != v1::NATIONALITY_CLASS_BELGIAN &&
         nationality != v1::NATIONALITY_CLASS_EU_EEA;
}

bool Applies::Matches(v1::NationalityClass nationality, bool unaccompanied_minor) const {
  const bool needs = NeedsResidence(nationality);
  if (residence == Residence::kNeeded && !needs) return false;
  if (residence == Residence::kNotNeeded && needs) return false;
  if (minor == Minor::kUnaccompanied && !unaccompanied_minor) return false;
  if (minor == Minor::kNotUnaccompanied && unaccompanied_minor) return false;
  return true;
}

bool Applies::Matches(const v1::Case& c) const {
  return Matches(c.attributes().nationality_class(), c.attributes().unaccompanied_minor());
}

std::string Applies::Text() const {
  std::vector<std::string> parts;
  if (residence == Residence::kNeeded) parts.emplace_back("residence needed");
  if (residence == Residence::kNotNeeded) parts.emplace_back("Belgian or EU/EEA");
  if (minor == Minor::kUnaccompanied) parts.emplace_back("unaccompanied minor");
  if (minor == Minor::kNotUnaccompanied) parts.emplace_back("not an unaccompanied minor");
  return parts.empty() ? "every case" : Join(parts, ", ");
}

std::string_view PartyName(Party party) {
  switch (party) {
    case Party::kReferrer:
      return "referrer";
    case Party::kCentre:
      return "centre";
    case Party::kMagistrate:
      return "magistrate";
    case Party::kImmigrationOffice:
      return "immigration office";
    case Party::kGuardianshipService:
      return "guardianship service";
    case Party::kInvestigatingUnit:
      break;
  }
  return "investigating unit";
}

const std::vector<TransitionRule>& TransitionTable() {
  static const auto* const kTable = new std::vector<TransitionRule>(BuildTable());
  return *kTable;
}

std::string_view StateName(v1::CaseState state) {
  switch (state) {
    case kDetected:
      return "DETECTED";
    case kReferred:
      return "REFERRED";
    case kAccepted:
      return "ACCEPTED";
    case kDeclined:
      return "DECLINED";
    case kReflection:
      return "REFLECTION";
    case kStatement:
      return "STATEMENT_MADE";
    case kAttestation:
      return "REGISTRATION_ATTESTATION";
    case kCertificate:
      return "REGISTRATION_CERTIFICATE";
    case kUnlimited:
      return "UNLIMITED_STAY";
    case kClosed:
      return "CLOSED";
    default:
      return "UNSPECIFIED";
  }
}

std::string_view TransitionName(v1::TransitionKind kind) {
  if (kind == v1::TRANSITION_KIND_UNSPECIFIED || !v1::TransitionKind_IsValid(kind)) {
    return "UNSPECIFIED";
  }
  // The enum's own names without the prefix: one list, the proto's.
  static const auto* const kPrefix = new std::string("TRANSITION_KIND_");
  const std::string& name = v1::TransitionKind_Name(kind);
  return std::string_view(name).substr(kPrefix->size());
}

std::string TransitionAction(v1::TransitionKind kind) {
  std::string out(TransitionName(kind));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view DocumentName(v1::DocumentKind document) {
  switch (document) {
    case v1::DOCUMENT_KIND_REFLECTION:
      return "REFLECTION";
    case v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION:
      return "REGISTRATION_ATTESTATION";
    case v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE:
      return "REGISTRATION_CERTIFICATE";
    case v1::DOCUMENT_KIND_UNLIMITED_STAY:
      return "UNLIMITED_STAY";
    default:
      return "UNSPECIFIED";
  }
}

std::vector<v1::TransitionKind> AllowedTransitions(const v1::Case& c) {
  std::vector<v1::TransitionKind> out;
  for (v1::TransitionKind kind : kAllTransitionKinds) {
    if (FindRule(c, kind) != nullptr) out.push_back(kind);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const TransitionRule* FindRule(const v1::Case& c, v1::TransitionKind kind) {
  for (const TransitionRule& rule : TransitionTable()) {
    if (rule.kind == kind && Contains(rule.from, c.state()) && rule.applies.Matches(c)) {
      return &rule;
    }
  }
  return nullptr;
}

std::vector<v1::DocumentKind> RequestableDocuments(const v1::Case& c) {
  if (!NeedsResidence(c.attributes().nationality_class())) return {};
  const bool minor = c.attributes().unaccompanied_minor();
  switch (c.state()) {
    case kAccepted:
      // An unaccompanied minor receives the 3-month document directly (DOMAIN.md §1 step 3).
      return {minor ? v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION : v1::DOCUMENT_KIND_REFLECTION};
    case kStatement:
      return {v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION};
    case kAttestation:
      return {v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE};
    case kCertificate:
      return {v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE, v1::DOCUMENT_KIND_UNLIMITED_STAY};
    default:
      return {};
  }
}

StatusOr<TransitionOutcome> ApplyTransition(const v1::Case& current,
                                            const v1::TransitionRequest& request,
                                            const TransitionContext& ctx,
                                            const DeadlineConfig& config) {
  const v1::TransitionKind kind = request.kind();
  const AgencyId& caller = ctx.caller;
  // 1. A known kind.
  if (kind == v1::TRANSITION_KIND_UNSPECIFIED || !v1::TransitionKind_IsValid(kind)) {
    return InvalidArgumentWithFields("unknown transition kind",
                                     {{"kind", "required: a known transition kind"}});
  }
  // 2. Security: the caller's type (from its certificate) may make this kind somewhere.
  const auto& table = TransitionTable();
  const bool actor_anywhere = std::any_of(table.begin(), table.end(), [&](const auto& r) {
    return r.kind == kind && Contains(r.actors, caller.type);
  });
  if (!actor_anywhere) {
    return absl::PermissionDeniedError(Cat("agency type ", AgencyTypeName(caller.type),
                                           " may not make transition ", TransitionName(kind)));
  }
  // 3. The transition exists from the current state, on some path.
  const bool from_state = std::any_of(table.begin(), table.end(), [&](const auto& r) {
    return r.kind == kind && Contains(r.from, current.state());
  });
  if (!from_state) {
    return absl::FailedPreconditionError(
        Cat("case is in state ", StateName(current.state()),
            "; allowed transitions: ", NamesOf(AllowedTransitions(current))));
  }
  // 4. ... and on this case's path (nationality class, unaccompanied minor).
  const TransitionRule* rule = FindRule(current, kind);
  if (rule == nullptr) {
    if (IsDocumentStep(kind) && !NeedsResidence(current.attributes().nationality_class())) {
      return WithReason(
          absl::FailedPreconditionError(
              Cat(TransitionName(kind),
                  ": a Belgian or EU/EEA national needs no residence document; the procedure goes "
                  "on without the Immigration Office (statement, victim opinion, non-punishment)")),
          kReasonNoResidenceDocument);
    }
    return WithReason(absl::FailedPreconditionError(
                          Cat(TransitionName(kind), " is not a step for ", PathText(current),
                              " in state ", StateName(current.state()),
                              "; allowed transitions: ", NamesOf(AllowedTransitions(current)))),
                      kReasonNotOnThisPath);
  }
  // 5. Security: the caller's type and its role in this case.
  if (!Contains(rule->actors, caller.type)) {
    return absl::PermissionDeniedError(Cat("in state ", StateName(current.state()), ", ",
                                           TransitionName(kind), " is made by ",
                                           TypeNames(rule->actors), " only"));
  }
  const std::vector<Party> roles = PartyRoles(current, caller);
  const bool has_role =
      std::any_of(roles.begin(), roles.end(), [&](Party p) { return Contains(rule->as, p); });
  if (!has_role) {
    return absl::PermissionDeniedError(Cat("only the ", PartyNames(rule->as, " or the "),
                                           " of the case may make ", TransitionName(kind)));
  }
  // Security: only the recognised specialised centres request documents (an attribute of the
  // directory's record, not the agency type alone).
  if (kind == v1::TRANSITION_KIND_REQUEST_DOCUMENT && caller.type == kCentreType &&
      !ctx.caller_is_recognised_centre) {
    return WithReason(absl::PermissionDeniedError(
                          Cat("agency ", caller.Key(),
                              " is not a recognised specialised centre (directory attribute "
                              "recognised_centre): it may not request residence documents")),
                      kReasonNotRecognisedCentre);
  }
  // 6. Requirements and effects.
  if (kind != v1::TRANSITION_KIND_DECLINE && kind != v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT) {
    std::vector<v1::FieldProblem> problems = NoteProblems(request.note(), false, "note");
    if (!problems.empty()) return ProblemsToStatus("invalid note", problems);
  }
  TransitionOutcome out;
  out.next = current;
  v1::Case& next = out.next;
  next.set_version(current.version() + 1);
  *next.mutable_updated_at() = ToProtoTime(ctx.now);
  CONCORD_RETURN_IF_ERROR(ApplyEffects(current, request, ctx, config, *rule, out));
  if (rule->to != kUnchanged) next.set_state(rule->to);

  out.entry.set_version(next.version());
  out.entry.set_kind(kind);
  out.entry.set_action(TransitionAction(kind));
  out.entry.set_from_state(current.state());
  out.entry.set_to_state(next.state());
  *out.entry.mutable_actor() = AgencyIdToProto(caller);
  *out.entry.mutable_at() = ToProtoTime(ctx.now);
  out.entry.set_note(request.note());
  if (request.has_sealed_note()) {
    std::vector<v1::FieldProblem> problems =
        SealedRecordProblems(request.sealed_note(), "sealed_note");
    if (problems.empty()) {
      problems = NoteRecipientProblems(request.sealed_note(), current, next, caller, "sealed_note");
    }
    if (!problems.empty()) return ProblemsToStatus("invalid sealed note", problems);
    *out.entry.mutable_sealed_note() =
        StampSealedRecord(request.sealed_note(), next.version(), caller, ctx.now);
  }

  // A draft is private to its referring agency until submitted: nobody else is notified.
  if (current.state() != kDetected || kind == v1::TRANSITION_KIND_SUBMIT) {
    for (Party p : rule->notifies) {
      StatusOr<AgencyId> agency = AgencyIdFromProto(PartyField(next, p));
      if (!agency.ok() || SameAgency(PartyField(next, p), caller)) continue;
      const bool seen = std::any_of(out.notify.begin(), out.notify.end(), [&](const AgencyId& a) {
        return a.type == agency->type && a.id == agency->id;
      });
      if (!seen) out.notify.push_back(*std::move(agency));
    }
  }
  return out;
}

const cv1::AgencyId& PartyField(const v1::Case& c, Party p) {
  switch (p) {
    case Party::kReferrer:
      return c.referring_agency();
    case Party::kCentre:
      return c.receiving_centre();
    case Party::kMagistrate:
      return c.magistrate();
    case Party::kImmigrationOffice:
      return c.immigration_office();
    case Party::kGuardianshipService:
      return c.guardianship_service();
    case Party::kInvestigatingUnit:
      break;
  }
  return c.investigating_unit();
}

std::vector<AgencyId> Parties(const v1::Case& c) {
  std::vector<AgencyId> out;
  for (Party p : kAllParties) {
    StatusOr<AgencyId> agency = AgencyIdFromProto(PartyField(c, p));
    if (!agency.ok()) continue;
    const bool seen = std::any_of(out.begin(), out.end(), [&](const AgencyId& a) {
      return a.type == agency->type && a.id == agency->id;
    });
    if (!seen) out.push_back(*std::move(agency));
  }
  return out;
}

bool IsParty(const v1::Case& c, const AgencyId& agency) { return !PartyRoles(c, agency).empty(); }

std::vector<Party> PartyRoles(const v1::Case& c, const AgencyId& agency) {
  std::vector<Party> out;
  for (Party p : kAllParties) {
    if (SameAgency(PartyField(c, p), agency)) out.push_back(p);
  }
  return out;
}

v1::MagistrateOpinion OpinionOf(const v1::Case& c) {
  if (c.opinion() != v1::MAGISTRATE_OPINION_UNSPECIFIED) return c.opinion();
  return c.victim_opinion() ? v1::MAGISTRATE_OPINION_VICTIM : v1::MAGISTRATE_OPINION_UNSPECIFIED;
}

bool MayView(const v1::Case& c, const AgencyId& agency) {
  // Security: a draft is private to its referring agency (docs/referrals.md "Drafts").
  if (c.state() == kDetected) return SameAgency(c.referring_agency(), agency);
  return IsParty(c, agency);
}

std::vector<AgencyId> Viewers(const v1::Case& c) {
  if (c.state() != kDetected) return Parties(c);
  StatusOr<AgencyId> referrer = AgencyIdFromProto(c.referring_agency());
  if (!referrer.ok()) return {};
  return {*std::move(referrer)};
}

bool IsDecliningCentre(const v1::Case& c, const AgencyId& agency) {
  return SameAgency(c.receiving_centre(), agency) &&
         std::any_of(c.declined_by().begin(), c.declined_by().end(),
                     [&](const cv1::AgencyId& a) { return SameAgency(a, agency); });
}

Status CheckRecordKeeper(const v1::Case& c, const AgencyId& agency) {
  const std::vector<Party> roles = PartyRoles(c, agency);
  const bool keeper = c.state() == kDetected
                          ? Contains(roles, Party::kReferrer)
                          : Contains(roles, Party::kCentre) || Contains(roles, Party::kMagistrate);
  // Security: a centre that declined keeps no right on the personal data (docs/referrals.md
  // "Declining"); a centre is never the referrer or the magistrate (agency types differ).
  if (c.state() != kDetected && !Contains(roles, Party::kMagistrate) &&
      IsDecliningCentre(c, agency)) {
    return WithReason(
        absl::PermissionDeniedError(Cat("agency ", agency.Key(), " declined case ", c.case_id(),
                                        ": a centre that declined no longer keeps the sealed "
                                        "record")),
        "CENTRE_DECLINED");
  }
  if (!keeper) {
    return WithReason(absl::PermissionDeniedError(
                          "the sealed record is updated by the receiving centre or the "
                          "magistrate (the referring agency only while the case is a draft)"),
                      "NOT_A_RECORD_KEEPER");
  }
  if (IsTerminal(c.state())) {
    return absl::FailedPreconditionError(Cat("case ", c.case_id(), " is in state ",
                                             StateName(c.state()),
                                             "; its sealed record is no longer updated"));
  }
  return absl::OkStatus();
}

bool OccupiesCentre(v1::CaseState state) {
  switch (state) {
    case kReferred:
    case kAccepted:
    case kReflection:
    case kStatement:
    case kAttestation:
    case kCertificate:
      return true;
    default:
      return false;
  }
}

bool IsTerminal(v1::CaseState state) { return state == kUnlimited || state == kClosed; }

std::string StateMachineMarkdown() {
  auto deadline_names = [](const std::vector<D>& kinds) {
    std::vector<std::string> names;
    for (D k : kinds) names.push_back(Cat("`", DeadlineKindName(k), "`"));
    return names.empty() ? std::string("-") : Join(names, ", ");
  };
  std::string md =
      "| Transition | For | From | To | Who | Requires | Starts | Ends | Notifies |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  for (const TransitionRule& r : TransitionTable()) {
    std::vector<std::string> from;
    for (S s : r.from) from.emplace_back(StateName(s));
    AppendTo(md, "| `", TransitionName(r.kind), "` | ", r.applies.Text(), " | ", Join(from, ", "),
             " | ", r.to == kUnchanged ? std::string("(unchanged)") : std::string(StateName(r.to)),
             " | ", TypeNames(r.actors), " as ", PartyNames(r.as, " or "), " | ", r.requires_text,
             " | ", deadline_names(r.starts), " | ", deadline_names(r.ends), " | ",
             PartyNames(r.notifies, ", "), " |\n");
  }
  absl::StrAppend(&md,
                  "\nThe caller is never notified of its own transition. Transitions on a draft "
                  "(DETECTED) other than `SUBMIT` notify nobody: a draft is private to its "
                  "referring agency.\n\n```mermaid\nstateDiagram-v2\n    [*] --> DETECTED\n");
  std::vector<std::string> loops;
  for (const TransitionRule& r : TransitionTable()) {
    if (r.to == kUnchanged) {
      const std::string name(TransitionName(r.kind));
      if (!Contains(loops, name)) loops.push_back(name);
      continue;
    }
    const std::string path =
        r.applies.Text() == "every case" ||
                (r.applies.residence == R::kNeeded && r.applies.minor == M::kAny)
            ? std::string()
            : Cat(" (", r.applies.Text(), ")");
    for (S s : r.from) {
      AppendTo(md, "    ", StateName(s), " --> ", StateName(r.to), ": ", TransitionName(r.kind),
               path, "\n");
    }
  }
  AppendTo(md, "    UNLIMITED_STAY --> [*]\n    CLOSED --> [*]\n```\n\n",
           "Self-loops (the state does not change) are in the table only: ", Join(loops, ", "),
           ".\n");
  return md;
}

}  // namespace concord::referrals
