#include "common/redis/script.h"

#include <gtest/gtest.h>

namespace concord::redis {
namespace {

TEST(Script, Sha1MatchesRedis) {
  // Value documented by Redis for EVALSHA of "return 1" (and `printf 'return 1' | sha1sum`).
  const Script script("return 1");
  EXPECT_EQ(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  EXPECT_EQ(script.source(), "return 1");
}

TEST(Script, Sha1OfEmptySource) {
  EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

}  // namespace
}  // namespace concord::redis
