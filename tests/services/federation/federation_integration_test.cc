// Two deployments federated end to end (label integration): two trust domains (concord.test and
// partner.test), two CAs, two real redis-servers (each gateway connects as the concord-gateway
// ACL user of the shipped ACL file), two gateways each with its internal mutual-TLS port and its
// partner port (trust bundle = the other deployment's CA alone), the real authorization table
// with the trust-domain dimension, the real audit intake of each side chained by the audit
// ingester. What it proves (docs/security.md "Threats, controls and proofs"):
//   - a REQUEST sealed by a Belgian magistrate to the Dutch prosecutor's key (obtained through
//     the gateway from the partner's signed export) crosses, is acknowledged with a signed
//     receipt that crosses back, and is answered with a sealed RESPONSE that crosses back; each
//     side verifies the other's signature against the partner export key;
//   - neither Redis holds the plaintext (both gateways relay sealed bytes only);
//   - a partner agency not on the allow-list is refused (PERMISSION_DENIED PARTNER_NOT_ALLOWED);
//   - the partner gateway's identity reaches Relay and the export and nothing else; any other
//     partner identity reaches nothing (PARTNER_NOT_GATEWAY); a partner certificate is refused
//     on the internal port; a local certificate is refused on the partner port;
//   - an agency suspended on one side is refused on the other after the next refresh;
//   - both audit chains verify and hold a record of every crossing;
//   - liaison requests cross the border (docs/liaison.md "Liaison requests across the border"):
//     an EIO created on our side with the partner's prosecutor as executor crosses with its
//     signed descriptor; the partner's liaison service then holds the request with its
//     acknowledgement deadline at the end of the day + 7 days in the executor's zone counted
//     from the partner gateway's acceptance; the prosecutor's acknowledgement crosses back and
//     our request shows ACKNOWLEDGED; a forged or altered descriptor is refused on either side;
//     a replayed relay records once; liaison unreachable refuses the relay (the sender retries,
//     the clock start is not lost); nobody but the local gateway records a crossing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "client/messaging/message_crypto.h"
#include "common/audit/intake_audit_sink.h"
#include "common/authz/auth_processor.h"
#include "common/clients/directory_keys.h"
#include "common/clients/directory_reader.h"
#include "common/crypto/key_endorsement.h"
#include "common/envelope/envelope_proto.h"
#include "common/envelope/liaison_descriptor.h"
#include "common/quota/quota_checker.h"
#include "common/server/open_calls.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/federation/v1/federation.grpc.pb.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"
#include "services/audit/redis_audit_store.h"
#include "services/federation/gateway.h"
#include "services/federation/gateway_service.h"
#include "services/federation/liaison_link.h"
#include "services/federation/partner_link.h"
#include "services/federation/redis_inbox_store.h"
#include "services/liaison/liaison_service.h"
#include "services/liaison/redis_liaison_store.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::federation {
namespace {

using ::testing::HasSubstr;
namespace mc = ::concord::messaging::client;
namespace mv1 = ::concord::messaging::v1;
namespace lv1 = ::concord::liaison::v1;

constexpr char kOurs[] = "concord.test";
constexpr char kPartner[] = "partner.test";

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// The partner link of a side, created once the other side's partner port is bound.
class DeferredPartner final : public PartnerClient {
 public:
  void Connect(std::shared_ptr<grpc::Channel> channel) {
    link_ = std::make_unique<PartnerLink>(std::move(channel));
  }
  StatusOr<v1::SignedDirectoryExport> FetchExport() override {
    if (link_ == nullptr) return absl::UnavailableError("not connected");
    return link_->FetchExport();
  }
  StatusOr<v1::RelayResponse> Relay(const v1::RelayRequest& request) override {
    if (link_ == nullptr) return absl::UnavailableError("not connected");
    return link_->Relay(request);
  }

 private:
  std::unique_ptr<PartnerLink> link_;
};

// The gateway's liaison link, created once the side's internal port is bound; Disconnect()
// makes the liaison service unreachable (UNAVAILABLE), as when it is down.
class DeferredLiaison final : public LiaisonRecorder {
 public:
  void Connect(std::shared_ptr<grpc::Channel> channel) {
    link_ = std::make_unique<LiaisonLink>(std::move(channel));
  }
  void Disconnect() { link_.reset(); }
  StatusOr<lv1::RequestResponse> RecordCrossing(const lv1::RecordCrossingRequest& r) override {
    if (link_ == nullptr) return absl::UnavailableError("liaison service down");
    return link_->RecordCrossing(r);
  }

 private:
  std::unique_ptr<LiaisonLink> link_;
};

struct Agent {
  AgencyId id;
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  crypto::X25519PrivateKey sealing = crypto::X25519PrivateKey::Generate();
  std::unique_ptr<v1::Federation::Stub> stub;
  std::unique_ptr<lv1::Liaison::Stub> liaison;

  mc::AgencyProto proto() const {
    mc::AgencyProto p;
    envelope::AgencyToProto(id, p);
    return p;
  }
  mc::SenderIdentity identity() const { return {proto(), signing, sealing}; }
};

// One deployment: CA, Redis, directory records, gateway with its two ports, audit intake.
struct Side {
  explicit Side(std::string trust_domain) : td(std::move(trust_domain)), pki(td) {}

  std::string td;
  testing::TestPki pki;
  std::unique_ptr<testing::RedisServer> redis;
  std::unique_ptr<redis::RedisClient> admin, gw_redis, audit_redis;
  crypto::Ed25519PrivateKey export_key = crypto::Ed25519PrivateKey::Generate();
  testing::CertFiles gateway_cert;
  FederationConfig config;
  audit::AuditKey audit_key = *audit::AuditKey::FromBytes(std::string(32, 'k'));
  std::unique_ptr<audit::IntakeAuditSink> audit_sink;
  std::unique_ptr<RedisInboxStore> store;
  std::unique_ptr<clients::DirectoryReader> directory;
  metrics::Metrics metrics;
  testing::NoRevocations revocations;
  DeferredPartner partner;
  DeferredLiaison liaison_link;
  std::unique_ptr<redis::RedisClient> liaison_redis;
  std::unique_ptr<audit::IntakeAuditSink> liaison_audit;
  std::unique_ptr<clients::DirectoryReader> liaison_directory;
  std::unique_ptr<liaison::RedisLiaisonStore> liaison_store;
  std::unique_ptr<server::OpenCalls> calls;
  std::unique_ptr<liaison::LiaisonService> liaison_service;
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<GatewayService> gateway_service;
  std::unique_ptr<FederationService> federation_service;
  std::unique_ptr<testing::SecureTestServer> internal;
  std::unique_ptr<authz::Authorizer> partner_authorizer;
  std::shared_ptr<authz::AuthProcessor> partner_processor;
  std::unique_ptr<ServerRunner> partner_port;
  ServerOptions partner_port_options;
  // --quotas of this side's gateway ("" = the defaults), applied by Start as the host does.
  std::string quota_overrides;
  std::unique_ptr<quota::QuotaChecker> quotas;

  void Register(Agent& a, bool suspended = false,
                nlohmann::json attributes = nlohmann::json::object()) {
    nlohmann::json j = {{"type", std::string(AgencyTypeName(a.id.type))},
                        {"id", a.id.id},
                        {"display_name", "Agency " + a.id.id},
                        {"jurisdiction", td == kOurs ? "BE" : "NL"},
                        {"specialisations", nlohmann::json::array()},
                        {"languages", {"en"}},
                        {"signing_public_key_pem", a.signing.PublicKey().ToPem()},
                        {"sealing_public_key_pem", a.sealing.PublicKey().ToPem()},
                        {"capacity", 0},
                        {"state", suspended ? "suspended" : "active"},
                        {"attributes", attributes}};
    ASSERT_TRUE(admin
                    ->Command({"HSET", clients::DirectoryKey("agency:" + a.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
  }

  // Redis, the gateway certificate (admin/concord-gateway, server and client, localhost), the
  // gateway and both ports. `partner_ca`: the other side's CA file.
  void Start(const std::string& partner_td, const std::string& partner_ca,
             const crypto::Ed25519PublicKey& partner_export_key, std::vector<AgencyId> allow,
             std::vector<AgencyId> exported) {
    redis = testing::RedisServer::Start({});
    ASSERT_NE(redis, nullptr);
    admin = redis::RedisClient::Create(redis->admin_config());
    gw_redis = redis::RedisClient::Create(redis->config("gateway"));
    audit_redis = redis::RedisClient::Create(redis->config("audit"));
    testing::CertOptions o;
    o.common_name = "concord-gateway";
    o.dns_names = {"localhost"};
    o.ip_addresses = {"127.0.0.1"};
    o.uris = {"spiffe://" + td + "/agency/admin/concord-gateway"};
    gateway_cert = pki.Issue(o);
    config.local_trust_domain = td;
    config.partner_trust_domain = partner_td;
    config.partner_ca_file = partner_ca;
    config.partner_export_key = partner_export_key;
    config.gateway_cert_file = gateway_cert.cert_file;
    config.gateway_key_file = gateway_cert.key_file;
    config.allowed_partner_agencies = std::move(allow);
    config.exported_local_agencies = std::move(exported);
    config.refresh_interval = absl::Milliseconds(200);
    config.max_export_age = absl::Seconds(30);
    audit_sink = std::make_unique<audit::IntakeAuditSink>(*gw_redis, audit_key, SystemClock::Get(),
                                                          "gateway");
    store = std::make_unique<RedisInboxStore>(*gw_redis);
    directory = std::make_unique<clients::DirectoryReader>(*gw_redis, td);
    if (!quota_overrides.empty()) {
      StatusOr<quota::QuotaTable> table =
          quota::QuotaTable::Defaults().WithOverrides(quota_overrides);
      ASSERT_TRUE(table.ok()) << table.status();
      quotas =
          std::make_unique<quota::QuotaChecker>(*std::move(table), metrics, SystemClock::Get());
    }
    gateway = std::make_unique<Gateway>(GatewayDeps{.config = config,
                                                    .export_key = export_key,
                                                    .store = *store,
                                                    .directory = *directory,
                                                    .audit = *audit_sink,
                                                    .metrics = metrics,
                                                    .clock = SystemClock::Get(),
                                                    .partner = partner,
                                                    .quotas = quotas.get(),
                                                    .liaison = &liaison_link});
    gateway_service = std::make_unique<GatewayService>(*gateway);
    federation_service = std::make_unique<FederationService>(*gateway);
    // This deployment's liaison service (its own Redis user and audit intake), on the internal
    // port with the gateway's Federation service; the gateway reaches it as admin/concord-gateway.
    liaison_redis = redis::RedisClient::Create(redis->config("liaison"));
    liaison_audit = std::make_unique<audit::IntakeAuditSink>(*liaison_redis, audit_key,
                                                             SystemClock::Get(), "liaison");
    liaison_directory = std::make_unique<clients::DirectoryReader>(*liaison_redis, td);
    liaison_store = std::make_unique<liaison::RedisLiaisonStore>(*liaison_redis);
    calls = std::make_unique<server::OpenCalls>(revocations, metrics, SystemClock::Get());
    liaison_service = std::make_unique<liaison::LiaisonService>(
        *liaison_store, *liaison_directory, *liaison_audit, metrics, *calls, SystemClock::Get(),
        liaison::LiaisonServiceOptions{.trust_domain = td, .clocks = {}});
    internal = std::make_unique<testing::SecureTestServer>(pki, metrics, revocations);
    ASSERT_TRUE(internal->Start({federation_service.get(), liaison_service.get()}).ok());
    liaison_link.Connect(
        internal->Channel(TlsFiles{gateway_cert.cert_file, gateway_cert.key_file, pki.ca_file()}));
    partner_authorizer =
        std::make_unique<authz::Authorizer>(td, revocations, std::vector<std::string>{partner_td});
    partner_processor = std::make_shared<authz::AuthProcessor>(*partner_authorizer, metrics);
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.health_address = "";
    options.metrics_address = "";
    options.tls = TlsFiles{gateway_cert.cert_file, gateway_cert.key_file, partner_ca};
    options.handle_signals = false;
    options.drain_timeout = absl::Seconds(1);
    partner_port_options = options;
    partner_port = std::make_unique<ServerRunner>(options, metrics, partner_processor);
    partner_port->AddService(gateway_service.get());
    ASSERT_TRUE(partner_port->Start().ok());
    config.listen_address = "127.0.0.1:" + std::to_string(partner_port->port());
    partner_port_options.listen_address = config.listen_address;  // a restart keeps the port
  }

  // The gateway's partner port goes down (a crash of the gateway's partner-facing side: nothing
  // is served there until StartPartnerPort).
  void StopPartnerPort() { partner_port->Shutdown(); }
  void StartPartnerPort() {
    partner_port = std::make_unique<ServerRunner>(partner_port_options, metrics, partner_processor);
    partner_port->AddService(gateway_service.get());
    ASSERT_TRUE(partner_port->Start().ok());
  }

  // A channel to THIS side's partner port presenting `client` (verified against this side's
  // gateway certificate, i.e. this side's CA).
  std::shared_ptr<grpc::Channel> PartnerPortChannel(const TlsFiles& client) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(config.listen_address, MakeChannelCredentials(client), args);
  }

  void Stop() {
    if (gateway != nullptr) gateway->Stop();
    if (partner_port != nullptr) partner_port->Shutdown();
    if (internal != nullptr) internal->Shutdown();
  }

  // The audit chain of this side after ingesting the gateway's intake: verified, all records.
  std::vector<audit::DecodedRecord> VerifiedAuditRecords() {
    audit::RedisAuditStore audit_store(*audit_redis);
    crypto::Ed25519PrivateKey checkpoint_key = crypto::Ed25519PrivateKey::Generate();
    audit::AuditIngester ingester(audit_store, audit_key, SystemClock::Get(), nullptr,
                                  audit::IngesterOptions{.workloads = {"gateway", "liaison"},
                                                         .trust_domain = td,
                                                         .batch = 64,
                                                         .poll_interval = absl::Milliseconds(500)});
    EXPECT_TRUE(ingester.IngestPending().ok());
    audit::AuditLog log(audit_store, audit_key, checkpoint_key, SystemClock::Get());
    auto report = log.Verify(0, 0);
    EXPECT_TRUE(report.ok() && report->result.ok) << td << ": the audit chain does not verify";
    audit::QuerySpec spec;
    spec.page_size = audit::AuditLog::kMaxPageSize;
    auto page = log.Query(spec);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->records : std::vector<audit::DecodedRecord>{};
  }

  // Every key and value of this side's Redis, concatenated (for the plaintext scan).
  std::string DumpRedis() {
    std::string all;
    auto keys = admin->Command({"KEYS", "*"});
    if (!keys.ok()) {
      ADD_FAILURE() << keys.status();
      return all;
    }
    auto append = [&all](const StatusOr<redis::Reply>& r) {
      if (!r.ok()) return;
      all += r->str;
      for (const redis::Reply& e : r->elements) all += e.str;
    };
    for (const redis::Reply& k : keys->elements) {
      all += k.str;
      const StatusOr<redis::Reply> type = admin->Command({"TYPE", k.str});
      const std::string t = type.ok() ? type->str : "";
      if (t == "hash") append(admin->Command({"HGETALL", k.str}));
      if (t == "string") append(admin->Command({"GET", k.str}));
      if (t == "list") append(admin->Command({"LRANGE", k.str, "0", "-1"}));
    }
    return all;
  }
};

// The value of a series of `metrics` (counter or gauge) whose labels include `labels`; -1 if none.
double MetricValue(metrics::Metrics& metrics, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const auto& family : metrics.registry().Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      size_t matched = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++matched;
      }
      if (matched != labels.size()) continue;
      return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

int CountRecords(const std::vector<audit::DecodedRecord>& records, std::string_view object_prefix,
                 std::string_view outcome) {
  int n = 0;
  for (const auto& r : records) {
    if (absl::StartsWith(r.event.object, std::string(object_prefix)) && r.event.outcome == outcome)
      ++n;
  }
  return n;
}

// Named in lower case: the ctest names read "federation.<test>" (ctest -R federation).
class federation : public ::testing::Test {  // NOLINT(readability-identifier-naming)
 protected:
  void SetUp() override {
    judge_.id = {kOurs, AgencyType::kMagistrate, "parquet-bxl"};
    om_.id = {kPartner, AgencyType::kMagistrate, "om-rotterdam"};
    politie_.id = {kPartner, AgencyType::kPolice, "politie-nl"};
    // Ours lets om-rotterdam in (not politie-nl) and exports parquet-bxl; the partner lets
    // parquet-bxl in and exports both of its agencies.
    ours_.Start(kPartner, partner_.pki.ca_file(), partner_.export_key.PublicKey(), {om_.id},
                {judge_.id});
    ASSERT_FALSE(HasFatalFailure());
    partner_.Start(kOurs, ours_.pki.ca_file(), ours_.export_key.PublicKey(), {judge_.id},
                   {om_.id, politie_.id});
    ASSERT_FALSE(HasFatalFailure());
    ours_.Register(judge_);
    partner_.Register(om_, false, {{"time_zone", "Europe/Amsterdam"}});
    partner_.Register(politie_);
    // Each gateway reaches the other's partner port with its own gateway certificate.
    ours_.partner.Connect(partner_.PartnerPortChannel(TlsFiles{
        ours_.gateway_cert.cert_file, ours_.gateway_cert.key_file, partner_.pki.ca_file()}));
    partner_.partner.Connect(ours_.PartnerPortChannel(TlsFiles{
        partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, ours_.pki.ca_file()}));
    ours_.gateway->Start();
    partner_.gateway->Start();
    judge_.stub = v1::Federation::NewStub(
        ours_.internal->Channel(ours_.pki.AgencyTls(judge_.id.type, judge_.id.id)));
    om_.stub = v1::Federation::NewStub(
        partner_.internal->Channel(partner_.pki.AgencyTls(om_.id.type, om_.id.id)));
    politie_.stub = v1::Federation::NewStub(
        partner_.internal->Channel(partner_.pki.AgencyTls(politie_.id.type, politie_.id.id)));
    judge_.liaison = lv1::Liaison::NewStub(
        ours_.internal->Channel(ours_.pki.AgencyTls(judge_.id.type, judge_.id.id)));
    om_.liaison = lv1::Liaison::NewStub(
        partner_.internal->Channel(partner_.pki.AgencyTls(om_.id.type, om_.id.id)));
  }

  void TearDown() override {
    ours_.Stop();
    partner_.Stop();
  }

  // `who`'s view of `whom` through its own gateway (the keys to seal to and verify with).
  StatusOr<v1::ExportedAgency> PartnerKeys(Agent& who, const Agent& whom) {
    v1::GetPartnerAgencyRequest req;
    *req.mutable_agency() = whom.proto();
    v1::GetPartnerAgencyResponse resp;
    grpc::Status s = who.stub->GetPartnerAgency(Ctx().get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp.agency();
  }

  mv1::Envelope Seal(const Agent& from, const v1::ExportedAgency& to, const std::string& body,
                     mv1::MessageKind kind, const std::string& in_reply_to = "") {
    mc::MessageDraft draft;
    draft.recipients = {
        {to.agency(), *crypto::X25519PublicKey::FromPem(to.sealing_public_key_pem())}};
    draft.kind = kind;
    draft.case_reference = "BXL.12.34/2026";
    draft.body = body;
    draft.in_reply_to = in_reply_to;
    auto env = mc::BuildEnvelope(from.identity(), draft, absl::Now());
    EXPECT_TRUE(env.ok()) << env.status();
    return *env;
  }

  grpc::Status SendAcross(Agent& from, const mv1::Envelope& env,
                          v1::SendAcrossResponse* resp = nullptr) {
    v1::SendAcrossRequest req;
    *req.mutable_envelope() = env;
    v1::SendAcrossResponse ignored;
    return from.stub->Send(Ctx().get(), req, resp != nullptr ? resp : &ignored);
  }

  std::vector<v1::InboundItem> Inbound(Agent& who) {
    v1::ListInboundResponse resp;
    grpc::Status s = who.stub->ListInbound(Ctx().get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.items().begin(), resp.items().end()};
  }

  // The EIO our judge issues to the partner's prosecutor (Liaison/CreateRequest on our side).
  StatusOr<lv1::Request> IssueEio(const std::string& order_message_id) {
    lv1::CreateRequestRequest req;
    req.set_type(lv1::REQUEST_TYPE_EIO);
    *req.mutable_executor() = om_.proto();
    req.set_executor_time_zone("Europe/Amsterdam");
    req.set_order_message_id(order_message_id);
    req.set_case_reference("BXL.12.34/2026");
    lv1::RequestResponse resp;
    grpc::Status s = judge_.liaison->CreateRequest(Ctx().get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    return resp.request();
  }

  // The request descriptor of `issued`, riding `order`, signed by our judge.
  lv1::SignedLiaisonDescriptor RequestDescriptor(const lv1::Request& issued,
                                                 const mv1::Envelope& order) {
    lv1::SignedLiaisonDescriptor d;
    lv1::PartnerRequestDescriptor* r = d.mutable_request();
    r->set_issuer_request_id(issued.request_id());
    *r->mutable_issuer() = judge_.proto();
    *r->mutable_executor() = om_.proto();
    r->set_type(lv1::REQUEST_TYPE_EIO);
    r->set_order_message_id(order.message_id());
    r->set_envelope_sha256(absl::BytesToHexString(*mc::EnvelopeSha256(order)));
    r->set_case_reference(order.case_reference());
    EXPECT_TRUE(envelope::SignDescriptor(d, judge_.signing).ok());
    return d;
  }

  grpc::Status SendWithDescriptor(Agent& from, const mv1::Envelope& env,
                                  const lv1::SignedLiaisonDescriptor& d) {
    v1::SendAcrossRequest req;
    *req.mutable_envelope() = env;
    *req.mutable_liaison() = d;
    v1::SendAcrossResponse ignored;
    return from.stub->Send(Ctx().get(), req, &ignored);
  }

  std::vector<lv1::Request> LiaisonRequests(Agent& who) {
    lv1::ListRequestsResponse resp;
    grpc::Status s = who.liaison->ListRequests(Ctx().get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.requests().begin(), resp.requests().end()};
  }

  Side ours_{kOurs};
  Side partner_{kPartner};
  Agent judge_, om_, politie_;
};

// Test that a request crosses sealed end to end, is acknowledged and answered, that neither
// Redis holds its plaintext, and that both audit chains verify with every crossing recorded.
TEST_F(federation, ARequestCrossesIsAcknowledgedAndAnsweredSealedEndToEnd) {
  const std::string kRequest = "EIO: hear witness W-17 about the Antwerp recruitment network";
  const std::string kAnswer = "Hearing of W-17 scheduled; minutes follow as attachment";
  // The Belgian magistrate seals to the Dutch prosecutor's own key, from the partner's export.
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  EXPECT_EQ(om_keys->sealing_public_key_pem(), om_.sealing.PublicKey().ToPem());
  const mv1::Envelope request = Seal(judge_, *om_keys, kRequest, mv1::MESSAGE_KIND_REQUEST);
  v1::SendAcrossResponse sent;
  grpc::Status s = SendAcross(judge_, request, &sent);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(sent.envelope_sha256(), *mc::EnvelopeSha256(request));
  // Resending the same envelope (a retry after a lost answer) is idempotent.
  EXPECT_TRUE(SendAcross(judge_, request).ok());

  // The Dutch prosecutor finds it, verifies the sender against the key the Belgian export
  // carries (through its own gateway), opens it and acknowledges it with a signed receipt.
  auto items = Inbound(om_);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].has_envelope());
  auto judge_keys = PartnerKeys(om_, judge_);
  ASSERT_TRUE(judge_keys.ok()) << judge_keys.status();
  auto judge_signing = *crypto::Ed25519PublicKey::FromPem(judge_keys->signing_public_key_pem());
  auto opened = mc::VerifyAndOpen(items[0].envelope(), judge_signing, om_.proto(), om_.sealing);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, kRequest);
  auto receipt =
      mc::MakeReceipt(om_.identity(), items[0].envelope(), mv1::RECEIPT_KIND_READ, absl::Now());
  ASSERT_TRUE(receipt.ok());
  v1::AcknowledgeRequest ack;
  ack.set_item_id(items[0].item_id());
  *ack.mutable_receipt() = *receipt;
  v1::AcknowledgeResponse ack_resp;
  s = om_.stub->Acknowledge(Ctx().get(), ack, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Inbound(om_).empty());

  // ... and answers, sealed to the Belgian magistrate's key from our export.
  const mv1::Envelope answer =
      Seal(om_, *judge_keys, kAnswer, mv1::MESSAGE_KIND_RESPONSE, request.message_id());
  s = SendAcross(om_, answer);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The Belgian magistrate receives the receipt and the answer, both verified against the
  // prosecutor's exported key.
  auto back = Inbound(judge_);
  ASSERT_EQ(back.size(), 2u);
  const crypto::Ed25519PublicKey om_signing =
      *crypto::Ed25519PublicKey::FromPem(om_keys->signing_public_key_pem());
  int receipts = 0, answers = 0;
  for (const v1::InboundItem& item : back) {
    if (item.has_receipt()) {
      ++receipts;
      EXPECT_TRUE(mc::VerifyReceipt(item.receipt(), om_signing).ok());
      EXPECT_EQ(item.receipt().envelope_sha256(), sent.envelope_sha256());
    } else {
      ++answers;
      auto text = mc::VerifyAndOpen(item.envelope(), om_signing, judge_.proto(), judge_.sealing);
      ASSERT_TRUE(text.ok()) << text.status();
      EXPECT_EQ(*text, kAnswer);
      EXPECT_EQ(item.envelope().in_reply_to(), request.message_id());
    }
  }
  EXPECT_EQ(receipts, 1);
  EXPECT_EQ(answers, 1);

  // No plaintext in either Redis (both gateways relay sealed bytes only).
  for (Side* side : {&ours_, &partner_}) {
    const std::string dump = side->DumpRedis();
    EXPECT_FALSE(absl::StrContains(dump, "W-17")) << side->td;
    EXPECT_FALSE(absl::StrContains(dump, "Antwerp")) << side->td;
    EXPECT_FALSE(absl::StrContains(dump, "Hearing")) << side->td;
  }

  // Both audit chains verify; each side recorded each crossing.
  const auto ours = ours_.VerifiedAuditRecords();
  const auto theirs = partner_.VerifiedAuditRecords();
  EXPECT_EQ(CountRecords(ours, "federation:out:" + request.message_id(), "OK"), 2);  // + resend
  EXPECT_EQ(CountRecords(theirs, "federation:in:" + request.message_id(), "OK"), 2);
  EXPECT_EQ(CountRecords(theirs, "federation:out:receipt:" + request.message_id(), "OK"), 1);
  EXPECT_EQ(CountRecords(ours, "federation:in:receipt:" + request.message_id(), "OK"), 1);
  EXPECT_EQ(CountRecords(theirs, "federation:out:" + answer.message_id(), "OK"), 1);
  EXPECT_EQ(CountRecords(ours, "federation:in:" + answer.message_id(), "OK"), 1);

  // What an operator sees: crossings by direction, kind and result; the export in use.
  const std::string crossings = "concord_federation_crossings_total";
  EXPECT_EQ(MetricValue(ours_.metrics, crossings,
                        {{"direction", "out"}, {"kind", "envelope"}, {"result", "OK"}}),
            2);
  EXPECT_EQ(MetricValue(ours_.metrics, crossings,
                        {{"direction", "in"}, {"kind", "receipt"}, {"result", "OK"}}),
            1);
  EXPECT_EQ(MetricValue(partner_.metrics, crossings,
                        {{"direction", "in"}, {"kind", "envelope"}, {"result", "OK"}}),
            2);
  EXPECT_GE(MetricValue(ours_.metrics, "concord_federation_partner_export_age_seconds", {}), 0);
  EXPECT_GT(MetricValue(ours_.metrics, "concord_federation_partner_export_version", {}), 0);
}

// Test that a partner agency not on the allow-list is refused on our side, with a clear reason,
// whether it asks for our agencies' keys or sends through its (willing) gateway.
TEST_F(federation, APartnerAgencyNotOnTheAllowListIsRefused) {
  auto politie_view = PartnerKeys(judge_, politie_);
  EXPECT_EQ(politie_view.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(politie_view.status()), "PARTNER_NOT_ALLOWED");
  // The partner exports politie-nl and lets it send to parquet-bxl; our gateway refuses it.
  auto judge_keys = PartnerKeys(politie_, judge_);
  ASSERT_TRUE(judge_keys.ok()) << judge_keys.status();
  grpc::Status s = SendAcross(
      politie_, Seal(politie_, *judge_keys, "unsolicited", mv1::MESSAGE_KIND_INFORMATION));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("politie-nl"));
  EXPECT_THAT(s.error_message(), HasSubstr("allow-list"));
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "PARTNER_NOT_ALLOWED");
  EXPECT_TRUE(Inbound(judge_).empty());
  // Refused crossings are audited on our side too.
  EXPECT_EQ(CountRecords(ours_.VerifiedAuditRecords(), "federation:in:", "PERMISSION_DENIED"), 1);
}

// Test the trust-domain dimension of the authorization table: the partner's gateway identity
// reaches Relay and the export and nothing else; other partner identities reach nothing; a
// partner certificate does not even pass the TLS handshake of the internal port, nor a local
// one that of the partner port.
TEST_F(federation, APartnerIdentityReachesTheGatewayRelayAndNothingElse) {
  const TlsFiles partner_gateway{partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file,
                                 ours_.pki.ca_file()};
  auto channel = ours_.PartnerPortChannel(partner_gateway);
  // Allowed: the export.
  v1::SignedDirectoryExport exported;
  grpc::Status s = v1::Gateway::NewStub(channel)->GetDirectoryExport(Ctx().get(), {}, &exported);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // Anything else on the partner port: PERMISSION_DENIED by the policy table.
  v1::FederationStatus status;
  s = v1::Federation::NewStub(channel)->GetStatus(Ctx().get(), {}, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("partner trust domain partner.test"));
  ::concord::directory::v1::GetAgencyRequest get;
  ::concord::directory::v1::GetAgencyResponse got;
  s = ::concord::directory::v1::Directory::NewStub(channel)->GetAgency(Ctx().get(), get, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A partner AGENCY certificate (valid, from the partner CA) reaches not even Relay.
  const TlsFiles om_tls = partner_.pki.AgencyTls(om_.id.type, om_.id.id);
  auto om_channel =
      ours_.PartnerPortChannel(TlsFiles{om_tls.cert_file, om_tls.key_file, ours_.pki.ca_file()});
  v1::RelayRequest relay;
  v1::RelayResponse relayed;
  s = v1::Gateway::NewStub(om_channel)->Relay(Ctx().get(), relay, &relayed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // (a refusal before any handler carries its reason in the message: gRPC drops details there)
  EXPECT_THAT(s.error_message(), HasSubstr("only the partner deployment's gateway"));
  // A partner certificate on our internal port: refused at the handshake (our CA only).
  auto internal = v1::Federation::NewStub(ours_.internal->Channel(partner_gateway));
  s = internal->GetStatus(Ctx().get(), {}, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  // One of our own agencies on the partner port: refused at the handshake (partner CA only).
  const TlsFiles judge_tls = ours_.pki.AgencyTls(judge_.id.type, judge_.id.id);
  auto local_on_partner_port = v1::Gateway::NewStub(ours_.PartnerPortChannel(judge_tls));
  s = local_on_partner_port->Relay(Ctx().get(), relay, &relayed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  // A local agency reaches the local-facing service, never Relay, whatever the port.
  s = judge_.stub->GetStatus(Ctx().get(), {}, &status);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.partner_trust_domain(), kPartner);
  EXPECT_GT(status.export_version(), 0u);
  auto relay_inside = v1::Gateway::NewStub(
      ours_.internal->Channel(ours_.pki.AgencyTls(judge_.id.type, judge_.id.id)));
  s = relay_inside->Relay(Ctx().get(), relay, &relayed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// Test that an agency suspended on the partner side is refused on ours once our gateway
// refreshed the partner export (every refresh_interval; 200 ms here, 60 s by default), and that
// an envelope it signed before is then refused at Relay.
TEST_F(federation, ASuspensionOnOneSideIsHonouredOnTheOtherAfterTheRefresh) {
  auto judge_keys = PartnerKeys(om_, judge_);
  ASSERT_TRUE(judge_keys.ok()) << judge_keys.status();
  const mv1::Envelope signed_before =
      Seal(om_, *judge_keys, "signed before the suspension", mv1::MESSAGE_KIND_INFORMATION);
  partner_.Register(om_, /*suspended=*/true);
  // Poll (bounded) until our gateway's view no longer holds om-rotterdam.
  Status view = absl::OkStatus();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    view = PartnerKeys(judge_, om_).status();
    if (!view.ok()) break;
    absl::SleepFor(absl::Milliseconds(50));  // poll interval of a bounded wait
  } while (absl::Now() < deadline);
  EXPECT_EQ(view.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(view), "PARTNER_AGENCY_UNKNOWN");
  // The partner gateway relaying the old envelope now: refused.
  auto channel = ours_.PartnerPortChannel(TlsFiles{
      partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, ours_.pki.ca_file()});
  v1::RelayRequest relay;
  *relay.mutable_envelope() = signed_before;
  v1::RelayResponse relayed;
  grpc::Status s = v1::Gateway::NewStub(channel)->Relay(Ctx().get(), relay, &relayed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "PARTNER_AGENCY_UNKNOWN");
  // And our magistrate can no longer send to it.
  auto om_keys_before = om_.sealing.PublicKey().ToPem();
  v1::ExportedAgency stale;
  *stale.mutable_agency() = om_.proto();
  stale.set_sealing_public_key_pem(om_keys_before);
  s = SendAcross(judge_, Seal(judge_, stale, "to a suspended agency", mv1::MESSAGE_KIND_REQUEST));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Inbound(judge_).empty());
}

// Test that a crossing interrupted by the receiving gateway going down loses nothing and
// duplicates nothing: the sender gets an error (no acknowledgement), retries the same envelope
// once the gateway is back and it arrives exactly once; an acknowledgement whose receipt cannot
// cross keeps the item in the box until it can.
TEST_F(federation, AGatewayDownMidCrossingLosesNothingAcknowledged) {
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  const mv1::Envelope request = Seal(judge_, *om_keys, "sealed request", mv1::MESSAGE_KIND_REQUEST);
  partner_.StopPartnerPort();
  grpc::Status s = SendAcross(judge_, request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_TRUE(Inbound(om_).empty());
  partner_.StartPartnerPort();
  ASSERT_FALSE(HasFatalFailure());
  // The retry (bounded: the channel reconnects with backoff) crosses exactly once.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  do {
    s = SendAcross(judge_, request);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval of a bounded wait
  } while (absl::Now() < deadline);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(SendAcross(judge_, request).ok());  // and again: still once
  auto items = Inbound(om_);
  ASSERT_EQ(items.size(), 1u);

  // Our partner port down: the prosecutor's acknowledgement cannot send its receipt across, so
  // the item stays; once up again the acknowledgement goes through.
  ours_.StopPartnerPort();
  auto receipt =
      mc::MakeReceipt(om_.identity(), items[0].envelope(), mv1::RECEIPT_KIND_READ, absl::Now());
  ASSERT_TRUE(receipt.ok());
  v1::AcknowledgeRequest ack;
  ack.set_item_id(items[0].item_id());
  *ack.mutable_receipt() = *receipt;
  v1::AcknowledgeResponse ack_resp;
  s = om_.stub->Acknowledge(Ctx().get(), ack, &ack_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Inbound(om_).size(), 1u);
  ours_.StartPartnerPort();
  ASSERT_FALSE(HasFatalFailure());
  const absl::Time ack_deadline = absl::Now() + absl::Seconds(20);
  do {
    s = om_.stub->Acknowledge(Ctx().get(), ack, &ack_resp);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval of a bounded wait
  } while (absl::Now() < ack_deadline);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(Inbound(om_).empty());
  auto back = Inbound(judge_);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(back[0].has_receipt());
}

// Test that an EIO liaison request crosses the border and starts the executing side's clocks
// at the partner gateway's acceptance, in the executor's zone; that a replayed relay records it
// once; that the executor's acknowledgement crosses back and both sides show ACKNOWLEDGED; that
// a descriptor altered after signing is refused on either side; and that the issuer's
// withdrawal crosses the other way.
TEST_F(federation,
       AnEioLiaisonRequestCrossesStartsTheExecutorsClocksAndItsAcknowledgementComesBack) {
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  EXPECT_EQ(om_keys->time_zone(), "Europe/Amsterdam");
  const mv1::Envelope order =
      Seal(judge_, *om_keys, "EIO: hear witness W-17", mv1::MESSAGE_KIND_REQUEST);
  // 1. Our judge issues the EIO to the partner's prosecutor (its zone from the partner export).
  auto issued = IssueEio(order.message_id());
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->executor().trust_domain(), kPartner);
  EXPECT_EQ(issued->executor_time_zone(), "Europe/Amsterdam");
  EXPECT_EQ(issued->state(), lv1::REQUEST_STATE_ISSUED);

  // An altered descriptor (the type changed after signing) is refused by our gateway.
  lv1::SignedLiaisonDescriptor forged = RequestDescriptor(*issued, order);
  forged.mutable_request()->set_type(lv1::REQUEST_TYPE_SPOC_INFORMATION);
  grpc::Status s = SendWithDescriptor(judge_, order, forged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "BAD_SIGNATURE");
  // A descriptor bound to another envelope: refused too.
  const mv1::Envelope other = Seal(judge_, *om_keys, "another order", mv1::MESSAGE_KIND_REQUEST);
  s = SendWithDescriptor(judge_, other, RequestDescriptor(*issued, order));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "DESCRIPTOR_MISMATCH");
  EXPECT_TRUE(LiaisonRequests(om_).empty());

  // 2. The order crosses with its descriptor; the partner side records the request when its
  //    gateway accepts the relay (received_at = that gateway's clock), then a replay of the same
  //    relay records nothing new.
  const lv1::SignedLiaisonDescriptor descriptor = RequestDescriptor(*issued, order);
  const absl::Time before = absl::Now();
  s = SendWithDescriptor(judge_, order, descriptor);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const absl::Time after = absl::Now();
  ASSERT_TRUE(SendWithDescriptor(judge_, order, descriptor).ok());  // the sender's retry
  // The partner gateway relaying the same item again (a replay on the wire): still once.
  auto replay_channel = ours_.PartnerPortChannel(TlsFiles{
      partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, ours_.pki.ca_file()});
  auto theirs = LiaisonRequests(om_);
  ASSERT_EQ(theirs.size(), 1u);
  const lv1::Request& executing = theirs[0];
  EXPECT_EQ(executing.type(), lv1::REQUEST_TYPE_EIO);
  EXPECT_EQ(executing.state(), lv1::REQUEST_STATE_ISSUED);
  EXPECT_EQ(executing.issuer().trust_domain(), kOurs);
  EXPECT_EQ(executing.issuer().id(), judge_.id.id);
  EXPECT_EQ(executing.executor().id(), om_.id.id);
  EXPECT_EQ(executing.partner_request_id(), issued->request_id());
  EXPECT_EQ(executing.order_message_id(), order.message_id());
  EXPECT_EQ(executing.case_reference(), "BXL.12.34/2026");
  EXPECT_EQ(executing.executor_time_zone(), "Europe/Amsterdam");
  const absl::Time received = absl::FromUnixSeconds(executing.created_at().seconds()) +
                              absl::Nanoseconds(executing.created_at().nanos());
  EXPECT_GE(received, before - absl::Seconds(1));
  EXPECT_LE(received, after + absl::Seconds(1));
  // The acknowledgement is due when the 8th civil day after receipt begins in Amsterdam (the
  // end of the day + 7 days, in the executor's zone).
  const absl::TimeZone amsterdam = *LoadTimeZone("Europe/Amsterdam");
  const absl::CivilDay receipt_day = absl::ToCivilDay(received, amsterdam);
  const absl::Time expected_due = absl::FromCivil(receipt_day + 8, amsterdam);
  bool found_ack_clock = false;
  for (const lv1::Clock& c : executing.clocks()) {
    if (c.kind() != lv1::CLOCK_KIND_ACKNOWLEDGEMENT) continue;
    found_ack_clock = true;
    EXPECT_EQ(absl::FromUnixSeconds(c.due_at().seconds()), expected_due);
    EXPECT_EQ(c.time_zone(), "Europe/Amsterdam");
    EXPECT_EQ(c.period_days(), 7);
  }
  EXPECT_TRUE(found_ack_clock);

  // 3. The prosecutor acknowledges on its side, then acknowledges the envelope with its receipt
  //    and the signed act descriptor: our request shows ACKNOWLEDGED.
  lv1::ActRequest ack;
  ack.set_request_id(executing.request_id());
  ack.set_expected_version(executing.version());
  ack.set_move(lv1::MOVE_ACKNOWLEDGE);
  lv1::RequestResponse acked;
  s = om_.liaison->Act(Ctx().get(), ack, &acked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto items = Inbound(om_);
  ASSERT_EQ(items.size(), 1u);
  auto receipt =
      mc::MakeReceipt(om_.identity(), items[0].envelope(), mv1::RECEIPT_KIND_READ, absl::Now());
  ASSERT_TRUE(receipt.ok());
  lv1::SignedLiaisonDescriptor act;
  act.mutable_act()->set_issuer_request_id(issued->request_id());
  act.mutable_act()->set_executor_request_id(executing.request_id());
  *act.mutable_act()->mutable_actor() = om_.proto();
  act.mutable_act()->set_move(lv1::MOVE_ACKNOWLEDGE);
  act.mutable_act()->set_executor_version(acked.request().version());
  act.mutable_act()->set_carrier_message_id(order.message_id());
  ASSERT_TRUE(envelope::SignDescriptor(act, om_.signing).ok());
  v1::AcknowledgeRequest ack_item;
  ack_item.set_item_id(items[0].item_id());
  *ack_item.mutable_receipt() = *receipt;
  *ack_item.mutable_liaison() = act;
  v1::AcknowledgeResponse ack_resp;
  s = om_.stub->Acknowledge(Ctx().get(), ack_item, &ack_resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  lv1::GetRequestRequest get;
  get.set_request_id(issued->request_id());
  lv1::GetRequestResponse ours_view;
  s = judge_.liaison->GetRequest(Ctx().get(), get, &ours_view);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ours_view.request().state(), lv1::REQUEST_STATE_ACKNOWLEDGED);
  EXPECT_EQ(ours_view.request().partner_request_id(), executing.request_id());
  ASSERT_EQ(ours_view.history_size(), 2);
  EXPECT_EQ(ours_view.history(1).action(), "acknowledge");
  EXPECT_EQ(ours_view.history(1).actor().id(), om_.id.id);
  EXPECT_EQ(ours_view.history(1).partner_act(), executing.request_id() + "/v2");

  // The partner gateway relaying that receipt again with the act (a replay): recorded once; the
  // same act altered after signing (REFUSE instead of ACKNOWLEDGE): refused by OUR gateway
  // against the prosecutor's key in the partner export.
  auto as_partner_gateway = v1::Gateway::NewStub(replay_channel);
  v1::RelayRequest relay;
  *relay.mutable_receipt() = *receipt;
  *relay.mutable_liaison() = act;
  v1::RelayResponse relayed;
  s = as_partner_gateway->Relay(Ctx().get(), relay, &relayed);
  EXPECT_TRUE(s.ok()) << s.error_message();
  relay.mutable_liaison()->mutable_act()->set_move(lv1::MOVE_REFUSE);
  relay.mutable_liaison()->mutable_act()->set_reason_code(lv1::REASON_CODE_OTHER);
  s = as_partner_gateway->Relay(Ctx().get(), relay, &relayed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "BAD_SIGNATURE");
  s = judge_.liaison->GetRequest(Ctx().get(), get, &ours_view);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ours_view.request().state(), lv1::REQUEST_STATE_ACKNOWLEDGED);
  EXPECT_EQ(ours_view.history_size(), 2);
  EXPECT_EQ(LiaisonRequests(om_).size(), 1u);

  // 4. Our judge withdraws the EIO here; the withdrawal crosses (an act descriptor on an
  //    INFORMATION envelope) and the partner's request is WITHDRAWN too.
  lv1::ActRequest withdraw;
  withdraw.set_request_id(issued->request_id());
  withdraw.set_expected_version(ours_view.request().version());
  withdraw.set_move(lv1::MOVE_WITHDRAW);
  lv1::RequestResponse withdrawn;
  s = judge_.liaison->Act(Ctx().get(), withdraw, &withdrawn);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const mv1::Envelope notice =
      Seal(judge_, *om_keys, "The EIO is withdrawn", mv1::MESSAGE_KIND_INFORMATION);
  lv1::SignedLiaisonDescriptor withdrawal;
  withdrawal.mutable_act()->set_issuer_request_id(issued->request_id());
  withdrawal.mutable_act()->set_executor_request_id(executing.request_id());
  *withdrawal.mutable_act()->mutable_actor() = judge_.proto();
  withdrawal.mutable_act()->set_move(lv1::MOVE_WITHDRAW);
  withdrawal.mutable_act()->set_executor_version(withdrawn.request().version());
  withdrawal.mutable_act()->set_carrier_message_id(notice.message_id());
  ASSERT_TRUE(envelope::SignDescriptor(withdrawal, judge_.signing).ok());
  s = SendWithDescriptor(judge_, notice, withdrawal);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(SendWithDescriptor(judge_, notice, withdrawal).ok());  // a retry: recorded once
  auto after_withdrawal = LiaisonRequests(om_);
  ASSERT_EQ(after_withdrawal.size(), 1u);
  EXPECT_EQ(after_withdrawal[0].state(), lv1::REQUEST_STATE_WITHDRAWN);
  EXPECT_EQ(after_withdrawal[0].version(), 3);
  EXPECT_TRUE(after_withdrawal[0].clocks().empty());

  // Both audit chains verify and hold the crossing's liaison records.
  const auto our_records = ours_.VerifiedAuditRecords();
  const auto their_records = partner_.VerifiedAuditRecords();
  // Theirs: RecordCrossing (the send and its retry), the prosecutor's Act, RecordCrossing of the
  // withdrawal (and of its retry).
  EXPECT_EQ(CountRecords(their_records, "liaison:" + executing.request_id(), "OK"), 5);
  // Ours: CreateRequest, RecordCrossing of the act (and of its replay), two GetRequest, the
  // withdrawal.
  EXPECT_EQ(CountRecords(our_records, "liaison:" + issued->request_id(), "OK"), 6);
  // What an operator sees.
  EXPECT_EQ(MetricValue(partner_.metrics, "concord_federation_liaison_crossings_total",
                        {{"direction", "in"}, {"descriptor", "request"}, {"result", "OK"}}),
            2);
  EXPECT_EQ(
      MetricValue(ours_.metrics, "concord_federation_liaison_crossings_total",
                  {{"direction", "in"}, {"descriptor", "act"}, {"result", "PERMISSION_DENIED"}}),
      1);
}

// Test that a relay carrying a liaison descriptor is refused (UNAVAILABLE LIAISON_UNAVAILABLE,
// nothing stored) while the receiving side's liaison service is unreachable, so the sender
// retries and the clock start is not lost; the retry once it is back records it exactly once.
TEST_F(federation, LiaisonUnreachableRefusesTheRelayAndTheRetryRecordsOnce) {
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  const mv1::Envelope order = Seal(judge_, *om_keys, "EIO: search", mv1::MESSAGE_KIND_REQUEST);
  auto issued = IssueEio(order.message_id());
  ASSERT_TRUE(issued.ok()) << issued.status();
  const lv1::SignedLiaisonDescriptor descriptor = RequestDescriptor(*issued, order);
  partner_.liaison_link.Disconnect();
  grpc::Status s = SendWithDescriptor(judge_, order, descriptor);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "LIAISON_UNAVAILABLE");
  EXPECT_TRUE(Inbound(om_).empty());  // nothing stored: no half crossing
  EXPECT_TRUE(LiaisonRequests(om_).empty());
  partner_.liaison_link.Connect(partner_.internal->Channel(TlsFiles{
      partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, partner_.pki.ca_file()}));
  s = SendWithDescriptor(judge_, order, descriptor);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(SendWithDescriptor(judge_, order, descriptor).ok());
  EXPECT_EQ(Inbound(om_).size(), 1u);
  EXPECT_EQ(LiaisonRequests(om_).size(), 1u);
}

// Test that only this deployment's gateway records a crossing: a local agency is refused by the
// policy table, another Concord service identity by the service (NOT_THE_GATEWAY), and a
// partner identity does not pass the internal port's TLS handshake.
TEST_F(federation, OnlyTheLocalGatewayRecordsACrossing) {
  lv1::RecordCrossingRequest req;
  lv1::RequestResponse resp;
  grpc::Status s = judge_.liaison->RecordCrossing(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  auto other_service = lv1::Liaison::NewStub(
      ours_.internal->Channel(ours_.pki.AgencyTls(AgencyType::kAdmin, "concord-liaison")));
  s = other_service->RecordCrossing(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(s)), "NOT_THE_GATEWAY");
  auto partner_gateway = lv1::Liaison::NewStub(ours_.internal->Channel(TlsFiles{
      partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, ours_.pki.ca_file()}));
  s = partner_gateway->RecordCrossing(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // The partner gateway on its own port reaches Relay, never the liaison service.
  auto on_partner_port = lv1::Liaison::NewStub(ours_.PartnerPortChannel(TlsFiles{
      partner_.gateway_cert.cert_file, partner_.gateway_cert.key_file, ours_.pki.ca_file()}));
  s = on_partner_port->RecordCrossing(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  // Our own gateway identity passes (and its empty request is then invalid).
  auto gateway = lv1::Liaison::NewStub(ours_.internal->Channel(
      TlsFiles{ours_.gateway_cert.cert_file, ours_.gateway_cert.key_file, ours_.pki.ca_file()}));
  s = gateway->RecordCrossing(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

}  // namespace
}  // namespace concord::federation

namespace concord::federation {
namespace {

// Test that a partner agency's key change, once our gateway accepted the export carrying it, is
// counted in concord_federation_partner_key_changes_total and audited on our side with both
// fingerprints (the agency libraries refuse the new keys until a person accepts them: operators
// must hear of it too); an export without a change reports nothing.
TEST_F(federation, APartnerKeyChangeIsCountedAndAuditedByTheGateway) {
  const std::string changes = "concord_federation_partner_key_changes_total";
  ASSERT_TRUE(PartnerKeys(judge_, om_).ok());
  EXPECT_EQ(MetricValue(ours_.metrics, changes, {}), 0);
  Agent swapped;
  swapped.id = om_.id;
  swapped.signing = om_.signing;
  partner_.Register(swapped);  // a new sealing key, no endorsement
  // Poll (bounded) until our gateway counted the change (it audits before it counts).
  const std::string want = swapped.sealing.PublicKey().ToPem();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && MetricValue(ours_.metrics, changes, {}) < 1) {
    absl::SleepFor(absl::Milliseconds(50));  // poll interval of a bounded wait
  }
  StatusOr<v1::ExportedAgency> view = PartnerKeys(judge_, om_);
  ASSERT_TRUE(view.ok() && view->sealing_public_key_pem() == want);
  EXPECT_EQ(MetricValue(ours_.metrics, changes, {}), 1);
  EXPECT_EQ(MetricValue(partner_.metrics, changes, {}), 0) << "nothing changed on our side";
  const std::string object = "federation:partner_key_changed:" + om_.id.ToSpiffe();
  int found = 0;
  for (const auto& r : ours_.VerifiedAuditRecords()) {
    if (r.event.object != object) continue;
    ++found;
    EXPECT_EQ(r.event.agency, om_.id);
    EXPECT_THAT(
        r.event.details,
        HasSubstr("sealing_fingerprint=" + crypto::KeyFingerprint(om_.sealing.PublicKey().Raw()) +
                  " -> " + crypto::KeyFingerprint(swapped.sealing.PublicKey().Raw())));
  }
  EXPECT_EQ(found, 1);
}

// The gateways with tight `send` quotas (--quotas of concord-gateway): ours lets the Belgian
// magistrate send 3 envelopes across, the partner's accepts 2 from it (the buckets refill one
// token in about 17 minutes, so nothing refills during the test).
class federation_quota : public federation {  // NOLINT(readability-identifier-naming)
 protected:
  void SetUp() override {
    ours_.quota_overrides = "magistrate.send=3/0.001";
    partner_.quota_overrides = "magistrate.send=2/0.001";
    federation::SetUp();
  }
};

// Test that Relay (the receiving gateway) and Send (the sending gateway) refuse beyond the
// sending agency's `send` bucket with RESOURCE_EXHAUSTED QUOTA_EXCEEDED and RetryInfo, that
// nothing refused reaches the recipient's box, and that every refusal is audited on the side
// that refused it (and the crossing on the sending side), counted in
// concord_quota_refusals_total and concord_federation_crossings_total.
TEST_F(federation_quota, SendAndRelayBeyondTheSendQuotaAreRefusedAuditedAndNothingCrosses) {
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  std::vector<mv1::Envelope> sent;
  for (int i = 0; i < 4; ++i) {
    sent.push_back(
        Seal(judge_, *om_keys, "request " + std::to_string(i), mv1::MESSAGE_KIND_INFORMATION));
  }
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(SendAcross(judge_, sent[i]).ok()) << i;

  // The third: our bucket has a token left, the partner's Relay refuses it.
  grpc::Status relay_refused = SendAcross(judge_, sent[2]);
  ASSERT_EQ(relay_refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << relay_refused.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(relay_refused)), "QUOTA_EXCEEDED");
  EXPECT_GT(RetryDelayOf(FromGrpcStatus(relay_refused)), absl::Minutes(10));
  EXPECT_LT(RetryDelayOf(FromGrpcStatus(relay_refused)), absl::InfiniteDuration());

  // The fourth: our own bucket is empty, Send refuses it before relaying anything.
  grpc::Status send_refused = SendAcross(judge_, sent[3]);
  ASSERT_EQ(send_refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << send_refused.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(send_refused)), "QUOTA_EXCEEDED");
  EXPECT_GT(RetryDelayOf(FromGrpcStatus(send_refused)), absl::Minutes(10));
  EXPECT_LT(RetryDelayOf(FromGrpcStatus(send_refused)), absl::InfiniteDuration());

  // Nothing refused crossed: the Dutch prosecutor's box holds the first two only.
  std::vector<std::string> boxed;
  for (const v1::InboundItem& item : Inbound(om_)) boxed.push_back(item.envelope().message_id());
  EXPECT_THAT(boxed, ::testing::UnorderedElementsAre(sent[0].message_id(), sent[1].message_id()));

  const auto ours = ours_.VerifiedAuditRecords();
  const auto theirs = partner_.VerifiedAuditRecords();
  EXPECT_EQ(CountRecords(ours, "federation:out:" + sent[2].message_id(), "RESOURCE_EXHAUSTED"), 1);
  EXPECT_EQ(CountRecords(theirs, "federation:in:" + sent[2].message_id(), "RESOURCE_EXHAUSTED"), 1);
  EXPECT_EQ(CountRecords(ours, "federation:out:" + sent[3].message_id(), "RESOURCE_EXHAUSTED"), 1);
  int relayed_fourth = 0;
  for (const auto& r : theirs)
    relayed_fourth += r.event.object == "federation:in:" + sent[3].message_id();
  EXPECT_EQ(relayed_fourth, 0) << "the refused send reached the partner";

  const std::string crossings = "concord_federation_crossings_total";
  EXPECT_EQ(
      MetricValue(ours_.metrics, crossings,
                  {{"direction", "out"}, {"kind", "envelope"}, {"result", "RESOURCE_EXHAUSTED"}}),
      2);
  EXPECT_EQ(
      MetricValue(partner_.metrics, crossings,
                  {{"direction", "in"}, {"kind", "envelope"}, {"result", "RESOURCE_EXHAUSTED"}}),
      1);
  // Where an operator looks for quota refusals (docs/operations.md): one on each side.
  const std::string refusals = "concord_quota_refusals_total";
  EXPECT_EQ(
      MetricValue(ours_.metrics, refusals, {{"agency_type", "magistrate"}, {"limit", "send"}}), 1);
  EXPECT_EQ(
      MetricValue(partner_.metrics, refusals, {{"agency_type", "magistrate"}, {"limit", "send"}}),
      1);
}

// Test that a partner agency with the same type and id as a local one (allow-listed partners
// name their agencies as they like) never drains the local agency's `send` bucket on our gateway,
// neither in Redis nor in the quota checker's memory of recent refusals.
TEST_F(federation_quota, APartnerAgencyNeverDrainsTheBucketOfItsLocalTwin) {
  const AgencyId twin{kPartner, AgencyType::kMagistrate, judge_.id.id};
  const quota::Charge charge = ours_.quotas->ChargeOf(twin, quota::Quota::kSend, 1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ours_.store->Charge(charge).ok()) << i;
  const Status refused = ours_.store->Charge(charge);
  ASSERT_EQ(ReasonOf(refused), "QUOTA_EXCEEDED") << refused;
  ours_.quotas->Observe(twin, refused);
  auto om_keys = PartnerKeys(judge_, om_);
  ASSERT_TRUE(om_keys.ok()) << om_keys.status();
  const grpc::Status sent =
      SendAcross(judge_, Seal(judge_, *om_keys, "still mine", mv1::MESSAGE_KIND_INFORMATION));
  EXPECT_TRUE(sent.ok()) << sent.error_message();
}

}  // namespace
}  // namespace concord::federation
