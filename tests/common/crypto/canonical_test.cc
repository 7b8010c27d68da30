#include "common/crypto/canonical.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

TEST(CanonicalWriter, EncodesStringsWithTagAndBigEndianLength) {
  CanonicalWriter w;
  w.AddString(0x01, "abc");
  w.AddString(0x02, "");
  EXPECT_EQ(HexEncode(w.bytes()),
            "0100000003616263"
            "0200000000");
}

TEST(CanonicalWriter, EncodesIntsAsEightByteBigEndianTwosComplement) {
  CanonicalWriter w;
  w.AddInt(0x07, 0x0102030405060708);
  w.AddInt(0x08, -1);
  w.AddInt(0x09, 0);
  EXPECT_EQ(HexEncode(w.bytes()),
            "070102030405060708"
            "08ffffffffffffffff"
            "090000000000000000");
}

TEST(CanonicalWriter, EncodesListsAsCountThenLengthPrefixedItems) {
  CanonicalWriter w;
  w.AddStrings(0x03, {"a", "bc"});
  w.AddStrings(0x04, {});
  EXPECT_EQ(HexEncode(w.bytes()),
            "03000000020000000161000000026263"
            "0400000000");
}

TEST(CanonicalWriter, IsDeterministicAndSeparatesFieldBoundaries) {
  auto encode = [](std::string_view a, std::string_view b) {
    CanonicalWriter w;
    w.AddString(1, a);
    w.AddString(2, b);
    return w.Release();
  };
  EXPECT_EQ(encode("ab", "c"), encode("ab", "c"));
  // Plain concatenation would make these equal; the length prefixes keep them apart.
  EXPECT_NE(encode("ab", "c"), encode("a", "bc"));

  CanonicalWriter list1, list2;
  list1.AddStrings(1, {"ab", "c"});
  list2.AddStrings(1, {"a", "bc"});
  EXPECT_NE(list1.bytes(), list2.bytes());
}

TEST(CanonicalWriter, ReleaseEmptiesTheWriter) {
  CanonicalWriter w;
  w.AddInt(1, 5);
  EXPECT_EQ(w.Release().size(), 9u);
  EXPECT_TRUE(w.bytes().empty());
}

}  // namespace
}  // namespace concord::crypto
