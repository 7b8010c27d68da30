// concordctl liaison ...: concord.liaison.v1.Liaison. International requests with their legal
// clocks, joint investigation teams and the platform desk (docs/liaison.md). Liaison records ids,
// clocks, states and SHA-256 digests only; the substance travels as sealed messages (`message
// send`). An answer with evidence is signed here with the executing agency's DIR/sign.key over
// the bytes docs/liaison.md "Signed answers" defines; the server verifies it against the
// directory.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/enum_flag.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/liaison_format.h"
#include "cli/concordctl/local_files.h"
#include "common/crypto/ed25519.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/time/calendar.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"

namespace concord::ctl {
namespace {

namespace lv1 = ::concord::liaison::v1;
using AgencyProto = ::concord::common::v1::AgencyId;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

template <typename E>
std::string EnumText(E value, const google::protobuf::EnumDescriptor* descriptor,
                     const std::string& prefix) {
  const google::protobuf::EnumValueDescriptor* v = descriptor->FindValueByNumber(value);
  if (v == nullptr || v->number() == 0) return "-";
  return LowerAscii(v->name().substr(prefix.size()));
}

std::string TypeText(lv1::RequestType t) {
  return EnumText(t, lv1::RequestType_descriptor(), "REQUEST_TYPE_");
}
std::string StateText(lv1::RequestState s) {
  return EnumText(s, lv1::RequestState_descriptor(), "REQUEST_STATE_");
}
std::string ClockText(lv1::ClockKind k) {
  return EnumText(k, lv1::ClockKind_descriptor(), "CLOCK_KIND_");
}
std::string ReasonText(lv1::ReasonCode r) {
  return EnumText(r, lv1::ReasonCode_descriptor(), "REASON_CODE_");
}
std::string EntryKindText(lv1::JitEntryKind k) {
  return EnumText(k, lv1::JitEntryKind_descriptor(), "JIT_ENTRY_KIND_");
}

StatusOr<absl::Time> ParseTime(std::string_view flag, const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return UsageError(flag, "an RFC 3339 time, e.g. 2026-07-15T00:00:00+02:00");
  }
  return t;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t s = absl::ToUnixSeconds(t);
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(s))));
}

// "MESSAGE_ID:SHA256_HEX:SIZE" -> an EvidenceRef.
StatusOr<lv1::EvidenceRef> ParseEvidence(std::string_view flag, const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  int64_t size = 0;
  if (parts.size() != 3 || parts[0].empty() || parts[1].size() != 64 ||
      !absl::SimpleAtoi(parts[2], &size) || size < 0) {
    return UsageError(flag, "MESSAGE_ID:SHA256_HEX:SIZE, e.g. m-0123...:9f86d0...(64 hex):1024");
  }
  lv1::EvidenceRef e;
  e.set_message_id(parts[0]);
  e.set_sha256(LowerAscii(parts[1]));
  e.set_size_bytes(size);
  return e;
}

// The bytes an executing agency signs when it answers with evidence (docs/liaison.md "Signed
// answers"; the server checks them byte for byte):
//   "concord.liaison.answer.v1" 0x00 request_id 0x00 decimal(version) 0x00
//   then per evidence item, in order: message_id 0x00 sha256 0x00 decimal(size) 0x0A
std::string AnswerSigningBytes(const std::string& request_id, int64_t version,
                               const google::protobuf::RepeatedPtrField<lv1::EvidenceRef>& ev) {
  std::string out = "concord.liaison.answer.v1";
  out.push_back('\0');
  out += request_id;
  out.push_back('\0');
  absl::StrAppend(&out, version);
  out.push_back('\0');
  for (const lv1::EvidenceRef& e : ev) {
    out += e.message_id();
    out.push_back('\0');
    out += e.sha256();
    out.push_back('\0');
    absl::StrAppend(&out, e.size_bytes(), "\n");
  }
  return out;
}

StatusOr<crypto::Ed25519PrivateKey> SigningKey(const Globals& globals, const std::string& flag) {
  std::string path = flag;
  if (path.empty()) {
    if (globals.connection.agency_dir.empty()) {
      return UsageError("--signing-key", "give the key file, or --agency-dir DIR (DIR/sign.key)");
    }
    path = globals.connection.agency_dir + "/sign.key";
  }
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  StatusOr<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromPem(pem);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not an unencrypted Ed25519 private key (PEM)"));
  }
  return *std::move(key);
}

struct Session {
  const Globals* globals = nullptr;
  std::unique_ptr<lv1::Liaison::Stub> stub;
  void Prepare(grpc::ClientContext& ctx) const { PrepareContext(globals->connection, ctx); }
};

StatusOr<Session> Connect(const Globals& globals) {
  Session s;
  s.globals = &globals;
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  s.stub = lv1::Liaison::NewStub(channel);
  return s;
}

// Prints `m` as JSON (--json); returns kExitOk, or the conversion error.
int PrintJson(Output& out, const google::protobuf::Message& m) {
  StatusOr<nlohmann::json> doc = ProtoToJson(m);
  if (!doc.ok()) return out.LocalError(doc.status());
  out.Json(*doc);
  return kExitOk;
}

// "2026-10-08T22:00:00Z (2026-10-09T00:00:00+02:00 Europe/Brussels)".
std::string DueText(const lv1::Clock& c) {
  std::string text = TimestampText(c.due_at());
  StatusOr<absl::TimeZone> zone = LoadTimeZone(c.time_zone());
  if (zone.ok()) {
    const absl::Time due =
        absl::FromUnixSeconds(c.due_at().seconds()) + absl::Nanoseconds(c.due_at().nanos());
    absl::StrAppend(&text, " (", FormatLocalTime(due, *zone), " ", c.time_zone(), ")");
  }
  return text;
}

std::string ClocksText(const lv1::Request& r) {
  std::vector<std::string> parts;
  for (const lv1::Clock& c : r.clocks()) {
    std::string period = c.period_hours() > 0  ? absl::StrCat(c.period_hours(), " h")
                         : c.period_days() > 0 ? absl::StrCat(c.period_days(), " days")
                                               : "date";
    parts.push_back(absl::StrCat(ClockText(c.kind()), " ", period, " due ", DueText(c),
                                 c.overdue() ? " OVERDUE" : "", c.extended() ? " extended" : ""));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, "; ");
}

// A request that crossed the border names its parties by SPIFFE ID (one of them is of the
// partner deployment); any other by "<type>/<id>".
std::string PartyText(const lv1::Request& r, const AgencyProto& a) {
  if (r.partner_request_id().empty() || a.trust_domain().empty()) return AgencyKeyOf(a);
  return "spiffe://" + a.trust_domain() + "/agency/" + AgencyKeyOf(a);
}

std::vector<std::pair<std::string, std::string>> RequestRows(const lv1::Request& r) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"request", r.request_id()},
      {"type", TypeText(r.type())},
      {"state", StateText(r.state())},
      {"version", std::to_string(r.version())},
      {"issuer", PartyText(r, r.issuer())},
      {"executor", PartyText(r, r.executor())},
      {"executor time zone", r.executor_time_zone().empty() ? "-" : r.executor_time_zone()},
      {"clocks", ClocksText(r)}};
  if (!r.partner_request_id().empty()) {
    // A request that crossed the border: its id on the partner deployment's side.
    rows.push_back({"partner request", r.partner_request_id()});
  }
  if (!r.case_reference().empty()) rows.push_back({"case reference", r.case_reference()});
  if (!r.order_message_id().empty()) rows.push_back({"order message", r.order_message_id()});
  if (r.urgency() != lv1::URGENCY_UNSPECIFIED) {
    rows.push_back({"urgency", EnumText(r.urgency(), lv1::Urgency_descriptor(), "URGENCY_")});
  }
  if (r.emergency()) rows.push_back({"emergency", "yes (8 hours)"});
  if (r.data_category() != lv1::DATA_CATEGORY_UNSPECIFIED) {
    rows.push_back({"data category",
                    EnumText(r.data_category(), lv1::DataCategory_descriptor(), "DATA_CATEGORY_")});
  }
  if (r.do_not_inform_user()) rows.push_back({"do not inform the user", "yes"});
  if (r.last_reason().code() != lv1::REASON_CODE_UNSPECIFIED) {
    rows.push_back({"last reason", ReasonText(r.last_reason().code())});
  }
  for (const lv1::EvidenceRef& e : r.evidence()) {
    rows.push_back({"evidence", absl::StrCat(e.message_id(), " sha256 ", e.sha256(), " ",
                                             e.size_bytes(), " bytes")});
  }
  return rows;
}

int PrintRequest(Output& out, const lv1::RequestResponse& resp) {
  if (out.json()) return PrintJson(out, resp);
  out.KeyValues(RequestRows(resp.request()));
  return kExitOk;
}

StatusOr<AgencyProto> AgencyFlag(std::string_view flag, const std::string& text) {
  if (text.empty())
    return UsageError(flag, "required: <type>/<id>, e.g. platform/example-platform");
  return ParseAgencyRef(flag, text);
}

std::string EntryLine(const lv1::JitEntry& e) {
  std::string line = absl::StrCat("#", e.seq(), " ", EntryKindText(e.kind()), " by ",
                                  AgencyKeyOf(e.actor()), " at ", TimestampText(e.at()));
  if (e.has_member()) absl::StrAppend(&line, " member ", AgencyKeyOf(e.member()));
  if (!e.message_id().empty()) absl::StrAppend(&line, " message ", e.message_id());
  if (!e.envelope_sha256().empty())
    absl::StrAppend(&line, " envelope sha256 ", e.envelope_sha256());
  for (const lv1::EvidenceRef& ev : e.evidence()) {
    absl::StrAppend(&line, " evidence ", ev.message_id(), ":", ev.sha256(), ":", ev.size_bytes());
  }
  std::vector<std::string> to;
  for (const AgencyProto& a : e.recipients()) to.push_back(AgencyKeyOf(a));
  if (!to.empty()) absl::StrAppend(&line, " to ", absl::StrJoin(to, ","));
  return line;
}

int PrintJit(Output& out, const lv1::JitResponse& resp) {
  if (out.json()) return PrintJson(out, resp);
  std::vector<std::string> members;
  for (const AgencyProto& a : resp.jit().members()) members.push_back(AgencyKeyOf(a));
  out.KeyValues({{"jit", resp.jit().jit_id()},
                 {"reference", resp.jit().reference()},
                 {"lead", AgencyKeyOf(resp.jit().lead())},
                 {"members", absl::StrJoin(members, ", ")},
                 {"version", std::to_string(resp.jit().version())},
                 {"created", TimestampText(resp.jit().created_at())}});
  return kExitOk;
}

}  // namespace

int RunLiaisonCreate(const Globals& globals, const LiaisonCreateArgs& args, Output& out) {
  lv1::CreateRequestRequest req;
  StatusOr<lv1::RequestType> type = ParseEnum<lv1::RequestType>(
      "--type", args.type, "REQUEST_TYPE_", lv1::RequestType_descriptor());
  if (!type.ok()) return out.LocalError(type.status());
  req.set_type(*type);
  StatusOr<AgencyProto> executor = AgencyFlag("--executor", args.executor);
  if (!executor.ok()) return out.LocalError(executor.status());
  *req.mutable_executor() = *executor;
  req.set_order_message_id(args.order_message);
  req.set_case_reference(args.case_reference);
  req.set_executor_time_zone(args.executor_time_zone);
  if (!args.urgency.empty()) {
    StatusOr<lv1::Urgency> u =
        ParseEnum<lv1::Urgency>("--urgency", args.urgency, "URGENCY_", lv1::Urgency_descriptor());
    if (!u.ok()) return out.LocalError(u.status());
    req.set_urgency(*u);
  }
  req.set_emergency(args.emergency);
  if (!args.data_category.empty()) {
    StatusOr<lv1::DataCategory> c = ParseEnum<lv1::DataCategory>(
        "--data-category", args.data_category, "DATA_CATEGORY_", lv1::DataCategory_descriptor());
    if (!c.ok()) return out.LocalError(c.status());
    req.set_data_category(*c);
  }
  req.set_offence_max_years(args.offence_max_years);
  req.set_do_not_inform_user(args.do_not_inform_user);
  if (!args.follow_up.empty()) {
    StatusOr<absl::Time> t = ParseTime("--follow-up", args.follow_up);
    if (!t.ok()) return out.LocalError(t.status());
    SetTime(*t, req.mutable_follow_up_at());
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::RequestResponse resp;
  grpc::Status st = s->stub->CreateRequest(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/CreateRequest", st);
  return PrintRequest(out, resp);
}

int RunLiaisonList(const Globals& globals, const LiaisonListArgs& args, Output& out) {
  lv1::ListRequestsRequest req;
  if (!args.type.empty()) {
    StatusOr<lv1::RequestType> t = ParseEnum<lv1::RequestType>("--type", args.type, "REQUEST_TYPE_",
                                                               lv1::RequestType_descriptor());
    if (!t.ok()) return out.LocalError(t.status());
    req.set_type(*t);
  }
  if (!args.state.empty()) {
    StatusOr<lv1::RequestState> st = ParseEnum<lv1::RequestState>(
        "--state", args.state, "REQUEST_STATE_", lv1::RequestState_descriptor());
    if (!st.ok()) return out.LocalError(st.status());
    req.set_state(*st);
  }
  req.mutable_page()->set_page_size(args.page_size);
  req.mutable_page()->set_page_token(args.page_token);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::ListRequestsResponse resp;
  grpc::Status st = s->stub->ListRequests(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/ListRequests", st);
  if (out.json()) return PrintJson(out, resp);
  std::vector<std::vector<std::string>> rows;
  for (const lv1::Request& r : resp.requests()) {
    rows.push_back({r.request_id(), TypeText(r.type()), StateText(r.state()),
                    AgencyKeyOf(r.issuer()), AgencyKeyOf(r.executor()), NextDueText(r)});
  }
  out.Table({"REQUEST", "TYPE", "STATE", "ISSUER", "EXECUTOR", "NEXT DUE"}, rows);
  if (!resp.next_page_token().empty())
    out.Line("next page: --page-token " + resp.next_page_token());
  return kExitOk;
}

int RunLiaisonShow(const Globals& globals, const LiaisonShowArgs& args, Output& out) {
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::GetRequestRequest req;
  req.set_request_id(args.id);
  lv1::GetRequestResponse resp;
  grpc::Status st = s->stub->GetRequest(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/GetRequest", st);
  if (out.json()) return PrintJson(out, resp);
  out.KeyValues(RequestRows(resp.request()));
  std::vector<std::vector<std::string>> rows;
  for (const lv1::HistoryEntry& h : resp.history()) {
    rows.push_back(
        {std::to_string(h.version()), h.action(),
         absl::StrCat(StateText(h.from_state()), " -> ", StateText(h.to_state())),
         AgencyKeyOf(h.actor()), TimestampText(h.at()),
         h.reason().code() == lv1::REASON_CODE_UNSPECIFIED ? "-" : ReasonText(h.reason().code())});
  }
  out.Line("");
  out.Table({"VERSION", "ACTION", "STATES", "BY", "AT", "REASON"}, rows);
  return kExitOk;
}

int RunLiaisonAct(const Globals& globals, const LiaisonActArgs& args, Output& out) {
  lv1::ActRequest req;
  req.set_request_id(args.id);
  StatusOr<lv1::Move> move =
      ParseEnum<lv1::Move>("MOVE", args.move, "MOVE_", lv1::Move_descriptor());
  if (!move.ok()) return out.LocalError(move.status());
  req.set_move(*move);
  if (!args.reason.empty()) {
    StatusOr<lv1::ReasonCode> r = ParseEnum<lv1::ReasonCode>(
        "--reason", args.reason, "REASON_CODE_", lv1::ReasonCode_descriptor());
    if (!r.ok()) return out.LocalError(r.status());
    req.mutable_reason()->set_code(*r);
  }
  if (!args.reason_message.empty()) {
    req.mutable_reason()->set_detail_message_id(args.reason_message);
  }
  req.set_extension_days(args.extension_days);
  for (const std::string& e : args.evidence) {
    StatusOr<lv1::EvidenceRef> ev = ParseEvidence("--evidence", e);
    if (!ev.ok()) return out.LocalError(ev.status());
    *req.add_evidence() = *ev;
  }
  req.set_message_id(args.message);
  if (!args.follow_up.empty()) {
    StatusOr<absl::Time> t = ParseTime("--follow-up", args.follow_up);
    if (!t.ok()) return out.LocalError(t.status());
    SetTime(*t, req.mutable_follow_up_at());
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  int64_t version = args.expected_version;
  if (version < 0) {
    grpc::ClientContext ctx;
    s->Prepare(ctx);
    lv1::GetRequestRequest get;
    get.set_request_id(args.id);
    lv1::GetRequestResponse current;
    grpc::Status st = s->stub->GetRequest(&ctx, get, &current);
    if (!st.ok()) return out.RpcError("Liaison/GetRequest", st);
    version = current.request().version();
  }
  req.set_expected_version(version);
  if (*move == lv1::MOVE_ANSWER && req.evidence_size() > 0) {
    StatusOr<crypto::Ed25519PrivateKey> key = SigningKey(globals, args.signing_key_file);
    if (!key.ok()) return out.LocalError(key.status());
    StatusOr<std::string> sig = key->Sign(AnswerSigningBytes(args.id, version + 1, req.evidence()));
    if (!sig.ok()) return out.LocalError(sig.status());
    req.set_answer_signature(*sig);
  }
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::RequestResponse resp;
  grpc::Status st = s->stub->Act(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/Act", st);
  return PrintRequest(out, resp);
}

int RunLiaisonLink(const Globals& globals, const LiaisonLinkArgs& args, Output& out) {
  lv1::LinkNotificationRequest req;
  req.set_message_id(args.message);
  req.set_case_reference(args.case_reference);
  StatusOr<AgencyProto> platform = AgencyFlag("--platform", args.platform);
  if (!platform.ok()) return out.LocalError(platform.status());
  *req.mutable_platform() = *platform;
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::LinkNotificationResponse resp;
  grpc::Status st = s->stub->LinkNotification(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/LinkNotification", st);
  if (out.json()) return PrintJson(out, resp);
  out.KeyValues({{"message", resp.link().message_id()},
                 {"case reference", resp.link().case_reference()},
                 {"platform", AgencyKeyOf(resp.link().platform())},
                 {"linked by", AgencyKeyOf(resp.link().linked_by())},
                 {"linked at", TimestampText(resp.link().linked_at())}});
  return kExitOk;
}

int RunLiaisonLinked(const Globals& globals, const LiaisonLinkArgs& args, Output& out) {
  lv1::ListLinkedNotificationsRequest req;
  req.set_case_reference(args.case_reference);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::ListLinkedNotificationsResponse resp;
  grpc::Status st = s->stub->ListLinkedNotifications(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/ListLinkedNotifications", st);
  if (out.json()) return PrintJson(out, resp);
  std::vector<std::vector<std::string>> rows;
  for (const lv1::NotificationLink& l : resp.links()) {
    rows.push_back({l.message_id(), AgencyKeyOf(l.platform()), AgencyKeyOf(l.linked_by()),
                    TimestampText(l.linked_at())});
  }
  out.Table({"MESSAGE", "PLATFORM", "LINKED BY", "AT"}, rows);
  return kExitOk;
}

int RunLiaisonJitCreate(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::CreateJitRequest req;
  req.set_reference(args.reference);
  for (const std::string& m : args.members) {
    StatusOr<AgencyProto> a = AgencyFlag("--member", m);
    if (!a.ok()) return out.LocalError(a.status());
    *req.add_members() = *a;
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::JitResponse resp;
  grpc::Status st = s->stub->CreateJit(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/CreateJit", st);
  return PrintJit(out, resp);
}

int RunLiaisonJitAdd(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::AddJitMemberRequest req;
  req.set_jit_id(args.jit);
  StatusOr<AgencyProto> a = AgencyFlag("--member", args.members.empty() ? "" : args.members[0]);
  if (!a.ok()) return out.LocalError(a.status());
  *req.mutable_member() = *a;
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::JitResponse resp;
  grpc::Status st = s->stub->AddJitMember(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/AddJitMember", st);
  return PrintJit(out, resp);
}

int RunLiaisonJitLeave(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::LeaveJitRequest req;
  req.set_jit_id(args.jit);
  if (!args.members.empty()) {
    StatusOr<AgencyProto> a = AgencyFlag("--member", args.members[0]);
    if (!a.ok()) return out.LocalError(a.status());
    *req.mutable_member() = *a;
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::JitResponse resp;
  grpc::Status st = s->stub->LeaveJit(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/LeaveJit", st);
  return PrintJit(out, resp);
}

int RunLiaisonJitShow(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::GetJitRequest req;
  req.set_jit_id(args.jit);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::JitResponse resp;
  grpc::Status st = s->stub->GetJit(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/GetJit", st);
  return PrintJit(out, resp);
}

int RunLiaisonJitShare(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::ShareInJitRequest req;
  req.set_jit_id(args.jit);
  StatusOr<lv1::JitEntryKind> kind =
      ParseEnum<lv1::JitEntryKind>("--kind", args.kind.empty() ? "message" : args.kind,
                                   "JIT_ENTRY_KIND_", lv1::JitEntryKind_descriptor());
  if (!kind.ok()) return out.LocalError(kind.status());
  req.set_kind(*kind);
  req.set_message_id(args.message);
  req.set_envelope_sha256(LowerAscii(args.envelope_sha256));
  for (const std::string& e : args.evidence) {
    StatusOr<lv1::EvidenceRef> ev = ParseEvidence("--evidence", e);
    if (!ev.ok()) return out.LocalError(ev.status());
    *req.add_evidence() = *ev;
  }
  for (const std::string& t : args.to) {
    StatusOr<AgencyProto> a = AgencyFlag("--to", t);
    if (!a.ok()) return out.LocalError(a.status());
    *req.add_recipients() = *a;
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::ShareInJitResponse resp;
  grpc::Status st = s->stub->ShareInJit(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/ShareInJit", st);
  if (out.json()) return PrintJson(out, resp);
  out.Line(EntryLine(resp.entry()));
  return kExitOk;
}

int RunLiaisonJitEntries(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  lv1::ListJitEntriesRequest req;
  req.set_jit_id(args.jit);
  req.set_after_seq(args.after);
  req.set_max(args.max);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  lv1::ListJitEntriesResponse resp;
  grpc::Status st = s->stub->ListJitEntries(&ctx, req, &resp);
  if (!st.ok()) return out.RpcError("Liaison/ListJitEntries", st);
  if (out.json()) return PrintJson(out, resp);
  if (resp.entries().empty()) out.Line("(none)");
  for (const lv1::JitEntry& e : resp.entries()) out.Line(EntryLine(e));
  return kExitOk;
}

int RunLiaisonJitWatch(const Globals& globals, const LiaisonJitArgs& args, Output& out) {
  absl::Duration limit = absl::InfiniteDuration();
  if (!args.duration.empty() && !absl::ParseDuration(args.duration, &limit)) {
    return out.LocalError(UsageError("--duration", "a duration, e.g. 30s or 10m"));
  }
  if (args.max < 0) return out.LocalError(UsageError("--max", ">= 0"));
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  lv1::WatchJitRequest req;
  req.set_jit_id(args.jit);
  req.set_after_seq(args.after);
  grpc::ClientContext ctx;
  // A stream: no per-call deadline but --duration; officer and justification as for any call.
  s->Prepare(ctx);
  ctx.set_deadline(limit == absl::InfiniteDuration() ? std::chrono::system_clock::time_point::max()
                                                     : absl::ToChronoTime(absl::Now() + limit));
  std::unique_ptr<grpc::ClientReader<lv1::JitEntry>> reader = s->stub->WatchJit(&ctx, req);
  lv1::JitEntry e;
  int seen = 0;
  while ((args.max == 0 || seen < args.max) && reader->Read(&e)) {
    ++seen;
    if (out.json()) {
      StatusOr<nlohmann::json> doc = ProtoToJson(e);
      if (!doc.ok()) return out.LocalError(doc.status());
      out.JsonLine(*doc);
    } else {
      out.Line(EntryLine(e));
    }
    out.Flush();
  }
  if (args.max > 0 && seen >= args.max) {
    ctx.TryCancel();
    (void)reader->Finish();
    return kExitOk;
  }
  const grpc::Status st = reader->Finish();
  if (st.ok() || st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return kExitOk;
  return out.RpcError("Liaison/WatchJit", st);
}

}  // namespace concord::ctl
