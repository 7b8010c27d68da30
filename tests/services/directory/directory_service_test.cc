// The directory service over real mTLS (ServerRunner, TestPki), with the real authorization
// processor, a real DirectoryCache and a real redis-server: the whole path a caller sees.
#include "services/directory/directory_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/authz/auth_processor.h"
#include "common/clients/directory_cache.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/time/clock.h"
#include "common/tls/tls.h"
#include "services/directory/redis_directory_store.h"
#include "tests/services/directory/fake_audit_sink.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"

namespace concord::directory {
namespace {

namespace pb = concord::directory::v1;
using testing::CertFiles;

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return condition();
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

pb::AgencySpec Spec(concord::common::v1::AgencyType type, const std::string& id,
                    const std::string& jurisdiction, std::vector<std::string> specs,
                    std::vector<std::string> langs, const std::string& serial = "") {
  pb::AgencySpec s;
  s.mutable_id()->set_type(type);
  s.mutable_id()->set_id(id);
  s.set_display_name("Unit " + id);
  s.set_jurisdiction(jurisdiction);
  for (auto& x : specs) s.add_specialisations(x);
  for (auto& x : langs) s.add_languages(x);
  s.set_signing_public_key_pem(crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem());
  s.set_sealing_public_key_pem(crypto::X25519PrivateKey::Generate().PublicKey().ToPem());
  if (!serial.empty()) s.add_certificate_serials(serial);
  return s;
}

class DirectoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_server_ = testing::RedisServer::Start(testing::RedisServer::Options{});
    ASSERT_NE(redis_server_, nullptr);
    redis_server_->FlushAll();
    redis_ = redis::RedisClient::Create(redis_server_->config());
    store_ = std::make_unique<RedisDirectoryStore>(*redis_, pki_.trust_domain());
    clients::DirectoryCacheOptions cache_options;
    cache_options.reload_interval = absl::Hours(1);  // only pub/sub may make the 5 s deadline
    cache_ =
        std::make_unique<clients::DirectoryCache>(*redis_, redis_server_->config(), cache_options);
    ASSERT_TRUE(cache_->Start().ok());
    authorizer_ = std::make_unique<authz::Authorizer>(pki_.trust_domain(), *cache_);
    service_ = std::make_unique<DirectoryService>(pki_.trust_domain(), *store_, audit_,
                                                  SystemClock::Get());
    ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.health_address = "";
    o.metrics_address = "";
    o.tls = pki_.ServerCert().tls();
    o.handle_signals = false;
    runner_ = std::make_unique<ServerRunner>(
        std::move(o), metrics_, std::make_shared<authz::AuthProcessor>(*authorizer_, metrics_));
    runner_->AddService(service_.get());
    const Status started = runner_->Start();
    ASSERT_TRUE(started.ok()) << started;

    admin_cert_ = pki_.AgencyCert(AgencyType::kAdmin, "ops");
    admin_ = Stub(admin_cert_);
  }

  void TearDown() override {
    if (runner_) runner_->Shutdown();
    if (cache_) cache_->Stop();
  }

  std::unique_ptr<pb::Directory::Stub> Stub(const CertFiles& cert) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return pb::Directory::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(runner_->port()), MakeChannelCredentials(cert.tls()), args));
  }

  grpc::Status Register(pb::Directory::Stub& stub, const pb::AgencySpec& spec,
                        pb::Agency* out = nullptr) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    ctx.AddMetadata("concord-officer", "op-17");
    pb::RegisterAgencyRequest req;
    *req.mutable_agency() = spec;
    pb::RegisterAgencyResponse resp;
    grpc::Status s = stub.RegisterAgency(&ctx, req, &resp);
    if (out != nullptr) *out = resp.agency();
    return s;
  }

  grpc::Status Get(pb::Directory::Stub& stub, concord::common::v1::AgencyType type,
                   const std::string& id, pb::Agency* out = nullptr) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    pb::GetAgencyRequest req;
    req.mutable_id()->set_type(type);
    req.mutable_id()->set_id(id);
    pb::GetAgencyResponse resp;
    grpc::Status s = stub.GetAgency(&ctx, req, &resp);
    if (out != nullptr) *out = resp.agency();
    return s;
  }

  grpc::Status Suspend(const std::string& id, concord::common::v1::AgencyType type) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    pb::SuspendAgencyRequest req;
    req.mutable_id()->set_type(type);
    req.mutable_id()->set_id(id);
    req.set_reason("security incident");
    pb::SuspendAgencyResponse resp;
    return admin_->SuspendAgency(&ctx, req, &resp);
  }

  grpc::Status Reinstate(const std::string& id, concord::common::v1::AgencyType type) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    pb::ReinstateAgencyRequest req;
    req.mutable_id()->set_type(type);
    req.mutable_id()->set_id(id);
    pb::ReinstateAgencyResponse resp;
    return admin_->ReinstateAgency(&ctx, req, &resp);
  }

  testing::TestPki pki_;
  std::unique_ptr<testing::RedisServer> redis_server_;
  std::unique_ptr<redis::RedisClient> redis_;
  std::unique_ptr<RedisDirectoryStore> store_;
  std::unique_ptr<clients::DirectoryCache> cache_;
  std::unique_ptr<authz::Authorizer> authorizer_;
  FakeAuditSink audit_;
  std::unique_ptr<DirectoryService> service_;
  metrics::Metrics metrics_;
  std::unique_ptr<ServerRunner> runner_;
  CertFiles admin_cert_;
  std::unique_ptr<pb::Directory::Stub> admin_;
};

using concord::common::v1::AGENCY_TYPE_MAGISTRATE;
using concord::common::v1::AGENCY_TYPE_PLATFORM;
using concord::common::v1::AGENCY_TYPE_POLICE;
using concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE;

TEST_F(DirectoryServiceTest, AdminRegistersAndAgenciesLookUp) {
  pb::Agency registered;
  ASSERT_TRUE(Register(*admin_,
                       Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-BRU", {"thb", "vice"}, {"fr", "nl"}),
                       &registered)
                  .ok());
  EXPECT_EQ(registered.id().trust_domain(), pki_.trust_domain());
  EXPECT_EQ(registered.state(), pb::AGENCY_STATE_ACTIVE);
  EXPECT_EQ(registered.version(), 1);
  EXPECT_GT(registered.created_at().seconds(), 0);

  // Audited: collection by the admin agency, officer asserted in metadata.
  const auto events = audit_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].agency.Key(), "admin/ops");
  EXPECT_EQ(events[0].officer, "op-17");
  EXPECT_EQ(events[0].operation, audit::Operation::kCollection);
  EXPECT_EQ(events[0].object, "agency:police/pz-a");
  EXPECT_EQ(events[0].outcome, "OK");

  EXPECT_EQ(Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-a", "BE", {}, {})).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(audit_.events().back().outcome, "ALREADY_EXISTS");

  auto platform = Stub(pki_.AgencyCert(AgencyType::kPlatform, "platform-x"));
  pb::Agency got;
  ASSERT_TRUE(Get(*platform, AGENCY_TYPE_POLICE, "pz-a", &got).ok());
  EXPECT_EQ(got.signing_public_key_pem(), registered.signing_public_key_pem());
  EXPECT_EQ(Get(*platform, AGENCY_TYPE_POLICE, "nope").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServiceTest, InvalidFieldsAreInvalidArgumentWithFieldViolations) {
  pb::AgencySpec bad = Spec(AGENCY_TYPE_POLICE, "Bad Id", "BE-XYZ", {}, {"xx"});
  bad.set_signing_public_key_pem("not a key");
  const grpc::Status s = Register(*admin_, bad);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> fields;
  for (const auto& v : FieldViolationsOf(FromGrpcStatus(s))) fields.push_back(v.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"agency.id.id", "agency.jurisdiction", "agency.languages[0]",
                                      "agency.signing_public_key_pem"}));
}

TEST_F(DirectoryServiceTest, NonAdminIsDeniedNamingTheRule) {
  auto police = Stub(pki_.AgencyCert(AgencyType::kPolice, "pz-a"));
  const grpc::Status s = Register(*police, Spec(AGENCY_TYPE_POLICE, "pz-evil", "BE", {}, {}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("directory.admin_only"), std::string::npos);
  EXPECT_NE(s.error_message().find("police"), std::string::npos);
  EXPECT_NE(s.error_message().find("RegisterAgency"), std::string::npos);
  EXPECT_TRUE(audit_.events().empty());  // refused before the handler

  auto platform = Stub(pki_.AgencyCert(AgencyType::kPlatform, "platform-x"));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  pb::ListAgenciesResponse resp;
  EXPECT_EQ(platform->ListAgencies(&ctx, pb::ListAgenciesRequest(), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DirectoryServiceTest, SuspensionTakesEffectWithinFiveSecondsAndReinstatementRestores) {
  const CertFiles police_cert = pki_.AgencyCert(AgencyType::kPolice, "pz-a");
  ASSERT_TRUE(
      Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-BRU", {}, {}, police_cert.serial))
          .ok());
  auto police = Stub(police_cert);
  ASSERT_TRUE(Get(*police, AGENCY_TYPE_POLICE, "pz-a").ok());

  ASSERT_TRUE(Suspend("pz-a", AGENCY_TYPE_POLICE).ok());
  grpc::Status last;
  EXPECT_TRUE(Eventually([&] {
    last = Get(*police, AGENCY_TYPE_POLICE, "pz-a");
    return last.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  })) << last.error_code()
      << " " << last.error_message();
  EXPECT_EQ(last.error_message(), "agency suspended");
  EXPECT_EQ(audit_.events().back().operation, audit::Operation::kAlteration);
  EXPECT_EQ(audit_.events().back().method, "/concord.directory.v1.Directory/SuspendAgency");

  // Visible in the directory and in GetRevocations.
  pb::Agency got;
  ASSERT_TRUE(Get(*admin_, AGENCY_TYPE_POLICE, "pz-a", &got).ok());
  EXPECT_EQ(got.state(), pb::AGENCY_STATE_SUSPENDED);
  EXPECT_EQ(got.suspension_reason(), "security incident");
  EXPECT_EQ(Suspend("pz-a", AGENCY_TYPE_POLICE).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(Reinstate("pz-a", AGENCY_TYPE_POLICE).ok());
  EXPECT_TRUE(Eventually([&] { return Get(*police, AGENCY_TYPE_POLICE, "pz-a").ok(); }));
  EXPECT_EQ(Reinstate("pz-a", AGENCY_TYPE_POLICE).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reinstate("unknown", AGENCY_TYPE_POLICE).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryServiceTest, RevokedCertificateIsRefusedAndANewOneWorks) {
  const CertFiles old_cert = pki_.AgencyCert(AgencyType::kReceptionCentre, "payoke");
  auto centre = Stub(old_cert);
  ASSERT_EQ(Get(*centre, AGENCY_TYPE_RECEPTION_CENTRE, "payoke").error_code(),
            grpc::StatusCode::NOT_FOUND);  // authorized (not registered yet)

  grpc::ClientContext ctx;
  SetDeadline(ctx);
  pb::RevokeCertificateRequest req;
  req.set_serial(old_cert.serial);
  req.set_reason("key_compromise");
  pb::RevokeCertificateResponse resp;
  ASSERT_TRUE(admin_->RevokeCertificate(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.serial(), old_cert.serial);

  grpc::Status last;
  EXPECT_TRUE(Eventually([&] {
    last = Get(*centre, AGENCY_TYPE_RECEPTION_CENTRE, "payoke");
    return last.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }));
  EXPECT_EQ(last.error_message(), "certificate revoked");

  auto renewed = Stub(pki_.AgencyCert(AgencyType::kReceptionCentre, "payoke"));
  EXPECT_EQ(Get(*renewed, AGENCY_TYPE_RECEPTION_CENTRE, "payoke").error_code(),
            grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext ctx2;
  SetDeadline(ctx2);
  pb::GetRevocationsResponse revs;
  ASSERT_TRUE(admin_->GetRevocations(&ctx2, pb::GetRevocationsRequest(), &revs).ok());
  ASSERT_EQ(revs.revoked_serials_size(), 1);
  EXPECT_EQ(revs.revoked_serials(0).serial(), old_cert.serial);
  EXPECT_EQ(revs.revoked_serials(0).reason(), "key_compromise");
  EXPECT_EQ(audit_.events().back().object, "certificate:" + old_cert.serial);
}

TEST_F(DirectoryServiceTest, ListFiltersAndPages) {
  ASSERT_TRUE(Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-BRU", {"thb"}, {"fr"})).ok());
  ASSERT_TRUE(Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-b", "BE-VAN", {"thb"}, {"nl"})).ok());
  ASSERT_TRUE(Register(*admin_, Spec(AGENCY_TYPE_RECEPTION_CENTRE, "payoke", "BE-VAN", {"thb"},
                                     {"nl", "en"}))
                  .ok());
  ASSERT_TRUE(
      Register(*admin_, Spec(AGENCY_TYPE_MAGISTRATE, "mag", "BE-BRU", {"thb"}, {"fr"})).ok());

  auto police = Stub(pki_.AgencyCert(AgencyType::kPolice, "pz-a"));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  pb::ListAgenciesRequest req;
  req.set_specialisation("thb");
  req.set_language("nl");
  pb::ListAgenciesResponse resp;
  ASSERT_TRUE(police->ListAgencies(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.agencies_size(), 2);
  EXPECT_EQ(resp.agencies(0).id().id(), "pz-b");
  EXPECT_EQ(resp.agencies(1).id().id(), "payoke");

  std::vector<std::string> seen;
  std::string token;
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext c;
    SetDeadline(c);
    pb::ListAgenciesRequest r;
    r.mutable_page()->set_page_size(3);
    r.mutable_page()->set_page_token(token);
    pb::ListAgenciesResponse p;
    ASSERT_TRUE(police->ListAgencies(&c, r, &p).ok());
    for (const auto& a : p.agencies()) seen.push_back(a.id().id());
    token = p.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"mag", "pz-a", "pz-b", "payoke"}));

  grpc::ClientContext bad;
  SetDeadline(bad);
  pb::ListAgenciesRequest bad_req;
  bad_req.set_language("klingon");
  EXPECT_EQ(police->ListAgencies(&bad, bad_req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DirectoryServiceTest, UpdateUsesOptimisticVersions) {
  pb::Agency a;
  ASSERT_TRUE(Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-BRU", {}, {"fr"}), &a).ok());
  pb::AgencySpec spec = Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-WLG", {"labour_exploitation"}, {"fr"});
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    pb::UpdateAgencyRequest req;
    *req.mutable_agency() = spec;
    req.set_expected_version(1);
    pb::UpdateAgencyResponse resp;
    ASSERT_TRUE(admin_->UpdateAgency(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.agency().version(), 2);
    EXPECT_EQ(resp.agency().jurisdiction(), "BE-WLG");
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    pb::UpdateAgencyRequest req;
    *req.mutable_agency() = spec;
    req.set_expected_version(1);  // stale
    pb::UpdateAgencyResponse resp;
    EXPECT_EQ(admin_->UpdateAgency(&ctx, req, &resp).error_code(), grpc::StatusCode::ABORTED);
  }
}

TEST_F(DirectoryServiceTest, AuditFailureIsReported) {
  audit_.set_fail(true);
  const grpc::Status s = Register(*admin_, Spec(AGENCY_TYPE_POLICE, "pz-a", "BE", {}, {}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace concord::directory
