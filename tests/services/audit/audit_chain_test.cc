// Pure tests of the chain verifier: an intact chain verifies; each kind of tampering is reported
// at exactly the seq documented in services/audit/audit_chain.h.
#include "services/audit/audit_chain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "absl/time/clock.h"
#include "common/audit/audit_record.h"
#include "common/audit/checkpoint.h"

namespace concord::audit {
namespace {

using ::testing::HasSubstr;

// An in-memory log built with the production record format.
class ChainFixture : public ::testing::Test {
 protected:
  void Build(uint64_t n) {
    std::string prev = GenesisHash();
    for (uint64_t seq = 1; seq <= n; ++seq) {
      AuditEvent e{.agency = {"concord.test", AgencyType::kPolice, "pz-1"},
                   .officer = "o-" + std::to_string(seq),
                   .operation = Operation::kConsultation,
                   .object = "case:" + std::to_string(seq),
                   .method = "/concord.test.v1.Test/Get",
                   .justification = "check",
                   .recipients = {},
                   .outcome = "OK",
                   .time = absl::FromUnixSeconds(1'800'000'000 + static_cast<int64_t>(seq))};
      auto r = SealRecord(key_, seq, prev, e);
      ASSERT_TRUE(r.ok()) << r.status();
      values_[seq] = r->Encode();
      hashes_[seq] = r->hash;
      prev = r->hash;
    }
    head_seq_ = n;
  }

  void AddCheckpoint(uint64_t seq, const crypto::Ed25519PrivateKey& key) {
    auto cp = SignCheckpoint(key, seq, hashes_.at(seq), absl::FromUnixSeconds(1'900'000'000));
    ASSERT_TRUE(cp.ok());
    checkpoints_.push_back({seq, EncodeCheckpoint(*cp)});
  }

  // Verifies [from, to] like AuditLog does, reading from values_.
  VerifyResult Verify(uint64_t from = 1, uint64_t to = 0, bool to_head = true) {
    if (to == 0) to = head_seq_;
    std::optional<std::string> anchor = GenesisHash();
    if (from > 1) {
      auto it = values_.find(from - 1);
      anchor.reset();
      if (it != values_.end()) {
        auto r = StoredRecord::Parse(it->second);
        if (r.ok()) anchor = r->hash;
      }
    }
    ChainVerifier v(key_, public_key_, from, anchor, checkpoints_);
    for (uint64_t seq = from; seq <= to; ++seq) {
      auto it = values_.find(seq);
      std::optional<std::string> value;
      if (it != values_.end()) value = it->second;
      if (!v.Add(seq, value)) break;
    }
    std::optional<std::string_view> head_hash;
    if (to_head) head_hash = head_hash_override_ ? *head_hash_override_ : hashes_[head_seq_];
    return v.Finish(to, head_hash);
  }

  AuditKey key_ = *AuditKey::FromBytes(std::string(32, 'k'));
  crypto::Ed25519PrivateKey signing_key_ = crypto::Ed25519PrivateKey::Generate();
  crypto::Ed25519PublicKey public_key_ = signing_key_.PublicKey();
  std::map<uint64_t, std::string> values_;
  std::map<uint64_t, std::string> hashes_;
  std::vector<StoredCheckpoint> checkpoints_;
  std::optional<std::string> head_hash_override_;
  uint64_t head_seq_ = 0;
};

TEST_F(ChainFixture, IntactChainVerifies) {
  Build(20);
  AddCheckpoint(10, signing_key_);
  AddCheckpoint(20, signing_key_);
  const VerifyResult r = Verify();
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records_checked, 20u);
  EXPECT_EQ(r.first_bad_seq, 0u);
  EXPECT_EQ(r.checkpoints_checked, 2u);
  ASSERT_TRUE(r.last_checkpoint.has_value());
  EXPECT_EQ(r.last_checkpoint->seq, 20u);
}

TEST_F(ChainFixture, EmptyLogVerifies) {
  const VerifyResult r = Verify(1, 0, /*to_head=*/false);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records_checked, 0u);
}

TEST_F(ChainFixture, AlteredSealedByteFailsAtThatRecord) {
  Build(10);
  values_[6].back() ^= 0x01;
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6u);
  EXPECT_EQ(r.records_checked, 5u);
  EXPECT_THAT(r.reason, HasSubstr("record 6"));
}

TEST_F(ChainFixture, AlteredRecordWithRecomputedHashFailsAtThatRecord) {
  // The attacker fixes up the hash but cannot forge the AEAD without the key.
  Build(10);
  auto r6 = *StoredRecord::Parse(values_[6]);
  r6.sealed[20] ^= 0x01;
  r6.hash = ChainHash(r6.prev_hash, 6, r6.sealed);
  values_[6] = r6.Encode();
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6u);
  EXPECT_THAT(r.reason, HasSubstr("does not open"));
}

TEST_F(ChainFixture, AlteredPrevHashFailsAtThatRecord) {
  Build(10);
  values_[3][0] ^= 0x01;
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3u);
}

TEST_F(ChainFixture, DeletedRecordFailsAtThatRecord) {
  Build(10);
  values_.erase(4);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4u);
  EXPECT_THAT(r.reason, HasSubstr("missing"));
}

TEST_F(ChainFixture, DeletedLastRecordFailsAtIt) {
  Build(10);
  values_.erase(10);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 10u);
}

TEST_F(ChainFixture, SwappedRecordsFailAtTheFirstOfThePair) {
  Build(10);
  std::swap(values_[3], values_[7]);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3u);
}

TEST_F(ChainFixture, SwappedAdjacentRecordsFailAtTheFirst) {
  Build(10);
  std::swap(values_[5], values_[6]);
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
}

TEST_F(ChainFixture, TruncationBelowASignedCheckpointFailsAtTheFirstMissingRecord) {
  Build(10);
  AddCheckpoint(9, signing_key_);
  // Records 8..10 removed and the head rewound to 7: the chain itself is consistent.
  values_.erase(8);
  values_.erase(9);
  values_.erase(10);
  head_seq_ = 7;
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 8u);
  EXPECT_THAT(r.reason, HasSubstr("truncated"));
}

TEST_F(ChainFixture, TruncationWithoutCheckpointIsUndetectableByTheChainAlone) {
  // Documented limit: without a checkpoint (or a count check) a clean truncation verifies.
  Build(10);
  values_.erase(10);
  head_seq_ = 9;
  EXPECT_TRUE(Verify().ok);
}

TEST_F(ChainFixture, CheckpointWithBadSignatureFailsAtItsSeq) {
  Build(10);
  AddCheckpoint(4, signing_key_);
  AddCheckpoint(8, crypto::Ed25519PrivateKey::Generate());  // not the audit key
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 8u);
  EXPECT_THAT(r.reason, HasSubstr("invalid signature"));
  EXPECT_EQ(r.checkpoints_checked, 1u);
}

TEST_F(ChainFixture, TamperedCheckpointValueFailsAtItsSeq) {
  Build(10);
  AddCheckpoint(5, signing_key_);
  checkpoints_[0].value[20] ^= 0x01;  // inside head_hash: signature no longer matches
  EXPECT_EQ(Verify().first_bad_seq, 5u);
  checkpoints_[0].value = "garbage";
  EXPECT_EQ(Verify().first_bad_seq, 5u);
}

TEST_F(ChainFixture, RewrittenHistoryIsCaughtAtTheNextCheckpoint) {
  // An attacker holding the AEAD key re-seals record 3 and re-chains everything after it: every
  // link is consistent, only the signed checkpoint at 6 disagrees.
  Build(8);
  AddCheckpoint(6, signing_key_);
  std::string prev = hashes_[2];
  for (uint64_t seq = 3; seq <= 8; ++seq) {
    AuditEvent e{.agency = {"concord.test", AgencyType::kPolice, "pz-1"},
                 .officer = "forged",
                 .operation = Operation::kConsultation,
                 .object = "case:x",
                 .method = "m",
                 .justification = "",
                 .recipients = {},
                 .outcome = "OK",
                 .time = absl::FromUnixSeconds(1)};
    auto r = *SealRecord(key_, seq, prev, e);
    values_[seq] = r.Encode();
    hashes_[seq] = r.hash;
    prev = r.hash;
  }
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 6u);
  EXPECT_THAT(r.reason, HasSubstr("does not match the chain"));
}

TEST_F(ChainFixture, HeadHashMismatchFailsAtTheHead) {
  Build(5);
  head_hash_override_ = std::string(32, 'x');
  const VerifyResult r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);
}

TEST_F(ChainFixture, RangeVerificationChecksOnlyTheRange) {
  Build(10);
  values_[2].back() ^= 0x01;  // outside the range
  const VerifyResult r = Verify(5, 8, /*to_head=*/false);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records_checked, 4u);
  values_[7].back() ^= 0x01;
  EXPECT_EQ(Verify(5, 8, /*to_head=*/false).first_bad_seq, 7u);
}

TEST_F(ChainFixture, RangeStartingAfterAMissingRecordStillVerifies) {
  Build(10);
  values_.erase(4);
  const VerifyResult r = Verify(5, 10);
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.records_checked, 6u);
}

TEST(Checkpoint, SignsVerifiesAndRoundTrips) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  auto cp = SignCheckpoint(key, 12, std::string(32, 'h'), absl::FromUnixNanos(1'234'567'890'123));
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_TRUE(VerifyCheckpointSignature(key.PublicKey(), *cp));
  auto parsed = ParseCheckpoint(EncodeCheckpoint(*cp));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, *cp);
  Checkpoint moved = *cp;
  moved.seq = 13;
  EXPECT_FALSE(VerifyCheckpointSignature(key.PublicKey(), moved));
  Checkpoint later = *cp;
  later.time += absl::Seconds(1);
  EXPECT_FALSE(VerifyCheckpointSignature(key.PublicKey(), later));
  EXPECT_FALSE(VerifyCheckpointSignature(crypto::Ed25519PrivateKey::Generate().PublicKey(), *cp));
  EXPECT_FALSE(SignCheckpoint(key, 1, "short", absl::Now()).ok());
  EXPECT_EQ(ParseCheckpoint("x").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace concord::audit
