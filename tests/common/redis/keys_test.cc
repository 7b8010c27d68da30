#include "common/redis/keys.h"

#include <gtest/gtest.h>

#include <string>

namespace concord::redis {
namespace {

TEST(Key, BuildsConcordPrefixHashTagAndRest) {
  EXPECT_EQ(Key("agency:police/x", "mailbox"), "concord:{agency:police/x}:mailbox");
  EXPECT_EQ(Key("t", "a:b:c"), "concord:{t}:a:b:c");
  EXPECT_EQ(Key("t", ""), "concord:{t}:");
}

TEST(Key, IsBinarySafe) {
  const std::string tag("a\0b", 3);
  const std::string rest("x\0y", 3);
  const std::string key = Key(tag, rest);
  EXPECT_EQ(key, std::string("concord:{a\0b}:x\0y", 17));
  EXPECT_EQ(HashTag(key), tag);
}

TEST(HashTag, KeysWithTheSameTagShareTheSlotTag) {
  EXPECT_EQ(HashTag(Key("referral:42", "state")), "referral:42");
  EXPECT_EQ(HashTag(Key("referral:42", "events")), HashTag(Key("referral:42", "state")));
  EXPECT_NE(HashTag(Key("referral:42", "state")), HashTag(Key("referral:43", "state")));
}

TEST(HashTag, FollowsRedisClusterRules) {
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // empty first tag: whole key is hashed
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("no-tag"), "no-tag");
  EXPECT_EQ(HashTag("open{only"), "open{only");
}

}  // namespace
}  // namespace concord::redis
