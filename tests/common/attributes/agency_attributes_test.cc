// Tests for common/attributes/agency_attributes.h: the typed attribute table, validation with
// field paths, merging, defaults per agency type, stored-value sanitising, and the doc/code check
// of services/directory/README.md.
#include "common/attributes/agency_attributes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/field_violations.h"

namespace concord::attributes {
namespace {

using testing::ViolationFields;

AgencyId Agency(AgencyType type, std::string id = "unit-1") {
  return AgencyId{"concord.test", type, std::move(id)};
}

StatusOr<AttributeMap> Apply(const AgencyId& a, std::vector<AttributeSetting> settings,
                             AttributeMap current = {}) {
  return ApplyAttributeSettings(a, std::move(current), settings, "agency.attributes");
}

TEST(AttributeTable, NamesAreUniqueSortedAndTyped) {
  std::string previous;
  for (const AttributeDefinition& d : AttributeDefinitions()) {
    EXPECT_LT(previous, std::string(d.name));
    previous = std::string(d.name);
    EXPECT_FALSE(d.defaults.empty()) << d.name;
    EXPECT_FALSE(d.description.empty()) << d.name;
    EXPECT_EQ(d.type == ValueType::kEnum, !d.allowed.empty()) << d.name;
  }
  for (std::string_view n : {kDirectoryAdministrator, kAuditReviewer, kGuidelinePublisher,
                             kRecognisedCentre, kMagistrateRole, kTimeZone}) {
    EXPECT_NE(FindAttribute(n), nullptr) << n;
  }
  EXPECT_EQ(FindAttribute("superuser"), nullptr);
}

TEST(ApplyAttributeSettings, SetsCanonicalValues) {
  auto m = Apply(Agency(AgencyType::kAdmin, "ops"),
                 {{"directory_administrator", "TRUE"}, {"audit_reviewer", "false"}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, (AttributeMap{{"audit_reviewer", "false"}, {"directory_administrator", "true"}}));

  m = Apply(Agency(AgencyType::kMagistrate),
            {{"magistrate_role", "labour_auditor"}, {"time_zone", "Europe/Paris"}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->at("magistrate_role"), "labour_auditor");
  EXPECT_EQ(m->at("time_zone"), "Europe/Paris");
}

TEST(ApplyAttributeSettings, MergesAndResetsWithEmptyValue) {
  const AgencyId centre = Agency(AgencyType::kReceptionCentre, "payoke");
  auto m = Apply(centre, {{"recognised_centre", "true"}},
                 AttributeMap{{"time_zone", "Europe/Brussels"}});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (AttributeMap{{"recognised_centre", "true"}, {"time_zone", "Europe/Brussels"}}));
  m = Apply(centre, {{"time_zone", ""}}, *m);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, (AttributeMap{{"recognised_centre", "true"}}));
}

TEST(ApplyAttributeSettings, RefusesWithFieldPaths) {
  const AgencyId police = Agency(AgencyType::kPolice);
  auto m = Apply(police, {{"time_zone", "Europe/Brussels"},
                          {"directory_administrator", "true"},  // admin only
                          {"root", "true"},                     // unknown
                          {"time_zone", "UTC"},                 // named twice
                          {"guideline_publisher", "yes"}});     // not for police either
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolationFields(m.status()),
            (std::vector<std::string>{"agency.attributes[1].name", "agency.attributes[2].name",
                                      "agency.attributes[3].name", "agency.attributes[4].name"}));

  m = Apply(Agency(AgencyType::kAdmin, "ops"), {{"audit_reviewer", "1"}});
  EXPECT_EQ(ViolationFields(m.status()), std::vector<std::string>{"agency.attributes[0].value"});
  m = Apply(Agency(AgencyType::kMagistrate), {{"magistrate_role", "judge"}});
  EXPECT_EQ(ViolationFields(m.status()), std::vector<std::string>{"agency.attributes[0].value"});
  EXPECT_NE(FieldViolationsOf(m.status())[0].description.find("prosecutor"), std::string::npos);
  for (std::string_view tz : {"Mars/Olympus", "../../etc/passwd", "Europe//Brussels", "", " UTC"}) {
    if (tz.empty()) continue;  // "" means reset, tested above
    m = Apply(police, {{"time_zone", std::string(tz)}});
    EXPECT_EQ(ViolationFields(m.status()), std::vector<std::string>{"agency.attributes[0].value"})
        << tz;
  }
  std::vector<AttributeSetting> many(kMaxAttributeSettings + 1, {"time_zone", "UTC"});
  EXPECT_EQ(ViolationFields(Apply(police, many).status()),
            std::vector<std::string>{"agency.attributes"});
}

// Security: Concord's service identities (admin/concord-*) hold no role, so a stolen notifier
// key can never become a directory administrator through its record.
TEST(ApplyAttributeSettings, ServiceIdentitiesHoldNoRole) {
  const AgencyId notifier = Agency(AgencyType::kAdmin, "concord-referrals");
  auto m = Apply(notifier, {{"directory_administrator", "true"}, {"audit_reviewer", "true"}});
  ASSERT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ViolationFields(m.status()),
            (std::vector<std::string>{"agency.attributes[0].name", "agency.attributes[1].name"}));
  EXPECT_TRUE(Apply(notifier, {{"time_zone", "UTC"}}).ok());
  // And a value written into Redis by hand is dropped when read back.
  EXPECT_EQ(SanitizeStoredAttributes(notifier,
                                     {{"directory_administrator", "true"}, {"time_zone", "UTC"}}),
            (AttributeMap{{"time_zone", "UTC"}}));
}

TEST(SanitizeStoredAttributes, DropsWhatTheDirectoryWouldRefuse) {
  EXPECT_EQ(SanitizeStoredAttributes(Agency(AgencyType::kPolice), {{"audit_reviewer", "true"},
                                                                   {"time_zone", "Nowhere/City"},
                                                                   {"bogus", "1"},
                                                                   {"time_zone_x", "UTC"}}),
            AttributeMap{});
  EXPECT_EQ(SanitizeStoredAttributes(Agency(AgencyType::kAdmin, "ops"),
                                     {{"directory_administrator", "TRUE"}}),
            AttributeMap{});  // not canonical
}

TEST(AgencyAttributes, DefaultsPerType) {
  const AgencyAttributes cic(Agency(AgencyType::kCoordinationUnit, "cic"), {});
  EXPECT_TRUE(cic.Flag(kGuidelinePublisher));
  const AgencyAttributes parquet(Agency(AgencyType::kMagistrate, "parquet"), {});
  EXPECT_FALSE(parquet.Flag(kGuidelinePublisher));
  EXPECT_EQ(parquet.Enum(kMagistrateRole), std::nullopt);
  EXPECT_EQ(parquet.TimeZoneName(), "Europe/Brussels");
  auto tz = parquet.TimeZone();
  ASSERT_TRUE(tz.ok()) << tz.status();
  EXPECT_EQ(tz->name(), "Europe/Brussels");
  const AgencyAttributes ops(Agency(AgencyType::kAdmin, "ops"), {});
  EXPECT_FALSE(ops.Flag(kDirectoryAdministrator));
  EXPECT_FALSE(ops.Flag(kAuditReviewer));
  // Not applicable: false, whatever is stored.
  const AgencyAttributes police(Agency(AgencyType::kPolice), {{"recognised_centre", "true"}});
  EXPECT_FALSE(police.Flag(kRecognisedCentre));
}

TEST(AgencyAttributes, ExplicitValuesWinAndAllListsEffectiveValues) {
  const AgencyAttributes judge(
      Agency(AgencyType::kMagistrate, "juge"),
      {{"magistrate_role", "investigating_judge"}, {"guideline_publisher", "true"}});
  EXPECT_EQ(judge.Enum(kMagistrateRole), "investigating_judge");
  EXPECT_TRUE(judge.Flag(kGuidelinePublisher));
  const std::vector<EffectiveAttribute> all = judge.All();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, kGuidelinePublisher);
  EXPECT_FALSE(all[0].is_default);
  EXPECT_EQ(all[1].name, kMagistrateRole);
  EXPECT_EQ(all[2].name, kTimeZone);
  EXPECT_EQ(all[2].value, "Europe/Brussels");
  EXPECT_TRUE(all[2].is_default);
  EXPECT_EQ(all[2].type, ValueType::kTimeZone);
  // An undeclared magistrate role is left out.
  EXPECT_EQ(AgencyAttributes(Agency(AgencyType::kMagistrate), {}).All().size(), 2u);
}

// services/directory/README.md embeds the table verbatim between the markers.
TEST(AttributeTableMarkdown, DirectoryReadmeShowsExactlyTheTable) {
  const std::string path = std::string(CONCORD_SOURCE_DIR) + "/services/directory/README.md";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- attributes:begin -->\n";
  const std::string end = "<!-- attributes:end -->";
  const size_t b = doc.find(begin);
  ASSERT_NE(b, std::string::npos) << "missing " << begin;
  const size_t e = doc.find(end, b);
  ASSERT_NE(e, std::string::npos) << "missing " << end;
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()), AttributeTableMarkdown())
      << "expected section:\n"
      << AttributeTableMarkdown();
}

}  // namespace
}  // namespace concord::attributes
