#include "services/referrals/state_machine.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/referrals/ids.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

namespace cv1 = ::concord::common::v1;

using S = v1::CaseState;
using D = v1::DeadlineKind;

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

// Frontline services that detect and refer (DOMAIN.md §1 step 1).
const std::vector<AgencyType>& Referring() {
  static const auto* const kTypes =
      new std::vector<AgencyType>{kPolice, kMagistrateType, kOfficeType, kInspection};
  return *kTypes;
}

std::vector<AgencyType> ReferringAndCentre() {
  std::vector<AgencyType> out = Referring();
  out.push_back(kCentreType);
  return out;
}

std::vector<TransitionRule> BuildTable() {
  using P = Party;
  const std::vector<D> all_deadlines = {kCentreResponse, kReflectionEnd, kAttestationExpiry,
                                        kCertificateExpiry};
  return {
      {v1::TRANSITION_KIND_SUBMIT,
       {kDetected},
       kReferred,
       Referring(),
       {P::kReferrer},
       "the draft is complete (Validate reports no problem)",
       {kCentreResponse},
       {},
       {P::kCentre, P::kMagistrate},
       "The referring agency refers the presumed victim to the chosen reception centre."},
      {v1::TRANSITION_KIND_ACCEPT,
       {kReferred},
       kAccepted,
       {kCentreType},
       {P::kCentre},
       "-",
       {},
       {kCentreResponse},
       {P::kReferrer, P::kMagistrate},
       "The centre takes the person into its mandatory support (condition 2)."},
      {v1::TRANSITION_KIND_DECLINE,
       {kReferred},
       kDeclined,
       {kCentreType},
       {P::kCentre},
       "`note`: the reason (no personal data); or `sealed_note`",
       {},
       {kCentreResponse},
       {P::kReferrer, P::kMagistrate},
       "The centre declines; it is recorded in `declined_by` and stays the case's centre until "
       "the referrer refers elsewhere."},
      {v1::TRANSITION_KIND_REFER_ELSEWHERE,
       {kDeclined},
       kReferred,
       Referring(),
       {P::kReferrer},
       "`target`: another reception centre that has not declined the case; `sealed_record` "
       "re-sealed to it (and to the magistrate, when set)",
       {kCentreResponse},
       {},
       {P::kCentre, P::kMagistrate},
       "The referrer refers the declined case to another centre."},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT,
       {kAccepted, kStatement, kAttestation, kCertificate},
       kUnchanged,
       {kCentreType},
       {P::kCentre},
       "`document` requestable in the state (ACCEPTED: REFLECTION; STATEMENT_MADE: "
       "REGISTRATION_ATTESTATION; REGISTRATION_ATTESTATION: REGISTRATION_CERTIFICATE; "
       "REGISTRATION_CERTIFICATE: REGISTRATION_CERTIFICATE (renewal) or UNLIMITED_STAY); no "
       "request pending; `target`: the Immigration Office (may be omitted once the case has one)",
       {},
       {},
       {P::kImmigrationOffice},
       "The centre asks the Immigration Office for a residence document (arts 61/2-61/5)."},
      {v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT,
       {kAccepted},
       kReflection,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the centre's pending request for REFLECTION",
       {kReflectionEnd},
       {},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The Immigration Office issues the 45-day reflection document (annex 15); an "
       "unaccompanied minor receives a 3-month document."},
      {v1::TRANSITION_KIND_RECORD_STATEMENT,
       {kAccepted, kReflection},
       kStatement,
       {kPolice, kMagistrateType},
       {P::kReferrer, P::kMagistrate},
       "-",
       {},
       {kReflectionEnd},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The person has made statements or filed a complaint (condition 3)."},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION,
       {kStatement},
       kAttestation,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the centre's pending request for REGISTRATION_ATTESTATION",
       {kAttestationExpiry},
       {},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The Immigration Office issues the attestation of registration (max. 3 months)."},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION,
       {kAttestation},
       kUnchanged,
       {kMagistrateType},
       {P::kMagistrate},
       "not recorded yet",
       {},
       {},
       {P::kCentre, P::kImmigrationOffice, P::kReferrer},
       "The magistrate considers the person a victim (only the magistrate recognises victims)."},
      {v1::TRANSITION_KIND_ISSUE_CERTIFICATE,
       {kAttestation},
       kCertificate,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the magistrate's victim opinion; the centre's pending request for "
       "REGISTRATION_CERTIFICATE",
       {kCertificateExpiry},
       {kAttestationExpiry},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The Immigration Office issues the 6-month certificate of registration (CIRE)."},
      {v1::TRANSITION_KIND_RENEW_CERTIFICATE,
       {kCertificate},
       kUnchanged,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the centre's pending request for REGISTRATION_CERTIFICATE (renewal)",
       {kCertificateExpiry},
       {},
       {P::kCentre, P::kMagistrate},
       "The Immigration Office renews the certificate for 6 months while proceedings run."},
      {v1::TRANSITION_KIND_RECORD_CONVICTION,
       {kCertificate},
       kUnchanged,
       {kMagistrateType},
       {P::kMagistrate},
       "not recorded yet",
       {},
       {},
       {P::kCentre, P::kImmigrationOffice, P::kReferrer},
       "The magistrate records a conviction for trafficking, or requisitions retaining the "
       "charge (art. 61/5)."},
      {v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY,
       {kCertificate},
       kUnlimited,
       {kOfficeType},
       {P::kImmigrationOffice},
       "the magistrate's recorded conviction; the centre's pending request for UNLIMITED_STAY",
       {},
       {kCertificateExpiry},
       {P::kCentre, P::kReferrer, P::kMagistrate},
       "The Immigration Office grants unlimited stay."},
      {v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT,
       {kAccepted, kReflection, kStatement, kAttestation, kCertificate},
       kUnchanged,
       {kMagistrateType},
       {P::kMagistrate},
       "`note`: the assessment (no personal data); or `sealed_note`",
       {},
       {},
       {P::kCentre, P::kReferrer},
       "The magistrate records the non-punishment assessment (Directive 2011/36 art. 8); "
       "recording it again replaces it."},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE,
       {kDetected, kDeclined},
       kUnchanged,
       Referring(),
       {P::kReferrer},
       "`target`: a magistrate other than the current one; `sealed_record` re-sealed to it (and "
       "to the centre, except in DECLINED)",
       {},
       {},
       {P::kMagistrate, P::kCentre, P::kReferrer},
       "The referrer names the competent magistrate (on a draft or a declined case)."},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE,
       {kReferred, kAccepted, kReflection, kStatement, kAttestation, kCertificate},
       kUnchanged,
       ReferringAndCentre(),
       {P::kReferrer, P::kCentre},
       "`target`: a magistrate other than the current one; `sealed_record` re-sealed to the "
       "centre and to it",
       {},
       {},
       {P::kMagistrate, P::kCentre, P::kReferrer},
       "The referrer or the centre names (or changes) the competent magistrate."},
      {v1::TRANSITION_KIND_CLOSE,
       {kDetected, kReferred, kDeclined},
       kClosed,
       Referring(),
       {P::kReferrer},
       "`close_reason` (not UNSPECIFIED)",
       {},
       all_deadlines,
       {P::kCentre, P::kMagistrate, P::kImmigrationOffice},
       "The referrer closes a case no centre supports yet (or abandons a draft)."},
      {v1::TRANSITION_KIND_CLOSE,
       {kAccepted, kReflection, kStatement, kAttestation, kCertificate},
       kClosed,
       {kCentreType},
       {P::kCentre},
       "`close_reason` (not UNSPECIFIED)",
       {},
       all_deadlines,
       {P::kReferrer, P::kMagistrate, P::kImmigrationOffice},
       "The centre closes the case: voluntary return, withdrawal, refusal, lost contact, other."},
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

const cv1::AgencyId& FieldOf(const v1::Case& c, Party p) {
  switch (p) {
    case Party::kReferrer:
      return c.referring_agency();
    case Party::kCentre:
      return c.receiving_centre();
    case Party::kMagistrate:
      return c.magistrate();
    case Party::kImmigrationOffice:
      break;
  }
  return c.immigration_office();
}

constexpr std::array<Party, 4> kAllParties = {Party::kReferrer, Party::kCentre, Party::kMagistrate,
                                              Party::kImmigrationOffice};

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

// FAILED_PRECONDITION carrying field violations (the stored draft, not the request, is at fault).
Status FailedWithProblems(std::string_view message, const std::vector<v1::FieldProblem>& problems) {
  const Status with_fields = ProblemsToStatus(message, problems);
  Status out = absl::FailedPreconditionError(absl::string_view(message.data(), message.size()));
  with_fields.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

Status Failed(const std::string& message) { return absl::FailedPreconditionError(message); }

Status RequirePending(const v1::Case& c, v1::DocumentKind document) {
  if (c.pending_document_request() == document) return absl::OkStatus();
  return Failed(Cat("the receiving centre has not requested a ", DocumentName(document),
                    " document (REQUEST_DOCUMENT)"));
}

void StartOrReplace(TransitionOutcome& out, const DeadlineStart& start) {
  out.started.push_back(start);
  auto* deadlines = out.next.mutable_deadlines();
  for (int i = deadlines->size() - 1; i >= 0; --i) {
    if (deadlines->Get(i).kind() == start.kind) deadlines->DeleteSubrange(i, 1);
  }
  v1::Deadline* d = deadlines->Add();
  d->set_kind(start.kind);
  *d->mutable_due_at() = ToProtoTime(start.due);
  d->set_overdue(false);
}

void End(TransitionOutcome& out, D kind) {
  out.ended.push_back(kind);
  auto* deadlines = out.next.mutable_deadlines();
  for (int i = deadlines->size() - 1; i >= 0; --i) {
    if (deadlines->Get(i).kind() == kind) deadlines->DeleteSubrange(i, 1);
  }
}

// The re-sealed record of REFER_ELSEWHERE / ASSIGN_MAGISTRATE, checked against `next` (the case
// with its new centre / magistrate) and stamped with the next record version.
Status TakeSealed(const v1::TransitionRequest& request, const AgencyId& caller, absl::Time now,
                  std::string_view why, TransitionOutcome& out) {
  if (!request.has_sealed_record()) {
    return InvalidProblems("a re-sealed personal record is required", {[&] {
                             v1::FieldProblem p;
                             p.set_field("sealed_record");
                             p.set_description(std::string(why));
                             return p;
                           }()});
  }
  std::vector<v1::FieldProblem> problems =
      SealedRecordProblems(request.sealed_record(), "sealed_record");
  if (problems.empty())
    problems = RecipientProblems(request.sealed_record(), out.next, "sealed_record");
  if (!problems.empty()) return InvalidProblems("invalid sealed record", problems);
  v1::SealedRecord stamped =
      StampSealedRecord(request.sealed_record(), out.next.sealed_record_version() + 1, caller, now);
  AttachSealedRecord(stamped, out.next);
  out.sealed = std::move(stamped);
  return absl::OkStatus();
}

// Step 5: the requirements and effects of each kind (request fields first, then the case).
Status ApplyEffects(const v1::Case& current, const v1::TransitionRequest& request,
                    const AgencyId& caller, absl::Time now, const DeadlineConfig& config,
                    const TransitionRule& rule, TransitionOutcome& out) {
  v1::Case& next = out.next;
  const bool minor = current.attributes().minor();
  switch (request.kind()) {
    case v1::TRANSITION_KIND_SUBMIT: {
      const std::vector<v1::FieldProblem> problems = SubmitProblems(current);
      if (!problems.empty()) {
        std::vector<std::string> fields;
        for (const auto& p : problems) fields.push_back(p.field());
        return WithReason(FailedWithProblems("the draft is not complete (see Validate); fields: " +
                                                 Join(fields, ", "),
                                             problems),
                          "DRAFT_INCOMPLETE");
      }
      StartOrReplace(out, StartDeadline(kCentreResponse, now, minor, config));
      break;
    }
    case v1::TRANSITION_KIND_ACCEPT:
      End(out, kCentreResponse);
      break;
    case v1::TRANSITION_KIND_DECLINE: {
      std::vector<v1::FieldProblem> problems =
          NoteProblems(request.note(), !request.has_sealed_note(), "note");
      if (!problems.empty()) return InvalidProblems("a decline needs a reason", problems);
      if (!std::any_of(current.declined_by().begin(), current.declined_by().end(),
                       [&](const cv1::AgencyId& a) { return SameAgency(a, caller); })) {
        *next.add_declined_by() = current.receiving_centre();
      }
      End(out, kCentreResponse);
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
      CONCORD_RETURN_IF_ERROR(TakeSealed(request, caller, now,
                                         "required: the record re-sealed to the new centre", out));
      StartOrReplace(out, StartDeadline(kCentreResponse, now, minor, config));
      break;
    }
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT: {
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
      const std::vector<v1::DocumentKind> allowed = RequestableDocuments(current.state());
      if (!Contains(allowed, request.document())) {
        std::vector<std::string> names;
        for (auto d : allowed) names.emplace_back(DocumentName(d));
        return Failed(Cat("in state ", StateName(current.state()),
                          " the centre may request: ", Join(names, ", ")));
      }
      if (current.pending_document_request() != v1::DOCUMENT_KIND_UNSPECIFIED) {
        return Failed(Cat("a request for a ", DocumentName(current.pending_document_request()),
                          " document is already pending"));
      }
      next.set_pending_document_request(request.document());
      if (!IsUnset(request.target())) *next.mutable_immigration_office() = request.target();
      break;
    }
    case v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT: {
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REFLECTION));
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      const DeadlineStart start = StartDeadline(kReflectionEnd, now, minor, config);
      *next.mutable_document_valid_until() = ToProtoTime(start.due);
      StartOrReplace(out, start);
      break;
    }
    case v1::TRANSITION_KIND_RECORD_STATEMENT:
      End(out, kReflectionEnd);
      break;
    case v1::TRANSITION_KIND_ISSUE_ATTESTATION: {
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION));
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      const DeadlineStart start = StartDeadline(kAttestationExpiry, now, minor, config);
      *next.mutable_document_valid_until() = ToProtoTime(start.due);
      StartOrReplace(out, start);
      break;
    }
    case v1::TRANSITION_KIND_RECORD_VICTIM_OPINION:
      if (current.victim_opinion()) return Failed("the victim opinion is already recorded");
      next.set_victim_opinion(true);
      break;
    case v1::TRANSITION_KIND_ISSUE_CERTIFICATE: {
      if (!current.victim_opinion()) {
        return Failed(
            "the magistrate has not recorded the opinion that the person is a victim "
            "(RECORD_VICTIM_OPINION)");
      }
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      End(out, kAttestationExpiry);
      const DeadlineStart start = StartDeadline(kCertificateExpiry, now, minor, config);
      *next.mutable_document_valid_until() = ToProtoTime(start.due);
      StartOrReplace(out, start);
      break;
    }
    case v1::TRANSITION_KIND_RENEW_CERTIFICATE: {
      CONCORD_RETURN_IF_ERROR(RequirePending(current, v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      const DeadlineStart start = StartDeadline(kCertificateExpiry, now, minor, config);
      *next.mutable_document_valid_until() = ToProtoTime(start.due);
      StartOrReplace(out, start);
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
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      next.clear_document_valid_until();  // unlimited
      End(out, kCertificateExpiry);
      break;
    case v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT: {
      std::vector<v1::FieldProblem> problems =
          NoteProblems(request.note(), !request.has_sealed_note(), "note");
      if (!problems.empty()) return InvalidProblems("the assessment is required", problems);
      next.set_non_punishment_assessed(true);
      next.set_non_punishment_assessment(request.note());
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
      CONCORD_RETURN_IF_ERROR(TakeSealed(
          request, caller, now, "required: the record re-sealed to the new magistrate", out));
      break;
    }
    case v1::TRANSITION_KIND_CLOSE: {
      if (request.close_reason() == v1::CLOSE_REASON_UNSPECIFIED ||
          !v1::CloseReason_IsValid(request.close_reason())) {
        v1::FieldProblem p;
        p.set_field("close_reason");
        p.set_description("required: voluntary return, withdrawal, refusal, lost contact or other");
        return InvalidProblems("a close reason is required", {p});
      }
      next.set_close_reason(request.close_reason());
      next.set_pending_document_request(v1::DOCUMENT_KIND_UNSPECIFIED);
      for (D kind : rule.ends) End(out, kind);
      break;
    }
    default:
      return absl::InternalError("transition kind without effects");
  }
  // Rows' ends not handled above (kept in one place so table and effects agree).
  for (D kind : rule.ends) {
    if (!Contains(out.ended, kind)) End(out, kind);
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view PartyName(Party party) {
  switch (party) {
    case Party::kReferrer:
      return "referrer";
    case Party::kCentre:
      return "centre";
    case Party::kMagistrate:
      return "magistrate";
    case Party::kImmigrationOffice:
      break;
  }
  return "immigration office";
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
  switch (kind) {
    case v1::TRANSITION_KIND_SUBMIT:
      return "SUBMIT";
    case v1::TRANSITION_KIND_ACCEPT:
      return "ACCEPT";
    case v1::TRANSITION_KIND_DECLINE:
      return "DECLINE";
    case v1::TRANSITION_KIND_REFER_ELSEWHERE:
      return "REFER_ELSEWHERE";
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT:
      return "REQUEST_DOCUMENT";
    case v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT:
      return "ISSUE_REFLECTION_DOCUMENT";
    case v1::TRANSITION_KIND_RECORD_STATEMENT:
      return "RECORD_STATEMENT";
    case v1::TRANSITION_KIND_ISSUE_ATTESTATION:
      return "ISSUE_ATTESTATION";
    case v1::TRANSITION_KIND_RECORD_VICTIM_OPINION:
      return "RECORD_VICTIM_OPINION";
    case v1::TRANSITION_KIND_ISSUE_CERTIFICATE:
      return "ISSUE_CERTIFICATE";
    case v1::TRANSITION_KIND_RENEW_CERTIFICATE:
      return "RENEW_CERTIFICATE";
    case v1::TRANSITION_KIND_RECORD_CONVICTION:
      return "RECORD_CONVICTION";
    case v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY:
      return "GRANT_UNLIMITED_STAY";
    case v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT:
      return "RECORD_NON_PUNISHMENT";
    case v1::TRANSITION_KIND_ASSIGN_MAGISTRATE:
      return "ASSIGN_MAGISTRATE";
    case v1::TRANSITION_KIND_CLOSE:
      return "CLOSE";
    default:
      return "UNSPECIFIED";
  }
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

std::vector<v1::TransitionKind> AllowedTransitions(v1::CaseState state) {
  std::vector<v1::TransitionKind> out;
  for (v1::TransitionKind kind : kAllTransitionKinds) {
    if (FindRule(state, kind) != nullptr) out.push_back(kind);
  }
  return out;
}

const TransitionRule* FindRule(v1::CaseState state, v1::TransitionKind kind) {
  for (const TransitionRule& rule : TransitionTable()) {
    if (rule.kind == kind && Contains(rule.from, state)) return &rule;
  }
  return nullptr;
}

std::vector<v1::DocumentKind> RequestableDocuments(v1::CaseState state) {
  switch (state) {
    case kAccepted:
      return {v1::DOCUMENT_KIND_REFLECTION};
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
                                            const AgencyId& caller, absl::Time now,
                                            const DeadlineConfig& config) {
  const v1::TransitionKind kind = request.kind();
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
  // 3. The transition exists from the current state.
  const TransitionRule* rule = FindRule(current.state(), kind);
  if (rule == nullptr) {
    return absl::FailedPreconditionError(
        Cat("case is in state ", StateName(current.state()),
            "; allowed transitions: ", NamesOf(AllowedTransitions(current.state()))));
  }
  // 4. Security: the caller's type and its role in this case.
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
  // 5. Requirements and effects.
  if (kind != v1::TRANSITION_KIND_DECLINE && kind != v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT) {
    std::vector<v1::FieldProblem> problems = NoteProblems(request.note(), false, "note");
    if (!problems.empty()) return ProblemsToStatus("invalid note", problems);
  }
  TransitionOutcome out;
  out.next = current;
  CONCORD_RETURN_IF_ERROR(ApplyEffects(current, request, caller, now, config, *rule, out));
  v1::Case& next = out.next;
  if (rule->to != kUnchanged) next.set_state(rule->to);
  next.set_version(current.version() + 1);
  *next.mutable_updated_at() = ToProtoTime(now);

  out.entry.set_version(next.version());
  out.entry.set_kind(kind);
  out.entry.set_action(TransitionAction(kind));
  out.entry.set_from_state(current.state());
  out.entry.set_to_state(next.state());
  *out.entry.mutable_actor() = AgencyIdToProto(caller);
  *out.entry.mutable_at() = ToProtoTime(now);
  out.entry.set_note(request.note());
  if (request.has_sealed_note()) {
    std::vector<v1::FieldProblem> problems =
        SealedRecordProblems(request.sealed_note(), "sealed_note");
    if (problems.empty()) {
      problems = NoteRecipientProblems(request.sealed_note(), current, next, caller, "sealed_note");
    }
    if (!problems.empty()) return ProblemsToStatus("invalid sealed note", problems);
    *out.entry.mutable_sealed_note() =
        StampSealedRecord(request.sealed_note(), next.version(), caller, now);
  }

  // A draft is private to its referring agency until submitted: nobody else is notified.
  if (current.state() != kDetected || kind == v1::TRANSITION_KIND_SUBMIT) {
    for (Party p : rule->notifies) {
      StatusOr<AgencyId> agency = AgencyIdFromProto(FieldOf(next, p));
      if (!agency.ok() || SameAgency(FieldOf(next, p), caller)) continue;
      const bool seen = std::any_of(out.notify.begin(), out.notify.end(), [&](const AgencyId& a) {
        return a.type == agency->type && a.id == agency->id;
      });
      if (!seen) out.notify.push_back(*std::move(agency));
    }
  }
  return out;
}

std::vector<AgencyId> Parties(const v1::Case& c) {
  std::vector<AgencyId> out;
  for (Party p : kAllParties) {
    StatusOr<AgencyId> agency = AgencyIdFromProto(FieldOf(c, p));
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
    if (SameAgency(FieldOf(c, p), agency)) out.push_back(p);
  }
  return out;
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
      "| Transition | From | To | Who | Requires | Starts | Ends | Notifies |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const TransitionRule& r : TransitionTable()) {
    std::vector<std::string> from;
    for (S s : r.from) from.emplace_back(StateName(s));
    AppendTo(md, "| `", TransitionName(r.kind), "` | ", Join(from, ", "), " | ",
             r.to == kUnchanged ? std::string("(unchanged)") : std::string(StateName(r.to)), " | ",
             TypeNames(r.actors), " as ", PartyNames(r.as, " or "), " | ", r.requires_text, " | ",
             deadline_names(r.starts), " | ", deadline_names(r.ends), " | ",
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
    for (S s : r.from) {
      AppendTo(md, "    ", StateName(s), " --> ", StateName(r.to), ": ", TransitionName(r.kind),
               "\n");
    }
  }
  AppendTo(md, "    UNLIMITED_STAY --> [*]\n    CLOSED --> [*]\n```\n\n",
           "Self-loops (the state does not change) are in the table only: ", Join(loops, ", "),
           ".\n");
  return md;
}

}  // namespace concord::referrals
