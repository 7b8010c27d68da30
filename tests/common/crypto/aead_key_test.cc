// AeadKey: a key scheduled once whose cipher contexts are reused call after call (and lent to
// one call at a time across threads). Runs under ThreadSanitizer too (label tsan).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/aead.h"

namespace concord::crypto {
namespace {

const std::string kKey(32, '\x42');

TEST(AeadKey, InteroperatesWithAeadSealAndAeadOpenBothWays) {
  const AeadKey key = *AeadKey::Create(kKey);
  for (const std::string& plaintext :
       {std::string(), std::string("audit record"), std::string(1000, 'x')}) {
    auto sealed = key.Seal(plaintext, "record-1");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), plaintext.size() + 28);
    EXPECT_EQ(*AeadOpen(kKey, *sealed, "record-1"), plaintext);
    EXPECT_EQ(*key.Open(*AeadSeal(kKey, plaintext, "record-2"), "record-2"), plaintext);
    // The reused context is reset between calls: the same key opens what it sealed, again.
    EXPECT_EQ(*key.Open(*sealed, "record-1"), plaintext);
  }
}

TEST(AeadKey, RefusesAWrongKeyAlteredDataOrAadAndStaysUsable) {
  const AeadKey key = *AeadKey::Create(kKey);
  const AeadKey other = *AeadKey::Create(std::string(32, '\x43'));
  const std::string sealed = *key.Seal("secret", "aad");
  EXPECT_EQ(other.Open(sealed, "aad").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(key.Open(sealed, "aaD").status().code(), absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(key.Open(bad, "aad").status().code(), absl::StatusCode::kDataLoss) << i;
  }
  // A context that saw a failed authentication never yields plaintext for a bad input, and the
  // key still opens a good one afterwards.
  EXPECT_EQ(*key.Open(sealed, "aad"), "secret");
  EXPECT_EQ(*other.Open(*other.Seal("x", ""), ""), "x");
}

TEST(AeadKey, RejectsABadKeySizeAndTruncatedInput) {
  EXPECT_EQ(AeadKey::Create("short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AeadKey::Create(std::string(33, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  const AeadKey key = *AeadKey::Create(kKey);
  EXPECT_EQ(key.Open(std::string(27, 'x'), "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key.Open("", "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AeadKey, CopiesShareTheKeyAndOutliveTheOriginal) {
  std::string sealed;
  std::optional<AeadKey> copy;
  {
    const AeadKey original = *AeadKey::Create(kKey);
    sealed = *original.Seal("kept", "a");
    copy.emplace(original);
  }
  EXPECT_EQ(*copy->Open(sealed, "a"), "kept");
  EXPECT_EQ(*AeadOpen(kKey, *copy->Seal("again", "b"), "b"), "again");
}

// More threads than idle contexts kept, each sealing and opening at once with one shared key:
// every nonce differs (no two calls share a context or a nonce), everything opens, and (under
// ThreadSanitizer) no data race.
TEST(AeadKey, ConcurrentCallersGetDistinctNoncesAndCorrectResults) {
  const AeadKey key = *AeadKey::Create(kKey);
  constexpr int kThreads = static_cast<int>(AeadKey::kMaxIdleContexts) + 8;
  constexpr int kEach = 200;
  std::vector<std::vector<std::string>> sealed(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string plaintext = absl::StrCat("record ", t, "/", i);
        const std::string aad = absl::StrCat(t);
        auto s = key.Seal(plaintext, aad);
        if (!s.ok()) {
          ++failures[t];
          continue;
        }
        auto opened = key.Open(*s, aad);
        if (!opened.ok() || *opened != plaintext) ++failures[t];
        sealed[t].push_back(*std::move(s));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<std::string> nonces;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << t;
    ASSERT_EQ(sealed[t].size(), static_cast<size_t>(kEach));
    for (const std::string& s : sealed[t]) nonces.insert(s.substr(0, kAeadNonceSize));
  }
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kThreads) * kEach);
}

}  // namespace
}  // namespace concord::crypto
