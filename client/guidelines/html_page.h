// File: client/guidelines/html_page.h
//
// Outreach material as a self-contained static web page: one HTML file per language of a
// VERIFIED public guideline version, for a reception centre or an NGO to publish on its own
// site or print (recommendation 2024/9; `concordctl guideline export --html DIR`).
//
// The page has no script, no external resource (no stylesheet, font, image or frame to fetch:
// the style is inline and a Content-Security-Policy of default-src 'none' forbids any load), the
// language of the text in <html lang>, the text itself (the body's "# "/"## " lines as headings,
// "- " lines as list items, other lines as paragraphs separated by blank lines; everything
// HTML-escaped), and a footer, in the page's language, naming the guideline, its version, its
// effective date, its legal references, its publisher and its SHA-256.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/guideline/guideline.h"

namespace concord::guidelines::client {

/// The page of `language` (which the version must have). `sha256` is raw (32 bytes).
std::string RenderPublicPage(const guideline::Version& version, std::string_view sha256,
                             std::string_view language);

/// "<guideline_id>-v<version>.<language>.html".
std::string PublicPageFileName(const guideline::Version& version, std::string_view language);

/// HTML text escaping (&, <, >, ", ').
std::string EscapeHtml(std::string_view text);

}  // namespace concord::guidelines::client
