#include "common/crypto/x25519.h"

#include <gtest/gtest.h>

#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"

namespace concord::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

// RFC 7748 section 6.1.
constexpr char kAlicePrivate[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr char kAlicePublic[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr char kBobPrivate[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr char kBobPublic[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr char kShared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST(X25519, Rfc7748AliceAndBob) {
  auto alice = X25519PrivateKey::FromRaw(Unhex(kAlicePrivate));
  auto bob = X25519PrivateKey::FromRaw(Unhex(kBobPrivate));
  ASSERT_TRUE(alice.ok()) << alice.status();
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(HexEncode(alice->PublicKey().Raw()), kAlicePublic);
  EXPECT_EQ(HexEncode(bob->PublicKey().Raw()), kBobPublic);
  EXPECT_EQ(HexEncode(alice->Raw()), kAlicePrivate);

  auto bob_public = X25519PublicKey::FromRaw(Unhex(kBobPublic));
  auto alice_public = X25519PublicKey::FromRaw(Unhex(kAlicePublic));
  ASSERT_TRUE(bob_public.ok());
  ASSERT_TRUE(alice_public.ok());
  auto k1 = alice->Agree(*bob_public);
  auto k2 = bob->Agree(*alice_public);
  ASSERT_TRUE(k1.ok()) << k1.status();
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_EQ(HexEncode(*k1), kShared);
  EXPECT_EQ(HexEncode(*k2), kShared);
}

TEST(X25519, GeneratedKeysAgree) {
  const X25519PrivateKey a = X25519PrivateKey::Generate();
  const X25519PrivateKey b = X25519PrivateKey::Generate();
  EXPECT_EQ(*a.Agree(b.PublicKey()), *b.Agree(a.PublicKey()));
  EXPECT_NE(a.PublicKey(), b.PublicKey());
}

TEST(X25519, RefusesLowOrderPeerKeys) {
  const X25519PrivateKey a = X25519PrivateKey::Generate();
  // u = 0 and u = 1 are low-order points: the shared secret would be all zeros.
  for (const std::string& u :
       {std::string(32, '\0'), std::string("\x01") + std::string(31, '\0')}) {
    auto peer = X25519PublicKey::FromRaw(u);
    ASSERT_TRUE(peer.ok());
    EXPECT_EQ(a.Agree(*peer).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(X25519, PemRoundTrips) {
  auto alice = X25519PrivateKey::FromRaw(Unhex(kAlicePrivate));
  ASSERT_TRUE(alice.ok());
  const std::string priv_pem = alice->ToPem();
  const std::string pub_pem = alice->PublicKey().ToPem();
  EXPECT_NE(priv_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(pub_pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  auto priv2 = X25519PrivateKey::FromPem(priv_pem);
  auto pub2 = X25519PublicKey::FromPem(pub_pem);
  ASSERT_TRUE(priv2.ok()) << priv2.status();
  ASSERT_TRUE(pub2.ok()) << pub2.status();
  EXPECT_EQ(HexEncode(priv2->Raw()), kAlicePrivate);
  EXPECT_EQ(HexEncode(pub2->Raw()), kAlicePublic);
  EXPECT_EQ(priv2->ToPem(), priv_pem);
  EXPECT_EQ(pub2->ToPem(), pub_pem);
}

TEST(X25519, BadPemAndRawGiveInvalidArgument) {
  const std::string ed_priv = Ed25519PrivateKey::Generate().ToPem();
  const std::string ed_pub = Ed25519PrivateKey::Generate().PublicKey().ToPem();
  for (const std::string& bad : {std::string(), std::string("garbage"), ed_priv,
                                 X25519PrivateKey::Generate().PublicKey().ToPem()}) {
    EXPECT_EQ(X25519PrivateKey::FromPem(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  for (const std::string& bad : {std::string(), ed_pub, X25519PrivateKey::Generate().ToPem()}) {
    EXPECT_EQ(X25519PublicKey::FromPem(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(X25519PrivateKey::FromRaw(std::string(31, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PublicKey::FromRaw("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(X25519PrivateKey::FromPemFile("/nonexistent/concord/key.pem").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace concord::crypto
