#include "common/crypto/ed25519.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/crypto/encoding.h"
#include "common/crypto/x25519.h"

namespace concord::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

struct Rfc8032Vector {
  const char* name;
  const char* secret_key;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1.
constexpr Rfc8032Vector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

// Restores the process-wide backend after a test that changes it.
class BackendGuard {
 public:
  BackendGuard() : saved_(CurrentEd25519Backend()) {}
  ~BackendGuard() { SetEd25519Backend(saved_); }

 private:
  Ed25519Backend saved_;
};

class Ed25519BackendTest : public ::testing::TestWithParam<Ed25519Backend> {};

INSTANTIATE_TEST_SUITE_P(Backends, Ed25519BackendTest,
                         ::testing::Values(Ed25519Backend::kOpenSsl, Ed25519Backend::kSodium),
                         [](const auto& info) {
                           return std::string(Ed25519BackendName(info.param));
                         });

TEST_P(Ed25519BackendTest, Rfc8032KnownAnswers) {
  for (const Rfc8032Vector& v : kVectors) {
    SCOPED_TRACE(v.name);
    auto key = Ed25519PrivateKey::FromRaw(Unhex(v.secret_key));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->PublicKey().Raw()), v.public_key);
    EXPECT_EQ(HexEncode(key->Raw()), v.secret_key);

    const std::string message = Unhex(v.message);
    auto sig = key->Sign(message, GetParam());
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(HexEncode(*sig), v.signature);

    auto pub = Ed25519PublicKey::FromRaw(Unhex(v.public_key));
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(pub->Verify(message, Unhex(v.signature), GetParam()));
  }
}

TEST_P(Ed25519BackendTest, RejectsTamperedMessageSignatureAndKey) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const Ed25519PublicKey pub = key.PublicKey();
  const std::string message = "envelope canonical bytes";
  const std::string sig = *key.Sign(message, GetParam());
  ASSERT_TRUE(pub.Verify(message, sig, GetParam()));

  for (size_t i = 0; i < message.size(); ++i) {
    std::string bad = message;
    bad[i] ^= 0x01;
    EXPECT_FALSE(pub.Verify(bad, sig, GetParam())) << "message byte " << i;
  }
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(pub.Verify(message, bad, GetParam())) << "signature byte " << i;
  }
  EXPECT_FALSE(pub.Verify(message + "x", sig, GetParam()));
  EXPECT_FALSE(pub.Verify(message, sig.substr(0, 63), GetParam()));
  EXPECT_FALSE(pub.Verify(message, "", GetParam()));
  EXPECT_FALSE(pub.Verify(message, std::string(64, '\0'), GetParam()));
  EXPECT_FALSE(Ed25519PrivateKey::Generate().PublicKey().Verify(message, sig, GetParam()));
}

TEST_P(Ed25519BackendTest, GarbagePublicKeyNeverVerifies) {
  // 0xff..ff does not decode to a curve point; neither backend may accept or crash.
  auto pub = Ed25519PublicKey::FromRaw(std::string(32, '\xff'));
  ASSERT_TRUE(pub.ok());
  EXPECT_FALSE(pub->Verify("m", std::string(64, '\x01'), GetParam()));
}

TEST(Ed25519, BackendsProduceAndAcceptEachOthersSignatures) {
  for (int i = 0; i < 20; ++i) {
    const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
    const std::string message(static_cast<size_t>(i) * 37, static_cast<char>('a' + i));
    const std::string by_openssl = *key.Sign(message, Ed25519Backend::kOpenSsl);
    const std::string by_sodium = *key.Sign(message, Ed25519Backend::kSodium);
    EXPECT_EQ(by_openssl, by_sodium);
    EXPECT_TRUE(key.PublicKey().Verify(message, by_openssl, Ed25519Backend::kSodium));
    EXPECT_TRUE(key.PublicKey().Verify(message, by_sodium, Ed25519Backend::kOpenSsl));
  }
}

TEST(Ed25519, BackendSwitchSelectsTheDefaultForSignAndVerify) {
  BackendGuard guard;
  EXPECT_EQ(Ed25519BackendName(Ed25519Backend::kOpenSsl), "openssl");
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  SetEd25519Backend(Ed25519Backend::kSodium);
  EXPECT_EQ(CurrentEd25519Backend(), Ed25519Backend::kSodium);
  const std::string sig = *key.Sign("m");
  SetEd25519Backend(Ed25519Backend::kOpenSsl);
  EXPECT_EQ(CurrentEd25519Backend(), Ed25519Backend::kOpenSsl);
  EXPECT_TRUE(key.PublicKey().Verify("m", sig));
  EXPECT_EQ(sig, *key.Sign("m"));
}

TEST(Ed25519, PemRoundTrips) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const std::string priv_pem = key.ToPem();
  const std::string pub_pem = key.PublicKey().ToPem();
  EXPECT_NE(priv_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(pub_pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);

  auto key2 = Ed25519PrivateKey::FromPem(priv_pem);
  ASSERT_TRUE(key2.ok()) << key2.status();
  EXPECT_EQ(key2->Raw(), key.Raw());
  EXPECT_EQ(key2->ToPem(), priv_pem);
  auto pub2 = Ed25519PublicKey::FromPem(pub_pem);
  ASSERT_TRUE(pub2.ok()) << pub2.status();
  EXPECT_EQ(*pub2, key.PublicKey());
  EXPECT_EQ(pub2->ToPem(), pub_pem);
  EXPECT_TRUE(pub2->Verify("x", *key2->Sign("x")));
}

// The RFC 8032 TEST 1 key as written by `openssl pkey`: the PKCS#8/SPKI encodings are standard.
TEST(Ed25519, ReadsOpenSslCliPem) {
  const char* kPriv =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
      "-----END PRIVATE KEY-----\n";
  const char* kPub =
      "-----BEGIN PUBLIC KEY-----\n"
      "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
      "-----END PUBLIC KEY-----\n";
  auto key = Ed25519PrivateKey::FromPem(kPriv);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(HexEncode(key->Raw()), kVectors[0].secret_key);
  EXPECT_EQ(key->ToPem(), kPriv);
  auto pub = Ed25519PublicKey::FromPem(kPub);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(HexEncode(pub->Raw()), kVectors[0].public_key);
  EXPECT_EQ(pub->ToPem(), kPub);
}

TEST(Ed25519, BadPemGivesInvalidArgument) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  std::string corrupted = key.ToPem();
  corrupted[40] = corrupted[40] == 'A' ? 'B' : 'A';
  std::string truncated = key.ToPem().substr(0, 50);
  const std::string x25519_priv = X25519PrivateKey::Generate().ToPem();
  const std::string x25519_pub = X25519PrivateKey::Generate().PublicKey().ToPem();

  for (const std::string& bad : {std::string(), std::string("not a pem"), truncated,
                                 key.PublicKey().ToPem(), x25519_priv, std::string(100000, 'A')}) {
    EXPECT_EQ(Ed25519PrivateKey::FromPem(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(Ed25519PrivateKey::FromPem(corrupted).ok());
  for (const std::string& bad :
       {std::string(), std::string("-----BEGIN PUBLIC KEY-----\nxx\n"), key.ToPem(), x25519_pub}) {
    EXPECT_EQ(Ed25519PublicKey::FromPem(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto wrong_type = Ed25519PrivateKey::FromPem(x25519_priv);
  EXPECT_NE(wrong_type.status().message().find("different key type"), std::string::npos)
      << wrong_type.status();
}

TEST(Ed25519, EncryptedPemIsRefusedWithoutPrompting) {
  // The RFC 8032 TEST 1 key as PKCS#8 EncryptedPrivateKeyInfo (openssl pkcs8 -topk8 -v2 aes256,
  // passphrase "test"): must fail fast rather than ask on the terminal.
  const char* kEncrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
      "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAg7LNyJuJC0SgICCAAw\n"
      "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEA/wUejz3OehYoA9cIYgtOUEQGZh\n"
      "BB2cH7DEueYb6ziUkiCZbb5nFntz6pvUKo/dl74h4FpdTmM5vBwsaZfBW4NoGx9U\n"
      "PyZXwXpECqL7HAgF2us=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  EXPECT_EQ(Ed25519PrivateKey::FromPem(kEncrypted).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519, FromPemFileReadsKeysAndReportsMissingFiles) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("concord_ed25519_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "_" + HexEncode(key.PublicKey().Raw().substr(0, 8)) + ".pem");
  {
    std::ofstream out(path);
    out << key.ToPem();
  }
  auto loaded = Ed25519PrivateKey::FromPemFile(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Raw(), key.Raw());
  EXPECT_EQ(Ed25519PrivateKey::FromPemFile(path.string()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Ed25519, RawConstructorsCheckSizes) {
  EXPECT_EQ(Ed25519PrivateKey::FromRaw("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PublicKey::FromRaw(std::string(33, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519, KeysAreCopyableAndShareState) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  Ed25519PrivateKey copy = key;
  EXPECT_EQ(copy.Raw(), key.Raw());
  Ed25519PublicKey pub = copy.PublicKey();
  EXPECT_TRUE(pub.Verify("m", *key.Sign("m")));
}

}  // namespace
}  // namespace concord::crypto
