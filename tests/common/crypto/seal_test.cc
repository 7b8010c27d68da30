#include "common/crypto/seal.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "common/crypto/ed25519.h"
#include "common/crypto/hash.h"
#include "tests/support/two_key_gcm.h"

namespace concord::crypto {
namespace {

using Recipients = std::vector<std::pair<std::string, X25519PublicKey>>;

class SealTest : public ::testing::Test {
 protected:
  SealTest()
      : police_(X25519PrivateKey::Generate()),
        magistrate_(X25519PrivateKey::Generate()),
        centre_(X25519PrivateKey::Generate()) {}

  Recipients Three() const {
    return {{"police/antwerp", police_.PublicKey()},
            {"magistrate/brussels", magistrate_.PublicKey()},
            {"reception_centre/payoke", centre_.PublicKey()}};
  }

  SealedBox SealThree() const {
    auto box = Seal(kBody, Three(), kAad);
    EXPECT_TRUE(box.ok()) << box.status();
    return *std::move(box);
  }

  static constexpr std::string_view kBody = "victim: Jane Doe, born 2001, statement follows";
  static constexpr std::string_view kAad = "msg-0001";
  X25519PrivateKey police_;
  X25519PrivateKey magistrate_;
  X25519PrivateKey centre_;
};

TEST_F(SealTest, RoundTripsForEachOfThreeRecipients) {
  const SealedBox box = SealThree();
  ASSERT_EQ(box.keys.size(), 3u);
  EXPECT_EQ(box.nonce.size(), 12u);
  EXPECT_EQ(box.ciphertext.size(), kBody.size() + 16);
  EXPECT_EQ(box.ciphertext.find("Jane"), std::string::npos);
  for (const WrappedKey& k : box.keys) {
    EXPECT_EQ(k.ephemeral_public.size(), 32u);
    EXPECT_EQ(k.nonce.size(), 12u);
    EXPECT_EQ(k.ciphertext.size(), 48u);
  }
  EXPECT_EQ(box.keys[0].recipient, "police/antwerp");
  EXPECT_NE(box.keys[0].ephemeral_public, box.keys[1].ephemeral_public);

  EXPECT_EQ(*Open(box, "police/antwerp", police_, kAad), kBody);
  EXPECT_EQ(*Open(box, "magistrate/brussels", magistrate_, kAad), kBody);
  EXPECT_EQ(*Open(box, "reception_centre/payoke", centre_, kAad), kBody);
}

TEST_F(SealTest, RoundTripsEmptyBodyWithoutAad) {
  auto box = Seal("", {{"police/x", police_.PublicKey()}});
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(*Open(*box, "police/x", police_), "");
}

TEST_F(SealTest, SealingTwiceGivesDifferentBoxes) {
  const SealedBox a = SealThree();
  const SealedBox b = SealThree();
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.ciphertext, b.ciphertext);
  EXPECT_NE(a.keys[0].ciphertext, b.keys[0].ciphertext);
}

TEST_F(SealTest, WrongKeyOrUnknownRecipientFails) {
  const SealedBox box = SealThree();
  auto wrong = Open(box, "police/antwerp", magistrate_, kAad);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kDataLoss) << wrong.status();
  EXPECT_EQ(Open(box, "police/antwerp", X25519PrivateKey::Generate(), kAad).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(box, "police/ghent", police_, kAad).status().code(), absl::StatusCode::kNotFound);
}

// Every byte of every field is flipped in turn; each variant must fail to open (and never crash).
TEST_F(SealTest, AnyFlippedByteFailsToOpen) {
  const SealedBox box = SealThree();
  struct Field {
    const char* name;
    std::function<std::string&(SealedBox&)> get;
  };
  const Field fields[] = {
      {"content nonce", [](SealedBox& b) -> std::string& { return b.nonce; }},
      {"content ciphertext+tag", [](SealedBox& b) -> std::string& { return b.ciphertext; }},
      {"wrapped key", [](SealedBox& b) -> std::string& { return b.keys[0].ciphertext; }},
      {"wrap nonce", [](SealedBox& b) -> std::string& { return b.keys[0].nonce; }},
      {"ephemeral key", [](SealedBox& b) -> std::string& { return b.keys[0].ephemeral_public; }},
  };
  for (const Field& f : fields) {
    SealedBox copy = box;
    const size_t size = f.get(copy).size();
    for (size_t i = 0; i < size; ++i) {
      for (uint8_t mask : {0x01, 0x80}) {
        SealedBox bad = box;
        f.get(bad)[i] = static_cast<char>(f.get(bad)[i] ^ mask);
        auto opened = Open(bad, "police/antwerp", police_, kAad);
        EXPECT_FALSE(opened.ok()) << f.name << " byte " << i;
        if (!opened.ok()) {
          EXPECT_TRUE(opened.status().code() == absl::StatusCode::kDataLoss ||
                      opened.status().code() == absl::StatusCode::kInvalidArgument)
              << f.name << " byte " << i << ": " << opened.status();
        }
      }
    }
  }
}

TEST_F(SealTest, TagSpecificallyAndAadAreAuthenticated) {
  const SealedBox box = SealThree();
  SealedBox bad_tag = box;
  bad_tag.ciphertext.back() ^= 0x01;
  EXPECT_EQ(Open(bad_tag, "police/antwerp", police_, kAad).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(box, "police/antwerp", police_, "msg-0002").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(box, "police/antwerp", police_, "").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(SealTest, KeyEntryCannotBeReassignedToAnotherRecipient) {
  // The magistrate relabels the police entry as its own: the id is bound into the KEK and AAD.
  SealedBox box = SealThree();
  box.keys[1] = box.keys[0];
  box.keys[1].recipient = "magistrate/brussels";
  EXPECT_EQ(Open(box, "magistrate/brussels", magistrate_, kAad).status().code(),
            absl::StatusCode::kDataLoss);
  // Renaming the police entry also breaks it for the police.
  SealedBox renamed = SealThree();
  renamed.keys[0].recipient = "police/antwerq";
  EXPECT_FALSE(Open(renamed, "police/antwerq", police_, kAad).ok());
}

TEST_F(SealTest, MalformedBoxesGiveInvalidArgument) {
  const SealedBox box = SealThree();
  std::vector<std::function<void(SealedBox&)>> breakers = {
      [](SealedBox& b) { b.nonce.pop_back(); },
      [](SealedBox& b) { b.ciphertext.resize(15); },
      [](SealedBox& b) { b.keys.clear(); },
      [](SealedBox& b) { b.keys[0].ephemeral_public.push_back('x'); },
      [](SealedBox& b) { b.keys[0].nonce.clear(); },
      [](SealedBox& b) { b.keys[0].ciphertext.pop_back(); },
      [](SealedBox& b) { b.keys.push_back(b.keys[0]); },  // two entries for one recipient
      [](SealedBox& b) { b.keys.resize(65, b.keys[1]); },
  };
  for (size_t i = 0; i < breakers.size(); ++i) {
    SealedBox bad = box;
    breakers[i](bad);
    EXPECT_EQ(Open(bad, "police/antwerp", police_, kAad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "breaker " << i;
  }
}

TEST_F(SealTest, RejectsBadRecipientLists) {
  EXPECT_EQ(Seal("x", {}).status().code(), absl::StatusCode::kInvalidArgument);
  Recipients dup = Three();
  dup.push_back({"police/antwerp", centre_.PublicKey()});
  auto dup_status = Seal("x", dup).status();
  EXPECT_EQ(dup_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup_status.message().find("duplicate"), std::string::npos) << dup_status;
  EXPECT_EQ(Seal("x", {{"", police_.PublicKey()}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Seal("x", {{std::string(256, 'a'), police_.PublicKey()}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Seal("x", {{"p", *X25519PublicKey::FromRaw(std::string(32, '\0'))}}).status().code(),
            absl::StatusCode::kInvalidArgument);

  Recipients many;
  for (int i = 0; i < 65; ++i) many.push_back({"agency/" + std::to_string(i), police_.PublicKey()});
  EXPECT_EQ(Seal("x", many).status().code(), absl::StatusCode::kInvalidArgument);
  many.pop_back();
  auto sixty_four = Seal("x", many);
  ASSERT_TRUE(sixty_four.ok()) << sixty_four.status();
  EXPECT_EQ(*Open(*sixty_four, "agency/63", police_), "x");
}

// Keys are shared read-only between request threads in the services.
TEST_F(SealTest, SharedKeysWorkFromManyThreads) {
  const Ed25519PrivateKey signer = Ed25519PrivateKey::Generate();
  const SealedBox box = SealThree();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const auto backend = (i % 2 == 0) ? Ed25519Backend::kOpenSsl : Ed25519Backend::kSodium;
        auto sig = signer.Sign(box.ciphertext, backend);
        if (!sig.ok() || !signer.PublicKey().Verify(box.ciphertext, *sig, backend)) ++failures[t];
        auto opened = Open(box, "police/antwerp", police_, kAad);
        if (!opened.ok() || *opened != kBody) ++failures[t];
        auto resealed = Seal(kBody, Three(), kAad);
        if (!resealed.ok()) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// Test the commitment: SHA-256 of the fixed prefix and the 32-byte content key (docs/crypto.md
// "Key commitment"), the same for every recipient, and OpenCommitted opens honest boxes.
TEST_F(SealTest, CommittedBoxOpensForEveryRecipient) {
  auto sealed = SealCommitted(kBody, Three(), kAad);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_EQ(sealed->key_commitment.size(), kKeyCommitmentSize);
  for (const auto* me : {&police_, &magistrate_, &centre_}) {
    const std::string id = me == &police_       ? "police/antwerp"
                           : me == &magistrate_ ? "magistrate/brussels"
                                                : "reception_centre/payoke";
    auto body = OpenCommitted(sealed->box, id, *me, kAad, sealed->key_commitment);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(*body, kBody);
  }
  // A commitment of another key, or of the wrong size, is refused before decryption.
  std::string other = sealed->key_commitment;
  other[0] ^= 1;
  const auto refused = OpenCommitted(sealed->box, "police/antwerp", police_, kAad, other);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(refused.status()), "KEY_COMMITMENT_MISMATCH");
  EXPECT_EQ(OpenCommitted(sealed->box, "police/antwerp", police_, kAad, "short").status().code(),
            absl::StatusCode::kDataLoss);
  // The byte layout: SHA-256("concord-seal-key-commitment-v1|" || K) for a known K.
  const std::string key(32, '\x42');
  const auto digest = Sha256("concord-seal-key-commitment-v1|" + key);
  EXPECT_EQ(ContentKeyCommitment(key),
            std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
  EXPECT_EQ(Sha256Hex("concord-seal-key-commitment-v1|" + key),
            "10495b44af7f6fdf85fe3b13b9ee8577f4552c8432e713fac30f020ad746aeef");
}

// Test the attack the commitment stops: one GCM ciphertext that authenticates under two content
// keys, each wrapped for another recipient. Plain Open gives the two recipients two different
// plaintexts; OpenCommitted refuses the recipient whose key is not the committed one.
TEST_F(SealTest, TwoKeyCiphertextIsRefusedByTheCommitment) {
  const std::string k1(32, '\x01');
  const std::string k2(32, '\x02');
  const std::string nonce(12, '\x07');
  const std::string chosen = "Transfer the victim to centre A. " + std::string(31, '.');
  auto ct = testing::TwoKeyGcmCiphertext(k1, k2, nonce, kAad, chosen, /*free_block=*/3);
  ASSERT_TRUE(ct.ok()) << ct.status();
  SealedBox box{nonce, *ct, {}};
  auto w1 = testing::WrapContentKey(k1, "police/antwerp", police_.PublicKey());
  auto w2 = testing::WrapContentKey(k2, "magistrate/brussels", magistrate_.PublicKey());
  ASSERT_TRUE(w1.ok() && w2.ok());
  box.keys = {*w1, *w2};

  auto read1 = Open(box, "police/antwerp", police_, kAad);
  auto read2 = Open(box, "magistrate/brussels", magistrate_, kAad);
  ASSERT_TRUE(read1.ok()) << read1.status();
  ASSERT_TRUE(read2.ok()) << read2.status();  // the weakness: both authenticate
  EXPECT_NE(*read1, *read2);
  EXPECT_EQ(read1->substr(0, 33), chosen.substr(0, 33));

  const std::string commitment = ContentKeyCommitment(k1);
  EXPECT_TRUE(OpenCommitted(box, "police/antwerp", police_, kAad, commitment).ok());
  const auto refused = OpenCommitted(box, "magistrate/brussels", magistrate_, kAad, commitment);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(refused.status()), "KEY_COMMITMENT_MISMATCH");
}

}  // namespace
}  // namespace concord::crypto
