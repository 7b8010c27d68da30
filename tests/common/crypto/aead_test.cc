#include "common/crypto/aead.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

const std::string kKey(32, '\x42');

TEST(Aead, RoundTripsWithAad) {
  auto sealed = AeadSeal(kKey, "audit record", "record-1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), 12 + 12 + 16u);
  auto opened = AeadOpen(kKey, *sealed, "record-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "audit record");
}

TEST(Aead, RoundTripsEmptyPlaintextAndEmptyAad) {
  auto sealed = AeadSeal(kKey, "", "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 28u);
  EXPECT_EQ(*AeadOpen(kKey, *sealed, ""), "");
}

TEST(Aead, UsesAFreshNonceEachTime) {
  EXPECT_NE(*AeadSeal(kKey, "same", ""), *AeadSeal(kKey, "same", ""));
}

// Known answer through the internal entry point: AES-256-GCM test case 14 of the GCM
// specification (McGrew & Viega): zero key, zero nonce, 16 zero bytes of plaintext, no AAD.
TEST(Aead, MatchesGcmSpecTestCase14) {
  auto ct =
      internal::GcmEncrypt(std::string(32, '\0'), std::string(12, '\0'), std::string(16, '\0'), "");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(HexEncode(*ct),
            "cea7403d4d606b6e074ec5d3baf39d18"
            "d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(Aead, EveryFlippedByteFailsWithDataLoss) {
  const std::string sealed = *AeadSeal(kKey, "secret", "aad");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(AeadOpen(kKey, bad, "aad").status().code(), absl::StatusCode::kDataLoss) << i;
  }
  EXPECT_EQ(AeadOpen(kKey, sealed, "aaD").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(AeadOpen(std::string(32, '\x43'), sealed, "aad").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Aead, RejectsBadKeyAndTruncatedInput) {
  EXPECT_EQ(AeadSeal("short", "x", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadOpen("short", std::string(40, 'x'), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string sealed = *AeadSeal(kKey, "secret", "");
  EXPECT_EQ(AeadOpen(kKey, sealed.substr(0, 27), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadOpen(kKey, "", "").status().code(), absl::StatusCode::kInvalidArgument);
  // Dropping the last byte keeps the size valid but breaks the tag.
  EXPECT_FALSE(AeadOpen(kKey, sealed.substr(0, sealed.size() - 1), "").ok());
}

}  // namespace
}  // namespace concord::crypto
