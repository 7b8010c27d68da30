// Real redis-server tests of RedisClient: commands, binary safety, pipelines, scripts, ACL auth,
// pool concurrency, and the fail-fast / recovery contract when Redis goes away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/redis/redis_client.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"

namespace concord::redis {
namespace {

using ::concord::testing::RedisServer;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using SteadyClock = std::chrono::steady_clock;

// Calls `fn` until it returns OK or `limit` passes (bounded polling, each call is fast).
template <typename Fn>
auto RetryUntilOk(Fn fn, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = SteadyClock::now() + limit;
  auto result = fn();
  while (!result.ok() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    result = fn();
  }
  return result;
}

class RedisClientTest : public testing::RedisSuiteTest {
 protected:
  std::unique_ptr<RedisClient>& client_ = redis_;  // the base fixture's client
};

TEST_F(RedisClientTest, RunsCommandsAndConvertsReplies) {
  auto set = client_->Command({"SET", Key("t", "s"), "hello"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, Reply::Type::kStatus);
  EXPECT_EQ(set->str, "OK");

  auto get = client_->Command({"GET", Key("t", "s")});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->type, Reply::Type::kString);
  EXPECT_EQ(get->str, "hello");

  auto missing = client_->Command({"GET", Key("t", "missing")});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_nil());

  auto incr = client_->Command({"INCRBY", Key("t", "n"), "41"});
  ASSERT_TRUE(incr.ok());
  EXPECT_EQ(incr->type, Reply::Type::kInteger);
  EXPECT_EQ(incr->integer, 41);

  ASSERT_TRUE(client_->Command({"RPUSH", Key("t", "l"), "a", "b", "c"}).ok());
  auto range = client_->Command({"LRANGE", Key("t", "l"), "0", "-1"});
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->type, Reply::Type::kArray);
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[2].str, "c");

  EXPECT_TRUE(client_->Ping().ok());
  EXPECT_TRUE(client_->healthy());
}

TEST_F(RedisClientTest, ValuesAndKeysAreBinarySafe) {
  const std::string key = Key(std::string("b\0in", 4), std::string("k\r\n\0", 4));
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  value += std::string("\0\r\n$3\r\nend", 10);
  ASSERT_TRUE(client_->Command({"SET", key, value}).ok());
  auto get = client_->Command({"GET", key});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->str, value);

  ASSERT_TRUE(client_->Command({"HSET", Key("t", "h"), std::string("f\0", 2), value}).ok());
  auto hget = client_->Command({"HGET", Key("t", "h"), std::string("f\0", 2)});
  ASSERT_TRUE(hget.ok());
  EXPECT_EQ(hget->str, value);
}

TEST_F(RedisClientTest, ErrorReplyIsInternalAndKeepsConnectionUsable) {
  ASSERT_TRUE(client_->Command({"SET", Key("t", "s"), "x"}).ok());
  auto wrong = client_->Command({"LPUSH", Key("t", "s"), "y"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(wrong.status().message()), StartsWith("redis: WRONGTYPE"));
  EXPECT_TRUE(client_->healthy());
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(RedisClientTest, EmptyCommandIsInvalidArgument) {
  EXPECT_EQ(client_->Command({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Pipeline({{"PING"}, {}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RedisClientTest, PipelineReturnsRepliesInOrderWithErrorsInPlace) {
  const std::string k = Key("t", "p");
  auto replies = client_->Pipeline({{"SET", k, "1"},
                                    {"INCR", k},
                                    {"LPUSH", k, "x"},  // WRONGTYPE: returned as kError
                                    {"GET", k},
                                    {"GET", Key("t", "none")}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].str, "OK");
  EXPECT_EQ((*replies)[1].integer, 2);
  EXPECT_TRUE((*replies)[2].is_error());
  EXPECT_THAT((*replies)[2].str, StartsWith("WRONGTYPE"));
  EXPECT_EQ((*replies)[3].str, "2");
  EXPECT_TRUE((*replies)[4].is_nil());

  auto empty = client_->Pipeline({});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(RedisClientTest, PipelinesManyCommandsInOneCall) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 2000; ++i) cmds.push_back({"RPUSH", Key("t", "big"), std::to_string(i)});
  auto replies = client_->Pipeline(cmds);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 2000u);
  EXPECT_EQ(replies->back().integer, 2000);
}

TEST_F(RedisClientTest, EvalLoadsScriptOnNoscriptAndRetries) {
  const Script incr("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  const std::string k = Key("t", "counter");

  auto first = client_->Eval(incr, {k}, {"5"});  // cache empty: NOSCRIPT -> LOAD -> retry
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->integer, 5);
  auto exists = client_->Command({"SCRIPT", "EXISTS", incr.sha1()});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->elements.at(0).integer, 1);

  ASSERT_TRUE(client_->Command({"SCRIPT", "FLUSH"}).ok());
  auto after_flush = client_->Eval(incr, {k}, {"5"});
  ASSERT_TRUE(after_flush.ok()) << after_flush.status();
  EXPECT_EQ(after_flush->integer, 10);

  auto cached = client_->Eval(incr, {k}, {"1"});
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->integer, 11);
}

TEST_F(RedisClientTest, EvalPassesBinaryArgumentsAndReportsScriptErrors) {
  const Script echo("return ARGV[1]");
  const std::string bin("\0\xff\r\n", 4);
  auto r = client_->Eval(echo, {}, {bin});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->str, bin);

  const Script conflict("return redis.error_reply('CONFLICT version mismatch')");
  auto err = client_->Eval(conflict, {}, {});
  EXPECT_EQ(err.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(err.status().message()), HasSubstr("CONFLICT version mismatch"));

  const Script broken("this is not lua");
  EXPECT_EQ(client_->Eval(broken, {}, {}).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(client_->healthy());
}

TEST_F(RedisClientTest, SelectsConfiguredDatabase) {
  RedisConfig cfg = server_->config();
  cfg.db = 3;
  auto db3 = RedisClient::Create(cfg);
  ASSERT_TRUE(db3->Command({"SET", Key("t", "db"), "three"}).ok());
  EXPECT_TRUE(client_->Command({"GET", Key("t", "db")})->is_nil());
  EXPECT_EQ(db3->Command({"GET", Key("t", "db")})->str, "three");
}

TEST_F(RedisClientTest, PoolServesManyThreadsConcurrently) {
  RedisConfig cfg = server_->config();
  cfg.pool_size = 3;
  cfg.command_timeout = absl::Seconds(10);  // shared 2-core CI machine: allow slow scheduling
  auto client = RedisClient::Create(cfg);
  constexpr int kThreads = 8;
  constexpr int kOps = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        if (!client->Command({"INCR", Key("t", "shared")}).ok()) failures++;
        if (i % 10 == 0) {
          const std::string list = Key("t", absl::StrCat("l", t));
          auto p = client->Pipeline({{"RPUSH", list, "x"}, {"LLEN", list}});
          if (!p.ok()) failures++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto total = client->Command({"GET", Key("t", "shared")});
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(total->str, std::to_string(kThreads * kOps));
  auto clients = client->Command({"CLIENT", "LIST"});
  ASSERT_TRUE(clients.ok());
  // At most pool_size connections from `client` (+ client_ + the fixture's own).
  EXPECT_LE(std::count(clients->str.begin(), clients->str.end(), '\n'), 3 + 2);
}

TEST(RedisClientAuth, AclUserAuthenticatesAndWrongPasswordFails) {
  auto server = RedisServer::Start({.aof = false, .password = "admin-secret"});
  ASSERT_NE(server, nullptr);
  auto admin = RedisClient::Create(server->config());
  auto created =
      admin->Command({"ACL", "SETUSER", "svc", "on", ">svc-secret", "~concord:*", "&*", "+@all"});
  ASSERT_TRUE(created.ok()) << created.status();

  RedisConfig cfg = server->config();
  cfg.user = "svc";
  cfg.password = "svc-secret";
  auto svc = RedisClient::Create(cfg);
  ASSERT_TRUE(svc->Command({"SET", Key("t", "acl"), "v"}).ok());
  auto whoami = svc->Command({"ACL", "WHOAMI"});
  ASSERT_TRUE(whoami.ok());
  EXPECT_EQ(whoami->str, "svc");
  // ACL key pattern enforced by Redis: an error reply, not a transport failure.
  auto denied = svc->Command({"SET", "other:key", "v"});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(denied.status().message()), HasSubstr("NOPERM"));

  cfg.password = "wrong-password";
  auto bad = RedisClient::Create(cfg);
  const auto start = SteadyClock::now();
  auto r = bad->Command({"PING"});
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), StartsWith("redis unavailable: auth"));
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("wrong-password")));
  EXPECT_FALSE(bad->healthy());
  EXPECT_FALSE(bad->Ping().ok());

  RedisConfig no_pass = server->config();
  no_pass.password.clear();
  EXPECT_FALSE(RedisClient::Create(no_pass)->Command({"GET", Key("t", "acl")}).ok());
}

TEST(RedisClientOutage, FailsFastWhileDownAndRecoversWithoutRecreation) {
  auto server = RedisServer::Start({.aof = true, .password = {}});
  ASSERT_NE(server, nullptr);
  auto client = RedisClient::Create(server->config());
  ASSERT_TRUE(client->Command({"SET", Key("t", "durable"), "kept"}).ok());
  // Several pooled connections exist when Redis goes away.
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { (void)client->Ping(); });
    for (auto& t : threads) t.join();
  }

  server->Stop();
  for (int i = 0; i < 20; ++i) {
    const auto start = SteadyClock::now();
    auto r = client->Command({"GET", Key("t", "durable")});
    const auto elapsed = SteadyClock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(1)) << "call " << i;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << "call " << i;
    EXPECT_THAT(std::string(r.status().message()), StartsWith("redis unavailable: "));
  }
  EXPECT_FALSE(client->healthy());
  {
    const auto start = SteadyClock::now();
    EXPECT_EQ(client->Pipeline({{"PING"}}).status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(client->Eval(Script("return 1"), {}, {}).status().code(),
              absl::StatusCode::kUnavailable);
    EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  }

  server->Start();
  auto back = RetryUntilOk([&] { return client->Command({"GET", Key("t", "durable")}); });
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->str, "kept");  // AOF: data survived the restart
  EXPECT_TRUE(client->healthy());
  EXPECT_TRUE(client->Ping().ok());
  // The script cache did not survive: EVALSHA reloads transparently.
  auto eval = client->Eval(Script("return 7"), {}, {});
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(eval->integer, 7);
}

TEST(RedisClientOutage, ConcurrentCallersSurviveRestartWithoutHangingOrCrashing) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = RedisClient::Create(server->config());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> max_call_ms{0};
  std::atomic<int> ok_after_restart{0};
  std::atomic<bool> restarted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = Key("t", absl::StrCat("c", t));
      while (!stop.load()) {
        const auto start = SteadyClock::now();
        auto r = client->Pipeline({{"INCR", key}, {"GET", key}});
        const int64_t ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start)
                .count();
        int64_t prev = max_call_ms.load();
        while (ms > prev && !max_call_ms.compare_exchange_weak(prev, ms)) {
        }
        if (r.ok() && restarted.load()) ok_after_restart++;
        if (!r.ok()) std::this_thread::yield();
      }
    });
  }
  server->Stop();
  server->Start();
  restarted.store(true);
  // Bounded wait until every thread has had successes again (no sleeps: poll the counter).
  EXPECT_TRUE(RetryUntilOk([&] {
                return ok_after_restart.load() >= 100 ? absl::OkStatus()
                                                      : absl::UnavailableError("not yet");
              }).ok());
  stop.store(true);
  for (auto& th : threads) th.join();
  EXPECT_LT(max_call_ms.load(), 1000);
  EXPECT_TRUE(client->healthy());
}

TEST(RedisClientOutage, RestartBetweenCallsIsInvisible) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto client = RedisClient::Create(server->config());
  ASSERT_TRUE(client->Ping().ok());
  server->Stop();
  server->Start();
  // The pooled connection died while idle: it is discarded and a new one opened, no error.
  EXPECT_TRUE(client->Ping().ok());
}

TEST(RedisClientOutage, CommandTimeoutBoundsABlockedServer) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  RedisConfig cfg = server->config();
  cfg.command_timeout = absl::Milliseconds(200);
  auto client = RedisClient::Create(cfg);
  ASSERT_TRUE(client->Ping().ok());

  // A script that keeps Redis busy for 1.5 s (below lua-time-limit, so no BUSY replies).
  const Script spin(
      "local t0 = redis.call('TIME') local s0 = t0[1] * 1000000 + t0[2] "
      "while true do local t = redis.call('TIME') "
      "if t[1] * 1000000 + t[2] - s0 > tonumber(ARGV[1]) then break end end return 1");
  auto blocker = RedisClient::Create(server->config());
  ASSERT_TRUE(blocker->Command({"SCRIPT", "LOAD", spin.source()}).ok());
  std::thread busy([&] {
    RedisConfig slow = server->config();
    slow.command_timeout = absl::Seconds(10);
    (void)RedisClient::Create(slow)->Eval(spin, {}, {"1500000"});
  });
  // Wait (bounded) until the script is running: a PING from another connection then times out.
  StatusOr<Reply> r = client->Command({"PING"});
  const auto poll_deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (r.ok() && SteadyClock::now() < poll_deadline) {
    const auto start = SteadyClock::now();
    r = client->Command({"PING"});
    EXPECT_LT(SteadyClock::now() - start, std::chrono::milliseconds(900));
  }
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("timeout"));
  EXPECT_FALSE(client->healthy());
  // During the backoff window: immediate failure.
  const auto start = SteadyClock::now();
  EXPECT_FALSE(client->Command({"PING"}).ok());
  EXPECT_LT(SteadyClock::now() - start, std::chrono::milliseconds(900));
  busy.join();
  EXPECT_TRUE(RetryUntilOk([&] { return client->Ping(); }).ok());
  EXPECT_TRUE(client->healthy());
}

TEST(RedisClientOutage, CreateNeverFailsWhenRedisIsAbsent) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  const RedisConfig cfg = server->config();
  server->Stop();  // the port is now (almost certainly) closed
  auto client = RedisClient::Create(cfg);
  ASSERT_NE(client, nullptr);
  const auto start = SteadyClock::now();
  EXPECT_EQ(client->Ping().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(1));
  server->Start();
  EXPECT_TRUE(RetryUntilOk([&] { return client->Ping(); }).ok());
}

}  // namespace
}  // namespace concord::redis
