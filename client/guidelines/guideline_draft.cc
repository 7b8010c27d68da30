// File: client/guidelines/guideline_draft.cc
#include "client/guidelines/guideline_draft.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace concord::guidelines::client {
namespace {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgumentWithFields("invalid guideline draft", {{field, what}});
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat(path, ": cannot be read"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

StatusOr<guideline::Content> ParseContentFile(const std::string& language, std::string text) {
  std::string normalised;
  normalised.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    normalised.push_back(text[i]);
  }
  size_t pos = 0;
  while (pos < normalised.size() && normalised[pos] == '\n') ++pos;
  const size_t eol = normalised.find('\n', pos);
  const std::string first =
      normalised.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
  if (first.rfind("# ", 0) != 0 || first.size() < 3) {
    return Bad(absl::StrCat("contents.", language),
               "the file must start with a \"# <title>\" line");
  }
  guideline::Content c;
  c.language = language;
  c.title = first.substr(2);
  std::string body = eol == std::string::npos ? "" : normalised.substr(eol + 1);
  size_t start = 0;
  while (start < body.size() && body[start] == '\n') ++start;
  body = body.substr(start);
  while (body.size() > 1 && body[body.size() - 1] == '\n' && body[body.size() - 2] == '\n') {
    body.pop_back();
  }
  if (!body.empty() && body.back() != '\n') body.push_back('\n');
  c.body = std::move(body);
  return c;
}

StatusOr<Draft> LoadDraft(const std::string& dir) {
  const std::string manifest_path = dir + "/guideline.json";
  StatusOr<std::string> text = ReadFile(manifest_path);
  if (!text.ok()) return text.status();
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(manifest_path, "not a JSON object");
  Draft d;
  try {
    d.guideline_id = j.at("guideline_id").get<std::string>();
    d.topics = j.value("topics", std::vector<std::string>{});
    d.legal_references = j.value("legal_references", std::vector<std::string>{});
    const nlohmann::json audience = j.value("audience", nlohmann::json::object());
    d.is_public = audience.value("public", false);
    for (const std::string& t : audience.value("agency_types", std::vector<std::string>{})) {
      std::optional<AgencyType> type = ParseAgencyType(t);
      if (!type.has_value()) return Bad("audience.agency_types", "unknown agency type " + t);
      d.agency_types.push_back(*type);
    }
    d.agencies = audience.value("agencies", std::vector<std::string>{});
    const int days = j.value("ack_within_days", 30);
    if (days < 1 || days > 366) return Bad("ack_within_days", "1..366");
    d.ack_within = absl::Hours(24 * days);
    const nlohmann::json contents = j.at("contents");
    if (!contents.is_object()) return Bad("contents", "an object: language -> file");
    for (const auto& [language, file] : contents.items()) {
      StatusOr<std::string> body = ReadFile(dir + "/" + file.get<std::string>());
      if (!body.ok()) return body.status();
      StatusOr<guideline::Content> c = ParseContentFile(language, *std::move(body));
      if (!c.ok()) return c.status();
      d.contents.push_back(*std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    return Bad(manifest_path, e.what());
  }
  return d;
}

StatusOr<guideline::Version> BuildVersion(const Draft& draft, const AgencyId& publisher,
                                          int64_t version, absl::Time effective_at,
                                          std::optional<absl::Time> ack_deadline) {
  guideline::Version v;
  v.guideline_id = draft.guideline_id;
  v.version = version;
  v.publisher = publisher;
  v.supersedes = version - 1;
  v.effective_at = effective_at;
  v.ack_deadline = ack_deadline.value_or(effective_at + draft.ack_within);
  v.topics = draft.topics;
  v.legal_references = draft.legal_references;
  v.audience.is_public = draft.is_public;
  v.audience.types = draft.agency_types;
  for (size_t i = 0; i < draft.agencies.size(); ++i) {
    StatusOr<AgencyId> a = ParseAgencyKey(publisher.trust_domain, draft.agencies[i]);
    if (!a.ok()) {
      return Bad(absl::StrCat("audience.agencies[", i, "]"), "not <type>/<id>");
    }
    v.audience.agencies.push_back(*std::move(a));
  }
  v.contents = draft.contents;
  return v;
}

}  // namespace concord::guidelines::client
