// The one canonical encoding of a guideline version and a withdrawal (common/guideline), spelled
// out field by field from the "guideline-spec" block of docs/crypto.md (the same block the
// Python client of tests/integration/grpc_probe.py implements), the rules of form with their
// field paths, and verification: any change of a signed field, the hash or the signature fails,
// naming the version.
#include "common/guideline/guideline.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/guideline/guideline_proto.h"

namespace concord::guideline {
namespace {

constexpr char kTd[] = "concord.test";

AgencyId A(AgencyType t, std::string id) { return AgencyId{kTd, t, std::move(id)}; }

Version Sample() {
  Version v;
  v.guideline_id = "non-punishment";
  v.version = 2;
  v.publisher = A(AgencyType::kCoordinationUnit, "icu-thb");
  v.supersedes = 1;
  v.effective_at = absl::FromUnixSeconds(1'800'000'000) + absl::Nanoseconds(5);
  v.ack_deadline = absl::FromUnixSeconds(1'802'592'000);
  // Deliberately unsorted: the encoding sorts.
  v.topics = {"victim-status", "non-punishment"};
  v.legal_references = {"Directive 2011/36/EU, art. 8", "Art. 433quinquies Penal Code"};
  v.audience.is_public = false;
  v.audience.types = {AgencyType::kPolice, AgencyType::kMagistrate};
  v.audience.agencies = {A(AgencyType::kReceptionCentre, "surya"),
                         A(AgencyType::kReceptionCentre, "pag-asa")};
  v.contents = {{"nl", "Titel", "Tekst.\n"}, {"fr", "Titre", "Texte.\n"}};
  return v;
}

// The spec's field encodings, written independently of crypto::CanonicalWriter.
std::string U32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string Str(uint8_t tag, std::string_view s) {
  return std::string(1, static_cast<char>(tag)) + U32(static_cast<uint32_t>(s.size())) +
         std::string(s);
}
std::string Int(uint8_t tag, int64_t v) {
  std::string out(1, static_cast<char>(tag));
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
  return out;
}
std::string List(uint8_t tag, const std::vector<std::string>& items) {
  std::string out(1, static_cast<char>(tag));
  out += U32(static_cast<uint32_t>(items.size()));
  for (const std::string& i : items) out += U32(static_cast<uint32_t>(i.size())) + i;
  return out;
}

TEST(GuidelineEncoding, VersionBytesAreTheSpecsFieldByField) {
  const std::string expected =
      Str(0, "concord.guidelines.version.v1") + Str(1, "non-punishment") + Int(2, 2) +
      Str(3, "spiffe://concord.test/agency/coordination_unit/icu-thb") + Int(4, 1) +
      Int(5, 1'800'000'000'000'000'005LL) + Int(6, 1'802'592'000'000'000'000LL) +
      List(7, {"non-punishment", "victim-status"}) +
      List(8, {"Directive 2011/36/EU, art. 8", "Art. 433quinquies Penal Code"}) + Int(9, 0) +
      List(10, {"magistrate", "police"}) +
      List(11, {"spiffe://concord.test/agency/reception_centre/pag-asa",
                "spiffe://concord.test/agency/reception_centre/surya"}) +
      Int(12, 2) + Str(13, "fr") + Str(14, "Titre") + Str(15, "Texte.\n") + Str(13, "nl") +
      Str(14, "Titel") + Str(15, "Tekst.\n");
  EXPECT_EQ(crypto::HexEncode(VersionBytes(Sample())), crypto::HexEncode(expected));
  EXPECT_EQ(crypto::HexEncode(VersionSha256(Sample())), crypto::Sha256Hex(expected));
}

TEST(GuidelineEncoding, OrderOfListsDoesNotMatterButLegalReferencesKeepTheirs) {
  Version a = Sample();
  Version b = Sample();
  std::reverse(b.topics.begin(), b.topics.end());
  std::reverse(b.contents.begin(), b.contents.end());
  std::reverse(b.audience.types.begin(), b.audience.types.end());
  std::reverse(b.audience.agencies.begin(), b.audience.agencies.end());
  EXPECT_EQ(VersionBytes(a), VersionBytes(b));
  std::reverse(b.legal_references.begin(), b.legal_references.end());
  EXPECT_NE(VersionBytes(a), VersionBytes(b));
}

TEST(GuidelineEncoding, ParseIsTheExactInverse) {
  const std::string bytes = VersionBytes(Sample());
  StatusOr<Version> parsed = ParseVersionBytes(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(VersionBytes(*parsed), bytes);
  EXPECT_EQ(parsed->topics, (std::vector<std::string>{"non-punishment", "victim-status"}));
  EXPECT_EQ(parsed->contents[0].language, "fr");
  EXPECT_EQ(ParseVersionBytes(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseVersionBytes(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(GuidelineEncoding, WithdrawalBytesAreTheSpecs) {
  const Withdrawal w{.guideline_id = "non-punishment",
                     .version = 2,
                     .version_sha256 = std::string(32, 'h'),
                     .withdrawn_by = A(AgencyType::kCoordinationUnit, "icu-thb"),
                     .withdrawn_at = absl::FromUnixSeconds(1'800'000'100),
                     .reason = "superseded by the circular"};
  const std::string expected = Str(0, "concord.guidelines.withdrawal.v1") +
                               Str(1, "non-punishment") + Int(2, 2) + Str(3, std::string(32, 'h')) +
                               Str(4, "spiffe://concord.test/agency/coordination_unit/icu-thb") +
                               Int(5, 1'800'000'100'000'000'000LL) +
                               Str(6, "superseded by the circular");
  EXPECT_EQ(WithdrawalBytes(w), expected);
  StatusOr<Withdrawal> parsed = ParseWithdrawalBytes(expected);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, w);
}

std::vector<std::string> Fields(const Status& s) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST(ValidateVersion, AcceptsTheSample) { EXPECT_TRUE(ValidateVersion(Sample(), kTd).ok()); }

TEST(ValidateVersion, NamesEveryFieldThatIsWrong) {
  Version v = Sample();
  v.guideline_id = "X";
  v.supersedes = 0;
  v.publisher.trust_domain = "other.test";
  v.ack_deadline = v.effective_at;
  v.topics.push_back("Bad Topic");
  v.legal_references.push_back("Directive 2011/36/EU, art. 8");
  v.audience.types.push_back(AgencyType::kAdmin);
  v.audience.agencies.push_back(A(AgencyType::kReceptionCentre, "surya"));
  v.contents.push_back({"es", "Título", "Texto.\n"});
  v.contents.push_back({"xx", "", "bad\x01"});
  const Status s = ValidateVersion(v, kTd);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "INVALID_VERSION");
  EXPECT_EQ(Fields(s),
            (std::vector<std::string>{
                "version.guideline_id", "version.supersedes", "version.publisher",
                "version.ack_deadline", "version.topics[2]", "version.legal_references[2]",
                "version.audience.agency_types[2]", "version.audience.agencies[2]",
                "version.contents[2].language", "version.contents[3].language",
                "version.contents[3].title", "version.contents[3].body"}));
}

TEST(ValidateVersion, SpanishAndPortugueseOnlyForOutreach) {
  Version v = Sample();
  v.contents.push_back({"pt", "Título", "Texto.\n"});
  EXPECT_FALSE(ValidateVersion(v, kTd).ok());
  v.topics.push_back("outreach");
  EXPECT_TRUE(ValidateVersion(v, kTd).ok());
  v.topics.pop_back();
  v.audience.is_public = true;
  EXPECT_TRUE(ValidateVersion(v, kTd).ok());
}

TEST(ValidateVersion, TheSmallestVersionNumberIsRefusedWithoutOverflow) {
  // Found by the guideline fuzz target: version - 1 overflowed for INT64_MIN (UBSan abort).
  Version v = Sample();
  v.version = std::numeric_limits<int64_t>::min();
  v.supersedes = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Fields(ValidateVersion(v, kTd)), (std::vector<std::string>{"version.version"}));
  v.version = 0;
  v.supersedes = -1;
  EXPECT_EQ(Fields(ValidateVersion(v, kTd)), (std::vector<std::string>{"version.version"}));
}

TEST(ValidateVersion, AnAudienceIsRequired) {
  Version v = Sample();
  v.audience = Audience{};
  EXPECT_EQ(Fields(ValidateVersion(v, kTd)), (std::vector<std::string>{"version.audience"}));
}

TEST(VerifyVersion, AnyChangeFailsNamingTheVersion) {
  const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  StatusOr<SignedVersion> s = SignVersion(Sample(), key);
  ASSERT_TRUE(s.ok());
  const std::string sha = VersionSha256(s->version);
  ASSERT_TRUE(VerifyVersion(*s, sha, key.PublicKey()).ok());

  std::vector<std::function<void(SignedVersion&, std::string&)>> changes = {
      [](SignedVersion& v, std::string&) { v.version.contents[0].body += "!"; },
      [](SignedVersion& v, std::string&) { v.version.ack_deadline += absl::Seconds(1); },
      [](SignedVersion& v, std::string&) { v.version.audience.is_public = true; },
      [](SignedVersion& v, std::string&) { v.version.legal_references.pop_back(); },
      [](SignedVersion& v, std::string&) { v.signature[0] ^= 1; },
      [](SignedVersion&, std::string& h) { h[31] ^= 1; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    SignedVersion v = *s;
    std::string h = sha;
    changes[i](v, h);
    // An intruder who also recomputes the hash is still caught by the signature.
    if (i < 4) h = VersionSha256(v.version);
    const Status st = VerifyVersion(v, h, key.PublicKey());
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << i;
    EXPECT_EQ(ReasonOf(st), "VERSION_VERIFICATION_FAILED") << i;
    EXPECT_NE(std::string(st.message()).find("guideline non-punishment version 2"),
              std::string::npos)
        << st;
  }
  EXPECT_FALSE(VerifyVersion(*s, sha, crypto::Ed25519PrivateKey::Generate().PublicKey()).ok());
}

TEST(GuidelineProto, RoundTripKeepsTheSignedBytes) {
  const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  StatusOr<SignedVersion> s = SignVersion(Sample(), key);
  ASSERT_TRUE(s.ok());
  v1::GuidelineVersion proto;
  SignedVersionToProto(*s, VersionSha256(s->version), proto);
  StatusOr<SignedVersion> back = SignedVersionFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(VersionBytes(back->version), VersionBytes(s->version));
  EXPECT_TRUE(VerifyVersion(*back, proto.sha256(), key.PublicKey()).ok());
  proto.mutable_audience()->mutable_agencies(0)->set_id("Not Valid");
  EXPECT_EQ(Fields(SignedVersionFromProto(proto).status()),
            (std::vector<std::string>{"version.audience.agencies[0]"}));
}

}  // namespace
}  // namespace concord::guideline
