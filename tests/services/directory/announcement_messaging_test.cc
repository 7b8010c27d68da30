// Announcements of directory changes, end to end: the REAL directory and messaging modules (as
// concord-server hosts them, the directory's announcer configured with --directory-notifier-dir
// and --notifier-secret-file), over real mTLS behind the real authorization table and a real
// DirectoryCache, with a real redis-server. An administrator registers a reception centre and
// then swaps its sealing key; each change reaches the centre's inbox as a NOTIFICATION signed by
// admin/concord-directory, and the key swap is sealed to the key the centre had BEFORE it, so the
// real centre reads it (whoever set the new key does not).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/time/clock.h"
#include "client/messaging/messaging_client.h"
#include "common/clients/directory_cache.h"
#include "common/crypto/key_endorsement.h"
#include "common/tls/tls.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "services/directory/directory_module.h"
#include "services/directory/redis_directory_store.h"
#include "services/messaging/messaging_module.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::directory {
namespace {

namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;
namespace dv1 = ::concord::directory::v1;
constexpr char kTd[] = "concord.test";

struct Party {
  AgencyId id;
  testing::CertFiles cert;
  mc::SenderIdentity identity{mc::AgencyProto{}, crypto::Ed25519PrivateKey::Generate(),
                              crypto::X25519PrivateKey::Generate()};
};

// Polls `condition` every 50 ms for at most `timeout` (no sleep as synchronisation).
bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

class AnnouncementMessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = testing::RedisServer::Start({});
    ASSERT_NE(redis_server_, nullptr);
    // Each module logs in as its own workload's Redis user, as in production; the test inspects
    // Redis as the test-only admin.
    redis_config_ = redis_server_->config("directory");
    redis_ = redis::RedisClient::Create(redis_config_);
    messaging_config_ = redis_server_->config("messaging");
    messaging_redis_ = redis::RedisClient::Create(messaging_config_);
    admin_redis_ = redis::RedisClient::Create(redis_server_->admin_config());

    ops_ = MakeParty(AgencyType::kAdmin, "ops");
    notifier_ = MakeParty(AgencyType::kAdmin, "concord-directory");
    centre_ = MakeParty(AgencyType::kReceptionCentre, "surya");

    const std::filesystem::path secret = std::filesystem::path(pki_.dir()) / "notifier.secret";
    std::ofstream(secret) << std::string(64, 'a') << "\n";
    cfg_.trust_domain = kTd;
    cfg_.redis_port = redis_server_->port();
    cfg_.tls_ca = pki_.ca_file();
    cfg_.notifier_secret_file = secret.string();
    cfg_.directory_notifier_dir = IdentityDir(notifier_);
    cfg_.bootstrap_directory_admins = "admin/ops";

    clients::DirectoryCacheOptions cache_options;
    cache_options.reload_interval = absl::Hours(1);
    cache_options.bootstrap_directory_admins = {ops_.id};
    cache_ = std::make_unique<clients::DirectoryCache>(*redis_, redis_config_, cache_options);
    ASSERT_TRUE(cache_->Start().ok());

    deps_ = std::make_unique<host::HostDeps>(host::HostDeps{
        cfg_, *redis_, redis_config_, metrics_, audit_, *cache_, SystemClock::Get(), port_});
    messaging_deps_ = std::make_unique<host::HostDeps>(
        host::HostDeps{cfg_, *messaging_redis_, messaging_config_, metrics_, audit_, *cache_,
                       SystemClock::Get(), port_});
    auto messaging = messaging::MessagingModule().create(*messaging_deps_);
    ASSERT_TRUE(messaging.ok()) << messaging.status();
    messaging_ = *std::move(messaging);
    auto directory = DirectoryModule().create(*deps_);
    ASSERT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);

    server_ = std::make_unique<testing::SecureTestServer>(pki_, metrics_, *cache_);
    std::vector<grpc::Service*> services = messaging_->services();
    for (grpc::Service* s : directory_->services()) services.push_back(s);
    ASSERT_TRUE(server_->Start(services).ok());
    port_.store(server_->port());

    // The bootstrap administrator registers itself (admin agencies have no inbox: nothing is
    // announced to them). The notifier identity is registered by the test.
    dv1::AgencySpec ops = Spec(ops_);
    AddAttribute(ops, "directory_administrator", "true");
    ASSERT_TRUE(Register(ops).ok());
  }

  std::string Metrics() const { return metrics_.Serialize(); }

  void TearDown() override {
    server_.reset();
    directory_.reset();
    messaging_.reset();
    if (cache_) cache_->Stop();
  }

  Party MakeParty(AgencyType type, const std::string& id) {
    Party p;
    p.id = AgencyId{kTd, type, id};
    p.cert = pki_.AgencyCert(type, id);
    p.identity.agency.set_trust_domain(kTd);
    p.identity.agency.set_type(AgencyTypeToProto(type));
    p.identity.agency.set_id(id);
    return p;
  }

  // The notifier directory in scripts/pki.sh layout.
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

  static dv1::AgencySpec Spec(const Party& p) {
    dv1::AgencySpec s;
    *s.mutable_id() = p.identity.agency;
    s.mutable_id()->clear_trust_domain();
    s.set_display_name("Unit " + p.id.id);
    s.set_jurisdiction("BE");
    s.set_signing_public_key_pem(p.identity.signing_key.PublicKey().ToPem());
    s.set_sealing_public_key_pem(p.identity.sealing_key.PublicKey().ToPem());
    s.add_certificate_serials(p.cert.serial);
    return s;
  }

  static void AddAttribute(dv1::AgencySpec& spec, const std::string& name,
                           const std::string& value) {
    dv1::AgencyAttribute* a = spec.add_attributes();
    a->set_name(name);
    a->set_value(value);
  }

  std::unique_ptr<dv1::Directory::Stub> AdminStub() {
    return dv1::Directory::NewStub(server_->Channel(ops_.cert.tls()));
  }

  grpc::Status Register(const dv1::AgencySpec& spec) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("concord-officer", "op-17");
    ctx.AddMetadata("concord-justification", "OPS-42");
    dv1::RegisterAgencyRequest req;
    *req.mutable_agency() = spec;
    dv1::RegisterAgencyResponse resp;
    return AdminStub()->RegisterAgency(&ctx, req, &resp);
  }

  grpc::Status Update(const dv1::AgencySpec& spec) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("concord-officer", "op-17");
    ctx.AddMetadata("concord-justification", "OPS-43");
    dv1::UpdateAgencyRequest req;
    *req.mutable_agency() = spec;
    dv1::UpdateAgencyResponse resp;
    return AdminStub()->UpdateAgency(&ctx, req, &resp);
  }

  mc::MessagingClient Client(const Party& who) {
    return mc::MessagingClient(
        server_->Channel(who.cert.tls()), who.identity,
        mc::ClientOptions{.deadline = absl::Seconds(10), .officer = "", .justification = ""});
  }

  // The announcements from admin/concord-directory in `who`'s inbox, opened with `who`'s keys
  // (nullopt body: not readable with them).
  std::vector<std::optional<nlohmann::json>> Announcements(const Party& who) {
    mc::MessagingClient client = Client(who);
    std::vector<std::optional<nlohmann::json>> out;
    auto inbox = client.ListInbox(mv1::ListInboxRequest{});
    EXPECT_TRUE(inbox.ok()) << inbox.status();
    if (!inbox.ok()) return out;
    for (const mv1::InboxEntry& e : inbox->entries()) {
      if (e.envelope().sender().id() != "concord-directory") continue;
      EXPECT_EQ(e.envelope().kind(), mv1::MESSAGE_KIND_NOTIFICATION);
      EXPECT_EQ(e.envelope().thread_id(), "directory");
      auto opened = client.Read(e.envelope().message_id());  // verifies the signature too
      out.push_back(opened.ok() ? std::optional(nlohmann::json::parse(opened->body))
                                : std::nullopt);
    }
    return out;
  }

  testing::TestPki pki_{kTd};
  std::unique_ptr<testing::RedisServer> redis_server_;
  config::CommonConfig cfg_;
  redis::RedisConfig redis_config_;
  std::unique_ptr<redis::RedisClient> redis_;
  redis::RedisConfig messaging_config_;
  std::unique_ptr<redis::RedisClient> messaging_redis_;
  std::unique_ptr<redis::RedisClient> admin_redis_;
  std::unique_ptr<clients::DirectoryCache> cache_;
  metrics::Metrics metrics_;
  testing::RecordingAuditSink audit_;
  std::atomic<int> port_{0};
  std::unique_ptr<host::HostDeps> deps_, messaging_deps_;
  std::unique_ptr<host::ModuleInstance> messaging_, directory_;
  std::unique_ptr<testing::SecureTestServer> server_;
  Party ops_, notifier_, centre_;
};

TEST_F(AnnouncementMessagingTest, RegistrationAndKeySwapReachTheAgencyConcerned) {
  // The centre is registered before Concord's directory notifier: its announcement waits (it is
  // not sent as an unknown sender and dropped) and goes out once the notifier is registered.
  ASSERT_TRUE(Register(Spec(centre_)).ok());
  ASSERT_TRUE(Eventually([&] {
    return Metrics().find("concord_directory_announcer_waiting 1") != std::string::npos;
  })) << Metrics();
  ASSERT_TRUE(Register(Spec(notifier_)).ok());
  std::vector<std::optional<nlohmann::json>> got;
  ASSERT_TRUE(Eventually([&] { return (got = Announcements(centre_)).size() == 1; })) << got.size();
  ASSERT_TRUE(got[0].has_value());
  EXPECT_EQ((*got[0])["type"], "directory.change");
  EXPECT_EQ((*got[0])["event"], "agency.registered");
  EXPECT_EQ((*got[0])["agency"], "reception_centre/surya");
  EXPECT_EQ((*got[0])["by"], "admin/ops");

  // An administrator (or whoever holds that identity) swaps the centre's sealing key.
  const crypto::X25519PrivateKey attacker = crypto::X25519PrivateKey::Generate();
  dv1::AgencySpec swapped = Spec(centre_);
  swapped.set_sealing_public_key_pem(attacker.PublicKey().ToPem());
  ASSERT_TRUE(Update(swapped).ok());
  ASSERT_TRUE(Eventually([&] { return (got = Announcements(centre_)).size() == 2; })) << got.size();
  // The real centre opens it with the key it had: sealed to the key before the change.
  std::optional<nlohmann::json> swap;
  for (const auto& a : got) {
    if (a.has_value() && (*a)["event"] == "agency.updated") swap = a;
  }
  ASSERT_TRUE(swap.has_value()) << "the key swap announcement does not open with the centre's key";
  EXPECT_EQ((*swap)["version"], 2);
  bool names_the_new_key = false;
  for (const auto& c : (*swap)["changes"]) {
    if (c["field"] == "sealing_public_key") {
      names_the_new_key = c["value"] == crypto::KeyFingerprint(attacker.PublicKey().Raw());
    }
  }
  EXPECT_TRUE(names_the_new_key) << swap->dump();
  // Never the officer or the justification.
  EXPECT_EQ(swap->dump().find("op-17"), std::string::npos);
  EXPECT_EQ(swap->dump().find("OPS-43"), std::string::npos);

  // Sent means acknowledged: the outbox is empty, and the worker counted both as sent.
  EXPECT_TRUE(Eventually([&] {
    auto pending = admin_redis_->Command({"XLEN", AnnouncementOutboxKey()});
    return pending.ok() && pending->integer == 0;
  }));
  EXPECT_NE(Metrics().find("concord_directory_announcements_total{outcome=\"sent\"} 2"),
            std::string::npos)
      << Metrics();
  EXPECT_NE(Metrics().find("concord_directory_announcements_total{outcome=\"dropped\"} 0"),
            std::string::npos);
  EXPECT_NE(Metrics().find("concord_directory_announcer_waiting 0"), std::string::npos);
}

}  // namespace
}  // namespace concord::directory
