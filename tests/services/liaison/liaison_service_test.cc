// Component test of concord.liaison.v1 over real mTLS, behind the real authorization table
// (common/authz in a ServerRunner, as in production), with a real redis-server (the service
// connects as the concord-liaison ACL user), directory records in the directory's own format
// (keys and typed attributes: magistrate_role, time_zone) and the live-revocation registry.
// Clocks are counted by common/time; notifications go to a recording sender through the real
// outbox.
#include "services/liaison/liaison_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/clients/directory_keys.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/notify/message_ids.h"
#include "common/notify/notifier_secret.h"
#include "common/quota/quota_checker.h"
#include "common/quota/token_bucket.h"
#include "common/server/open_calls.h"
#include "common/status/grpc_status.h"
#include "services/liaison/notifier.h"
#include "services/liaison/redis_liaison_store.h"
#include "tests/services/liaison/liaison_test_util.h"
#include "tests/support/fakes.h"
#include "tests/support/field_limit_cases.h"
#include "tests/support/field_violations.h"
#include "tests/support/quota_buckets.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::liaison {
namespace {

constexpr char kLocalTd[] = "concord.test";

class AuditRecorder final : public audit::AuditSink {
 public:
  Status Append(const audit::AuditEvent& event) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(event);
    return absl::OkStatus();
  }
  std::vector<audit::AuditEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<audit::AuditEvent> events_;
};

class RecordingSender final : public notify::NotificationSender {
 public:
  Status Send(const notify::Notification& n, std::string_view) override {
    std::lock_guard<std::mutex> lock(mu_);
    sent_.push_back(n);
    return absl::OkStatus();
  }
  std::vector<notify::Notification> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<notify::Notification> sent_;
};

struct Agent {
  AgencyId id;
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey sealing = crypto::X25519PrivateKey::Generate();
  std::unique_ptr<v1::Liaison::Stub> stub;
  concord::common::v1::AgencyId proto() const { return AgencyIdToProto(id); }
};

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  ctx->AddMetadata("concord-officer", "officer-7");
  return ctx;
}

std::string ReasonOf(const grpc::Status& s) { return concord::ReasonOf(FromGrpcStatus(s)); }

class LiaisonServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = concord::testing::RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    redis_ = redis::RedisClient::Create(redis_server_->config());
    directory_writer_ = redis::RedisClient::Create(redis_server_->admin_config());
    store_ = std::make_unique<RedisLiaisonStore>(*redis_);
    directory_ = std::make_unique<clients::DirectoryReader>(*redis_, kLocalTd);
    // The quotas and the registry of open calls with the per-agency cap on streams, as the host
    // builds them (a cap of 2 streams so that the test of the cap stays small).
    quotas_ = std::make_unique<quota::QuotaChecker>(
        *quota::QuotaTable::Defaults().WithOverrides(QuotaOverrides()), metrics_,
        SystemClock::Get());
    calls_ = std::make_unique<server::OpenCalls>(revocations_, metrics_, SystemClock::Get(),
                                                 server::OpenCallsOptions{.quotas = quotas_.get()});
    reads_ = std::make_unique<quota::ReadMeter>(quotas_.get(), redis_.get(), "lia");
    service_ = std::make_unique<LiaisonService>(*store_, *directory_, audit_, metrics_, *calls_,
                                                SystemClock::Get(),
                                                LiaisonServiceOptions{.trust_domain = kLocalTd,
                                                                      .clocks = ClockConfig{},
                                                                      .quotas = quotas_.get(),
                                                                      .reads = reads_.get()});
    outbox_source_ = std::make_unique<LiaisonOutbox>(*store_, kLocalTd);
    outbox_ = std::make_unique<notify::OutboxWorker>(*outbox_source_, &sender_, &ids_, metrics_,
                                                     LiaisonNotifierOptions("test"));
    server_ = std::make_unique<concord::testing::SecureTestServer>(pki_, metrics_, revocations_,
                                                                   calls_.get());
    ASSERT_TRUE(server_->Start({service_.get()}).ok());
    judge_ = MakeAgent(AgencyType::kMagistrate, "ij-bruxelles",
                       {{"magistrate_role", "investigating_judge"}});
    prosecutor_ =
        MakeAgent(AgencyType::kMagistrate, "parquet-bxl", {{"magistrate_role", "prosecutor"}});
    police_ = MakeAgent(AgencyType::kPolice, "dju-spoc", {});
    social_ = MakeAgent(AgencyType::kSocialInspection, "sis-bxl", {});
    partner_ = MakeAgent(AgencyType::kForeignPartner, "nl-om", {{"time_zone", "Europe/Amsterdam"}});
    platform_a_ = MakeAgent(AgencyType::kPlatform, "socialnet", {});
    platform_b_ = MakeAgent(AgencyType::kPlatform, "videohost", {});
  }

  void TearDown() override { server_.reset(); }

  /// --quotas of the fixture's process.
  virtual std::string QuotaOverrides() const { return "*.streams=2"; }

  Agent MakeAgent(AgencyType type, std::string id, std::map<std::string, std::string> attrs) {
    Agent a;
    a.id = AgencyId{kLocalTd, type, id};
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", "Agency " + id},
                        {"jurisdiction", "BE"},
                        {"specialisations", nlohmann::json::array()},
                        {"languages", {"fr"}},
                        {"signing_public_key_pem", a.signing.PublicKey().ToPem()},
                        {"sealing_public_key_pem", a.sealing.PublicKey().ToPem()},
                        {"capacity", 0},
                        {"state", "active"},
                        {"attributes", attrs}};
    EXPECT_TRUE(directory_writer_
                    ->Command({"HSET", clients::DirectoryKey("agency:" + a.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
    a.stub = v1::Liaison::NewStub(server_->Channel(pki_.AgencyTls(type, id)));
    return a;
  }

  v1::Request Order(Agent& issuer, Agent& platform, v1::DataCategory category, bool emergency,
                    grpc::Status* status = nullptr) {
    v1::CreateRequestRequest req;
    req.set_type(v1::REQUEST_TYPE_PRODUCTION_ORDER);
    *req.mutable_executor() = platform.proto();
    req.set_data_category(category);
    req.set_offence_max_years(10);
    req.set_emergency(emergency);
    req.set_do_not_inform_user(true);
    req.set_order_message_id("msg-order-0000000001");
    v1::RequestResponse resp;
    grpc::Status s = issuer.stub->CreateRequest(Ctx().get(), req, &resp);
    if (status != nullptr) *status = s;
    return resp.request();
  }

  v1::ActRequest SignedAnswer(const v1::Request& r, const Agent& by) {
    v1::ActRequest a;
    a.set_request_id(r.request_id());
    a.set_expected_version(r.version());
    a.set_move(v1::MOVE_ANSWER);
    v1::EvidenceRef* e = a.add_evidence();
    e->set_message_id("msg-evidence-000001");
    e->set_sha256(std::string(64, 'b'));
    e->set_size_bytes(4096);
    a.set_answer_signature(
        *by.signing.Sign(AnswerSigningBytes(r.request_id(), r.version() + 1, a.evidence())));
    return a;
  }

  concord::testing::TestPki pki_{kLocalTd};
  std::unique_ptr<concord::testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<redis::RedisClient> directory_writer_;
  std::unique_ptr<RedisLiaisonStore> store_;
  std::unique_ptr<clients::DirectoryReader> directory_;
  metrics::Metrics metrics_;
  AuditRecorder audit_;
  RecordingSender sender_;
  concord::testing::NoRevocations revocations_;
  std::unique_ptr<quota::QuotaChecker> quotas_;
  std::unique_ptr<quota::ReadMeter> reads_;
  std::unique_ptr<server::OpenCalls> calls_;
  std::unique_ptr<LiaisonService> service_;
  notify::MessageIds ids_ =
      *notify::MessageIds::Create(*notify::NotifierSecret::FromBytes(std::string(32, 's')),
                                  "admin/concord-liaison", kNotificationIdPrefix);
  std::unique_ptr<LiaisonOutbox> outbox_source_;
  std::unique_ptr<notify::OutboxWorker> outbox_;
  std::unique_ptr<concord::testing::SecureTestServer> server_;
  Agent judge_, prosecutor_, police_, social_, partner_, platform_a_, platform_b_;
};

// Test that a platform sees only the orders addressed to it: another platform cannot list,
// read or answer them (NOT_FOUND, as for an order that does not exist), and the addressee
// answers with a signed evidence list.
TEST_F(LiaisonServiceTest, PlatformSeesAndAnswersOnlyItsOwnOrders) {
  grpc::Status s;
  const v1::Request order = Order(judge_, platform_a_, v1::DATA_CATEGORY_CONTENT, false, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(order.state(), v1::REQUEST_STATE_ISSUED);

  v1::ListRequestsResponse listed;
  ASSERT_TRUE(platform_b_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.requests_size(), 0);
  ASSERT_TRUE(platform_a_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  ASSERT_EQ(listed.requests_size(), 1);
  EXPECT_EQ(listed.requests(0).request_id(), order.request_id());

  v1::GetRequestRequest get;
  get.set_request_id(order.request_id());
  v1::GetRequestResponse got;
  s = platform_b_.stub->GetRequest(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  v1::RequestResponse acted;
  s = platform_b_.stub->Act(Ctx().get(), SignedAnswer(order, platform_b_), &acted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  // A signature that is not the addressee's is refused before anything is written.
  s = platform_a_.stub->Act(Ctx().get(), SignedAnswer(order, platform_b_), &acted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(s), "BAD_SIGNATURE");
  s = platform_a_.stub->Act(Ctx().get(), SignedAnswer(order, platform_a_), &acted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acted.request().state(), v1::REQUEST_STATE_ANSWERED);
  EXPECT_EQ(acted.request().evidence(0).sha256(), std::string(64, 'b'));

  // The issuer reads the history with the signature; a platform cannot issue orders at all.
  ASSERT_TRUE(judge_.stub->GetRequest(Ctx().get(), get, &got).ok());
  ASSERT_EQ(got.history_size(), 2);
  EXPECT_EQ(got.history(1).answer_signature().size(), 64u);
  v1::CreateRequestRequest by_platform;
  by_platform.set_type(v1::REQUEST_TYPE_PRODUCTION_ORDER);
  s = platform_a_.stub->CreateRequest(Ctx().get(), by_platform, &acted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Every call was audited, refusals included.
  int consultations = 0, refusals = 0;
  for (const audit::AuditEvent& e : audit_.events()) {
    if (e.operation == audit::Operation::kConsultation) ++consultations;
    if (e.outcome != "OK") ++refusals;
  }
  EXPECT_GE(consultations, 4);
  EXPECT_GE(refusals, 3);
}

// Test that a prosecutor's production order for content data is refused with the reason, and
// that the same prosecutor may order subscriber data.
TEST_F(LiaisonServiceTest, ProsecutorContentOrderRefused) {
  grpc::Status s;
  Order(prosecutor_, platform_a_, v1::DATA_CATEGORY_CONTENT, false, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(s), "JUDGE_REQUIRED");
  Order(prosecutor_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, false, &s);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// Test that an 8-hour order alerts the platform at once, through the outbox, with no personal
// data in the body; and that the clock is counted in the executor's time zone.
TEST_F(LiaisonServiceTest, EmergencyOrderAlertsThePlatformAtOnce) {
  grpc::Status s;
  const v1::Request order = Order(judge_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(order.clocks_size(), 1);
  EXPECT_EQ(order.clocks(0).period_hours(), 8);
  EXPECT_EQ(order.clocks(0).time_zone(), "Europe/Brussels");
  ASSERT_TRUE(outbox_->RunOnce().ok());
  const auto sent = sender_.sent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].recipients.size(), 1u);
  EXPECT_EQ(sent[0].recipients[0].Key(), "platform/socialnet");
  const auto body = nlohmann::json::parse(sent[0].body);
  EXPECT_EQ(body["urgent"], true);
  EXPECT_EQ(body["request_id"], order.request_id());

  // An EIO to a Dutch partner is counted in the partner's zone.
  v1::CreateRequestRequest eio;
  eio.set_type(v1::REQUEST_TYPE_EIO);
  *eio.mutable_executor() = partner_.proto();
  v1::RequestResponse resp;
  ASSERT_TRUE(judge_.stub->CreateRequest(Ctx().get(), eio, &resp).ok());
  EXPECT_EQ(resp.request().executor_time_zone(), "Europe/Amsterdam");
  ASSERT_GT(resp.request().clocks_size(), 0);
  const v1::Clock& ack = resp.request().clocks(0);
  EXPECT_EQ(ack.time_zone(), "Europe/Amsterdam");
  StatusOr<absl::TimeZone> amsterdam = LoadTimeZone("Europe/Amsterdam");
  ASSERT_TRUE(amsterdam.ok());
  EXPECT_EQ(FromProtoTime(ack.due_at()), EndOfPeriod(FromProtoTime(ack.started_at()),
                                                     Period::Days(ack.period_days()), *amsterdam)
                                             .end);
}

// Test the clock scheduler's store side on real Redis, as the hosted module uses it: the
// emergency order's clock counts as due within 24 h, then as overdue once past its due time (the
// gauges' queries); its reminder (2 h before) and its overdue alert are each claimed exactly once
// (FireDue) and become notifications to both parties; once answered, the clock counts no more and
// a late firing says nothing.
TEST_F(LiaisonServiceTest, ClocksFireOnceAndCountAsOverdue) {
  grpc::Status s;
  const v1::Request order = Order(judge_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const absl::Time due = FromProtoTime(order.clocks(0).due_at());
  ASSERT_TRUE(outbox_->RunOnce().ok());  // the immediate alert
  const size_t before = sender_.sent().size();

  auto soon = store_->CountDueBetween(absl::Now(), absl::Now() + absl::Hours(24));
  ASSERT_TRUE(soon.ok()) << soon.status();
  EXPECT_EQ((*soon)["production_order"], 1);
  auto overdue = store_->CountDueBetween(absl::InfinitePast(), absl::Now());
  ASSERT_TRUE(overdue.ok());
  EXPECT_EQ(overdue->count("production_order"), 0u);

  auto reminder = store_->FireDue(due - absl::Hours(1), 100);
  ASSERT_TRUE(reminder.ok()) << reminder.status();
  ASSERT_EQ(reminder->size(), 1u);
  EXPECT_EQ((*reminder)[0].stage, "reminder");
  EXPECT_EQ((*reminder)[0].type_label, "production_order");
  EXPECT_TRUE(store_->FireDue(due - absl::Hours(1), 100)->empty());  // claimed once
  auto late = store_->FireDue(due + absl::Minutes(1), 100);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].stage, "overdue");
  overdue = store_->CountDueBetween(absl::InfinitePast(), due + absl::Minutes(1));
  ASSERT_TRUE(overdue.ok());
  EXPECT_EQ((*overdue)["production_order"], 1);

  ASSERT_TRUE(outbox_->RunOnce().ok());
  const auto sent = sender_.sent();
  ASSERT_EQ(sent.size(), before + 2);
  for (size_t i = before; i < sent.size(); ++i) {
    // Both parties have a Concord inbox: the executor first, then the issuer.
    ASSERT_EQ(sent[i].recipients.size(), 2u);
    EXPECT_EQ(sent[i].recipients[0].Key(), "platform/socialnet");
    EXPECT_EQ(sent[i].recipients[1].Key(), judge_.id.Key());
    const auto body = nlohmann::json::parse(sent[i].body);
    EXPECT_EQ(body["type"], "liaison.clock");
    EXPECT_EQ(body["clock"], "production");
    EXPECT_EQ(body["time_zone"], "Europe/Brussels");
  }
  EXPECT_EQ(nlohmann::json::parse(sent[before].body)["stage"], "reminder");
  EXPECT_EQ(nlohmann::json::parse(sent[before + 1].body)["stage"], "overdue");

  // Answered: the clock stops and counts no more.
  v1::ActRequest answer;
  answer.set_request_id(order.request_id());
  answer.set_expected_version(order.version());
  answer.set_move(v1::MOVE_ANSWER);
  v1::EvidenceRef* e = answer.add_evidence();
  e->set_message_id("msg-evidence-000001");
  e->set_sha256(std::string(64, 'a'));
  e->set_size_bytes(10);
  auto sig = platform_a_.signing.Sign(
      AnswerSigningBytes(order.request_id(), order.version() + 1, answer.evidence()));
  ASSERT_TRUE(sig.ok());
  answer.set_answer_signature(*sig);
  v1::RequestResponse answered;
  s = platform_a_.stub->Act(Ctx().get(), answer, &answered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  overdue = store_->CountDueBetween(absl::InfinitePast(), due + absl::Hours(1));
  ASSERT_TRUE(overdue.ok());
  EXPECT_EQ(overdue->count("production_order"), 0u);
  EXPECT_TRUE(store_->FireDue(due + absl::Hours(1), 100)->empty());
}

// Test that leaving a joint investigation team ends access at once: the member's open WatchJit
// stream ends with PERMISSION_DENIED (NOT_A_JIT_MEMBER) and its next call is refused; a
// non-member cannot be a recipient of an exchange.
TEST_F(LiaisonServiceTest, LeavingAJitEndsAccessIncludingOpenStreams) {
  v1::CreateJitRequest create;
  create.set_reference("JIT-BE-NL-2026-01");
  *create.add_members() = partner_.proto();
  *create.add_members() = social_.proto();
  v1::JitResponse jit;
  grpc::Status s = police_.stub->CreateJit(Ctx().get(), create, &jit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(jit.jit().members_size(), 3);

  // The partner watches the ledger.
  auto watch_ctx = Ctx(absl::Seconds(20));
  v1::WatchJitRequest watch;
  watch.set_jit_id(jit.jit().jit_id());
  auto reader = partner_.stub->WatchJit(watch_ctx.get(), watch);
  v1::JitEntry entry;
  ASSERT_TRUE(reader->Read(&entry));  // MEMBER_ADDED partner
  ASSERT_TRUE(reader->Read(&entry));  // MEMBER_ADDED social inspection
  EXPECT_EQ(entry.kind(), v1::JIT_ENTRY_KIND_MEMBER_ADDED);
  // The open stream is counted for operators.
  EXPECT_NE(metrics_.Serialize().find("concord_liaison_jit_streams 1"), std::string::npos);

  v1::ShareInJitRequest share;
  share.set_jit_id(jit.jit().jit_id());
  share.set_kind(v1::JIT_ENTRY_KIND_EVIDENCE);
  share.set_message_id("msg-jit-evidence-0001");
  share.set_envelope_sha256(std::string(64, 'c'));
  v1::EvidenceRef* e = share.add_evidence();
  e->set_message_id("msg-jit-evidence-0001");
  e->set_sha256(std::string(64, 'd'));
  e->set_size_bytes(100);
  *share.add_recipients() = partner_.proto();
  v1::ShareInJitResponse shared;
  s = police_.stub->ShareInJit(Ctx().get(), share, &shared);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(reader->Read(&entry));
  EXPECT_EQ(entry.kind(), v1::JIT_ENTRY_KIND_EVIDENCE);
  EXPECT_EQ(entry.evidence(0).sha256(), std::string(64, 'd'));
  EXPECT_EQ(entry.actor().id(), "dju-spoc");

  // A platform is no member: it can be no recipient.
  *share.add_recipients() = platform_a_.proto();
  s = police_.stub->ShareInJit(Ctx().get(), share, &shared);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(s), "RECIPIENT_NOT_A_MEMBER");

  // The partner leaves: its open stream ends, its next call is refused.
  v1::LeaveJitRequest leave;
  leave.set_jit_id(jit.jit().jit_id());
  v1::JitResponse left;
  ASSERT_TRUE(partner_.stub->LeaveJit(Ctx().get(), leave, &left).ok());
  EXPECT_EQ(left.jit().members_size(), 2);
  const absl::Time left_at = absl::Now();
  int more = 0;
  while (reader->Read(&entry) && more < 10) ++more;  // at most the MEMBER_LEFT entry
  const grpc::Status ended = reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonOf(ended), "NOT_A_JIT_MEMBER");
  EXPECT_LT(absl::Now() - left_at, absl::Seconds(2));
  EXPECT_NE(metrics_.Serialize().find("concord_liaison_jit_streams 0"), std::string::npos);
  v1::ListJitEntriesRequest list;
  list.set_jit_id(jit.jit().jit_id());
  v1::ListJitEntriesResponse entries;
  s = partner_.stub->ListJitEntries(Ctx().get(), list, &entries);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(social_.stub->ListJitEntries(Ctx().get(), list, &entries).ok());
  EXPECT_EQ(entries.entries_size(), 4);  // 2 added, the evidence, the partner left
  EXPECT_EQ(entries.entries(3).kind(), v1::JIT_ENTRY_KIND_MEMBER_LEFT);
  // The disclosure was audited naming its recipient.
  bool disclosed = false;
  for (const audit::AuditEvent& ev : audit_.events()) {
    disclosed |= ev.operation == audit::Operation::kDisclosure && ev.outcome == "OK" &&
                 ev.recipients == std::vector<std::string>{"foreign_partner/nl-om"};
  }
  EXPECT_TRUE(disclosed);
}

// Test the platform desk: a DSA art. 18 notification received by the police is linked to a
// case and listed back; a magistrate has no desk.
TEST_F(LiaisonServiceTest, DsaNotificationLinkedToACase) {
  v1::LinkNotificationRequest link;
  link.set_message_id("msg-dsa-art18-000001");
  link.set_case_reference("BXL.99/2026");
  *link.mutable_platform() = platform_a_.proto();
  v1::LinkNotificationResponse linked;
  ASSERT_TRUE(police_.stub->LinkNotification(Ctx().get(), link, &linked).ok());
  v1::ListLinkedNotificationsRequest list;
  list.set_case_reference("BXL.99/2026");
  v1::ListLinkedNotificationsResponse links;
  ASSERT_TRUE(police_.stub->ListLinkedNotifications(Ctx().get(), list, &links).ok());
  ASSERT_EQ(links.links_size(), 1);
  EXPECT_EQ(links.links(0).platform().id(), "socialnet");
  grpc::Status s = judge_.stub->LinkNotification(Ctx().get(), link, &linked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  link.set_case_reference("has spaces");
  s = police_.stub->LinkNotification(Ctx().get(), link, &linked);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Test the EIO round trip over the wire: acknowledge within the week, recognise, answer; the
// wrong party and a stale version are refused.
TEST_F(LiaisonServiceTest, EioAcknowledgedRecognisedAnswered) {
  v1::CreateRequestRequest eio;
  eio.set_type(v1::REQUEST_TYPE_EIO);
  *eio.mutable_executor() = judge_.proto();
  v1::RequestResponse r;
  ASSERT_TRUE(partner_.stub->CreateRequest(Ctx().get(), eio, &r).ok());
  auto act = [&](Agent& who, v1::Move move, int64_t version) {
    v1::ActRequest a;
    a.set_request_id(r.request().request_id());
    a.set_expected_version(version);
    a.set_move(move);
    v1::RequestResponse out;
    grpc::Status s = who.stub->Act(Ctx().get(), a, &out);
    if (s.ok()) r = out;
    return s;
  };
  grpc::Status s = act(partner_, v1::MOVE_ACKNOWLEDGE, 1);
  EXPECT_EQ(ReasonOf(s), "WRONG_PARTY");
  ASSERT_TRUE(act(judge_, v1::MOVE_ACKNOWLEDGE, 1).ok());
  s = act(judge_, v1::MOVE_RECOGNISE, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  ASSERT_TRUE(act(judge_, v1::MOVE_RECOGNISE, 2).ok());
  ASSERT_TRUE(act(judge_, v1::MOVE_ANSWER, 3).ok());
  EXPECT_EQ(r.request().state(), v1::REQUEST_STATE_ANSWERED);
  EXPECT_EQ(r.request().clocks_size(), 0);
}

// Every field limit of concord.liaison.v1 (the proto's (concord.common.v1.limit) options),
// table-driven over real mTLS: each RPC refuses a request with one field over its bound, naming
// it, before anything is read, stored or audited.
TEST_F(LiaisonServiceTest, EveryFieldOverItsLimitIsRefusedWithItsPath) {
  const auto* service =
      v1::CreateRequestRequest::descriptor()->file()->FindServiceByName("Liaison");
  ASSERT_NE(service, nullptr);
  const std::vector<concord::testing::OverLimitCase> cases =
      concord::testing::OverLimitCases(*service);
  ASSERT_GE(cases.size(), 25u);
  auto channel = server_->Channel(pki_.AgencyTls(AgencyType::kPolice, "dju-spoc"));
  // RecordCrossing is the federation gateway's alone (the policy table refuses the police).
  auto gateway = server_->Channel(pki_.AgencyTls(AgencyType::kAdmin, "concord-gateway"));
  for (const concord::testing::OverLimitCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.expected_path);
    const bool by_gateway = absl::EndsWith(c.method, "/RecordCrossing");
    const Status s = FromGrpcStatus(
        concord::testing::CallRaw(by_gateway ? gateway : channel, c.method, {c.request}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(concord::ReasonOf(s), "FIELD_TOO_LARGE");
    EXPECT_THAT(concord::testing::ViolationFields(s), ::testing::ElementsAre(c.expected_path));
  }
  v1::ListRequestsResponse listed;
  ASSERT_TRUE(police_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.requests_size(), 0);
}

// Test that WatchJit streams count against the agency's cap on open streams (the registry of
// open calls, common/quota): beyond it the next one is refused at once with RESOURCE_EXHAUSTED,
// LIMIT_REACHED and RetryInfo, before anything is read, and another agency is not affected.
TEST_F(LiaisonServiceTest, WatchJitStreamsCountAgainstTheAgencyCap) {
  v1::CreateJitRequest create;
  create.set_reference("JIT-BE-NL-2026-02");
  *create.add_members() = partner_.proto();
  v1::JitResponse jit;
  ASSERT_TRUE(police_.stub->CreateJit(Ctx().get(), create, &jit).ok());
  v1::WatchJitRequest watch;
  watch.set_jit_id(jit.jit().jit_id());
  std::vector<std::unique_ptr<grpc::ClientContext>> ctxs;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::JitEntry>>> held;
  for (int i = 0; i < 2; ++i) {
    ctxs.push_back(Ctx(absl::Seconds(30)));
    held.push_back(police_.stub->WatchJit(ctxs.back().get(), watch));
    v1::JitEntry first;
    ASSERT_TRUE(held.back()->Read(&first)) << i;  // the ledger's first entry: admitted
  }
  auto ctx = Ctx(absl::Seconds(10));
  auto refused = police_.stub->WatchJit(ctx.get(), watch);
  v1::JitEntry e;
  EXPECT_FALSE(refused->Read(&e));
  const Status s = FromGrpcStatus(refused->Finish());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(concord::ReasonOf(s), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(s).at("limit"), "streams");
  EXPECT_NE(RetryDelayOf(s), absl::InfiniteDuration());
  auto other_ctx = Ctx(absl::Seconds(30));
  auto other = partner_.stub->WatchJit(other_ctx.get(), watch);
  EXPECT_TRUE(other->Read(&e));
  other_ctx->TryCancel();
  (void)other->Finish();
  for (size_t i = 0; i < held.size(); ++i) {
    ctxs[i]->TryCancel();
    (void)held[i]->Finish();
  }
  EXPECT_NE(metrics_.Serialize().find(
                "concord_quota_refusals_total{agency_type=\"police\",limit=\"streams\"} 1"),
            std::string::npos);
}

// The liaison_request and jit_write buckets (common/quota) made small so that a few calls exhaust
// them.
class LiaisonQuotaTest : public LiaisonServiceTest {
 protected:
  std::string QuotaOverrides() const override {
    return "*.streams=2;*.liaison_request=3/0.001;*.jit_write=3/0.001";
  }

  size_t Refusals(const Agent& a, const std::string& method) {
    size_t n = 0;
    for (const audit::AuditEvent& e : audit_.events()) {
      if (e.agency == a.id && e.outcome == "RESOURCE_EXHAUSTED" &&
          absl::EndsWith(e.method, method)) {
        ++n;
      }
    }
    return n;
  }

  static void ExpectQuotaRefusal(const grpc::Status& g, const std::string& limit,
                                 const std::string& subject) {
    ASSERT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << g.error_message();
    const Status s = FromGrpcStatus(g);
    EXPECT_EQ(concord::ReasonOf(s), "QUOTA_EXCEEDED");
    EXPECT_EQ(ReasonMetadataOf(s)["limit"], limit);
    EXPECT_GT(RetryDelayOf(s), absl::Seconds(10));
    EXPECT_NE(RetryDelayOf(s), absl::InfiniteDuration());
    ASSERT_EQ(QuotaViolationsOf(s).size(), 1u);
    EXPECT_EQ(QuotaViolationsOf(s)[0].field, subject);
  }
};

class LiaisonReadQuotaTest : public LiaisonQuotaTest {
 protected:
  std::string QuotaOverrides() const override { return "*.streams=2;platform.read=500/0.001"; }
  std::string ReadBucket() const {
    return quota::BucketKey("lia", quota::Quota::kRead, platform_a_.id);
  }
  double Tokens() { return concord::testing::BucketTokens(*redis_, ReadBucket()); }
};

// Test that the liaison consultations (GetRequest, ListRequests, ...) cost the caller one token
// of its read bucket each, before anything is read; beyond it they are refused with
// RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, limit read, RetryInfo and QuotaFailure, return nothing,
// leave one audit record for the flood, and another agency's reads go on.
TEST_F(LiaisonReadQuotaTest, ConsultationsAreChargedTheReadBucketAndRefusedBeyondIt) {
  grpc::Status s;
  const v1::Request order = Order(judge_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, false, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::GetRequestRequest get;
  get.set_request_id(order.request_id());
  v1::GetRequestResponse got;
  ASSERT_TRUE(platform_a_.stub->GetRequest(Ctx().get(), get, &got).ok());
  EXPECT_NEAR(Tokens(), 499, 0.1);
  v1::ListRequestsResponse listed;
  ASSERT_TRUE(platform_a_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.requests_size(), 1);
  EXPECT_NEAR(Tokens(), 498, 0.1);

  ASSERT_TRUE(redis_->Command({"HSET", ReadBucket(), "t", "0"}).ok());
  listed.Clear();
  ExpectQuotaRefusal(platform_a_.stub->ListRequests(Ctx().get(), {}, &listed), "read",
                     "agency:platform/" + platform_a_.id.id);
  EXPECT_EQ(listed.requests_size(), 0);
  for (int i = 0; i < 3; ++i) {
    ExpectQuotaRefusal(platform_a_.stub->GetRequest(Ctx().get(), get, &got), "read",
                       "agency:platform/" + platform_a_.id.id);
  }
  EXPECT_EQ(Refusals(platform_a_, "/ListRequests") + Refusals(platform_a_, "/GetRequest"), 1u);
  ASSERT_TRUE(judge_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.requests_size(), 1);
}

// Test that CreateRequest and Act are charged the acting agency's liaison_request bucket inside
// the store's script: beyond it the next order and the next move are refused with
// RESOURCE_EXHAUSTED, RetryInfo and QuotaFailure, store nothing and leave one audit record for a
// flood; each agency has its own bucket.
TEST_F(LiaisonQuotaTest, LiaisonRequestBucketRefusesTheNextOrderAndTheNextMove) {
  std::vector<v1::Request> orders;
  for (int i = 0; i < 3; ++i) {
    grpc::Status s;
    orders.push_back(Order(judge_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, false, &s));
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  for (int i = 0; i < 5; ++i) {
    grpc::Status s;
    Order(judge_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, false, &s);
    ExpectQuotaRefusal(s, "liaison_request", "agency:magistrate/ij-bruxelles");
  }
  EXPECT_EQ(Refusals(judge_, "/CreateRequest"), 1u);  // five refusals, one record
  v1::ListRequestsResponse listed;
  ASSERT_TRUE(judge_.stub->ListRequests(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.requests_size(), 3);

  // The platform's own bucket: three answers pass, the fourth move is refused, nothing written.
  grpc::Status s;
  orders.push_back(Order(prosecutor_, platform_a_, v1::DATA_CATEGORY_SUBSCRIBER, false, &s));
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (int i = 0; i < 3; ++i) {
    v1::RequestResponse acted;
    s = platform_a_.stub->Act(Ctx().get(), SignedAnswer(orders[i], platform_a_), &acted);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  v1::RequestResponse acted;
  s = platform_a_.stub->Act(Ctx().get(), SignedAnswer(orders[3], platform_a_), &acted);
  ExpectQuotaRefusal(s, "liaison_request", "agency:platform/socialnet");
  v1::GetRequestRequest get;
  get.set_request_id(orders[3].request_id());
  v1::GetRequestResponse got;
  ASSERT_TRUE(prosecutor_.stub->GetRequest(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.request().state(), v1::REQUEST_STATE_ISSUED);
  EXPECT_EQ(got.history_size(), 1);
  const std::string exposition = metrics_.Serialize();
  EXPECT_NE(exposition.find("concord_quota_refusals_total{agency_type=\"magistrate\","
                            "limit=\"liaison_request\"} 5"),
            std::string::npos);
  EXPECT_NE(exposition.find("concord_quota_refusals_total{agency_type=\"platform\","
                            "limit=\"liaison_request\"} 1"),
            std::string::npos);
}

// Test that CreateJit and ShareInJit are charged the acting agency's jit_write bucket inside the
// store's scripts: beyond it the next share and the next team are refused (RESOURCE_EXHAUSTED,
// RetryInfo, QuotaFailure) and the ledger is unchanged.
TEST_F(LiaisonQuotaTest, JitWriteBucketRefusesTheNextShareAndTheNextTeam) {
  v1::CreateJitRequest create;
  create.set_reference("JIT-BE-NL-2026-02");
  *create.add_members() = partner_.proto();
  v1::JitResponse jit;
  grpc::Status s = police_.stub->CreateJit(Ctx().get(), create, &jit);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string jit_id = jit.jit().jit_id();
  v1::ShareInJitRequest share;
  share.set_jit_id(jit_id);
  share.set_kind(v1::JIT_ENTRY_KIND_EVIDENCE);
  share.set_message_id("msg-jit-evidence-0002");
  share.set_envelope_sha256(std::string(64, 'c'));
  v1::EvidenceRef* e = share.add_evidence();
  e->set_message_id("msg-jit-evidence-0002");
  e->set_sha256(std::string(64, 'd'));
  e->set_size_bytes(100);
  *share.add_recipients() = partner_.proto();
  v1::ShareInJitResponse shared;
  for (int i = 0; i < 2; ++i) {
    s = police_.stub->ShareInJit(Ctx().get(), share, &shared);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  auto before = store_->JitEntries(jit_id, 0, 100);
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 4; ++i) {
    s = police_.stub->ShareInJit(Ctx().get(), share, &shared);
    ExpectQuotaRefusal(s, "jit_write", "agency:police/dju-spoc");
  }
  s = police_.stub->CreateJit(Ctx().get(), create, &jit);
  ExpectQuotaRefusal(s, "jit_write", "agency:police/dju-spoc");
  auto after = store_->JitEntries(jit_id, 0, 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
  EXPECT_EQ(Refusals(police_, "/ShareInJit"), 1u);
  // The partner's own bucket is untouched.
  s = partner_.stub->ShareInJit(
      Ctx().get(),
      [&] {
        v1::ShareInJitRequest r = share;
        r.clear_recipients();
        *r.add_recipients() = police_.proto();
        return r;
      }(),
      &shared);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace concord::liaison
