// DirectoryCache against a real redis-server: initial load, pub/sub invalidation on two
// "replicas" within 5 s, reload after a Redis restart, last known state kept while Redis is down.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "common/clients/directory_cache.h"
#include "common/clients/directory_keys.h"
#include "tests/support/redis_server.h"

namespace concord::clients {
namespace {

const AgencyId kPolice{"concord.test", AgencyType::kPolice, "pz-a"};
const AgencyId kCentre{"concord.test", AgencyType::kReceptionCentre, "payoke"};

// Bounded polling for an asynchronous effect (not a sleep used as synchronisation).
bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

class DirectoryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = testing::RedisServer::Start(testing::RedisServer::Options{});
    ASSERT_NE(server_, nullptr);
    server_->FlushAll();
    admin_ = redis::RedisClient::Create(server_->config());
  }

  // What the directory service does (in one script there): change the set, then publish.
  void Suspend(const AgencyId& id) {
    ASSERT_TRUE(admin_->Command({"SADD", SuspendedAgenciesKey(), id.Key()}).ok());
    ASSERT_TRUE(admin_->Command({"PUBLISH", std::string(kDirectoryEventsChannel), "x"}).ok());
  }
  void Reinstate(const AgencyId& id) {
    ASSERT_TRUE(admin_->Command({"SREM", SuspendedAgenciesKey(), id.Key()}).ok());
    ASSERT_TRUE(admin_->Command({"PUBLISH", std::string(kDirectoryEventsChannel), "x"}).ok());
  }
  void Revoke(const std::string& serial) {
    ASSERT_TRUE(admin_->Command({"HSET", RevokedSerialsKey(), serial, "{}"}).ok());
    ASSERT_TRUE(admin_->Command({"PUBLISH", std::string(kDirectoryEventsChannel), "x"}).ok());
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<redis::RedisClient> admin_;
};

TEST_F(DirectoryCacheTest, LoadsExistingStateOnStart) {
  ASSERT_TRUE(admin_->Command({"SADD", SuspendedAgenciesKey(), kPolice.Key()}).ok());
  ASSERT_TRUE(admin_->Command({"HSET", RevokedSerialsKey(), "ABC1", "{}"}).ok());
  auto client = redis::RedisClient::Create(server_->config());
  DirectoryCache cache(*client, server_->config());
  EXPECT_FALSE(cache.Ready());
  ASSERT_TRUE(cache.Start().ok());
  EXPECT_TRUE(cache.Ready());
  EXPECT_TRUE(cache.IsSuspended(kPolice));
  EXPECT_FALSE(cache.IsSuspended(kCentre));
  EXPECT_TRUE(cache.IsSerialRevoked("ABC1"));
  EXPECT_TRUE(cache.IsSerialRevoked("00:ab:c1"));  // normalised like Caller::cert_serial
  EXPECT_FALSE(cache.IsSerialRevoked("ABC2"));
}

// Two replicas on one Redis both see a suspension, a revocation and a reinstatement within 5 s,
// through pub/sub (the periodic reload is set far beyond the test's horizon).
TEST_F(DirectoryCacheTest, TwoReplicasSeeChangesWithinFiveSeconds) {
  DirectoryCacheOptions options;
  options.reload_interval = absl::Hours(1);
  auto client1 = redis::RedisClient::Create(server_->config());
  auto client2 = redis::RedisClient::Create(server_->config());
  DirectoryCache replica1(*client1, server_->config(), options);
  DirectoryCache replica2(*client2, server_->config(), options);
  ASSERT_TRUE(replica1.Start().ok());
  ASSERT_TRUE(replica2.Start().ok());
  // The subscription is established asynchronously; on_connected triggers a reload, so wait for
  // it before publishing (a message sent before SUBSCRIBE would be lost by design of pub/sub;
  // the on_connected reload covers that case in production).
  ASSERT_TRUE(
      Eventually([&] { return replica1.reload_count() >= 2 && replica2.reload_count() >= 2; }));

  Suspend(kPolice);
  EXPECT_TRUE(Eventually([&] { return replica1.IsSuspended(kPolice); }));
  EXPECT_TRUE(Eventually([&] { return replica2.IsSuspended(kPolice); }));

  Revoke("BEEF");
  EXPECT_TRUE(Eventually([&] { return replica1.IsSerialRevoked("BEEF"); }));
  EXPECT_TRUE(Eventually([&] { return replica2.IsSerialRevoked("BEEF"); }));

  Reinstate(kPolice);
  EXPECT_TRUE(Eventually([&] { return !replica1.IsSuspended(kPolice); }));
  EXPECT_TRUE(Eventually([&] { return !replica2.IsSuspended(kPolice); }));
}

TEST_F(DirectoryCacheTest, KeepsLastKnownStateWhileRedisIsDownAndCatchesUpAfter) {
  DirectoryCacheOptions options;
  options.reload_interval = absl::Hours(1);
  options.retry_interval = absl::Milliseconds(100);
  auto client = redis::RedisClient::Create(server_->config());
  DirectoryCache cache(*client, server_->config(), options);
  Suspend(kPolice);
  ASSERT_TRUE(cache.Start().ok());
  ASSERT_TRUE(cache.IsSuspended(kPolice));

  server_->Stop();
  EXPECT_FALSE(cache.Reload().ok());
  EXPECT_TRUE(cache.Ready());
  EXPECT_TRUE(cache.IsSuspended(kPolice));  // last known state kept

  server_->Start();  // empty: no AOF. The resubscribe reloads the (now empty) state.
  admin_ = redis::RedisClient::Create(server_->config());
  Suspend(kCentre);
  EXPECT_TRUE(Eventually([&] { return cache.IsSuspended(kCentre); }));
  EXPECT_FALSE(cache.IsSuspended(kPolice));
}

TEST_F(DirectoryCacheTest, NotReadyUntilFirstLoadWhenRedisIsDownAtStart) {
  DirectoryCacheOptions options;
  options.retry_interval = absl::Milliseconds(100);
  server_->Stop();
  auto client = redis::RedisClient::Create(server_->config());
  DirectoryCache cache(*client, server_->config(), options);
  EXPECT_EQ(cache.Start().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(cache.Ready());
  server_->Start();
  EXPECT_TRUE(Eventually([&] { return cache.Ready(); }));
}

TEST_F(DirectoryCacheTest, PeriodicReloadCatchesChangesWithoutMessages) {
  DirectoryCacheOptions options;
  options.reload_interval = absl::Milliseconds(200);
  auto client = redis::RedisClient::Create(server_->config());
  DirectoryCache cache(*client, server_->config(), options);
  ASSERT_TRUE(cache.Start().ok());
  // No PUBLISH: only the safety reload can pick this up.
  ASSERT_TRUE(admin_->Command({"SADD", SuspendedAgenciesKey(), kCentre.Key()}).ok());
  EXPECT_TRUE(Eventually([&] { return cache.IsSuspended(kCentre); }));
}

}  // namespace
}  // namespace concord::clients
