// The pure rules: visibility, the version in force, succession, language fallback.
#include "services/guidelines/version_rules.h"

#include <gtest/gtest.h>

namespace concord::guidelines {
namespace {

constexpr char kTd[] = "concord.test";
AgencyId A(AgencyType t, std::string id) { return AgencyId{kTd, t, std::move(id)}; }
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

VersionMeta Meta(int64_t n, absl::Time effective, bool withdrawn = false) {
  VersionMeta m;
  m.guideline_id = "g-1";
  m.version = n;
  m.publisher = A(AgencyType::kCoordinationUnit, "icu");
  m.effective_at = effective;
  m.withdrawn = withdrawn;
  m.audience.types = {AgencyType::kPolice};
  m.audience.agencies = {A(AgencyType::kReceptionCentre, "pag-asa")};
  return m;
}

TEST(VersionRules, WhoSeesAVersion) {
  VersionMeta m = Meta(1, kNow);
  EXPECT_TRUE(Visible(m, A(AgencyType::kPolice, "pz-x")));              // by type
  EXPECT_TRUE(Visible(m, A(AgencyType::kReceptionCentre, "pag-asa")));  // named
  EXPECT_TRUE(Visible(m, A(AgencyType::kCoordinationUnit, "icu")));     // publisher
  EXPECT_FALSE(Visible(m, A(AgencyType::kReceptionCentre, "payoke")));  // outside
  EXPECT_FALSE(Addressed(m, A(AgencyType::kCoordinationUnit, "icu")));
  m.audience.is_public = true;
  EXPECT_TRUE(Visible(m, A(AgencyType::kPlatform, "p")));
  EXPECT_FALSE(Addressed(m, A(AgencyType::kPlatform, "p")));  // public addresses nobody
}

TEST(VersionRules, InForceIsTheHighestEffectiveNotWithdrawn) {
  std::vector<VersionMeta> v = {Meta(1, kNow - absl::Hours(10)), Meta(2, kNow - absl::Hours(1)),
                                Meta(3, kNow + absl::Hours(1))};
  EXPECT_EQ(InForce(v, kNow), 2);
  EXPECT_EQ(InForce(v, kNow + absl::Hours(2)), 3);
  v[1].withdrawn = true;
  EXPECT_EQ(InForce(v, kNow), 1);
  EXPECT_EQ(InForce({}, kNow), std::nullopt);
}

TEST(VersionRules, Succession) {
  guideline::Version v;
  v.guideline_id = "g-1";
  v.publisher = A(AgencyType::kCoordinationUnit, "icu");
  const AgencyId icu = v.publisher;
  v.version = 1;
  EXPECT_TRUE(CheckSuccession(v, icu, std::nullopt).ok());
  EXPECT_EQ(CheckSuccession(v, icu, GuidelineHead{icu, 1}).code(), absl::StatusCode::kAborted);
  v.version = 3;
  EXPECT_EQ(CheckSuccession(v, icu, std::nullopt).code(), absl::StatusCode::kNotFound);
  const Status stale = CheckSuccession(v, icu, GuidelineHead{icu, 1});
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ReasonOf(stale), "VERSION_CONFLICT");
  EXPECT_TRUE(CheckSuccession(v, icu, GuidelineHead{icu, 2}).ok());
  const AgencyId college = A(AgencyType::kMagistrate, "college");
  v.publisher = college;
  EXPECT_EQ(ReasonOf(CheckSuccession(v, college, GuidelineHead{icu, 2})),
            "NOT_GUIDELINE_PUBLISHER");
  EXPECT_EQ(ReasonOf(CheckSuccession(v, icu, GuidelineHead{icu, 2})), "PUBLISHER_MISMATCH");
}

TEST(VersionRules, LanguageFallback) {
  LanguageChoice c = ChooseLanguage({"fr", "nl"}, {"de", "fr"});
  EXPECT_EQ(c.served, "fr");
  EXPECT_EQ(c.order, (std::vector<std::string>{"de", "fr", "nl", "en"}));
  c = ChooseLanguage({"pt", "es"}, {"en"});
  EXPECT_EQ(c.served, "es");  // preferences, nl, fr, de, en, then the version's in code order
  EXPECT_EQ(c.order, (std::vector<std::string>{"en", "nl", "fr", "de", "es", "pt"}));
  EXPECT_EQ(ChooseLanguage({"de", "nl"}, {}).served, "nl");
  EXPECT_FALSE(ValidatePreferredLanguages({"FR"}, "preferred_languages").ok());
  EXPECT_FALSE(ValidatePreferredLanguages({"fr", "fr"}, "preferred_languages").ok());
}

}  // namespace
}  // namespace concord::guidelines
