// File: tests/fuzz/make_fuzz_corpus.cc
//
// Writes the seed corpus of every fuzz target: valid inputs made by Concord's own code (the
// agency library builds and seals a real envelope, TestPki issues real certificates, keys write
// their own PEM, the audit code seals real records, ...), with the fixed keys and clock of
// fuzz_support.h so that the seeds open, verify and pass validation. Run once; its output is
// committed in tests/fuzz/corpus/<target>/ (a handful of small files per target):
//   build/tests/fuzz/make_fuzz_corpus tests/fuzz/corpus
// Seals and signatures use fresh randomness, so a new run writes other bytes of the same kind.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/messaging/message_crypto.h"
#include "common/audit/audit_record.h"
#include "common/crypto/seal.h"
#include "common/envelope/chunk.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"
#include "common/envelope/sealed_content.h"
#include "common/guideline/guideline.h"
#include "common/guideline/guideline_proto.h"
#include "concord/testing/v1/fuzz.pb.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/services/liaison/liaison_test_util.h"
#include "tests/services/referrals/referrals_test_util.h"
#include "tests/support/test_pki.h"

namespace concord::fuzz {
namespace {

namespace fs = std::filesystem;
namespace mv1 = ::concord::messaging::v1;
namespace tv1 = ::concord::testing::v1;

class Corpus {
 public:
  explicit Corpus(fs::path root) : root_(std::move(root)) {}
  void Add(const std::string& target, const std::string& name, const std::string& bytes) {
    const fs::path dir = root_ / target;
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary) << bytes;
    ++count_;
  }
  void AddTagged(const std::string& target, const std::string& name, char tag,
                 const std::string& bytes) {
    Add(target, name, std::string(1, tag) + bytes);
  }
  void AddProto(const std::string& target, const std::string& name,
                const google::protobuf::Message& m) {
    Add(target, name, m.SerializeAsString());
  }
  int count() const { return count_; }

 private:
  fs::path root_;
  int count_ = 0;
};

template <typename T>
T Must(StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "make_fuzz_corpus: %s: %s\n", what, v.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(v);
}

common::v1::AgencyId AgencyProto(common::v1::AgencyType type, const std::string& id) {
  common::v1::AgencyId a;
  a.set_trust_domain(std::string(kTrustDomain));
  a.set_type(type);
  a.set_id(id);
  return a;
}

// A real v2 envelope from police/pz-brussels to police/pz-antwerp, made at Now().
mv1::Envelope RealEnvelope(bool with_attachment, mv1::HandlingCode code = mv1::HANDLING_CODE_H0) {
  messaging::client::SenderIdentity sender{
      AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-brussels"), SigningKey(),
      crypto::X25519PrivateKey::Generate()};
  messaging::client::Recipient to{AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-antwerp"),
                                  SealingKey().PublicKey()};
  messaging::client::MessageDraft draft;
  draft.message_id = "msg-fuzz-seed-0000000001";
  draft.recipients = {to};
  draft.thread_id = "thread-1";
  draft.case_reference = "BXL-2026-0042";
  draft.body = "Meeting moved to 14:00, see attachment.";
  draft.handling_code = code;
  if (code == mv1::HANDLING_CODE_H3) draft.handling_text = "Do not disseminate.";
  if (with_attachment) {
    auto att = Must(messaging::client::SealAttachment("att-fuzz-0000000001", "report.pdf",
                                                      "application/pdf", "%PDF-1.4 ...", {to}),
                    "SealAttachment");
    draft.attachments = {att.reference};
  }
  return Must(messaging::client::BuildEnvelope(sender, draft, Now()), "BuildEnvelope");
}

void Envelopes(Corpus& c) {
  for (int i = 0; i < 3; ++i) {
    const mv1::Envelope proto =
        RealEnvelope(i == 1, i == 2 ? mv1::HANDLING_CODE_H3 : mv1::HANDLING_CODE_H0);
    const envelope::Envelope e = Must(envelope::EnvelopeFromProto(proto), "EnvelopeFromProto");
    c.AddTagged("envelope", "stored-" + std::to_string(i), 0, envelope::EncodeStoredEnvelope(e));
  }
  envelope::SealedContent content;
  content.text = "Body text";
  c.AddTagged("envelope", "content-plain", 1, envelope::EncodeSealedContent(content));
  content.handling_text = "Handle with care";
  content.attachments = {
      {"att-fuzz-0000000001", "report.pdf", "application/pdf", std::string(32, '\x11')}};
  c.AddTagged("envelope", "content-h3-attachment", 1, envelope::EncodeSealedContent(content));
  const auto box =
      Must(crypto::Seal("chunk bytes", {{std::string(kRecipient), SealingKey().PublicKey()}},
                        envelope::ChunkAad("att-fuzz-0000000001", 0)),
           "Seal");
  c.AddTagged("envelope", "chunk-0", 2,
              envelope::CanonicalChunk("att-fuzz-0000000001", 0, ToEnvelope(box)));
}

void Seals(Corpus& c) {
  const std::vector<std::pair<std::string, crypto::X25519PublicKey>> one = {
      {std::string(kRecipient), SealingKey().PublicKey()}};
  const std::vector<std::pair<std::string, crypto::X25519PublicKey>> two = {
      {"reception_centre/payoke", crypto::X25519PrivateKey::Generate().PublicKey()},
      {std::string(kRecipient), SealingKey().PublicKey()}};
  int n = 0;
  for (const auto* recipients : {&one, &two}) {
    for (const std::string& plaintext :
         {std::string(), std::string("victim record"), std::string(300, 'x')}) {
      const auto box = Must(crypto::Seal(plaintext, *recipients, "concord-fuzz-aad"), "Seal");
      mv1::SealedBox proto;
      envelope::SealedToProto(ToEnvelope(box), proto);
      c.AddTagged("seal", "open-" + std::to_string(n++), 0, proto.SerializeAsString());
    }
  }
  const auto committed =
      Must(crypto::SealCommitted("committed body", one, "concord-fuzz-aad"), "SealCommitted");
  mv1::SealedBox proto;
  envelope::SealedToProto(ToEnvelope(committed.box), proto);
  c.AddTagged("seal", "committed", 1, proto.SerializeAsString());
}

std::string PemToDer(const std::string& pem) {
  std::string b64;
  for (absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (line.empty() || absl::StartsWith(line, "-----")) continue;
    b64.append(line.data(), line.size());
  }
  std::string der;
  absl::Base64Unescape(b64, &der);
  return der;
}

void Certificates(Corpus& c) {
  testing::TestPki pki{std::string(kTrustDomain)};
  c.AddTagged("certificate", "agency-police", 0,
              PemToDer(pki.AgencyCert(AgencyType::kPolice, "pz-antwerp").ReadCert()));
  c.AddTagged("certificate", "agency-centre", 0,
              PemToDer(pki.AgencyCert(AgencyType::kReceptionCentre, "payoke").ReadCert()));
  c.AddTagged("certificate", "two-uri-sans", 0,
              PemToDer(pki.CertWithTwoUriSans(AgencyType::kPolice, "pz-gent").ReadCert()));
  c.AddTagged("certificate", "bad-uri-san", 0,
              PemToDer(pki.CertWithUriSan("spiffe://concord.test/agency/police/").ReadCert()));
  c.AddTagged("certificate", "uri-police", 1, "spiffe://concord.test/agency/police/pz-antwerp");
  c.AddTagged("certificate", "uri-admin", 1,
              "spiffe://concord.test/agency/admin/concord-referrals");
  c.AddTagged("certificate", "key-centre", 2, "reception_centre/pag-asa");
  c.AddTagged("certificate", "serial", 2, "00:0a:ff");
}

void PemKeys(Corpus& c) {
  c.AddTagged("pem_key", "ed25519-public", 0, SigningKey().PublicKey().ToPem());
  c.AddTagged("pem_key", "ed25519-private", 1, SigningKey().ToPem());
  c.AddTagged("pem_key", "x25519-public", 2, SealingKey().PublicKey().ToPem());
  c.AddTagged("pem_key", "x25519-private", 3, SealingKey().ToPem());
}

audit::AuditEvent SampleEvent(int i) {
  audit::AuditEvent e;
  e.agency = AgencyId{std::string(kTrustDomain), AgencyType::kPolice, "pz-antwerp"};
  e.officer = "officer-7";
  e.operation = i == 0 ? audit::Operation::kDisclosure : audit::Operation::kConsultation;
  e.object = "message:msg-fuzz-seed-0000000001";
  e.method = "/concord.messaging.v1.Messaging/Send";
  e.justification = "case BXL-2026-0042";
  if (i == 0) e.recipients = {"police/pz-brussels", "reception_centre/payoke"};
  e.outcome = "OK";
  e.time = Now();
  if (i == 1) e.details = "signing_public_key=ab12";
  return e;
}

void AuditRecords(Corpus& c) {
  for (int i = 0; i < 2; ++i) {
    const audit::AuditEvent e = SampleEvent(i);
    const std::string n = std::to_string(i);
    c.AddTagged("audit_record", "record-" + n, 0,
                Must(audit::EncodeEvent(7, e, "messaging"), "EncodeEvent"));
    c.AddTagged("audit_record", "intake-event-" + n, 1,
                Must(audit::EncodeIntakeEvent(e), "EncodeIntakeEvent"));
    c.AddTagged("audit_record", "intake-entry-" + n, 2,
                Must(audit::SealIntakeEntry(AuditKey(), "messaging", e), "SealIntakeEntry"));
    c.AddTagged(
        "audit_record", "stored-" + n, 3,
        Must(audit::SealRecord(AuditKey(), 7, audit::GenesisHash(), e, "messaging"), "SealRecord")
            .Encode());
  }
}

guideline::Version SampleVersion() {
  guideline::Version v;
  v.guideline_id = "non-punishment";
  v.version = 2;
  v.publisher = AgencyId{std::string(kTrustDomain), AgencyType::kCoordinationUnit, "icu-thb"};
  v.supersedes = 1;
  v.effective_at = Now() + absl::Hours(24);
  v.ack_deadline = Now() + absl::Hours(24 * 30);
  v.topics = {"victim-status", "non-punishment"};
  v.legal_references = {"Directive 2011/36/EU, art. 8"};
  v.audience.types = {AgencyType::kPolice, AgencyType::kMagistrate};
  v.audience.agencies = {
      AgencyId{std::string(kTrustDomain), AgencyType::kReceptionCentre, "surya"}};
  v.contents = {{"nl", "Titel", "Tekst.\nTweede regel.\n"}, {"fr", "Titre", "Texte.\nDeuxième.\n"}};
  return v;
}

guideline::Withdrawal SampleWithdrawal() {
  guideline::Withdrawal w;
  w.guideline_id = "non-punishment";
  w.version = 2;
  w.version_sha256 = guideline::VersionSha256(SampleVersion());
  w.withdrawn_by = SampleVersion().publisher;
  w.withdrawn_at = Now();
  w.reason = "Superseded by the circular of 2026";
  return w;
}

void Guidelines(Corpus& c) {
  const guideline::Version v = SampleVersion();
  c.AddTagged("guideline", "version", 0, guideline::VersionBytes(v));
  c.AddTagged("guideline", "withdrawal", 1, guideline::WithdrawalBytes(SampleWithdrawal()));
  const auto sv = Must(guideline::SignVersion(v, SigningKey()), "SignVersion");
  c.AddTagged("guideline", "signed-version", 2, sv.signature + guideline::VersionBytes(v));
}

void MessagingRequests(Corpus& c) {
  tv1::MessagingCall call;
  *call.mutable_send()->mutable_envelope() = RealEnvelope(false);
  c.AddProto("messaging_requests", "send", call);
  *call.mutable_send()->mutable_envelope() = RealEnvelope(true, mv1::HANDLING_CODE_H3);
  c.AddProto("messaging_requests", "send-attachment-h3", call);
  *call.mutable_forward()->mutable_envelope() = RealEnvelope(false);
  c.AddProto("messaging_requests", "forward", call);
  messaging::client::SenderIdentity me{AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-antwerp"),
                                       SigningKey(), SealingKey()};
  *call.mutable_send_receipt()->mutable_receipt() =
      Must(messaging::client::MakeReceipt(me, RealEnvelope(false), mv1::RECEIPT_KIND_READ, Now()),
           "MakeReceipt");
  c.AddProto("messaging_requests", "send-receipt", call);
  call.mutable_ack()->add_message_ids("msg-fuzz-seed-0000000001");
  call.mutable_ack()->add_message_ids("msg-fuzz-seed-0000000002");
  c.AddProto("messaging_requests", "ack", call);
  call.mutable_get()->set_message_id("msg-fuzz-seed-0000000001");
  c.AddProto("messaging_requests", "get", call);
  auto att = Must(
      messaging::client::SealAttachment(
          "att-fuzz-0000000001", "report.pdf", "application/pdf", "%PDF-1.4 ...",
          {{AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-antwerp"), SealingKey().PublicKey()}}),
      "SealAttachment");
  *call.mutable_upload_attachment()->mutable_header() = att.header;
  c.AddProto("messaging_requests", "upload-header", call);
  mv1::UploadAttachmentRequest chunk;
  *chunk.mutable_chunk() = att.chunks.at(0);
  *call.mutable_upload_attachment() = chunk;
  c.AddProto("messaging_requests", "upload-chunk", call);
  call.mutable_list_inbox()->mutable_page()->set_page_size(50);
  c.AddProto("messaging_requests", "list-inbox", call);
}

void DirectoryRequests(Corpus& c) {
  tv1::DirectoryCall call;
  auto* spec = call.mutable_register_agency()->mutable_agency();
  *spec->mutable_id() = AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-brussels");
  spec->set_display_name("Police zone Brussels Capital / Ixelles");
  spec->set_jurisdiction("BE-BRU");
  spec->add_specialisations("thb");
  spec->add_languages("nl");
  spec->add_languages("fr");
  spec->set_signing_public_key_pem(SigningKey().PublicKey().ToPem());
  spec->set_sealing_public_key_pem(SealingKey().PublicKey().ToPem());
  spec->add_certificate_serials("0AFF");
  spec->set_capacity(4);
  c.AddProto("directory_requests", "register", call);
  const directory::v1::AgencySpec saved = *spec;
  *call.mutable_update_agency()->mutable_agency() = saved;
  c.AddProto("directory_requests", "update", call);
  *call.mutable_suspend_agency()->mutable_id() = saved.id();
  call.mutable_suspend_agency()->set_reason("certificate compromised");
  c.AddProto("directory_requests", "suspend", call);
  call.mutable_revoke_certificate()->set_serial("0AFF");
  call.mutable_revoke_certificate()->set_reason("lost laptop");
  c.AddProto("directory_requests", "revoke", call);
  call.mutable_list_agencies()->set_type(common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  call.mutable_list_agencies()->set_language("nl");
  call.mutable_list_agencies()->mutable_page()->set_page_token("police/pz-brussels");
  c.AddProto("directory_requests", "list", call);
}

void AuditRequests(Corpus& c) {
  tv1::AuditCall call;
  call.mutable_query()->set_object("message:msg-fuzz-seed-0000000001");
  c.AddProto("audit_requests", "query-object", call);
  call.mutable_query()->Clear();
  *call.mutable_query()->mutable_agency() =
      AgencyProto(common::v1::AGENCY_TYPE_POLICE, "pz-antwerp");
  call.mutable_query()->mutable_time_range()->mutable_from()->set_seconds(1767225600);
  call.mutable_query()->mutable_time_range()->mutable_to()->set_seconds(1767312000);
  call.mutable_query()->mutable_page()->set_page_size(100);
  call.mutable_query()->mutable_page()->set_page_token("42");
  c.AddProto("audit_requests", "query-agency-range", call);
  call.mutable_verify()->set_from_seq(1);
  call.mutable_verify()->set_to_seq(100);
  c.AddProto("audit_requests", "verify", call);
}

void GuidelinesRequests(Corpus& c) {
  tv1::GuidelinesCall call;
  const auto sv = Must(guideline::SignVersion(SampleVersion(), SigningKey()), "SignVersion");
  guideline::SignedVersionToProto(sv, guideline::VersionSha256(sv.version),
                                  *call.mutable_publish()->mutable_version());
  c.AddProto("guidelines_requests", "publish", call);
  const auto sw =
      Must(guideline::SignWithdrawal(SampleWithdrawal(), SigningKey()), "SignWithdrawal");
  guideline::SignedWithdrawalToProto(sw, *call.mutable_withdraw()->mutable_withdrawal());
  c.AddProto("guidelines_requests", "withdraw", call);
  call.mutable_get()->set_guideline_id("non-punishment");
  call.mutable_get()->add_preferred_languages("fr");
  call.mutable_get()->add_preferred_languages("en");
  c.AddProto("guidelines_requests", "get", call);
  call.mutable_list()->set_topic("victim-status");
  call.mutable_list()->mutable_effective()->mutable_from()->set_seconds(1767225600);
  c.AddProto("guidelines_requests", "list", call);
  call.mutable_diff()->set_guideline_id("non-punishment");
  call.mutable_diff()->set_from_version(1);
  call.mutable_diff()->set_to_version(2);
  call.mutable_diff()->set_language("nl");
  c.AddProto("guidelines_requests", "diff", call);
}

void ReferralsRequests(Corpus& c) {
  using namespace referrals::testing;
  namespace rv1 = ::concord::referrals::v1;
  tv1::ReferralsCall call;
  rv1::SaveDraftRequest* draft = call.mutable_save_draft();
  *draft->mutable_attributes() = CompleteAttributes();
  *draft->mutable_receiving_centre() = referrals::AgencyIdToProto(CentreA());
  *draft->mutable_magistrate() = referrals::AgencyIdToProto(Magistrate());
  draft->set_case_reference("BXL-2026-0042");
  c.AddProto("referrals_requests", "save-draft", call);
  *call.mutable_validate()->mutable_draft() = *draft;
  c.AddProto("referrals_requests", "validate", call);
  *call.mutable_suggest_centres()->mutable_attributes() = CompleteAttributes();
  call.mutable_suggest_centres()->set_max_results(3);
  c.AddProto("referrals_requests", "suggest-centres", call);
  *call.mutable_current() = CompleteDraft();
  call.mutable_submit()->set_case_id(CompleteDraft().case_id());
  call.mutable_submit()->set_expected_version(1);
  c.AddProto("referrals_requests", "submit", call);
  rv1::Case submitted = CompleteDraft();
  submitted.set_state(rv1::CASE_STATE_REFERRED);
  *call.mutable_current() = submitted;
  for (const rv1::TransitionKind kind :
       {rv1::TRANSITION_KIND_ACCEPT, rv1::TRANSITION_KIND_DECLINE}) {
    rv1::TransitionRequest* t = call.mutable_transition();
    t->set_case_id(submitted.case_id());
    t->set_expected_version(1);
    t->set_kind(kind);
    t->set_note(kind == rv1::TRANSITION_KIND_DECLINE ? "No capacity this week" : "");
    c.AddProto("referrals_requests", "transition-" + std::to_string(static_cast<int>(kind)), call);
  }
  call.mutable_update_sealed()->set_case_id(submitted.case_id());
  call.mutable_update_sealed()->set_expected_version(1);
  *call.mutable_update_sealed()->mutable_sealed_record() =
      Sealed({CentreA().Key(), Magistrate().Key()});
  c.AddProto("referrals_requests", "update-sealed", call);
  call.mutable_open_sealed()->set_case_id(submitted.case_id());
  call.mutable_open_sealed()->set_justification("Preparing the hearing of 3 March");
  c.AddProto("referrals_requests", "open-sealed", call);
}

void LiaisonRequests(Corpus& c) {
  using namespace liaison::testing;
  namespace lv1 = ::concord::liaison::v1;
  const liaison::ClockConfig config;
  for (const lv1::RequestType type : liaison::kAllRequestTypes) {
    const std::string name = absl::AsciiStrToLower(liaison::TypeName(type));
    const auto [issuer, executor] = PartiesFor(type);
    tv1::LiaisonCall call;
    call.set_issuer_role("investigating_judge");
    *call.mutable_create_request() = ValidCreate(type, executor);
    c.AddProto("liaison_requests", "create-" + name, call);
    const liaison::Outcome issued = Must(
        liaison::Issue(call.create_request(), Context(issuer, executor), config), "liaison Issue");
    // One seed per move allowed from ISSUED, acting on the request just issued.
    tv1::LiaisonCall act;
    *act.mutable_current() = issued.next;
    for (const lv1::Move move : liaison::AllowedMoves(type, lv1::REQUEST_STATE_ISSUED)) {
      *act.mutable_act() = ValidMove(issued.next, move);
      c.AddProto("liaison_requests",
                 "act-" + name + "-" + absl::AsciiStrToLower(liaison::MoveName(move)), act);
    }
  }
  tv1::LiaisonCall call;
  call.mutable_create_jit()->set_reference("JIT-BE-NL-2026-07");
  *call.mutable_create_jit()->add_members() = liaison::AgencyIdToProto(Partner());
  *call.mutable_create_jit()->add_members() = liaison::AgencyIdToProto(Judge());
  c.AddProto("liaison_requests", "create-jit", call);
  lv1::Jit* jit = call.mutable_current_jit();
  jit->set_jit_id("jit-aaaaaaaaaaaaaaaaaaaaaaaaaa");
  jit->set_reference("JIT-BE-NL-2026-07");
  *jit->mutable_lead() = liaison::AgencyIdToProto(Police());
  *jit->add_members() = liaison::AgencyIdToProto(Police());
  *jit->add_members() = liaison::AgencyIdToProto(Partner());
  jit->set_version(1);
  call.mutable_add_jit_member()->set_jit_id(jit->jit_id());
  *call.mutable_add_jit_member()->mutable_member() = liaison::AgencyIdToProto(Judge());
  c.AddProto("liaison_requests", "add-jit-member", call);
  call.mutable_leave_jit()->set_jit_id(jit->jit_id());
  *call.mutable_leave_jit()->mutable_member() = liaison::AgencyIdToProto(Partner());
  c.AddProto("liaison_requests", "leave-jit", call);
  lv1::ShareInJitRequest* share = call.mutable_share_in_jit();
  share->set_jit_id(jit->jit_id());
  share->set_kind(lv1::JIT_ENTRY_KIND_EVIDENCE);
  share->set_message_id("msg-evidence-000001");
  share->set_envelope_sha256(std::string(64, 'b'));
  lv1::EvidenceRef* e = share->add_evidence();
  e->set_message_id("msg-evidence-000001");
  e->set_sha256(std::string(64, 'a'));
  e->set_size_bytes(1024);
  *share->add_recipients() = liaison::AgencyIdToProto(Partner());
  c.AddProto("liaison_requests", "share-in-jit", call);
  call.mutable_link_notification()->set_message_id("msg-notification-0001");
  call.mutable_link_notification()->set_case_reference("BXL.12.34/2026");
  *call.mutable_link_notification()->mutable_platform() = liaison::AgencyIdToProto(Platform());
  c.AddProto("liaison_requests", "link-notification", call);
  call.mutable_list_jit_entries()->set_jit_id(jit->jit_id());
  call.mutable_list_jit_entries()->set_after_seq(3);
  call.mutable_list_jit_entries()->set_max(100);
  c.AddProto("liaison_requests", "list-jit-entries", call);
}

}  // namespace
}  // namespace concord::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus <corpus root, e.g. tests/fuzz/corpus>\n");
    return 1;
  }
  concord::fuzz::Corpus c(argv[1]);
  concord::fuzz::Envelopes(c);
  concord::fuzz::Seals(c);
  concord::fuzz::Certificates(c);
  concord::fuzz::PemKeys(c);
  concord::fuzz::AuditRecords(c);
  concord::fuzz::Guidelines(c);
  concord::fuzz::MessagingRequests(c);
  concord::fuzz::DirectoryRequests(c);
  concord::fuzz::AuditRequests(c);
  concord::fuzz::GuidelinesRequests(c);
  concord::fuzz::ReferralsRequests(c);
  concord::fuzz::LiaisonRequests(c);
  std::printf("make_fuzz_corpus: %d seeds written under %s\n", c.count(), argv[1]);
  return 0;
}
