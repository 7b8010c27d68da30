// Guideline drafts on disk (client/guidelines/guideline_draft.h): the seed set of
// deploy/seed/guidelines loads and passes every rule of form the service enforces, in every
// language it declares; a draft's text file needs its "# " title line.
#include "client/guidelines/guideline_draft.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace concord::guidelines::client {
namespace {

const AgencyId kPublisher{"concord.test", AgencyType::kCoordinationUnit, "icu-thb"};

TEST(GuidelineDraft, EverySeedGuidelineIsValid) {
  const std::string root = std::string(CONCORD_SOURCE_DIR) + "/deploy/seed/guidelines";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    ++count;
    StatusOr<Draft> d = LoadDraft(entry.path().string());
    ASSERT_TRUE(d.ok()) << entry.path() << ": " << d.status();
    StatusOr<guideline::Version> v = BuildVersion(*d, kPublisher, 1, absl::Now());
    ASSERT_TRUE(v.ok()) << v.status();
    const Status valid = guideline::ValidateVersion(*v, "concord.test");
    EXPECT_TRUE(valid.ok()) << entry.path() << ": " << valid;
    for (const FieldViolation& f : FieldViolationsOf(valid))
      ADD_FAILURE() << f.field << ": " << f.description;
    // Each text says it is a working draft and cites what it rests on.
    EXPECT_FALSE(v->legal_references.empty()) << entry.path();
    EXPECT_GE(v->contents.size(), 2u) << entry.path();
    for (const guideline::Content& c : v->contents) {
      EXPECT_TRUE(c.language == "fr" || c.language == "nl" || c.language == "en" ||
                  c.language == "es" || c.language == "pt");
      EXPECT_EQ(c.body.back(), '\n');
    }
  }
  EXPECT_EQ(count, 5);
}

TEST(GuidelineDraft, TheLeafletIsPublicInFiveLanguages) {
  StatusOr<Draft> d =
      LoadDraft(std::string(CONCORD_SOURCE_DIR) + "/deploy/seed/guidelines/outreach-sex-workers");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->is_public);
  std::vector<std::string> languages;
  for (const guideline::Content& c : d->contents) languages.push_back(c.language);
  std::sort(languages.begin(), languages.end());
  EXPECT_EQ(languages, (std::vector<std::string>{"en", "es", "fr", "nl", "pt"}));
}

TEST(GuidelineDraft, ContentFileNeedsATitle) {
  StatusOr<guideline::Content> c = ParseContentFile("fr", "\r\n# Titre\r\n\r\nLigne.\r\n\r\n\r\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->title, "Titre");
  EXPECT_EQ(c->body, "Ligne.\n");
  EXPECT_EQ(ParseContentFile("fr", "Pas de titre\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::guidelines::client
