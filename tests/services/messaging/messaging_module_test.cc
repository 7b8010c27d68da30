// The host module: builds from HostDeps, offers one service, and its sweeper removes expired
// messages and audits the erasure.
#include "services/messaging/messaging_module.h"

#include <gtest/gtest.h>

#include <mutex>

#include "absl/time/clock.h"
#include "common/redis/redis_client.h"
#include "services/messaging/redis_message_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fakes.h"
#include "tests/support/redis_server.h"

namespace concord::messaging {
namespace {

using testing::NoRevocations;
using testing::RecordingAuditSink;

TEST(MessagingModule, SweeperErasesExpiredMessagesAndAuditsIt) {
  auto server = testing::RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  config::CommonConfig cfg;
  cfg.redis_port = server->port();
  cfg.trust_domain = "concord.test";
  const redis::RedisConfig redis_config = server->config();
  auto redis = redis::RedisClient::Create(redis_config);
  metrics::Metrics metrics;
  RecordingAuditSink audit;
  NoRevocations revocations;
  testing::FakeClock clock(absl::Now());
  std::atomic<int> grpc_port{0};
  host::HostDeps deps{cfg, *redis, redis_config, metrics, audit, revocations, clock, grpc_port};

  // A message stored directly (the service path is covered by messaging_service_test).
  RedisMessageStore store(*redis,
                          RedisMessageStoreOptions{.trust_domain = "concord.test",
                                                   .tombstone_ttl = absl::Minutes(10),
                                                   .unsent_attachment_ttl = absl::Hours(1)});
  Envelope e;
  e.message_id = "module-test-000000001";
  e.sender = AgencyId{"concord.test", AgencyType::kPolice, "pz-antwerp"};
  e.recipients = {AgencyId{"concord.test", AgencyType::kReceptionCentre, "payoke"}};
  e.created_at = clock.Now();
  e.expires_at = clock.Now() + absl::Minutes(1);
  e.body = {std::string(12, 'n'), "sealed", {{"reception_centre/payoke", "", "", ""}}};
  e.signature = std::string(64, 's');
  ASSERT_TRUE(store.Send(e.sender, e, clock.Now()).ok());

  auto instance = MessagingModule().create(deps);
  ASSERT_TRUE(instance.ok()) << instance.status();
  EXPECT_EQ((*instance)->services().size(), 1u);

  clock.Advance(absl::Minutes(2));
  bool erased = false;
  for (int i = 0; i < 200 && !erased; ++i) {  // bounded polling: the sweeper runs every second
    for (const audit::AuditEvent& ev : audit.events()) {
      erased |= ev.operation == audit::Operation::kErasure &&
                ev.object == "message:module-test-000000001";
    }
    if (!erased) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(erased);
  EXPECT_EQ(store.Get(e.message_id).status().code(), absl::StatusCode::kNotFound);
  instance->reset();  // stops the sweeper and the subscriber
  EXPECT_NE(metrics.Serialize().find("concord_inbox_backlog 0"), std::string::npos);
}

}  // namespace
}  // namespace concord::messaging
