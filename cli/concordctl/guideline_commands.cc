// concordctl guideline ...: concord.guidelines.v1.Guidelines over the agency-side library
// (client/guidelines). Versions and withdrawals are signed here with the agency's DIR/sign.key;
// every version and withdrawal received is verified here (its SHA-256 recomputed from the
// canonical bytes, its signature checked against the publisher's key from the directory), and
// the output says so. A version that does not verify is never shown as valid: exit 3.
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "client/guidelines/guideline_draft.h"
#include "client/guidelines/guidelines_client.h"
#include "client/guidelines/html_page.h"
#include "common/crypto/encoding.h"
#include "common/guideline/guideline_proto.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::ctl {
namespace {

namespace gc = ::concord::guidelines::client;
namespace gv1 = ::concord::guidelines::v1;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

std::string Message(const Status& status) {
  return std::string(status.message().data(), status.message().size());
}

bool IsVerificationFailure(const Status& s) {
  return s.code() == absl::StatusCode::kDataLoss && ReasonOf(s) == "VERSION_VERIFICATION_FAILED";
}

// A library failure: a version that does not verify (here, or refused by the server for that
// reason) is exit 3 naming it; any other RPC failure exit 2.
int Failure(Output& out, std::string_view rpc, const Status& status) {
  if (keys::IsKeyChangeRefused(status) || ReasonOf(status) == keys::kKnownKeysFileReason) {
    return KeyLookupFailure(out, "Directory/GetAgency (signing key)", status);
  }
  if (IsVerificationFailure(status)) {
    return out.VerificationFailed(absl::StrCat("VERIFICATION FAILED: ", Message(status)));
  }
  if (status.code() == absl::StatusCode::kInvalidArgument && ReasonOf(status).empty() &&
      FieldViolationsOf(status).empty()) {
    return out.LocalError(status);
  }
  return out.RpcError(rpc, ToGrpcStatus(status));
}

StatusOr<std::unique_ptr<gc::GuidelinesClient>> MakeClient(const Globals& globals) {
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  gc::ClientOptions options;
  options.deadline =
      absl::Milliseconds(static_cast<int64_t>(globals.connection.timeout_seconds * 1000));
  options.officer = globals.connection.officer;
  options.justification = globals.connection.justification;
  // Key continuity: the signing keys this command trusts are checked against the agency's
  // known-keys file, as every key lookup of concordctl.
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<keys::KeyTrust> trust, OpenKeyTrust(globals.connection));
  return std::make_unique<gc::GuidelinesClient>(std::move(channel), options,
                                                TrustHook(std::move(trust)));
}

StatusOr<AgencyId> Me(const Globals& globals) {
  CONCORD_ASSIGN_OR_RETURN(::concord::common::v1::AgencyId proto, LocalAgency(globals.connection));
  return guideline::AgencyFromProto(proto);
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

StatusOr<absl::Time> ParseRfc3339(std::string_view flag, const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return UsageError(flag, "an RFC 3339 time, e.g. 2026-07-15T00:00:00+02:00");
  }
  return t;
}

std::string Sha(const std::string& raw) { return crypto::HexEncode(raw); }

std::string TypesText(const gv1::Audience& a) {
  std::vector<std::string> parts;
  if (a.is_public()) parts.push_back("public");
  for (int t : a.agency_types()) {
    parts.push_back(AgencyTypeText(static_cast<::concord::common::v1::AgencyType>(t)));
  }
  for (const auto& id : a.agencies()) parts.push_back(AgencyKeyOf(id));
  return absl::StrJoin(parts, ", ");
}

std::string StateText(const gv1::VersionStatus& s) {
  if (s.has_withdrawal()) return "withdrawn";
  if (s.in_force()) return "in force";
  if (s.superseded_by() != 0) return absl::StrCat("superseded by version ", s.superseded_by());
  if (!s.effective()) return "not yet effective";
  return "effective";
}

StatusOr<nlohmann::json> Json(const google::protobuf::Message& m) { return ProtoToJson(m); }

// The latest version number of a guideline visible to the caller (0 when none).
StatusOr<int64_t> LatestVersion(gc::GuidelinesClient& client, const std::string& id) {
  gv1::ListRequest req;
  req.set_guideline_id(id);
  req.set_include_superseded(true);
  req.set_include_withdrawn(true);
  req.mutable_page()->set_page_size(500);
  CONCORD_ASSIGN_OR_RETURN(gv1::ListResponse list, client.List(req));
  int64_t latest = 0;
  for (const gv1::VersionSummary& v : list.versions()) latest = std::max(latest, v.version());
  return latest;
}

// What a publisher controls in a version, to tell whether a draft changes anything.
bool SameText(const guideline::Version& a, const guideline::Version& b) {
  auto norm = [](guideline::Version v) {
    std::sort(v.topics.begin(), v.topics.end());
    std::sort(v.contents.begin(), v.contents.end(),
              [](const auto& x, const auto& y) { return x.language < y.language; });
    std::sort(v.audience.types.begin(), v.audience.types.end());
    std::sort(v.audience.agencies.begin(), v.audience.agencies.end(),
              [](const AgencyId& x, const AgencyId& y) { return x.Key() < y.Key(); });
    return std::make_tuple(v.topics, v.legal_references, v.contents, v.audience);
  };
  return norm(a) == norm(b);
}

void PrintVersion(Output& out, const gv1::GuidelineVersion& v, const gv1::VersionStatus& s,
                  const std::string& language, const std::vector<std::string>& fallback) {
  const guideline::Content* content = nullptr;
  StatusOr<guideline::Version> domain = guideline::VersionFromProto(v);
  if (domain.ok()) content = domain->ContentIn(language);
  std::vector<std::string> languages;
  for (const gv1::Content& c : v.contents()) languages.push_back(c.language());
  out.KeyValues({
      {"guideline", v.guideline_id()},
      {"version",
       absl::StrCat(v.version(),
                    v.supersedes() != 0 ? absl::StrCat(" (supersedes ", v.supersedes(), ")") : "")},
      {"state", StateText(s)},
      {"publisher", AgencyKeyOf(v.publisher())},
      {"effective", TimestampText(v.effective_at())},
      {"acknowledge by", TimestampText(v.ack_deadline())},
      {"audience", TypesText(v.audience())},
      {"topics", absl::StrJoin(v.topics(), ", ")},
      {"languages", absl::StrJoin(languages, ", ")},
      {"shown in", fallback.empty() ? language
                                    : absl::StrCat(language, " (fallback order ",
                                                   absl::StrJoin(fallback, " > "), ")")},
      {"acknowledged", s.acknowledged() ? TimestampText(s.acknowledged_at())
                                        : (s.addressed() ? "no" : "not in its audience")},
      {"sha256", Sha(v.sha256())},
  });
  for (const std::string& r : v.legal_references()) out.Line("legal reference: " + r);
  if (s.has_withdrawal()) {
    out.Line(absl::StrCat("WITHDRAWN ", TimestampText(s.withdrawal().withdrawn_at()), " by ",
                          AgencyKeyOf(s.withdrawal().withdrawn_by()), ": ",
                          s.withdrawal().reason()));
  }
  if (content != nullptr) {
    out.Line("");
    out.Line("# " + content->title);
    out.Line("");
    std::string body = content->body;
    if (!body.empty() && body.back() == '\n') body.pop_back();
    out.Line(body);
  }
}

volatile std::sig_atomic_t g_guideline_stop = 0;
extern "C" void OnGuidelineStop(int signal) { g_guideline_stop = signal; }

}  // namespace

// ---- publish -------------------------------------------------------------------------------

int RunGuidelinePublish(const Globals& globals, const GuidelinePublishArgs& args, Output& out) {
  if (args.dir.empty()) return out.LocalError(UsageError("DIR", "the guideline's folder"));
  StatusOr<gc::Draft> draft = gc::LoadDraft(args.dir);
  if (!draft.ok()) return out.LocalError(draft.status());
  StatusOr<AgencyId> me = Me(globals);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<crypto::Ed25519PrivateKey> key = SigningKey(globals, args.signing_key_file);
  if (!key.ok()) return out.LocalError(key.status());
  absl::Time effective = absl::Now();
  if (!args.effective.empty() && args.effective != "now") {
    StatusOr<absl::Time> t = ParseRfc3339("--effective", args.effective);
    if (!t.ok()) return out.LocalError(t.status());
    effective = *t;
  }
  std::optional<absl::Time> deadline;
  if (!args.ack_deadline.empty()) {
    StatusOr<absl::Time> t = ParseRfc3339("--ack-deadline", args.ack_deadline);
    if (!t.ok()) return out.LocalError(t.status());
    deadline = *t;
  }
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  int64_t version = args.version;
  int64_t latest = 0;
  if (version == 0 || args.if_changed) {
    StatusOr<int64_t> l = LatestVersion(**client, draft->guideline_id);
    if (!l.ok()) return Failure(out, "List", l.status());
    latest = *l;
    if (version == 0) version = latest + 1;
  }
  if (args.if_changed && latest > 0) {
    gv1::GetRequest get;
    get.set_guideline_id(draft->guideline_id);
    get.set_version(latest);
    StatusOr<gv1::GetResponse> current = (*client)->GetVerified(get);
    if (!current.ok()) return Failure(out, "Get", current.status());
    StatusOr<guideline::Version> stored = guideline::VersionFromProto(current->version());
    StatusOr<guideline::Version> wanted =
        gc::BuildVersion(*draft, *me, latest, effective, deadline);
    if (stored.ok() && wanted.ok() && SameText(*stored, *wanted) &&
        !current->status().has_withdrawal()) {
      if (out.json()) {
        out.Json({{"guideline_id", draft->guideline_id},
                  {"version", latest},
                  {"sha256", Sha(current->version().sha256())},
                  {"unchanged", true}});
      } else {
        out.Line(absl::StrCat("unchanged: ", draft->guideline_id, " version ", latest,
                              " already has this text (sha256 ", Sha(current->version().sha256()),
                              ", verified)"));
      }
      return kExitOk;
    }
  }
  StatusOr<guideline::Version> v = gc::BuildVersion(*draft, *me, version, effective, deadline);
  if (!v.ok()) return out.LocalError(v.status());
  // The rules of form are checked here first: a bad draft never reaches the server.
  if (Status valid = guideline::ValidateVersion(*v, me->trust_domain); !valid.ok()) {
    return out.LocalError(valid);
  }
  StatusOr<guideline::SignedVersion> signed_version = guideline::SignVersion(*v, *key);
  if (!signed_version.ok()) return out.LocalError(signed_version.status());
  StatusOr<gv1::PublishResponse> resp = (*client)->Publish(*signed_version);
  if (!resp.ok()) return Failure(out, "Publish", resp.status());
  if (out.json()) {
    out.Json({{"guideline_id", resp->guideline_id()},
              {"version", resp->version()},
              {"sha256", Sha(resp->sha256())},
              {"published_at", TimestampText(resp->published_at())},
              {"duplicate", resp->duplicate()},
              {"audience_size", resp->audience_size()},
              {"effective", resp->effective()}});
    return kExitOk;
  }
  out.KeyValues(
      {{"published", absl::StrCat(resp->guideline_id(), " version ", resp->version(),
                                  resp->duplicate() ? " (already published)" : "")},
       {"sha256", Sha(resp->sha256())},
       {"signed by", me->Key() + " (DIR/sign.key)"},
       {"audience", absl::StrCat(resp->audience_size(), " agencies (frozen now)")},
       {"effective", resp->effective() ? "now"
                                       : absl::FormatTime(absl::RFC3339_sec, v->effective_at,
                                                          absl::UTCTimeZone())}});
  return kExitOk;
}

// ---- withdraw ------------------------------------------------------------------------------

int RunGuidelineWithdraw(const Globals& globals, const GuidelineWithdrawArgs& args, Output& out) {
  if (args.version < 1) return out.LocalError(UsageError("VERSION", "1 or more"));
  if (args.reason.empty()) return out.LocalError(UsageError("--reason", "required"));
  StatusOr<AgencyId> me = Me(globals);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<crypto::Ed25519PrivateKey> key = SigningKey(globals, args.signing_key_file);
  if (!key.ok()) return out.LocalError(key.status());
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  gv1::GetRequest get;
  get.set_guideline_id(args.id);
  get.set_version(args.version);
  StatusOr<gv1::GetResponse> current = (*client)->GetVerified(get);
  if (!current.ok()) return Failure(out, "Get", current.status());
  guideline::Withdrawal w{.guideline_id = args.id,
                          .version = args.version,
                          .version_sha256 = current->version().sha256(),
                          .withdrawn_by = *me,
                          .withdrawn_at = absl::Now(),
                          .reason = args.reason};
  if (Status valid = guideline::ValidateWithdrawal(w, me->trust_domain); !valid.ok()) {
    return out.LocalError(valid);
  }
  StatusOr<guideline::SignedWithdrawal> signed_w = guideline::SignWithdrawal(w, *key);
  if (!signed_w.ok()) return out.LocalError(signed_w.status());
  StatusOr<gv1::WithdrawResponse> resp = (*client)->Withdraw(*signed_w);
  if (!resp.ok()) return Failure(out, "Withdraw", resp.status());
  if (out.json()) {
    out.Json({{"guideline_id", args.id},
              {"version", args.version},
              {"withdrawn", true},
              {"duplicate", resp->duplicate()},
              {"recorded_at", TimestampText(resp->recorded_at())}});
  } else {
    out.Line(absl::StrCat("withdrawn: ", args.id, " version ", args.version,
                          resp->duplicate() ? " (already, same withdrawal)" : "", " (signed by ",
                          me->Key(), ")"));
  }
  return kExitOk;
}

// ---- list ----------------------------------------------------------------------------------

int RunGuidelineList(const Globals& globals, const GuidelineListArgs& args, Output& out) {
  gv1::ListRequest req;
  req.set_guideline_id(args.id);
  req.set_topic(args.topic);
  if (!args.audience_type.empty()) {
    std::optional<AgencyType> type = ParseAgencyType(args.audience_type);
    if (!type.has_value()) {
      return out.LocalError(UsageError("--audience-type", "an agency type, e.g. police"));
    }
    req.set_audience_type(AgencyTypeToProto(*type));
  }
  req.set_public_only(args.public_only);
  if (!args.effective_from.empty()) {
    StatusOr<absl::Time> t = ParseRfc3339("--effective-from", args.effective_from);
    if (!t.ok()) return out.LocalError(t.status());
    guideline::TimeToProto(*t, *req.mutable_effective()->mutable_from());
  }
  if (!args.effective_to.empty()) {
    StatusOr<absl::Time> t = ParseRfc3339("--effective-to", args.effective_to);
    if (!t.ok()) return out.LocalError(t.status());
    guideline::TimeToProto(*t, *req.mutable_effective()->mutable_to());
  }
  req.set_include_superseded(args.all);
  req.set_include_withdrawn(args.withdrawn);
  req.mutable_page()->set_page_size(args.page_size);
  req.mutable_page()->set_page_token(args.page_token);
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  StatusOr<gv1::ListResponse> resp = (*client)->List(req);
  if (!resp.ok()) return Failure(out, "List", resp.status());
  if (out.json()) {
    StatusOr<nlohmann::json> doc = Json(*resp);
    if (!doc.ok()) return out.LocalError(doc.status());
    out.Json(*doc);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const gv1::VersionSummary& v : resp->versions()) {
    std::string title;
    for (const gv1::Content& c : v.titles()) {
      if (title.empty() || c.language() == "en") title = c.title();
    }
    rows.push_back({v.guideline_id(), std::to_string(v.version()), StateText(v.status()),
                    TimestampText(v.effective_at()).substr(0, 10),
                    v.status().acknowledged() ? "yes" : (v.status().addressed() ? "no" : "-"),
                    absl::StrJoin(v.topics(), ","), title});
  }
  out.Table({"GUIDELINE", "V", "STATE", "EFFECTIVE", "ACKED", "TOPICS", "TITLE"}, rows);
  if (!resp->next_page_token().empty()) out.Line("next page: " + resp->next_page_token());
  return kExitOk;
}

// ---- show ----------------------------------------------------------------------------------

int RunGuidelineShow(const Globals& globals, const GuidelineShowArgs& args, Output& out) {
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  gv1::GetResponse got;
  if (!args.from_file.empty()) {
    StatusOr<std::string> text = ReadTextFile(args.from_file);
    if (!text.ok()) return out.LocalError(text.status());
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(*text, &got, options).ok()) {
      return out.LocalError(absl::FailedPreconditionError(
          absl::StrCat(args.from_file, ": not the JSON of `concordctl --json guideline show`")));
    }
  } else {
    gv1::GetRequest req;
    req.set_guideline_id(args.id);
    req.set_version(args.version);
    for (const std::string& l : args.languages) req.add_preferred_languages(l);
    StatusOr<gv1::GetResponse> resp = (*client)->Get(req);
    if (!resp.ok()) return Failure(out, "Get", resp.status());
    got = *std::move(resp);
  }
  // Verified here, whatever the server said.
  Status verified = (*client)->Verify(got.version());
  if (verified.ok() && got.status().has_withdrawal()) {
    verified = (*client)->Verify(got.status().withdrawal());
  }
  if (!verified.ok() && !IsVerificationFailure(verified)) return Failure(out, "Get", verified);
  const std::string served = got.served_language().empty() && got.version().contents_size() > 0
                                 ? got.version().contents(0).language()
                                 : got.served_language();
  if (out.json()) {
    StatusOr<nlohmann::json> doc = Json(got);
    if (!doc.ok()) return out.LocalError(doc.status());
    (*doc)["verified"] = verified.ok();
    if (!verified.ok()) (*doc)["verification_error"] = Message(verified);
    out.Json(*doc);
  } else {
    std::vector<std::string> fallback(got.fallback_order().begin(), got.fallback_order().end());
    if (verified.ok()) {
      out.Line(absl::StrCat("verified: SHA-256 recomputed from the content matches; signature of ",
                            AgencyKeyOf(got.version().publisher()),
                            " verified against its directory key"));
    }
    PrintVersion(out, got.version(), got.status(), served, fallback);
  }
  if (!verified.ok()) {
    return out.VerificationFailed(absl::StrCat("VERIFICATION FAILED: ", Message(verified)));
  }
  return kExitOk;
}

// ---- diff ----------------------------------------------------------------------------------

int RunGuidelineDiff(const Globals& globals, const GuidelineDiffArgs& args, Output& out) {
  if (args.from < 1 || args.to < 1) return out.LocalError(UsageError("FROM TO", "1 or more"));
  if (args.language.empty()) return out.LocalError(UsageError("--language", "required, e.g. fr"));
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  gv1::DiffRequest req;
  req.set_guideline_id(args.id);
  req.set_from_version(args.from);
  req.set_to_version(args.to);
  req.set_language(args.language);
  StatusOr<gv1::DiffResponse> resp = (*client)->Diff(req);
  if (!resp.ok()) return Failure(out, "Diff", resp.status());
  if (out.json()) {
    StatusOr<nlohmann::json> doc = Json(*resp);
    if (!doc.ok()) return out.LocalError(doc.status());
    out.Json(*doc);
    return kExitOk;
  }
  out.Line(absl::StrCat("--- ", args.id, " version ", args.from, " (", args.language, ") ",
                        resp->from_title()));
  out.Line(absl::StrCat("+++ ", args.id, " version ", args.to, " (", args.language, ") ",
                        resp->to_title()));
  for (const gv1::DiffLine& l : resp->lines()) {
    const char* mark = l.op() == gv1::DiffLine::OP_INSERT   ? "+"
                       : l.op() == gv1::DiffLine::OP_DELETE ? "-"
                                                            : " ";
    out.Line(std::string(mark) + l.text());
  }
  out.Line(absl::StrCat(resp->deleted(), " line(s) removed, ", resp->inserted(),
                        " line(s) added; both versions verified"));
  return kExitOk;
}

// ---- ack -----------------------------------------------------------------------------------

int RunGuidelineAck(const Globals& globals, const GuidelineAckArgs& args, Output& out) {
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  gv1::GetRequest get;
  get.set_guideline_id(args.id);
  get.set_version(args.version);
  // What is acknowledged is the content verified here, named by its SHA-256.
  StatusOr<gv1::GetResponse> current = (*client)->GetVerified(get);
  if (!current.ok()) return Failure(out, "Get", current.status());
  const gv1::GuidelineVersion& v = current->version();
  StatusOr<gv1::AcknowledgeResponse> resp =
      (*client)->Acknowledge(v.guideline_id(), v.version(), v.sha256());
  if (!resp.ok()) return Failure(out, "Acknowledge", resp.status());
  if (out.json()) {
    out.Json({{"guideline_id", v.guideline_id()},
              {"version", v.version()},
              {"sha256", Sha(v.sha256())},
              {"acknowledged_at", TimestampText(resp->acknowledged_at())},
              {"duplicate", resp->duplicate()},
              {"late", resp->late()},
              {"counted", resp->counted()}});
    return kExitOk;
  }
  std::string line =
      absl::StrCat("acknowledged: ", v.guideline_id(), " version ", v.version(), " (sha256 ",
                   Sha(v.sha256()), ", verified) at ", TimestampText(resp->acknowledged_at()));
  if (resp->duplicate()) line += " (already acknowledged then)";
  if (resp->late()) line += " (after the deadline)";
  if (!resp->counted()) line += " (not counted: figures frozen or agency outside the audience)";
  out.Line(line);
  return kExitOk;
}

// ---- compliance ----------------------------------------------------------------------------

int RunGuidelineCompliance(const Globals& globals, const GuidelineComplianceArgs& args,
                           Output& out) {
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  StatusOr<gv1::ComplianceResponse> resp = (*client)->Compliance(args.id, args.version);
  if (!resp.ok()) return Failure(out, "Compliance", resp.status());
  if (out.json()) {
    StatusOr<nlohmann::json> doc = Json(*resp);
    if (!doc.ok()) return out.LocalError(doc.status());
    out.Json(*doc);
    return kExitOk;
  }
  out.KeyValues(
      {{"guideline", absl::StrCat(resp->guideline_id(), " version ", resp->version())},
       {"sha256", Sha(resp->sha256())},
       {"acknowledge by", TimestampText(resp->ack_deadline())},
       {"as of",
        absl::StrCat(TimestampText(resp->as_of()),
                     resp->frozen() ? absl::StrCat(" (figures frozen: ", resp->frozen_reason(), ")")
                                    : "")}});
  auto row = [](const gv1::Figures& f, std::string name) {
    char percent[32];
    std::snprintf(percent, sizeof(percent), "%.1f %%", f.acknowledged_percent());
    return std::vector<std::string>{std::move(name),
                                    std::to_string(f.audience()),
                                    std::to_string(f.acknowledged()),
                                    std::to_string(f.pending()),
                                    std::to_string(f.overdue()),
                                    std::to_string(f.late()),
                                    percent};
  };
  std::vector<std::vector<std::string>> rows;
  for (const gv1::Figures& f : resp->by_type())
    rows.push_back(row(f, AgencyTypeText(f.agency_type())));
  rows.push_back(row(resp->total(), "total"));
  out.Table({"TYPE", "AUDIENCE", "ACKED", "PENDING", "OVERDUE", "LATE", "ACKED %"}, rows);
  auto list = [&](const std::string& title,
                  const google::protobuf::RepeatedPtrField<gv1::AgencyCompliance>& items) {
    if (items.empty()) return;
    out.Line("");
    out.Line(title);
    for (const gv1::AgencyCompliance& a : items) {
      std::string line = "  " + AgencyKeyOf(a.agency());
      if (a.acknowledged()) line += "  " + TimestampText(a.acknowledged_at());
      if (a.late()) line += "  late";
      if (a.overdue()) line += "  OVERDUE";
      out.Line(line);
    }
  };
  list("acknowledged:", resp->acknowledged());
  list("not acknowledged:", resp->not_acknowledged());
  list("suspended (not counted):", resp->suspended());
  list("acknowledgements not counted (outside the frozen audience, or after the freeze):",
       resp->not_counted());
  return kExitOk;
}

// ---- watch ---------------------------------------------------------------------------------

int RunGuidelineWatch(const Globals& globals, const GuidelineWatchArgs& args, Output& out) {
  if (args.max < 0) return out.LocalError(UsageError("--max", "must be 0 (no limit) or more"));
  if (args.max_retries < 0) {
    return out.LocalError(UsageError("--max-retries", "must be 0 (no limit) or more"));
  }
  gc::WatchOptions options;
  options.after_cursor = args.after;
  options.resume.max_attempts = args.max_retries;
  if (!args.duration.empty()) {
    StatusOr<absl::Duration> d = ParseTimeToLive("--duration", args.duration);
    if (!d.ok()) return out.LocalError(d.status());
    options.max_duration = *d;
  }
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());

  g_guideline_stop = 0;
  struct sigaction action {};
  struct sigaction old_int {};
  struct sigaction old_term {};
  action.sa_handler = OnGuidelineStop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  gc::WatchStop stop;
  options.stop = &stop;
  std::atomic<bool> finished{false};
  std::thread canceller([&] {
    while (!finished.load()) {
      if (g_guideline_stop != 0) {
        stop.Stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  options.on_resume = [&](const Status& ended, int attempt, absl::Duration delay) {
    out.Notice(absl::StrCat("watch: the stream ended (", GrpcCodeName(ended.code()),
                            ended.message().empty() ? "" : ": ", Message(ended), "); resuming in ",
                            absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1))),
                            " (attempt ", attempt, ")"));
  };
  int count = 0;
  int invalid = 0;
  int failure = kExitOk;
  const Status watched =
      (*client)->Watch(options, [&](const gv1::GuidelineEvent& e, const Status& verified) {
        ++count;
        if (!verified.ok()) ++invalid;
        bool acked = false;
        if (e.has_version() && verified.ok() && args.ack) {
          StatusOr<gv1::AcknowledgeResponse> a = (*client)->Acknowledge(
              e.version().guideline_id(), e.version().version(), e.version().sha256());
          if (!a.ok()) {
            failure = Failure(out, "Acknowledge", a.status());
            return false;
          }
          acked = true;
        }
        if (out.json()) {
          nlohmann::json doc = {{"cursor", e.cursor()},
                                {"backlog", e.backlog()},
                                {"verified", verified.ok()},
                                {"acknowledged", acked}};
          if (!verified.ok()) doc["verification_error"] = Message(verified);
          if (e.has_withdrawal()) {
            doc["kind"] = "withdrawal";
            doc["guideline_id"] = e.withdrawal().guideline_id();
            doc["version"] = e.withdrawal().version();
            doc["reason"] = e.withdrawal().reason();
          } else {
            doc["kind"] = "version";
            doc["guideline_id"] = e.version().guideline_id();
            doc["version"] = e.version().version();
            doc["sha256"] = Sha(e.version().sha256());
            doc["effective_at"] = TimestampText(e.version().effective_at());
            doc["ack_deadline"] = TimestampText(e.version().ack_deadline());
          }
          out.JsonLine(doc);
        } else if (e.has_withdrawal()) {
          out.Line(absl::StrCat(
              "withdrawal  ", e.withdrawal().guideline_id(), " version ", e.withdrawal().version(),
              "  by ", AgencyKeyOf(e.withdrawal().withdrawn_by()), ": ", e.withdrawal().reason(),
              "  ", verified.ok() ? "signature verified" : "VERIFICATION FAILED"));
        } else {
          std::string title;
          for (const gv1::Content& c : e.version().contents()) {
            if (title.empty() || c.language() == "en") title = c.title();
          }
          out.Line(absl::StrCat("version  ", e.version().guideline_id(), " version ",
                                e.version().version(), "  ", title, "  acknowledge by ",
                                TimestampText(e.version().ack_deadline()), "  ",
                                verified.ok() ? "verified (SHA-256 and publisher signature)"
                                              : "VERIFICATION FAILED: " + Message(verified),
                                acked ? "  acknowledged" : "", e.backlog() ? "" : "  (live)"));
        }
        out.Flush();
        return args.max == 0 || count < args.max;
      });
  finished.store(true);
  canceller.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (failure != kExitOk) return failure;
  if (!watched.ok()) return Failure(out, "Subscribe", watched);
  if (!out.json()) out.Line(absl::StrCat("watch stopped: ", count, " event(s)"));
  if (invalid > 0) {
    return out.VerificationFailed(
        absl::StrCat(invalid, " event(s) failed verification (not acknowledged)"));
  }
  return kExitOk;
}

// ---- export --------------------------------------------------------------------------------

int RunGuidelineExport(const Globals& globals, const GuidelineExportArgs& args, Output& out) {
  if (args.html_dir.empty()) return out.LocalError(UsageError("--html", "the output folder"));
  auto client = MakeClient(globals);
  if (!client.ok()) return out.LocalError(client.status());
  gv1::GetRequest get;
  get.set_guideline_id(args.id);
  get.set_version(args.version);
  StatusOr<gv1::GetResponse> got = (*client)->GetVerified(get);
  if (!got.ok()) return Failure(out, "Get", got.status());
  if (!got->version().audience().is_public()) {
    return out.LocalError(absl::FailedPreconditionError(
        absl::StrCat(args.id, " version ", got->version().version(),
                     " is not public outreach material (audience.is_public): it is not exported")));
  }
  if (got->status().has_withdrawal()) {
    return out.LocalError(absl::FailedPreconditionError(
        absl::StrCat(args.id, " version ", got->version().version(), " is withdrawn")));
  }
  StatusOr<guideline::Version> v = guideline::VersionFromProto(got->version());
  if (!v.ok()) return out.LocalError(v.status());
  std::error_code ec;
  std::filesystem::create_directories(args.html_dir, ec);
  if (ec) {
    return out.LocalError(
        absl::FailedPreconditionError(absl::StrCat(args.html_dir, ": ", ec.message())));
  }
  nlohmann::json files = nlohmann::json::array();
  for (const guideline::Content& c : v->contents) {
    const std::string path = args.html_dir + "/" + gc::PublicPageFileName(*v, c.language);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << gc::RenderPublicPage(*v, got->version().sha256(), c.language);
    if (!f.good()) {
      return out.LocalError(absl::FailedPreconditionError(absl::StrCat(path, ": cannot write")));
    }
    files.push_back({{"language", c.language}, {"path", path}});
    if (!out.json()) out.Line(absl::StrCat("wrote ", path, " (", c.language, ")"));
  }
  if (out.json()) {
    out.Json({{"guideline_id", args.id},
              {"version", got->version().version()},
              {"sha256", Sha(got->version().sha256())},
              {"verified", true},
              {"files", files}});
  } else {
    out.Line(absl::StrCat("verified before export: SHA-256 ", Sha(got->version().sha256()),
                          " and the signature of ", AgencyKeyOf(got->version().publisher())));
  }
  return kExitOk;
}

}  // namespace concord::ctl
