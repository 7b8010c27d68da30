// Long-lived calls over real mTLS, as concord-server runs them: two replicas on one real
// redis-server, each with its own revocation cache (fed by the directory's pub/sub), registry of
// open calls, messaging and directory modules, behind the real authorization table.
//   * Revoking a certificate serial or suspending an agency through the directory service ends
//     the agency's open Subscribe streams on EVERY replica within 5 s with UNAUTHENTICATED and
//     an ErrorInfo reason, and a message sent afterwards is never written to them; its health
//     Watch and reflection streams end CANCELLED. Each end is counted and audited.
//   * A connection reaching the server's maximum age is closed; the client library's Watch
//     resumes and still receives a message sent after the reconnect, exactly once after
//     de-duplication by message id.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "client/messaging/messaging_client.h"
#include "common/clients/directory_cache.h"
#include "common/clients/directory_keys.h"
#include "common/host/service_host.h"
#include "common/server/open_calls.h"
#include "common/status/grpc_status.h"
#include "common/tls/tls.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "services/directory/directory_module.h"
#include "services/messaging/messaging_module.h"
#include "tests/support/fakes.h"
#include "tests/support/grpc_probes.h"
#include "tests/support/redis_server.h"
#include "tests/support/secure_server.h"
#include "tests/support/test_pki.h"

namespace concord::messaging {
namespace {

namespace mc = ::concord::messaging::client;
namespace dv1 = ::concord::directory::v1;
constexpr char kTd[] = "concord.test";
constexpr absl::Duration kPromise = absl::Seconds(5);  // docs/security.md: within 5 s

// Bounded polling for an asynchronous effect (not a sleep used as synchronisation).
bool Eventually(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

mc::AgencyProto ToProto(const AgencyId& id) {
  mc::AgencyProto p;
  p.set_trust_domain(id.trust_domain);
  p.set_type(AgencyTypeToProto(id.type));
  p.set_id(id.id);
  return p;
}

struct Party {
  AgencyId id;
  testing::CertFiles cert;
  mc::SenderIdentity identity{mc::AgencyProto{}, crypto::Ed25519PrivateKey::Generate(),
                              crypto::X25519PrivateKey::Generate()};
};

// The audit records of revoked calls, as the host writes them (RevokedCallAuditEvent).
class EndAudit {
 public:
  // The last Add ran on a gRPC thread before the server shut down (an order kept by gRPC, out of
  // ThreadSanitizer's sight): taking the lock makes it visible.
  ~EndAudit() { std::lock_guard<std::mutex> lock(mu_); }
  void Add(const server::RevokedCallEnd& end) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(host::RevokedCallAuditEvent(end, absl::Now()));
  }
  std::vector<audit::AuditEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::vector<audit::AuditEvent> events_;
};

// One concord-server replica.
class Replica {
 public:
  Replica(testing::TestPki& pki, const testing::RedisServer& redis, audit::AuditSink& audit,
          const std::function<void(ServerOptions&)>& tweak = {},
          const std::string& quota_overrides = "")
      : redis_config_(redis.config("messaging")),
        redis_(redis::RedisClient::Create(redis_config_)),
        directory_config_(redis.config("directory")),
        directory_redis_(redis::RedisClient::Create(directory_config_)),
        // The periodic reload is far beyond the test's horizon: only pub/sub can be in time.
        // admin/ops administers the directory as its bootstrap administrator (no agency holds
        // directory_administrator in this test's directory).
        cache_(*redis_, redis_config_,
               clients::DirectoryCacheOptions{
                   .reload_interval = absl::Hours(1),
                   .retry_interval = absl::Seconds(1),
                   .bootstrap_directory_admins = {AgencyId{kTd, AgencyType::kAdmin, "ops"}}}),
        quotas_(*quota::QuotaTable::Defaults().WithOverrides(quota_overrides), metrics_,
                SystemClock::Get()),
        calls_(cache_, metrics_, SystemClock::Get(), server::OpenCallsOptions{.quotas = &quotas_}) {
    cfg_.trust_domain = kTd;
    cfg_.redis_port = redis.port();
    EXPECT_TRUE(cache_.Start().ok());
    calls_.SetEndObserver([this](const server::RevokedCallEnd& end) { ends_.Add(end); });
    // Each module on its own workload's Redis user, as the host gives them.
    deps_ = std::make_unique<host::HostDeps>(host::HostDeps{cfg_, *redis_, redis_config_, metrics_,
                                                            audit, cache_, SystemClock::Get(),
                                                            port_, &calls_, &quotas_});
    directory_deps_ = std::make_unique<host::HostDeps>(
        host::HostDeps{cfg_, *directory_redis_, directory_config_, metrics_, audit, cache_,
                       SystemClock::Get(), port_, &calls_, &quotas_});
    auto messaging = MessagingModule().create(*deps_);
    EXPECT_TRUE(messaging.ok()) << messaging.status();
    messaging_ = *std::move(messaging);
    auto directory = directory::DirectoryModule().create(*directory_deps_);
    EXPECT_TRUE(directory.ok()) << directory.status();
    directory_ = *std::move(directory);
    server_ = std::make_unique<testing::SecureTestServer>(pki, metrics_, cache_, &calls_);
    if (tweak) tweak(server_->options());
    std::vector<grpc::Service*> services = messaging_->services();
    for (grpc::Service* s : directory_->services()) services.push_back(s);
    EXPECT_TRUE(server_->Start(services).ok());
    port_.store(server_->port());
  }

  ~Replica() {
    server_.reset();  // drains every call before the modules go
    messaging_.reset();
    directory_.reset();
  }

  std::shared_ptr<grpc::Channel> Channel(const Party& who) const {
    return server_->Channel(who.cert.tls());
  }
  mc::MessagingClient Client(const Party& who) const {
    return mc::MessagingClient(Channel(who), who.identity,
                               mc::ClientOptions{.deadline = absl::Seconds(10),
                                                 .officer = "officer-7",
                                                 .justification = "case AN.12.34/26"});
  }
  const clients::DirectoryCache& cache() const { return cache_; }
  server::OpenCalls& calls() { return calls_; }
  EndAudit& ends() { return ends_; }
  std::string Exposition() const { return metrics_.Serialize(); }

 private:
  config::CommonConfig cfg_;
  redis::RedisConfig redis_config_;
  std::unique_ptr<redis::RedisClient> redis_;
  redis::RedisConfig directory_config_;
  std::unique_ptr<redis::RedisClient> directory_redis_;
  metrics::Metrics metrics_;
  clients::DirectoryCache cache_;
  quota::QuotaChecker quotas_;
  server::OpenCalls calls_;
  EndAudit ends_;
  std::atomic<int> port_{0};
  std::unique_ptr<host::HostDeps> deps_, directory_deps_;
  std::unique_ptr<host::ModuleInstance> messaging_, directory_;
  std::unique_ptr<testing::SecureTestServer> server_;
};

// A raw Subscribe stream (generated stub, no resume) read on its own thread.
class SubscribeStream {
 public:
  SubscribeStream(std::shared_ptr<grpc::Channel> channel, const std::string& terminal) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    thread_ = std::thread([this, channel = std::move(channel), terminal] {
      auto stub = v1::Messaging::NewStub(channel);
      v1::SubscribeRequest req;
      req.set_terminal_id(terminal);
      auto reader = stub->Subscribe(&ctx_, req);
      v1::Delivery d;
      while (reader->Read(&d)) {
        std::lock_guard<std::mutex> lock(mu_);
        ids_.push_back(d.envelope().message_id());
        cv_.notify_all();
      }
      const grpc::Status status = reader->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      ended_at_ = absl::Now();
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~SubscribeStream() {
    ctx_.TryCancel();
    thread_.join();
  }

  bool WaitFor(const std::string& id, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                        [&] { return std::find(ids_.begin(), ids_.end(), id) != ids_.end(); });
  }
  bool WaitForEnd(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return ended_; });
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  grpc::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  absl::Time ended_at() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_at_;
  }

 private:
  grpc::ClientContext ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> ids_;
  bool ended_ = false;
  grpc::Status status_;
  absl::Time ended_at_;
  std::thread thread_;
};

class SubscribeStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = testing::RedisServer::Start({});
    ASSERT_NE(redis_, nullptr);
    admin_redis_ = redis::RedisClient::Create(redis_->admin_config());
    police_ = Register(AgencyType::kPolice, "pz-antwerp");
    payoke_ = Register(AgencyType::kReceptionCentre, "payoke");
    ops_ = Register(AgencyType::kAdmin, "ops");
  }

  // An agency in the directory's record format, with its certificate from the test PKI.
  Party Register(AgencyType type, const std::string& id) {
    Party p;
    p.id = AgencyId{kTd, type, id};
    p.cert = pki_.AgencyCert(type, id);
    p.identity.agency = ToProto(p.id);
    nlohmann::json j = {{"type", std::string(AgencyTypeName(type))},
                        {"id", id},
                        {"display_name", id},
                        {"jurisdiction", "BE"},
                        {"signing_public_key_pem", p.identity.signing_key.PublicKey().ToPem()},
                        {"sealing_public_key_pem", p.identity.sealing_key.PublicKey().ToPem()},
                        {"certificate_serials", {p.cert.serial}},
                        {"state", "active"},
                        {"version", 1}};
    EXPECT_TRUE(admin_redis_
                    ->Command({"HSET", clients::DirectoryKey("agency:" + p.id.Key()), "json",
                               j.dump(), "version", "1"})
                    .ok());
    EXPECT_TRUE(
        admin_redis_->Command({"ZADD", clients::DirectoryKey("agencies"), "0", p.id.Key()}).ok());
    return p;
  }

  // Police -> payoke, through `replica`; the message id.
  std::string SendToPayoke(Replica& replica, const std::string& body) {
    mc::MessagingClient police = replica.Client(police_);
    mc::MessageDraft draft;
    draft.body = body;
    draft.case_reference = "AN.12.34/26";
    draft.time_to_live = absl::Hours(1);
    auto sent = police.SendMessage(draft, {payoke_.identity.agency});
    EXPECT_TRUE(sent.ok()) << sent.status();
    return sent.ok() ? sent->message_id() : "";
  }

  // The directory's real mechanism: an administrator's call to the directory service, which
  // changes the Redis state and publishes on concord:directory:events in one script.
  void RevokeSerial(Replica& via, const std::string& serial) {
    auto stub = dv1::Directory::NewStub(via.Channel(ops_));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("concord-officer", "ops-1");
    ctx.AddMetadata("concord-justification", "key compromise reported by the agency");
    dv1::RevokeCertificateRequest req;
    req.set_serial(serial);
    req.set_reason("key_compromise");
    dv1::RevokeCertificateResponse resp;
    const grpc::Status s = stub->RevokeCertificate(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void Suspend(Replica& via, const AgencyId& id) {
    auto stub = dv1::Directory::NewStub(via.Channel(ops_));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("concord-officer", "ops-1");
    ctx.AddMetadata("concord-justification", "agency left the cooperation agreement");
    dv1::SuspendAgencyRequest req;
    *req.mutable_id() = ToProto(id);
    req.set_reason("left the cooperation agreement");
    dv1::SuspendAgencyResponse resp;
    const grpc::Status s = stub->SuspendAgency(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static void ExpectRevokedEnd(SubscribeStream& stream, absl::Time revoked_at,
                               const std::string& reason) {
    ASSERT_TRUE(stream.WaitForEnd(kPromise)) << "the stream is still open 5 s after the change";
    EXPECT_LE(stream.ended_at() - revoked_at, kPromise);
    const grpc::Status status = stream.status();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_EQ(ReasonOf(FromGrpcStatus(status)), reason);
  }

  testing::TestPki pki_{kTd};
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<redis::RedisClient> admin_redis_;
  testing::RecordingAuditSink audit_;
  Party police_, payoke_, ops_;
};

// Test that revoking a certificate serial ends the holder's open Subscribe stream with
// UNAUTHENTICATED / CERTIFICATE_REVOKED within 5 s, that a message sent once the replica knows
// is never written to it, and that the holder's health Watch and reflection streams end
// CANCELLED; each end is counted and audited. (Before live revocation the stream went on
// delivering.)
TEST_F(SubscribeStreamsTest, RevokedSerialLosesEveryOpenCall) {
  Replica replica(pki_, *redis_, audit_);
  SubscribeStream stream(replica.Channel(payoke_), "desk-1");
  const std::string before = SendToPayoke(replica, "before the revocation");
  ASSERT_TRUE(stream.WaitFor(before, absl::Seconds(10)));
  auto health =
      testing::BackgroundStream::WatchHealth(replica.Channel(payoke_), "", absl::Seconds(60));
  ASSERT_TRUE(health->WaitForMessages(1, absl::Seconds(10)));
  auto reflection =
      testing::BackgroundStream::HoldReflection(replica.Channel(payoke_), absl::Seconds(60));
  ASSERT_TRUE(reflection->WaitForMessages(1, absl::Seconds(10)));
  EXPECT_EQ(replica.calls().OpenStreams(payoke_.id), 3);

  const absl::Time revoked_at = absl::Now();
  RevokeSerial(replica, payoke_.cert.serial);
  ASSERT_TRUE(
      Eventually([&] { return replica.cache().IsSerialRevoked(payoke_.cert.serial); }, kPromise));
  const std::string after = SendToPayoke(replica, "after the revocation");

  ExpectRevokedEnd(stream, revoked_at, "CERTIFICATE_REVOKED");
  const std::vector<std::string> ids = stream.ids();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), after), 0) << "delivered after the revocation";
  for (auto* other : {health.get(), reflection.get()}) {
    ASSERT_TRUE(other->WaitForEnd(kPromise));
    EXPECT_LE(other->ended_at() - revoked_at, kPromise);
    EXPECT_EQ(other->status().error_code(), grpc::StatusCode::CANCELLED)
        << other->status().error_message();
  }
  // A new call with the revoked certificate is refused before any handler.
  EXPECT_EQ(testing::CheckHealth(replica.Channel(payoke_), "").status().code(),
            absl::StatusCode::kUnauthenticated);

  ASSERT_TRUE(Eventually([&] { return replica.calls().OpenStreams(payoke_.id) == 0; }, kPromise));
  const std::string exposition = replica.Exposition();
  EXPECT_NE(exposition.find("concord_calls_ended_by_revocation_total{ended_by=\"handler\","
                            "reason=\"certificate_revoked\"} 1"),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("concord_calls_ended_by_revocation_total{ended_by=\"cancel\","
                            "reason=\"certificate_revoked\"} 2"),
            std::string::npos);
  std::multiset<std::string> audited;
  for (const audit::AuditEvent& e : replica.ends().events()) {
    EXPECT_EQ(e.agency, payoke_.id);
    EXPECT_EQ(e.object, "authz:CERTIFICATE_REVOKED");
    EXPECT_EQ(e.operation, audit::Operation::kConsultation);
    audited.insert(e.method + " " + e.outcome);
  }
  EXPECT_EQ(audited, (std::multiset<std::string>{
                         "/concord.messaging.v1.Messaging/Subscribe UNAUTHENTICATED",
                         "/grpc.health.v1.Health/Watch CANCELLED",
                         "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo "
                         "CANCELLED"}));
}

// Test that suspending an agency through one replica ends its open streams on BOTH replicas
// (each has its own cache, fed by the same pub/sub event) with AGENCY_SUSPENDED, and its health
// Watch with CANCELLED. (Sends to a suspended agency are refused, so nothing new can arrive.)
TEST_F(SubscribeStreamsTest, SuspensionEndsStreamsOnEveryReplica) {
  Replica first(pki_, *redis_, audit_);
  Replica second(pki_, *redis_, audit_);
  SubscribeStream on_first(first.Channel(payoke_), "desk-1");
  SubscribeStream on_second(second.Channel(payoke_), "desk-2");
  // Registered on each replica = open on the server (terminals share the deliveries, so a
  // delivery to each would need several messages).
  ASSERT_TRUE(Eventually(
      [&] {
        return first.calls().OpenStreams(payoke_.id) == 1 &&
               second.calls().OpenStreams(payoke_.id) == 1;
      },
      absl::Seconds(10)));
  auto health =
      testing::BackgroundStream::WatchHealth(second.Channel(payoke_), "", absl::Seconds(60));
  ASSERT_TRUE(health->WaitForMessages(1, absl::Seconds(10)));

  const absl::Time suspended_at = absl::Now();
  Suspend(second, payoke_.id);
  ASSERT_TRUE(Eventually(
      [&] {
        return first.cache().IsSuspended(payoke_.id) && second.cache().IsSuspended(payoke_.id);
      },
      kPromise));
  for (SubscribeStream* stream : {&on_first, &on_second}) {
    ExpectRevokedEnd(*stream, suspended_at, "AGENCY_SUSPENDED");
  }
  ASSERT_TRUE(health->WaitForEnd(kPromise));
  EXPECT_EQ(health->status().error_code(), grpc::StatusCode::CANCELLED);
  for (Replica* r : {&first, &second}) {
    EXPECT_NE(r->Exposition().find("concord_calls_ended_by_revocation_total{ended_by=\"handler\","
                                   "reason=\"agency_suspended\"} 1"),
              std::string::npos)
        << r->Exposition();
  }
}

// Test that when a connection reaches the server's maximum age (short here) and is closed, the
// client library's Watch resumes and receives a message sent after the reconnect; the message
// delivered before the reconnect comes again (at-least-once, not acknowledged) and
// de-duplication by id leaves each message exactly once. (Before, Watch returned UNAVAILABLE.)
TEST_F(SubscribeStreamsTest, WatchResumesAfterTheMaximumConnectionAge) {
  Replica replica(pki_, *redis_, audit_, [](ServerOptions& o) {
    o.max_connection_age = absl::Milliseconds(500);
    o.max_connection_age_grace = absl::Milliseconds(500);
  });
  mc::MessagingClient payoke = replica.Client(payoke_);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> raw;  // every delivery, as written by the server
  std::set<std::string> unique;  // de-duplicated by message id (the client's job)
  int resumes = 0;
  std::string wanted;  // Watch stops once this id arrives (set after the reconnect)
  mc::WatchOptions options;
  options.terminal_id = "gateway-1";
  options.max_duration = absl::Seconds(30);
  options.resume.initial = absl::Milliseconds(50);
  options.on_resume = [&](const Status& ended, int, absl::Duration) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(mc::IsResumable(static_cast<grpc::StatusCode>(ended.code()))) << ended;
    ++resumes;
    cv.notify_all();
  };
  Status watched;
  std::thread watcher([&] {
    watched = payoke.Watch(options, [&](const v1::Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      raw.push_back(d.envelope().message_id());
      unique.insert(d.envelope().message_id());
      cv.notify_all();
      return d.envelope().message_id() != wanted;
    });
  });

  const std::string first = SendToPayoke(replica, "before the reconnect");
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return unique.contains(first); }));
    // The connection is closed after age + grace (+-10 % jitter): Watch resumes by itself.
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return resumes >= 1; }));
  }
  const std::string second = [&] {
    // Set `wanted` before the message can arrive.
    std::string id = client::RandomId();
    {
      std::lock_guard<std::mutex> lock(mu);
      wanted = id;
    }
    mc::MessagingClient police = replica.Client(police_);
    mc::MessageDraft draft;
    draft.message_id = id;
    draft.body = "after the reconnect";
    draft.time_to_live = absl::Hours(1);
    auto sent = police.SendMessage(draft, {payoke_.identity.agency});
    EXPECT_TRUE(sent.ok()) << sent.status();
    return id;
  }();
  watcher.join();
  ASSERT_TRUE(watched.ok()) << watched;
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_GE(resumes, 1);
  EXPECT_EQ(unique, (std::set<std::string>{first, second}));
  EXPECT_EQ(std::count(raw.begin(), raw.end(), second), 1);
  EXPECT_GE(std::count(raw.begin(), raw.end(), first), 1);  // again after a resume: not acked
}

// Test that Watch stops, without resuming, when the server refuses the caller: the status is
// UNAUTHENTICATED with the reason, so `concordctl message watch` can say why and exit 2.
TEST_F(SubscribeStreamsTest, WatchStopsWhenTheCertificateIsRevoked) {
  Replica replica(pki_, *redis_, audit_);
  mc::MessagingClient payoke = replica.Client(payoke_);
  std::atomic<int> resumes{0};
  std::atomic<bool> open{false};
  mc::WatchOptions options;
  options.max_duration = absl::Seconds(30);
  options.on_resume = [&](const Status&, int, absl::Duration) { resumes.fetch_add(1); };
  Status watched;
  std::thread watcher([&] {
    watched = payoke.Watch(options, [&](const v1::Delivery&) {
      open.store(true);
      return true;
    });
  });
  SendToPayoke(replica, "first");
  ASSERT_TRUE(Eventually([&] { return open.load(); }, absl::Seconds(10)));
  const absl::Time revoked_at = absl::Now();
  RevokeSerial(replica, payoke_.cert.serial);
  watcher.join();
  EXPECT_LE(absl::Now() - revoked_at, kPromise);
  EXPECT_EQ(watched.code(), absl::StatusCode::kUnauthenticated) << watched;
  EXPECT_EQ(ReasonOf(watched), "CERTIFICATE_REVOKED");
  EXPECT_EQ(resumes.load(), 0);
}

// Test that an agency's stream after its cap (2 here) is refused with RESOURCE_EXHAUSTED,
// LIMIT_REACHED and RetryInfo before its handler does anything (Subscribe and uploads alike),
// that another agency is not affected, and that a slot frees when a stream ends.
TEST_F(SubscribeStreamsTest, StreamAfterTheAgencyCapIsRefused) {
  Replica replica(pki_, *redis_, audit_, {}, "police.streams=2");
  auto first = std::make_unique<SubscribeStream>(replica.Channel(police_), "desk-1");
  SubscribeStream second(replica.Channel(police_), "desk-2");
  ASSERT_TRUE(
      Eventually([&] { return replica.calls().OpenStreams(police_.id) == 2; }, absl::Seconds(10)));
  SubscribeStream third(replica.Channel(police_), "desk-3");
  ASSERT_TRUE(third.WaitForEnd(absl::Seconds(10)));
  const Status refused = FromGrpcStatus(third.status());
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(ReasonOf(refused), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(refused).at("limit"), "streams");
  EXPECT_EQ(RetryDelayOf(refused), absl::Seconds(1));
  {
    auto stub = v1::Messaging::NewStub(replica.Channel(police_));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::UploadAttachmentResponse resp;
    auto writer = stub->UploadAttachment(&ctx, &resp);
    writer->WritesDone();
    EXPECT_EQ(ReasonOf(FromGrpcStatus(writer->Finish())), "LIMIT_REACHED");
  }
  SubscribeStream other(replica.Channel(payoke_), "desk-1");
  const std::string id = SendToPayoke(replica, "still delivered");
  EXPECT_TRUE(other.WaitFor(id, absl::Seconds(10)));
  EXPECT_EQ(replica.calls().OpenStreams(police_.id), 2);
  EXPECT_NE(replica.Exposition().find(
                "concord_quota_refusals_total{agency_type=\"police\",limit=\"streams\"} 2"),
            std::string::npos);

  first.reset();  // cancels it: a slot frees
  ASSERT_TRUE(
      Eventually([&] { return replica.calls().OpenStreams(police_.id) == 1; }, absl::Seconds(10)));
  SubscribeStream fourth(replica.Channel(police_), "desk-4");
  ASSERT_TRUE(
      Eventually([&] { return replica.calls().OpenStreams(police_.id) == 2; }, absl::Seconds(10)));
  EXPECT_FALSE(fourth.WaitForEnd(absl::Milliseconds(200)));
}

}  // namespace
}  // namespace concord::messaging
