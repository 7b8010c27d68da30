// The referrals notifier against the REAL messaging and directory modules (as concord-server
// hosts them), over real mTLS behind the real authorization table, with a real redis-server:
// a notification sent as admin/concord-referrals reaches the recipients' inboxes, verifies and
// unseals with their keys, is stored once however often it is resent, and the messaging policy
// keeps every other admin identity and every non-notification out.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "client/messaging/message_crypto.h"
#include "client/messaging/messaging_client.h"
#include "common/authz/auth_processor.h"
#include "common/authz/policy.h"
#include "common/clients/directory_keys.h"
#include "common/server/server_runner.h"
#include "common/tls/tls.h"
#include "services/directory/directory_module.h"
#include "services/messaging/messaging_module.h"
#include "services/referrals/ids.h"
#include "services/referrals/notifier.h"
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

  std::unique_ptr<MessagingNotificationSender> Sender(const Party& who) {
    auto sender = MessagingNotificationSender::Create(
        IdentityDir(who), pki_.ca_file(), kTd,
        [this] { return "127.0.0.1:" + std::to_string(port_.load()); });
    EXPECT_TRUE(sender.ok()) << sender.status();
    return sender.ok() ? *std::move(sender) : nullptr;
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
  OutgoingNotification n;
  n.message_id = NotificationMessageId("ref-abcdefghijklmnopqrstuvwxyz-v3");
  n.case_id = "ref-abcdefghijklmnopqrstuvwxyz";
  n.recipients = {centre_.id, magistrate_.id};
  n.body = R"({"type":"referral.transition","case_id":"ref-abcdefghijklmnopqrstuvwxyz"})";
  Status s = sender->Send(n);
  ASSERT_TRUE(s.ok()) << s;
  // A resend after a crash builds a new envelope under the same id: stored once.
  s = sender->Send(n);
  ASSERT_TRUE(s.ok()) << s;

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
    EXPECT_EQ(opened->envelope.thread_id(), n.case_id);
  }
}

TEST_F(NotifierMessagingTest, MessagingKeepsOtherAdminsAndOtherKindsOut) {
  // Another admin identity may not send, not even a notification.
  auto ops = MessagingNotificationSender::Create(IdentityDir(ops_), pki_.ca_file(), kTd,
                                                 [] { return std::string(); });
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

}  // namespace
}  // namespace concord::referrals
