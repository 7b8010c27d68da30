// The referrals notifier against the REAL messaging and directory modules (as concord-server
// hosts them), over real mTLS behind the real authorization table, with a real redis-server:
// a notification sent as admin/concord-referrals reaches the recipients' inboxes, verifies and
// unseals with their keys, an id holding another envelope is never taken for "sent", an agency
// cannot suppress its own overdue alert by taking the alert's message id first, and the
// messaging policy keeps every other admin identity and every non-notification out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/messaging/message_crypto.h"
#include "client/messaging/messaging_client.h"
#include "client/notify/messaging_notification_sender.h"
#include "common/authz/auth_processor.h"
#include "common/authz/policy.h"
#include "common/clients/directory_keys.h"
#include "common/crypto/hash.h"
#include "common/notify/message_ids.h"
#include "common/notify/notifier_identity.h"
#include "common/server/server_runner.h"
#include "common/tls/tls.h"
#include "services/directory/directory_module.h"
#include "services/messaging/messaging_module.h"
#include "services/referrals/ids.h"
#include "services/referrals/notifier.h"
#include "services/referrals/redis_referral_store.h"
#include "services/referrals/referrals_module.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::referrals {
namespace {

namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;
constexpr char kTd[] = "concord.test";

using testing::NoRevocations;
using testing::RecordingAuditSink;

struct Party {
  AgencyId id;
  testing::CertFiles cert;
  mc::SenderIdentity identity{mc::AgencyProto{}, crypto::Ed25519PrivateKey::Generate(),
                              crypto::X25519PrivateKey::Generate()};
};

class NotifierMessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = testing::RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    cfg_.trust_domain = kTd;
    cfg_.redis_port = redis_server_->port();
    // One HostDeps for two modules (messaging, directory): a user with both workloads' rights.
    redis_config_ = redis_server_->admin_config();
    redis_ = redis::RedisClient::Create(redis_config_);
    deps_ = std::make_unique<host::HostDeps>(host::HostDeps{
        cfg_, *redis_, redis_config_, metrics_, audit_, revocations_, SystemClock::Get(), port_});
    auto messaging = messaging::MessagingModule().create(*deps_);
    ASSERT_TRUE(messaging.ok()) << messaging.status();
    messaging_ = *std::move(messaging);
    auto directory = directory::DirectoryModule().create(*deps_);
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);

    server_ = std::make_unique<testing::SecureTestServer>(pki_, metrics_, revocations_);
    std::vector<grpc::Service*> services = messaging_->services();
    for (auto* svc : directory_->services()) services.push_back(svc);
    ASSERT_TRUE(server_->Start(services).ok());
    port_.store(server_->port());

    notifier_ = Register(AgencyType::kAdmin, "concord-referrals");
    centre_ = Register(AgencyType::kReceptionCentre, "surya");
    magistrate_ = Register(AgencyType::kMagistrate, "parquet-liege");
    coordination_ = Register(AgencyType::kCoordinationUnit, "cic");
    ops_ = Register(AgencyType::kAdmin, "ops");
  }

  void TearDown() override { server_.reset(); }

  // An agency in the directory's record format, with its certificate from the test PKI.
  Party Register(AgencyType type, const std::string& id) {
    Party p;
    p.id = AgencyId{kTd, type, id};
    p.cert = pki_.AgencyCert(type, id);
    p.identity.agency = AgencyIdToProto(p.id);
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", id},
                        {"jurisdiction", "BE"},
                        {"signing_public_key_pem", p.identity.signing_key.PublicKey().ToPem()},
                        {"sealing_public_key_pem", p.identity.sealing_key.PublicKey().ToPem()},
                        {"certificate_serials", {p.cert.serial}},
                        {"state", "active"},
                        {"version", 1}};
    EXPECT_TRUE(redis_
                    ->Command({"HSET", clients::DirectoryKey("agency:" + p.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
    return p;
  }

  // The notifier directory in scripts/pki.sh layout for `who`.
  std::string IdentityDir(const Party& who) {
    const std::filesystem::path dir = std::filesystem::path(pki_.dir()) / ("notifier-" + who.id.id);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(who.cert.cert_file, dir / "cert.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(who.cert.key_file, dir / "key.pem",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(dir / "sign.key") << who.identity.signing_key.ToPem();
    std::ofstream(dir / "seal.key") << who.identity.sealing_key.ToPem();
    return dir.string();
  }

  std::unique_ptr<notify::MessagingNotificationSender> Sender(const Party& who) {
    auto identity =
        notify::LoadNotifierIdentity(IdentityDir(who), pki_.ca_file(), kTd, "--notifier-dir");
    EXPECT_TRUE(identity.ok()) << identity.status();
    if (!identity.ok()) return nullptr;
    return std::make_unique<notify::MessagingNotificationSender>(
        *std::move(identity), [this] { return "127.0.0.1:" + std::to_string(port_.load()); });
  }

  // A REFERRED case from `referrer` to centre_ whose 24 h centre-response deadline is already
  // due; returns the outbox item id of its overdue alert once the scheduler fired it.
  std::string OverdueCase(RedisReferralStore& store, const Party& referrer, absl::Time now) {
    const absl::Time due = absl::FromUnixMillis(absl::ToUnixMillis(now - absl::Hours(1)));
    v1::Case c;
    c.set_case_id("ref-cccccccccccccccccccccccccc");
    c.set_subject_ref("subj-dddddddddddddddddddddddddd");
    *c.mutable_referring_agency() = AgencyIdToProto(referrer.id);
    *c.mutable_receiving_centre() = AgencyIdToProto(centre_.id);
    c.set_state(v1::CASE_STATE_REFERRED);
    c.set_version(1);
    v1::Deadline* d = c.add_deadlines();
    d->set_kind(v1::DEADLINE_KIND_CENTRE_RESPONSE);
    *d->mutable_due_at() = ToProtoTime(due);
    CaseWrite w;
    w.next = c;
    w.entry.set_version(1);
    w.entry.set_action("submit");
    w.entry.set_to_state(c.state());
    *w.entry.mutable_actor() = c.referring_agency();
    w.deadlines_started.push_back(
        DeadlineStart{v1::DEADLINE_KIND_CENTRE_RESPONSE, due, std::nullopt, {due}});
    EXPECT_TRUE(store.Apply(w).ok());
    // The firing id is public knowledge to the parties: case id, deadline, stage, due time.
    return absl::StrCat(c.case_id(), "-centre_response-overdue-", absl::ToUnixMillis(due));
  }

  // The centre's own message to `to` under `message_id` (a party may send whatever it likes).
  void SendAsCentre(const Party& to, const std::string& message_id) {
    mc::MessagingClient centre = Client(centre_);
    mc::MessageDraft draft;
    draft.message_id = message_id;
    draft.kind = mv1::MESSAGE_KIND_INFORMATION;
    draft.body = "nothing to see";
    auto sent = centre.SendMessage(draft, {to.identity.agency}, {});
    ASSERT_TRUE(sent.ok()) << sent.status();
  }

  // True when `who` holds a notification from admin/concord-referrals whose opened body contains
  // `needle`.
  bool Notified(const Party& who, const std::string& needle) {
    mc::MessagingClient client = Client(who);
    auto inbox = client.ListInbox(mv1::ListInboxRequest{});
    EXPECT_TRUE(inbox.ok()) << inbox.status();
    if (!inbox.ok()) return false;
    for (const mv1::InboxEntry& e : inbox->entries()) {
      if (e.envelope().sender().id() != "concord-referrals") continue;
      auto opened = client.Read(e.envelope().message_id());
      EXPECT_TRUE(opened.ok()) << opened.status();
      if (opened.ok() && opened->body.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  notify::MessageIds Ids() {
    return *notify::MessageIds::Create(*notify::NotifierSecret::FromBytes(std::string(32, 'k')),
                                       "admin/concord-referrals", kNotificationIdPrefix);
  }

  mc::MessagingClient Client(const Party& who) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_.load()),
                                       MakeChannelCredentials(who.cert.tls()));
    return mc::MessagingClient(
        channel, who.identity,
        mc::ClientOptions{.deadline = absl::Seconds(10), .officer = "", .justification = ""});
  }

  testing::TestPki pki_{kTd};
  std::unique_ptr<testing::RedisServer> redis_server_;
  config::CommonConfig cfg_;
  redis::RedisConfig redis_config_;
  std::unique_ptr<redis::RedisClient> redis_;
  metrics::Metrics metrics_;
  RecordingAuditSink audit_;
  NoRevocations revocations_;
  std::atomic<int> port_{0};
  std::unique_ptr<host::HostDeps> deps_;
  std::unique_ptr<host::ModuleInstance> messaging_, directory_;
  std::unique_ptr<testing::SecureTestServer> server_;
  Party notifier_, centre_, magistrate_, coordination_, ops_;
};

TEST_F(NotifierMessagingTest, ANotificationReachesEveryRecipientSignedSealedAndOnce) {
  auto sender = Sender(notifier_);
  ASSERT_NE(sender, nullptr);
  EXPECT_EQ(sender->identity().Key(), "admin/concord-referrals");
  notify::Notification n;
  n.thread_id = "ref-abcdefghijklmnopqrstuvwxyz";
  n.recipients = {centre_.id, magistrate_.id};
  n.body = R"({"type":"referral.transition","case_id":"ref-abcdefghijklmnopqrstuvwxyz"})";
  const std::string id = Ids().Derive("ref-abcdefghijklmnopqrstuvwxyz-v3", 0);
  Status s = sender->Send(n, id);
  ASSERT_TRUE(s.ok()) << s;
  // A resend after a crash builds a new envelope under the same id: nothing new is stored, and
  // the answer is ALREADY_EXISTS, never "sent" (the delivery rule then takes a fresh id).
  s = sender->Send(n, id);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;

  for (const Party* who : {&centre_, &magistrate_}) {
    mc::MessagingClient client = Client(*who);
    auto inbox = client.ListInbox(mv1::ListInboxRequest{});
    ASSERT_TRUE(inbox.ok()) << inbox.status();
    ASSERT_EQ(inbox->entries_size(), 1) << who->id.Key();
    auto opened = client.Read(inbox->entries(0).envelope().message_id());
    ASSERT_TRUE(opened.ok()) << opened.status();  // signature verified, body unsealed
    EXPECT_EQ(opened->body, n.body);
    EXPECT_EQ(opened->envelope.kind(), mv1::MESSAGE_KIND_NOTIFICATION);
    EXPECT_EQ(opened->envelope.sender().id(), "concord-referrals");
    EXPECT_EQ(opened->envelope.thread_id(), n.thread_id);
  }
}

TEST_F(NotifierMessagingTest, MessagingKeepsOtherAdminsAndOtherKindsOut) {
  // Another admin identity may not send, not even a notification.
  auto ops = notify::LoadNotifierIdentity(IdentityDir(ops_), pki_.ca_file(), kTd, "--dir");
  EXPECT_EQ(ops.status().code(), absl::StatusCode::kInvalidArgument)
      << "the notifier refuses a non concord-* identity at start";
  mc::MessagingClient ops_client = Client(ops_);
  mc::MessageDraft draft;
  draft.kind = mv1::MESSAGE_KIND_NOTIFICATION;
  draft.body = "{}";
  auto sent = ops_client.SendMessage(draft, {centre_.identity.agency}, {});
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kPermissionDenied) << sent.status();

  // The notifier itself: notifications only, to domestic operational agencies only.
  mc::MessagingClient notifier = Client(notifier_);
  draft.kind = mv1::MESSAGE_KIND_INFORMATION;
  sent = notifier.SendMessage(draft, {centre_.identity.agency}, {});
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kPermissionDenied) << sent.status();
  draft.kind = mv1::MESSAGE_KIND_NOTIFICATION;
  sent = notifier.SendMessage(draft, {coordination_.identity.agency}, {});
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kPermissionDenied) << sent.status();
  // ... and it reads nothing: the policy table refuses admins every inbox RPC.
  auto inbox = notifier.ListInbox(mv1::ListInboxRequest{});
  EXPECT_EQ(inbox.status().code(), absl::StatusCode::kPermissionDenied) << inbox.status();
}

// The attack of issue 9 item 6: the centre a referral waits on knows its case id and the due time
// of its deadline, so under the old scheme ("rn-" + SHA-256 of the public firing id) it could
// send a message of its own under the id of its overdue alert first; messaging then refused the
// alert as ALREADY_EXISTS, the notifier took that for "delivered", and neither the referrer nor
// the centre was ever alerted. Keyed ids cannot be predicted: the alert goes out.
TEST_F(NotifierMessagingTest, ACentreCannotPreemptItsOwnOverdueAlert) {
  auto sender = Sender(notifier_);
  ASSERT_NE(sender, nullptr);
  Party police = Register(AgencyType::kPolice, "pz-liege");
  RedisReferralStore store(*redis_);
  const absl::Time now = absl::Now();
  const std::string firing = OverdueCase(store, police, now);
  SendAsCentre(police, "rn-" + crypto::Sha256Hex(firing).substr(0, 40));

  auto fired = store.FireDue(now, 10);
  ASSERT_TRUE(fired.ok()) << fired.status();
  ASSERT_EQ(*fired, 1);
  ReferralsOutbox outbox(store, kTd, absl::UTCTimeZone());
  const notify::MessageIds ids = Ids();
  notify::OutboxWorker worker(outbox, sender.get(), &ids, metrics_,
                              ReferralsNotifierOptions("test"));
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  EXPECT_TRUE(Notified(police, "centre_response")) << "the referrer got no overdue alert";
  EXPECT_TRUE(Notified(centre_, "centre_response")) << "the centre got no overdue alert";
}

// Even an id that IS taken (here: the centre is handed the first keyed id, as a crash between
// send and acknowledgement would leave it) never counts as delivered: the notifier re-sends
// under the next attempt's id and counts the taken id.
TEST_F(NotifierMessagingTest, ATakenIdIsResentUnderAFreshOne) {
  auto sender = Sender(notifier_);
  ASSERT_NE(sender, nullptr);
  Party police = Register(AgencyType::kPolice, "pz-namur");
  RedisReferralStore store(*redis_);
  const absl::Time now = absl::Now();
  const std::string firing = OverdueCase(store, police, now);
  const notify::MessageIds ids = Ids();
  SendAsCentre(police, ids.Derive(firing, 0));

  ASSERT_TRUE(store.FireDue(now, 10).ok());
  ReferralsOutbox outbox(store, kTd, absl::UTCTimeZone());
  notify::OutboxWorker worker(outbox, sender.get(), &ids, metrics_,
                              ReferralsNotifierOptions("test"));
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  EXPECT_TRUE(Notified(police, "centre_response"));
  mc::MessagingClient client = Client(police);
  auto inbox = client.ListInbox(mv1::ListInboxRequest{});
  ASSERT_TRUE(inbox.ok());
  std::set<std::string> from_notifier;
  for (const mv1::InboxEntry& e : inbox->entries()) {
    if (e.envelope().sender().id() == "concord-referrals") {
      from_notifier.insert(e.envelope().message_id());
    }
  }
  EXPECT_EQ(from_notifier, (std::set<std::string>{ids.Derive(firing, 1)}));
  const std::string exposition = metrics_.Serialize();
  EXPECT_NE(exposition.find("concord_referral_notifications_id_taken_total 1"), std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("concord_referral_notifications_total{outcome=\"sent\"} 1"),
            std::string::npos)
      << exposition;
  // Acknowledged: nothing is sent again.
  done = worker.RunOnce();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 0);
}

// The process refuses to start a notifier without the secret its ids are keyed with, naming
// the flag.
TEST_F(NotifierMessagingTest, TheNotifierRefusesToStartWithoutItsSecret) {
  cfg_.tls_ca = pki_.ca_file();
  cfg_.referrals_notifier_dir = IdentityDir(notifier_);
  auto module = ReferralsModule().create(*deps_);
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kInvalidArgument) << module.status();
  EXPECT_NE(module.status().message().find("--notifier-secret-file"), std::string::npos)
      << module.status();
}

// Deadline notifications: times in Europe/Brussels (ISO 8601 with the offset), a document's last
// day, "overdue" for the centre's missed answer and "expires"/"expired" for documents (a firing
// stored as "due" before that rule is worded "expired").
TEST(DeadlineBody, BrusselsTimesLastDayOverdueAndExpires) {
  v1::Case c;
  c.set_case_id("ref-aaaaaaaaaaaaaaaaaaaaaaaaaa");
  c.set_state(v1::CASE_STATE_REGISTRATION_ATTESTATION);
  const StatusOr<absl::TimeZone> zone = LoadTimeZone("Europe/Brussels");
  ASSERT_TRUE(zone.ok()) << zone.status();
  const absl::Time due = absl::FromCivil(absl::CivilDay(2027, 3, 7), *zone);
  nlohmann::json j = nlohmann::json::parse(
      DeadlineBody(c, v1::DEADLINE_KIND_ATTESTATION_EXPIRY, "reminder", due, *zone));
  EXPECT_EQ(j["due_at"], "2027-03-07T00:00:00+01:00");
  EXPECT_EQ(j["last_day"], "2027-03-06");
  EXPECT_EQ(j["text"],
            "the attestation of registration expires at the end of 2027-03-06 "
            "(2027-03-07T00:00:00+01:00)");
  j = nlohmann::json::parse(DeadlineBody(c, v1::DEADLINE_KIND_REFLECTION_END, "due", due, *zone));
  EXPECT_EQ(j["stage"], "expired");
  const absl::Time answer = absl::FromCivil(absl::CivilHour(2026, 7, 2, 10), *zone);
  j = nlohmann::json::parse(
      DeadlineBody(c, v1::DEADLINE_KIND_CENTRE_RESPONSE, "overdue", answer, *zone));
  EXPECT_FALSE(j.contains("last_day"));
  EXPECT_EQ(j["text"],
            "the receiving centre's answer to the referral is overdue since "
            "2026-07-02T10:00:00+02:00");
}

}  // namespace
}  // namespace concord::referrals
