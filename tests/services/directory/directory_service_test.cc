// The directory service over real mTLS (ServerRunner, TestPki), with the real authorization
// processor, a real DirectoryCache and a real redis-server: the whole path a caller sees. The
// fixture starts as an empty deployment does: admin/ops holds directory administration through
// the bootstrap list, registers itself as directory administrator and audit reviewer, and from
// then on holds its roles from its own record.
#include "services/directory/directory_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/authz/auth_processor.h"
#include "common/clients/directory_cache.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/key_endorsement.h"
#include "common/crypto/x25519.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/time/clock.h"
#include "common/tls/tls.h"
#include "services/directory/redis_directory_store.h"
#include "tests/services/directory/fake_audit_sink.h"
#include "tests/support/field_violations.h"
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

// A directory change as an administrator's tool makes it: deadline, officer and justification.
void Accountable(grpc::ClientContext& ctx) {
  SetDeadline(ctx);
  ctx.AddMetadata("concord-officer", "op-17");
  ctx.AddMetadata("concord-justification", "ticket OPS-42");
}

std::vector<std::string> Fields(const grpc::Status& s) {
  return testing::ViolationFields(FromGrpcStatus(s));
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
    cache_options.bootstrap_directory_admins = {
        AgencyId{pki_.trust_domain(), AgencyType::kAdmin, "ops"}};
    cache_ =
        std::make_unique<clients::DirectoryCache>(*redis_, redis_server_->config(), cache_options);
    ASSERT_TRUE(cache_->Start().ok());
    authorizer_ = std::make_unique<authz::Authorizer>(pki_.trust_domain(), *cache_);
    service_ = std::make_unique<DirectoryService>(pki_.trust_domain(), *store_, audit_,
                                                  SystemClock::Get(), *cache_);
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

    // Bootstrap: admin/ops registers itself with its roles; the grant then ends.
    pb::AgencySpec ops =
        Spec(concord::common::v1::AGENCY_TYPE_ADMIN, "ops", "BE", {}, {}, admin_cert_.serial);
    AddAttribute(ops, "directory_administrator", "true");
    AddAttribute(ops, "audit_reviewer", "true");
    const grpc::Status registered = Register(*admin_, ops);
    ASSERT_TRUE(registered.ok()) << registered.error_message();
    const AgencyId ops_id{pki_.trust_domain(), AgencyType::kAdmin, "ops"};
    ASSERT_TRUE(Eventually([&] { return cache_->HasDirectoryAdministrator(); }));
    ASSERT_EQ(cache_->RolesOf(ops_id),
              (authz::AdminRoles{.directory_administrator = true, .audit_reviewer = true}));
    bootstrap_event_ = audit_.events().back();
    audit_baseline_ = audit_.events().size();
  }

  static void AddAttribute(pb::AgencySpec& spec, const std::string& name,
                           const std::string& value) {
    pb::AgencyAttribute* a = spec.add_attributes();
    a->set_name(name);
    a->set_value(value);
  }

  // Audit events appended by the test itself (after the fixture's bootstrap).
  std::vector<audit::AuditEvent> Events() const {
    const auto all = audit_.events();
    return {all.begin() + static_cast<std::ptrdiff_t>(audit_baseline_), all.end()};
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
    Accountable(ctx);
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

  grpc::Status Update(pb::Directory::Stub& stub, const pb::AgencySpec& spec,
                      pb::Agency* out = nullptr) {
    grpc::ClientContext ctx;
    Accountable(ctx);
    pb::UpdateAgencyRequest req;
    *req.mutable_agency() = spec;
    pb::UpdateAgencyResponse resp;
    grpc::Status s = stub.UpdateAgency(&ctx, req, &resp);
    if (out != nullptr) *out = resp.agency();
    return s;
  }

  grpc::Status Suspend(const std::string& id, concord::common::v1::AgencyType type,
                       pb::Directory::Stub* stub = nullptr) {
    grpc::ClientContext ctx;
    Accountable(ctx);
    pb::SuspendAgencyRequest req;
    req.mutable_id()->set_type(type);
    req.mutable_id()->set_id(id);
    req.set_reason("security incident");
    pb::SuspendAgencyResponse resp;
    return (stub != nullptr ? stub : admin_.get())->SuspendAgency(&ctx, req, &resp);
  }

  grpc::Status Reinstate(const std::string& id, concord::common::v1::AgencyType type) {
    grpc::ClientContext ctx;
    Accountable(ctx);
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
  audit::AuditEvent bootstrap_event_;
  size_t audit_baseline_ = 0;
};

using concord::common::v1::AGENCY_TYPE_MAGISTRATE;
using concord::common::v1::AGENCY_TYPE_PLATFORM;
using concord::common::v1::AGENCY_TYPE_POLICE;
using concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE;

TEST_F(DirectoryServiceTest, BootstrapGrantIsAuditedAndEndsOnceAnAdministratorIsRegistered) {
  EXPECT_EQ(bootstrap_event_.object, "agency:admin/ops");
  EXPECT_EQ(bootstrap_event_.outcome, "OK");
  EXPECT_NE(bootstrap_event_.details.find("attributes.directory_administrator=true"),
            std::string::npos);
  EXPECT_NE(bootstrap_event_.details.find("bootstrap directory administrator"), std::string::npos)
      << bootstrap_event_.details;
}

// The reproduced attack: Concord's referrals notifier identity (admin/concord-referrals, whose
// key is mounted in the referrals pods) swapped a reception centre's sealing key and suspended
// agencies. It may not; a directory administrator may.
TEST_F(DirectoryServiceTest, ConcordServiceIdentityCannotChangeTheDirectory) {
  const pb::AgencySpec centre = Spec(AGENCY_TYPE_RECEPTION_CENTRE, "payoke", "BE-VAN", {}, {"nl"});
  pb::Agency stored;
  ASSERT_TRUE(Register(*admin_, centre, &stored).ok());
  auto notifier = Stub(pki_.AgencyCert(AgencyType::kAdmin, "concord-referrals"));

  pb::AgencySpec swapped = centre;
  swapped.set_sealing_public_key_pem(crypto::X25519PrivateKey::Generate().PublicKey().ToPem());
  grpc::Status s = Update(*notifier, swapped);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "denied by rule directory.administration: admin/concord-referrals (Concord service "
            "identity) may not call /concord.directory.v1.Directory/UpdateAgency");
  s = Suspend("payoke", AGENCY_TYPE_RECEPTION_CENTRE, notifier.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("directory.administration"), std::string::npos);
  s = Register(*notifier, Spec(AGENCY_TYPE_POLICE, "pz-fake", "BE", {}, {}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext ctx;
    Accountable(ctx);
    pb::RevokeCertificateRequest req;
    req.set_serial("BEEF");
    req.set_reason("x");
    pb::RevokeCertificateResponse resp;
    EXPECT_EQ(notifier->RevokeCertificate(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_TRUE(Events().size() == 1u);  // only the registration: refusals never reach a handler

  // Nor may an admin identity without a directory role.
  auto other = Stub(pki_.AgencyCert(AgencyType::kAdmin, "helpdesk"));
  s = Update(*other, swapped);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("admin/helpdesk (admin without a directory role)"),
            std::string::npos);

  // The record is untouched; the directory administrator can make the same change.
  pb::Agency got;
  ASSERT_TRUE(Get(*admin_, AGENCY_TYPE_RECEPTION_CENTRE, "payoke", &got).ok());
  EXPECT_EQ(got.sealing_public_key_pem(), centre.sealing_public_key_pem());
  EXPECT_EQ(got.version(), 1);
  ASSERT_TRUE(Update(*admin_, swapped, &got).ok());
  EXPECT_EQ(got.sealing_public_key_pem(), swapped.sealing_public_key_pem());
  ASSERT_TRUE(Suspend("payoke", AGENCY_TYPE_RECEPTION_CENTRE).ok());
}

TEST_F(DirectoryServiceTest, ChangesNeedAnOfficerAndAJustificationAndAreAudited) {
  const pb::AgencySpec spec = Spec(AGENCY_TYPE_POLICE, "pz-a", "BE", {}, {});
  {
    grpc::ClientContext ctx;  // no metadata at all
    SetDeadline(ctx);
    pb::RegisterAgencyRequest req;
    *req.mutable_agency() = spec;
    pb::RegisterAgencyResponse resp;
    const grpc::Status s = admin_->RegisterAgency(&ctx, req, &resp);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Fields(s), (std::vector<std::string>{"concord-officer", "concord-justification"}));
    EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "ACCOUNTABILITY_REQUIRED");
  }
  EXPECT_EQ(Get(*admin_, AGENCY_TYPE_POLICE, "pz-a").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_EQ(Events()[0].outcome, "INVALID_ARGUMENT");  // the refusal is audited
  EXPECT_EQ(Events()[0].object, "agency:police/pz-a");

  ASSERT_TRUE(Register(*admin_, spec).ok());
  for (const auto& [officer, justification, missing] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"op-17", "", "concord-justification"}, {"", "why", "concord-officer"}}) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (!officer.empty()) ctx.AddMetadata("concord-officer", officer);
    if (!justification.empty()) ctx.AddMetadata("concord-justification", justification);
    pb::SuspendAgencyRequest req;
    req.mutable_id()->set_type(AGENCY_TYPE_POLICE);
    req.mutable_id()->set_id("pz-a");
    req.set_reason("drill");
    pb::SuspendAgencyResponse resp;
    const grpc::Status s = admin_->SuspendAgency(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(Fields(s), std::vector<std::string>{missing});
  }
  pb::Agency got;
  ASSERT_TRUE(Get(*admin_, AGENCY_TYPE_POLICE, "pz-a", &got).ok());
  EXPECT_EQ(got.state(), pb::AGENCY_STATE_ACTIVE);
}

TEST_F(DirectoryServiceTest, KeyEndorsementIsVerifiedAgainstTheCurrentSigningKey) {
  const crypto::Ed25519PrivateKey old_sign = crypto::Ed25519PrivateKey::Generate();
  pb::AgencySpec spec = Spec(AGENCY_TYPE_POLICE, "pz-a", "BE", {}, {});
  spec.set_signing_public_key_pem(old_sign.PublicKey().ToPem());
  ASSERT_TRUE(Register(*admin_, spec).ok());

  const crypto::Ed25519PrivateKey new_sign = crypto::Ed25519PrivateKey::Generate();
  const crypto::X25519PrivateKey new_seal = crypto::X25519PrivateKey::Generate();
  const std::string spiffe = "spiffe://" + pki_.trust_domain() + "/agency/police/pz-a";
  auto endorse = [&](const crypto::Ed25519PrivateKey& by) {
    const crypto::KeyEndorsement e =
        *crypto::SignKeyEndorsement(spiffe, by, new_sign.PublicKey(), new_seal.PublicKey(),
                                    absl::FromUnixNanos(1'800'000'000'000'000'007));
    pb::KeyEndorsement out;
    out.set_previous_signing_key(e.previous_signing_key);
    out.mutable_issued_at()->set_seconds(1'800'000'000);
    out.mutable_issued_at()->set_nanos(7);
    out.set_signature(e.signature);
    return out;
  };
  pb::AgencySpec rotated = spec;
  rotated.set_signing_public_key_pem(new_sign.PublicKey().ToPem());
  rotated.set_sealing_public_key_pem(new_seal.PublicKey().ToPem());

  // Forged: signed by a key that is not the agency's current one.
  *rotated.mutable_key_endorsement() = endorse(crypto::Ed25519PrivateKey::Generate());
  grpc::Status s = Update(*admin_, rotated);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(s), std::vector<std::string>{"agency.key_endorsement"});
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "KEY_ENDORSEMENT_INVALID");
  pb::Agency got;
  ASSERT_TRUE(Get(*admin_, AGENCY_TYPE_POLICE, "pz-a", &got).ok());
  EXPECT_EQ(got.signing_public_key_pem(), spec.signing_public_key_pem());  // unchanged

  // Valid: accepted and stored, readable by every agency (a platform included).
  *rotated.mutable_key_endorsement() = endorse(old_sign);
  ASSERT_TRUE(Update(*admin_, rotated, &got).ok());
  EXPECT_EQ(got.key_endorsement().previous_signing_key(), old_sign.PublicKey().Raw());
  EXPECT_EQ(Events().back().details.find("key_endorsement=present") == std::string::npos, false)
      << Events().back().details;
  auto platform = Stub(pki_.AgencyCert(AgencyType::kPlatform, "platform-x"));
  ASSERT_TRUE(Get(*platform, AGENCY_TYPE_POLICE, "pz-a", &got).ok());
  EXPECT_EQ(got.key_endorsement().signature(), rotated.key_endorsement().signature());
  EXPECT_EQ(got.key_endorsement().issued_at().nanos(), 7);
  const crypto::KeyEndorsement read{got.key_endorsement().previous_signing_key(),
                                    absl::FromUnixNanos(1'800'000'000'000'000'007),
                                    got.key_endorsement().signature()};
  EXPECT_TRUE(
      crypto::VerifyKeyEndorsement(spiffe, read, new_sign.PublicKey(), new_seal.PublicKey()).ok());

  // Keys unchanged (a profile edit): the endorsement is kept.
  pb::AgencySpec edited = rotated;
  edited.clear_key_endorsement();
  edited.set_display_name("Renamed");
  ASSERT_TRUE(Update(*admin_, edited, &got).ok());
  EXPECT_EQ(got.key_endorsement().signature(), rotated.key_endorsement().signature());

  // A re-key without endorsement is allowed and leaves none.
  edited.set_signing_public_key_pem(crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem());
  ASSERT_TRUE(Update(*admin_, edited, &got).ok());
  EXPECT_FALSE(got.has_key_endorsement());
  EXPECT_NE(Events().back().details.find("key_endorsement=absent"), std::string::npos);
}

// Item 10: platforms and foreign partners get the identity and keys they need, nothing
// operational (suspension reasons, serials, jurisdiction, attributes).
TEST_F(DirectoryServiceTest, PlatformsAndForeignPartnersSeeOnlyThePublicPart) {
  const CertFiles police_cert = pki_.AgencyCert(AgencyType::kPolice, "pz-a");
  pb::AgencySpec spec =
      Spec(AGENCY_TYPE_POLICE, "pz-a", "BE-BRU", {"thb"}, {"fr"}, police_cert.serial);
  AddAttribute(spec, "time_zone", "Europe/Brussels");
  ASSERT_TRUE(Register(*admin_, spec).ok());
  ASSERT_TRUE(Suspend("pz-a", AGENCY_TYPE_POLICE).ok());

  for (const auto& [type, id] :
       std::vector<std::pair<AgencyType, std::string>>{{AgencyType::kPlatform, "platform-x"},
                                                       {AgencyType::kForeignPartner, "europol"},
                                                       {AgencyType::kAdmin, "concord-referrals"},
                                                       {AgencyType::kAdmin, "helpdesk"}}) {
    auto stub = Stub(pki_.AgencyCert(type, id));
    pb::Agency got;
    ASSERT_TRUE(Get(*stub, AGENCY_TYPE_POLICE, "pz-a", &got).ok()) << id;
    EXPECT_EQ(got.id().id(), "pz-a");
    EXPECT_EQ(got.display_name(), spec.display_name());
    EXPECT_EQ(got.signing_public_key_pem(), spec.signing_public_key_pem());
    EXPECT_EQ(got.sealing_public_key_pem(), spec.sealing_public_key_pem());
    EXPECT_EQ(got.certificate_serials_size(), 0) << id;
    EXPECT_EQ(got.state(), pb::AGENCY_STATE_UNSPECIFIED) << id;
    EXPECT_EQ(got.suspension_reason(), "") << id;
    EXPECT_EQ(got.jurisdiction(), "") << id;
    EXPECT_EQ(got.specialisations_size(), 0) << id;
    EXPECT_EQ(got.languages_size(), 0) << id;
    EXPECT_EQ(got.attributes_size(), 0) << id;
    EXPECT_EQ(got.version(), 0) << id;
    EXPECT_FALSE(got.has_updated_at()) << id;
  }
  // A domestic agency sees the whole record.
  auto centre = Stub(pki_.AgencyCert(AgencyType::kReceptionCentre, "payoke"));
  pb::Agency full;
  ASSERT_TRUE(Get(*centre, AGENCY_TYPE_POLICE, "pz-a", &full).ok());
  EXPECT_EQ(full.suspension_reason(), "security incident");
  EXPECT_EQ(full.certificate_serials_size(), 1);
  EXPECT_EQ(full.state(), pb::AGENCY_STATE_SUSPENDED);
  EXPECT_GT(full.attributes_size(), 0);
}

TEST_F(DirectoryServiceTest, AttributesAreTypedValidatedAndReadable) {
  pb::AgencySpec spec = Spec(AGENCY_TYPE_MAGISTRATE, "parquet-liege", "BE-WLG", {"thb"}, {"fr"});
  AddAttribute(spec, "magistrate_role", "judge");
  AddAttribute(spec, "recognised_centre", "true");
  grpc::Status s = Register(*admin_, spec);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Fields(s),
            (std::vector<std::string>{"agency.attributes[0].value", "agency.attributes[1].name"}));
  spec.clear_attributes();
  AddAttribute(spec, "magistrate_role", "prosecutor");
  pb::Agency got;
  ASSERT_TRUE(Register(*admin_, spec, &got).ok());
  ASSERT_EQ(got.attributes_size(), 3);
  EXPECT_EQ(got.attributes(0).name(), "guideline_publisher");
  EXPECT_EQ(got.attributes(0).value(), "false");
  EXPECT_EQ(got.attributes(0).type(), pb::ATTRIBUTE_TYPE_FLAG);
  EXPECT_TRUE(got.attributes(0).is_default());
  EXPECT_EQ(got.attributes(1).name(), "magistrate_role");
  EXPECT_EQ(got.attributes(1).value(), "prosecutor");
  EXPECT_EQ(got.attributes(1).type(), pb::ATTRIBUTE_TYPE_ENUM);
  EXPECT_FALSE(got.attributes(1).is_default());
  EXPECT_EQ(got.attributes(2).name(), "time_zone");
  EXPECT_EQ(got.attributes(2).value(), "Europe/Brussels");
  EXPECT_EQ(got.attributes(2).type(), pb::ATTRIBUTE_TYPE_TIME_ZONE);
  EXPECT_EQ(
      Events().back().details.find("attributes.magistrate_role=prosecutor") == std::string::npos,
      false);

  // An update that names no attribute keeps them; one that does merges.
  spec.clear_attributes();
  AddAttribute(spec, "time_zone", "Europe/Paris");
  ASSERT_TRUE(Update(*admin_, spec, &got).ok());
  EXPECT_EQ(got.attributes(1).value(), "prosecutor");
  EXPECT_EQ(got.attributes(2).value(), "Europe/Paris");
  EXPECT_EQ(Events().back().details, "attributes.time_zone=Europe/Paris");

  // Every service reads them from its cache.
  const AgencyId id{pki_.trust_domain(), AgencyType::kMagistrate, "parquet-liege"};
  EXPECT_TRUE(
      Eventually([&] { return cache_->AttributesOf(id).TimeZoneName() == "Europe/Paris"; }));
  EXPECT_EQ(cache_->AttributesOf(id).Enum(attributes::kMagistrateRole), "prosecutor");
}

TEST_F(DirectoryServiceTest, ChangesOfAnAgencyWithAnInboxAreQueuedForAnnouncement) {
  pb::AgencySpec spec = Spec(AGENCY_TYPE_RECEPTION_CENTRE, "payoke", "BE-VAN", {}, {"nl"});
  ASSERT_TRUE(Register(*admin_, spec).ok());
  spec.set_sealing_public_key_pem(crypto::X25519PrivateKey::Generate().PublicKey().ToPem());
  ASSERT_TRUE(Update(*admin_, spec).ok());
  ASSERT_TRUE(Update(*admin_, spec).ok());  // no change: nothing to announce
  auto entries = redis::RedisClient::Create(redis_server_->admin_config())
                     ->Command({"XRANGE", AnnouncementOutboxKey(), "-", "+"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 2u);  // admin/ops itself has no inbox: not announced
  EXPECT_EQ(entries->elements[0].elements[1].elements[1].str, "reception_centre/payoke@v1");
  EXPECT_EQ(entries->elements[1].elements[1].elements[1].str, "reception_centre/payoke@v2");
  const std::string body = entries->elements[1].elements[1].elements[5].str;
  EXPECT_NE(body.find("sealing_public_key"), std::string::npos);
  // Never the officer or the justification.
  EXPECT_EQ(body.find("op-17"), std::string::npos);
  EXPECT_EQ(body.find("OPS-42"), std::string::npos);
}

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

  // Audited: collection by the admin agency, officer and justification asserted in metadata,
  // what was set in the details.
  const auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].agency.Key(), "admin/ops");
  EXPECT_EQ(events[0].officer, "op-17");
  EXPECT_EQ(events[0].justification, "ticket OPS-42");
  EXPECT_EQ(events[0].operation, audit::Operation::kCollection);
  EXPECT_EQ(events[0].object, "agency:police/pz-a");
  EXPECT_EQ(events[0].outcome, "OK");
  EXPECT_NE(events[0].details.find("signing_public_key="), std::string::npos);
  EXPECT_EQ(events[0].details.find("bootstrap"), std::string::npos);  // the grant has ended

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
  EXPECT_NE(s.error_message().find("directory.administration"), std::string::npos);
  EXPECT_NE(s.error_message().find("police"), std::string::npos);
  EXPECT_NE(s.error_message().find("RegisterAgency"), std::string::npos);
  EXPECT_TRUE(Events().empty());  // refused before the handler

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
  EXPECT_EQ(audit_.events().back().details, "state=suspended");

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
  Accountable(ctx);
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
  EXPECT_EQ(seen, (std::vector<std::string>{"ops", "mag", "pz-a", "pz-b", "payoke"}));

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
    Accountable(ctx);
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
    Accountable(ctx);
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
