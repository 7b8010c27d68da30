#include "services/liaison/requests.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status_macros.h"
#include "services/liaison/ids.h"

namespace concord::liaison {
namespace {

using S = v1::RequestState;
using M = v1::Move;
using C = v1::ClockKind;
using T = v1::RequestType;
using A = AgencyType;

constexpr int kMaxEvidence = 64;
constexpr int64_t kMaxEvidenceBytes = int64_t{1} << 40;
constexpr int kMaxOffenceYears = 99;
constexpr absl::Duration kMaxFollowUp = absl::Hours(24 * 366 * 5);

constexpr S kIssued = v1::REQUEST_STATE_ISSUED;
constexpr S kAcknowledged = v1::REQUEST_STATE_ACKNOWLEDGED;
constexpr S kRecognised = v1::REQUEST_STATE_RECOGNISED;
constexpr S kAnswered = v1::REQUEST_STATE_ANSWERED;
constexpr S kRefused = v1::REQUEST_STATE_REFUSED;
constexpr S kCannotComply = v1::REQUEST_STATE_CANNOT_COMPLY;
constexpr S kClarification = v1::REQUEST_STATE_CLARIFICATION_REQUESTED;
constexpr S kPreserving = v1::REQUEST_STATE_PRESERVING;
constexpr S kReleased = v1::REQUEST_STATE_RELEASED;
constexpr S kWithdrawn = v1::REQUEST_STATE_WITHDRAWN;
constexpr S kSame = v1::REQUEST_STATE_UNSPECIFIED;

std::vector<MoveRule> BuildTable() {
  const Side I = Side::kIssuer;
  const Side E = Side::kExecutor;
  std::vector<MoveRule> t;
  auto row = [&t](MoveRule r) { t.push_back(std::move(r)); };
  // European Investigation Order (Directive 2014/41/EU, DOMAIN.md §3).
  const T eio = v1::REQUEST_TYPE_EIO;
  row({eio,
       M::MOVE_ACKNOWLEDGE,
       {kIssued},
       kAcknowledged,
       E,
       {},
       {C::CLOCK_KIND_ACKNOWLEDGEMENT},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "receipt acknowledged (Annex B, art. 16)"});
  row({eio,
       M::MOVE_EXTEND_DECISION,
       {kIssued, kAcknowledged},
       kSame,
       E,
       {},
       {},
       false,
       C::CLOCK_KIND_RECOGNITION,
       "the recognition decision is postponed once, by up to 30 days, with a reason (art. 12(5))"});
  row({eio,
       M::MOVE_RECOGNISE,
       {kAcknowledged},
       kRecognised,
       E,
       {C::CLOCK_KIND_EXECUTION},
       {C::CLOCK_KIND_RECOGNITION},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "recognised: the 90 days of execution start (art. 12(4))"});
  row({eio,
       M::MOVE_REFUSE,
       {kIssued, kAcknowledged},
       kRefused,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "refused on a ground for non-recognition (art. 11)"});
  row({eio,
       M::MOVE_ANSWER,
       {kRecognised},
       kAnswered,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "executed: the evidence is transferred (signed, SHA-256 listed)"});
  row({eio,
       M::MOVE_WITHDRAW,
       {kIssued, kAcknowledged, kRecognised},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn by the issuing authority"});
  // Information request between single points of contact (Directive 2023/977, §5).
  const T spoc = v1::REQUEST_TYPE_SPOC_INFORMATION;
  row({spoc,
       M::MOVE_NOTIFY_DELAY,
       {kIssued},
       kSame,
       E,
       {},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "reasoned notice that the answer will be late (the clock keeps running)"});
  row({spoc,
       M::MOVE_REFUSE,
       {kIssued},
       kRefused,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "reasoned refusal"});
  row({spoc,
       M::MOVE_ANSWER,
       {kIssued},
       kAnswered,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "the information is provided"});
  row({spoc,
       M::MOVE_WITHDRAW,
       {kIssued},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn by the requesting single point of contact"});
  // European Production Order (Regulation 2023/1543, §4).
  const T prod = v1::REQUEST_TYPE_PRODUCTION_ORDER;
  row({prod,
       M::MOVE_ANSWER,
       {kIssued},
       kAnswered,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "the data are produced as attachments (signed, SHA-256 listed)"});
  row({prod,
       M::MOVE_CANNOT_COMPLY,
       {kIssued},
       kCannotComply,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "the provider cannot comply, with its reason"});
  row({prod,
       M::MOVE_REQUEST_CLARIFICATION,
       {kIssued},
       kClarification,
       E,
       {},
       {C::CLOCK_KIND_PRODUCTION},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "the order is incomplete or manifestly wrong: the clock stops until it is clarified"});
  row({prod,
       M::MOVE_CLARIFY,
       {kClarification},
       kIssued,
       I,
       {C::CLOCK_KIND_PRODUCTION},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "clarified (a sealed message): the clock starts again"});
  row({prod,
       M::MOVE_WITHDRAW,
       {kIssued, kClarification},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn by the issuing authority"});
  // European Preservation Order (Regulation 2023/1543 art. 11, §4).
  const T pres = v1::REQUEST_TYPE_PRESERVATION_ORDER;
  row({pres,
       M::MOVE_CONFIRM_PRESERVATION,
       {kIssued},
       kPreserving,
       E,
       {},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "the provider confirms the data are preserved"});
  row({pres,
       M::MOVE_CANNOT_COMPLY,
       {kIssued},
       kCannotComply,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "the provider cannot comply, with its reason"});
  row({pres,
       M::MOVE_EXTEND_PRESERVATION,
       {kIssued, kPreserving},
       kSame,
       I,
       {},
       {},
       false,
       C::CLOCK_KIND_PRESERVATION,
       "preservation extended once, by up to 30 days"});
  row({pres,
       M::MOVE_CONFIRM_PRODUCTION_FOLLOWS,
       {kPreserving},
       kSame,
       I,
       {},
       {C::CLOCK_KIND_PRESERVATION},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "a production request follows: the data stay preserved until it comes"});
  row({pres,
       M::MOVE_RELEASE,
       {kPreserving},
       kReleased,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "the data need no longer be preserved"});
  row({pres,
       M::MOVE_WITHDRAW,
       {kIssued},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn by the issuing authority"});
  // Mutual legal assistance (no fixed term).
  const T mla = v1::REQUEST_TYPE_MUTUAL_LEGAL_ASSISTANCE;
  row({mla,
       M::MOVE_ACKNOWLEDGE,
       {kIssued},
       kAcknowledged,
       E,
       {},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "receipt acknowledged"});
  row({mla,
       M::MOVE_REFUSE,
       {kIssued, kAcknowledged},
       kRefused,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "refused, with a ground"});
  row({mla,
       M::MOVE_ANSWER,
       {kIssued, kAcknowledged},
       kAnswered,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "answered"});
  row({mla,
       M::MOVE_SET_FOLLOW_UP,
       {kIssued, kAcknowledged},
       kSame,
       I,
       {},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "the issuer (re)sets the follow-up date"});
  row({mla,
       M::MOVE_WITHDRAW,
       {kIssued, kAcknowledged},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn"});
  // Europol / Eurojust exchanges (no fixed term).
  const T eu = v1::REQUEST_TYPE_EUROPOL_EUROJUST;
  row({eu,
       M::MOVE_ANSWER,
       {kIssued},
       kAnswered,
       E,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "answered"});
  row({eu,
       M::MOVE_SET_FOLLOW_UP,
       {kIssued},
       kSame,
       I,
       {},
       {},
       false,
       C::CLOCK_KIND_UNSPECIFIED,
       "the issuer (re)sets the follow-up date"});
  row({eu,
       M::MOVE_WITHDRAW,
       {kIssued},
       kWithdrawn,
       I,
       {},
       {},
       true,
       C::CLOCK_KIND_UNSPECIFIED,
       "withdrawn"});
  return t;
}

bool Contains(const std::vector<S>& v, S s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// The reason codes each move takes (docs/liaison.md "Reasons"); empty: the move takes none.
std::vector<v1::ReasonCode> ReasonsFor(M move) {
  using R = v1::ReasonCode;
  switch (move) {
    case M::MOVE_REFUSE:
      return {R::REASON_CODE_IMMUNITY_OR_PRIVILEGE,
              R::REASON_CODE_NATIONAL_SECURITY,
              R::REASON_CODE_NE_BIS_IN_IDEM,
              R::REASON_CODE_TERRITORIALITY,
              R::REASON_CODE_FUNDAMENTAL_RIGHTS,
              R::REASON_CODE_DOUBLE_CRIMINALITY,
              R::REASON_CODE_MEASURE_UNAVAILABLE,
              R::REASON_CODE_DISPROPORTIONATE,
              R::REASON_CODE_OTHER};
    case M::MOVE_NOTIFY_DELAY:
    case M::MOVE_EXTEND_DECISION:
      return {R::REASON_CODE_COMPLEXITY, R::REASON_CODE_AWAITING_INFORMATION,
              R::REASON_CODE_WORKLOAD, R::REASON_CODE_OTHER};
    case M::MOVE_CANNOT_COMPLY:
      return {R::REASON_CODE_DATA_NOT_HELD, R::REASON_CODE_DATA_DELETED,
              R::REASON_CODE_TECHNICAL_IMPOSSIBILITY, R::REASON_CODE_CONFLICTING_OBLIGATION,
              R::REASON_CODE_OTHER};
    case M::MOVE_REQUEST_CLARIFICATION:
      return {R::REASON_CODE_INCOMPLETE_ORDER, R::REASON_CODE_MANIFEST_ERROR, R::REASON_CODE_OTHER};
    default:
      return {};
  }
}

bool Inboxed(AgencyType t) {  // agencies with a Concord inbox a notifier may write to
  return t == A::kPolice || t == A::kMagistrate || t == A::kReceptionCentre ||
         t == A::kImmigrationOffice || t == A::kSocialInspection || t == A::kPlatform;
}

std::vector<AgencyId> NotifyOthers(const v1::Request& r, const AgencyId& caller) {
  std::vector<AgencyId> out;
  for (const auto* p : {&r.issuer(), &r.executor()}) {
    auto id = AgencyIdFromProto(*p);
    if (!id.ok() || SameAgency(*p, caller) || !Inboxed(id->type)) continue;
    out.push_back(*id);
  }
  return out;
}

void EndClock(v1::Request& r, C kind) {
  auto* clocks = r.mutable_clocks();
  for (int i = clocks->size() - 1; i >= 0; --i) {
    if (clocks->Get(i).kind() == kind) clocks->DeleteSubrange(i, 1);
  }
}

v1::Clock* FindClock(v1::Request& r, C kind) {
  for (v1::Clock& c : *r.mutable_clocks()) {
    if (c.kind() == kind) return &c;
  }
  return nullptr;
}

void SetClock(v1::Request& r, v1::Clock clock) {
  EndClock(r, clock.kind());
  *r.add_clocks() = std::move(clock);
}

bool IsHourClock(const v1::Clock& c) { return c.period_hours() > 0; }

Status Precondition(std::string message, std::string_view reason) {
  return WithReason(absl::FailedPreconditionError(std::move(message)), reason);
}
Status Denied(std::string message, std::string_view reason) {
  return WithReason(absl::PermissionDeniedError(std::move(message)), reason);
}

void CheckReason(const v1::Reason& reason, M move, bool present, FieldErrors& errors) {
  const std::vector<v1::ReasonCode> allowed = ReasonsFor(move);
  if (allowed.empty()) {
    if (present) errors.Add("reason", absl::StrCat(MoveName(move), " takes no reason"));
    return;
  }
  if (!present || reason.code() == v1::REASON_CODE_UNSPECIFIED) {
    errors.Add("reason.code", absl::StrCat("required for ", MoveName(move)));
  } else if (std::find(allowed.begin(), allowed.end(), reason.code()) == allowed.end()) {
    std::vector<std::string> names;
    for (v1::ReasonCode c : allowed) names.push_back(v1::ReasonCode_Name(c));
    errors.Add("reason.code", absl::StrCat("not a reason for ", MoveName(move), "; one of ",
                                           absl::StrJoin(names, ", ")));
  }
  if (!reason.detail_message_id().empty() && !IsMessageId(reason.detail_message_id())) {
    errors.Add("reason.detail_message_id", "must be a message id ([A-Za-z0-9_-]{16,64})");
  }
}

}  // namespace

std::string SideName(Side side) { return side == Side::kIssuer ? "issuer" : "executor"; }

const std::vector<MoveRule>& MoveTable() {
  static const std::vector<MoveRule>* const table = new std::vector<MoveRule>(BuildTable());
  return *table;
}

const MoveRule* FindRule(v1::RequestType type, v1::RequestState state, v1::Move move) {
  for (const MoveRule& r : MoveTable()) {
    if (r.type == type && r.move == move && Contains(r.from, state)) return &r;
  }
  return nullptr;
}

std::vector<v1::Move> AllowedMoves(v1::RequestType type, v1::RequestState state) {
  std::vector<v1::Move> out;
  for (v1::Move m : kAllMoves) {
    if (FindRule(type, state, m) != nullptr) out.push_back(m);
  }
  return out;
}

std::vector<v1::RequestState> StatesOf(v1::RequestType type) {
  std::set<int> seen = {kIssued};
  for (const MoveRule& r : MoveTable()) {
    if (r.type != type) continue;
    for (S s : r.from) seen.insert(s);
    if (r.to != kSame) seen.insert(r.to);
  }
  std::vector<v1::RequestState> out;
  for (v1::RequestState s : kAllRequestStates) {
    if (seen.count(s)) out.push_back(s);
  }
  return out;
}

bool IsTerminal(v1::RequestState s) {
  return s == kAnswered || s == kRefused || s == kCannotComply || s == kReleased || s == kWithdrawn;
}

std::vector<v1::ClockKind> InitialClocks(v1::RequestType type) {
  switch (type) {
    case v1::REQUEST_TYPE_EIO:
      return {C::CLOCK_KIND_ACKNOWLEDGEMENT, C::CLOCK_KIND_RECOGNITION};
    case v1::REQUEST_TYPE_SPOC_INFORMATION:
      return {C::CLOCK_KIND_RESPONSE};
    case v1::REQUEST_TYPE_PRODUCTION_ORDER:
      return {C::CLOCK_KIND_PRODUCTION};
    case v1::REQUEST_TYPE_PRESERVATION_ORDER:
      return {C::CLOCK_KIND_PRESERVATION};
    default:
      return {};  // MLA, Europol/Eurojust: the follow-up date, if the issuer set one
  }
}

std::string TypeName(v1::RequestType type) {
  switch (type) {
    case v1::REQUEST_TYPE_EIO:
      return "EIO";
    case v1::REQUEST_TYPE_SPOC_INFORMATION:
      return "SPOC_INFORMATION";
    case v1::REQUEST_TYPE_PRODUCTION_ORDER:
      return "PRODUCTION_ORDER";
    case v1::REQUEST_TYPE_PRESERVATION_ORDER:
      return "PRESERVATION_ORDER";
    case v1::REQUEST_TYPE_MUTUAL_LEGAL_ASSISTANCE:
      return "MUTUAL_LEGAL_ASSISTANCE";
    case v1::REQUEST_TYPE_EUROPOL_EUROJUST:
      return "EUROPOL_EUROJUST";
    default:
      return "UNSPECIFIED";
  }
}

std::string StateName(v1::RequestState state) {
  if (state == kSame || !v1::RequestState_IsValid(state)) return "UNSPECIFIED";
  return v1::RequestState_Name(state).substr(std::string_view("REQUEST_STATE_").size());
}

std::string MoveName(v1::Move move) {
  if (move == M::MOVE_UNSPECIFIED || !v1::Move_IsValid(move)) return "UNSPECIFIED";
  return v1::Move_Name(move).substr(std::string_view("MOVE_").size());
}

std::string TypeLabel(v1::RequestType type) { return absl::AsciiStrToLower(TypeName(type)); }
std::string StateLabel(v1::RequestState state) { return absl::AsciiStrToLower(StateName(state)); }
std::string MoveAction(v1::Move move) { return absl::AsciiStrToLower(MoveName(move)); }

std::vector<std::pair<AgencyType, AgencyType>> AllowedParties(v1::RequestType type) {
  switch (type) {
    case v1::REQUEST_TYPE_EIO:
      return {{A::kMagistrate, A::kForeignPartner}, {A::kForeignPartner, A::kMagistrate}};
    case v1::REQUEST_TYPE_SPOC_INFORMATION:
      return {{A::kPolice, A::kForeignPartner}, {A::kForeignPartner, A::kPolice}};
    case v1::REQUEST_TYPE_PRODUCTION_ORDER:
    case v1::REQUEST_TYPE_PRESERVATION_ORDER:
      return {{A::kMagistrate, A::kPlatform}};
    case v1::REQUEST_TYPE_MUTUAL_LEGAL_ASSISTANCE:
    case v1::REQUEST_TYPE_EUROPOL_EUROJUST:
      return {{A::kMagistrate, A::kForeignPartner},
              {A::kPolice, A::kForeignPartner},
              {A::kForeignPartner, A::kMagistrate},
              {A::kForeignPartner, A::kPolice}};
    default:
      return {};
  }
}

Status CheckOrderingAuthority(v1::RequestType type, v1::DataCategory category,
                              int offence_max_years, const std::optional<std::string>& role) {
  if (type != v1::REQUEST_TYPE_PRODUCTION_ORDER && type != v1::REQUEST_TYPE_PRESERVATION_ORDER) {
    return absl::OkStatus();
  }
  if (!role.has_value()) {
    return Denied(
        "an e-Evidence order needs a magistrate whose role (prosecutor, investigating judge, "
        "labour auditor) is recorded in the directory",
        "MAGISTRATE_ROLE_REQUIRED");
  }
  const bool needs_judge =
      type == v1::REQUEST_TYPE_PRODUCTION_ORDER &&
      (category == v1::DATA_CATEGORY_CONTENT || category == v1::DATA_CATEGORY_TRAFFIC);
  if (!needs_judge) return absl::OkStatus();
  if (*role != "investigating_judge") {
    return Denied(
        absl::StrCat("a production order for ",
                     category == v1::DATA_CATEGORY_CONTENT ? "content data" : "traffic data",
                     " needs an investigating judge; the issuer is a ", *role),
        "JUDGE_REQUIRED");
  }
  if (offence_max_years < 3) {
    return Precondition(
        "a production order for content or traffic data needs an offence punishable by at least "
        "3 years (offence_max_years)",
        "OFFENCE_BELOW_THRESHOLD");
  }
  return absl::OkStatus();
}

void CheckEvidence(const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& evidence,
                   bool required, std::string_view field, FieldErrors& errors) {
  if (required && evidence.empty()) {
    errors.Add(std::string(field), "at least one attachment is required");
  }
  if (evidence.size() > kMaxEvidence) {
    errors.Add(std::string(std::string(field)), absl::StrCat("at most ", kMaxEvidence, " items"));
    return;
  }
  for (int i = 0; i < evidence.size(); ++i) {
    const v1::EvidenceRef& e = evidence[i];
    const std::string at = absl::StrCat(std::string(std::string(field)), "[", i, "]");
    if (!IsMessageId(e.message_id())) {
      errors.Add(at + ".message_id", "must be a message id ([A-Za-z0-9_-]{16,64})");
    }
    if (!IsSha256Hex(e.sha256())) errors.Add(at + ".sha256", "must be 64 lower-case hex digits");
    if (e.size_bytes() < 1 || e.size_bytes() > kMaxEvidenceBytes) {
      errors.Add(at + ".size_bytes", "must be 1..2^40");
    }
  }
}

std::optional<Side> SideOf(const v1::Request& request, const AgencyId& agency) {
  if (SameAgency(request.issuer(), agency)) return Side::kIssuer;
  if (SameAgency(request.executor(), agency)) return Side::kExecutor;
  return std::nullopt;
}

std::string AnswerSigningBytes(
    std::string_view request_id, int64_t version,
    const google::protobuf::RepeatedPtrField<v1::EvidenceRef>& evidence) {
  std::string out = "concord.liaison.answer.v1";
  out.push_back('\0');
  out.append(request_id);
  out.push_back('\0');
  absl::StrAppend(&out, version);
  out.push_back('\0');
  for (const v1::EvidenceRef& e : evidence) {
    absl::StrAppend(&out, e.message_id());
    out.push_back('\0');
    absl::StrAppend(&out, e.sha256());
    out.push_back('\0');
    absl::StrAppend(&out, e.size_bytes(), "\n");
  }
  return out;
}

StatusOr<Outcome> Issue(const v1::CreateRequestRequest& req, const IssueContext& ctx,
                        const ClockConfig& config) {
  const T type = req.type();
  FieldErrors errors;
  if (type == v1::REQUEST_TYPE_UNSPECIFIED || !v1::RequestType_IsValid(type)) {
    errors.Add("type",
               "required: one of EIO, SPOC_INFORMATION, PRODUCTION_ORDER, "
               "PRESERVATION_ORDER, MUTUAL_LEGAL_ASSISTANCE, EUROPOL_EUROJUST");
    return errors.ToStatus("invalid request");
  }
  const bool eevidence =
      type == v1::REQUEST_TYPE_PRODUCTION_ORDER || type == v1::REQUEST_TYPE_PRESERVATION_ORDER;
  const bool follow_up_type =
      type == v1::REQUEST_TYPE_MUTUAL_LEGAL_ASSISTANCE || type == v1::REQUEST_TYPE_EUROPOL_EUROJUST;
  if (!req.order_message_id().empty() && !IsMessageId(req.order_message_id())) {
    errors.Add("order_message_id", "must be a message id ([A-Za-z0-9_-]{16,64})");
  }
  if (!req.case_reference().empty() && !IsReference(req.case_reference())) {
    errors.Add("case_reference", "must match [A-Za-z0-9._/-]{1,64}");
  }
  if (type == v1::REQUEST_TYPE_SPOC_INFORMATION) {
    if (req.urgency() == v1::URGENCY_UNSPECIFIED || !v1::Urgency_IsValid(req.urgency())) {
      errors.Add("urgency",
                 "required for SPOC_INFORMATION: STANDARD, URGENT_INDIRECT or "
                 "URGENT_DIRECT");
    }
  } else if (req.urgency() != v1::URGENCY_UNSPECIFIED) {
    errors.Add("urgency", "only for SPOC_INFORMATION");
  }
  if (req.emergency() && type != v1::REQUEST_TYPE_PRODUCTION_ORDER) {
    errors.Add("emergency", "only for PRODUCTION_ORDER");
  }
  if (eevidence) {
    if (req.data_category() == v1::DATA_CATEGORY_UNSPECIFIED ||
        !v1::DataCategory_IsValid(req.data_category())) {
      errors.Add("data_category",
                 "required for e-Evidence orders: SUBSCRIBER, IDENTIFICATION, "
                 "TRAFFIC or CONTENT");
    }
  } else {
    if (req.data_category() != v1::DATA_CATEGORY_UNSPECIFIED) {
      errors.Add("data_category", "only for PRODUCTION_ORDER and PRESERVATION_ORDER");
    }
    if (req.do_not_inform_user()) {
      errors.Add("do_not_inform_user", "only for PRODUCTION_ORDER and PRESERVATION_ORDER");
    }
  }
  if (req.offence_max_years() < 0 || req.offence_max_years() > kMaxOffenceYears) {
    errors.Add("offence_max_years", "must be 0..99 (0 = not stated)");
  }
  if (req.has_follow_up_at()) {
    const absl::Time at = FromProtoTime(req.follow_up_at());
    if (!follow_up_type) {
      errors.Add("follow_up_at", "only for MUTUAL_LEGAL_ASSISTANCE and EUROPOL_EUROJUST");
    } else if (at <= ctx.now || at > ctx.now + kMaxFollowUp) {
      errors.Add("follow_up_at", "must be in the future, within 5 years");
    }
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid request"));

  const auto pairs = AllowedParties(type);
  const AgencyType issuer_type = ctx.issuer_party.value_or(ctx.issuer.type);
  const AgencyType executor_type = ctx.executor_party.value_or(ctx.executor.type);
  const bool issuer_ok = std::any_of(pairs.begin(), pairs.end(),
                                     [&](const auto& p) { return p.first == issuer_type; });
  if (!issuer_ok) {
    return Denied(absl::StrCat("agency type ", std::string(AgencyTypeName(issuer_type)),
                               " may not issue ", TypeName(type)),
                  "ISSUER_NOT_ALLOWED");
  }
  const bool pair_ok = std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) {
    return p.first == issuer_type && p.second == executor_type;
  });
  if (!pair_ok) {
    std::vector<std::string> allowed;
    for (const auto& p : pairs) {
      if (p.first == issuer_type) allowed.emplace_back(std::string(AgencyTypeName(p.second)));
    }
    return InvalidArgumentWithFields(
        "invalid executor",
        {{"executor.type",
          absl::StrCat("a ", TypeName(type), " from a ", std::string(AgencyTypeName(issuer_type)),
                       " goes to: ", absl::StrJoin(allowed, ", "))}});
  }
  CONCORD_RETURN_IF_ERROR(
      CheckOrderingAuthority(type, req.data_category(), req.offence_max_years(), ctx.issuer_role));

  Outcome out;
  v1::Request& r = out.next;
  r.set_request_id(ctx.request_id);
  r.set_type(type);
  r.set_state(kIssued);
  r.set_version(1);
  *r.mutable_issuer() = AgencyIdToProto(ctx.issuer);
  *r.mutable_executor() = AgencyIdToProto(ctx.executor);
  r.set_order_message_id(req.order_message_id());
  r.set_case_reference(req.case_reference());
  r.set_urgency(req.urgency());
  r.set_emergency(req.emergency());
  r.set_data_category(req.data_category());
  r.set_offence_max_years(req.offence_max_years());
  r.set_do_not_inform_user(req.do_not_inform_user());
  r.set_executor_time_zone(ctx.executor_zone_name);
  *r.mutable_created_at() = ToProtoTime(ctx.now);
  *r.mutable_updated_at() = ToProtoTime(ctx.now);
  for (C kind : InitialClocks(type)) {
    v1::Clock clock =
        StartClock(kind, r, ctx.now, ctx.executor_zone, ctx.executor_zone_name, config);
    out.urgent = out.urgent || IsHourClock(clock);
    *r.add_clocks() = std::move(clock);
  }
  if (req.has_follow_up_at()) {
    *r.mutable_follow_up_at() = req.follow_up_at();
    *r.add_clocks() = FollowUpClock(FromProtoTime(req.follow_up_at()), ctx.executor_zone_name);
  }
  v1::HistoryEntry& e = out.entry;
  e.set_version(1);
  e.set_action("create");
  e.set_from_state(kIssued);
  e.set_to_state(kIssued);
  *e.mutable_actor() = r.issuer();
  *e.mutable_at() = ToProtoTime(ctx.now);
  out.notify = NotifyOthers(r, ctx.issuer);
  return out;
}

StatusOr<Outcome> ApplyMove(const v1::Request& current, const v1::ActRequest& req,
                            const AgencyId& caller, absl::Time now,
                            const absl::TimeZone& executor_zone, const ClockConfig& config) {
  const M move = req.move();
  // 1-2. The move itself.
  if (move == M::MOVE_UNSPECIFIED || !v1::Move_IsValid(move)) {
    return InvalidArgumentWithFields("invalid move", {{"move", "required: a known move"}});
  }
  const bool of_type = std::any_of(MoveTable().begin(), MoveTable().end(), [&](const MoveRule& r) {
    return r.type == current.type() && r.move == move;
  });
  if (!of_type) {
    return InvalidArgumentWithFields("invalid move",
                                     {{"move", absl::StrCat(MoveName(move), " does not apply to a ",
                                                            TypeName(current.type()))}});
  }
  // 3. A party.
  const std::optional<Side> side = SideOf(current, caller);
  if (!side) {
    return Denied(
        absl::StrCat("agency ", caller.Key(), " is not a party of request ", current.request_id()),
        "NOT_A_PARTY");
  }
  // 4. The state.
  const MoveRule* rule = FindRule(current.type(), current.state(), move);
  if (rule == nullptr) {
    std::vector<std::string> allowed;
    for (M m : AllowedMoves(current.type(), current.state())) {
      allowed.emplace_back(MoveName(m));
    }
    return Precondition(
        absl::StrCat("request ", current.request_id(), " is in state ", StateName(current.state()),
                     "; allowed moves: ", allowed.empty() ? "none" : absl::StrJoin(allowed, ", ")),
        "MOVE_NOT_ALLOWED");
  }
  // 5. The side.
  if (*side != rule->by) {
    return Denied(absl::StrCat(MoveName(move), " is the ", SideName(rule->by), "'s move, not the ",
                               SideName(*side), "'s"),
                  "WRONG_PARTY");
  }
  // 6. The move's fields.
  FieldErrors errors;
  CheckReason(req.reason(), move, req.has_reason(), errors);
  int max_extension = 0;
  if (rule->extends == C::CLOCK_KIND_RECOGNITION) {
    max_extension = config.eio_recognition_extension_max_days;
  }
  if (rule->extends == C::CLOCK_KIND_PRESERVATION) {
    max_extension = config.preservation_extension_max_days;
  }
  if (max_extension > 0) {
    if (req.extension_days() < 1 || req.extension_days() > max_extension) {
      errors.Add("extension_days", absl::StrCat("required: 1..", max_extension));
    }
  } else if (req.extension_days() != 0) {
    errors.Add("extension_days", absl::StrCat(MoveName(move), " takes no extension"));
  }
  if (move == M::MOVE_ANSWER) {
    CheckEvidence(req.evidence(), current.type() == v1::REQUEST_TYPE_PRODUCTION_ORDER, "evidence",
                  errors);
    if (!req.evidence().empty() && req.answer_signature().size() != 64) {
      errors.Add("answer_signature",
                 "required with evidence: the 64-byte Ed25519 signature of AnswerSigningBytes");
    }
    if (req.evidence().empty() && !req.answer_signature().empty()) {
      errors.Add("answer_signature", "only with evidence");
    }
  } else {
    if (!req.evidence().empty()) errors.Add("evidence", "only for ANSWER");
    if (!req.answer_signature().empty()) errors.Add("answer_signature", "only for ANSWER");
  }
  if (move == M::MOVE_CLARIFY) {
    if (!IsMessageId(req.message_id())) {
      errors.Add("message_id", "required: the sealed message with the clarification");
    }
  } else if (!req.message_id().empty()) {
    errors.Add("message_id", "only for CLARIFY");
  }
  if (move == M::MOVE_SET_FOLLOW_UP) {
    const absl::Time at = FromProtoTime(req.follow_up_at());
    if (!req.has_follow_up_at() || at <= now || at > now + kMaxFollowUp) {
      errors.Add("follow_up_at", "required: in the future, within 5 years");
    }
  } else if (req.has_follow_up_at()) {
    errors.Add("follow_up_at", "only for SET_FOLLOW_UP");
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid move"));

  Outcome out;
  v1::Request& r = out.next;
  r = current;
  if (rule->extends != C::CLOCK_KIND_UNSPECIFIED) {
    v1::Clock* clock = FindClock(r, rule->extends);
    if (clock == nullptr) {
      return Precondition(
          absl::StrCat("the ", ClockKindName(rule->extends), " clock is not running"),
          "CLOCK_NOT_RUNNING");
    }
    if (clock->extended()) {
      return Precondition(absl::StrCat("the ", ClockKindName(rule->extends),
                                       " clock was already extended (once only)"),
                          "ALREADY_EXTENDED");
    }
    *clock = ExtendClock(*clock, req.extension_days(), executor_zone);
  }
  if (rule->ends_all) r.clear_clocks();
  for (C kind : rule->ends) EndClock(r, kind);
  for (C kind : rule->starts) {
    v1::Clock clock = StartClock(kind, r, now, executor_zone, r.executor_time_zone(), config);
    out.urgent = out.urgent || IsHourClock(clock);
    SetClock(r, std::move(clock));
  }
  if (move == M::MOVE_SET_FOLLOW_UP) {
    *r.mutable_follow_up_at() = req.follow_up_at();
    SetClock(r, FollowUpClock(FromProtoTime(req.follow_up_at()), r.executor_time_zone()));
  }
  if (rule->to != kSame) r.set_state(rule->to);
  r.set_version(current.version() + 1);
  *r.mutable_updated_at() = ToProtoTime(now);
  if (req.has_reason()) *r.mutable_last_reason() = req.reason();
  if (move == M::MOVE_ANSWER) *r.mutable_evidence() = req.evidence();

  v1::HistoryEntry& e = out.entry;
  e.set_version(r.version());
  e.set_action(MoveAction(move));
  e.set_from_state(current.state());
  e.set_to_state(r.state());
  *e.mutable_actor() = AgencyIdToProto(caller);
  *e.mutable_at() = ToProtoTime(now);
  if (req.has_reason()) *e.mutable_reason() = req.reason();
  *e.mutable_evidence() = req.evidence();
  e.set_answer_signature(req.answer_signature());
  e.set_message_id(req.message_id());
  out.notify = NotifyOthers(r, caller);
  return out;
}

std::string RequestTablesMarkdown() {
  std::string out;
  for (T type : kAllRequestTypes) {
    absl::StrAppend(&out, "### ", TypeName(type), "\n\n");
    std::vector<std::string> clocks;
    for (C c : InitialClocks(type)) clocks.emplace_back(ClockKindName(c));
    absl::StrAppend(&out, "Issued (state ISSUED) with clocks: ",
                    clocks.empty() ? "none (a follow-up date if set)" : absl::StrJoin(clocks, ", "),
                    ".\n\n");
    absl::StrAppend(&out,
                    "| move | from | to | by | clocks | meaning |\n|---|---|---|---|---|---|\n");
    std::string diagram = "```mermaid\nstateDiagram-v2\n    [*] --> ISSUED\n";
    for (const MoveRule& r : MoveTable()) {
      if (r.type != type) continue;
      std::vector<std::string> from;
      for (S s : r.from) from.emplace_back(StateName(s));
      std::vector<std::string> effects;
      for (C c : r.starts) effects.push_back(absl::StrCat("starts ", ClockKindName(c)));
      for (C c : r.ends) effects.push_back(absl::StrCat("stops ", ClockKindName(c)));
      if (r.ends_all) effects.emplace_back("stops all");
      if (r.extends != C::CLOCK_KIND_UNSPECIFIED) {
        effects.push_back(absl::StrCat("extends ", ClockKindName(r.extends), " once"));
      }
      if (r.move == M::MOVE_SET_FOLLOW_UP) effects.emplace_back("sets follow_up");
      absl::StrAppend(&out, "| ", MoveName(r.move), " | ", absl::StrJoin(from, ", "), " | ",
                      r.to == kSame ? "(same)" : std::string(StateName(r.to)), " | ",
                      SideName(r.by), " | ", effects.empty() ? "-" : absl::StrJoin(effects, "; "),
                      " | ", r.description, " |\n");
      for (S s : r.from) {
        absl::StrAppend(&diagram, "    ", StateName(s), " --> ",
                        r.to == kSame ? StateName(s) : StateName(r.to), ": ", MoveName(r.move),
                        " (", SideName(r.by), ")\n");
      }
    }
    for (S s : StatesOf(type)) {
      if (IsTerminal(s)) absl::StrAppend(&diagram, "    ", StateName(s), " --> [*]\n");
    }
    absl::StrAppend(&out, "\n", diagram, "```\n\n");
  }
  return out;
}

}  // namespace concord::liaison
