// Tests of services/referrals/routing.h.
#include "services/referrals/routing.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

CentreInfo Centre(std::string id, std::string name, std::vector<std::string> languages,
                  std::vector<std::string> specialisations, int capacity = 0, int open = 0,
                  std::string jurisdiction = "BE-BRU") {
  CentreInfo c;
  c.id = Agency(AgencyType::kReceptionCentre, std::move(id));
  c.display_name = std::move(name);
  c.jurisdiction = std::move(jurisdiction);
  c.languages = std::move(languages);
  c.specialisations = std::move(specialisations);
  c.capacity = capacity;
  c.open_cases = open;
  return c;
}

std::vector<std::string> Ids(const std::vector<v1::CentreSuggestion>& s) {
  std::vector<std::string> out;
  for (const auto& x : s) out.push_back(x.centre().id());
  return out;
}

std::vector<CentreInfo> Belgium() {
  return {
      Centre("pag-asa", "PAG-ASA", {"fr", "nl", "en", "es"}, {"sexual_exploitation"}, 20, 10),
      Centre("payoke", "Payoke", {"nl", "en", "es", "pt"},
             {"gender_diversity", "labour_exploitation"}, 20, 12, "BE-VAN"),
      Centre("surya", "Sürya", {"fr", "en"}, {"gender_diversity"}, 20, 2, "BE-WLG"),
      Centre("esperanto", "Esperanto", {"fr", "en"}, {"minors"}, 10, 3, "BE-WLG"),
  };
}

// Rec. 2024/8: a Spanish/Portuguese-speaking trans woman is offered the centre that speaks both
// languages and supports gender diversity first, even when it is busier and farther away.
TEST(RankCentres, SpanishPortugueseSpeakingTransWoman) {
  v1::CaseAttributes a;
  a.add_languages("es");
  a.add_languages("pt");
  a.set_gender_category(v1::GENDER_CATEGORY_TRANSGENDER);
  a.add_exploitation_forms(v1::EXPLOITATION_FORM_SEXUAL);
  a.set_region("BE-BRU");
  const auto ranked = RankCentres(a, Belgium(), 0);
  ASSERT_EQ(ranked.size(), 4u);
  EXPECT_EQ(ranked[0].centre().id(), "payoke");
  EXPECT_THAT(ranked[0].reasons(), Contains("speaks es"));
  EXPECT_THAT(ranked[0].reasons(), Contains("speaks pt"));
  EXPECT_THAT(ranked[0].reasons(), Contains("supports gender diversity (LGBTQI+)"));
  EXPECT_EQ(ranked[0].centre().type(), concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  EXPECT_EQ(ranked[0].capacity(), 20);
  EXPECT_EQ(ranked[0].open_cases(), 12);
  EXPECT_GT(ranked[0].score(), ranked[1].score());
}

TEST(RankCentres, MinorsNeedTheMinorsSpecialisation) {
  v1::CaseAttributes a;
  a.set_minor(true);
  a.add_languages("es");
  std::vector<CentreInfo> centres = Belgium();
  const auto ranked = RankCentres(a, centres, 0);
  ASSERT_EQ(ranked.size(), 4u);
  EXPECT_EQ(ranked[0].centre().id(), "esperanto");
  EXPECT_THAT(ranked[0].reasons(), Contains("supports unaccompanied minors"));
  for (size_t i = 1; i < ranked.size(); ++i) {
    EXPECT_THAT(ranked[i].reasons(),
                Contains("does not support unaccompanied minors (listed last)"));
  }
  // Even a much better language match does not lift a centre without "minors" above it.
  centres[1].languages = {"es", "pt", "en", "fr", "nl", "ar"};
  a.add_languages("pt");
  a.add_languages("ar");
  EXPECT_EQ(RankCentres(a, centres, 1)[0].centre().id(), "esperanto");
}

TEST(RankCentres, FullCentreRanksLower) {
  v1::CaseAttributes a;
  a.add_languages("fr");
  const std::vector<CentreInfo> centres = {
      Centre("alpha", "Alpha", {"fr"}, {}, 10, 10),
      Centre("beta", "Beta", {"fr"}, {}, 10, 9),
  };
  const auto ranked = RankCentres(a, centres, 0);
  EXPECT_THAT(Ids(ranked), ElementsAre("beta", "alpha"));
  EXPECT_THAT(ranked[1].reasons(), Contains("full (10 of 10 places taken)"));
  EXPECT_THAT(ranked[0].reasons(), Contains("has free places (1 of 10)"));
}

TEST(RankCentres, DeterministicTiesAndLimit) {
  v1::CaseAttributes a;
  const std::vector<CentreInfo> centres = {
      Centre("c", "Same", {}, {}), Centre("b", "Same", {}, {}), Centre("a", "Other", {}, {}),
      CentreInfo{Agency(AgencyType::kPolice, "not-a-centre"), "Police", "", {}, {}, 0, 0}};
  const auto ranked = RankCentres(a, centres, 0);
  EXPECT_THAT(Ids(ranked), ElementsAre("a", "b", "c"));
  EXPECT_THAT(ranked[0].reasons(), Contains("capacity not declared"));
  for (int i = 0; i < 5; ++i)
    EXPECT_THAT(Ids(RankCentres(a, centres, 0)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Ids(RankCentres(a, centres, 2)), ElementsAre("a", "b"));
}

TEST(RankCentres, RegionAndExploitationFormCount) {
  v1::CaseAttributes a;
  a.set_region("BE-VAN");
  a.add_exploitation_forms(v1::EXPLOITATION_FORM_BEGGING);
  const std::vector<CentreInfo> centres = {
      Centre("far", "Far", {}, {}, 0, 0, "BE-WLG"),
      Centre("near", "Near", {}, {}, 0, 0, "BE-VAN"),
      Centre("labour", "Labour", {}, {"labour_exploitation"}, 0, 0, "BE-WLG"),
  };
  const auto ranked = RankCentres(a, centres, 0);
  EXPECT_THAT(Ids(ranked), ElementsAre("near", "labour", "far"));
  EXPECT_THAT(ranked[0].reasons(), Contains("in the victim's region BE-VAN"));
  EXPECT_THAT(ranked[1].reasons(), Contains("specialised in labour exploitation"));
}

}  // namespace
}  // namespace concord::referrals
