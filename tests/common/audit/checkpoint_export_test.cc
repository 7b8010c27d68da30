// Unit tests of the exported checkpoint (common/audit/checkpoint_export.h): the JSON format and
// the logged line, the atomic file, the signature check (pinned key or the export's own key) and
// the comparison of a stored chain with an exported checkpoint (shorter, different, intact).
#include "common/audit/checkpoint_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"

namespace concord::audit {
namespace {

using ::testing::HasSubstr;

class CheckpointExportTest : public ::testing::Test {
 protected:
  Checkpoint Signed(uint64_t seq, char hash_fill = 'h') {
    auto cp = SignCheckpoint(key_, seq, std::string(32, hash_fill),
                             absl::FromUnixNanos(1'800'000'000'123'456'789));
    EXPECT_TRUE(cp.ok()) << cp.status();
    return *cp;
  }
  std::string Raw() const { return key_.PublicKey().Raw(); }

  crypto::Ed25519PrivateKey key_ = crypto::Ed25519PrivateKey::Generate();
};

TEST_F(CheckpointExportTest, JsonRoundTripsWithEveryField) {
  const Checkpoint cp = Signed(10);
  const std::string json = CheckpointToJson(cp, Raw());
  EXPECT_THAT(json, HasSubstr("\"format\":\"concord.audit.checkpoint.v1\""));
  EXPECT_THAT(json, HasSubstr("\"seq\":10"));
  EXPECT_THAT(json, HasSubstr("\"time\":\"2027-01-15T08:00:00.123456789Z\""));
  auto parsed = ParseExportedCheckpoint(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->checkpoint, cp);
  EXPECT_EQ(parsed->public_key, Raw());
  EXPECT_EQ(CheckpointExportFileName(10), "checkpoint-00000000000000000010.json");
}

// Test that the log line (every value a string, plus ts/level/event) parses the same.
TEST_F(CheckpointExportTest, LoggedLineParses) {
  const Checkpoint cp = Signed(7);
  std::string line =
      R"({"ts":"2027-01-15T08:00:00.200Z","level":"info","event":"audit.checkpoint")";
  for (const auto& [k, v] : CheckpointExportFields(cp, Raw())) {
    line += ",\"" + k + "\":\"" + v + "\"";
  }
  line += "}";
  auto parsed = ParseExportedCheckpoint(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->checkpoint, cp);
}

TEST_F(CheckpointExportTest, MalformedExportsNameTheField) {
  auto violation = [](std::string_view text) {
    auto parsed = ParseExportedCheckpoint(text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    auto v = FieldViolationsOf(parsed.status());
    return v.empty() ? std::string() : v[0].field;
  };
  EXPECT_EQ(violation("not json"), "(file)");
  EXPECT_EQ(violation(R"({"format":"other"})"), "format");
  const std::string good = CheckpointToJson(Signed(3), Raw());
  for (const char* field : {"seq", "head_hash", "time_unix_nanos", "signature", "public_key"}) {
    std::string broken = good;
    const std::string key = std::string("\"") + field + "\":";
    const size_t at = broken.find(key);
    ASSERT_NE(at, std::string::npos) << field;
    broken.replace(at + 1, std::string(field).size(), std::string(field) + "_gone");
    EXPECT_EQ(violation(broken), field);
  }
  std::string zero = good;
  zero.replace(zero.find("\"seq\":3"), 7, "\"seq\":0");
  EXPECT_EQ(violation(zero), "seq");
}

TEST_F(CheckpointExportTest, FileIsWrittenAtomicallyUnderItsSeq) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cp-export-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const Checkpoint cp = Signed(42);
  ASSERT_TRUE(WriteCheckpointExportFile(dir.string(), cp, Raw()).ok());
  ASSERT_TRUE(WriteCheckpointExportFile(dir.string(), cp, Raw()).ok());  // idempotent
  const std::filesystem::path file = dir / CheckpointExportFileName(42);
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseExportedCheckpoint(text.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->checkpoint, cp);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);  // no temporary file left
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  const auto missing = WriteCheckpointExportFile((dir / "nope").string(), cp, Raw());
  EXPECT_EQ(missing.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("nope"));
  std::filesystem::remove_all(dir);
}

TEST_F(CheckpointExportTest, SignatureIsCheckedWithThePinnedKeyOrTheExportsOwn) {
  ExportedCheckpoint exported{Signed(5), Raw()};
  EXPECT_EQ(*VerifyExportedCheckpoint(exported, Raw()), CheckpointKeySource::kPinned);
  EXPECT_EQ(*VerifyExportedCheckpoint(exported, std::nullopt), CheckpointKeySource::kExportFile);

  // Another key pinned: refused even though the export is self-consistent.
  const std::string other = crypto::Ed25519PrivateKey::Generate().PublicKey().Raw();
  auto wrong_key = VerifyExportedCheckpoint(exported, other);
  EXPECT_EQ(wrong_key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(wrong_key.status().message()), HasSubstr("not the expected key"));

  // An edited export (its seq moved to claim less) no longer verifies.
  ExportedCheckpoint edited = exported;
  edited.checkpoint.seq = 4;
  EXPECT_EQ(VerifyExportedCheckpoint(edited, Raw()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyExportedCheckpoint(edited, std::nullopt).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(CheckpointExportTest, ChainShorterThanTheCheckpointNamesTheMissingRecords) {
  // 15 records, checkpoint at 10, the tail 9..15 cut: the head is at 8.
  const Checkpoint cp = Signed(10);
  ChainAtCheckpoint chain;
  chain.head_seq = 8;
  const CheckpointComparison c = CompareChainWithCheckpoint(cp, chain);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.missing_from, 9u);
  EXPECT_EQ(c.missing_to, 10u);
  EXPECT_THAT(c.message, HasSubstr("records 9..10 missing"));
  EXPECT_THAT(c.message, HasSubstr("the log ends at record 8"));

  chain.head_seq = 9;
  EXPECT_THAT(CompareChainWithCheckpoint(cp, chain).message, HasSubstr("record 10 missing"));
  chain.head_seq = 0;  // everything deleted
  EXPECT_EQ(CompareChainWithCheckpoint(cp, chain).missing_from, 1u);
}

TEST_F(CheckpointExportTest, ChainThatDiffersIsRefusedAndTheSameChainPasses) {
  const Checkpoint cp = Signed(10, 'h');
  ChainAtCheckpoint same;
  same.head_seq = 15;
  same.hash_at_seq = std::string(32, 'h');
  EXPECT_TRUE(CompareChainWithCheckpoint(cp, same).ok);
  same.head_seq = 10;  // exactly at the checkpoint
  EXPECT_TRUE(CompareChainWithCheckpoint(cp, same).ok);

  ChainAtCheckpoint rewritten = same;
  rewritten.hash_at_seq = std::string(32, 'x');  // re-chained consistently with the AEAD key
  const CheckpointComparison c = CompareChainWithCheckpoint(cp, rewritten);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.differs_from, 1u);
  EXPECT_THAT(c.message, HasSubstr("records 1..10 differ"));
  EXPECT_THAT(c.message, HasSubstr(crypto::HexEncode(std::string(32, 'x'))));

  ChainAtCheckpoint broken = same;
  broken.verified = false;
  broken.first_bad_seq = 4;
  broken.reason = "hash mismatch";
  const CheckpointComparison b = CompareChainWithCheckpoint(cp, broken);
  EXPECT_FALSE(b.ok);
  EXPECT_EQ(b.differs_from, 4u);
  EXPECT_THAT(b.message, HasSubstr("records 4..10 differ"));
  EXPECT_THAT(b.message, HasSubstr("hash mismatch"));
}

}  // namespace
}  // namespace concord::audit
