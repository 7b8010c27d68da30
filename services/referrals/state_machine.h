// File: services/referrals/state_machine.h
//
// The victim-status procedure (DOMAIN.md §1, §2) as ONE table of transitions (TransitionTable)
// and a pure function applying a transition to a case (ApplyTransition). docs/referrals.md embeds
// StateMachineMarkdown() verbatim; a unit test keeps doc and code in step, and another walks
// every (state, transition, actor type, nationality class, minor class) against the doc's table.
//
//   DETECTED -SUBMIT-> REFERRED -ACCEPT-> ACCEPTED -ISSUE_REFLECTION_DOCUMENT-> REFLECTION
//   -RECORD_STATEMENT-> STATEMENT_MADE -ISSUE_ATTESTATION-> REGISTRATION_ATTESTATION
//   -ISSUE_CERTIFICATE-> REGISTRATION_CERTIFICATE -GRANT_UNLIMITED_STAY-> UNLIMITED_STAY
//   REFERRED -DECLINE-> DECLINED -REFER_ELSEWHERE-> REFERRED;  any open state -CLOSE-> CLOSED
//
// Every victim has a path (a row's `applies`): third-country (and unknown) nationals follow the
// residence steps; an unaccompanied minor among them receives the 3-month attestation directly
// from ACCEPTED (no reflection period); Belgian and EU/EEA nationals need no residence document:
// statement, victim opinion, conviction and non-punishment without the Immigration Office.
//
// Role rules: only a RECOGNISED centre (directory attribute recognised_centre) requests
// residence documents (and, for an unaccompanied minor, the Guardianship Service); only the
// magistrate of the case records the victim opinion (or that the person is not a victim), the end
// of the proceedings, the conviction and the non-punishment assessment (art. 8); only the
// Immigration Office issues, refuses and withdraws documents.
//
// Order of checks in ApplyTransition (binding; the table tests rely on it):
//  1. kind unknown/UNSPECIFIED                                  -> INVALID_ARGUMENT (field "kind")
//  2. caller's type is not an actor of `kind` in ANY row        -> PERMISSION_DENIED
//  3. no row for (case.state, kind), whatever the path          -> FAILED_PRECONDITION
//     "case is in state X; allowed transitions: A, B"
//  4. rows exist for (state, kind) but none for the case's path -> FAILED_PRECONDITION, reason
//     NO_RESIDENCE_DOCUMENT (a Belgian/EU/EEA victim and a document step) or NOT_ON_THIS_PATH
//  5. caller type not in the row's actors, or the caller is not one of the row's parties
//                                                               -> PERMISSION_DENIED
//     a centre that is not recognised requesting a document     -> PERMISSION_DENIED,
//                                                                  NOT_A_RECOGNISED_CENTRE
//  6. requirements: malformed / missing request fields          -> INVALID_ARGUMENT (field paths)
//                   the case does not meet them                 -> FAILED_PRECONDITION
// The expected_version of the request is NOT checked here: the service compares it with the
// case it read (ABORTED) and the store's compare-and-set enforces it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "services/referrals/deadlines.h"

namespace concord::referrals {

/// The roles an agency holds in a case (one Case field each).
enum class Party {
  kReferrer,             // referring_agency
  kCentre,               // receiving_centre (the accommodating centre)
  kMagistrate,           // magistrate
  kImmigrationOffice,    // immigration_office
  kGuardianshipService,  // guardianship_service (an unaccompanied minor's case)
  kInvestigatingUnit,    // investigating_unit (takes the statements)
};

inline constexpr std::array<Party, 6> kAllParties = {Party::kReferrer,
                                                     Party::kCentre,
                                                     Party::kMagistrate,
                                                     Party::kImmigrationOffice,
                                                     Party::kGuardianshipService,
                                                     Party::kInvestigatingUnit};

/// "referrer", "centre", "magistrate", "immigration office", "guardianship service",
/// "investigating unit".
std::string_view PartyName(Party party);

/// Whether the victim needs a residence document: THIRD_COUNTRY and UNKNOWN (and a draft's
/// UNSPECIFIED) do; BELGIAN and EU_EEA do not.
bool NeedsResidence(v1::NationalityClass nationality);

/// Which cases a row applies to.
struct Applies {
  enum class Residence { kAny, kNeeded, kNotNeeded };
  enum class Minor { kAny, kUnaccompanied, kNotUnaccompanied };
  Residence residence = Residence::kAny;
  Minor minor = Minor::kAny;

  bool Matches(v1::NationalityClass nationality, bool unaccompanied_minor) const;
  bool Matches(const v1::Case& c) const;
  /// "every case", "residence needed", "residence needed, unaccompanied minor",
  /// "Belgian or EU/EEA", ...
  std::string Text() const;
};

struct TransitionRule {
  v1::TransitionKind kind;
  std::vector<v1::CaseState> from;
  v1::CaseState to;                // CASE_STATE_UNSPECIFIED = self-loop (state unchanged)
  Applies applies;                 // which cases (nationality class x unaccompanied minor)
  std::vector<AgencyType> actors;  // agency types allowed
  std::vector<Party> as;           // the caller must ALSO be one of these parties of the case
  std::string_view requires_text;  // human text of what it requires
  std::vector<v1::DeadlineKind> starts;
  std::vector<v1::DeadlineKind> ends;
  std::vector<Party> notifies;
  std::string_view description;
};

inline constexpr std::array<v1::CaseState, 10> kAllCaseStates = {
    v1::CASE_STATE_DETECTED,
    v1::CASE_STATE_REFERRED,
    v1::CASE_STATE_ACCEPTED,
    v1::CASE_STATE_DECLINED,
    v1::CASE_STATE_REFLECTION,
    v1::CASE_STATE_STATEMENT_MADE,
    v1::CASE_STATE_REGISTRATION_ATTESTATION,
    v1::CASE_STATE_REGISTRATION_CERTIFICATE,
    v1::CASE_STATE_UNLIMITED_STAY,
    v1::CASE_STATE_CLOSED,
};

inline constexpr std::array<v1::TransitionKind, 22> kAllTransitionKinds = {
    v1::TRANSITION_KIND_SUBMIT,
    v1::TRANSITION_KIND_ACCEPT,
    v1::TRANSITION_KIND_DECLINE,
    v1::TRANSITION_KIND_REFER_ELSEWHERE,
    v1::TRANSITION_KIND_REQUEST_DOCUMENT,
    v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT,
    v1::TRANSITION_KIND_RECORD_STATEMENT,
    v1::TRANSITION_KIND_ISSUE_ATTESTATION,
    v1::TRANSITION_KIND_RECORD_VICTIM_OPINION,
    v1::TRANSITION_KIND_ISSUE_CERTIFICATE,
    v1::TRANSITION_KIND_RENEW_CERTIFICATE,
    v1::TRANSITION_KIND_RECORD_CONVICTION,
    v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY,
    v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT,
    v1::TRANSITION_KIND_ASSIGN_MAGISTRATE,
    v1::TRANSITION_KIND_CLOSE,
    v1::TRANSITION_KIND_RECORD_NOT_VICTIM,
    v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED,
    v1::TRANSITION_KIND_REFUSE_DOCUMENT,
    v1::TRANSITION_KIND_WITHDRAW_DOCUMENT,
    v1::TRANSITION_KIND_RECORD_GUARDIAN,
    v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT,
};

/// ErrorInfo reasons of ApplyTransition (docs/referrals.md "Refusal reasons").
inline constexpr std::string_view kReasonNoResidenceDocument = "NO_RESIDENCE_DOCUMENT";
inline constexpr std::string_view kReasonNotOnThisPath = "NOT_ON_THIS_PATH";
inline constexpr std::string_view kReasonNotRecognisedCentre = "NOT_A_RECOGNISED_CENTRE";
inline constexpr std::string_view kReasonDraftIncomplete = "DRAFT_INCOMPLETE";

/// THE table. A kind may have several rows (by state or by path) with disjoint (from, applies).
const std::vector<TransitionRule>& TransitionTable();

/// "DETECTED", "REFERRED", ... ("UNSPECIFIED" otherwise).
std::string_view StateName(v1::CaseState state);
/// "SUBMIT", "ACCEPT", ... ("UNSPECIFIED" otherwise).
std::string_view TransitionName(v1::TransitionKind kind);
/// "SUBMIT" -> "submit": the HistoryEntry.action of a transition.
std::string TransitionAction(v1::TransitionKind kind);
/// "REFLECTION", "REGISTRATION_ATTESTATION", ... ("UNSPECIFIED" otherwise).
std::string_view DocumentName(v1::DocumentKind document);

/// The kinds with a row from `state` for `c`'s path, in enum order (empty in UNLIMITED_STAY
/// except RECORD_NON_PUNISHMENT...).
std::vector<v1::TransitionKind> AllowedTransitions(const v1::Case& c);
/// The row of (state, kind) for the case's path, or nullptr.
const TransitionRule* FindRule(const v1::Case& c, v1::TransitionKind kind);
/// The documents that may be requested in `c`'s state on its path (REQUEST_DOCUMENT).
std::vector<v1::DocumentKind> RequestableDocuments(const v1::Case& c);

/// What the service knows about the caller and the moment, beyond the case and the request.
struct TransitionContext {
  AgencyId caller;
  absl::Time now;
  /// The caller holds the directory attribute recognised_centre (REQUEST_DOCUMENT by a centre).
  bool caller_is_recognised_centre = false;
};

struct TransitionOutcome {
  v1::Case next;  // version = case.version + 1, updated_at = now, state, flags
  v1::HistoryEntry entry;
  std::vector<DeadlineStart> started;
  std::vector<v1::DeadlineKind> ended;     // every kind the row ends (whether running or not)
  std::vector<AgencyId> notify;            // parties to notify (de-duplicated, never the caller)
  std::optional<v1::SealedRecord> sealed;  // a re-sealed record carried by the request, stamped
  /// A document request's identity box or a guardian box, stamped (version = next.version).
  std::optional<v1::SealedRecord> sealed_identity;
  std::optional<v1::SealedRecord> sealed_guardian;
};

/// Applies `request` (kind + its fields) to `current` in `context`. See the check order above.
StatusOr<TransitionOutcome> ApplyTransition(const v1::Case& current,
                                            const v1::TransitionRequest& request,
                                            const TransitionContext& context,
                                            const DeadlineConfig& config);

/// The agency of role `p` in `c` (may be unset).
const concord::common::v1::AgencyId& PartyField(const v1::Case& c, Party p);
/// The set of party agencies (every role; de-duplicated, unset or malformed fields skipped).
/// Trust domains as stored (empty = local).
std::vector<AgencyId> Parties(const v1::Case& c);
bool IsParty(const v1::Case& c, const AgencyId& agency);
/// The roles `agency` holds in `c` (several when e.g. the referrer is also the magistrate).
std::vector<Party> PartyRoles(const v1::Case& c, const AgencyId& agency);

/// The magistrate's opinion, reading cases stored before `opinion` existed (victim_opinion).
v1::MagistrateOpinion OpinionOf(const v1::Case& c);

/// Who may see the case at all (Get, List, History, Validate, OpenSealed and every change): a
/// draft (DETECTED) is private to its referring agency, even when it already names a centre or
/// a magistrate; once submitted, every party.
bool MayView(const v1::Case& c, const AgencyId& agency);
/// The agencies that may see `c` (MayView), de-duplicated: the referrer alone while a draft,
/// otherwise Parties(c).
std::vector<AgencyId> Viewers(const v1::Case& c);
/// True when `agency` is the receiving centre of `c` and has declined the case (it is in
/// declined_by): it still sees the outcome (Get, History, List) but has no right on the personal
/// data any more: it neither updates nor opens the sealed record, and receives no new sealed
/// record or sealed note (except a note it writes itself).
bool IsDecliningCentre(const v1::Case& c, const AgencyId& agency);
/// May `agency` write a new version of the sealed record with UpdateSealed? The receiving
/// centre (unless it declined: PERMISSION_DENIED, reason CENTRE_DECLINED), the magistrate, and
/// the referring agency while the case is a draft (PERMISSION_DENIED, reason
/// NOT_A_RECORD_KEEPER, for anyone else); FAILED_PRECONDITION in a terminal state.
Status CheckRecordKeeper(const v1::Case& c, const AgencyId& agency);
/// REFERRED, ACCEPTED, REFLECTION, STATEMENT_MADE, REGISTRATION_ATTESTATION,
/// REGISTRATION_CERTIFICATE: the case counts toward its centre's load (a DECLINED case does not).
bool OccupiesCentre(v1::CaseState state);
/// UNLIMITED_STAY and CLOSED.
bool IsTerminal(v1::CaseState state);

/// The table (markdown) + a ```mermaid stateDiagram-v2 block; docs/referrals.md holds it
/// verbatim between <!-- BEGIN state-machine --> and <!-- END state-machine -->.
std::string StateMachineMarkdown();

}  // namespace concord::referrals
