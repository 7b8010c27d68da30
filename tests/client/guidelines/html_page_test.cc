// The static outreach page (client/guidelines/html_page.h): the language in <html lang>, the
// text escaped, headings and lists, a footer in the page's language, and nothing that a browser
// would fetch or run (no script, no external reference, a CSP of default-src 'none'). The
// integration test opens such pages in headless Chromium (guideline e2e).
#include "client/guidelines/html_page.h"

#include <gtest/gtest.h>

#include <regex>

namespace concord::guidelines::client {
namespace {

guideline::Version Leaflet() {
  guideline::Version v;
  v.guideline_id = "outreach-test";
  v.version = 3;
  v.publisher = AgencyId{"concord.test", AgencyType::kCoordinationUnit, "icu-thb"};
  v.effective_at = absl::FromUnixSeconds(1'800'000'000);
  v.legal_references = {"Law of 15 December 1980, art. 61/2"};
  v.audience.is_public = true;
  v.contents = {{"pt", "Seus direitos <e> ajuda",
                 "Primeiro parágrafo,\ncontinua.\n\n## Sinais\n- um & dois\n- <script>x</script>\n"
                 "\nFim.\n"},
                {"nl", "Uw rechten", "Tekst.\n"}};
  return v;
}

TEST(HtmlPage, LanguageTextAndStructure) {
  const std::string html = RenderPublicPage(Leaflet(), std::string(32, '\xab'), "pt");
  EXPECT_NE(html.find("<html lang=\"pt\">"), std::string::npos);
  EXPECT_NE(html.find("<title>Seus direitos &lt;e&gt; ajuda</title>"), std::string::npos);
  EXPECT_NE(html.find("<p>Primeiro parágrafo,<br>\ncontinua.</p>"), std::string::npos);
  EXPECT_NE(html.find("<h3>Sinais</h3>"), std::string::npos);
  EXPECT_NE(html.find("<li>um &amp; dois</li>"), std::string::npos);
  EXPECT_NE(html.find("<li>&lt;script&gt;x&lt;/script&gt;</li>"), std::string::npos);
  EXPECT_NE(html.find("Versão 3"), std::string::npos);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  EXPECT_NE(html.find("<code>" + hex + "</code>"), std::string::npos);
  EXPECT_EQ(PublicPageFileName(Leaflet(), "pt"), "outreach-test-v3.pt.html");
  EXPECT_EQ(RenderPublicPage(Leaflet(), "", "de"), "");  // no German text
}

TEST(HtmlPage, NothingToFetchOrRun) {
  const std::string html = RenderPublicPage(Leaflet(), std::string(32, '\x01'), "pt");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'"), std::string::npos);
}

}  // namespace
}  // namespace concord::guidelines::client
