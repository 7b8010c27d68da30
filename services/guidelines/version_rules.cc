// File: services/guidelines/version_rules.cc
#include "services/guidelines/version_rules.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace concord::guidelines {
namespace {

bool IsLanguageCode(std::string_view s) {
  return s.size() == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

}  // namespace

VersionMeta MetaOf(const guideline::Version& v, std::string_view sha256) {
  VersionMeta m;
  m.guideline_id = v.guideline_id;
  m.version = v.version;
  m.publisher = v.publisher;
  m.effective_at = v.effective_at;
  m.ack_deadline = v.ack_deadline;
  m.topics = v.topics;
  std::sort(m.topics.begin(), m.topics.end());
  m.audience = v.audience;
  for (const guideline::Content& c : v.contents) m.titles[c.language] = c.title;
  m.sha256 = std::string(sha256);
  return m;
}

bool Addressed(const VersionMeta& meta, const AgencyId& agency) {
  const auto& types = meta.audience.types;
  if (std::find(types.begin(), types.end(), agency.type) != types.end()) return true;
  const auto& named = meta.audience.agencies;
  return std::find(named.begin(), named.end(), agency) != named.end();
}

bool Visible(const VersionMeta& meta, const AgencyId& agency) {
  return meta.audience.is_public || meta.publisher == agency || Addressed(meta, agency);
}

bool Effective(const VersionMeta& meta, absl::Time now) {
  return !meta.withdrawn && meta.effective_at <= now;
}

std::optional<int64_t> InForce(const std::vector<VersionMeta>& versions, absl::Time now) {
  std::optional<int64_t> best;
  for (const VersionMeta& m : versions) {
    if (Effective(m, now) && (!best.has_value() || m.version > *best)) best = m.version;
  }
  return best;
}

Status CheckSuccession(const guideline::Version& v, const AgencyId& caller,
                       const std::optional<GuidelineHead>& head) {
  if (!(v.publisher == caller)) {
    return WithReason(
        InvalidArgumentWithFields("the publisher of a version is the caller",
                                  {{"version.publisher", "must be the caller's agency"}}),
        "PUBLISHER_MISMATCH");
  }
  if (v.version == 1) {
    if (head.has_value()) {
      return WithReason(
          absl::AbortedError(absl::StrCat("guideline ", v.guideline_id,
                                          " exists: it is at version ", head->latest)),
          "VERSION_CONFLICT", {{"latest", std::to_string(head->latest)}});
    }
    return absl::OkStatus();
  }
  if (!head.has_value()) {
    return WithReason(absl::NotFoundError(absl::StrCat("guideline ", v.guideline_id, " not found")),
                      "GUIDELINE_NOT_FOUND");
  }
  if (!(head->owner == caller)) {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat("only the publisher of guideline ", v.guideline_id, " (",
                                       head->owner.Key(), ") publishes its versions")),
                      "NOT_GUIDELINE_PUBLISHER");
  }
  if (v.version != head->latest + 1) {
    return WithReason(
        absl::AbortedError(absl::StrCat("guideline ", v.guideline_id, " is at version ",
                                        head->latest, ": the next version is ", head->latest + 1)),
        "VERSION_CONFLICT", {{"latest", std::to_string(head->latest)}});
  }
  return absl::OkStatus();
}

Status ValidatePreferredLanguages(const std::vector<std::string>& preferred,
                                  std::string_view field) {
  FieldErrors errors;
  if (preferred.size() > 6) errors.Add(std::string(field), "at most 6 languages");
  std::set<std::string> seen;
  for (size_t i = 0; i < preferred.size(); ++i) {
    const std::string at = absl::StrCat(std::string(field), "[", i, "]");
    if (!IsLanguageCode(preferred[i])) {
      errors.Add(at, "an ISO 639-1 code in lower case, e.g. fr");
    } else if (!seen.insert(preferred[i]).second) {
      errors.Add(at, "duplicate");
    }
  }
  return errors.ToStatus("invalid language preferences");
}

LanguageChoice ChooseLanguage(const std::vector<std::string>& available,
                              const std::vector<std::string>& preferred) {
  LanguageChoice choice;
  std::set<std::string> seen;
  auto add = [&](const std::string& code) {
    if (seen.insert(code).second) choice.order.push_back(code);
  };
  for (const std::string& p : preferred) add(p);
  for (const char* official : {"nl", "fr", "de", "en"}) add(official);
  std::vector<std::string> sorted = available;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& a : sorted) add(a);
  for (const std::string& code : choice.order) {
    if (std::find(available.begin(), available.end(), code) != available.end()) {
      choice.served = code;
      break;
    }
  }
  return choice;
}

Status ValidateGuidelineId(std::string_view id, std::string_view field) {
  if (guideline::IsValidGuidelineId(id)) return absl::OkStatus();
  return InvalidArgumentWithFields("invalid guideline id",
                                   {{std::string(field), "must match [a-z0-9][a-z0-9-]{2,63}"}});
}

}  // namespace concord::guidelines
