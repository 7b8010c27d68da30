// Every field limit of concord.directory.v1 (its protos' (concord.common.v1.limit) options),
// table-driven: each RPC over real mTLS refuses a request with one field over its bound, naming
// it, and changes nothing.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/time/clock.h"
#include "common/tls/tls.h"
#include "services/directory/directory_service.h"
#include "services/directory/redis_directory_store.h"
#include "tests/services/directory/fake_audit_sink.h"
#include "tests/support/fakes.h"
#include "tests/support/field_limit_cases.h"
#include "tests/support/field_violations.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"

namespace concord::directory {
namespace {

TEST(DirectoryFieldLimits, EveryFieldOverItsLimitIsRefusedWithItsPath) {
  auto redis_server = testing::RedisServer::Start({});
  ASSERT_NE(redis_server, nullptr);
  auto redis = redis::RedisClient::Create(redis_server->config());
  testing::TestPki pki;
  RedisDirectoryStore store(*redis, pki.trust_domain());
  FakeAuditSink audit;
  testing::NoRevocations roles;
  DirectoryService service(pki.trust_domain(), store, audit, SystemClock::Get(), roles);
  metrics::Metrics metrics;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.health_address = "";
  options.metrics_address = "";
  options.tls = pki.ServerCert().tls();
  options.handle_signals = false;
  ServerRunner runner(options, metrics, nullptr);
  runner.AddService(&service);
  ASSERT_TRUE(runner.Start().ok());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(runner.port()),
      MakeChannelCredentials(pki.AgencyCert(AgencyType::kAdmin, "ops").tls()), args);

  const auto* descriptor =
      v1::GetAgencyRequest::descriptor()->file()->FindServiceByName("Directory");
  ASSERT_NE(descriptor, nullptr);
  const std::vector<testing::OverLimitCase> cases = testing::OverLimitCases(*descriptor);
  ASSERT_GE(cases.size(), 20u);
  for (const testing::OverLimitCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.expected_path);
    const Status s = FromGrpcStatus(testing::CallRaw(channel, c.method, {c.request}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LARGE");
    EXPECT_THAT(testing::ViolationFields(s), ::testing::ElementsAre(c.expected_path));
  }
  EXPECT_TRUE(audit.events().empty());  // refused before anything was read or changed
  runner.Shutdown();
}

}  // namespace
}  // namespace concord::directory
