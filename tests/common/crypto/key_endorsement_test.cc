#include "common/crypto/key_endorsement.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

constexpr std::string_view kAgency = "spiffe://concord.be/agency/reception_centre/payoke";

struct Keys {
  Ed25519PrivateKey old_signing = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey new_signing = Ed25519PrivateKey::Generate();
  X25519PrivateKey new_sealing = X25519PrivateKey::Generate();
};

TEST(KeyEndorsement, BytesFollowTheDocumentedLayout) {
  const std::string prev(32, '\x01');
  const std::string sign(32, '\x02');
  const std::string seal(32, '\x03');
  const std::string bytes =
      KeyEndorsementBytes("spiffe://t/agency/police/a", prev, sign, seal, absl::FromUnixNanos(258));
  std::string expected =
      HexEncode(std::string("\x00\x00\x00\x00\x24", 5)) +
      HexEncode("concord.directory.key_endorsement.v1") +
      HexEncode(std::string("\x01\x00\x00\x00\x1a", 5)) + HexEncode("spiffe://t/agency/police/a") +
      HexEncode(std::string("\x02\x00\x00\x00\x20", 5)) + HexEncode(prev) +
      HexEncode(std::string("\x03\x00\x00\x00\x20", 5)) + HexEncode(sign) +
      HexEncode(std::string("\x04\x00\x00\x00\x20", 5)) + HexEncode(seal) + "050000000000000102";
  EXPECT_EQ(HexEncode(bytes), expected);
}

TEST(KeyEndorsement, SignedByThePreviousKeyVerifies) {
  Keys k;
  auto e = SignKeyEndorsement(kAgency, k.old_signing, k.new_signing.PublicKey(),
                              k.new_sealing.PublicKey(), absl::FromUnixSeconds(1'800'000'000));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->previous_signing_key, k.old_signing.PublicKey().Raw());
  EXPECT_EQ(e->signature.size(), kEd25519SignatureSize);
  EXPECT_TRUE(
      VerifyKeyEndorsement(kAgency, *e, k.new_signing.PublicKey(), k.new_sealing.PublicKey()).ok());
}

TEST(KeyEndorsement, RefusesAnotherAgencyAnotherSealingKeyOrAnotherTime) {
  Keys k;
  auto e = SignKeyEndorsement(kAgency, k.old_signing, k.new_signing.PublicKey(),
                              k.new_sealing.PublicKey(), absl::FromUnixSeconds(1'800'000'000));
  ASSERT_TRUE(e.ok());
  const auto other_seal = X25519PrivateKey::Generate().PublicKey();
  EXPECT_EQ(VerifyKeyEndorsement(kAgency, *e, k.new_signing.PublicKey(), other_seal).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyKeyEndorsement("spiffe://concord.be/agency/reception_centre/surya", *e,
                                 k.new_signing.PublicKey(), k.new_sealing.PublicKey())
                .code(),
            absl::StatusCode::kPermissionDenied);
  KeyEndorsement later = *e;
  later.issued_at += absl::Seconds(1);
  EXPECT_EQ(
      VerifyKeyEndorsement(kAgency, later, k.new_signing.PublicKey(), k.new_sealing.PublicKey())
          .code(),
      absl::StatusCode::kPermissionDenied);
}

TEST(KeyEndorsement, RefusesASignatureByAnyOtherKey) {
  Keys k;
  const auto attacker = Ed25519PrivateKey::Generate();
  auto e = SignKeyEndorsement(kAgency, attacker, k.new_signing.PublicKey(),
                              k.new_sealing.PublicKey(), absl::Now());
  ASSERT_TRUE(e.ok());
  // Claiming the old key as the signer does not help: the signature is the attacker's.
  e->previous_signing_key = k.old_signing.PublicKey().Raw();
  EXPECT_EQ(VerifyKeyEndorsement(kAgency, *e, k.new_signing.PublicKey(), k.new_sealing.PublicKey())
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(KeyEndorsement, MalformedFieldsAreInvalidArgument) {
  Keys k;
  KeyEndorsement e{
      .previous_signing_key = "short", .issued_at = absl::Now(), .signature = std::string(64, 'x')};
  EXPECT_EQ(
      VerifyKeyEndorsement(kAgency, e, k.new_signing.PublicKey(), k.new_sealing.PublicKey()).code(),
      absl::StatusCode::kInvalidArgument);
  e.previous_signing_key = k.old_signing.PublicKey().Raw();
  e.signature = "short";
  EXPECT_EQ(
      VerifyKeyEndorsement(kAgency, e, k.new_signing.PublicKey(), k.new_sealing.PublicKey()).code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(KeyFingerprint, IsGroupedSha256Hex) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
  EXPECT_EQ(KeyFingerprint("abc"),
            "ba78:16bf:8f01:cfea:4141:40de:5dae:2223:b003:61a3:9617:7a9c:b410:ff61:f200:15ad");
}

}  // namespace
}  // namespace concord::crypto
