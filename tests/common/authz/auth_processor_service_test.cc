// AuthProcessor over real mTLS (ServerRunner + TestPki): the policy is enforced before any
// handler, with the status codes of the table; rejected calls are counted in the metrics.
// This also pins the gRPC 1.51 behaviour the design relies on: ":path" is in the metadata
// given to AuthMetadataProcessor::Process().
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "common/authz/auth_processor.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/tls/tls.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/testing/v1/echo.grpc.pb.h"
#include "tests/support/echo_service.h"
#include "tests/support/grpc_probes.h"
#include "tests/support/test_pki.h"

namespace concord::authz {
namespace {

namespace pb = concord::directory::v1;
using testing::CertFiles;
using testing::TestPki;

class MutableRevocations final : public RevocationView {
 public:
  bool IsSuspended(const AgencyId& a) const override {
    std::lock_guard<std::mutex> l(mu_);
    return suspended_.count(a.Key()) > 0;
  }
  bool IsSerialRevoked(std::string_view s) const override {
    std::lock_guard<std::mutex> l(mu_);
    return revoked_.count(std::string(s)) > 0;
  }
  void Suspend(const std::string& key) {
    std::lock_guard<std::mutex> l(mu_);
    suspended_.insert(key);
  }
  void Revoke(const std::string& serial) {
    std::lock_guard<std::mutex> l(mu_);
    revoked_.insert(serial);
  }
  AdminRoles RolesOf(const AgencyId& a) const override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = roles_.find(a.Key());
    return it == roles_.end() ? AdminRoles{} : it->second;
  }
  void SetRoles(const std::string& key, AdminRoles roles) {
    std::lock_guard<std::mutex> l(mu_);
    roles_[key] = roles;
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> suspended_;
  std::set<std::string> revoked_;
  std::map<std::string, AdminRoles> roles_;
};

// Counts handler invocations: a refused call must never reach it.
class CountingDirectory final : public pb::Directory::Service {
 public:
  grpc::Status GetAgency(grpc::ServerContext*, const pb::GetAgencyRequest*,
                         pb::GetAgencyResponse*) override {
    ++calls;
    return grpc::Status::OK;
  }
  grpc::Status RegisterAgency(grpc::ServerContext*, const pb::RegisterAgencyRequest*,
                              pb::RegisterAgencyResponse*) override {
    ++calls;
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

class AuthProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    authorizer_ = std::make_unique<Authorizer>(pki_.trust_domain(), revocations_);
    processor_ = std::make_shared<AuthProcessor>(*authorizer_, metrics_);
    // Set before the server starts (the contract of SetDenialObserver): gRPC's threads read it.
    processor_->SetDenialObserver(
        [this](const Caller& caller, std::string_view method, const Status& refusal) {
          std::lock_guard<std::mutex> lock(refused_mu_);
          refused_.push_back(caller.agency.Key() + " " + std::string(method) + " " +
                             absl::StatusCodeToString(refusal.code()));
        });
    ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.health_address = "";
    o.metrics_address = "";
    o.tls = pki_.ServerCert().tls();
    o.handle_signals = false;
    runner_ = std::make_unique<ServerRunner>(std::move(o), metrics_, processor_);
    runner_->AddService(&directory_);
    runner_->AddService(&echo_);
    const Status started = runner_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    if (runner_) runner_->Shutdown();
  }

  std::shared_ptr<grpc::Channel> Channel(const CertFiles& cert) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(runner_->port()),
                                     MakeChannelCredentials(cert.tls()), args);
  }

  static grpc::Status GetAgency(const std::shared_ptr<grpc::Channel>& ch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::GetAgencyRequest req;
    pb::GetAgencyResponse resp;
    return pb::Directory::NewStub(ch)->GetAgency(&ctx, req, &resp);
  }
  static grpc::Status Register(const std::shared_ptr<grpc::Channel>& ch) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    pb::RegisterAgencyRequest req;
    pb::RegisterAgencyResponse resp;
    return pb::Directory::NewStub(ch)->RegisterAgency(&ctx, req, &resp);
  }

  std::vector<std::string> Refused() {
    std::lock_guard<std::mutex> lock(refused_mu_);
    return refused_;
  }

  TestPki pki_;
  std::mutex refused_mu_;
  std::vector<std::string> refused_;  // "<agency key> <method> <code>", from the observer
  MutableRevocations revocations_;
  metrics::Metrics metrics_;
  std::unique_ptr<Authorizer> authorizer_;
  std::shared_ptr<AuthProcessor> processor_;
  CountingDirectory directory_;
  testing::EchoService echo_;
  std::unique_ptr<ServerRunner> runner_;
};

TEST_F(AuthProcessorTest, AllowedCallReachesTheHandler) {
  auto ch = Channel(pki_.AgencyCert(AgencyType::kPolice, "pz-a"));
  EXPECT_TRUE(GetAgency(ch).ok());
  EXPECT_EQ(directory_.calls.load(), 1);
}

TEST_F(AuthProcessorTest, DeniedCallIsRefusedBeforeTheHandlerNamingTheRule) {
  auto ch = Channel(pki_.AgencyCert(AgencyType::kPolice, "pz-a"));
  const grpc::Status s = Register(ch);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "denied by rule directory.administration: agency type police may not call "
            "/concord.directory.v1.Directory/RegisterAgency");
  EXPECT_EQ(directory_.calls.load(), 0);
  // Counted although no interceptor saw it.
  const std::string text = metrics_.Serialize();
  EXPECT_NE(text.find("grpc_code=\"PermissionDenied\""), std::string::npos) << text;
  EXPECT_NE(text.find("grpc_method=\"RegisterAgency\""), std::string::npos);

  revocations_.SetRoles("admin/ops", {.directory_administrator = true});
  auto admin = Channel(pki_.AgencyCert(AgencyType::kAdmin, "ops"));
  EXPECT_TRUE(Register(admin).ok());
  EXPECT_EQ(directory_.calls.load(), 1);
  // The refusal (and only it) reached the observer the host audits through.
  EXPECT_EQ(Refused(),
            (std::vector<std::string>{"police/pz-a /concord.directory.v1.Directory/RegisterAgency "
                                      "PERMISSION_DENIED"}));
}

// The reproduced attack over real mTLS: Concord's referrals notifier identity may not change the
// directory, whatever a record claims about it; roles are read per call, so a role taken away
// ends at the next call on the same connection.
TEST_F(AuthProcessorTest, ConcordServiceIdentityIsRefusedAndRolesApplyPerCall) {
  revocations_.SetRoles("admin/concord-referrals", {.directory_administrator = true});
  auto notifier = Channel(pki_.AgencyCert(AgencyType::kAdmin, "concord-referrals"));
  grpc::Status s = Register(notifier);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "denied by rule directory.administration: admin/concord-referrals (Concord service "
            "identity) may not call /concord.directory.v1.Directory/RegisterAgency");
  EXPECT_EQ(directory_.calls.load(), 0);

  auto admin = Channel(pki_.AgencyCert(AgencyType::kAdmin, "ops"));
  EXPECT_EQ(Register(admin).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  revocations_.SetRoles("admin/ops", {.directory_administrator = true});
  EXPECT_TRUE(Register(admin).ok());
  revocations_.SetRoles("admin/ops", {.audit_reviewer = true});
  s = Register(admin);  // same connection
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("admin/ops (audit reviewer)"), std::string::npos);
  EXPECT_EQ(directory_.calls.load(), 1);
}

TEST_F(AuthProcessorTest, MethodWithoutPolicyIsDenied) {
  auto ch = Channel(pki_.AgencyCert(AgencyType::kAdmin, "ops"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  concord::testing::v1::EchoRequest req;
  concord::testing::v1::EchoReply reply;
  const grpc::Status s = concord::testing::v1::Echo::NewStub(ch)->Echo(&ctx, req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "no policy for method");
  EXPECT_EQ(echo_.calls(), 0);
}

TEST_F(AuthProcessorTest, SuspendedAgencyAndRevokedCertificateAreUnauthenticated) {
  const CertFiles a = pki_.AgencyCert(AgencyType::kPolice, "pz-a");
  const CertFiles b = pki_.AgencyCert(AgencyType::kMagistrate, "mag-1");
  auto ch_a = Channel(a);
  auto ch_b = Channel(b);
  ASSERT_TRUE(GetAgency(ch_a).ok());

  revocations_.Suspend("police/pz-a");
  grpc::Status s = GetAgency(ch_a);  // same connection: checked per call, not per handshake
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "agency suspended");
  EXPECT_TRUE(GetAgency(ch_b).ok());

  revocations_.Revoke(b.serial);
  s = GetAgency(ch_b);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "certificate revoked");
  // A new certificate of the same agency is accepted.
  EXPECT_TRUE(GetAgency(Channel(pki_.AgencyCert(AgencyType::kMagistrate, "mag-1"))).ok());
}

TEST_F(AuthProcessorTest, HealthAndReflectionAreAllowedToEveryAuthenticatedAgency) {
  auto ch = Channel(pki_.AgencyCert(AgencyType::kPlatform, "platform-x"));
  auto health = testing::CheckHealth(ch, "");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, testing::HealthStatus::kServing);
  auto services = testing::ListServicesViaReflection(ch);
  ASSERT_TRUE(services.ok()) << services.status();
}

TEST_F(AuthProcessorTest, CertificateWithoutSpiffeIdIsUnauthenticated) {
  auto ch = Channel(pki_.CertWithoutUriSan());
  EXPECT_EQ(GetAgency(ch).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(directory_.calls.load(), 0);
}

TEST_F(AuthProcessorTest, ForeignTrustDomainIsUnauthenticated) {
  auto ch = Channel(pki_.CertWithUriSan("spiffe://other.example/agency/admin/ops"));
  EXPECT_EQ(GetAgency(ch).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(AuthProcessorTypes, GrpcTypesComeFromTheDescriptorPool) {
  class NoRevocations final : public RevocationView {
    bool IsSuspended(const AgencyId&) const override { return false; }
    bool IsSerialRevoked(std::string_view) const override { return false; }
  } none;
  Authorizer authorizer("concord.test", none);
  metrics::Metrics metrics;
  AuthProcessor p(authorizer, metrics);
  EXPECT_EQ(p.GrpcTypeOf("/concord.directory.v1.Directory/GetAgency"), "unary");
  EXPECT_EQ(p.GrpcTypeOf("/grpc.health.v1.Health/Watch"), "server_stream");
  EXPECT_EQ(p.GrpcTypeOf("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            "bidi_stream");
  EXPECT_EQ(p.GrpcTypeOf("/x.Y/Z"), "unary");
}

}  // namespace
}  // namespace concord::authz
