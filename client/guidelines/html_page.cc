// File: client/guidelines/html_page.cc
#include "client/guidelines/html_page.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/crypto/encoding.h"

namespace concord::guidelines::client {
namespace {

struct Labels {
  const char* version;
  const char* effective;
  const char* legal;
  const char* publisher;
  const char* fingerprint;
  const char* note;
};

// The footer's labels in each language a version may carry.
const Labels& LabelsFor(std::string_view language) {
  static const auto* labels = new std::map<std::string, Labels, std::less<>>{
      {"nl",
       {"Versie", "Van toepassing vanaf", "Rechtsgrond", "Uitgegeven door",
        "Vingerafdruk (SHA-256)",
        "Deze tekst is ondertekend door de uitgever en werd bij het aanmaken van deze pagina "
        "gecontroleerd."}},
      {"fr",
       {"Version", "En vigueur depuis le", "Base juridique", "Publié par", "Empreinte (SHA-256)",
        "Ce texte est signé par son éditeur et a été vérifié lors de la création de cette "
        "page."}},
      {"de",
       {"Fassung", "Gültig ab", "Rechtsgrundlage", "Herausgegeben von", "Fingerabdruck (SHA-256)",
        "Dieser Text ist vom Herausgeber signiert und wurde bei der Erstellung dieser Seite "
        "geprüft."}},
      {"en",
       {"Version", "In effect from", "Legal basis", "Published by", "Fingerprint (SHA-256)",
        "This text is signed by its publisher and was verified when this page was made."}},
      {"es",
       {"Versión", "Vigente desde", "Base jurídica", "Publicado por", "Huella (SHA-256)",
        "Este texto está firmado por quien lo publica y se verificó al crear esta página."}},
      {"pt",
       {"Versão", "Em vigor desde", "Base jurídica", "Publicado por", "Impressão digital (SHA-256)",
        "Este texto está assinado por quem o publica e foi verificado ao criar esta página."}},
  };
  auto it = labels->find(language);
  return it != labels->end() ? it->second : labels->at("en");
}

constexpr const char* kStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "line-height:1.55;margin:0;background:#fdfdfc;color:#1c1c1c}"
    "main{max-width:44rem;margin:0 auto;padding:2rem 1.25rem}"
    "h1{font-size:1.7rem;line-height:1.25}h2{font-size:1.25rem;margin-top:1.8rem}"
    "h3{font-size:1.05rem}footer{margin-top:3rem;padding-top:1rem;border-top:1px solid #ccc;"
    "font-size:.85rem;color:#444}code{word-break:break-all}"
    "@media print{main{max-width:none}}";

std::string InlineText(std::string_view line) { return EscapeHtml(line); }

// The body as HTML blocks (see the file comment).
std::string BodyHtml(std::string_view body) {
  std::string out;
  std::vector<std::string> paragraph;
  bool in_list = false;
  auto flush_paragraph = [&] {
    if (paragraph.empty()) return;
    out += "<p>";
    for (size_t i = 0; i < paragraph.size(); ++i) {
      if (i > 0) out += "<br>\n";
      out += InlineText(paragraph[i]);
    }
    out += "</p>\n";
    paragraph.clear();
  };
  auto close_list = [&] {
    if (in_list) out += "</ul>\n";
    in_list = false;
  };
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (line.empty()) {
      flush_paragraph();
      close_list();
    } else if (line.rfind("### ", 0) == 0) {
      flush_paragraph();
      close_list();
      out += "<h3>" + InlineText(line.substr(4)) + "</h3>\n";
    } else if (line.rfind("## ", 0) == 0) {
      flush_paragraph();
      close_list();
      out += "<h3>" + InlineText(line.substr(3)) + "</h3>\n";
    } else if (line.rfind("# ", 0) == 0) {
      flush_paragraph();
      close_list();
      out += "<h2>" + InlineText(line.substr(2)) + "</h2>\n";
    } else if (line.rfind("- ", 0) == 0) {
      flush_paragraph();
      if (!in_list) out += "<ul>\n";
      in_list = true;
      out += "<li>" + InlineText(line.substr(2)) + "</li>\n";
    } else {
      close_list();
      paragraph.emplace_back(line);
    }
    if (end == body.size()) break;
  }
  flush_paragraph();
  close_list();
  return out;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string PublicPageFileName(const guideline::Version& v, std::string_view language) {
  return absl::StrCat(v.guideline_id, "-v", v.version, ".", std::string(language), ".html");
}

std::string RenderPublicPage(const guideline::Version& v, std::string_view sha256,
                             std::string_view language) {
  const guideline::Content* c = v.ContentIn(language);
  if (c == nullptr) return "";
  const Labels& l = LabelsFor(language);
  const std::string lang = EscapeHtml(language);
  std::string html;
  html += "<!DOCTYPE html>\n";
  html += "<html lang=\"" + lang + "\">\n<head>\n<meta charset=\"utf-8\">\n";
  html +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<meta name=\"generator\" content=\"Concord guideline export\">\n";
  html += "<title>" + EscapeHtml(c->title) + "</title>\n";
  html += std::string("<style>") + kStyle + "</style>\n</head>\n<body>\n<main>\n";
  html += "<article>\n<h1>" + EscapeHtml(c->title) + "</h1>\n";
  html += BodyHtml(c->body);
  html += "</article>\n<footer>\n<p>";
  html += EscapeHtml(l.version) + " " + std::to_string(v.version) + " &middot; " +
          EscapeHtml(v.guideline_id) + " &middot; " + EscapeHtml(l.effective) + " " +
          EscapeHtml(absl::FormatTime("%Y-%m-%d", v.effective_at, absl::UTCTimeZone())) + "</p>\n";
  if (!v.legal_references.empty()) {
    html += "<p>" + EscapeHtml(l.legal) + ":</p>\n<ul>\n";
    for (const std::string& r : v.legal_references) html += "<li>" + EscapeHtml(r) + "</li>\n";
    html += "</ul>\n";
  }
  html += "<p>" + EscapeHtml(l.publisher) + ": " + EscapeHtml(v.publisher.Key()) + "</p>\n";
  html +=
      "<p>" + EscapeHtml(l.fingerprint) + ": <code>" + crypto::HexEncode(sha256) + "</code></p>\n";
  html += "<p>" + EscapeHtml(l.note) + "</p>\n";
  html += "</footer>\n</main>\n</body>\n</html>\n";
  return html;
}

}  // namespace concord::guidelines::client
