// Component test of concord.referrals.v1 over real mTLS, with the real authorization table in
// front of the handlers (common/authz AuthProcessor in a ServerRunner, as in production), a real
// redis-server, directory records in the directory's own format, and client-side sealing of the
// personal record (common/crypto Seal, as the agency-side library does). Notifications go to a
// recording sender through the real outbox (OutboxWorker::RunOnce).
#include "services/referrals/referrals_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "client/referrals/record_crypto.h"
#include "common/authz/auth_processor.h"
#include "common/authz/policy.h"
#include "common/clients/directory_keys.h"
#include "common/crypto/x25519.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tls/tls.h"
#include "services/referrals/ids.h"
#include "services/referrals/notifier.h"
#include "services/referrals/redis_referral_store.h"
#include "services/referrals/validation.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::referrals {
namespace {

namespace cv1 = ::concord::common::v1;

constexpr char kTd[] = "concord.test";
// Personal data used by the test: none of it may appear in Redis in clear.
constexpr char kName[] = "Esperanza Ejemplo-Secreta";
constexpr char kContact[] = "+32 470 99 88 77 via Rue Cachee 5";
constexpr char kNotes[] = "fled the flat in Schaerbeek at night; afraid of the landlord";
constexpr char kSealedNote[] =
    "says the employer keeps her passport; works 14 h a day in Anderlecht";

using testing::NoRevocations;
using testing::RecordingAuditSink;

class RecordingSender final : public NotificationSender {
 public:
  Status Send(const OutgoingNotification& n) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back(n);
    return absl::OkStatus();
  }
  std::vector<OutgoingNotification> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<OutgoingNotification> sent_;
};

struct Agent {
  AgencyId id;
  crypto::X25519PrivateKey sealing = crypto::X25519PrivateKey::Generate();
  std::unique_ptr<v1::Referrals::Stub> stub;
  cv1::AgencyId proto() const { return AgencyIdToProto(id); }
};

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ctx->AddMetadata("concord-officer", "officer-42");
  return ctx;
}

class ReferralsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = testing::RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    redis_ = redis::RedisClient::Create(redis_server_->config());
    // The directory's records are written as the directory would (the referrals ACL user may
    // only read {dir}).
    directory_writer_ = redis::RedisClient::Create(redis_server_->admin_config());
    store_ = std::make_unique<RedisReferralStore>(*redis_);
    directory_ = std::make_unique<clients::DirectoryReader>(*redis_, kTd);
    service_ = std::make_unique<ReferralsService>(
        *store_, *directory_, audit_, metrics_, SystemClock::Get(),
        ReferralsServiceOptions{.trust_domain = kTd, .deadlines = DeadlineConfig{}});
    outbox_ = std::make_unique<OutboxWorker>(*store_, &sender_, metrics_,
                                             OutboxWorkerOptions{.trust_domain = kTd});

    server_ = std::make_unique<testing::SecureTestServer>(pki_, metrics_, revocations_);
    ASSERT_TRUE(server_->Start({service_.get()}).ok());

    police_ = MakeAgent(AgencyType::kPolice, "pz-brussels", "BE-BRU", {"fr", "nl"}, {"thb"}, 0);
    other_police_ = MakeAgent(AgencyType::kPolice, "pz-gent", "BE-VOV", {"nl"}, {}, 0);
    pagasa_ = MakeAgent(AgencyType::kReceptionCentre, "pag-asa", "BE-BRU", {"fr", "nl", "en"},
                        {"sexual_exploitation", "labour_exploitation"}, 30);
    surya_ = MakeAgent(AgencyType::kReceptionCentre, "surya", "BE-WAL", {"fr", "es", "pt", "en"},
                       {"sexual_exploitation", "gender_diversity"}, 25);
    esperanto_ =
        MakeAgent(AgencyType::kReceptionCentre, "esperanto", "BE-WAL", {"fr"}, {"minors"}, 15);
    magistrate_ = MakeAgent(AgencyType::kMagistrate, "parquet-bxl", "BE-BRU", {"fr"}, {}, 0);
    oe_ = MakeAgent(AgencyType::kImmigrationOffice, "dvz-minteh", "BE", {"fr", "nl"}, {}, 0);
    coordination_ = MakeAgent(AgencyType::kCoordinationUnit, "cic", "BE", {"fr"}, {}, 0);
  }

  void TearDown() override { server_.reset(); }

  Agent MakeAgent(AgencyType type, std::string id, std::string jurisdiction,
                  std::vector<std::string> languages, std::vector<std::string> specialisations,
                  int capacity) {
    Agent a;
    a.id = AgencyId{kTd, type, id};
    // The directory's record format (services/directory/redis_directory_store.cc).
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", "Agency " + id},
                        {"jurisdiction", jurisdiction},
                        {"specialisations", specialisations},
                        {"languages", languages},
                        {"signing_public_key_pem", ""},
                        {"sealing_public_key_pem", a.sealing.PublicKey().ToPem()},
                        {"capacity", capacity},
                        {"state", "active"}};
    EXPECT_TRUE(directory_writer_
                    ->Command({"HSET", clients::DirectoryKey("agency:" + a.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
    EXPECT_TRUE(
        directory_writer_
            ->Command({"SADD",
                       clients::DirectoryKey("idx:type:" + std::string(AgencyTypeName(type))),
                       a.id.Key()})
            .ok());
    auto channel = server_->Channel(pki_.AgencyTls(type, id));
    a.stub = v1::Referrals::NewStub(channel);
    return a;
  }

  // Sealed and opened as an agency system does, with the agency-side library.
  v1::SealedRecord Seal(const std::string& case_id, const std::vector<const Agent*>& to) {
    v1::PersonalRecord record;
    record.set_full_name(kName);
    record.set_date_of_birth("1999-04-01");
    record.set_nationality("VE");
    record.set_contact(kContact);
    record.set_consent_given(true);
    record.set_notes(kNotes);
    std::vector<client::RecordRecipient> recipients;
    for (const Agent* a : to) recipients.push_back({a->id.Key(), a->sealing.PublicKey()});
    auto sealed = client::SealPersonalRecord(record, case_id, recipients);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : v1::SealedRecord{};
  }

  v1::SealedRecord SealText(const std::string& case_id, const std::vector<const Agent*>& to) {
    std::vector<client::RecordRecipient> recipients;
    for (const Agent* a : to) recipients.push_back({a->id.Key(), a->sealing.PublicKey()});
    auto sealed = client::SealNote(kSealedNote, case_id, recipients);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : v1::SealedRecord{};
  }

  StatusOr<v1::PersonalRecord> Open(const v1::SealedRecord& r, const std::string& case_id,
                                    const Agent& me) {
    return client::OpenPersonalRecord(r, case_id, me.id.Key(), me.sealing);
  }

  static v1::CaseAttributes Attributes() {
    v1::CaseAttributes a;
    a.add_exploitation_forms(v1::EXPLOITATION_FORM_SEXUAL);
    a.set_origin_country("VE");
    a.set_origin_region("Zulia");
    a.set_age_band(v1::AGE_BAND_25_34);
    a.set_gender_category(v1::GENDER_CATEGORY_TRANSGENDER);
    a.add_languages("es");
    a.add_languages("pt");
    a.set_region("BE-BRU");
    return a;
  }

  // A submitted case (REFERRED) from police_ to surya_, sealed to surya_.
  v1::Case Referred() {
    v1::SaveDraftRequest draft;
    *draft.mutable_attributes() = Attributes();
    *draft.mutable_receiving_centre() = surya_.proto();
    v1::SaveDraftResponse created;
    EXPECT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &created).ok());
    draft.set_case_id(created.case_().case_id());
    draft.set_expected_version(created.case_().version());
    *draft.mutable_sealed_record() = Seal(created.case_().case_id(), {&surya_});
    v1::SaveDraftResponse saved;
    grpc::Status s = police_.stub->SaveDraft(Ctx().get(), draft, &saved);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(saved.problems_size(), 0) << saved.DebugString();
    v1::SubmitRequest submit;
    submit.set_case_id(saved.case_().case_id());
    submit.set_expected_version(saved.case_().version());
    v1::TransitionResponse submitted;
    s = police_.stub->Submit(Ctx().get(), submit, &submitted);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return submitted.case_();
  }

  grpc::Status Do(Agent& who, v1::Case& c, v1::TransitionKind kind,
                  std::function<void(v1::TransitionRequest&)> fill = nullptr) {
    v1::TransitionRequest req;
    req.set_case_id(c.case_id());
    req.set_expected_version(c.version());
    req.set_kind(kind);
    if (fill) fill(req);
    v1::TransitionResponse resp;
    grpc::Status s = who.stub->Transition(Ctx().get(), req, &resp);
    if (s.ok()) c = resp.case_();
    return s;
  }

  testing::TestPki pki_{kTd};
  std::unique_ptr<testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<redis::RedisClient> directory_writer_;
  std::unique_ptr<RedisReferralStore> store_;
  std::unique_ptr<clients::DirectoryReader> directory_;
  metrics::Metrics metrics_;
  RecordingAuditSink audit_;
  RecordingSender sender_;
  std::unique_ptr<ReferralsService> service_;
  std::unique_ptr<OutboxWorker> outbox_;
  NoRevocations revocations_;
  std::unique_ptr<testing::SecureTestServer> server_;
  Agent police_, other_police_, pagasa_, surya_, esperanto_, magistrate_, oe_, coordination_;
};

TEST_F(ReferralsServiceTest, SuggestCentresOffersASpanishSpeakingTransWomanASupportiveCentre) {
  v1::SuggestCentresRequest req;
  *req.mutable_attributes() = Attributes();
  v1::SuggestCentresResponse resp;
  grpc::Status s = police_.stub->SuggestCentres(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.suggestions_size(), 3);
  EXPECT_EQ(resp.suggestions(0).centre().id(), "surya");
  EXPECT_EQ(resp.suggestions(0).capacity(), 25);
  EXPECT_FALSE(resp.suggestions(0).reasons().empty());

  // A minor goes first to the centre for minors.
  req.mutable_attributes()->set_minor(true);
  req.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
  ASSERT_TRUE(police_.stub->SuggestCentres(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.suggestions(0).centre().id(), "esperanto");

  // Bad input: field-level INVALID_ARGUMENT.
  req.mutable_attributes()->set_origin_country("Venezuela");
  s = police_.stub->SuggestCentres(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReferralsServiceTest, DraftsAreValidatedFieldByFieldAndResumed) {
  v1::SaveDraftRequest draft;
  draft.mutable_attributes()->add_languages("es");
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  const v1::Case& c = saved.case_();
  EXPECT_TRUE(IsCaseId(c.case_id()));
  EXPECT_TRUE(IsSubjectRef(c.subject_ref()));
  EXPECT_EQ(c.state(), v1::CASE_STATE_DETECTED);
  EXPECT_EQ(c.referring_agency().id(), "pz-brussels");
  std::set<std::string> fields;
  for (const auto& p : saved.problems()) fields.insert(p.field());
  EXPECT_TRUE(fields.contains("receiving_centre")) << saved.DebugString();
  EXPECT_TRUE(fields.contains("attributes.origin_country")) << saved.DebugString();

  v1::ValidateRequest validate;
  validate.set_case_id(c.case_id());
  v1::ValidateResponse problems;
  ASSERT_TRUE(police_.stub->Validate(Ctx().get(), validate, &problems).ok());
  EXPECT_FALSE(problems.valid());
  EXPECT_EQ(problems.problems_size(), saved.problems_size());

  // Submit of an incomplete draft: FAILED_PRECONDITION with the fields, nothing changes.
  v1::SubmitRequest submit;
  submit.set_case_id(c.case_id());
  submit.set_expected_version(c.version());
  v1::TransitionResponse resp;
  grpc::Status s = police_.stub->Submit(Ctx().get(), submit, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_FALSE(FieldViolationsOf(FromGrpcStatus(s)).empty());
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "DRAFT_INCOMPLETE");

  // Malformed values: INVALID_ARGUMENT, nothing stored.
  v1::SaveDraftRequest bad = draft;
  bad.set_case_id(c.case_id());
  bad.set_expected_version(c.version());
  bad.mutable_attributes()->add_languages("Spanish");
  s = police_.stub->SaveDraft(Ctx().get(), bad, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version(), c.version());

  // Another agency cannot touch the draft.
  v1::SaveDraftRequest theirs = draft;
  theirs.set_case_id(c.case_id());
  theirs.set_expected_version(c.version());
  s = other_police_.stub->SaveDraft(Ctx().get(), theirs, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ReferralsServiceTest, WalkFromDetectionToRegistrationCertificateNotifiesAndAudits) {
  v1::Case c = Referred();
  ASSERT_EQ(c.state(), v1::CASE_STATE_REFERRED);
  ASSERT_EQ(c.deadlines_size(), 1);
  EXPECT_EQ(c.deadlines(0).kind(), v1::DEADLINE_KIND_CENTRE_RESPONSE);

  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  EXPECT_EQ(c.deadlines_size(), 0);
  // The centre names the magistrate and re-seals the record to both.
  grpc::Status s = Do(surya_, c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, [&](auto& r) {
    *r.mutable_target() = magistrate_.proto();
    *r.mutable_sealed_record() = Seal(c.case_id(), {&surya_, &magistrate_});
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REFLECTION);
    *r.mutable_target() = oe_.proto();
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(oe_, c, v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_REFLECTION);
  s = Do(police_, c, v1::TRANSITION_KIND_RECORD_STATEMENT);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT,
         [&](auto& r) { r.set_document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(oe_, c, v1::TRANSITION_KIND_ISSUE_ATTESTATION);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_REGISTRATION_ATTESTATION);

  // Only the magistrate records the victim opinion; the OE cannot issue the certificate before.
  s = Do(surya_, c, v1::TRANSITION_KIND_RECORD_VICTIM_OPINION);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = Do(magistrate_, c, v1::TRANSITION_KIND_RECORD_VICTIM_OPINION);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT,
         [&](auto& r) { r.set_document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE); });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(oe_, c, v1::TRANSITION_KIND_ISSUE_CERTIFICATE);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_REGISTRATION_CERTIFICATE);

  // A forbidden transition names the state and the allowed ones.
  s = Do(surya_, c, v1::TRANSITION_KIND_ACCEPT);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("REGISTRATION_CERTIFICATE"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("RENEW_CERTIFICATE"), std::string::npos) << s.error_message();

  // History: every step, in order.
  v1::HistoryRequest hreq;
  hreq.set_case_id(c.case_id());
  v1::HistoryResponse history;
  ASSERT_TRUE(surya_.stub->History(Ctx().get(), hreq, &history).ok());
  EXPECT_EQ(history.entries_size(), c.version());

  // Notifications: the outbox turns each transition into a message to the other parties.
  int sent = 0;
  for (int i = 0; i < 10; ++i) {
    auto n = outbox_->RunOnce();
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    sent += *n;
  }
  const auto notifications = sender_.sent();
  EXPECT_GE(notifications.size(), 8u);
  std::set<std::string> ids;
  bool centre_told_of_submit = false;
  for (const OutgoingNotification& n : notifications) {
    ids.insert(n.message_id);
    EXPECT_EQ(n.body.find(kName), std::string::npos);
    const auto j = nlohmann::json::parse(n.body);
    if (j.value("transition", "") == "submit") {
      for (const AgencyId& r : n.recipients) centre_told_of_submit |= (r.id == "surya");
    }
  }
  EXPECT_TRUE(centre_told_of_submit);
  EXPECT_EQ(ids.size(), notifications.size()) << "message ids are unique per notification";
  ASSERT_TRUE(outbox_->RunOnce().ok());
  EXPECT_EQ(sender_.sent().size(), notifications.size()) << "acknowledged items are not resent";

  // Audit: every change was recorded as an alteration of this case.
  int alterations = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (e.object == "referral:" + c.case_id() && e.operation == audit::Operation::kAlteration &&
        e.outcome == "OK") {
      ++alterations;
    }
  }
  EXPECT_EQ(alterations, c.version() - 1);  // every change after the creation (a collection)
}

TEST_F(ReferralsServiceTest, SealedRecordOpensOnlyForItsRecipientsWithAJustification) {
  v1::Case c = Referred();
  v1::OpenSealedRequest req;
  req.set_case_id(c.case_id());
  v1::OpenSealedResponse resp;
  // No justification: refused.
  grpc::Status s = surya_.stub->OpenSealed(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_justification("intake interview, housing arrangements");
  s = surya_.stub->OpenSealed(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto record = Open(resp.record(), c.case_id(), surya_);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->full_name(), kName);

  // The referring police unit is a party, but the record is not sealed to it.
  s = police_.stub->OpenSealed(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A police unit that is not a party at all.
  s = other_police_.stub->OpenSealed(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::GetRequest get;
  get.set_case_id(c.case_id());
  v1::GetResponse got;
  EXPECT_EQ(other_police_.stub->Get(Ctx().get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Consultations and refusals are audited, with the justification.
  int granted = 0, denied = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (e.method != "/concord.referrals.v1.Referrals/OpenSealed") continue;
    EXPECT_EQ(e.operation, audit::Operation::kConsultation);
    if (e.outcome == "OK") {
      ++granted;
      EXPECT_EQ(e.justification, "intake interview, housing arrangements");
      EXPECT_EQ(e.agency.id, "surya");
    } else if (e.outcome == "PERMISSION_DENIED") {
      ++denied;
    }
  }
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(denied, 2);
}

TEST_F(ReferralsServiceTest, CoordinationUnitSeesNoCaseAtAll) {
  v1::Case c = Referred();
  v1::GetRequest get;
  get.set_case_id(c.case_id());
  v1::GetResponse got;
  EXPECT_EQ(coordination_.stub->Get(Ctx().get(), get, &got).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListRequest list;
  v1::ListResponse listed;
  EXPECT_EQ(coordination_.stub->List(Ctx().get(), list, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::OpenSealedRequest open;
  open.set_case_id(c.case_id());
  open.set_justification("national statistics for the rapporteur");
  v1::OpenSealedResponse opened;
  EXPECT_EQ(coordination_.stub->OpenSealed(Ctx().get(), open, &opened).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::TransitionRequest t;
  t.set_case_id(c.case_id());
  t.set_expected_version(c.version());
  t.set_kind(v1::TRANSITION_KIND_CLOSE);
  v1::TransitionResponse tr;
  EXPECT_EQ(coordination_.stub->Transition(Ctx().get(), t, &tr).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The parties list it.
  ASSERT_TRUE(surya_.stub->List(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.cases_size(), 1);
  EXPECT_EQ(listed.cases(0).case_id(), c.case_id());
  ASSERT_TRUE(other_police_.stub->List(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.cases_size(), 0);
}

TEST_F(ReferralsServiceTest, FiftyConcurrentTransitionsOnOneVersionApplyExactlyOnce) {
  const v1::Case c = Referred();
  constexpr int kCalls = 50;
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      v1::TransitionRequest req;
      req.set_case_id(c.case_id());
      req.set_expected_version(c.version());
      req.set_kind(i % 2 == 0 ? v1::TRANSITION_KIND_ACCEPT : v1::TRANSITION_KIND_DECLINE);
      req.set_note("no place for this profile today");
      v1::TransitionResponse resp;
      const grpc::Status s = surya_.stub->Transition(Ctx().get(), req, &resp);
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::ABORTED) {
        ++aborted;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kCalls - 1);
  EXPECT_EQ(other.load(), 0);
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version(), c.version() + 1);
  auto history = store_->History(c.case_id());
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(static_cast<int64_t>(history->size()), c.version() + 1);
}

TEST_F(ReferralsServiceTest, AnUnansweredReferralAlertsTheCentreAndTheReferrer) {
  const v1::Case c = Referred();
  ASSERT_TRUE(outbox_->RunOnce().ok());  // the submit notification
  const size_t before = sender_.sent().size();
  // 25 hours later the centre has not answered: the scheduler fires the 24 h deadline.
  auto fired = store_->FireDue(absl::Now() + absl::Hours(25), 100);
  ASSERT_TRUE(fired.ok()) << fired.status();
  EXPECT_EQ(*fired, 1);
  ASSERT_TRUE(outbox_->RunOnce().ok());
  const auto sent = sender_.sent();
  ASSERT_EQ(sent.size(), before + 1);
  const OutgoingNotification& alert = sent.back();
  const auto j = nlohmann::json::parse(alert.body);
  EXPECT_EQ(j.value("type", ""), "referral.deadline");
  EXPECT_EQ(j.value("deadline", ""), "centre_response");
  std::set<std::string> to;
  for (const AgencyId& r : alert.recipients) to.insert(r.Key());
  EXPECT_EQ(to, (std::set<std::string>{"reception_centre/surya", "police/pz-brussels"}));
  // Fired once: a second scheduler pass finds nothing.
  fired = store_->FireDue(absl::Now() + absl::Hours(26), 100);
  ASSERT_TRUE(fired.ok());
  EXPECT_EQ(*fired, 0);
}

// A decline reason about the person goes sealed: to the referrer and the centre; the history
// carries it stamped; the referrer opens it with its own key, the magistrate (not sealed to)
// cannot; a recipient outside the case is refused field by field, nothing stored.
TEST_F(ReferralsServiceTest, SealedNoteTravelsInTheHistoryAndOpensOnlyForItsRecipients) {
  v1::Case c = Referred();
  const int64_t before = c.version();
  grpc::Status s = Do(surya_, c, v1::TRANSITION_KIND_DECLINE, [&](v1::TransitionRequest& r) {
    *r.mutable_sealed_note() = SealText(c.case_id(), {&surya_, &pagasa_});
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(c.version(), before);
  s = Do(surya_, c, v1::TRANSITION_KIND_DECLINE, [&](v1::TransitionRequest& r) {
    *r.mutable_sealed_note() = SealText(c.case_id(), {&surya_, &police_});
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_DECLINED);

  v1::HistoryRequest hreq;
  hreq.set_case_id(c.case_id());
  v1::HistoryResponse history;
  ASSERT_TRUE(police_.stub->History(Ctx().get(), hreq, &history).ok());
  const v1::HistoryEntry& last = history.entries(history.entries_size() - 1);
  EXPECT_EQ(last.kind(), v1::TRANSITION_KIND_DECLINE);
  EXPECT_TRUE(last.note().empty());
  ASSERT_TRUE(last.has_sealed_note());
  EXPECT_EQ(last.sealed_note().version(), c.version());
  EXPECT_EQ(last.sealed_note().author().id(), surya_.id.id);
  auto opened =
      client::OpenNote(last.sealed_note(), c.case_id(), police_.id.Key(), police_.sealing);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kSealedNote);
  EXPECT_EQ(
      client::OpenNote(last.sealed_note(), c.case_id(), magistrate_.id.Key(), magistrate_.sealing)
          .status()
          .code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(redis_server_->DumpAll().find(kSealedNote), std::string::npos);

  // The decline notification says who can open the note, never what it says.
  ASSERT_TRUE(outbox_->RunOnce().ok());
  bool announced = false;
  for (const OutgoingNotification& n : sender_.sent()) {
    EXPECT_EQ(n.body.find(kSealedNote), std::string::npos);
    if (n.body.find("\"transition\":\"decline\"") == std::string::npos) continue;
    const auto body = nlohmann::json::parse(n.body);
    ASSERT_TRUE(body.contains("sealed_note_for")) << n.body;
    EXPECT_EQ(body["sealed_note_for"].size(), 2u);
    announced = true;
  }
  EXPECT_TRUE(announced);
}

TEST_F(ReferralsServiceTest, NoPersonalDataInRedis) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT, [&](v1::TransitionRequest& r) {
                *r.mutable_sealed_note() = SealText(c.case_id(), {&surya_, &police_});
              }).ok());
  ASSERT_TRUE(outbox_->RunOnce().ok());
  const std::string dump = redis_server_->DumpAll();
  ASSERT_NE(dump.find(c.case_id()), std::string::npos) << "the dump covers the referral keys";
  for (const char* secret : {kName, kContact, kNotes, "1999-04-01", kSealedNote}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret;
  }
}

}  // namespace
}  // namespace concord::referrals
