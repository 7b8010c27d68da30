// File: services/referrals/state_machine.h
//
// The victim-status procedure (DOMAIN.md §1) as ONE table of transitions (TransitionTable) and a
// pure function applying a transition to a case (ApplyTransition). docs/referrals.md embeds
// StateMachineMarkdown() verbatim; a unit test keeps doc and code in step.
//
//   DETECTED -SUBMIT-> REFERRED -ACCEPT-> ACCEPTED -ISSUE_REFLECTION_DOCUMENT-> REFLECTION
//   -RECORD_STATEMENT-> STATEMENT_MADE -ISSUE_ATTESTATION-> REGISTRATION_ATTESTATION
//   -ISSUE_CERTIFICATE-> REGISTRATION_CERTIFICATE -GRANT_UNLIMITED_STAY-> UNLIMITED_STAY
//   REFERRED -DECLINE-> DECLINED -REFER_ELSEWHERE-> REFERRED;  any open state -CLOSE-> CLOSED
//
// Role rules: only the receiving centre accepts/declines and requests residence documents; only
// the magistrate of the case records the victim opinion, the conviction and the non-punishment
// assessment (art. 8); only the Immigration Office records issued documents.
//
// Order of checks in ApplyTransition (binding; the table test relies on it):
//  1. kind unknown/UNSPECIFIED                                  -> INVALID_ARGUMENT (field "kind")
//  2. caller's type is not an actor of `kind` in ANY row        -> PERMISSION_DENIED
//  3. no row for (case.state, kind)                             -> FAILED_PRECONDITION
//     "case is in state X; allowed transitions: A, B"
//  4. caller type not in the row's actors, or the caller is not one of the row's parties
//                                                               -> PERMISSION_DENIED
//  5. requirements: malformed / missing request fields          -> INVALID_ARGUMENT (field paths)
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

enum class Party { kReferrer, kCentre, kMagistrate, kImmigrationOffice };

/// "referrer", "centre", "magistrate", "immigration office".
std::string_view PartyName(Party party);

struct TransitionRule {
  v1::TransitionKind kind;
  std::vector<v1::CaseState> from;
  v1::CaseState to;                // CASE_STATE_UNSPECIFIED = self-loop (state unchanged)
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

inline constexpr std::array<v1::TransitionKind, 16> kAllTransitionKinds = {
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
};

/// THE table. A kind may have several rows (CLOSE, ASSIGN_MAGISTRATE) with disjoint `from`.
const std::vector<TransitionRule>& TransitionTable();

/// "DETECTED", "REFERRED", ... ("UNSPECIFIED" otherwise).
std::string_view StateName(v1::CaseState state);
/// "SUBMIT", "ACCEPT", ... ("UNSPECIFIED" otherwise).
std::string_view TransitionName(v1::TransitionKind kind);
/// "SUBMIT" -> "submit": the HistoryEntry.action of a transition.
std::string TransitionAction(v1::TransitionKind kind);
/// "REFLECTION", "REGISTRATION_ATTESTATION", ... ("UNSPECIFIED" otherwise).
std::string_view DocumentName(v1::DocumentKind document);

/// The kinds with a row from `state`, in enum order (empty for UNLIMITED_STAY and CLOSED).
std::vector<v1::TransitionKind> AllowedTransitions(v1::CaseState state);
/// The row of (state, kind), or nullptr.
const TransitionRule* FindRule(v1::CaseState state, v1::TransitionKind kind);
/// The documents the centre may request in `state` (REQUEST_DOCUMENT).
std::vector<v1::DocumentKind> RequestableDocuments(v1::CaseState state);

struct TransitionOutcome {
  v1::Case next;  // version = case.version + 1, updated_at = now, state, flags
  v1::HistoryEntry entry;
  std::vector<DeadlineStart> started;
  std::vector<v1::DeadlineKind> ended;     // every kind the row ends (whether running or not)
  std::vector<AgencyId> notify;            // parties to notify (de-duplicated, never the caller)
  std::optional<v1::SealedRecord> sealed;  // a re-sealed record carried by the request, stamped
};

/// Applies `request` (kind + its fields) by `caller` at `now`. See the check order above.
StatusOr<TransitionOutcome> ApplyTransition(const v1::Case& current,
                                            const v1::TransitionRequest& request,
                                            const AgencyId& caller, absl::Time now,
                                            const DeadlineConfig& config);

/// The set of party agencies (referrer, centre, magistrate, immigration office; de-duplicated,
/// unset or malformed fields skipped). Trust domains as stored (empty = local).
std::vector<AgencyId> Parties(const v1::Case& c);
bool IsParty(const v1::Case& c, const AgencyId& agency);
/// The roles `agency` holds in `c` (several when e.g. the referrer is also the magistrate).
std::vector<Party> PartyRoles(const v1::Case& c, const AgencyId& agency);

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
