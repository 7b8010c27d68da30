// Tests of ServerRunner against a real in-process server over real mTLS (TestPki certificates):
// listeners, plaintext health mirror, reflection, dependency-driven health, metrics endpoint,
// authorization hook, graceful shutdown and signals.
#include "common/server/server_runner.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include "absl/time/clock.h"
#include "common/metrics/metrics.h"
#include "concord/testing/v1/echo.grpc.pb.h"
#include "tests/support/echo_service.h"
#include "tests/support/grpc_probes.h"
#include "tests/support/test_pki.h"

namespace concord {
namespace {

using ::concord::testing::CertFiles;
using ::concord::testing::EchoService;
using ::concord::testing::HealthStatus;
using ::concord::testing::TestPki;
using ::concord::testing::v1::Echo;
using ::concord::testing::v1::EchoReply;
using ::concord::testing::v1::EchoRequest;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kEchoService[] = "concord.testing.v1.Echo";

void SetDeadline(grpc::ClientContext& ctx, absl::Duration d = absl::Seconds(5)) {
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(d));
}

// A channel of its own (no subchannel sharing between tests' channels).
std::shared_ptr<grpc::Channel> MtlsChannel(int port, const TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), MakeChannelCredentials(tls),
                                   args);
}

std::shared_ptr<grpc::Channel> PlainChannel(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel, const std::string& payload,
                      EchoReply* reply, absl::Duration deadline = absl::Seconds(5)) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  EchoRequest req;
  req.set_payload(payload);
  return Echo::NewStub(channel)->Echo(&ctx, req, reply);
}

// Minimal HTTP/1.0 GET for the metrics endpoint; returns "<status line>\r\n...body".
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

class ServerRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cert_ = pki_.ServerCert();
    client_ = pki_.AgencyCert(AgencyType::kPolice, "pz-brussels");
  }

  ServerOptions Options() {
    ServerOptions o;
    o.listen_address = "127.0.0.1:0";
    o.health_address = "127.0.0.1:0";
    o.metrics_address = "127.0.0.1:0";
    o.tls = server_cert_.tls();
    o.drain_timeout = absl::Seconds(10);
    o.health_poll_interval = absl::Milliseconds(50);
    o.handle_signals = false;
    return o;
  }

  void StartRunner(ServerOptions o, std::shared_ptr<grpc::AuthMetadataProcessor> auth = nullptr,
                   std::function<void(ServerRunner&)> configure = nullptr) {
    runner_ = std::make_unique<ServerRunner>(std::move(o), metrics_, std::move(auth));
    runner_->AddService(&echo_);
    if (configure) configure(*runner_);
    Status started = runner_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_GT(runner_->port(), 0);
  }

  void TearDown() override {
    echo_.ReleaseCalls();
    if (runner_) runner_->Shutdown();
  }

  TestPki pki_;
  CertFiles server_cert_;
  CertFiles client_;
  EchoService echo_;
  metrics::Metrics metrics_;
  std::unique_ptr<ServerRunner> runner_;
};

TEST_F(ServerRunnerTest, ServesEchoHealthAndReflectionOverMtls) {
  StartRunner(Options());
  auto channel = MtlsChannel(runner_->port(), client_.tls());
  EchoReply reply;
  grpc::Status s = CallEcho(channel, "hello", &reply);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(reply.payload(), "hello");
  EXPECT_EQ(reply.caller(), "spiffe://concord.test/agency/police/pz-brussels");

  EXPECT_EQ(*testing::CheckHealth(channel, ""), HealthStatus::kServing);
  EXPECT_EQ(*testing::CheckHealth(channel, kEchoService), HealthStatus::kServing);
  EXPECT_EQ(testing::CheckHealth(channel, "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);

  auto services = testing::ListServicesViaReflection(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, Contains(kEchoService));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
}

// Test that a request larger than the maximum message size is refused before any handler and
// that the server goes on serving.
TEST_F(ServerRunnerTest, RefusesARequestOverTheMaximumMessageSize) {
  ServerOptions options = Options();
  options.max_receive_message_bytes = 64 * 1024;
  StartRunner(options);
  auto channel = MtlsChannel(runner_->port(), client_.tls());
  EchoReply reply;
  EXPECT_EQ(CallEcho(channel, std::string(65 * 1024, 'x'), &reply).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(CallEcho(channel, std::string(60 * 1024, 'x'), &reply).ok());
  EXPECT_EQ(ServerOptions{}.max_receive_message_bytes, 4 * 1024 * 1024);
}

TEST_F(ServerRunnerTest, PlaintextHealthPortServesOnlyHealth) {
  StartRunner(Options());
  ASSERT_GT(runner_->health_port(), 0);
  ASSERT_NE(runner_->health_port(), runner_->port());
  auto plain = PlainChannel(runner_->health_port());
  EXPECT_EQ(*testing::CheckHealth(plain, ""), HealthStatus::kServing);
  EXPECT_EQ(*testing::CheckHealth(plain, kEchoService), HealthStatus::kServing);

  EchoReply reply;
  EXPECT_EQ(CallEcho(plain, "x", &reply).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(testing::ListServicesViaReflection(plain).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(ServerRunnerTest, PlaintextClientOnMtlsPortFails) {
  StartRunner(Options());
  EchoReply reply;
  grpc::Status s = CallEcho(PlainChannel(runner_->port()), "x", &reply, absl::Seconds(2));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(echo_.calls(), 0);
}

TEST_F(ServerRunnerTest, DependencyDrivesHealthAndReadiness) {
  std::atomic<bool> redis_ok{true};
  StartRunner(Options(), nullptr, [&](ServerRunner& r) {
    r.AddHealthDependency("redis", [&] { return redis_ok.load(); });
  });
  auto plain = PlainChannel(runner_->health_port());
  auto mtls = MtlsChannel(runner_->port(), client_.tls());
  ASSERT_TRUE(testing::WaitForHealth(plain, "", HealthStatus::kServing));
  EXPECT_THAT(HttpGet(runner_->metrics_port(), "/readyz"), HasSubstr(" 200 "));

  redis_ok = false;
  EXPECT_TRUE(testing::WaitForHealth(plain, "", HealthStatus::kNotServing));
  EXPECT_TRUE(testing::WaitForHealth(plain, kEchoService, HealthStatus::kNotServing));
  EXPECT_TRUE(testing::WaitForHealth(mtls, kEchoService, HealthStatus::kNotServing));
  EXPECT_FALSE(runner_->dependencies_healthy());
  EXPECT_THAT(HttpGet(runner_->metrics_port(), "/readyz"), HasSubstr(" 503 "));

  redis_ok = true;
  EXPECT_TRUE(testing::WaitForHealth(plain, "", HealthStatus::kServing));
  EXPECT_TRUE(testing::WaitForHealth(mtls, kEchoService, HealthStatus::kServing));
  EXPECT_THAT(HttpGet(runner_->metrics_port(), "/readyz"), HasSubstr(" 200 "));
}

TEST_F(ServerRunnerTest, StartsNotServingWhenDependencyIsDown) {
  StartRunner(Options(), nullptr,
              [](ServerRunner& r) { r.AddHealthDependency("redis", [] { return false; }); });
  EXPECT_EQ(*testing::CheckHealth(PlainChannel(runner_->health_port()), ""),
            HealthStatus::kNotServing);
}

TEST_F(ServerRunnerTest, MetricsEndpointCountsCalls) {
  StartRunner(Options());
  EchoReply reply;
  ASSERT_TRUE(CallEcho(MtlsChannel(runner_->port(), client_.tls()), "m", &reply).ok());
  std::string body = HttpGet(runner_->metrics_port(), "/metrics");
  EXPECT_THAT(body, HasSubstr("grpc_server_handled_total{"));
  EXPECT_THAT(body, HasSubstr("grpc_service=\"concord.testing.v1.Echo\""));
}

// An AuthMetadataProcessor set through ServerRunner runs before the handler.
class DenyStreams final : public grpc::AuthMetadataProcessor {
 public:
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& md, grpc::AuthContext*, OutputMetadata*,
                       OutputMetadata*) override {
    auto path = md.find(":path");
    if (path != md.end() && path->second == "/concord.testing.v1.Echo/EchoStream") {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "streams denied by test policy");
    }
    return grpc::Status::OK;
  }
};

TEST_F(ServerRunnerTest, AuthMetadataProcessorRunsBeforeHandlers) {
  StartRunner(Options(), std::make_shared<DenyStreams>());
  auto channel = MtlsChannel(runner_->port(), client_.tls());
  EchoReply reply;
  ASSERT_TRUE(CallEcho(channel, "ok", &reply).ok());

  grpc::ClientContext ctx;
  SetDeadline(ctx);
  EchoRequest req;
  auto stream = Echo::NewStub(channel)->EchoStream(&ctx, req);
  while (stream->Read(&reply)) {
  }
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(echo_.calls(), 1);  // the stream handler never ran
}

TEST_F(ServerRunnerTest, GracefulShutdownDrainsInFlightUnaryCall) {
  StartRunner(Options());
  const int port = runner_->port();
  auto channel = MtlsChannel(port, client_.tls());
  echo_.HoldCalls();
  auto in_flight = std::async(std::launch::async, [&] {
    EchoReply reply;
    grpc::Status s = CallEcho(channel, "in-flight", &reply, absl::Seconds(20));
    return std::make_pair(s, reply.payload());
  });
  ASSERT_TRUE(echo_.WaitForHeld(1, absl::Seconds(10)));

  auto shutdown = std::async(std::launch::async, [&] { runner_->Shutdown(); });
  // Once draining, the plaintext health port reports NOT_SERVING ...
  EXPECT_TRUE(
      testing::WaitForHealth(PlainChannel(runner_->health_port()), "", HealthStatus::kNotServing));
  // ... and new connections to the mTLS port are refused (bounded readiness poll: Shutdown()
  // reaches the listener a moment after the health flip).
  bool refused = false;
  for (const absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end && !refused;) {
    EchoReply reply;
    grpc::Status s = CallEcho(MtlsChannel(port, client_.tls()), "new", &reply, absl::Seconds(1));
    refused = s.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(shutdown.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "Shutdown() returned while a call was in flight";

  echo_.ReleaseCalls();
  auto [status, payload] = in_flight.get();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(payload, "in-flight");
  ASSERT_EQ(shutdown.wait_for(std::chrono::seconds(15)), std::future_status::ready);
}

TEST_F(ServerRunnerTest, GracefulShutdownDrainsInFlightStream) {
  StartRunner(Options());
  auto channel = MtlsChannel(runner_->port(), client_.tls());
  echo_.HoldCalls();
  grpc::ClientContext ctx;
  SetDeadline(ctx, absl::Seconds(20));
  EchoRequest req;
  req.set_payload("s");
  req.set_count(3);
  auto stream = Echo::NewStub(channel)->EchoStream(&ctx, req);
  EchoReply reply;
  ASSERT_TRUE(stream->Read(&reply));  // first reply, then the handler parks
  ASSERT_TRUE(echo_.WaitForHeld(1, absl::Seconds(10)));

  auto shutdown = std::async(std::launch::async, [&] { runner_->Shutdown(); });
  EXPECT_TRUE(
      testing::WaitForHealth(PlainChannel(runner_->health_port()), "", HealthStatus::kNotServing));
  echo_.ReleaseCalls();
  int rest = 0;
  while (stream->Read(&reply)) ++rest;
  EXPECT_EQ(rest, 2);
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  ASSERT_EQ(shutdown.wait_for(std::chrono::seconds(15)), std::future_status::ready);
}

TEST_F(ServerRunnerTest, DrainTimeoutCancelsStuckCalls) {
  ServerOptions o = Options();
  o.drain_timeout = absl::Milliseconds(300);
  StartRunner(o);
  auto channel = MtlsChannel(runner_->port(), client_.tls());
  echo_.HoldCalls();
  auto in_flight = std::async(std::launch::async, [&] {
    EchoReply reply;
    return CallEcho(channel, "stuck", &reply, absl::Seconds(20));
  });
  ASSERT_TRUE(echo_.WaitForHeld(1, absl::Seconds(10)));
  const absl::Time begin = absl::Now();
  runner_->Shutdown();  // never released: must end by the drain deadline
  EXPECT_LT(absl::Now() - begin, absl::Seconds(10));
  grpc::Status s = in_flight.get();
  EXPECT_FALSE(s.ok());
}

TEST_F(ServerRunnerTest, WaitReturnsAfterShutdownFromAnotherThread) {
  StartRunner(Options());
  auto waiter = std::async(std::launch::async, [&] { runner_->Wait(); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  runner_->Shutdown();
  EXPECT_EQ(waiter.wait_for(std::chrono::seconds(15)), std::future_status::ready);
}

TEST_F(ServerRunnerTest, SigtermMakesWaitShutDown) {
  ServerOptions o = Options();
  o.handle_signals = true;
  StartRunner(o);
  const int port = runner_->port();
  ASSERT_EQ(raise(SIGTERM), 0);  // handled: written to the self-pipe, process keeps running
  runner_->Wait();
  EchoReply reply;
  EXPECT_EQ(CallEcho(MtlsChannel(port, client_.tls()), "x", &reply, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServerRunnerTest, StartFailsOnUnusableTlsFiles) {
  ServerOptions o = Options();
  o.tls.key_file = pki_.AgencyCert(AgencyType::kPolice, "other").key_file;  // does not match
  ServerRunner runner(o, metrics_, nullptr);
  Status s = runner.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not match"));

  o = Options();
  o.tls.ca_file = pki_.dir() + "/missing.crt";
  ServerRunner runner2(o, metrics_, nullptr);
  EXPECT_EQ(runner2.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ServerRunnerTest, StartFailsWhenPortIsTaken) {
  StartRunner(Options());
  ServerOptions o = Options();
  o.listen_address = "127.0.0.1:" + std::to_string(runner_->port());
  ServerRunner second(o, metrics_, nullptr);
  second.AddService(&echo_);
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace concord
