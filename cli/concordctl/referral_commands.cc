// concordctl referral ...: concord.referrals.v1.Referrals. The personal record of a case is
// sealed, signed, verified and opened HERE, in the agency's process (client/referrals), with the
// keys of the directory and of the local agency directory; the server only stores the sealed,
// signed box. Every box read is verified against its author's directory signing key before it is
// trusted, shown or opened (a box replaced in storage, rolled back or moved from another case is
// refused, exit 3). Personal values are never printed except by `referral open`.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "cli/concordctl/referral_args.h"
#include "client/referrals/record_crypto.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/time/calendar.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/referrals/v1/referrals.grpc.pb.h"

namespace concord::ctl {
namespace {

using AgencyProto = ::concord::common::v1::AgencyId;
namespace dir = ::concord::directory::v1;
namespace rc = ::concord::referrals::client;

constexpr size_t kMinJustification = 10;  // the server's rule (OpenSealed)

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

std::string Message(const Status& status) {
  return std::string(status.message().data(), status.message().size());
}

bool IsUnsetAgency(const AgencyProto& a) {
  return a.trust_domain().empty() && a.id().empty() &&
         a.type() == concord::common::v1::AGENCY_TYPE_UNSPECIFIED;
}

std::string AgencyText(const AgencyProto& a) { return IsUnsetAgency(a) ? "-" : AgencyKeyOf(a); }

// Times of the procedure are shown where its days end: Europe/Brussels, ISO 8601 with the offset
// (UTC, marked Z, only if this host has no tz data).
absl::TimeZone LegalZone() {
  static const absl::TimeZone zone = [] {
    StatusOr<absl::TimeZone> z = LoadTimeZone(kBrusselsTimeZone);
    return z.ok() ? *z : absl::UTCTimeZone();
  }();
  return zone;
}

std::string LocalText(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  return FormatLocalTime(absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos()),
                         LegalZone());
}

// ---- connection ----------------------------------------------------------------------------

struct Session {
  const Globals* globals = nullptr;
  std::unique_ptr<ref::Referrals::Stub> referrals;
  std::unique_ptr<dir::Directory::Stub> directory;
  AgencyProto me;  // the agency of the client certificate
  std::string me_key;
  std::map<std::string, crypto::Ed25519PublicKey> signing_keys;  // directory keys looked up
  std::shared_ptr<keys::KeyTrust> trust;  // key continuity of every directory key lookup

  void Prepare(grpc::ClientContext& ctx) const { PrepareContext(globals->connection, ctx); }
};

StatusOr<Session> Connect(const Globals& globals) {
  Session s;
  s.globals = &globals;
  CONCORD_ASSIGN_OR_RETURN(s.me, LocalAgency(globals.connection));
  s.me_key = AgencyKeyOf(s.me);
  CONCORD_ASSIGN_OR_RETURN(s.trust, OpenKeyTrust(globals.connection));
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  s.referrals = ref::Referrals::NewStub(channel);
  s.directory = dir::Directory::NewStub(channel);
  return s;
}

// This agency's X25519 private key (opens records sealed to it).
StatusOr<crypto::X25519PrivateKey> LoadSealingKey(const Globals& globals,
                                                  const ReferralKeyArgs& keys) {
  std::string path = keys.sealing_key_file;
  if (path.empty() && !globals.connection.agency_dir.empty()) {
    path = globals.connection.agency_dir + "/seal.key";
  }
  if (path.empty()) {
    return UsageError("--sealing-key-file",
                      "give the key file, or --agency-dir DIR (DIR/seal.key)");
  }
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  StatusOr<crypto::X25519PrivateKey> key = crypto::X25519PrivateKey::FromPem(pem);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not an unencrypted X25519 private key (PEM)"));
  }
  return key;
}

// This agency as the author of the boxes it writes, with its Ed25519 private key.
StatusOr<rc::RecordAuthor> LoadAuthor(const Globals& globals, const ReferralKeyArgs& keys,
                                      const AgencyProto& me) {
  std::string path = keys.signing_key_file;
  if (path.empty() && !globals.connection.agency_dir.empty()) {
    path = globals.connection.agency_dir + "/sign.key";
  }
  if (path.empty()) {
    return UsageError("--signing-key", "give the key file, or --agency-dir DIR (DIR/sign.key)");
  }
  CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  StatusOr<crypto::Ed25519PrivateKey> key = crypto::Ed25519PrivateKey::FromPem(pem);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not an unencrypted Ed25519 private key (PEM)"));
  }
  return rc::RecordAuthor{me, *std::move(key)};
}

// ---- RPC helpers: each returns kExitOk or the exit code after printing the failure ----------

int GetCase(Session& s, Output& out, const std::string& case_id, ref::Case* c) {
  grpc::ClientContext ctx;
  s.Prepare(ctx);
  ref::GetRequest req;
  req.set_case_id(case_id);
  ref::GetResponse resp;
  const grpc::Status status = s.referrals->Get(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("Get", status);
  *c = resp.case_();
  return kExitOk;
}

// The sealing keys of `recipients` ("<type>/<id>") from the directory (Directory/GetAgency).
int RecipientKeys(Session& s, Output& out, const std::vector<std::string>& recipients,
                  std::vector<rc::RecordRecipient>* to) {
  for (const std::string& key : recipients) {
    StatusOr<AgencyProto> agency = ParseAgencyRef("recipient", key);
    if (!agency.ok()) return out.LocalError(agency.status());
    agency->set_trust_domain(s.me.trust_domain());
    grpc::ClientContext ctx;
    s.Prepare(ctx);
    dir::GetAgencyRequest req;
    *req.mutable_id() = *agency;
    dir::GetAgencyResponse resp;
    const grpc::Status status = s.directory->GetAgency(&ctx, req, &resp);
    if (!status.ok()) return out.RpcError("Directory/GetAgency (keys of " + key + ")", status);
    StatusOr<crypto::X25519PublicKey> pub =
        crypto::X25519PublicKey::FromPem(resp.agency().sealing_public_key_pem());
    if (!pub.ok()) {
      return out.VerificationFailed("the directory holds no valid sealing key for " + key);
    }
    // Security: key continuity - never seal to a key that changed without endorsement.
    if (Status st = s.trust->Check(*agency, resp.agency()); !st.ok()) {
      return KeyLookupFailure(out, "Directory/GetAgency (keys of " + key + ")", st);
    }
    to->push_back({key, *std::move(pub)});
  }
  return kExitOk;
}

// The directory signing key of `author` (Directory/GetAgency, once per command and agency).
int AuthorKey(Session& s, Output& out, AgencyProto author, crypto::Ed25519PublicKey* key) {
  if (author.trust_domain().empty()) author.set_trust_domain(s.me.trust_domain());
  const std::string name = AgencyText(author);
  if (auto it = s.signing_keys.find(name); it != s.signing_keys.end()) {
    *key = it->second;
    return kExitOk;
  }
  if (IsUnsetAgency(author)) return out.VerificationFailed("a sealed box names no author");
  grpc::ClientContext ctx;
  s.Prepare(ctx);
  dir::GetAgencyRequest req;
  *req.mutable_id() = author;
  dir::GetAgencyResponse resp;
  const grpc::Status status = s.directory->GetAgency(&ctx, req, &resp);
  if (!status.ok())
    return out.RpcError("Directory/GetAgency (signing key of " + name + ")", status);
  StatusOr<crypto::Ed25519PublicKey> pub =
      crypto::Ed25519PublicKey::FromPem(resp.agency().signing_public_key_pem());
  if (!pub.ok()) {
    return out.VerificationFailed("the directory holds no valid signing key for " + name +
                                  ": a box it wrote cannot be verified");
  }
  // Security: key continuity - never trust a signature under a key that changed unendorsed.
  if (Status st = s.trust->Check(author, resp.agency()); !st.ok()) {
    return KeyLookupFailure(out, "Directory/GetAgency (signing key of " + name + ")", st);
  }
  s.signing_keys.emplace(name, *pub);
  *key = *std::move(pub);
  return kExitOk;
}

// What a reader shows of a verified (or accepted unsigned) box.
std::string SignedByText(const ref::SealedRecord& box) {
  if (box.signature().empty()) {
    return "UNSIGNED (stored before signatures: neither its author " + AgencyText(box.author()) +
           " nor its integrity is proven; shown because of --accept-unsigned)";
  }
  return AgencyText(box.author()) + " (signature verified with its directory signing key)";
}

// Verifies a record returned by OpenSealed (version asked for, author a party for the latest,
// the author's signature). kExitOk, or exit 3 after printing why.
int CheckRecord(Session& s, Output& out, const ReferralKeyArgs& keys,
                const ref::OpenSealedResponse& opened, int64_t requested_version) {
  // Replaced by the author's key when the box is signed; an unsigned box is refused (or
  // accepted) before any key is used.
  crypto::Ed25519PublicKey key = crypto::Ed25519PrivateKey::Generate().PublicKey();
  const ref::SealedRecord& record = opened.record();
  if (!record.signature().empty()) {
    if (int rc = AuthorKey(s, out, record.author(), &key); rc != kExitOk) return rc;
  }
  const Status verified = rc::VerifyRecord(record, opened.case_(), requested_version, key);
  if (verified.ok()) return kExitOk;
  if (keys.accept_unsigned && ReasonOf(verified) == rc::kReasonUnsigned) return kExitOk;
  std::string message = Message(verified);
  if (ReasonOf(verified) == rc::kReasonUnsigned) {
    message += " (stored before signatures existed? --accept-unsigned shows it, flagged UNSIGNED)";
  }
  return out.VerificationFailed(message);
}

// Seals `record` for `case_id` to the agencies `recipients`, signed as record version `version`.
int SealRecord(Session& s, Output& out, const ref::PersonalRecord& record,
               const std::string& case_id, int64_t version,
               const std::vector<std::string>& recipients, const rc::RecordAuthor& author,
               ref::SealedRecord* sealed) {
  if (recipients.empty()) {
    return out.LocalError(
        UsageError("--centre", "the personal record is sealed to the receiving centre: set one"));
  }
  std::vector<rc::RecordRecipient> to;
  if (int rc = RecipientKeys(s, out, recipients, &to); rc != kExitOk) return rc;
  StatusOr<ref::SealedRecord> box = rc::SealPersonalRecord(record, case_id, version, to, author);
  if (!box.ok()) return out.LocalError(box.status());
  *sealed = *std::move(box);
  return kExitOk;
}

// ---- printing ------------------------------------------------------------------------------

std::string Join(const std::vector<std::string>& items) {
  return items.empty() ? "-" : JoinComma(items);
}

// "overdue" for a missed action (the centre's answer), "expires" for a document.
std::string DeadlineLine(const ref::Deadline& d) {
  if (d.kind() == ref::DEADLINE_KIND_CENTRE_RESPONSE || d.last_day().empty()) {
    return DeadlineText(d.kind()) + " due " + LocalText(d.due_at()) +
           (d.overdue() ? " (OVERDUE)" : "");
  }
  return DeadlineText(d.kind()) + (d.overdue() ? " expired" : " expires") + " at the end of " +
         d.last_day() + " (" + LocalText(d.due_at()) + ")";
}

std::vector<std::pair<std::string, std::string>> CaseRows(const ref::Case& c) {
  const ref::CaseAttributes& a = c.attributes();
  std::vector<std::string> forms;
  for (int f : a.exploitation_forms())
    forms.push_back(FormText(static_cast<ref::ExploitationForm>(f)));
  std::string origin = a.origin_country().empty() ? "-" : a.origin_country();
  if (a.origin_world_region() != ref::WORLD_REGION_UNSPECIFIED) {
    origin += " (" + WorldRegionText(a.origin_world_region()) + ")";
  }
  std::vector<std::pair<std::string, std::string>> rows = {
      {"case", c.case_id()},
      {"subject ref", c.subject_ref()},
      {"state", StateText(c.state())},
      {"version", std::to_string(c.version())},
      {"referring agency", AgencyText(c.referring_agency())},
      {"receiving centre", AgencyText(c.receiving_centre())},
      {"magistrate", AgencyText(c.magistrate())},
  };
  if (!IsUnsetAgency(c.immigration_office())) {
    rows.emplace_back("immigration office", AgencyText(c.immigration_office()));
  }
  if (!IsUnsetAgency(c.guardianship_service())) {
    rows.emplace_back("guardianship service", AgencyText(c.guardianship_service()));
  }
  if (!IsUnsetAgency(c.investigating_unit())) {
    rows.emplace_back("investigating unit", AgencyText(c.investigating_unit()));
  }
  rows.emplace_back("exploitation forms", Join(forms));
  rows.emplace_back("nationality class", a.nationality_class() == ref::NATIONALITY_CLASS_UNSPECIFIED
                                             ? "-"
                                             : NationalityClassText(a.nationality_class()));
  rows.emplace_back("origin", origin);
  rows.emplace_back("age band",
                    a.age_band() == ref::AGE_BAND_UNSPECIFIED ? "-" : AgeBandText(a.age_band()));
  if (a.gender_category() != ref::GENDER_CATEGORY_UNSPECIFIED) {
    rows.emplace_back("gender identity", GenderText(a.gender_category()));
  }
  rows.emplace_back("unaccompanied minor", a.unaccompanied_minor() ? "yes" : "no");
  rows.emplace_back("region", a.region().empty() ? "-" : a.region());
  if (!c.case_reference().empty()) rows.emplace_back("case reference", c.case_reference());
  std::vector<std::string> recipients(c.sealed_record_recipients().begin(),
                                      c.sealed_record_recipients().end());
  rows.emplace_back("sealed record", c.sealed_record_version() == 0
                                         ? "none"
                                         : absl::StrCat("version ", c.sealed_record_version(),
                                                        ", sealed to ", Join(recipients)));
  if (c.document_identity_version() > 0) {
    std::vector<std::string> to(c.document_identity_recipients().begin(),
                                c.document_identity_recipients().end());
    rows.emplace_back("document identity", absl::StrCat("sealed to ", Join(to), " (case version ",
                                                        c.document_identity_version(), ")"));
  }
  if (c.guardian_version() > 0) {
    std::vector<std::string> to(c.guardian_recipients().begin(), c.guardian_recipients().end());
    rows.emplace_back("guardian", absl::StrCat("sealed to ", Join(to), " (case version ",
                                               c.guardian_version(), ")"));
  }
  if (c.pending_document_request() != ref::DOCUMENT_KIND_UNSPECIFIED) {
    rows.emplace_back("document requested", DocumentText(c.pending_document_request()));
  }
  if (!c.document_valid_through().empty()) {
    rows.emplace_back("document expires", "at the end of " + c.document_valid_through() + " (" +
                                              LocalText(c.document_valid_until()) + ")");
  } else if (c.has_document_valid_until()) {
    rows.emplace_back("document valid until", LocalText(c.document_valid_until()));
  }
  if (c.has_last_document_outcome()) {
    const ref::DocumentOutcome& o = c.last_document_outcome();
    rows.emplace_back(
        "document decision",
        absl::StrCat(o.decision() == ref::DOCUMENT_DECISION_WITHDRAWN ? "withdrawn" : "refused",
                     " ", DocumentText(o.document()), " (ground ", GroundText(o.ground()), ", ",
                     LocalText(o.at()), ")"));
  }
  if (c.statement_recorded()) rows.emplace_back("statement", "recorded");
  if (c.opinion() != ref::MAGISTRATE_OPINION_UNSPECIFIED) {
    rows.emplace_back("magistrate's opinion", OpinionText(c.opinion()));
  } else if (c.victim_opinion()) {
    rows.emplace_back("magistrate's opinion", "victim");
  }
  if (c.proceedings_ended()) rows.emplace_back("proceedings", "ended (magistrate)");
  if (c.conviction_recorded()) rows.emplace_back("conviction", "recorded (magistrate)");
  if (c.non_punishment_assessed()) {
    rows.emplace_back("non-punishment", c.non_punishment_assessment());
  }
  if (c.close_reason() != ref::CLOSE_REASON_UNSPECIFIED) {
    rows.emplace_back("close reason", CloseReasonText(c.close_reason()));
  }
  for (const ref::Deadline& d : c.deadlines()) rows.emplace_back("deadline", DeadlineLine(d));
  if (!c.declined_by().empty()) {
    std::vector<std::string> declined;
    for (const AgencyProto& d : c.declined_by()) declined.push_back(AgencyKeyOf(d));
    rows.emplace_back("declined by", Join(declined));
  }
  rows.emplace_back("created", LocalText(c.created_at()));
  rows.emplace_back("updated", LocalText(c.updated_at()));
  return rows;
}

int PrintJson(Output& out, const google::protobuf::Message& message,
              const std::vector<std::pair<std::string, nlohmann::json>>& extra = {}) {
  StatusOr<nlohmann::json> doc = ProtoToJson(message);
  if (!doc.ok()) return out.LocalError(doc.status());
  for (const auto& [k, v] : extra) (*doc)[k] = v;
  out.Json(*doc);
  return kExitOk;
}

void PrintProblems(Output& out, const google::protobuf::RepeatedPtrField<ref::FieldProblem>& ps) {
  std::vector<std::vector<std::string>> rows;
  for (const ref::FieldProblem& p : ps) rows.push_back({p.field(), p.description()});
  out.Table({"FIELD", "PROBLEM"}, rows);
}

int PrintTransition(Output& out, const ref::TransitionResponse& resp,
                    const std::vector<std::pair<std::string, nlohmann::json>>& extra = {}) {
  if (out.json()) return PrintJson(out, resp, extra);
  const ref::HistoryEntry& e = resp.entry();
  out.Line(absl::StrCat(TransitionText(e.kind()), ": case ", resp.case_().case_id(), " ",
                        StateText(e.from_state()), " -> ", StateText(e.to_state()), " (version ",
                        resp.case_().version(), ")"));
  for (const ref::Deadline& d : resp.deadlines_started()) {
    out.Line("deadline started: " + DeadlineLine(d));
  }
  if (!resp.deadlines_ended().empty()) {
    std::vector<std::string> ended;
    for (int k : resp.deadlines_ended()) {
      ended.push_back(DeadlineText(static_cast<ref::DeadlineKind>(k)));
    }
    out.Line("deadlines ended: " + JoinComma(ended));
  }
  if (!resp.notified().empty()) {
    std::vector<std::string> notified;
    for (const AgencyProto& a : resp.notified()) notified.push_back(AgencyKeyOf(a));
    out.Line("notified: " + JoinComma(notified));
  }
  for (const auto& [k, v] : extra) {
    if (v.is_array()) {
      std::vector<std::string> items;
      for (const auto& i : v) items.push_back(i.get<std::string>());
      out.Line(k + ": " + JoinComma(items));
    } else if (v.is_string()) {
      out.Line(k + ": " + v.get<std::string>());
    }
  }
  out.KeyValues(CaseRows(resp.case_()));
  return kExitOk;
}

int64_t ExpectedVersion(int64_t flag, const ref::Case& read) {
  return flag >= 0 ? flag : read.version();
}

StatusOr<AgencyProto> OptionalAgency(std::string_view flag, const std::string& text) {
  if (text.empty()) return AgencyProto();
  return ParseAgencyRef(flag, text);
}

// The draft flags (attributes, --centre, --magistrate) applied onto `draft`; flags not given
// leave it unchanged. Local checks only (the server validates the values).
Status ApplyDraftFlags(const AttributeArgs& attributes, const std::string& centre_flag,
                       const std::string& magistrate_flag, const std::string& guardianship_flag,
                       ref::SaveDraftRequest& draft) {
  CONCORD_RETURN_IF_ERROR(ApplyAttributeArgs(attributes, *draft.mutable_attributes()));
  CONCORD_ASSIGN_OR_RETURN(AgencyProto centre, OptionalAgency("--centre", centre_flag));
  CONCORD_ASSIGN_OR_RETURN(AgencyProto magistrate, OptionalAgency("--magistrate", magistrate_flag));
  CONCORD_ASSIGN_OR_RETURN(AgencyProto guardianship,
                           OptionalAgency("--guardianship", guardianship_flag));
  if (!centre_flag.empty()) *draft.mutable_receiving_centre() = centre;
  if (!magistrate_flag.empty()) *draft.mutable_magistrate() = magistrate;
  if (!guardianship_flag.empty()) *draft.mutable_guardianship_service() = guardianship;
  return absl::OkStatus();
}

}  // namespace

// ---- draft ---------------------------------------------------------------------------------

int RunReferralDraft(const Globals& globals, const ReferralKeyArgs& keys,
                     const ReferralDraftArgs& args, Output& out) {
  ref::SaveDraftRequest req;
  // Checked before connecting; applied again on top of the stored draft for an update.
  if (Status st =
          ApplyDraftFlags(args.attributes, args.centre, args.magistrate, args.guardianship, req);
      !st.ok()) {
    return out.LocalError(st);
  }
  if (!args.personal.trans_experience.empty()) {
    StatusOr<ref::TransExperience> t =
        ParseTransExperience("--trans-experience", args.personal.trans_experience);
    if (!t.ok()) return out.LocalError(t.status());
  }
  // The languages are personal data: sealed in the record, never a clear attribute.
  const bool seal = args.personal.Given() || !args.attributes.languages.empty();
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());

  // The record version a save with a record creates (it is signed): the next one of the case.
  int64_t record_version = 1;
  if (!args.case_id.empty()) {
    // Read-modify-write: the stored draft, with the flags given applied on top.
    ref::Case current;
    if (int rc = GetCase(*s, out, args.case_id, &current); rc != kExitOk) return rc;
    record_version = current.sealed_record_version() + 1;
    req = ref::SaveDraftRequest();
    req.set_case_id(args.case_id);
    req.set_expected_version(ExpectedVersion(args.expected_version, current));
    *req.mutable_attributes() = current.attributes();
    // Clear attributes no longer accepted (drafts saved before they moved to the sealed
    // record), and what the server sets itself.
    req.mutable_attributes()->clear_languages();
    req.mutable_attributes()->clear_origin_region();
    req.mutable_attributes()->clear_origin_world_region();
    *req.mutable_receiving_centre() = current.receiving_centre();
    *req.mutable_magistrate() = current.magistrate();
    *req.mutable_guardianship_service() = current.guardianship_service();
    req.set_case_reference(current.case_reference());
    if (Status st =
            ApplyDraftFlags(args.attributes, args.centre, args.magistrate, args.guardianship, req);
        !st.ok()) {
      return out.LocalError(st);
    }
  }
  if (!args.case_reference.empty()) req.set_case_reference(args.case_reference);
  if (seal && IsUnsetAgency(req.receiving_centre())) {
    return out.LocalError(UsageError(
        "--centre", "the personal record is sealed to the receiving centre: give --centre"));
  }

  const auto save = [&](ref::SaveDraftResponse* resp) -> int {
    grpc::ClientContext ctx;
    s->Prepare(ctx);
    const grpc::Status status = s->referrals->SaveDraft(&ctx, req, resp);
    return status.ok() ? kExitOk : out.RpcError("SaveDraft", status);
  };
  const bool created = args.case_id.empty();
  ref::SaveDraftResponse resp;
  std::vector<std::string> sealed_to;
  if (seal) {
    StatusOr<rc::RecordAuthor> author = LoadAuthor(globals, keys, s->me);
    if (!author.ok()) return out.LocalError(author.status());
    if (created) {
      // The record is bound to its case id (aad, signature): create the draft first, then seal.
      if (int rc = save(&resp); rc != kExitOk) return rc;
      req.set_case_id(resp.case_().case_id());
      req.set_expected_version(resp.case_().version());
      record_version = resp.case_().sealed_record_version() + 1;
    }
    ref::Case future;
    future.set_state(ref::CASE_STATE_DETECTED);
    *future.mutable_receiving_centre() = req.receiving_centre();
    *future.mutable_magistrate() = req.magistrate();
    sealed_to = RecordRecipientsOf(future);
    if (int rc = SealRecord(
            *s, out, PersonalRecordFromArgs(args.personal, args.attributes.languages),
            req.case_id(), record_version, sealed_to, *author, req.mutable_sealed_record());
        rc != kExitOk) {
      if (created) out.Line("note: draft " + req.case_id() + " was created without the record");
      return rc;
    }
  }
  if (int rc = save(&resp); rc != kExitOk) return rc;

  if (out.json()) {
    return PrintJson(out, resp, {{"created", created}, {"sealed_to", sealed_to}});
  }
  out.Line(absl::StrCat(created ? "created draft " : "saved draft ", resp.case_().case_id(),
                        " (version ", resp.case_().version(), ")"));
  if (!sealed_to.empty()) {
    out.Line("personal record sealed locally to " + JoinComma(sealed_to) +
             " (the server never sees it in clear)");
  }
  out.KeyValues(CaseRows(resp.case_()));
  if (resp.problems().empty()) {
    out.Line("complete: ready to submit (concordctl referral submit " + resp.case_().case_id() +
             ")");
  } else {
    out.Line(absl::StrCat("still missing before submit (", resp.problems_size(), "):"));
    PrintProblems(out, resp.problems());
  }
  return kExitOk;
}

// ---- validate ------------------------------------------------------------------------------

int RunReferralValidate(const Globals& globals, const ReferralValidateArgs& args, Output& out) {
  ref::ValidateRequest req;
  if (!args.case_id.empty()) {
    req.set_case_id(args.case_id);
  } else {
    if (Status st = ApplyDraftFlags(args.attributes, args.centre, args.magistrate, "",
                                    *req.mutable_draft());
        !st.ok()) {
      return out.LocalError(st);
    }
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::ValidateResponse resp;
  const grpc::Status status = s->referrals->Validate(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("Validate", status);
  if (out.json()) {
    if (int rc = PrintJson(out, resp); rc != kExitOk) return rc;
    return resp.valid() ? kExitOk : kExitVerificationFailed;
  }
  if (resp.valid()) {
    out.Line("valid: no problem, ready to submit");
    return kExitOk;
  }
  out.Line(absl::StrCat("not valid: ", resp.problems_size(), " problem(s)"));
  PrintProblems(out, resp.problems());
  return kExitVerificationFailed;
}

// ---- suggest -------------------------------------------------------------------------------

int RunReferralSuggest(const Globals& globals, const ReferralSuggestArgs& args, Output& out) {
  if (args.max_results < 0) {
    return out.LocalError(UsageError("--max", "must be >= 0 (0 = all)"));
  }
  ref::SuggestCentresRequest req;
  req.set_max_results(args.max_results);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  if (!args.case_id.empty()) {
    ref::Case c;
    if (int rc = GetCase(*s, out, args.case_id, &c); rc != kExitOk) return rc;
    *req.mutable_attributes() = c.attributes();
    req.mutable_attributes()->clear_languages();
    req.mutable_attributes()->clear_origin_region();
  }
  if (Status st = ApplyAttributeArgs(args.attributes, *req.mutable_attributes()); !st.ok()) {
    return out.LocalError(st);
  }
  for (const std::string& l : args.attributes.languages) req.add_languages(l);
  for (const std::string& n : args.attributes.support_needs) req.add_support_needs(n);
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::SuggestCentresResponse resp;
  const grpc::Status status = s->referrals->SuggestCentres(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("SuggestCentres", status);
  if (out.json()) return PrintJson(out, resp);
  std::vector<std::vector<std::string>> rows;
  int rank = 0;
  for (const ref::CentreSuggestion& c : resp.suggestions()) {
    char score[32];
    std::snprintf(score, sizeof(score), "%.2f", c.score());
    const std::string load = std::to_string(c.open_cases()) + "/" +
                             (c.capacity() > 0 ? std::to_string(c.capacity()) : std::string("-"));
    std::vector<std::string> reasons(c.reasons().begin(), c.reasons().end());
    rows.push_back({std::to_string(++rank), AgencyKeyOf(c.centre()), c.display_name(), score, load,
                    JoinComma(reasons)});
  }
  out.Table({"RANK", "CENTRE", "NAME", "SCORE", "OPEN/CAPACITY", "REASONS"}, rows);
  if (!rows.empty()) out.Line("the choice stays with the referring agency (--centre)");
  return kExitOk;
}

// ---- submit --------------------------------------------------------------------------------

int RunReferralSubmit(const Globals& globals, const ReferralCaseArgs& args, Output& out) {
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  ref::SubmitRequest req;
  req.set_case_id(args.case_id);
  req.set_expected_version(args.expected_version);
  if (args.expected_version < 0) {
    ref::Case current;
    if (int rc = GetCase(*s, out, args.case_id, &current); rc != kExitOk) return rc;
    req.set_expected_version(current.version());
  }
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::TransitionResponse resp;
  const grpc::Status status = s->referrals->Submit(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("Submit", status);
  return PrintTransition(out, resp);
}

// ---- transition ----------------------------------------------------------------------------

// The latest personal record of `case_id`, opened here with this agency's sealing key after
// OpenSealed (audited with `justification`) and the verification of its author's signature.
// `from` says what was opened and who wrote it.
int OpenCurrentRecord(Session& s, Output& out, const Globals& globals, const ReferralKeyArgs& keys,
                      const std::string& case_id, const std::string& justification,
                      ref::PersonalRecord* record, std::string* from) {
  StatusOr<crypto::X25519PrivateKey> key = LoadSealingKey(globals, keys);
  if (!key.ok()) return out.LocalError(key.status());
  grpc::ClientContext ctx;
  s.Prepare(ctx);
  ref::OpenSealedRequest open;
  open.set_case_id(case_id);
  open.set_justification(justification);
  ref::OpenSealedResponse opened;
  const grpc::Status status = s.referrals->OpenSealed(&ctx, open, &opened);
  if (!status.ok()) return out.RpcError("OpenSealed", status);
  // Security: never re-seal (and sign as our own) a record whose author is not proven.
  if (int rc = CheckRecord(s, out, keys, opened, /*requested_version=*/0); rc != kExitOk) {
    return rc;
  }
  StatusOr<ref::PersonalRecord> plain =
      rc::OpenPersonalRecord(opened.record(), case_id, s.me_key, *key);
  if (!plain.ok()) {
    return out.VerificationFailed("the sealed record of case " + case_id +
                                  " does not open with the sealing key of " + s.me_key + " (" +
                                  Message(plain.status()) + ")");
  }
  *record = *std::move(plain);
  *from =
      absl::StrCat("record version ", opened.record().version(), " written by ",
                   SignedByText(opened.record()), ", opened with the sealing key of ", s.me_key);
  return kExitOk;
}

int RunReferralTransition(const Globals& globals, const ReferralKeyArgs& keys,
                          const ReferralTransitionArgs& args, Output& out) {
  StatusOr<ref::TransitionKind> kind = ParseTransitionKind("KIND", args.kind);
  if (!kind.ok()) return out.LocalError(kind.status());
  const ref::TransitionKind k = *kind;
  const bool reseal =
      k == ref::TRANSITION_KIND_REFER_ELSEWHERE || k == ref::TRANSITION_KIND_ASSIGN_MAGISTRATE;
  const bool issues = k == ref::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT ||
                      k == ref::TRANSITION_KIND_ISSUE_ATTESTATION ||
                      k == ref::TRANSITION_KIND_ISSUE_CERTIFICATE ||
                      k == ref::TRANSITION_KIND_RENEW_CERTIFICATE;
  const bool decides =
      k == ref::TRANSITION_KIND_REFUSE_DOCUMENT || k == ref::TRANSITION_KIND_WITHDRAW_DOCUMENT;
  const bool guardian = k == ref::TRANSITION_KIND_RECORD_GUARDIAN;
  const bool requests = k == ref::TRANSITION_KIND_REQUEST_DOCUMENT;
  const bool names_unit = k == ref::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT;
  // Flags that do not apply to the kind are refused (nothing is sent).
  const auto only = [&](bool given, std::string_view flag, bool applies,
                        std::string_view which) -> Status {
    if (given && !applies) return UsageError(flag, "only for " + std::string(which));
    return absl::OkStatus();
  };
  for (const Status& st :
       {only(!args.note.empty(), "--note",
             k == ref::TRANSITION_KIND_DECLINE || k == ref::TRANSITION_KIND_RECORD_NON_PUNISHMENT,
             "decline and record-non-punishment"),
        only(!args.to.empty(), "--to", reseal || names_unit,
             "refer-elsewhere, assign-magistrate and assign-investigating-unit"),
        only(!args.valid_until.empty(), "--valid-until", issues,
             "issue-reflection-document, issue-attestation, issue-certificate and "
             "renew-certificate"),
        only(!args.ground.empty(), "--ground", decides, "refuse-document and withdraw-document"),
        only(!args.guardian_name.empty() || !args.guardian_contact.empty() ||
                 !args.guardian_designated_on.empty(),
             "--guardian-*", guardian, "record-guardian"),
        only(!args.document.empty(), "--document", k == ref::TRANSITION_KIND_REQUEST_DOCUMENT,
             "request-document"),
        only(!args.immigration_office.empty(), "--immigration-office",
             k == ref::TRANSITION_KIND_REQUEST_DOCUMENT, "request-document"),
        only(!args.reason.empty(), "--reason", k == ref::TRANSITION_KIND_CLOSE, "close"),
        only(args.personal.Given(), "--name/--dob/...", reseal || requests,
             "refer-elsewhere and assign-magistrate (the re-sealed personal record) and "
             "request-document (--name, --dob, --nationality sealed to the Immigration Office)")}) {
    if (!st.ok()) return out.LocalError(st);
  }
  if (!args.sealed_note_to.empty() && args.sealed_note_file.empty()) {
    return out.LocalError(UsageError("--sealed-note-to", "only with --sealed-note-file"));
  }
  std::string note_text;
  if (!args.sealed_note_file.empty()) {
    StatusOr<std::string> text = ReadTextFile(args.sealed_note_file);
    if (!text.ok()) return out.LocalError(text.status());
    note_text = *std::move(text);
    while (!note_text.empty() && (note_text.back() == '\n' || note_text.back() == '\r')) {
      note_text.pop_back();
    }
    if (note_text.empty()) {
      return out.LocalError(UsageError("--sealed-note-file", "the file is empty"));
    }
  }
  ref::TransitionRequest req;
  req.set_case_id(args.case_id);
  req.set_kind(k);
  req.set_note(args.note);
  req.set_valid_until_date(args.valid_until);
  if (decides) {
    if (args.ground.empty()) {
      return out.LocalError(
          UsageError("--ground",
                     "required: contact_with_exploiters, no_cooperation, not_considered_victim, "
                     "proceedings_ended, public_order, fraud or other"));
    }
    StatusOr<ref::DocumentGround> ground = ParseGround("--ground", args.ground);
    if (!ground.ok()) return out.LocalError(ground.status());
    req.set_ground(*ground);
  }
  if (guardian && args.guardian_name.empty()) {
    return out.LocalError(UsageError("--guardian-name", "required: the guardian's name (sealed)"));
  }
  if (reseal || names_unit) {
    if (args.to.empty()) {
      return out.LocalError(UsageError("--to", k == ref::TRANSITION_KIND_REFER_ELSEWHERE
                                                   ? "required: the new reception centre"
                                               : names_unit ? "required: the police or social "
                                                              "inspection unit"
                                                            : "required: the magistrate"));
    }
    StatusOr<AgencyProto> to = ParseAgencyRef("--to", args.to);
    if (!to.ok()) return out.LocalError(to.status());
    *req.mutable_target() = *to;
  }
  if (k == ref::TRANSITION_KIND_REQUEST_DOCUMENT) {
    if (args.document.empty()) {
      return out.LocalError(
          UsageError("--document",
                     "required: reflection, registration_attestation, registration_certificate or "
                     "unlimited_stay"));
    }
    StatusOr<ref::DocumentKind> doc = ParseDocument("--document", args.document);
    if (!doc.ok()) return out.LocalError(doc.status());
    req.set_document(*doc);
    StatusOr<AgencyProto> office = OptionalAgency("--immigration-office", args.immigration_office);
    if (!office.ok()) return out.LocalError(office.status());
    *req.mutable_target() = *office;
  }
  if (k == ref::TRANSITION_KIND_CLOSE) {
    if (args.reason.empty()) {
      return out.LocalError(UsageError(
          "--reason", "required: voluntary_return, withdrawal, refusal, lost_contact or other"));
    }
    StatusOr<ref::CloseReason> reason = ParseCloseReason("--reason", args.reason);
    if (!reason.ok()) return out.LocalError(reason.status());
    req.set_close_reason(*reason);
  }

  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  // This agency signs what it seals here (the re-sealed record, the sealed note).
  std::optional<rc::RecordAuthor> author;
  if (reseal || !note_text.empty() || guardian || requests) {
    StatusOr<rc::RecordAuthor> loaded = LoadAuthor(globals, keys, s->me);
    if (!loaded.ok()) return out.LocalError(loaded.status());
    author = *std::move(loaded);
  }
  ref::Case current;
  if (int rc = GetCase(*s, out, args.case_id, &current); rc != kExitOk) return rc;
  req.set_expected_version(ExpectedVersion(args.expected_version, current));

  std::vector<std::pair<std::string, nlohmann::json>> extra;
  if (reseal) {
    // The record, re-sealed to the parties of the case after the transition.
    ref::Case future = current;
    if (k == ref::TRANSITION_KIND_REFER_ELSEWHERE) {
      *future.mutable_receiving_centre() = req.target();
      future.set_state(ref::CASE_STATE_REFERRED);
    } else {
      *future.mutable_magistrate() = req.target();
    }
    const std::vector<std::string> recipients = RecordRecipientsOf(future);
    ref::PersonalRecord record;
    if (args.personal.Given()) {
      record = PersonalRecordFromArgs(args.personal, {});
    } else if (k == ref::TRANSITION_KIND_ASSIGN_MAGISTRATE &&
               AgencyKeyOf(current.receiving_centre()) == s->me_key &&
               current.sealed_record_version() > 0) {
      // The centre opens the current record with its own key and re-seals it (audited).
      std::string justification =
          args.justification.empty() ? globals.connection.justification : args.justification;
      if (justification.size() < kMinJustification) {
        justification = "re-seal the personal record to the newly assigned magistrate " +
                        AgencyKeyOf(req.target());
      }
      std::string from;
      if (int rc = OpenCurrentRecord(*s, out, globals, keys, args.case_id, justification, &record,
                                     &from);
          rc != kExitOk) {
        return rc;
      }
      extra.emplace_back("re-sealed from", from);
    } else {
      return out.LocalError(UsageError(
          "--name/--dob/...",
          "give the personal record again (--name, --dob, --nationality, --contact, --consent, "
          "--notes): it is re-sealed to " +
              JoinComma(recipients) +
              (k == ref::TRANSITION_KIND_ASSIGN_MAGISTRATE
                   ? " (the receiving centre can instead re-seal the current record itself)"
                   : "")));
    }
    if (int rc = SealRecord(*s, out, record, args.case_id, current.sealed_record_version() + 1,
                            recipients, *author, req.mutable_sealed_record());
        rc != kExitOk) {
      return rc;
    }
    extra.emplace_back("re-sealed to", recipients);
  }

  if (requests) {
    // The identity fields the document needs, sealed to the Immigration Office only.
    const bool renewal = req.document() == ref::DOCUMENT_KIND_REGISTRATION_CERTIFICATE &&
                         current.state() == ref::CASE_STATE_REGISTRATION_CERTIFICATE;
    const AgencyProto office =
        IsUnsetAgency(req.target()) ? current.immigration_office() : req.target();
    if (req.document() != ref::DOCUMENT_KIND_UNLIMITED_STAY && !renewal && !IsUnsetAgency(office)) {
      ref::DocumentIdentity identity;
      if (args.personal.Given()) {
        identity.set_full_name(args.personal.name);
        identity.set_date_of_birth(args.personal.dob);
        identity.set_nationality(args.personal.nationality);
      } else {
        ref::PersonalRecord record;
        std::string from;
        const std::string justification =
            "seal the identity fields of a residence document request to " + AgencyKeyOf(office);
        if (int rc = OpenCurrentRecord(*s, out, globals, keys, args.case_id, justification, &record,
                                       &from);
            rc != kExitOk) {
          return rc;
        }
        identity.set_full_name(record.full_name());
        identity.set_date_of_birth(record.date_of_birth());
        identity.set_nationality(record.nationality());
        extra.emplace_back("identity from", from);
      }
      std::vector<rc::RecordRecipient> to;
      if (int rc = RecipientKeys(*s, out, {AgencyKeyOf(office)}, &to); rc != kExitOk) return rc;
      StatusOr<ref::SealedRecord> box =
          rc::SealDocumentIdentity(identity, args.case_id, req.expected_version() + 1, to, *author);
      if (!box.ok()) return out.LocalError(box.status());
      *req.mutable_sealed_identity() = *std::move(box);
      extra.emplace_back("identity sealed to", std::vector<std::string>{AgencyKeyOf(office)});
    }
  }

  if (guardian) {
    ref::GuardianRecord record;
    record.set_full_name(args.guardian_name);
    record.set_contact(args.guardian_contact);
    record.set_designated_on(args.guardian_designated_on);
    const std::vector<std::string> recipients = {AgencyKeyOf(current.receiving_centre()),
                                                 AgencyKeyOf(current.guardianship_service())};
    if (IsUnsetAgency(current.receiving_centre()) ||
        IsUnsetAgency(current.guardianship_service())) {
      return out.LocalError(absl::FailedPreconditionError(
          "case " + args.case_id + " names no centre or no Guardianship Service"));
    }
    std::vector<rc::RecordRecipient> to;
    if (int rc = RecipientKeys(*s, out, recipients, &to); rc != kExitOk) return rc;
    StatusOr<ref::SealedRecord> box =
        rc::SealGuardian(record, args.case_id, req.expected_version() + 1, to, *author);
    if (!box.ok()) return out.LocalError(box.status());
    *req.mutable_sealed_guardian() = *std::move(box);
    extra.emplace_back("guardian sealed to", recipients);
  }

  if (!note_text.empty()) {
    std::vector<std::string> note_to = args.sealed_note_to;
    if (note_to.empty()) {
      // The parties of the case, and the party this transition adds (refer-elsewhere,
      // assign-magistrate); the server refuses anyone else.
      std::vector<const AgencyProto*> parties = {
          &current.referring_agency(), &current.receiving_centre(), &current.magistrate()};
      if (reseal) parties.push_back(&req.target());
      for (const AgencyProto* a : parties) {
        if (IsUnsetAgency(*a)) continue;
        const std::string key = AgencyKeyOf(*a);
        if (std::find(note_to.begin(), note_to.end(), key) == note_to.end()) note_to.push_back(key);
      }
    }
    std::vector<rc::RecordRecipient> to;
    if (int rc = RecipientKeys(*s, out, note_to, &to); rc != kExitOk) return rc;
    // The note lands in the history entry this transition creates: version expected + 1.
    StatusOr<ref::SealedRecord> box =
        rc::SealNote(note_text, args.case_id, req.expected_version() + 1, to, *author);
    if (!box.ok()) return out.LocalError(box.status());
    *req.mutable_sealed_note() = *std::move(box);
    extra.emplace_back("note sealed to", note_to);
  }

  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::TransitionResponse resp;
  const grpc::Status status = s->referrals->Transition(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("Transition " + TransitionText(k), status);
  return PrintTransition(out, resp, extra);
}

// ---- get / open / update-sealed ------------------------------------------------------------

int RunReferralGet(const Globals& globals, const ReferralCaseArgs& args, Output& out) {
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  ref::Case c;
  if (int rc = GetCase(*s, out, args.case_id, &c); rc != kExitOk) return rc;
  if (out.json()) {
    ref::GetResponse resp;
    *resp.mutable_case_() = c;
    return PrintJson(out, resp);
  }
  out.KeyValues(CaseRows(c));
  return kExitOk;
}

// A document identity or guardian box returned by OpenSealed: verified (version, author, its
// signature), opened with this agency's key, printed.
int ShowCaseBox(Session& s, Output& out, const ReferralKeyArgs& keys, const ReferralOpenArgs& args,
                ref::SealedBox box, const ref::OpenSealedResponse& resp,
                const crypto::X25519PrivateKey& key) {
  const bool guardian = box == ref::SEALED_BOX_GUARDIAN;
  const rc::SealedKind kind =
      guardian ? rc::SealedKind::kGuardian : rc::SealedKind::kDocumentIdentity;
  const ref::SealedRecord& sealed = resp.record();
  crypto::Ed25519PublicKey author_key = crypto::Ed25519PrivateKey::Generate().PublicKey();
  if (!sealed.signature().empty()) {
    if (int rc = AuthorKey(s, out, sealed.author(), &author_key); rc != kExitOk) return rc;
  }
  const Status verified =
      rc::VerifyCaseBox(kind, sealed, resp.case_(), args.record_version, author_key);
  if (!verified.ok()) return out.VerificationFailed(Message(verified));
  const std::vector<std::string> sealed_to = rc::RecordRecipientKeys(sealed);
  std::vector<std::pair<std::string, std::string>> rows = {
      {"case", args.case_id},
      {"box", std::string(guardian ? "guardian" : "document identity") + " (case version " +
                  std::to_string(sealed.version()) + ")"},
      {"written by", SignedByText(sealed)},
      {"sealed to", Join(sealed_to)}};
  nlohmann::json fields;
  if (guardian) {
    StatusOr<ref::GuardianRecord> g = rc::OpenGuardian(sealed, args.case_id, s.me_key, key);
    if (!g.ok())
      return out.VerificationFailed("the guardian box does not open: " + Message(g.status()));
    fields = {{"full_name", g->full_name()},
              {"contact", g->contact()},
              {"designated_on", g->designated_on()}};
    rows.insert(rows.end(), {{"guardian", g->full_name()},
                             {"contact", g->contact()},
                             {"designated on", g->designated_on()}});
  } else {
    StatusOr<ref::DocumentIdentity> i =
        rc::OpenDocumentIdentity(sealed, args.case_id, s.me_key, key);
    if (!i.ok()) {
      return out.VerificationFailed("the document identity does not open: " + Message(i.status()));
    }
    fields = {{"full_name", i->full_name()},
              {"date_of_birth", i->date_of_birth()},
              {"nationality", i->nationality()}};
    rows.insert(rows.end(), {{"name", i->full_name()},
                             {"date of birth", i->date_of_birth()},
                             {"nationality", i->nationality()}});
  }
  if (out.json()) {
    out.Json({{"case_id", args.case_id},
              {"box", guardian ? "guardian" : "document_identity"},
              {"version", sealed.version()},
              {"author", AgencyKeyOf(sealed.author())},
              {"signature_verified", !sealed.signature().empty()},
              {"sealed_to", sealed_to},
              {"opened_as", s.me_key},
              {"fields", fields}});
    return kExitOk;
  }
  out.KeyValues(rows);
  return kExitOk;
}

int RunReferralOpen(const Globals& globals, const ReferralKeyArgs& keys,
                    const ReferralOpenArgs& args, Output& out) {
  const std::string justification =
      args.justification.empty() ? globals.connection.justification : args.justification;
  if (justification.size() < kMinJustification) {
    return out.LocalError(
        UsageError("--justification",
                   "required: why the personal record is opened (10..500 characters; "
                   "recorded in the audit log)"));
  }
  if (args.record_version < 0) {
    return out.LocalError(UsageError("--record-version", "must be >= 0 (0 = latest)"));
  }
  ref::SealedBox box = ref::SEALED_BOX_RECORD;
  if (!args.box.empty()) {
    StatusOr<ref::SealedBox> parsed = ParseBox("--box", args.box);
    if (!parsed.ok()) return out.LocalError(parsed.status());
    box = *parsed;
  }
  StatusOr<crypto::X25519PrivateKey> key = LoadSealingKey(globals, keys);
  if (!key.ok()) return out.LocalError(key.status());
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::OpenSealedRequest req;
  req.set_case_id(args.case_id);
  req.set_justification(justification);
  req.set_version(args.record_version);
  req.set_box(box);
  ref::OpenSealedResponse resp;
  const grpc::Status status = s->referrals->OpenSealed(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("OpenSealed", status);
  if (box != ref::SEALED_BOX_RECORD) {
    return ShowCaseBox(*s, out, keys, args, box, resp, *key);
  }
  // Who wrote it, and is it the version asked for: checked before anything is opened.
  if (int rc = CheckRecord(*s, out, keys, resp, args.record_version); rc != kExitOk) return rc;
  const ref::SealedRecord& sealed = resp.record();
  const std::vector<std::string> sealed_to = rc::RecordRecipientKeys(sealed);
  StatusOr<ref::PersonalRecord> record =
      rc::OpenPersonalRecord(sealed, args.case_id, s->me_key, *key);
  if (!record.ok()) {
    if (record.status().code() == absl::StatusCode::kNotFound) {
      return out.VerificationFailed("the sealed record of case " + args.case_id +
                                    " is not sealed to " + s->me_key + " (sealed to " +
                                    Join(sealed_to) + ")");
    }
    return out.VerificationFailed(
        "the sealed record of case " + args.case_id + " does not open with the sealing key of " +
        s->me_key +
        " (altered, bound to another case, or another key: " + Message(record.status()) + ")");
  }
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(*record);
    if (!doc.ok()) return out.LocalError(doc.status());
    out.Json({{"case_id", args.case_id},
              {"record_version", sealed.version()},
              {"author", AgencyKeyOf(sealed.author())},
              {"signed", !sealed.signature().empty()},
              {"signature_verified", !sealed.signature().empty()},
              {"created_at", TimestampText(sealed.created_at())},
              {"sealed_to", sealed_to},
              {"verified", true},
              {"opened_as", s->me_key},
              {"record", *doc}});
    return kExitOk;
  }
  std::vector<std::string> languages(record->languages().begin(), record->languages().end());
  out.KeyValues({
      {"case", args.case_id},
      {"record version",
       absl::StrCat(sealed.version(), " (stored ", TimestampText(sealed.created_at()), ")")},
      {"written by", SignedByText(sealed)},
      {"sealed to", Join(sealed_to)},
      {"verified", "sealed to " + s->me_key +
                       " (opened and authenticated locally with its sealing key; the "
                       "consultation is audited)"},
      {"name", record->full_name()},
      {"name used", record->used_name()},
      {"pronouns", record->pronouns()},
      {"date of birth", record->date_of_birth()},
      {"nationality", record->nationality()},
      {"gender identity", record->gender_identity()},
      {"trans experience", record->trans_experience() == ref::TRANS_EXPERIENCE_UNSPECIFIED
                               ? std::string()
                               : ref::TransExperience_Name(record->trans_experience())
                                     .substr(sizeof("TRANS_EXPERIENCE_") - 1)},
      {"languages (preferred first)", JoinComma(languages)},
      {"interpreter", record->interpreter_needed() ? "needed" : "not needed"},
      {"contact", record->contact()},
      {"consent", record->consent_given() ? "given" : "not given"},
      {"notes", record->notes()},
  });
  return kExitOk;
}

int RunReferralUpdateSealed(const Globals& globals, const ReferralKeyArgs& keys,
                            const ReferralUpdateSealedArgs& args, Output& out) {
  if (!args.personal.Given()) {
    return out.LocalError(UsageError(
        "--name/--dob/...", "give the new personal record (it replaces the latest version)"));
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  StatusOr<rc::RecordAuthor> author = LoadAuthor(globals, keys, s->me);
  if (!author.ok()) return out.LocalError(author.status());
  ref::Case current;
  if (int rc = GetCase(*s, out, args.case_id, &current); rc != kExitOk) return rc;
  ref::UpdateSealedRequest req;
  req.set_case_id(args.case_id);
  req.set_expected_version(ExpectedVersion(args.expected_version, current));
  const std::vector<std::string> recipients = RecordRecipientsOf(current);
  if (recipients.empty()) {
    return out.LocalError(absl::FailedPreconditionError(
        "case " + args.case_id +
        " has no receiving centre handling it and no magistrate: nobody to seal the record to"));
  }
  if (int rc = SealRecord(*s, out, PersonalRecordFromArgs(args.personal, {}), args.case_id,
                          current.sealed_record_version() + 1, recipients, *author,
                          req.mutable_sealed_record());
      rc != kExitOk) {
    return rc;
  }
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::UpdateSealedResponse resp;
  const grpc::Status status = s->referrals->UpdateSealed(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("UpdateSealed", status);
  if (out.json()) return PrintJson(out, resp, {{"sealed_to", recipients}});
  out.Line(absl::StrCat("sealed record version ", resp.case_().sealed_record_version(), " of case ",
                        args.case_id, " sealed locally to ", JoinComma(recipients),
                        " and signed by ", s->me_key));
  out.KeyValues(CaseRows(resp.case_()));
  return kExitOk;
}

// ---- list / history ------------------------------------------------------------------------

int RunReferralList(const Globals& globals, const ReferralListArgs& args, Output& out) {
  ref::ListRequest req;
  if (!args.state.empty()) {
    StatusOr<ref::CaseState> state = ParseState("--state", args.state);
    if (!state.ok()) return out.LocalError(state.status());
    req.set_state(*state);
  }
  if (args.page_size < 0 || args.page_size > 500) {
    return out.LocalError(UsageError("--page-size", "must be 0..500 (0 = server default)"));
  }
  if (args.due_within_hours < 0) {
    return out.LocalError(UsageError("--due-within-hours", "must be >= 0"));
  }
  req.set_deadline_due(args.due || args.due_within_hours > 0);
  req.set_due_within_hours(args.due_within_hours);
  req.mutable_page()->set_page_size(args.page_size);
  req.mutable_page()->set_page_token(args.page_token);
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  ref::ListResponse all;
  for (int pages = 0; pages < 1000; ++pages) {
    grpc::ClientContext ctx;
    s->Prepare(ctx);
    ref::ListResponse page;
    const grpc::Status status = s->referrals->List(&ctx, req, &page);
    if (!status.ok()) return out.RpcError("List", status);
    for (ref::Case& c : *page.mutable_cases()) *all.add_cases() = std::move(c);
    all.set_next_page_token(page.next_page_token());
    if (!args.page_token.empty() || page.next_page_token().empty()) break;
    req.mutable_page()->set_page_token(page.next_page_token());
  }
  if (out.json()) return PrintJson(out, all);
  std::vector<std::vector<std::string>> rows;
  for (const ref::Case& c : all.cases()) {
    std::string next = "-";
    const ref::Deadline* first = nullptr;
    for (const ref::Deadline& d : c.deadlines()) {
      if (first == nullptr || d.due_at().seconds() < first->due_at().seconds()) first = &d;
    }
    if (first != nullptr) next = DeadlineLine(*first);
    rows.push_back({c.case_id(), StateText(c.state()), std::to_string(c.version()),
                    AgencyText(c.referring_agency()), AgencyText(c.receiving_centre()),
                    AgencyText(c.magistrate()), next, LocalText(c.updated_at())});
  }
  out.Table(
      {"CASE", "STATE", "VERSION", "REFERRER", "CENTRE", "MAGISTRATE", "NEXT DEADLINE", "UPDATED"},
      rows);
  if (!args.page_token.empty() && !all.next_page_token().empty()) {
    out.Line("next page: --page-token " + all.next_page_token());
  }
  return kExitOk;
}

int RunReferralHistory(const Globals& globals, const ReferralKeyArgs& keys,
                       const ReferralHistoryArgs& args, Output& out) {
  std::optional<crypto::X25519PrivateKey> key;
  if (args.open_notes) {
    StatusOr<crypto::X25519PrivateKey> loaded = LoadSealingKey(globals, keys);
    if (!loaded.ok()) return out.LocalError(loaded.status());
    key = *std::move(loaded);
  }
  StatusOr<Session> s = Connect(globals);
  if (!s.ok()) return out.LocalError(s.status());
  grpc::ClientContext ctx;
  s->Prepare(ctx);
  ref::HistoryRequest req;
  req.set_case_id(args.case_id);
  ref::HistoryResponse resp;
  const grpc::Status status = s->referrals->History(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("History", status);

  // Per entry: what to show of its sealed note ("" = none), whether its signature holds, and the
  // opened text if any. A note is opened only once its author's signature is verified.
  bool unopenable = false;
  std::vector<std::string> bad_signatures;
  std::vector<std::optional<std::string>> opened(static_cast<size_t>(resp.entries_size()));
  std::vector<std::string> sealed_text(opened.size());
  std::vector<std::string> signed_by(opened.size());
  for (int i = 0; i < resp.entries_size(); ++i) {
    const ref::HistoryEntry& e = resp.entries(i);
    if (!e.has_sealed_note()) continue;
    const size_t k = static_cast<size_t>(i);
    const std::vector<std::string> to = rc::RecordRecipientKeys(e.sealed_note());
    sealed_text[k] = "[sealed to " + JoinComma(to) + "]";
    // Replaced by the author's key when the note is signed; an unsigned note is refused (or
    // accepted) before any key is used.
    crypto::Ed25519PublicKey author_key = crypto::Ed25519PrivateKey::Generate().PublicKey();
    if (!e.sealed_note().signature().empty()) {
      if (int rc = AuthorKey(*s, out, e.actor(), &author_key); rc != kExitOk) return rc;
    }
    const Status verified = rc::VerifyNote(e, args.case_id, author_key);
    const bool accepted =
        verified.ok() || (keys.accept_unsigned && ReasonOf(verified) == rc::kReasonUnsigned);
    if (!accepted) {
      bad_signatures.push_back(Message(verified));
      sealed_text[k] += ReasonOf(verified) == rc::kReasonUnsigned
                            ? " (UNSIGNED: refused; --accept-unsigned shows it)"
                            : " (SIGNATURE INVALID: refused)";
      continue;
    }
    signed_by[k] = SignedByText(e.sealed_note());
    sealed_text[k] += e.sealed_note().signature().empty() ? " (UNSIGNED)" : " (signed)";
    if (!key.has_value() || std::find(to.begin(), to.end(), s->me_key) == to.end()) continue;
    StatusOr<std::string> text = rc::OpenNote(e.sealed_note(), args.case_id, s->me_key, *key);
    if (text.ok()) {
      opened[k] = *std::move(text);
    } else {
      unopenable = true;
      sealed_text[k] += " (does not open: " + Message(text.status()) + ")";
    }
  }
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(resp);
    if (!doc.ok()) return out.LocalError(doc.status());
    for (size_t i = 0; i < opened.size(); ++i) {
      if (opened[i].has_value()) (*doc)["entries"][i]["sealedNoteText"] = *opened[i];
      if (!signed_by[i].empty()) (*doc)["entries"][i]["sealedNoteWrittenBy"] = signed_by[i];
    }
    out.Json(*doc);
  } else {
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < resp.entries_size(); ++i) {
      const ref::HistoryEntry& e = resp.entries(i);
      std::string note = e.note();
      const size_t k = static_cast<size_t>(i);
      const std::string sealed = opened[k].has_value() ? "[opened] " + *opened[k] : sealed_text[k];
      if (!sealed.empty()) note = note.empty() ? sealed : note + " " + sealed;
      rows.push_back({std::to_string(e.version()), LocalText(e.at()), e.action(),
                      StateText(e.from_state()), StateText(e.to_state()), AgencyText(e.actor()),
                      note.empty() ? "-" : note});
    }
    out.Table({"VERSION", "AT", "ACTION", "FROM", "TO", "BY", "NOTE"}, rows);
  }
  if (!bad_signatures.empty()) {
    std::string message = bad_signatures.front();
    if (bad_signatures.size() > 1) {
      message += absl::StrCat(" (and ", bad_signatures.size() - 1, " more sealed note(s))");
    }
    return out.VerificationFailed(message);
  }
  if (unopenable) {
    return out.VerificationFailed("a sealed note sealed to " + s->me_key +
                                  " does not open with its sealing key");
  }
  return kExitOk;
}

}  // namespace concord::ctl
