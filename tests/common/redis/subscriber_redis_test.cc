// Real redis-server tests of Subscriber: delivery, on_connected after every (re)subscribe,
// reconnection after a Redis restart, prompt shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/redis/redis_client.h"
#include "common/redis/subscriber.h"
#include "tests/support/redis_server.h"

namespace concord::redis {
namespace {

using ::concord::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::Pair;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(10);

// Collects callbacks; tests wait on conditions with a timeout (no sleeps).
class Recorder {
 public:
  void OnMessage(const std::string& channel, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.emplace_back(channel, message);
    cv_.notify_all();
  }
  void OnConnected() {
    std::lock_guard<std::mutex> lock(mu_);
    ++connected_;
    cv_.notify_all();
  }
  bool WaitConnected(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return connected_ >= n; });
  }
  bool WaitMessages(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return messages_.size() >= n; });
  }
  std::vector<std::pair<std::string, std::string>> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  int connected() {
    std::lock_guard<std::mutex> lock(mu_);
    return connected_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, std::string>> messages_;
  int connected_ = 0;
};

std::unique_ptr<Subscriber> Subscribe(const RedisConfig& cfg, std::vector<std::string> channels,
                                      Recorder& rec) {
  return std::make_unique<Subscriber>(
      cfg, std::move(channels),
      [&rec](const std::string& c, const std::string& m) { rec.OnMessage(c, m); },
      [&rec] { rec.OnConnected(); });
}

TEST(Subscriber, DeliversMessagesOfEverySubscribedChannel) {
  auto server = RedisServer::Start({.aof = false, .password = "pw"});
  ASSERT_NE(server, nullptr);
  Recorder rec;
  auto sub = Subscribe(server->config(), {"concord:test:a", "concord:test:b"}, rec);
  ASSERT_TRUE(rec.WaitConnected(1));
  EXPECT_TRUE(sub->connected());

  auto pub = RedisClient::Create(server->config());
  const std::string binary("x\0\r\ny", 5);
  ASSERT_TRUE(pub->Command({"PUBLISH", "concord:test:a", "one"}).ok());
  ASSERT_TRUE(pub->Command({"PUBLISH", "concord:test:other", "ignored"}).ok());
  ASSERT_TRUE(pub->Command({"PUBLISH", "concord:test:b", binary}).ok());
  ASSERT_TRUE(rec.WaitMessages(2));
  EXPECT_THAT(rec.messages(),
              ElementsAre(Pair("concord:test:a", "one"), Pair("concord:test:b", binary)));
  EXPECT_EQ(rec.connected(), 1);
}

TEST(Subscriber, ResubscribesAndCallsOnConnectedAfterRedisRestart) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  Recorder rec;
  auto sub = Subscribe(server->config(), {"concord:test:events"}, rec);
  ASSERT_TRUE(rec.WaitConnected(1));

  server->Stop();
  server->Start();
  ASSERT_TRUE(rec.WaitConnected(2)) << "no on_connected after the restart";

  auto pub = RedisClient::Create(server->config());
  ASSERT_TRUE(pub->Command({"PUBLISH", "concord:test:events", "after-restart"}).ok());
  ASSERT_TRUE(rec.WaitMessages(1));
  EXPECT_THAT(rec.messages(), ElementsAre(Pair("concord:test:events", "after-restart")));
}

TEST(Subscriber, KeepsRetryingWhileRedisIsDownThenConnects) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  server->Stop();
  Recorder rec;
  auto sub = Subscribe(server->config(), {"concord:test:late"}, rec);
  EXPECT_FALSE(sub->connected());
  server->Start();
  ASSERT_TRUE(rec.WaitConnected(1));
  auto pub = RedisClient::Create(server->config());
  ASSERT_TRUE(pub->Command({"PUBLISH", "concord:test:late", "hello"}).ok());
  ASSERT_TRUE(rec.WaitMessages(1));
}

TEST(Subscriber, DestructorReturnsPromptly) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  {
    Recorder rec;
    auto sub = Subscribe(server->config(), {"concord:test:x"}, rec);
    ASSERT_TRUE(rec.WaitConnected(1));
    const auto start = SteadyClock::now();
    sub.reset();
    EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  }
  {
    server->Stop();  // subscriber in its reconnect/backoff loop
    Recorder rec;
    auto sub = Subscribe(server->config(), {"concord:test:x"}, rec);
    const auto start = SteadyClock::now();
    sub.reset();
    EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  }
}

}  // namespace
}  // namespace concord::redis
