#include "common/crypto/kdf.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

// RFC 5869 appendix A.1 (test case 1).
TEST(HkdfSha256, Rfc5869TestCase1) {
  auto okm = HkdfSha256(std::string(22, '\x0b'), Unhex("000102030405060708090a0b0c"),
                        Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 appendix A.3 (no salt, no info).
TEST(HkdfSha256, Rfc5869TestCase3EmptySaltAndInfo) {
  auto okm = HkdfSha256(std::string(22, '\x0b'), "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(HexEncode(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfSha256, RejectsBadLengths) {
  EXPECT_EQ(HkdfSha256("k", "", "", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256("k", "", "", 8161).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::crypto
