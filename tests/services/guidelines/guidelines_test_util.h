// File: tests/services/guidelines/guidelines_test_util.h
//
// The guidelines service as concord-server runs it, for component tests: the real
// GuidelinesModule (store, Guidebook, Distributor with its pub/sub wake-ups, service) and the
// directory service (agency libraries read publishers' keys through GetAgency) over a real
// redis-server, behind a SecureTestServer (real mutual TLS with certificates of a TestPki, the
// real authorization table) with a registry of open calls and its watcher. What the test
// controls: the clock (FakeClock: deadlines, effective dates) and the directory's suspensions and
// revocations (MutableRevocations, the view the authorizer, the registry and the compliance
// figures read). Directory records are written in the directory's own format, as the directory
// service stores them (services/directory/redis_directory_store.cc), with each agency's Ed25519
// key; the publisher right as the record's "attributes".
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>

#include "absl/time/clock.h"
#include "client/guidelines/guidelines_client.h"
#include "common/clients/directory_keys.h"
#include "common/guideline/guideline.h"
#include "common/guideline/guideline_proto.h"
#include "common/host/service_host.h"
#include "common/quota/quota_checker.h"
#include "common/server/open_calls.h"
#include "common/status/grpc_status.h"
#include "concord/guidelines/v1/guidelines.grpc.pb.h"
#include "services/directory/directory_module.h"
#include "services/guidelines/guidelines_module.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::guidelines::testing {

namespace gv1 = ::concord::guidelines::v1;
namespace gc = ::concord::guidelines::client;
inline constexpr char kTd[] = "concord.test";

/// A RevocationView the test changes (thread-safe).
class MutableRevocations final : public authz::RevocationView {
 public:
  bool IsSuspended(const AgencyId& agency) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return suspended_.count(agency.Key()) > 0;
  }
  bool IsSerialRevoked(std::string_view serial) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return revoked_.count(std::string(serial)) > 0;
  }
  void Suspend(const AgencyId& a) {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_.insert(a.Key());
  }
  void Reinstate(const AgencyId& a) {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_.erase(a.Key());
  }
  void Revoke(const std::string& serial) {
    std::lock_guard<std::mutex> lock(mu_);
    revoked_.insert(serial);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> suspended_;
  std::set<std::string> revoked_;
};

/// Bounded polling for an asynchronous effect (not a sleep used as synchronisation).
inline bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

/// One agency: its identity, signing key, certificate and a channel to the server.
struct Agent {
  AgencyId id;
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  ::concord::testing::CertFiles cert;
  std::shared_ptr<grpc::Channel> channel;

  gc::GuidelinesClient Client(std::string officer = "officer-7") const {
    return gc::GuidelinesClient(channel, gc::ClientOptions{.deadline = absl::Seconds(10),
                                                           .officer = std::move(officer),
                                                           .justification = ""});
  }
  std::unique_ptr<gv1::Guidelines::Stub> Stub() const { return gv1::Guidelines::NewStub(channel); }
};

inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& officer = "officer-7") {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (!officer.empty()) ctx->AddMetadata("concord-officer", officer);
  return ctx;
}

class GuidelinesHarness {
 public:
  /// `quota_overrides`: --quotas applied to the default quota table (e.g. "*.ack=3/0.001").
  explicit GuidelinesHarness(const std::function<void(ServerOptions&)>& tweak = {},
                             const std::string& quota_overrides = "") {
    redis_server_ = ::concord::testing::RedisServer::Start({});
    EXPECT_NE(redis_server_, nullptr);
    // The module logs in as its workload's ACL user (concord-guidelines), the directory module as
    // its own; fixture writes (directory records, tampering) use the test-only admin user.
    redis_config_ = redis_server_->config("guidelines");
    redis_ = redis::RedisClient::Create(redis_config_);
    directory_config_ = redis_server_->config("directory");
    directory_redis_ = redis::RedisClient::Create(directory_config_);
    admin_ = redis::RedisClient::Create(redis_server_->admin_config());
    // The process's quotas (the defaults) and the registry of open calls with the per-agency
    // cap on streams, as the host builds them.
    // The storage guard reads INFO memory as concord-guidelines (granted for it); polled by hand.
    storage_ = std::make_unique<quota::StorageGuard>(*redis_, metrics_);
    StatusOr<quota::QuotaTable> table =
        quota::QuotaTable::Defaults().WithOverrides(quota_overrides);
    EXPECT_TRUE(table.ok()) << table.status();
    quotas_ = std::make_unique<quota::QuotaChecker>(*std::move(table), metrics_, SystemClock::Get(),
                                                    storage_.get());
    calls_ = std::make_unique<server::OpenCalls>(revocations_, metrics_, SystemClock::Get(),
                                                 server::OpenCallsOptions{.quotas = quotas_.get()});
    cfg_.trust_domain = kTd;
    cfg_.redis_port = redis_server_->port();
    deps_ = std::make_unique<host::HostDeps>(host::HostDeps{
        cfg_, *redis_, redis_config_, metrics_, audit_, revocations_, clock_, port_, calls_.get()});
    deps_->quotas = quotas_.get();
    auto module = GuidelinesModule().create(*deps_);
    EXPECT_TRUE(module.ok()) << module.status();
    module_ = *std::move(module);
    // The directory service too: agency libraries read the publishers' keys from it.
    directory_deps_ = std::make_unique<host::HostDeps>(
        host::HostDeps{cfg_, *directory_redis_, directory_config_, metrics_, audit_, revocations_,
                       clock_, port_, calls_.get()});
    auto directory = directory::DirectoryModule().create(*directory_deps_);
    EXPECT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
    server_ = std::make_unique<::concord::testing::SecureTestServer>(pki_, metrics_, revocations_,
                                                                     calls_.get());
    if (tweak) tweak(server_->options());
    std::vector<grpc::Service*> services = module_->services();
    for (grpc::Service* svc : directory_->services()) services.push_back(svc);
    EXPECT_TRUE(server_->Start(services).ok());
    port_.store(server_->port());
  }

  ~GuidelinesHarness() {
    server_.reset();  // ends every call before the module goes
    module_.reset();
    directory_.reset();
  }

  /// Registers `type/id` in the directory (its own record format) and returns it with a channel.
  /// `attributes`: explicit attribute values of the record (e.g. the publisher right).
  Agent Register(AgencyType type, const std::string& id,
                 const std::map<std::string, std::string>& attributes = {}) {
    Agent a;
    a.id = AgencyId{kTd, type, id};
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", "Agency " + id},
                        {"jurisdiction", "BE"},
                        {"specialisations", std::vector<std::string>{}},
                        {"languages", std::vector<std::string>{"fr", "nl"}},
                        {"signing_public_key_pem", a.signing.PublicKey().ToPem()},
                        {"sealing_public_key_pem", ""},
                        {"capacity", 0},
                        {"state", "active"}};
    if (!attributes.empty()) j["attributes"] = attributes;
    EXPECT_TRUE(admin_
                    ->Command({"HSET", clients::DirectoryKey("agency:" + a.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
    EXPECT_TRUE(
        admin_
            ->Command({"SADD",
                       clients::DirectoryKey("idx:type:" + std::string(AgencyTypeName(type))),
                       a.id.Key()})
            .ok());
    a.cert = pki_.AgencyCert(type, id);
    a.channel = server_->Channel(a.cert.tls());
    return a;
  }

  /// A valid version 1..n of `guideline_id` by `publisher`, effective now (the fake clock).
  guideline::Version Draft(const Agent& publisher, const std::string& guideline_id, int64_t n,
                           std::vector<AgencyType> types, std::vector<AgencyId> agencies = {},
                           bool is_public = false, std::string text = "Texte de la version.\n") {
    guideline::Version v;
    v.guideline_id = guideline_id;
    v.version = n;
    v.publisher = publisher.id;
    v.supersedes = n - 1;
    v.effective_at = clock_.Now();
    v.ack_deadline = clock_.Now() + absl::Hours(24 * 10);
    v.topics = {"definition"};
    v.legal_references = {"Directive 2011/36/EU as amended by Directive (EU) 2024/1712, art. 2"};
    v.audience.is_public = is_public;
    v.audience.types = std::move(types);
    v.audience.agencies = std::move(agencies);
    v.contents = {{"fr", "Titre " + std::to_string(n), std::move(text)},
                  {"nl", "Titel " + std::to_string(n), "Tekst van de versie.\n"}};
    return v;
  }

  /// Signs with the publisher's key and publishes through the agency library.
  StatusOr<gv1::PublishResponse> Publish(const Agent& publisher, guideline::Version v) {
    StatusOr<guideline::SignedVersion> s = guideline::SignVersion(std::move(v), publisher.signing);
    if (!s.ok()) return s.status();
    return publisher.Client().Publish(*s);
  }

  /// The test-only admin user (every right): tampering, inspection.
  redis::RedisClient& redis() { return *admin_; }
  ::concord::testing::FakeClock& clock() { return clock_; }
  MutableRevocations& revocations() { return revocations_; }
  ::concord::testing::RecordingAuditSink& audit() { return audit_; }
  server::OpenCalls& calls() { return *calls_; }
  quota::QuotaChecker& quotas() { return *quotas_; }
  quota::StorageGuard& storage() { return *storage_; }
  metrics::Metrics& metrics() { return metrics_; }
  ::concord::testing::TestPki& pki() { return pki_; }
  ::concord::testing::SecureTestServer& server() { return *server_; }

 private:
  ::concord::testing::TestPki pki_;
  std::unique_ptr<::concord::testing::RedisServer> redis_server_;
  redis::RedisConfig redis_config_;
  std::unique_ptr<redis::RedisClient> redis_;
  redis::RedisConfig directory_config_;
  std::unique_ptr<redis::RedisClient> directory_redis_;
  std::unique_ptr<redis::RedisClient> admin_;
  metrics::Metrics metrics_;
  MutableRevocations revocations_;
  ::concord::testing::FakeClock clock_{absl::Now()};
  ::concord::testing::RecordingAuditSink audit_;
  std::unique_ptr<quota::StorageGuard> storage_;
  std::unique_ptr<quota::QuotaChecker> quotas_;
  std::unique_ptr<server::OpenCalls> calls_;
  config::CommonConfig cfg_;
  std::atomic<int> port_{0};
  std::unique_ptr<host::HostDeps> deps_;
  std::unique_ptr<host::HostDeps> directory_deps_;
  std::unique_ptr<host::ModuleInstance> module_;
  std::unique_ptr<host::ModuleInstance> directory_;
  std::unique_ptr<::concord::testing::SecureTestServer> server_;
};

}  // namespace concord::guidelines::testing
