// Pure domain tests of services/directory/agency.h (no I/O).
#include "services/directory/agency.h"

#include <gtest/gtest.h>

#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"

namespace concord::directory {
namespace {

constexpr std::string_view kTd = "concord.test";

AgencySpec ValidSpec() {
  AgencySpec s;
  s.id = AgencyId{"", AgencyType::kPolice, "pz-brussels"};
  s.display_name = "  Police zone Brussels Capital / Ixelles — vice squad ";
  s.jurisdiction = "be-bru";
  s.specialisations = {"vice", "thb", "thb"};
  s.languages = {"NL", "fr"};
  s.signing_public_key_pem = crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem();
  s.sealing_public_key_pem = crypto::X25519PrivateKey::Generate().PublicKey().ToPem();
  s.certificate_serials = {"00:0a:ff", "BEEF"};
  return s;
}

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> out;
  for (const auto& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST(Agency, NormalizesAValidSpec) {
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->id.trust_domain, kTd);
  EXPECT_EQ(spec->display_name, "Police zone Brussels Capital / Ixelles — vice squad");
  EXPECT_EQ(spec->jurisdiction, "BE-BRU");
  EXPECT_EQ(spec->specialisations, (std::vector<std::string>{"thb", "vice"}));
  EXPECT_EQ(spec->languages, (std::vector<std::string>{"fr", "nl"}));
  EXPECT_EQ(spec->certificate_serials, (std::vector<std::string>{"AFF", "BEEF"}));
}

TEST(Agency, ReportsEveryInvalidFieldAtOnce) {
  AgencySpec s = ValidSpec();
  s.id.trust_domain = "other.example";
  s.id.id = "Bad_Id";
  s.display_name = "";
  s.jurisdiction = "BE-XYZ";
  s.specialisations = {"ok", "Not ok!"};
  s.languages = {"nl", "xx", "fra"};
  s.signing_public_key_pem = s.sealing_public_key_pem;  // X25519, not Ed25519
  s.sealing_public_key_pem = "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n";
  s.certificate_serials = {"xyz"};
  auto r = NormalizeAgencySpec(s, kTd);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(r.status()),
            (std::vector<std::string>{
                "agency.id.trust_domain", "agency.id.id", "agency.display_name",
                "agency.jurisdiction", "agency.specialisations[1]", "agency.languages[1]",
                "agency.languages[2]", "agency.certificate_serials[0]",
                "agency.signing_public_key_pem", "agency.sealing_public_key_pem"}));
}

TEST(Agency, DisplayNameLimits) {
  AgencySpec s = ValidSpec();
  s.display_name = std::string(200, 'a');
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = std::string(201, 'a');
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = "tab\tinside";
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = "bad \xC3 utf8";
  EXPECT_FALSE(NormalizeAgencySpec(s, kTd).ok());
  s.display_name = std::string(100, 'a') + std::string(50, 'a') + "\xC3\xA9";  // 151 chars
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
}

TEST(Agency, Jurisdictions) {
  for (const char* ok : {"BE", "BE-BRU", "BE-VAN", "BE-WLX", "NL", "FR-75", "EU", "NL-NH"}) {
    EXPECT_TRUE(IsValidJurisdiction(ok)) << ok;
  }
  for (const char* bad : {"", "B", "BEL", "BE-", "BE-XYZ", "be-bru", "BE_BRU", "NL-ABCD", "1E"}) {
    EXPECT_FALSE(IsValidJurisdiction(bad)) << bad;
  }
}

TEST(Agency, LanguagesAndSerials) {
  for (const char* ok : {"nl", "fr", "de", "en", "es", "pt", "ro", "bg", "zh"}) {
    EXPECT_TRUE(IsValidLanguage(ok)) << ok;
  }
  for (const char* bad : {"", "xx", "NL", "nld", "n"}) EXPECT_FALSE(IsValidLanguage(bad)) << bad;
  EXPECT_TRUE(IsValidSerial("0123456789ABCDEF"));
  EXPECT_FALSE(IsValidSerial(std::string(41, 'A')));
  EXPECT_FALSE(IsValidSerial("abc"));  // not normalised
}

TEST(Agency, CapacityIsZeroToOneHundredThousandPlaces) {
  AgencySpec s = ValidSpec();
  s.capacity = 40;
  EXPECT_TRUE(NormalizeAgencySpec(s, kTd).ok());
  s.capacity = -1;
  EXPECT_EQ(FieldsOf(NormalizeAgencySpec(s, kTd).status()),
            (std::vector<std::string>{"agency.capacity"}));
  s.capacity = 100001;
  EXPECT_EQ(FieldsOf(NormalizeAgencySpec(s, kTd).status()),
            (std::vector<std::string>{"agency.capacity"}));
}

TEST(Agency, TooManyListEntries) {
  AgencySpec s = ValidSpec();
  s.languages.assign(17, "nl");
  auto r = NormalizeAgencySpec(s, kTd);
  EXPECT_EQ(FieldsOf(r.status()), (std::vector<std::string>{"agency.languages"}));
}

TEST(Agency, LifecycleVersionsAndStates) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok());
  Agency a = NewAgency(*spec, t0);
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.state, AgencyState::kActive);

  EXPECT_EQ(ReinstateAgency(a, t0).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SuspendAgency(a, "  ", t0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SuspendAgency(a, std::string(501, 'r'), t0).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto suspended = SuspendAgency(a, " key compromise ", t0 + absl::Seconds(1));
  ASSERT_TRUE(suspended.ok());
  EXPECT_EQ(suspended->state, AgencyState::kSuspended);
  EXPECT_EQ(suspended->suspension_reason, "key compromise");
  EXPECT_EQ(suspended->version, 2);
  EXPECT_EQ(suspended->created_at, t0);
  EXPECT_EQ(SuspendAgency(*suspended, "again", t0).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // An update keeps the suspension.
  AgencySpec changed = *spec;
  changed.display_name = "Renamed";
  auto updated = UpdateAgency(*suspended, changed, /*expected_version=*/2, t0 + absl::Seconds(2));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->state, AgencyState::kSuspended);
  EXPECT_EQ(updated->spec.display_name, "Renamed");
  EXPECT_EQ(updated->version, 3);
  EXPECT_EQ(UpdateAgency(*updated, changed, /*expected_version=*/2, t0).status().code(),
            absl::StatusCode::kAborted);

  auto reinstated = ReinstateAgency(*updated, t0 + absl::Seconds(3));
  ASSERT_TRUE(reinstated.ok());
  EXPECT_EQ(reinstated->state, AgencyState::kActive);
  EXPECT_TRUE(reinstated->suspension_reason.empty());
  EXPECT_EQ(reinstated->version, 4);
}

TEST(Agency, Revocation) {
  auto r = NewRevocation("01:BE:EF", "key_compromise", absl::UnixEpoch());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->serial, "1BEEF");
  EXPECT_EQ(NewRevocation("zz", "x", absl::UnixEpoch()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldsOf(NewRevocation("", "", absl::UnixEpoch()).status()),
            (std::vector<std::string>{"serial", "reason"}));
}

TEST(Agency, FiltersAndPages) {
  auto spec = NormalizeAgencySpec(ValidSpec(), kTd);
  ASSERT_TRUE(spec.ok());
  Agency a = NewAgency(*spec, absl::UnixEpoch());
  auto f = NormalizeFilter(AgencyFilter{AgencyType::kPolice, "be-bru", "THB", "NL", false});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(Matches(a, *f));
  f->language = "de";
  EXPECT_FALSE(Matches(a, *f));
  a.state = AgencyState::kSuspended;
  EXPECT_FALSE(Matches(a, AgencyFilter{}));
  EXPECT_TRUE(Matches(a, AgencyFilter{.include_suspended = true}));
  EXPECT_FALSE(NormalizeFilter(AgencyFilter{.language = "klingon"}).ok());

  EXPECT_EQ(*EffectivePageSize(0), kDefaultPageSize);
  EXPECT_EQ(*EffectivePageSize(10), 10);
  EXPECT_EQ(*EffectivePageSize(100000), kMaxPageSize);
  EXPECT_FALSE(EffectivePageSize(-1).ok());
}

}  // namespace
}  // namespace concord::directory
