// File: services/liaison/requests.h
//
// The liaison requests as ONE table of moves per request type (MoveTable) and pure functions
// that issue a request (Issue: who may order what) and apply a move to it (ApplyMove).
// docs/liaison.md embeds RequestTablesMarkdown() verbatim (a unit test keeps them equal); a unit
// test walks every type x state x move x caller.
//
// Who is who: the ISSUER is the agency that created the request (its certificate); the EXECUTOR
// is the agency that must act (the executing authority, the foreign single point of contact,
// the service provider). Every row names the side that may make its move.
//
// Order of checks in ApplyMove (binding; the walk test relies on it):
//  1. move UNSPECIFIED / unknown                                 -> INVALID_ARGUMENT ("move")
//  2. no row of (type, move) in any state                       -> INVALID_ARGUMENT ("move")
//  3. caller is neither issuer nor executor                      -> PERMISSION_DENIED NOT_A_PARTY
//  4. no row for (type, state, move)                             -> FAILED_PRECONDITION
//     "request is in state X; allowed moves: A, B" (reason MOVE_NOT_ALLOWED)
//  5. the caller is not the row's side                           -> PERMISSION_DENIED WRONG_PARTY
//  6. the move's fields: malformed / missing / not for this move -> INVALID_ARGUMENT (field paths)
//     an extension already used, a clock not running             -> FAILED_PRECONDITION
// expected_version is compared by the service (ABORTED) and enforced by the store.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/liaison/v1/liaison.pb.h"
#include "services/liaison/clocks.h"

namespace concord::liaison {

enum class Side { kIssuer, kExecutor };
std::string SideName(Side side);  // "issuer" | "executor"

struct MoveRule {
  v1::RequestType type;
  v1::Move move;
  std::vector<v1::RequestState> from;
  v1::RequestState to;  // REQUEST_STATE_UNSPECIFIED = the state does not change
  Side by;
  std::vector<v1::ClockKind> starts;
  std::vector<v1::ClockKind> ends;  // kinds stopped (ALL: every clock)
  bool ends_all = false;
  v1::ClockKind extends = v1::CLOCK_KIND_UNSPECIFIED;  // the clock extended once
  const char* description = "";
};

inline constexpr v1::RequestType kAllRequestTypes[] = {
    v1::REQUEST_TYPE_EIO,
    v1::REQUEST_TYPE_SPOC_INFORMATION,
    v1::REQUEST_TYPE_PRODUCTION_ORDER,
    v1::REQUEST_TYPE_PRESERVATION_ORDER,
    v1::REQUEST_TYPE_MUTUAL_LEGAL_ASSISTANCE,
    v1::REQUEST_TYPE_EUROPOL_EUROJUST,
};
inline constexpr v1::RequestState kAllRequestStates[] = {
    v1::REQUEST_STATE_ISSUED,
    v1::REQUEST_STATE_ACKNOWLEDGED,
    v1::REQUEST_STATE_RECOGNISED,
    v1::REQUEST_STATE_ANSWERED,
    v1::REQUEST_STATE_REFUSED,
    v1::REQUEST_STATE_CANNOT_COMPLY,
    v1::REQUEST_STATE_CLARIFICATION_REQUESTED,
    v1::REQUEST_STATE_PRESERVING,
    v1::REQUEST_STATE_RELEASED,
    v1::REQUEST_STATE_WITHDRAWN,
};
inline constexpr v1::Move kAllMoves[] = {
    v1::MOVE_ACKNOWLEDGE,
    v1::MOVE_EXTEND_DECISION,
    v1::MOVE_RECOGNISE,
    v1::MOVE_REFUSE,
    v1::MOVE_NOTIFY_DELAY,
    v1::MOVE_ANSWER,
    v1::MOVE_REQUEST_CLARIFICATION,
    v1::MOVE_CLARIFY,
    v1::MOVE_CANNOT_COMPLY,
    v1::MOVE_CONFIRM_PRESERVATION,
    v1::MOVE_EXTEND_PRESERVATION,
    v1::MOVE_CONFIRM_PRODUCTION_FOLLOWS,
    v1::MOVE_RELEASE,
    v1::MOVE_SET_FOLLOW_UP,
    v1::MOVE_WITHDRAW,
};

/// THE table, grouped by type.
const std::vector<MoveRule>& MoveTable();
/// The row of (type, state, move), or nullptr.
const MoveRule* FindRule(v1::RequestType type, v1::RequestState state, v1::Move move);
/// The moves with a row from `state` for `type`, in enum order.
std::vector<v1::Move> AllowedMoves(v1::RequestType type, v1::RequestState state);
/// The states a request of `type` can be in (ISSUED first), in enum order.
std::vector<v1::RequestState> StatesOf(v1::RequestType type);
/// ANSWERED, REFUSED, CANNOT_COMPLY, RELEASED, WITHDRAWN.
bool IsTerminal(v1::RequestState state);
/// The clocks started when a request of `type` is issued.
std::vector<v1::ClockKind> InitialClocks(v1::RequestType type);

/// "EIO", "SPOC_INFORMATION", ...; "ISSUED", ...; "ACKNOWLEDGE", ... ("UNSPECIFIED" otherwise).
std::string TypeName(v1::RequestType type);
std::string StateName(v1::RequestState state);
std::string MoveName(v1::Move move);
/// Lower-case label values for metrics: "eio", "issued", ...
std::string TypeLabel(v1::RequestType type);
std::string StateLabel(v1::RequestState state);
/// "ACKNOWLEDGE" -> "acknowledge": HistoryEntry.action.
std::string MoveAction(v1::Move move);

/// The (issuer type, executor type) pairs allowed for `type` (docs/liaison.md).
std::vector<std::pair<AgencyType, AgencyType>> AllowedParties(v1::RequestType type);

/// Who may order what (Regulation 2023/1543 art. 4): for a production order, content data and
/// traffic data not requested solely to identify the user need an investigating judge and an
/// offence punishable by at least 3 years (PERMISSION_DENIED JUDGE_REQUIRED; FAILED_PRECONDITION
/// OFFENCE_BELOW_THRESHOLD); subscriber and identification data, and every preservation order,
/// need a magistrate whose role is recorded (prosecutor, investigating judge, labour auditor;
/// PERMISSION_DENIED MAGISTRATE_ROLE_REQUIRED). Other types: OK. `role` is the issuer's
/// magistrate_role attribute (nullopt: unset).
Status CheckOrderingAuthority(v1::RequestType type, v1::DataCategory category,
                              int offence_max_years, const std::optional<std::string>& role);

/// Everything Issue needs besides the request.
struct IssueContext {
  AgencyId issuer;
  std::optional<std::string> issuer_role;  // magistrate_role
  AgencyId executor;
  absl::TimeZone executor_zone;  // the time zone of the authority that must act
  std::string executor_zone_name;
  absl::Time now;
  std::string request_id;
  /// The agency type the party table (AllowedParties) sees for each side: unset = its own type;
  /// an agency of a partner deployment is kForeignPartner (docs/liaison.md "Liaison requests
  /// across the border").
  std::optional<AgencyType> issuer_party;
  std::optional<AgencyType> executor_party;
};

struct Outcome {
  v1::Request next;
  v1::HistoryEntry entry;
  /// Domestic parties to notify (never the caller; foreign partners have no inbox here).
  std::vector<AgencyId> notify;
  /// An 8-hour clock started: the executor's round-the-clock contact is alerted at once.
  bool urgent = false;
};

/// A new request (state ISSUED, version 1) with its initial clocks. Checks, in order: field
/// shapes and their fit to the type (INVALID_ARGUMENT), the pair of agency types
/// (PERMISSION_DENIED ISSUER_NOT_ALLOWED for the caller's type; INVALID_ARGUMENT "executor.type"
/// for the executor's), then CheckOrderingAuthority.
StatusOr<Outcome> Issue(const v1::CreateRequestRequest& req, const IssueContext& ctx,
                        const ClockConfig& config);

/// Applies `req` by `caller` at `now`; `executor_zone` is the zone named in the request's
/// executor_time_zone. See the check order above.
StatusOr<Outcome> ApplyMove(const v1::Request& current, const v1::ActRequest& req,
                            const AgencyId& caller, absl::Time now,
                            const absl::TimeZone& executor_zone, const ClockConfig& config);

/// The party `agency` is in `request`, if any.
std::optional<Side> SideOf(const v1::Request& request, const AgencyId& agency);

/// The bytes an executing agency signs (Ed25519) when it answers with evidence:
///   "concord.liaison.answer.v1" 0x00 request_id 0x00 decimal(version) 0x00
///   then per evidence item, in the order given: message_id 0x00 sha256 0x00 decimal(size) 0x0A
/// `version` is the version the answer creates (expected_version + 1).
std::string AnswerSigningBytes(std::string_view request_id, int64_t version,
                               const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& evidence);

/// Field problems of evidence items under `field` ("evidence"): 1..64 items when `required`,
/// 0..64 otherwise; each message_id, sha256, size_bytes valid.
void CheckEvidence(const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& evidence,
                   bool required, std::string_view field, FieldErrors& errors);

/// The tables (Markdown, one per type) + a ```mermaid stateDiagram-v2 block per type;
/// docs/liaison.md holds it verbatim between <!-- BEGIN request-tables --> and
/// <!-- END request-tables -->.
std::string RequestTablesMarkdown();

}  // namespace concord::liaison
