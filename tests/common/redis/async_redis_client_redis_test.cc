// Real redis-server tests of AsyncRedisClient: replies and statuses as the synchronous client's,
// order per routing key, pipelining from many threads, scripts (loaded once per connection,
// reloaded after SCRIPT FLUSH), ACL AUTH, and the outage contract hiredis' async API does not give
// by itself: a per-command deadline (Redis frozen with SIGSTOP), reconnection after a restart,
// and exactly one callback per call when the client shuts down with calls in flight.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/redis_client.h"
#include "tests/support/redis_server.h"

namespace concord::redis {
namespace {

using ::concord::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kWait = std::chrono::seconds(10);  // bound on any wait for a callback

// Runs one call and waits (bounded) for its callback.
StatusOr<Reply> Call(AsyncRedisClient& client, std::vector<std::string> args) {
  auto promise = std::make_shared<std::promise<StatusOr<Reply>>>();
  auto future = promise->get_future();
  client.Command(std::move(args), [promise](StatusOr<Reply> r) { promise->set_value(r); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    return absl::DeadlineExceededError("test: no callback");
  }
  return future.get();
}

StatusOr<Reply> CallEval(AsyncRedisClient& client, const Script& script,
                         std::vector<std::string> keys, std::vector<std::string> args) {
  auto promise = std::make_shared<std::promise<StatusOr<Reply>>>();
  auto future = promise->get_future();
  client.Eval(script, std::move(keys), std::move(args),
              [promise](StatusOr<Reply> r) { promise->set_value(r); });
  if (future.wait_for(kWait) != std::future_status::ready) {
    return absl::DeadlineExceededError("test: no callback");
  }
  return future.get();
}

// Counts callbacks; Wait returns once `expected` arrived or the bound passed.
class Latch {
 public:
  void Arrive() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool Wait(int expected, std::chrono::milliseconds limit = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return count_ >= expected; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

pid_t RedisPid(RedisServer& server) {
  auto admin = RedisClient::Create(server.admin_config());
  auto info = admin->Command({"INFO", "server"});
  if (!info.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (absl::ConsumePrefix(&line, "process_id:")) {
      int pid = 0;
      if (absl::SimpleAtoi(line, &pid)) return pid;
    }
  }
  return -1;
}

// Calls `fn` until it returns OK or `limit` passes (bounded polling, each call is bounded).
template <typename Fn>
StatusOr<Reply> RetryUntilOk(Fn fn, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = SteadyClock::now() + limit;
  StatusOr<Reply> result = fn();
  while (!result.ok() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    result = fn();
  }
  return result;
}

TEST(AsyncRedisClientTest, RepliesAndStatusesAreTheSynchronousClients) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = AsyncRedisClient::Create(server->admin_config());

  auto set = Call(*client, {"SET", Key("t", "s"), std::string("a\0b", 3)});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");
  auto get = Call(*client, {"GET", Key("t", "s")});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, std::string("a\0b", 3));  // binary-safe
  EXPECT_TRUE(Call(*client, {"GET", Key("t", "missing")})->is_nil());
  auto incr = Call(*client, {"INCRBY", Key("t", "n"), "41"});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->type, Reply::Type::kInteger);
  EXPECT_EQ(incr->integer, 41);

  // An error reply is INTERNAL "redis: ...", as RedisClient::Command.
  auto wrong = Call(*client, {"INCR", Key("t", "s")});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(wrong.status().message()), StartsWith("redis: ERR"));
  EXPECT_EQ(Call(*client, {}).status().code(), absl::StatusCode::kInvalidArgument);

  // A pipeline: replies in order, an error reply in place, the others still run.
  std::promise<StatusOr<std::vector<Reply>>> p;
  client->Pipeline({{"SET", Key("t", "p"), "1"}, {"INCR", Key("t", "s")}, {"GET", Key("t", "p")}},
                   [&p](StatusOr<std::vector<Reply>> r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  auto replies = f.get();
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_TRUE((*replies)[1].is_error());
  EXPECT_EQ((*replies)[2].str, "1");
  EXPECT_TRUE(client->healthy());
}

TEST(AsyncRedisClientTest, CommandsOnOneKeyCompleteInSubmissionOrder) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = AsyncRedisClient::Create(server->admin_config());
  constexpr int kCalls = 2000;
  std::mutex mu;
  std::vector<int64_t> seen;
  Latch latch;
  for (int i = 0; i < kCalls; ++i) {
    client->Command({"INCR", Key("order", "n")}, [&](StatusOr<Reply> r) {
      {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(r.ok() ? r->integer : -1);
      }
      latch.Arrive();
    });
  }
  ASSERT_TRUE(latch.Wait(kCalls));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCalls));
  // Every reply arrived, and in the order the calls were made (1, 2, 3, ...).
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(seen[i], i + 1) << "call " << i;
}

TEST(AsyncRedisClientTest, ManyThreadsPipelineOnFewConnections) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = AsyncRedisClient::Create(server->admin_config(),
                                         {.io_threads = 2, .connections_per_thread = 2});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  Latch latch;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread's own key: its replies must count 1..kPerThread in order.
      auto expected = std::make_shared<std::atomic<int64_t>>(1);
      for (int i = 0; i < kPerThread; ++i) {
        client->Command({"INCR", Key(absl::StrCat("thread", t), "n")},
                        [&, expected](StatusOr<Reply> r) {
                          if (!r.ok() || r->integer != expected->fetch_add(1)) ++failures;
                          latch.Arrive();
                        });
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(latch.Wait(kThreads * kPerThread));
  EXPECT_EQ(failures.load(), 0);
  auto admin = RedisClient::Create(server->admin_config());
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(admin->Command({"GET", Key(absl::StrCat("thread", t), "n")})->str,
              absl::StrCat(kPerThread));
  }
  // All of it on at most 4 connections (plus the admin's): no connection per call.
  auto clients = admin->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok());
  EXPECT_LE(std::count(clients->str.begin(), clients->str.end(), '\n'), 5);
}

TEST(AsyncRedisClientTest, ScriptsRunByShaAndAreReloadedAfterAFlush) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = AsyncRedisClient::Create(server->admin_config());
  const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto r = CallEval(*client, script, {Key("s", "n")}, {"5"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->integer, 5);

  auto admin = RedisClient::Create(server->admin_config());
  ASSERT_TRUE(admin->Command({"SCRIPT", "FLUSH"}).ok());
  r = CallEval(*client, script, {Key("s", "n")}, {"2"});  // NOSCRIPT -> load -> retry
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->integer, 7);

  const Script broken("this is not lua");
  auto bad = CallEval(*client, broken, {Key("s", "n")}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("Error compiling script"));
  const Script raises("return redis.error_reply('NOPE custom')");
  auto err = CallEval(*client, raises, {Key("s", "n")}, {});
  EXPECT_EQ(err.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(err.status().message()), HasSubstr("NOPE custom"));
}

TEST(AsyncRedisClientTest, AuthenticatesAsTheModulesAclUserAndReportsARefusal) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  RedisConfig cfg = server->config("messaging");
  auto client = AsyncRedisClient::Create(cfg);
  ASSERT_FALSE(cfg.user.empty());
  auto ping = Call(*client, {"PING"});
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->str, "PONG");
  // ACL key patterns still apply: an error reply, not a transport failure.
  auto denied = Call(*client, {"SET", "other:key", "v"});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(denied.status().message()), HasSubstr("NOPERM"));

  cfg.password = "wrong-password";
  auto bad = AsyncRedisClient::Create(cfg);
  const auto start = SteadyClock::now();
  auto r = Call(*bad, {"PING"});
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("redis unavailable: auth"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("wrong-password")));
  EXPECT_TRUE(IsAuthRefused(r.status()));
  EXPECT_FALSE(bad->healthy());
}

TEST(AsyncRedisClientOutage, AFrozenRedisFailsCallsWithinTheDeadlineThenRecovers) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  RedisConfig cfg = server->admin_config();
  cfg.command_timeout = absl::Milliseconds(300);
  auto client = AsyncRedisClient::Create(cfg);
  ASSERT_TRUE(Call(*client, {"PING"}).ok());
  const pid_t pid = RedisPid(*server);
  ASSERT_GT(pid, 0);

  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  const auto start = SteadyClock::now();
  auto frozen = Call(*client, {"INCR", Key("f", "n")});
  const auto took = SteadyClock::now() - start;
  // A call during the backoff window that follows fails at once, without I/O.
  const auto start2 = SteadyClock::now();
  auto during = Call(*client, {"PING"});
  const auto took2 = SteadyClock::now() - start2;
  ASSERT_EQ(kill(pid, SIGCONT), 0);

  EXPECT_EQ(frozen.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(frozen.status().message()), HasSubstr("timeout"));
  EXPECT_GE(took, std::chrono::milliseconds(250));
  // The deadline, not a TCP timeout (minutes) nor Redis waking up (after this call returns): any
  // bound far below those proves it; 2 s leaves a loaded machine room over the 300 ms deadline.
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(took2, std::chrono::milliseconds(800));
  EXPECT_FALSE(client->healthy());

  // Same client, no recreation: it reconnects after the backoff window.
  auto after = RetryUntilOk([&] { return Call(*client, {"INCR", Key("f", "n")}); });
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(client->healthy());
}

TEST(AsyncRedisClientOutage, ReconnectsAfterARestartAndReloadsScripts) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = AsyncRedisClient::Create(server->admin_config());
  const Script script("return redis.call('INCR', KEYS[1])");
  ASSERT_TRUE(CallEval(*client, script, {Key("r", "n")}, {}).ok());

  server->Stop();
  const auto start = SteadyClock::now();
  auto down = Call(*client, {"PING"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(down.status().message()), StartsWith("redis unavailable: "));
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  EXPECT_FALSE(client->healthy());

  server->Start();  // an empty Redis: no data, no scripts
  auto up = RetryUntilOk([&] { return CallEval(*client, script, {Key("r", "n")}, {}); });
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->integer, 1);
  EXPECT_TRUE(client->healthy());
}

TEST(AsyncRedisClientOutage, ShutdownWithCallsInFlightCallsEveryCallbackOnce) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  RedisConfig cfg = server->admin_config();
  cfg.command_timeout = absl::Seconds(30);  // no deadline fires: only the shutdown ends them
  constexpr int kCalls = 5000;
  std::vector<std::atomic<int>> calls(kCalls);
  std::atomic<int> unavailable{0};
  const pid_t pid = RedisPid(*server);
  ASSERT_GT(pid, 0);
  {
    auto client = AsyncRedisClient::Create(cfg, {.io_threads = 2, .connections_per_thread = 1});
    ASSERT_TRUE(Call(*client, {"PING"}).ok());
    ASSERT_EQ(kill(pid, SIGSTOP), 0);  // every call below stays in flight
    for (int i = 0; i < kCalls; ++i) {
      client->Command({"INCR", Key(absl::StrCat("k", i % 7), "n")}, [&, i](StatusOr<Reply> r) {
        calls[i].fetch_add(1);
        if (r.status().code() == absl::StatusCode::kUnavailable) ++unavailable;
      });
    }
  }  // the client is destroyed with all of them outstanding
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(calls[i].load(), 1) << "call " << i;
  EXPECT_EQ(unavailable.load(), kCalls);
}

TEST(AsyncRedisClientOutage, ShutdownWhileRedisAnswersCallsEveryCallbackOnce) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  constexpr int kCalls = 20000;
  std::vector<std::atomic<int>> calls(kCalls);
  std::atomic<int> ok{0};
  {
    auto client = AsyncRedisClient::Create(server->admin_config());
    for (int i = 0; i < kCalls; ++i) {
      client->Command({"INCR", Key("shutdown", "n")}, [&, i](StatusOr<Reply> r) {
        calls[i].fetch_add(1);
        if (r.ok()) ++ok;
      });
    }
  }
  for (int i = 0; i < kCalls; ++i) ASSERT_EQ(calls[i].load(), 1) << "call " << i;
  // What succeeded was applied once each: Redis' counter equals the OK callbacks.
  auto admin = RedisClient::Create(server->admin_config());
  auto n = admin->Command({"GET", Key("shutdown", "n")});
  ASSERT_TRUE(n.ok());
  int64_t stored = 0;
  if (!n->is_nil()) {
    ASSERT_TRUE(absl::SimpleAtoi(n->str, &stored));
  }
  EXPECT_GE(stored, ok.load());
}

TEST(AsyncRedisClientOutage, CallsWhileRedisIsAbsentFailFastAndNeverHang) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  RedisConfig cfg = server->admin_config();
  server->Stop();
  auto client = AsyncRedisClient::Create(cfg);  // never fails
  Latch latch;
  std::atomic<int> unavailable{0};
  const auto start = SteadyClock::now();
  for (int i = 0; i < 100; ++i) {
    client->Command({"PING"}, [&](StatusOr<Reply> r) {
      if (r.status().code() == absl::StatusCode::kUnavailable) ++unavailable;
      latch.Arrive();
    });
  }
  ASSERT_TRUE(latch.Wait(100));
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(unavailable.load(), 100);
}

}  // namespace
}  // namespace concord::redis
