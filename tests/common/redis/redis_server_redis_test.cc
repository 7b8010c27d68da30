// Tests of the RedisServer fixture itself (tests/support/redis_server.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/redis/redis_client.h"
#include "tests/support/redis_server.h"

namespace concord::testing {
namespace {

using redis::Key;
using redis::RedisClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RedisServer, StartsOnAFreePortInItsOwnDirectory) {
  auto a = RedisServer::Start({});
  auto b = RedisServer::Start({});
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->dir(), b->dir());
  EXPECT_TRUE(RedisClient::Create(a->config())->Ping().ok());
  EXPECT_TRUE(RedisClient::Create(b->config())->Ping().ok());
  const std::string dir = a->dir();
  a.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(RedisServer, DumpAllShowsEveryTypeWithContents) {
  auto server = RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  auto c = RedisClient::Create(server->config());
  ASSERT_TRUE(c->Pipeline({{"SET", Key("t", "str"), "plain-string"},
                           {"HSET", Key("t", "hash"), "f", "plain-hash"},
                           {"RPUSH", Key("t", "list"), "plain-list"},
                           {"SADD", Key("t", "set"), "plain-set"},
                           {"ZADD", Key("t", "zset"), "1", "plain-zset"},
                           {"XADD", Key("t", "stream"), "*", "field", "plain-stream"}})
                  .ok());
  EXPECT_THAT(server->AllKeys(),
              ElementsAre(Key("t", "hash"), Key("t", "list"), Key("t", "set"), Key("t", "str"),
                          Key("t", "stream"), Key("t", "zset")));
  const std::string dump = server->DumpAll();
  EXPECT_THAT(dump, HasSubstr(Key("t", "str") + " string\n  plain-string\n"));
  EXPECT_THAT(dump, HasSubstr(Key("t", "hash") + " hash\n  f = plain-hash\n"));
  EXPECT_THAT(dump, HasSubstr(Key("t", "list") + " list\n  plain-list\n"));
  EXPECT_THAT(dump, HasSubstr(Key("t", "set") + " set\n  plain-set\n"));
  EXPECT_THAT(dump, HasSubstr(Key("t", "zset") + " zset\n  plain-zset = 1\n"));
  EXPECT_THAT(dump, HasSubstr("field plain-stream"));

  server->FlushAll();
  EXPECT_TRUE(server->AllKeys().empty());
  EXPECT_EQ(server->DumpAll(), "");
}

TEST(RedisServer, RestartKeepsPortAndAofData) {
  auto server = RedisServer::Start({.aof = true, .password = {}});
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  ASSERT_TRUE(RedisClient::Create(server->config())->Command({"SET", Key("t", "k"), "v"}).ok());
  server->Stop();
  EXPECT_FALSE(server->running());
  EXPECT_FALSE(RedisClient::Create(server->config())->Ping().ok());
  server->Start();
  EXPECT_EQ(server->port(), port);
  auto get = RedisClient::Create(server->config())->Command({"GET", Key("t", "k")});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "v");
}

TEST(RedisServer, RequiresPasswordWhenConfigured) {
  auto server = RedisServer::Start({.aof = false, .password = "s3cret"});
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(RedisClient::Create(server->config())->Ping().ok());
  redis::RedisConfig anonymous = server->config();
  anonymous.password.clear();
  EXPECT_FALSE(RedisClient::Create(anonymous)->Ping().ok());
}

}  // namespace
}  // namespace concord::testing
