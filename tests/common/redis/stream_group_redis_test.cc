// Real redis-server tests of StreamGroupReader: new entries, entries left idle by another
// consumer, and this consumer's own pending entries after a failed read (a read that ran in
// Redis although the client never saw its reply) or a restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/redis/stream_group.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"

namespace concord::redis {
namespace {

using ::concord::testing::RedisServer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using SteadyClock = std::chrono::steady_clock;

constexpr absl::Duration kLong = absl::Hours(1);
// Under concord:*, the keys the shipped default user may touch: Redis 7.0 checks its rights when
// it replays a MULTI/EXEC block of the AOF (docs/redis.md).
constexpr char kKey[] = "concord:{t}:outbox";

std::vector<std::string> Ids(const std::vector<Reply>& entries) {
  std::vector<std::string> ids;
  for (const Reply& e : entries) ids.push_back(e.elements[0].str);
  return ids;
}

std::string Add(RedisClient& redis, const std::string& key, const std::string& value) {
  auto r = redis.Command({"XADD", key, "*", "v", value});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->str : "";
}

// Assigns every new entry to `consumer` the way a read whose reply was lost does.
void ReadWithoutLooking(RedisClient& redis, const std::string& key, const std::string& consumer) {
  auto r =
      redis.Command({"XREADGROUP", "GROUP", "g", consumer, "COUNT", "100", "STREAMS", key, ">"});
  ASSERT_TRUE(r.ok()) << r.status();
}

class StreamGroupReaderTest : public testing::RedisSuiteTest {};

TEST_F(StreamGroupReaderTest, ReadsNewEntriesOnceThenIdleOnesOfOtherConsumers) {
  StreamGroupReader reader(*redis_, kKey, "g");
  auto empty = reader.Read("c1", 10, kLong);  // creates the group
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(*empty, IsEmpty());
  const std::string a = Add(*redis_, kKey, "a");
  const std::string b = Add(*redis_, kKey, "b");

  auto first = reader.Read("c1", 10, kLong);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Ids(*first), ElementsAre(a, b));
  auto again = reader.Read("c1", 10, kLong);  // unacked, not idle long: not handed out again
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(*again, IsEmpty());

  StreamGroupReader other(*redis_, kKey, "g");
  auto claimed = other.Read("c2", 1, absl::ZeroDuration());  // bounded by max
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Ids(*claimed), ElementsAre(a));
  EXPECT_EQ(reader.Read("", 10, kLong).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Read("c 1", 10, kLong).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StreamId, FormIsDigitsDashDigits) {
  for (const char* good : {"0-1", "1700000000000-0", "1-18446744073709551615"}) {
    EXPECT_TRUE(IsStreamId(good)) << good;
  }
  for (const char* bad : {"", "-", "1-", "-1", "1", "1-2-3", "a-1", "1-1 ", "1--1",
                          "123456789012345678901-12345678901234567890"}) {
    EXPECT_FALSE(IsStreamId(bad)) << bad;
  }
}

// Handled entries leave the outbox (acknowledged and deleted, so Length is the backlog); a
// malformed id refuses the whole call, naming it, and acknowledges nothing.
TEST_F(StreamGroupReaderTest, AckAndDeleteRemovesHandledEntriesAndRefusesMalformedIds) {
  StreamGroupReader reader(*redis_, kKey, "g");
  ASSERT_TRUE(reader.Read("c1", 10, kLong).ok());
  const std::string a = Add(*redis_, kKey, "a");
  const std::string b = Add(*redis_, kKey, "b");
  auto read = reader.Read("c1", 10, kLong);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_THAT(Ids(*read), ElementsAre(a, b));
  EXPECT_EQ(*reader.Length(), 2);

  const Status refused = reader.AckAndDelete({a, "not-an-id"});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldViolationsOf(refused).at(0).field, "stream_ids[1]");
  EXPECT_EQ(*reader.Length(), 2);  // nothing acknowledged

  ASSERT_TRUE(reader.AckAndDelete({a}).ok());
  ASSERT_TRUE(reader.AckAndDelete({a}).ok());  // already gone: fine
  ASSERT_TRUE(reader.AckAndDelete({}).ok());
  EXPECT_EQ(*reader.Length(), 1);
  auto pending = redis_->Command({"XPENDING", kKey, "g"});
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->elements.at(0).integer, 1);  // only b is still pending
  auto claimed = StreamGroupReader(*redis_, kKey, "g").Read("c2", 10, absl::ZeroDuration());
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_THAT(Ids(*claimed), ElementsAre(b));
}

// Each workload with an outbox acknowledges as its own ACL user of deploy/redis-users.acl: the
// script's XACK runs under pcall, so a user without +xack would delete entries but leave them
// pending, silently. Failed for concord-referrals (no +xack) before the ACL was fixed.
TEST_F(StreamGroupReaderTest, EveryOutboxWorkloadMayAcknowledgeUnderTheShippedAcl) {
  for (const auto& [workload, key] :
       std::vector<std::pair<std::string, std::string>>{{"directory", "concord:{dir}:outbox"},
                                                        {"referrals", "concord:{ref}:outbox"},
                                                        {"liaison", "concord:{lia}:outbox"}}) {
    SCOPED_TRACE(workload);
    auto as_workload = RedisClient::Create(server_->config(workload));
    StreamGroupReader reader(*as_workload, key, "notifier");
    ASSERT_TRUE(reader.Read("c1", 10, kLong).ok());
    const std::string a = Add(*redis_, key, "a");
    auto read = reader.Read("c1", 10, kLong);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_THAT(Ids(*read), ElementsAre(a));
    ASSERT_TRUE(reader.AckAndDelete({a}).ok());
    EXPECT_EQ(*reader.Length(), 0);
    auto pending = redis_->Command({"XPENDING", key, "notifier"});
    ASSERT_TRUE(pending.ok()) << pending.status();
    EXPECT_EQ(pending->elements.at(0).integer, 0) << "acknowledged entries left pending";
  }
}

// Test (required): a restarted process under the same consumer name picks up what it had been
// handed before, at its first read, without waiting for claim_after.
TEST_F(StreamGroupReaderTest, FirstReadReturnsOwnPendingEntries) {
  StreamGroupReader before(*redis_, kKey, "g");
  ASSERT_TRUE(before.Read("c1", 10, kLong).ok());
  const std::string a = Add(*redis_, kKey, "a");
  ReadWithoutLooking(*redis_, kKey, "c1");

  StreamGroupReader after(*redis_, kKey, "g");
  auto r = after.Read("c1", 10, kLong);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Ids(*r), ElementsAre(a));
  auto next = after.Read("c1", 10, kLong);
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(*next, IsEmpty());
}

// Test (required): entries Redis assigned to this consumer by a read whose reply never arrived
// (a frozen Redis answers after the client timed out) come back at the first good read after a
// failed one, not only after claim_after. Fails if the reader does not re-read its own entries.
TEST(StreamGroupReaderOutage, OwnPendingEntriesAreReadAgainAfterAFailedRead) {
  RedisServer::Options options;
  options.aof = true;
  auto server = RedisServer::Start(options);
  ASSERT_NE(server, nullptr);
  auto redis = RedisClient::Create(server->config());
  StreamGroupReader reader(*redis, kKey, "g");
  ASSERT_TRUE(reader.Read("c1", 10, kLong).ok());
  const std::string a = Add(*redis, kKey, "a");
  const std::string b = Add(*redis, kKey, "b");
  ReadWithoutLooking(*redis, kKey, "c1");
  auto unseen = reader.Read("c1", 10, kLong);
  ASSERT_TRUE(unseen.ok());
  EXPECT_THAT(*unseen, IsEmpty());

  server->Stop();
  EXPECT_EQ(reader.Read("c1", 10, kLong).status().code(), absl::StatusCode::kUnavailable);
  server->Start();

  StatusOr<std::vector<Reply>> r = reader.Read("c1", 10, kLong);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(10);
  while (!r.ok() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r = reader.Read("c1", 10, kLong);
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(Ids(*r), ElementsAre(a, b));
}

}  // namespace
}  // namespace concord::redis
