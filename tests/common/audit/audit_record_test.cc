// Unit tests of the audit client library: record format (canonical encoding, sealing, chain
// hash), operation names, asserted-metadata sanitising and key files.
#include "common/audit/audit_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>

#include "common/audit/audit_context.h"
#include "common/audit/audit_event.h"
#include "common/audit/audit_key.h"
#include "common/crypto/aead.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"

namespace concord::audit {
namespace {

using ::testing::HasSubstr;

AuditKey TestKey(char fill = 'k') { return *AuditKey::FromBytes(std::string(32, fill)); }

AuditEvent SampleEvent() {
  return AuditEvent{
      .agency = {.trust_domain = "concord.test", .type = AgencyType::kPolice, .id = "pz-brussels"},
      .officer = "officer-17",
      .operation = Operation::kDisclosure,
      .object = "message:01HXYZ",
      .method = "/concord.messaging.v1.Messaging/Send",
      .justification = "case 2026/114 referral",
      .recipients = {"magistrate/parquet-bxl", "reception_centre/payoke"},
      .outcome = "OK",
      .time = absl::FromUnixMillis(1'800'000'000'123)};
}

TEST(Operation, NamesRoundTrip) {
  for (Operation op : {Operation::kCollection, Operation::kAlteration, Operation::kConsultation,
                       Operation::kDisclosure, Operation::kCombination, Operation::kErasure}) {
    EXPECT_EQ(ParseOperation(OperationName(op)), op);
  }
  EXPECT_EQ(OperationName(Operation::kErasure), "erasure");
  EXPECT_EQ(ParseOperation("Erasure"), std::nullopt);
}

TEST(AuditRecordFormat, KeysShareTheAuditHashTag) {
  EXPECT_EQ(HeadKey(), "concord:{audit}:head");
  EXPECT_EQ(RecordsKey(), "concord:{audit}:records");
  EXPECT_EQ(ObjectIndexKey("agency:police/x"), "concord:{audit}:by-object:agency:police/x");
  EXPECT_EQ(AgencyIndexKey({"concord.test", AgencyType::kMagistrate, "m1"}),
            "concord:{audit}:by-agency:magistrate/m1");
  // An object containing braces must not change the slot.
  EXPECT_THAT(ObjectIndexKey("x{y}z"), ::testing::StartsWith("concord:{audit}:"));
}

TEST(AuditRecordFormat, EventEncodingRoundTrips) {
  const AuditEvent e = SampleEvent();
  auto encoded = EncodeEvent(42, e);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  auto decoded = DecodeEvent(*encoded, 42);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, e);
  // Deterministic.
  EXPECT_EQ(*EncodeEvent(42, e), *encoded);
  // The embedded seq must match.
  EXPECT_EQ(DecodeEvent(*encoded, 43).status().code(), absl::StatusCode::kDataLoss);
  // Truncation and trailing bytes are rejected.
  EXPECT_FALSE(DecodeEvent(encoded->substr(0, encoded->size() - 1), 42).ok());
  EXPECT_FALSE(DecodeEvent(*encoded + "x", 42).ok());
}

TEST(AuditRecordFormat, EmptyFieldsRoundTrip) {
  AuditEvent e;
  e.agency = {"concord.test", AgencyType::kAdmin, "root"};
  auto decoded = DecodeEvent(*EncodeEvent(1, e), 1);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, e);
}

// What an alteration changed (the directory's details) is recorded; a record without details
// is encoded exactly as before the field existed, so older chains verify unchanged.
TEST(AuditRecordFormat, DetailsRoundTripAndAreOptionalOnTheWire) {
  AuditEvent e = SampleEvent();
  const std::string without = *EncodeEvent(5, e);
  e.details = "signing_public_key=3f2a:0b1c; attributes.audit_reviewer=true";
  const std::string with = *EncodeEvent(5, e);
  EXPECT_EQ(with.substr(0, without.size()), without);  // appended after the outcome
  auto decoded = DecodeEvent(with, 5);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->details, e.details);
  EXPECT_EQ(DecodeEvent(without, 5)->details, "");
  EXPECT_FALSE(DecodeEvent(with + "x", 5).ok());
  // Through a workload's intake too (the directory appends to its intake, the audit service
  // chains it).
  auto entry = SealIntakeEntry(TestKey(), "directory", e);
  ASSERT_TRUE(entry.ok()) << entry.status();
  auto opened = OpenIntakeEntry(TestKey(), "directory", *entry);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->details, e.details);
}

TEST(AuditRecordFormat, OversizedEventIsRejected) {
  AuditEvent e = SampleEvent();
  e.justification = std::string(kMaxRecordPlaintext, 'j');
  EXPECT_EQ(EncodeEvent(1, e).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AuditRecordFormat, ChainHashIsSha256OfPrevSeqSealed) {
  const std::string prev = GenesisHash();
  ASSERT_EQ(prev, std::string(32, '\0'));
  std::string expected_input = prev + std::string("\0\0\0\0\0\0\x01\x02", 8) + "sealed";
  const auto digest = crypto::Sha256(expected_input);
  EXPECT_EQ(ChainHash(prev, 258, "sealed"),
            std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// Known answers computed apart from this code (a few lines of Python following the layout in
// audit_record.h): the plaintext bytes of a record and of an intake entry are a contract.
TEST(AuditRecordFormat, EncodingsMatchKnownAnswers) {
  auto record = EncodeEvent(7, SampleEvent(), "messaging");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->size(), 286u);
  EXPECT_EQ(crypto::Sha256Hex(*record),
            "02ef5566e2af51908fb5a58161a400b0cb214d75aa8a993e462258268b84cd19");
  auto intake = EncodeIntakeEvent(SampleEvent());
  ASSERT_TRUE(intake.ok());
  EXPECT_EQ(intake->size(), 272u);
  EXPECT_EQ(crypto::Sha256Hex(*intake),
            "561d16fe8d92820b3d6c6ce32a3957e98d845901c302c380ac037060af67806c");
}

// The key's reused cipher contexts (AuditKey::aead) produce exactly the AeadSeal format: records
// and intake entries open with the plain AeadOpen under the key bytes, and the other way round.
TEST(AuditRecordFormat, SealedFormsAreThoseOfAeadSealUnderTheKeyBytes) {
  const AuditKey key = TestKey();
  auto record = SealRecord(key, 7, GenesisHash(), SampleEvent(), "messaging");
  ASSERT_TRUE(record.ok());
  auto plaintext = crypto::AeadOpen(key.bytes(), record->sealed, RecordAad(7));
  ASSERT_TRUE(plaintext.ok()) << plaintext.status();
  EXPECT_EQ(*plaintext, *EncodeEvent(7, SampleEvent(), "messaging"));
  auto entry = SealIntakeEntry(key, "messaging", SampleEvent());
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(*crypto::AeadOpen(key.bytes(), *entry, IntakeAad("messaging")),
            *EncodeIntakeEvent(SampleEvent()));
  const std::string old_entry =
      *crypto::AeadSeal(key.bytes(), *EncodeIntakeEvent(SampleEvent()), IntakeAad("messaging"));
  EXPECT_EQ(*OpenIntakeEntry(key, "messaging", old_entry), SampleEvent());
  EXPECT_EQ(OpenIntakeEntry(key, "referrals", old_entry).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenIntakeEntry(TestKey('x'), "messaging", *entry).status().code(),
            absl::StatusCode::kDataLoss);
  // Copies of the key share its contexts and keep working after the original is gone.
  std::optional<AuditKey> copy;
  {
    const AuditKey original = TestKey();
    copy.emplace(original);
  }
  EXPECT_EQ(*OpenIntakeEntry(*copy, "messaging", *entry), SampleEvent());
}

TEST(AuditRecordFormat, SealedRecordOpensOnlyAtItsSeqWithItsKey) {
  const AuditKey key = TestKey();
  auto record = SealRecord(key, 7, GenesisHash(), SampleEvent());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->prev_hash, GenesisHash());
  EXPECT_EQ(record->hash, ChainHash(GenesisHash(), 7, record->sealed));
  auto opened = OpenRecord(key, 7, *record);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, SampleEvent());
  EXPECT_EQ(OpenRecord(key, 8, *record).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenRecord(TestKey('x'), 7, *record).status().code(), absl::StatusCode::kDataLoss);
  // Sealed at rest: no plaintext field appears in the stored bytes.
  const std::string stored = record->Encode();
  EXPECT_EQ(stored.find("case 2026/114"), std::string::npos);
  EXPECT_EQ(stored.find("officer-17"), std::string::npos);
  auto parsed = StoredRecord::Parse(stored);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->hash, record->hash);
  EXPECT_EQ(parsed->sealed, record->sealed);
  EXPECT_EQ(StoredRecord::Parse("short").status().code(), absl::StatusCode::kDataLoss);
}

TEST(AssertedMetadata, SanitisesOfficerValues) {
  EXPECT_EQ(SanitizeAssertedValue("  officer-17\t", kMaxOfficerLength), "officer-17");
  EXPECT_EQ(SanitizeAssertedValue("", kMaxOfficerLength), "");
  EXPECT_EQ(SanitizeAssertedValue("   ", kMaxOfficerLength), "");
  EXPECT_EQ(SanitizeAssertedValue(std::string(128, 'a'), kMaxOfficerLength), std::string(128, 'a'));
  EXPECT_EQ(SanitizeAssertedValue(std::string(129, 'a'), kMaxOfficerLength), "");
  EXPECT_EQ(SanitizeAssertedValue("bad\nvalue", kMaxOfficerLength), "");
  EXPECT_EQ(SanitizeAssertedValue("caf\xc3\xa9", kMaxOfficerLength), "");
  EXPECT_EQ(SanitizeAssertedValue("a\x7f", kMaxOfficerLength), "");
}

class AuditKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/concord-audit-key-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << contents;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(AuditKeyFileTest, ReadsRawAndHexKeys) {
  const std::string raw(32, '\x01');
  auto k1 = LoadAuditKey(Write("raw.key", raw));
  ASSERT_TRUE(k1.ok()) << k1.status();
  EXPECT_EQ(k1->bytes(), raw);
  auto k2 = LoadAuditKey(Write("hex.key", crypto::HexEncode(raw) + "\n"));
  ASSERT_TRUE(k2.ok()) << k2.status();
  EXPECT_EQ(k2->bytes(), raw);
}

TEST_F(AuditKeyFileTest, RejectsWrongLengthsAndMissingFilesClearly) {
  auto short_key = LoadAuditKey(Write("short.key", "abc"));
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_key.status().message(), HasSubstr("expected 32 raw bytes or 64 hex"));
  auto bad_hex = LoadAuditKey(Write("badhex.key", std::string(64, 'z')));
  EXPECT_EQ(bad_hex.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_hex.status().message(), HasSubstr("not valid hex"));
  auto missing = LoadAuditKey(dir_ + "/missing.key");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.key"));
  EXPECT_FALSE(AuditKey::FromBytes("x").ok());
}

}  // namespace
}  // namespace concord::audit
