// Every field limit of concord.audit.v1 (its protos' (concord.common.v1.limit) options), table-
// driven: each RPC over real mTLS refuses a request with one field over its bound, naming it.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/audit/intake_audit_sink.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/tls/tls.h"
#include "concord/audit/v1/audit.grpc.pb.h"
#include "services/audit/audit_service.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/field_limit_cases.h"
#include "tests/support/field_violations.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_pki.h"

namespace concord::audit {
namespace {

TEST(AuditFieldLimits, EveryFieldOverItsLimitIsRefusedWithItsPath) {
  auto redis_server = testing::RedisServer::Start({});
  ASSERT_NE(redis_server, nullptr);
  auto redis = redis::RedisClient::Create(redis_server->config());
  const AuditKey key = *AuditKey::FromBytes(std::string(32, 's'));
  const crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  testing::FakeClock clock;
  RedisAuditStore store(*redis);
  AuditLog log(store, key, signing, clock);
  IntakeAuditSink self(*redis, key, clock, "audit");
  AuditService service(log, &self, nullptr);
  metrics::Metrics metrics;
  testing::TestPki pki;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.health_address = "";
  options.metrics_address = "";
  options.tls = pki.ServerTls();
  options.handle_signals = false;
  ServerRunner runner(options, metrics, nullptr);
  runner.AddService(&service);
  ASSERT_TRUE(runner.Start().ok());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(runner.port()),
      MakeChannelCredentials(pki.AgencyTls(AgencyType::kAdmin, "ops")), args);

  const auto* descriptor = v1::QueryRequest::descriptor()->file()->FindServiceByName("Audit");
  ASSERT_NE(descriptor, nullptr);
  const std::vector<testing::OverLimitCase> cases = testing::OverLimitCases(*descriptor);
  ASSERT_GE(cases.size(), 4u);  // object, agency.trust_domain, agency.id, page.page_token
  for (const testing::OverLimitCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.expected_path);
    const Status s = FromGrpcStatus(testing::CallRaw(channel, c.method, {c.request}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LARGE");
    EXPECT_THAT(testing::ViolationFields(s), ::testing::ElementsAre(c.expected_path));
  }
  runner.Shutdown();
}

}  // namespace
}  // namespace concord::audit
