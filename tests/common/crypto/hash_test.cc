#include "common/crypto/hash.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

// FIPS 180-2 appendix B.1 / B.2, and the empty string.
TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, ArrayMatchesHex) {
  const auto digest = Sha256("abc");
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), 32)),
            Sha256Hex("abc"));
}

// The FIPS 180-2 B.2 message in pieces (one across the 64-byte block boundary), and empty pieces.
TEST(Sha256, ConcatEqualsTheDigestOfTheJoinedParts) {
  const auto digest =
      Sha256Concat({"abcdbcdecdefdefgefgh", "", "fghighijhijkijkljklmklmnlmnomnopnopq"});
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), 32)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Concat({}), Sha256(""));
  const std::string big(200, 'z');
  EXPECT_EQ(Sha256Concat({std::string_view(big).substr(0, 63), std::string_view(big).substr(63)}),
            Sha256(big));
}

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block size is hashed first).
TEST(HmacSha256, KnownAnswers) {
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex(std::string(131, '\xaa'),
                          "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  const auto mac = HmacSha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), 32)),
            HmacSha256Hex("Jefe", "what do ya want for nothing?"));
  EXPECT_NE(HmacSha256Hex("", "x"), HmacSha256Hex("k", "x"));
}

TEST(ConstantTimeEquals, ComparesBytes) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

}  // namespace
}  // namespace concord::crypto
