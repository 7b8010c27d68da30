// Component test of concord.referrals.v1 over real mTLS, with the real authorization table in
// front of the handlers (common/authz AuthProcessor in a ServerRunner, as in production), a real
// redis-server, directory records in the directory's own format (signing and sealing keys), and
// client-side sealing and signing of the personal record and notes (client/referrals, as agency
// systems do). Notifications go to a recording sender through the real outbox
// (OutboxWorker::RunOnce). Tampering tests write Redis directly, as an intruder would.
#include "services/referrals/referrals_service.h"

#include <gmock/gmock.h>
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
#include "common/quota/token_bucket.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/tls/tls.h"
#include "services/referrals/ids.h"
#include "services/referrals/notifier.h"
#include "services/referrals/redis_referral_store.h"
#include "services/referrals/validation.h"
#include "tests/support/fakes.h"
#include "tests/support/field_limit_cases.h"
#include "tests/support/field_violations.h"
#include "tests/support/quota_buckets.h"
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

// Records every event; can be switched to fail (audit log unreachable).
class AuditRecorder final : public audit::AuditSink {
 public:
  Status Append(const audit::AuditEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (failing_) return absl::UnavailableError("audit store down (test)");
    events_.push_back(event);
    return absl::OkStatus();
  }
  std::vector<audit::AuditEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  void set_failing(bool failing) {
    std::lock_guard<std::mutex> lock(mu_);
    failing_ = failing;
  }

 private:
  mutable std::mutex mu_;
  bool failing_ = false;
  std::vector<audit::AuditEvent> events_;
};

// What the recording sender saw: the message id and the notification.
struct OutgoingNotification {
  std::string message_id;
  std::vector<AgencyId> recipients;
  std::string body;
};

class RecordingSender final : public notify::NotificationSender {
 public:
  Status Send(const notify::Notification& n, std::string_view message_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back({std::string(message_id), n.recipients, n.body});
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
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  std::unique_ptr<v1::Referrals::Stub> stub;
  cv1::AgencyId proto() const { return AgencyIdToProto(id); }
  client::RecordAuthor author() const { return {proto(), signing}; }
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
    auto table = quota::QuotaTable::Defaults().WithOverrides(QuotaOverrides());
    ASSERT_TRUE(table.ok()) << table.status();
    storage_ = std::make_unique<quota::StorageGuard>(*redis_, metrics_);
    quotas_ =
        std::make_unique<quota::QuotaChecker>(*table, metrics_, SystemClock::Get(), storage_.get());
    reads_ = std::make_unique<quota::ReadMeter>(quotas_.get(), redis_.get(), "ref");
    service_ = std::make_unique<ReferralsService>(
        *store_, *directory_, audit_, metrics_, SystemClock::Get(),
        ReferralsServiceOptions{.trust_domain = kTd,
                                .deadlines = *DeadlineConfig::Defaults(),
                                .quotas = quotas_.get(),
                                .reads = reads_.get()});
    outbox_source_ = std::make_unique<ReferralsOutbox>(*store_, kTd, absl::UTCTimeZone());
    outbox_ = std::make_unique<notify::OutboxWorker>(*outbox_source_, &sender_, &ids_, metrics_,
                                                     ReferralsNotifierOptions("test"));

    server_ = std::make_unique<testing::SecureTestServer>(pki_, metrics_, revocations_);
    ASSERT_TRUE(server_->Start({service_.get()}).ok());

    police_ = MakeAgent(AgencyType::kPolice, "pz-brussels", "BE-BRU", {"fr", "nl"}, {"thb"}, 0);
    other_police_ = MakeAgent(AgencyType::kPolice, "pz-gent", "BE-VOV", {"nl"}, {}, 0);
    // The recognised centres request documents (directory attribute recognised_centre); the
    // shelter for minors does not. Languages and specialisations as the test declares them.
    pagasa_ = MakeAgent(AgencyType::kReceptionCentre, "pag-asa", "BE-BRU", {},
                        {"sexual_exploitation", "labour_exploitation"}, 30,
                        {{"recognised_centre", "true"}});
    surya_ =
        MakeAgent(AgencyType::kReceptionCentre, "surya", "BE-WAL", {"es", "pt"},
                  {"sexual_exploitation", "gender_diversity"}, 25, {{"recognised_centre", "true"}});
    esperanto_ = MakeAgent(AgencyType::kReceptionCentre, "esperanto", "BE-WAL", {}, {"minors"}, 15,
                           {{"minors_shelter", "true"}});
    guardianship_ = MakeAgent(AgencyType::kGuardianshipService, "tutelles", "BE", {}, {}, 0);
    magistrate_ = MakeAgent(AgencyType::kMagistrate, "parquet-bxl", "BE-BRU", {"fr"}, {}, 0);
    oe_ = MakeAgent(AgencyType::kImmigrationOffice, "dvz-minteh", "BE", {"fr", "nl"}, {}, 0);
    coordination_ = MakeAgent(AgencyType::kCoordinationUnit, "cic", "BE", {"fr"}, {}, 0);
  }

  void TearDown() override { server_.reset(); }

  Agent MakeAgent(AgencyType type, std::string id, std::string jurisdiction,
                  std::vector<std::string> languages, std::vector<std::string> specialisations,
                  int capacity, std::map<std::string, std::string> attributes = {}) {
    Agent a;
    a.id = AgencyId{kTd, type, id};
    // The directory's record format (services/directory/redis_directory_store.cc).
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", "Agency " + id},
                        {"jurisdiction", jurisdiction},
                        {"specialisations", specialisations},
                        {"languages", languages},
                        {"signing_public_key_pem", a.signing.PublicKey().ToPem()},
                        {"sealing_public_key_pem", a.sealing.PublicKey().ToPem()},
                        {"capacity", capacity},
                        {"attributes", attributes},
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

  // Sealed, signed and opened as an agency system does, with the agency-side library: `by`
  // writes record version `version` of the case.
  v1::SealedRecord Seal(const std::string& case_id, int64_t version,
                        const std::vector<const Agent*>& to, const Agent& by) {
    v1::PersonalRecord record;
    record.set_full_name(kName);
    record.set_date_of_birth("1999-04-01");
    record.set_nationality("VE");
    record.set_contact(kContact);
    record.set_consent_given(true);
    record.set_notes(kNotes);
    std::vector<client::RecordRecipient> recipients;
    for (const Agent* a : to) recipients.push_back({a->id.Key(), a->sealing.PublicKey()});
    auto sealed = client::SealPersonalRecord(record, case_id, version, recipients, by.author());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : v1::SealedRecord{};
  }
  // The next record version of `c`, written by `by`.
  v1::SealedRecord SealNext(const v1::Case& c, const std::vector<const Agent*>& to,
                            const Agent& by) {
    return Seal(c.case_id(), c.sealed_record_version() + 1, to, by);
  }

  // The note of the transition `by` makes on `c` (history entry version c.version() + 1).
  v1::SealedRecord SealText(const v1::Case& c, const std::vector<const Agent*>& to,
                            const Agent& by) {
    std::vector<client::RecordRecipient> recipients;
    for (const Agent* a : to) recipients.push_back({a->id.Key(), a->sealing.PublicKey()});
    auto sealed =
        client::SealNote(kSealedNote, c.case_id(), c.version() + 1, recipients, by.author());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return sealed.ok() ? *sealed : v1::SealedRecord{};
  }

  // The identity fields a document request carries, sealed by `by` to the Immigration Office
  // for the history entry of the transition it makes on `c`.
  v1::SealedRecord SealIdentity(const v1::Case& c, const Agent& by) {
    v1::DocumentIdentity identity;
    identity.set_full_name(kName);
    identity.set_date_of_birth("1999-04-01");
    identity.set_nationality("VE");
    auto sealed =
        client::SealDocumentIdentity(identity, c.case_id(), c.version() + 1,
                                     {{oe_.id.Key(), oe_.sealing.PublicKey()}}, by.author());
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
    a.set_age_band(v1::AGE_BAND_25_34);
    a.set_gender_category(v1::GENDER_CATEGORY_WOMAN);
    a.set_nationality_class(v1::NATIONALITY_CLASS_THIRD_COUNTRY);
    a.set_region("BE-WHT");  // Hainaut: Wallonia
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
    *draft.mutable_sealed_record() = SealNext(created.case_(), {&surya_}, police_);
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

  // Overrides of the quota table (--quotas syntax), for the tests of limits.
  virtual std::string QuotaOverrides() const { return ""; }

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

  // ---- what an intruder with write access to Redis does, and what a reader does ----

  std::string SealedKey(const std::string& case_id) { return "concord:{ref}:sealed:" + case_id; }
  std::string HistoryKey(const std::string& case_id) { return "concord:{ref}:history:" + case_id; }
  v1::SealedRecord StoredRecord(const std::string& case_id, int64_t version) {
    auto r = redis_->Command({"HGET", SealedKey(case_id), std::to_string(version)});
    v1::SealedRecord out;
    EXPECT_TRUE(r.ok() && out.ParseFromString(r->str)) << "no stored version " << version;
    return out;
  }
  void PutRecord(const std::string& case_id, int64_t version, const v1::SealedRecord& record) {
    ASSERT_TRUE(redis_
                    ->Command({"HSET", SealedKey(case_id), std::to_string(version),
                               record.SerializeAsString()})
                    .ok());
  }
  std::vector<v1::HistoryEntry> StoredHistory(const std::string& case_id) {
    auto r = redis_->Command({"LRANGE", HistoryKey(case_id), "0", "-1"});
    std::vector<v1::HistoryEntry> out;
    if (!r.ok()) return out;
    for (const auto& e : r->elements) {
      v1::HistoryEntry entry;
      EXPECT_TRUE(entry.ParseFromString(e.str));
      out.push_back(entry);
    }
    return out;
  }
  // Tampering as whoever controls Redis (the admin user: the referrals user runs no LSET).
  void PutHistoryEntry(const std::string& case_id, size_t index, const v1::HistoryEntry& e) {
    ASSERT_TRUE(
        directory_writer_
            ->Command({"LSET", HistoryKey(case_id), std::to_string(index), e.SerializeAsString()})
            .ok());
  }

  // The directory signing key of `author`, as a reader fetches it (Directory/GetAgency).
  crypto::Ed25519PublicKey SigningKeyOf(const cv1::AgencyId& author) {
    auto id = AgencyIdFromProto(author);
    EXPECT_TRUE(id.ok());
    auto entry = directory_->Get(*id);
    EXPECT_TRUE(entry.ok()) << entry.status();
    auto key = crypto::Ed25519PublicKey::FromPem(entry.ok() ? entry->signing_public_key_pem : "");
    EXPECT_TRUE(key.ok());
    return key.ok() ? *key : crypto::Ed25519PrivateKey::Generate().PublicKey();
  }

  // What an agency system does to read the record: OpenSealed, verify, open. The status of the
  // first step that refuses.
  StatusOr<v1::PersonalRecord> ReadRecord(const Agent& me, const std::string& case_id,
                                          int64_t version = 0) {
    v1::OpenSealedRequest req;
    req.set_case_id(case_id);
    req.set_version(version);
    req.set_justification("checking the stored record");
    v1::OpenSealedResponse resp;
    const grpc::Status s = me.stub->OpenSealed(Ctx().get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    CONCORD_RETURN_IF_ERROR(client::VerifyRecord(resp.record(), resp.case_(), version,
                                                 SigningKeyOf(resp.record().author())));
    return client::OpenPersonalRecord(resp.record(), case_id, me.id.Key(), me.sealing);
  }

  testing::TestPki pki_{kTd};
  std::unique_ptr<testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<redis::RedisClient> directory_writer_;
  std::unique_ptr<RedisReferralStore> store_;
  std::unique_ptr<clients::DirectoryReader> directory_;
  metrics::Metrics metrics_;
  AuditRecorder audit_;
  RecordingSender sender_;
  std::unique_ptr<quota::StorageGuard> storage_;
  std::unique_ptr<quota::QuotaChecker> quotas_;
  std::unique_ptr<quota::ReadMeter> reads_;
  std::unique_ptr<ReferralsService> service_;
  notify::MessageIds ids_ =
      *notify::MessageIds::Create(*notify::NotifierSecret::FromBytes(std::string(32, 's')),
                                  "admin/concord-referrals", kNotificationIdPrefix);
  std::unique_ptr<ReferralsOutbox> outbox_source_;
  std::unique_ptr<notify::OutboxWorker> outbox_;
  NoRevocations revocations_;
  std::unique_ptr<testing::SecureTestServer> server_;
  Agent police_, other_police_, pagasa_, surya_, esperanto_, magistrate_, oe_, coordination_,
      guardianship_;
};

// Routing: the region first (Hainaut resolves to Wallonia: Sürya); the languages and support
// needs of the request break ties, only from what centres declare, and are never stored.
TEST_F(ReferralsServiceTest, SuggestCentresOffersASpanishSpeakingTransWomanASupportiveCentre) {
  v1::SuggestCentresRequest req;
  *req.mutable_attributes() = Attributes();
  req.add_languages("es");
  req.add_languages("pt");
  req.add_support_needs("gender_diversity");
  v1::SuggestCentresResponse resp;
  grpc::Status s = police_.stub->SuggestCentres(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.suggestions_size(), 3);
  EXPECT_EQ(resp.suggestions(0).centre().id(), "surya");
  EXPECT_EQ(resp.suggestions(0).capacity(), 25);
  EXPECT_FALSE(resp.suggestions(0).reasons().empty());

  // An unaccompanied minor goes first to the shelter for minors of the region.
  req.mutable_attributes()->set_unaccompanied_minor(true);
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
  draft.mutable_attributes()->add_exploitation_forms(v1::EXPLOITATION_FORM_FORCED_LABOUR);
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
  bad.mutable_attributes()->add_languages("es");  // personal data: the sealed record only
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
    *r.mutable_sealed_record() = SealNext(c, {&surya_, &magistrate_}, surya_);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REFLECTION);
    *r.mutable_target() = oe_.proto();
    *r.mutable_sealed_identity() = SealIdentity(c, surya_);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(oe_, c, v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_REFLECTION);
  s = Do(police_, c, v1::TRANSITION_KIND_RECORD_STATEMENT);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
    *r.mutable_sealed_identity() = SealIdentity(c, surya_);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(oe_, c, v1::TRANSITION_KIND_ISSUE_ATTESTATION);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.state(), v1::CASE_STATE_REGISTRATION_ATTESTATION);

  // Only the magistrate records the victim opinion; the OE cannot issue the certificate before.
  s = Do(surya_, c, v1::TRANSITION_KIND_RECORD_VICTIM_OPINION);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = Do(magistrate_, c, v1::TRANSITION_KIND_RECORD_VICTIM_OPINION);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
    *r.mutable_sealed_identity() = SealIdentity(c, surya_);
  });
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
  EXPECT_GT(sent, 0);
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
    *r.mutable_sealed_note() = SealText(c, {&surya_, &pagasa_}, surya_);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(c.version(), before);
  s = Do(surya_, c, v1::TRANSITION_KIND_DECLINE, [&](v1::TransitionRequest& r) {
    *r.mutable_sealed_note() = SealText(c, {&surya_, &police_}, surya_);
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

// The Immigration Office sees what it needs to issue a document and no more: the identity fields
// sealed by the centre to the Office only, opened with a justification that is audited exactly
// as validated (the concord-justification metadata is not a source); the personal record stays
// closed to it. TransitionResponse says what the transition started, ended and whom it notified.
TEST_F(ReferralsServiceTest, ImmigrationOfficeOpensTheIdentityFieldsWithAnAuditedJustification) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  v1::TransitionRequest req;
  req.set_case_id(c.case_id());
  req.set_expected_version(c.version());
  req.set_kind(v1::TRANSITION_KIND_REQUEST_DOCUMENT);
  req.set_document(v1::DOCUMENT_KIND_REFLECTION);
  *req.mutable_target() = oe_.proto();
  *req.mutable_sealed_identity() = SealIdentity(c, surya_);
  v1::TransitionResponse resp;
  grpc::Status s = surya_.stub->Transition(Ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  c = resp.case_();
  ASSERT_EQ(resp.notified_size(), 1);
  EXPECT_EQ(resp.notified(0).id(), oe_.id.id);
  EXPECT_EQ(c.document_identity_version(), c.version());

  // The Office issues the document: the response names the deadline started, with its last day.
  req = v1::TransitionRequest();
  req.set_case_id(c.case_id());
  req.set_expected_version(c.version());
  req.set_kind(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT);
  ASSERT_TRUE(oe_.stub->Transition(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.deadlines_started_size(), 1);
  EXPECT_EQ(resp.deadlines_started(0).kind(), v1::DEADLINE_KIND_REFLECTION_END);
  EXPECT_EQ(resp.deadlines_started(0).last_day(), resp.case_().document_valid_through());
  EXPECT_FALSE(resp.case_().document_valid_through().empty());
  EXPECT_GE(resp.notified_size(), 2);

  // Opening: the justification is required; the metadata does not stand in for it.
  v1::OpenSealedRequest open;
  open.set_case_id(c.case_id());
  open.set_box(v1::SEALED_BOX_DOCUMENT_IDENTITY);
  v1::OpenSealedResponse opened;
  auto with_metadata = Ctx();
  with_metadata->AddMetadata("concord-justification", "issuing the reflection document");
  s = oe_.stub->OpenSealed(with_metadata.get(), open, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  open.set_justification("  issue the annex 15 document  ");
  s = oe_.stub->OpenSealed(Ctx().get(), open, &opened);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(client::VerifyCaseBox(client::SealedKind::kDocumentIdentity, opened.record(),
                                    opened.case_(), 0, SigningKeyOf(opened.record().author()))
                  .ok());
  auto identity =
      client::OpenDocumentIdentity(opened.record(), c.case_id(), oe_.id.Key(), oe_.sealing);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->full_name(), kName);
  EXPECT_EQ(identity->nationality(), "VE");

  // The centre did not seal the identity box to itself; the Office never gets the record.
  s = surya_.stub->OpenSealed(Ctx().get(), open, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "NOT_A_RECIPIENT");
  open.set_box(v1::SEALED_BOX_RECORD);
  s = oe_.stub->OpenSealed(Ctx().get(), open, &opened);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Audited, with exactly the validated (trimmed) justification; refusals too.
  int granted = 0, refused = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (e.method != "/concord.referrals.v1.Referrals/OpenSealed") continue;
    if (e.outcome == "OK") {
      ++granted;
      EXPECT_EQ(e.agency.id, oe_.id.id);
      EXPECT_EQ(e.justification, "issue the annex 15 document");
    } else {
      ++refused;
    }
  }
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(refused, 3);
}

// An unaccompanied minor: the Guardianship Service is a party, notified, records the guardian
// (sealed to the centre and to it only) and asks for the 3-month attestation directly.
TEST_F(ReferralsServiceTest, UnaccompaniedMinorWithTheGuardianshipService) {
  v1::SaveDraftRequest draft;
  *draft.mutable_attributes() = Attributes();
  draft.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
  draft.mutable_attributes()->set_unaccompanied_minor(true);
  *draft.mutable_receiving_centre() = surya_.proto();
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  std::set<std::string> fields;
  for (const auto& p : saved.problems()) fields.insert(p.field());
  EXPECT_TRUE(fields.contains("guardianship_service")) << saved.DebugString();
  draft.set_case_id(saved.case_().case_id());
  draft.set_expected_version(saved.case_().version());
  *draft.mutable_guardianship_service() = guardianship_.proto();
  *draft.mutable_sealed_record() = SealNext(saved.case_(), {&surya_}, police_);
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  EXPECT_EQ(saved.problems_size(), 0) << saved.DebugString();
  v1::SubmitRequest submit;
  submit.set_case_id(saved.case_().case_id());
  submit.set_expected_version(saved.case_().version());
  v1::TransitionResponse submitted;
  ASSERT_TRUE(police_.stub->Submit(Ctx().get(), submit, &submitted).ok());
  std::set<std::string> notified;
  for (const auto& a : submitted.notified()) notified.insert(a.id());
  EXPECT_EQ(notified, (std::set<std::string>{"surya", "tutelles"}));
  v1::Case c = submitted.case_();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());

  // The guardian, sealed by the Guardianship Service to the centre and itself.
  v1::GuardianRecord guardian;
  guardian.set_full_name("Guardian-Name-Secret");
  guardian.set_contact("+32 2 555 01 01");
  guardian.set_designated_on("2026-11-30");
  auto box = client::SealGuardian(guardian, c.case_id(), c.version() + 1,
                                  {{surya_.id.Key(), surya_.sealing.PublicKey()},
                                   {guardianship_.id.Key(), guardianship_.sealing.PublicKey()}},
                                  guardianship_.author());
  ASSERT_TRUE(box.ok()) << box.status();
  grpc::Status s = Do(guardianship_, c, v1::TRANSITION_KIND_RECORD_GUARDIAN,
                      [&](auto& r) { *r.mutable_sealed_guardian() = *box; });
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::OpenSealedRequest open;
  open.set_case_id(c.case_id());
  open.set_box(v1::SEALED_BOX_GUARDIAN);
  open.set_justification("contact the guardian before the hearing");
  v1::OpenSealedResponse opened;
  ASSERT_TRUE(surya_.stub->OpenSealed(Ctx().get(), open, &opened).ok());
  auto read = client::OpenGuardian(opened.record(), c.case_id(), surya_.id.Key(), surya_.sealing);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->full_name(), "Guardian-Name-Secret");
  EXPECT_EQ(police_.stub->OpenSealed(Ctx().get(), open, &opened).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The 3-month attestation directly, requested by the Guardianship Service.
  s = Do(guardianship_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
    *r.mutable_target() = oe_.proto();
    *r.mutable_sealed_identity() = SealIdentity(c, guardianship_);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(Do(oe_, c, v1::TRANSITION_KIND_ISSUE_ATTESTATION).ok());
  EXPECT_EQ(c.state(), v1::CASE_STATE_REGISTRATION_ATTESTATION);
  // Nothing of the identity, the guardian or the record in clear in Redis.
  const std::string dump = redis_server_->DumpAll();
  for (const char* secret : {kName, "Guardian-Name-Secret", "+32 2 555 01 01", "1999-04-01"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret;
  }
}

// Only the recognised specialised centres request residence documents (directory attribute),
// not every reception centre.
TEST_F(ReferralsServiceTest, OnlyRecognisedCentresRequestDocuments) {
  v1::SaveDraftRequest draft;
  *draft.mutable_attributes() = Attributes();
  *draft.mutable_receiving_centre() = esperanto_.proto();
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  draft.set_case_id(saved.case_().case_id());
  draft.set_expected_version(saved.case_().version());
  *draft.mutable_sealed_record() = SealNext(saved.case_(), {&esperanto_}, police_);
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  v1::SubmitRequest submit;
  submit.set_case_id(saved.case_().case_id());
  submit.set_expected_version(saved.case_().version());
  v1::TransitionResponse submitted;
  ASSERT_TRUE(police_.stub->Submit(Ctx().get(), submit, &submitted).ok());
  v1::Case c = submitted.case_();
  ASSERT_TRUE(Do(esperanto_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  const grpc::Status s = Do(esperanto_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REFLECTION);
    *r.mutable_target() = oe_.proto();
    *r.mutable_sealed_identity() = SealIdentity(c, esperanto_);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "NOT_A_RECOGNISED_CENTRE");
}

TEST_F(ReferralsServiceTest, NoPersonalDataInRedis) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT, [&](v1::TransitionRequest& r) {
                *r.mutable_sealed_note() = SealText(c, {&surya_, &police_}, surya_);
              }).ok());
  // The identity fields shared with the Immigration Office are sealed too.
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
                r.set_document(v1::DOCUMENT_KIND_REFLECTION);
                *r.mutable_target() = oe_.proto();
                *r.mutable_sealed_identity() = SealIdentity(c, surya_);
              }).ok());
  ASSERT_TRUE(outbox_->RunOnce().ok());
  const std::string dump = redis_server_->DumpAll();
  ASSERT_NE(dump.find(c.case_id()), std::string::npos) << "the dump covers the referral keys";
  for (const char* secret : {kName, kContact, kNotes, "1999-04-01", kSealedNote}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret;
  }
}

// ---- item: a draft is private to its referring agency ---------------------------------------

TEST_F(ReferralsServiceTest, ADraftIsVisibleToItsReferrerOnly) {
  // A complete draft naming the centre and the magistrate, with its record sealed to both.
  v1::SaveDraftRequest draft;
  *draft.mutable_attributes() = Attributes();
  *draft.mutable_receiving_centre() = surya_.proto();
  *draft.mutable_magistrate() = magistrate_.proto();
  v1::SaveDraftResponse created;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &created).ok());
  draft.set_case_id(created.case_().case_id());
  draft.set_expected_version(created.case_().version());
  *draft.mutable_sealed_record() = SealNext(created.case_(), {&surya_, &magistrate_}, police_);
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  const v1::Case c = saved.case_();

  const auto refused = [&](const grpc::Status& s, std::string_view what) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << what;
    EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "NOT_A_PARTY") << what;
  };
  for (Agent* named : {&surya_, &magistrate_}) {
    SCOPED_TRACE(named->id.Key());
    v1::GetRequest get;
    get.set_case_id(c.case_id());
    v1::GetResponse got;
    refused(named->stub->Get(Ctx().get(), get, &got), "Get");
    v1::HistoryRequest hreq;
    hreq.set_case_id(c.case_id());
    v1::HistoryResponse history;
    refused(named->stub->History(Ctx().get(), hreq, &history), "History");
    v1::OpenSealedRequest open;
    open.set_case_id(c.case_id());
    open.set_justification("preparing the intake interview");
    v1::OpenSealedResponse opened;
    refused(named->stub->OpenSealed(Ctx().get(), open, &opened), "OpenSealed");
    v1::ValidateRequest validate;
    validate.set_case_id(c.case_id());
    v1::ValidateResponse problems;
    const grpc::Status validated = named->stub->Validate(Ctx().get(), validate, &problems);
    if (named == &surya_) {
      // Reception centres may not call Validate at all (the policy table).
      EXPECT_EQ(validated.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    } else {
      refused(validated, "Validate");
    }
    v1::UpdateSealedRequest update;
    update.set_case_id(c.case_id());
    update.set_expected_version(c.version());
    *update.mutable_sealed_record() = SealNext(c, {&surya_, &magistrate_}, *named);
    v1::UpdateSealedResponse updated;
    refused(named->stub->UpdateSealed(Ctx().get(), update, &updated), "UpdateSealed");
    v1::Case copy = c;
    refused(Do(*named, copy, v1::TRANSITION_KIND_CLOSE,
               [](v1::TransitionRequest& r) { r.set_close_reason(v1::CLOSE_REASON_OTHER); }),
            "Transition");
    v1::ListRequest list;
    v1::ListResponse listed;
    ASSERT_TRUE(named->stub->List(Ctx().get(), list, &listed).ok());
    EXPECT_EQ(listed.cases_size(), 0) << "List";
  }
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version(), c.version()) << "nothing changed";

  // The referrer sees it; once submitted, so do the centre and the magistrate.
  v1::ListRequest list;
  v1::ListResponse listed;
  ASSERT_TRUE(police_.stub->List(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.cases_size(), 1);
  v1::SubmitRequest submit;
  submit.set_case_id(c.case_id());
  submit.set_expected_version(c.version());
  v1::TransitionResponse submitted;
  ASSERT_TRUE(police_.stub->Submit(Ctx().get(), submit, &submitted).ok());
  ASSERT_TRUE(surya_.stub->List(Ctx().get(), list, &listed).ok());
  EXPECT_EQ(listed.cases_size(), 1);
  auto record = ReadRecord(magistrate_, c.case_id());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->full_name(), kName);
}

// ---- item: a centre that declined loses its rights on the personal data ----------------------

TEST_F(ReferralsServiceTest, ACentreThatDeclinedLosesTheSealedRecord) {
  v1::Case c = Referred();  // record version 1, sealed to the centre
  // The centre names the magistrate: record version 2, sealed to both.
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, [&](auto& r) {
                *r.mutable_target() = magistrate_.proto();
                *r.mutable_sealed_record() = SealNext(c, {&surya_, &magistrate_}, surya_);
              }).ok());
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_DECLINE, [](auto& r) {
                r.set_note("no place for this profile");
              }).ok());
  ASSERT_EQ(c.state(), v1::CASE_STATE_DECLINED);

  // No new version of the record, even sealed as the rules want (to the magistrate only).
  v1::UpdateSealedRequest update;
  update.set_case_id(c.case_id());
  update.set_expected_version(c.version());
  *update.mutable_sealed_record() = SealNext(c, {&magistrate_}, surya_);
  v1::UpdateSealedResponse updated;
  grpc::Status s = surya_.stub->UpdateSealed(Ctx().get(), update, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "CENTRE_DECLINED");
  // No record handed out any more, not even the versions sealed to it.
  for (int64_t version : {0, 1, 2}) {
    auto read = ReadRecord(surya_, c.case_id(), version);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kPermissionDenied) << version;
    EXPECT_EQ(ReasonOf(read.status()), "CENTRE_DECLINED") << version;
  }
  // No new sealed note to it.
  s = Do(police_, c, v1::TRANSITION_KIND_CLOSE, [&](v1::TransitionRequest& r) {
    r.set_close_reason(v1::CLOSE_REASON_OTHER);
    *r.mutable_sealed_note() = SealText(c, {&police_, &surya_}, police_);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // It still sees the outcome; the magistrate still keeps the record.
  v1::GetRequest get;
  get.set_case_id(c.case_id());
  v1::GetResponse got;
  EXPECT_TRUE(surya_.stub->Get(Ctx().get(), get, &got).ok());
  *update.mutable_sealed_record() = SealNext(c, {&magistrate_}, magistrate_);
  s = magistrate_.stub->UpdateSealed(Ctx().get(), update, &updated);
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->sealed_record_version(), 3);
  EXPECT_EQ(stored->version(), c.version() + 1);
}

// ---- item: List and Validate are audited consultations ----------------------------------------

class ReferralsReadQuotaTest : public ReferralsServiceTest {
 protected:
  std::string QuotaOverrides() const override { return "reception_centre.read=500/0.001"; }

  std::string BucketKey() const { return quota::BucketKey("ref", quota::Quota::kRead, surya_.id); }
  double Tokens() { return testing::BucketTokens(*redis_, BucketKey()); }
};

// Test that every consultation record costs the caller one token of its read bucket: Get and
// History one each, List one per case returned; and that a List the bucket cannot pay for is
// refused (RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, limit read) after its read but before any record
// is written or any case returned, recorded once, and takes nothing from the bucket.
TEST_F(ReferralsReadQuotaTest, EachConsultationRecordCostsOneReadTokenAndAListIsChargedPerCase) {
  const v1::Case first = Referred();
  const v1::Case second = Referred();
  v1::GetRequest get;
  get.set_case_id(first.case_id());
  v1::GetResponse got;
  ASSERT_TRUE(surya_.stub->Get(Ctx().get(), get, &got).ok());
  EXPECT_NEAR(Tokens(), 499, 0.1);
  v1::HistoryRequest history;
  history.set_case_id(first.case_id());
  v1::HistoryResponse entries;
  ASSERT_TRUE(surya_.stub->History(Ctx().get(), history, &entries).ok());
  EXPECT_NEAR(Tokens(), 498, 0.1);
  v1::ListRequest list;
  v1::ListResponse listed;
  ASSERT_TRUE(surya_.stub->List(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.cases_size(), 2);
  EXPECT_NEAR(Tokens(), 496, 0.1);

  // One token left: the next List (two cases) is refused whole.
  ASSERT_TRUE(redis_->Command({"HSET", BucketKey(), "t", "1"}).ok());
  const size_t records = audit_.events().size();
  listed.Clear();
  const grpc::Status s = surya_.stub->List(Ctx().get(), list, &listed);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  const Status st = FromGrpcStatus(s);
  EXPECT_EQ(ReasonOf(st), "QUOTA_EXCEEDED");
  EXPECT_EQ(ReasonMetadataOf(st).at("limit"), "read");
  EXPECT_EQ(listed.cases_size(), 0);
  EXPECT_NEAR(Tokens(), 1, 0.1);
  const std::vector<audit::AuditEvent> after = audit_.events();
  ASSERT_EQ(after.size(), records + 1);
  const audit::AuditEvent& refused = after.back();
  EXPECT_EQ(refused.object, "referral:list");
  EXPECT_EQ(refused.outcome, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(refused.operation, audit::Operation::kConsultation);
  // A Get costs one token: the token the List could not use is still there. The next one is
  // refused (RetryInfo: the 1,000 s a token takes at 0.001/s), and not recorded again within the
  // minute; this replica then refuses the agency's reads without Redis.
  EXPECT_TRUE(surya_.stub->Get(Ctx().get(), get, &got).ok());
  EXPECT_NEAR(Tokens(), 0, 0.1);
  for (int i = 0; i < 3; ++i) {
    const grpc::Status g = surya_.stub->Get(Ctx().get(), get, &got);
    ASSERT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i;
    EXPECT_GT(RetryDelayOf(FromGrpcStatus(g)), absl::Seconds(900)) << i;
  }
  EXPECT_EQ(audit_.events().size(), records + 2);  // the List's refusal, the served Get
  // Another agency's bucket is its own.
  EXPECT_TRUE(police_.stub->Get(Ctx().get(), get, &got).ok());
}

TEST_F(ReferralsServiceTest, ListAndValidateAreAuditedConsultations) {
  const v1::Case first = Referred();
  const v1::Case second = Referred();
  const auto consultations = [&](std::string_view method) {
    std::multiset<std::string> objects;
    for (const audit::AuditEvent& e : audit_.events()) {
      if (e.method != "/concord.referrals.v1.Referrals/" + std::string(method)) continue;
      EXPECT_EQ(e.operation, audit::Operation::kConsultation);
      EXPECT_EQ(e.officer, "officer-42");
      objects.insert(e.object + " " + e.agency.Key() + " " + e.outcome);
    }
    return objects;
  };
  v1::ListRequest list;
  v1::ListResponse listed;
  ASSERT_TRUE(surya_.stub->List(Ctx().get(), list, &listed).ok());
  ASSERT_EQ(listed.cases_size(), 2);
  EXPECT_EQ(
      consultations("List"),
      (std::multiset<std::string>{"referral:" + first.case_id() + " reception_centre/surya OK",
                                  "referral:" + second.case_id() + " reception_centre/surya OK"}));
  // A refused List is recorded too.
  list.mutable_page()->set_page_token("not-a-token");
  EXPECT_EQ(surya_.stub->List(Ctx().get(), list, &listed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(
      consultations("List").contains("referral:list reception_centre/surya "
                                     "INVALID_ARGUMENT"));

  // Validate of a stored draft reads case data; an inline draft reads nothing stored.
  v1::SaveDraftRequest draft;
  draft.mutable_attributes()->add_exploitation_forms(v1::EXPLOITATION_FORM_FORCED_LABOUR);
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  v1::ValidateRequest validate;
  validate.set_case_id(saved.case_().case_id());
  v1::ValidateResponse problems;
  ASSERT_TRUE(police_.stub->Validate(Ctx().get(), validate, &problems).ok());
  EXPECT_EQ(magistrate_.stub->Validate(Ctx().get(), validate, &problems).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ValidateRequest inline_draft;
  *inline_draft.mutable_draft() = draft;
  ASSERT_TRUE(police_.stub->Validate(Ctx().get(), inline_draft, &problems).ok());
  EXPECT_EQ(
      consultations("Validate"),
      (std::multiset<std::string>{"referral:" + saved.case_().case_id() + " police/pz-brussels OK",
                                  "referral:" + saved.case_().case_id() +
                                      " magistrate/parquet-bxl "
                                      "PERMISSION_DENIED"}));

  // No audit record, no answer: the cases are not returned when the audit log is down.
  audit_.set_failing(true);
  list.mutable_page()->clear_page_token();
  grpc::Status s = surya_.stub->List(Ctx().get(), list, &listed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(police_.stub->Validate(Ctx().get(), validate, &problems).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  audit_.set_failing(false);
}

// ---- item: every sealed box is signed by its author ------------------------------------------

// The write side: the service stores only boxes signed by the caller, for the version the write
// creates; nothing is stored otherwise.
TEST_F(ReferralsServiceTest, EveryStoredBoxMustBeSignedByTheCaller) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  v1::UpdateSealedRequest update;
  update.set_case_id(c.case_id());
  update.set_expected_version(c.version());
  v1::UpdateSealedResponse updated;
  const auto refused = [&](const v1::SealedRecord& box, std::string_view field,
                           std::string_view reason) {
    *update.mutable_sealed_record() = box;
    const grpc::Status s = surya_.stub->UpdateSealed(Ctx().get(), update, &updated);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    const Status st = FromGrpcStatus(s);
    ASSERT_FALSE(FieldViolationsOf(st).empty());
    EXPECT_EQ(FieldViolationsOf(st)[0].field, field);
    EXPECT_EQ(ReasonOf(st), reason);
  };
  v1::SealedRecord unsigned_box = SealNext(c, {&surya_}, surya_);
  unsigned_box.clear_signature();
  refused(unsigned_box, "sealed_record.signature", "SIGNATURE_REQUIRED");
  // Signed by the police with its own key, sent by the centre.
  refused(SealNext(c, {&surya_}, police_), "sealed_record.author", "BAD_SIGNATURE");
  // Signed with another agency's key in the centre's name.
  v1::SealedRecord forged = SealNext(c, {&surya_}, surya_);
  ASSERT_TRUE(client::SignSealedBox(client::SealedKind::kRecord, c.case_id(), 2, surya_.proto(),
                                    pagasa_.signing, forged)
                  .ok());
  refused(forged, "sealed_record.signature", "BAD_SIGNATURE");
  // Signed for another version (an old box replayed), or for another case.
  refused(Seal(c.case_id(), 1, {&surya_}, surya_), "sealed_record.version", "BAD_SIGNATURE");
  v1::SealedRecord other_case = Seal("ref-aaaaaaaaaaaaaaaaaaaaaaaaaa", 2, {&surya_}, surya_);
  refused(other_case, "sealed_record.signature", "BAD_SIGNATURE");
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->sealed_record_version(), 1) << "nothing stored";

  // A sealed note signed for another history entry is refused the same way.
  grpc::Status s = Do(surya_, c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, [&](auto& r) {
    r.set_document(v1::DOCUMENT_KIND_REFLECTION);
    *r.mutable_target() = oe_.proto();
    *r.mutable_sealed_identity() = SealIdentity(c, surya_);
    v1::Case older = c;
    older.set_version(c.version() - 1);
    *r.mutable_sealed_note() = SealText(older, {&surya_, &police_}, surya_);
  });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "BAD_SIGNATURE");

  // Correctly signed: stored, and the metric counted the refusals.
  *update.mutable_sealed_record() = SealNext(c, {&surya_}, surya_);
  ASSERT_TRUE(surya_.stub->UpdateSealed(Ctx().get(), update, &updated).ok());
  EXPECT_EQ(updated.case_().sealed_record_version(), 2);
  const std::string exposition = metrics_.Serialize();
  EXPECT_NE(exposition.find("concord_referral_sealed_refusals_total{reason=\"BAD_SIGNATURE\"} 5"),
            std::string::npos)
      << exposition;
}

// The read side: an intruder rewrites Redis directly. Each tampering is refused by the reader
// (the agency-side library, as concordctl uses it), never opened.
TEST_F(ReferralsServiceTest, ReadersRefuseARecordReplacedRolledBackOrMovedInRedis) {
  v1::Case c = Referred();  // record version 1 by the police, sealed to the centre
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  v1::UpdateSealedRequest update;
  update.set_case_id(c.case_id());
  update.set_expected_version(c.version());
  *update.mutable_sealed_record() = SealNext(c, {&surya_}, surya_);
  v1::UpdateSealedResponse updated;
  ASSERT_TRUE(surya_.stub->UpdateSealed(Ctx().get(), update, &updated).ok());
  const std::string id = c.case_id();
  ASSERT_TRUE(ReadRecord(surya_, id).ok());
  ASSERT_TRUE(ReadRecord(surya_, id, 1).ok());
  const v1::SealedRecord v1_box = StoredRecord(id, 1);
  const v1::SealedRecord v2_box = StoredRecord(id, 2);
  const v1::Case other = Referred();  // another case, record version 1 by the police
  const v1::SealedRecord other_box = StoredRecord(other.case_id(), 1);

  const auto expect_refused = [&](absl::StatusCode code, std::string_view reason) {
    auto read = ReadRecord(surya_, id);
    EXPECT_EQ(read.status().code(), code) << read.status();
    EXPECT_EQ(ReasonOf(read.status()), reason) << read.status();
    PutRecord(id, 2, v2_box);  // restore
    ASSERT_TRUE(ReadRecord(surya_, id).ok());
  };
  // 1. Replaced: by a record the intruder sealed itself to the centre's public key (it opens:
  //    sealing says nothing about who wrote it), keeping the stored version, author and
  //    signature; or a byte of the box changed.
  v1::PersonalRecord false_record;
  false_record.set_full_name("Someone Else Entirely");
  auto intruder_box = client::SealPersonalRecord(
      false_record, id, 2, {{surya_.id.Key(), surya_.sealing.PublicKey()}},
      {surya_.proto(), crypto::Ed25519PrivateKey::Generate()});
  ASSERT_TRUE(intruder_box.ok());
  v1::SealedRecord replaced = *intruder_box;
  replaced.set_signature(v2_box.signature());
  *replaced.mutable_created_at() = v2_box.created_at();
  PutRecord(id, 2, replaced);
  expect_refused(absl::StatusCode::kDataLoss, "BAD_SIGNATURE");
  replaced = v2_box;
  (*replaced.mutable_ciphertext())[5] ^= 0x01;
  PutRecord(id, 2, replaced);
  expect_refused(absl::StatusCode::kDataLoss, "BAD_SIGNATURE");
  // 2. Rolled back: version 1 put back under number 2 as it is (the service notices) ...
  PutRecord(id, 2, v1_box);
  expect_refused(absl::StatusCode::kDataLoss, "SEALED_RECORD_MISMATCH");
  // ... or renumbered 2 (the signature covers the version).
  v1::SealedRecord renumbered = v1_box;
  renumbered.set_version(2);
  *renumbered.mutable_author() = v2_box.author();
  PutRecord(id, 2, renumbered);
  expect_refused(absl::StatusCode::kDataLoss, "BAD_SIGNATURE");
  // 3. Moved from another case (same version number, same author, validly signed there).
  v1::SealedRecord moved = other_box;
  moved.set_version(2);
  PutRecord(id, 2, moved);
  expect_refused(absl::StatusCode::kDataLoss, "BAD_SIGNATURE");
  // 4. Signed by someone else: the centre named as author, another agency's key ...
  v1::SealedRecord resigned = v2_box;
  ASSERT_TRUE(client::SignSealedBox(client::SealedKind::kRecord, id, 2, surya_.proto(),
                                    other_police_.signing, resigned)
                  .ok());
  PutRecord(id, 2, resigned);
  expect_refused(absl::StatusCode::kDataLoss, "BAD_SIGNATURE");
  // ... or an agency outside the case named as author, with its own valid signature.
  v1::SealedRecord planted = v2_box;
  ASSERT_TRUE(client::SignSealedBox(client::SealedKind::kRecord, id, 2, other_police_.proto(),
                                    other_police_.signing, planted)
                  .ok());
  PutRecord(id, 2, planted);
  expect_refused(absl::StatusCode::kDataLoss, "AUTHOR_NOT_A_PARTY");
  // 5. The signature removed: unsigned, refused unless the reader accepts unsigned boxes.
  v1::SealedRecord stripped = v2_box;
  stripped.clear_signature();
  PutRecord(id, 2, stripped);
  expect_refused(absl::StatusCode::kFailedPrecondition, "UNSIGNED");
  // The older version still reads as what it is.
  auto older = ReadRecord(surya_, id, 1);
  ASSERT_TRUE(older.ok()) << older.status();
}

TEST_F(ReferralsServiceTest, ReadersRefuseANoteMovedOrReplacedInRedis) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT, [&](v1::TransitionRequest& r) {
                *r.mutable_sealed_note() = SealText(c, {&surya_, &police_}, surya_);
              }).ok());
  v1::Case other = Referred();
  ASSERT_TRUE(Do(surya_, other, v1::TRANSITION_KIND_ACCEPT, [&](v1::TransitionRequest& r) {
                *r.mutable_sealed_note() = SealText(other, {&surya_, &police_}, surya_);
              }).ok());
  const std::string id = c.case_id();
  // What a reader does: History, then each note verified against its author's key.
  const auto read_notes = [&]() -> Status {
    v1::HistoryRequest req;
    req.set_case_id(id);
    v1::HistoryResponse resp;
    const grpc::Status s = police_.stub->History(Ctx().get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    for (const v1::HistoryEntry& e : resp.entries()) {
      if (!e.has_sealed_note()) continue;
      CONCORD_RETURN_IF_ERROR(client::VerifyNote(e, id, SigningKeyOf(e.actor())));
      CONCORD_RETURN_IF_ERROR(
          client::OpenNote(e.sealed_note(), id, police_.id.Key(), police_.sealing).status());
    }
    return absl::OkStatus();
  };
  ASSERT_TRUE(read_notes().ok()) << read_notes();
  std::vector<v1::HistoryEntry> history = StoredHistory(id);
  const size_t last = history.size() - 1;
  const v1::HistoryEntry accepted = history[last];
  ASSERT_TRUE(accepted.has_sealed_note());
  const auto expect_refused = [&](const v1::HistoryEntry& tampered, size_t at,
                                  std::string_view reason) {
    PutHistoryEntry(id, at, tampered);
    const Status st = read_notes();
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
    EXPECT_EQ(ReasonOf(st), reason) << st;
    PutHistoryEntry(id, at, history[at]);  // restore
  };
  // Replaced by a note the intruder sealed itself to the police (keeping the signature).
  v1::HistoryEntry replaced = accepted;
  auto intruder_note = client::SealNote("an invented decline reason", id, accepted.version(),
                                        {{police_.id.Key(), police_.sealing.PublicKey()}},
                                        {surya_.proto(), crypto::Ed25519PrivateKey::Generate()});
  ASSERT_TRUE(intruder_note.ok());
  *replaced.mutable_sealed_note() = *intruder_note;
  replaced.mutable_sealed_note()->set_signature(accepted.sealed_note().signature());
  expect_refused(replaced, last, "BAD_SIGNATURE");
  // A byte changed.
  replaced = accepted;
  (*replaced.mutable_sealed_note()->mutable_ciphertext())[2] ^= 0x01;
  expect_refused(replaced, last, "BAD_SIGNATURE");
  // Moved to an earlier entry (the submit, by the police).
  v1::HistoryEntry moved = history[last - 1];
  *moved.mutable_sealed_note() = accepted.sealed_note();
  expect_refused(moved, last - 1, "WRONG_VERSION");
  moved.mutable_sealed_note()->set_version(moved.version());
  expect_refused(moved, last - 1, "AUTHOR_NOT_A_PARTY");
  // The note of the same entry of another case.
  v1::HistoryEntry foreign = accepted;
  *foreign.mutable_sealed_note() = StoredHistory(other.case_id()).back().sealed_note();
  foreign.mutable_sealed_note()->set_version(accepted.version());
  expect_refused(foreign, last, "BAD_SIGNATURE");
  ASSERT_TRUE(read_notes().ok());
}

// ---- the agencies a case names: registered, active and of the right type ----

// An agency the directory does not hold (a typo, never registered): keys of its own, so a
// record can be sealed to it as a referrer's system would, but no directory record.
Agent Unregistered(AgencyType type, std::string id) {
  Agent a;
  a.id = AgencyId{kTd, type, std::move(id)};
  return a;
}

class ReferralPartiesTest : public ReferralsServiceTest {
 protected:
  // The directory suspends `a` (its record's state, and the suspended set), as the directory
  // service does.
  void Suspend(const Agent& a) {
    const std::string key = clients::DirectoryKey("agency:" + a.id.Key());
    auto json = directory_writer_->Command({"HGET", key, "json"});
    ASSERT_TRUE(json.ok()) << json.status();
    nlohmann::json j = nlohmann::json::parse(json->str);
    j["state"] = "suspended";
    ASSERT_TRUE(directory_writer_->Command({"HSET", key, "json", j.dump()}).ok());
    ASSERT_TRUE(
        directory_writer_->Command({"SADD", clients::SuspendedAgenciesKey(), a.id.Key()}).ok());
  }

  // A complete draft of police_ naming `centre` (and `magistrate`, `guardianship` when given),
  // its record sealed to the centre and the magistrate: everything Validate checks on its own
  // is in order, so only the directory can object.
  v1::SaveDraftResponse CompleteDraft(const Agent& centre, const Agent* magistrate = nullptr,
                                      const Agent* guardianship = nullptr) {
    v1::SaveDraftRequest draft;
    *draft.mutable_attributes() = Attributes();
    *draft.mutable_receiving_centre() = centre.proto();
    if (magistrate != nullptr) *draft.mutable_magistrate() = magistrate->proto();
    if (guardianship != nullptr) {
      draft.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
      draft.mutable_attributes()->set_unaccompanied_minor(true);
      *draft.mutable_guardianship_service() = guardianship->proto();
    }
    v1::SaveDraftResponse created;
    grpc::Status s = police_.stub->SaveDraft(Ctx().get(), draft, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    draft.set_case_id(created.case_().case_id());
    draft.set_expected_version(created.case_().version());
    std::vector<const Agent*> to = {&centre};
    if (magistrate != nullptr) to.push_back(magistrate);
    *draft.mutable_sealed_record() = SealNext(created.case_(), to, police_);
    v1::SaveDraftResponse saved;
    s = police_.stub->SaveDraft(Ctx().get(), draft, &saved);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return saved;
  }

  grpc::Status Submit(const v1::Case& c) {
    v1::SubmitRequest submit;
    submit.set_case_id(c.case_id());
    submit.set_expected_version(c.version());
    v1::TransitionResponse resp;
    return police_.stub->Submit(Ctx().get(), submit, &resp);
  }

  // The descriptions of `field` in `problems`.
  static std::vector<std::string> ProblemsOf(
      const google::protobuf::RepeatedPtrField<v1::FieldProblem>& problems,
      const std::string& field) {
    std::vector<std::string> out;
    for (const v1::FieldProblem& p : problems) {
      if (p.field() == field) out.push_back(p.description());
    }
    return out;
  }

  // A refused Submit changed nothing, notified nobody, and was audited with its outcome.
  void ExpectNothingChanged(const v1::Case& draft) {
    auto stored = store_->Get(draft.case_id());
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored->state(), v1::CASE_STATE_DETECTED);
    EXPECT_EQ(stored->version(), draft.version());
    EXPECT_EQ(stored->deadlines_size(), 0) << "no legal clock started";
    auto sent = outbox_->RunOnce();
    ASSERT_TRUE(sent.ok()) << sent.status();
    EXPECT_EQ(*sent, 0) << "nothing to notify";
    EXPECT_TRUE(sender_.sent().empty());
    bool audited = false;
    for (const audit::AuditEvent& e : audit_.events()) {
      audited |= e.object == "referral:" + draft.case_id() &&
                 e.method == "/concord.referrals.v1.Referrals/Submit" &&
                 e.operation == audit::Operation::kAlteration &&
                 e.outcome == "FAILED_PRECONDITION" && e.agency == police_.id;
    }
    EXPECT_TRUE(audited) << "the refused Submit is audited";
  }

  // FAILED_PRECONDITION with `reason` and exactly one field violation, on `field`.
  static void ExpectRefused(const grpc::Status& s, std::string_view reason,
                            const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    const Status rich = FromGrpcStatus(s);
    EXPECT_EQ(ReasonOf(rich), reason) << s.error_message();
    const std::vector<FieldViolation> v = FieldViolationsOf(rich);
    ASSERT_EQ(v.size(), 1u) << s.error_message();
    EXPECT_EQ(v[0].field, field);
  }
};

// Test that a referral to a centre id the directory does not hold (a typo of pag-asa) is shown
// as a problem at every save and by Validate, refused at Submit (UNKNOWN_AGENCY, field
// receiving_centre) with nothing stored, no clock started and nobody notified, audited and
// counted; and that the corrected draft is submitted. Fails without the check: the draft saves
// without a problem and Submit refers the victim to nobody.
TEST_F(ReferralPartiesTest, SubmitToAnUnregisteredCentreIsRefused) {
  const Agent typo = Unregistered(AgencyType::kReceptionCentre, "pag-assa");
  v1::SaveDraftResponse saved = CompleteDraft(typo);
  const v1::Case draft = saved.case_();
  const std::vector<std::string> problems = ProblemsOf(saved.problems(), "receiving_centre");
  ASSERT_EQ(problems.size(), 1u) << saved.DebugString();
  EXPECT_THAT(problems[0], ::testing::StartsWith("UNKNOWN_AGENCY: "));
  EXPECT_EQ(saved.problems_size(), 1) << "the rest of the draft is complete";

  v1::ValidateRequest validate;
  validate.set_case_id(draft.case_id());
  v1::ValidateResponse validated;
  ASSERT_TRUE(police_.stub->Validate(Ctx().get(), validate, &validated).ok());
  EXPECT_FALSE(validated.valid());
  EXPECT_EQ(ProblemsOf(validated.problems(), "receiving_centre"), problems);
  // An inline draft is checked the same way.
  v1::ValidateRequest inline_validate;
  *inline_validate.mutable_draft()->mutable_attributes() = Attributes();
  *inline_validate.mutable_draft()->mutable_receiving_centre() = typo.proto();
  ASSERT_TRUE(police_.stub->Validate(Ctx().get(), inline_validate, &validated).ok());
  EXPECT_EQ(ProblemsOf(validated.problems(), "receiving_centre"), problems);

  ExpectRefused(Submit(draft), "UNKNOWN_AGENCY", "receiving_centre");
  ExpectNothingChanged(draft);
  EXPECT_NE(metrics_.Serialize().find("concord_referral_party_refusals_total{reason=\"UNKNOWN_"
                                      "AGENCY\",role=\"centre\"} 1"),
            std::string::npos)
      << metrics_.Serialize();

  // The referrer corrects the centre and re-seals the record to it: the happy path.
  v1::SaveDraftRequest fix;
  fix.set_case_id(draft.case_id());
  fix.set_expected_version(draft.version());
  *fix.mutable_attributes() = Attributes();
  *fix.mutable_receiving_centre() = pagasa_.proto();
  *fix.mutable_sealed_record() = SealNext(draft, {&pagasa_}, police_);
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), fix, &saved).ok());
  EXPECT_EQ(saved.problems_size(), 0) << saved.DebugString();
  const grpc::Status s = Submit(saved.case_());
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto stored = store_->Get(draft.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state(), v1::CASE_STATE_REFERRED);
}

// Test that a referral to a suspended centre, or naming a suspended Guardianship Service, is
// refused at Submit (AGENCY_SUSPENDED, on its field) and changes nothing. Fails without the check.
TEST_F(ReferralPartiesTest, SubmitToASuspendedCentreOrGuardianshipServiceIsRefused) {
  const Agent payoke = MakeAgent(AgencyType::kReceptionCentre, "payoke", "BE-VLG", {}, {}, 20,
                                 {{"recognised_centre", "true"}});
  Suspend(payoke);
  v1::SaveDraftResponse saved = CompleteDraft(payoke);
  EXPECT_THAT(ProblemsOf(saved.problems(), "receiving_centre"),
              ::testing::ElementsAre(::testing::StartsWith("AGENCY_SUSPENDED: ")))
      << saved.DebugString();
  ExpectRefused(Submit(saved.case_()), "AGENCY_SUSPENDED", "receiving_centre");
  ExpectNothingChanged(saved.case_());

  Suspend(guardianship_);
  saved = CompleteDraft(surya_, nullptr, &guardianship_);
  EXPECT_THAT(ProblemsOf(saved.problems(), "guardianship_service"),
              ::testing::ElementsAre(::testing::StartsWith("AGENCY_SUSPENDED: ")))
      << saved.DebugString();
  ExpectRefused(Submit(saved.case_()), "AGENCY_SUSPENDED", "guardianship_service");
  auto stored = store_->Get(saved.case_().case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state(), v1::CASE_STATE_DETECTED);
}

// Test that a magistrate id that is in fact a police unit (magistrate/pz-brussels, while the
// directory holds police/pz-brussels only) is refused at Submit as WRONG_AGENCY_TYPE on the
// field magistrate, naming the type the id is registered under. Fails without the check (and
// the old target check would have said UNKNOWN_AGENCY at best).
TEST_F(ReferralPartiesTest, SubmitWithAPoliceUnitAsMagistrateIsRefused) {
  const Agent not_a_magistrate = Unregistered(AgencyType::kMagistrate, "pz-brussels");
  v1::SaveDraftResponse saved = CompleteDraft(surya_, &not_a_magistrate);
  const std::vector<std::string> problems = ProblemsOf(saved.problems(), "magistrate");
  ASSERT_EQ(problems.size(), 1u) << saved.DebugString();
  EXPECT_THAT(problems[0], ::testing::StartsWith("WRONG_AGENCY_TYPE: "));
  EXPECT_THAT(problems[0], ::testing::HasSubstr("registered in the directory as type police"));
  const grpc::Status s = Submit(saved.case_());
  ExpectRefused(s, "WRONG_AGENCY_TYPE", "magistrate");
  EXPECT_THAT(FieldViolationsOf(FromGrpcStatus(s))[0].description,
              ::testing::HasSubstr("must be an agency of type magistrate"));
  ExpectNothingChanged(saved.case_());
}

// Test that the transitions that name a party later (another centre, another magistrate) are
// checked the same way, with the field `target`: WRONG_AGENCY_TYPE for a centre id that is a
// police unit (was UNKNOWN_AGENCY), UNKNOWN_AGENCY with the field for an unregistered magistrate
// (was without a field violation).
TEST_F(ReferralPartiesTest, TransitionTargetsAreCheckedWithTheirField) {
  v1::Case c = Referred();
  ASSERT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_DECLINE, [](auto& r) {
                r.set_note("no place for this profile");
              }).ok());
  const Agent police_as_centre = Unregistered(AgencyType::kReceptionCentre, "pz-brussels");
  grpc::Status s = Do(police_, c, v1::TRANSITION_KIND_REFER_ELSEWHERE, [&](auto& r) {
    *r.mutable_target() = police_as_centre.proto();
    *r.mutable_sealed_record() = SealNext(c, {&police_as_centre}, police_);
  });
  ExpectRefused(s, "WRONG_AGENCY_TYPE", "target");
  const Agent ghost = Unregistered(AgencyType::kMagistrate, "parquet-nowhere");
  s = Do(police_, c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, [&](auto& r) {
    *r.mutable_target() = ghost.proto();
    *r.mutable_sealed_record() = SealNext(c, {&ghost}, police_);
  });
  ExpectRefused(s, "UNKNOWN_AGENCY", "target");
  auto stored = store_->Get(c.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version(), c.version());
  EXPECT_EQ(stored->receiving_centre().id(), "surya");
  s = Do(police_, c, v1::TRANSITION_KIND_REFER_ELSEWHERE, [&](auto& r) {
    *r.mutable_target() = pagasa_.proto();
    *r.mutable_sealed_record() = SealNext(c, {&pagasa_}, police_);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(metrics_.Serialize().find("concord_referral_party_refusals_total{reason=\"WRONG_"
                                      "AGENCY_TYPE\",role=\"centre\"} 1"),
            std::string::npos)
      << metrics_.Serialize();
}

// Test that when the directory cannot be read the named parties are not waved through: Submit,
// SaveDraft and Validate answer UNAVAILABLE (retryable) and nothing is stored. The directory is
// a second redis-server that is stopped; the cases stay in the running one.
TEST_F(ReferralPartiesTest, DirectoryUnavailableIsUnavailableNeverAPass) {
  const v1::Case draft = CompleteDraft(surya_).case_();
  auto directory_server = testing::RedisServer::Start({});
  ASSERT_NE(directory_server, nullptr);
  auto directory_redis = redis::RedisClient::Create(directory_server->config());
  clients::DirectoryReader dead_directory(*directory_redis, kTd);
  directory_server->Stop();
  metrics::Metrics metrics;
  ReferralsService service(
      *store_, dead_directory, audit_, metrics, SystemClock::Get(),
      ReferralsServiceOptions{
          .trust_domain = kTd, .deadlines = *DeadlineConfig::Defaults(), .quotas = nullptr});
  testing::SecureTestServer server(pki_, metrics, revocations_);
  ASSERT_TRUE(server.Start({&service}).ok());
  auto stub =
      v1::Referrals::NewStub(server.Channel(pki_.AgencyTls(AgencyType::kPolice, "pz-brussels")));

  v1::SubmitRequest submit;
  submit.set_case_id(draft.case_id());
  submit.set_expected_version(draft.version());
  v1::TransitionResponse submitted;
  grpc::Status s = stub->Submit(Ctx().get(), submit, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  v1::SaveDraftRequest save;
  save.set_case_id(draft.case_id());
  save.set_expected_version(draft.version());
  *save.mutable_attributes() = Attributes();
  *save.mutable_receiving_centre() = surya_.proto();
  v1::SaveDraftResponse saved;
  s = stub->SaveDraft(Ctx().get(), save, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  v1::ValidateRequest validate;
  validate.set_case_id(draft.case_id());
  v1::ValidateResponse validated;
  s = stub->Validate(Ctx().get(), validate, &validated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  auto stored = store_->Get(draft.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state(), v1::CASE_STATE_DETECTED);
  EXPECT_EQ(stored->version(), draft.version());
}

class ReferralsLimitsTest : public ReferralsServiceTest {
 protected:
  std::string QuotaOverrides() const override { return "police.drafts=2;police.draft=8/0.001"; }
};

// Test that the drafts cap refuses the next new draft (LIMIT_REACHED, RetryInfo) while the
// agency's existing drafts can still be saved, another agency is not affected, and closing a
// draft or submitting it frees a slot.
TEST_F(ReferralsLimitsTest, DraftCapRefusesTheNextDraft) {
  v1::Case referred = Referred();  // created and submitted: no longer a draft
  ASSERT_EQ(referred.state(), v1::CASE_STATE_REFERRED);
  v1::SaveDraftRequest draft;
  draft.mutable_attributes()->set_origin_country("NG");
  v1::SaveDraftResponse first, second, third;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &first).ok());
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &second).ok());
  grpc::Status s = police_.stub->SaveDraft(Ctx().get(), draft, &third);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  const Status st = FromGrpcStatus(s);
  EXPECT_EQ(ReasonOf(st), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(st).at("limit"), "drafts");
  EXPECT_EQ(RetryDelayOf(st), absl::Minutes(1));
  ASSERT_EQ(QuotaViolationsOf(st).size(), 1u);
  EXPECT_EQ(QuotaViolationsOf(st)[0].field, "agency:police/pz-brussels");

  v1::SaveDraftRequest update = draft;
  update.set_case_id(first.case_().case_id());
  update.set_expected_version(first.case_().version());
  v1::SaveDraftResponse updated;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), update, &updated).ok());
  v1::SaveDraftResponse theirs;
  EXPECT_TRUE(other_police_.stub->SaveDraft(Ctx().get(), draft, &theirs).ok());

  v1::Case abandoned = second.case_();
  ASSERT_TRUE(Do(police_, abandoned, v1::TRANSITION_KIND_CLOSE, [](auto& r) {
                r.set_close_reason(v1::CLOSE_REASON_OTHER);
              }).ok());
  EXPECT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &third).ok());
  EXPECT_NE(metrics_.Serialize().find(
                "concord_quota_refusals_total{agency_type=\"police\",limit=\"drafts\"} 1"),
            std::string::npos);
}

// Test that the draft bucket refuses saves beyond its burst with QUOTA_EXCEEDED and RetryInfo,
// audits the refusals once, and stores nothing.
TEST_F(ReferralsLimitsTest, DraftQuotaRefusesSavesBeyondTheBurst) {
  v1::SaveDraftRequest draft;
  draft.mutable_attributes()->set_origin_country("NG");
  v1::SaveDraftResponse saved;
  ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), draft, &saved).ok());
  v1::SaveDraftRequest update = draft;
  update.set_case_id(saved.case_().case_id());
  for (int i = 0; i < 7; ++i) {  // 8 saves in the burst
    update.set_expected_version(saved.case_().version());
    ASSERT_TRUE(police_.stub->SaveDraft(Ctx().get(), update, &saved).ok()) << i;
  }
  const int64_t version = saved.case_().version();
  for (int i = 0; i < 3; ++i) {
    update.set_expected_version(version);
    const grpc::Status s = police_.stub->SaveDraft(Ctx().get(), update, &saved);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "QUOTA_EXCEEDED");
    EXPECT_GT(RetryDelayOf(FromGrpcStatus(s)), absl::Seconds(10));
  }
  auto stored = store_->Get(update.case_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version(), version);
  size_t refusal_records = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (e.outcome == "RESOURCE_EXHAUSTED") ++refusal_records;
  }
  EXPECT_EQ(refusal_records, 1u);
}

// Test that at the storage watermark new drafts are refused while the procedure goes on
// (transitions of existing cases still work).
TEST_F(ReferralsServiceTest, StorageWatermarkRefusesDraftsButNotTransitions) {
  v1::Case c = Referred();
  // The test sets maxmemory as an operator would (the workload's user may not).
  auto admin = redis::RedisClient::Create(redis_server_->admin_config());
  auto info = admin->Command({"INFO", "memory"});
  int64_t used = 0, max = 0;
  ASSERT_TRUE(info.ok() && quota::ParseInfoMemory(info->str, used, max));
  ASSERT_TRUE(admin->Command({"CONFIG", "SET", "maxmemory", absl::StrCat(used + 256 * 1024)}).ok());
  ASSERT_TRUE(storage_->PollOnce().ok());
  v1::SaveDraftRequest draft;
  v1::SaveDraftResponse saved;
  const grpc::Status s = police_.stub->SaveDraft(Ctx().get(), draft, &saved);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "STORAGE_WATERMARK");
  EXPECT_TRUE(Do(surya_, c, v1::TRANSITION_KIND_ACCEPT).ok());
  ASSERT_TRUE(admin->Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
}

// Test, table-driven from the protos, that every RPC refuses a request with any string, bytes or
// repeated field one over its bound: INVALID_ARGUMENT naming exactly that field's path.
TEST_F(ReferralsServiceTest, EveryFieldOverItsLimitIsRefusedWithItsPath) {
  const auto* service = v1::SaveDraftRequest::descriptor()->file()->FindServiceByName("Referrals");
  ASSERT_NE(service, nullptr);
  const std::vector<testing::OverLimitCase> cases = testing::OverLimitCases(*service);
  ASSERT_GT(cases.size(), 40u);
  auto channel = server_->Channel(pki_.AgencyTls(AgencyType::kPolice, "pz-brussels"));
  for (const testing::OverLimitCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.expected_path);
    const Status s = FromGrpcStatus(testing::CallRaw(channel, c.method, {c.request}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LARGE");
    EXPECT_THAT(testing::ViolationFields(s), ::testing::ElementsAre(c.expected_path));
  }
}

}  // namespace
}  // namespace concord::referrals
