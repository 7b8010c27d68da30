// Tests of services/referrals/routing.h and geography.h: routing as Belgium is organised (the
// region first; provinces resolve to their region; language and support profiles only as
// declared, as tie-breakers).
#include "services/referrals/routing.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/referrals/geography.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

CentreInfo Centre(std::string id, std::string name, std::string jurisdiction,
                  std::vector<std::string> languages = {},
                  std::vector<std::string> specialisations = {}, int capacity = 0, int open = 0) {
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

// The three recognised centres as they declare themselves (no invented language profiles) and a
// shelter for minors.
std::vector<CentreInfo> Belgium() {
  std::vector<CentreInfo> out = {
      Centre("pag-asa", "PAG-ASA", "BE-BRU", {}, {}, 20, 10),
      Centre("payoke", "Payoke", "BE-VLG", {}, {}, 20, 12),
      Centre("surya", "Sürya", "BE-WAL", {}, {}, 20, 2),
      Centre("esperanto", "Esperanto", "BE-WAL", {}, {}, 10, 3),
  };
  for (size_t i = 0; i < 3; ++i) out[i].recognised_centre = true;
  out[3].minors_shelter = true;
  return out;
}

v1::SuggestCentresRequest At(std::string location) {
  v1::SuggestCentresRequest r;
  r.mutable_attributes()->set_region(std::move(location));
  return r;
}

TEST(Geography, EveryProvinceResolvesToItsRegion) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"BE-BRU", "BE-BRU"}, {"BE-VLG", "BE-VLG"}, {"BE-WAL", "BE-WAL"}, {"BE-VAN", "BE-VLG"},
      {"BE-VBR", "BE-VLG"}, {"BE-VLI", "BE-VLG"}, {"BE-VOV", "BE-VLG"}, {"BE-VWV", "BE-VLG"},
      {"BE-WBR", "BE-WAL"}, {"BE-WHT", "BE-WAL"}, {"BE-WLG", "BE-WAL"}, {"BE-WLX", "BE-WAL"},
      {"BE-WNA", "BE-WAL"}};
  ASSERT_EQ(BelgianLocationCodes().size(), expected.size());
  for (const auto& [code, region] : expected) {
    ASSERT_TRUE(BelgianRegionOf(code).has_value()) << code;
    EXPECT_EQ(*BelgianRegionOf(code), region) << code;
  }
  EXPECT_FALSE(BelgianRegionOf("BE").has_value());
  EXPECT_FALSE(BelgianRegionOf("be-vov").has_value());
  EXPECT_FALSE(BelgianRegionOf("NL-NH").has_value());
}

TEST(Geography, WorldRegionOfTheOriginCountry) {
  EXPECT_EQ(WorldRegionOf("NG"), v1::WORLD_REGION_AFRICA);
  EXPECT_EQ(WorldRegionOf("BR"), v1::WORLD_REGION_AMERICAS);
  EXPECT_EQ(WorldRegionOf("VN"), v1::WORLD_REGION_ASIA);
  EXPECT_EQ(WorldRegionOf("RO"), v1::WORLD_REGION_EUROPE);
  EXPECT_EQ(WorldRegionOf("XK"), v1::WORLD_REGION_EUROPE);
  EXPECT_EQ(WorldRegionOf("FJ"), v1::WORLD_REGION_OCEANIA);
  EXPECT_EQ(WorldRegionOf("AQ"), v1::WORLD_REGION_UNSPECIFIED);
  EXPECT_EQ(WorldRegionOf(""), v1::WORLD_REGION_UNSPECIFIED);
}

// Every Belgian province and region: the centre of its region comes first (East Flanders:
// Payoke; Hainaut: Sürya; Brussels: PAG-ASA).
TEST(RankCentres, EveryProvinceGoesToTheCentreOfItsRegion) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"BE-BRU", "pag-asa"}, {"BE-VLG", "payoke"}, {"BE-WAL", "surya"},  {"BE-VAN", "payoke"},
      {"BE-VBR", "payoke"},  {"BE-VLI", "payoke"}, {"BE-VOV", "payoke"}, {"BE-VWV", "payoke"},
      {"BE-WBR", "surya"},   {"BE-WHT", "surya"},  {"BE-WLG", "surya"},  {"BE-WLX", "surya"},
      {"BE-WNA", "surya"}};
  for (const auto& [code, centre] : expected) {
    const auto ranked = RankCentres(At(code), Belgium());
    ASSERT_EQ(ranked.size(), 4u) << code;
    EXPECT_EQ(ranked[0].centre().id(), centre) << code;
  }
  const auto east_flanders = RankCentres(At("BE-VOV"), Belgium());
  EXPECT_THAT(east_flanders[0].reasons(), Contains("serves the victim's region BE-VLG (province "
                                                   "BE-VOV)"));
  EXPECT_EQ(RankCentres(At("BE-WHT"), Belgium())[0].display_name(), "Sürya");
}

// An unaccompanied minor: the shelter for minors of the region first; for anyone else the
// shelter comes after the recognised centres.
TEST(RankCentres, UnaccompaniedMinorsGoToTheShelterForMinors) {
  v1::SuggestCentresRequest r = At("BE-WLG");
  EXPECT_THAT(Ids(RankCentres(r, Belgium())),
              ElementsAre("surya", "esperanto", "pag-asa", "payoke"));
  r.mutable_attributes()->set_unaccompanied_minor(true);
  const auto ranked = RankCentres(r, Belgium());
  EXPECT_THAT(Ids(ranked), ElementsAre("esperanto", "surya", "pag-asa", "payoke"));
  EXPECT_THAT(ranked[0].reasons(), Contains("accommodates unaccompanied minors"));
  EXPECT_THAT(ranked[0].reasons(),
              Contains("does not request residence documents (not a recognised centre)"));
}

// Language and support needs only break ties inside the region tier, and only count what a
// centre declares.
TEST(RankCentres, LanguagesAndSupportNeedsAreTieBreakersOnly) {
  std::vector<CentreInfo> centres = Belgium();
  centres[1].languages = {"es", "pt"};  // Payoke declares Spanish and Portuguese
  centres[1].specialisations = {"gender_diversity"};
  v1::SuggestCentresRequest r = At("BE-BRU");
  r.add_languages("es");
  r.add_languages("pt");
  r.add_support_needs("gender_diversity");
  auto ranked = RankCentres(r, centres);
  EXPECT_EQ(ranked[0].centre().id(), "pag-asa");  // the region first
  EXPECT_EQ(ranked[1].centre().id(), "payoke");   // then the declared profile
  EXPECT_THAT(ranked[1].reasons(), Contains("declares es"));
  EXPECT_THAT(ranked[1].reasons(), Contains("declares gender_diversity"));
  // Two centres in the same region: the declared profile decides.
  centres.push_back(Centre("other-bru", "Another Brussels centre", "BE-BRU"));
  centres.back().languages = {"es"};
  ranked = RankCentres(r, centres);
  EXPECT_EQ(ranked[0].centre().id(), "other-bru");
  EXPECT_EQ(ranked[1].centre().id(), "pag-asa");
}

TEST(RankCentres, FullCentreRanksLower) {
  const std::vector<CentreInfo> centres = {
      Centre("alpha", "Alpha", "BE-BRU", {}, {}, 10, 10),
      Centre("beta", "Beta", "BE-BRU", {}, {}, 10, 9),
  };
  const auto ranked = RankCentres(At("BE-BRU"), centres);
  EXPECT_THAT(Ids(ranked), ElementsAre("beta", "alpha"));
  EXPECT_THAT(ranked[1].reasons(), Contains("full (10 of 10 places taken)"));
  EXPECT_THAT(ranked[0].reasons(), Contains("has free places (1 of 10)"));
}

TEST(RankCentres, DeterministicTiesAndLimit) {
  v1::SuggestCentresRequest r;
  const std::vector<CentreInfo> centres = {
      Centre("c", "Same", "BE-BRU"), Centre("b", "Same", "BE-BRU"), Centre("a", "Other", "BE"),
      CentreInfo{Agency(AgencyType::kPolice, "not-a-centre"), "Police", "", {}, {}, 0, 0}};
  const auto ranked = RankCentres(r, centres);
  EXPECT_THAT(Ids(ranked), ElementsAre("a", "b", "c"));
  EXPECT_THAT(ranked[0].reasons(), Contains("capacity not declared"));
  for (int i = 0; i < 5; ++i) EXPECT_THAT(Ids(RankCentres(r, centres)), ElementsAre("a", "b", "c"));
  r.set_max_results(2);
  EXPECT_THAT(Ids(RankCentres(r, centres)), ElementsAre("a", "b"));
}

TEST(RankCentres, NationalCentreAndExploitationForm) {
  v1::SuggestCentresRequest r = At("BE-VAN");
  r.mutable_attributes()->add_exploitation_forms(v1::EXPLOITATION_FORM_BEGGING);
  const std::vector<CentreInfo> centres = {
      Centre("far", "Far", "BE-WAL"),
      Centre("near", "Near", "BE-VLG"),
      Centre("national", "National", "BE", {}, {"labour_exploitation"}),
  };
  const auto ranked = RankCentres(r, centres);
  EXPECT_THAT(Ids(ranked), ElementsAre("national", "near", "far"));
  EXPECT_THAT(ranked[0].reasons(), Contains("declares labour_exploitation"));
  EXPECT_THAT(ranked[2].reasons(), Contains("outside the victim's region BE-VLG (province BE-VAN) "
                                            "(serves BE-WAL)"));
}

}  // namespace
}  // namespace concord::referrals
