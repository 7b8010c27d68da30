// Strict UTF-8: code points counted, every malformed form refused.
#include "common/text/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace concord::text {
namespace {

TEST(Utf8, CountsCodePoints) {
  EXPECT_EQ(Utf8CodePoints(""), 0u);
  EXPECT_EQ(Utf8CodePoints("Sürya"), 5u);
  EXPECT_EQ(Utf8CodePoints("€ 12 — 参考"), 9u);
  EXPECT_EQ(Utf8CodePoints("\xF0\x9F\x98\x80"), 1u);  // U+1F600, 4 bytes
  EXPECT_TRUE(IsValidUtf8("Pag-Asa"));
}

TEST(Utf8, RefusesMalformedText) {
  for (const std::string& bad : {std::string("\xff"), std::string("a\x80"), std::string("\xC3"),
                                 std::string("\xC0\xAF"),          // overlong '/'
                                 std::string("\xE0\x80\xAF"),      // overlong, 3 bytes
                                 std::string("\xED\xA0\x80"),      // surrogate U+D800
                                 std::string("\xF4\x90\x80\x80"),  // beyond U+10FFFF
                                 std::string("\xE2\x82")}) {       // truncated
    EXPECT_FALSE(Utf8CodePoints(bad).has_value()) << bad.size();
    EXPECT_FALSE(IsValidUtf8(bad));
  }
}

TEST(Utf8, PrintableRefusesControlCharacters) {
  EXPECT_EQ(PrintableUtf8CodePoints("Payoke vzw"), 10u);
  EXPECT_EQ(PrintableUtf8CodePoints("Sürya"), 5u);
  for (const char* bad : {"a\tb", "a\nb", "a\x7f",
                          "a\xC2\x85"
                          "b" /* U+0085 NEL, C1 */,
                          "\xff"}) {
    EXPECT_FALSE(PrintableUtf8CodePoints(bad).has_value()) << bad;
  }
  EXPECT_EQ(Utf8CodePoints("a\tb"), 3u);  // controls are valid UTF-8
}

TEST(Utf8, ToValidUtf8ReplacesEachBadByteAndKeepsGoodText) {
  EXPECT_EQ(ToValidUtf8("Sürya"), "Sürya");
  EXPECT_EQ(ToValidUtf8(""), "");
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xC3"), "\xEF\xBF\xBD");                  // truncated sequence
  EXPECT_EQ(ToValidUtf8("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong NUL
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"
                        "z"),
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "z");  // a surrogate
  for (const char* in : {"\xff\xfe", "ok\xF4\x90\x80\x80", "\x80"}) {
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(in))) << in;
  }
}

}  // namespace
}  // namespace concord::text
