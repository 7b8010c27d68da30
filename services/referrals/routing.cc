#include "services/referrals/routing.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/referrals/geography.h"
#include "services/referrals/ids.h"

namespace concord::referrals {
namespace {

constexpr double kPerLanguage = 10;
constexpr double kPerSupportNeed = 10;
constexpr double kExploitationMatch = 5;
constexpr double kFreeCapacity = 5;
constexpr double kFull = -20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool HasCi(const std::vector<std::string>& values, std::string_view wanted) {
  const std::string w = Lower(wanted);
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& v) { return Lower(v) == w; });
}

bool AnyForm(const v1::CaseAttributes& a, std::initializer_list<v1::ExploitationForm> forms) {
  for (int f : a.exploitation_forms()) {
    for (v1::ExploitationForm wanted : forms) {
      if (f == wanted) return true;
    }
  }
  return false;
}

struct Ranked {
  int region_tier = 0;
  int minors_tier = 0;
  v1::CentreSuggestion suggestion;
  std::string key;
};

}  // namespace

std::vector<v1::CentreSuggestion> RankCentres(const v1::SuggestCentresRequest& request,
                                              const std::vector<CentreInfo>& centres) {
  const v1::CaseAttributes& a = request.attributes();
  const std::optional<std::string_view> victim_region = BelgianRegionOf(a.region());
  const bool minor = a.unaccompanied_minor();
  const bool sexual = AnyForm(a, {v1::EXPLOITATION_FORM_SEXUAL});
  const bool labour = AnyForm(
      a, {v1::EXPLOITATION_FORM_FORCED_LABOUR, v1::EXPLOITATION_FORM_BEGGING,
          v1::EXPLOITATION_FORM_SLAVERY_SERVITUDE, v1::EXPLOITATION_FORM_CRIMINAL_ACTIVITIES});
  std::vector<Ranked> ranked;
  for (const CentreInfo& c : centres) {
    if (c.id.type != AgencyType::kReceptionCentre) continue;
    Ranked r;
    r.key = c.id.Key();
    double score = 0;
    auto& reasons = *r.suggestion.mutable_reasons();
    // 1. The region first.
    const std::string jurisdiction = Upper(c.jurisdiction);
    const std::optional<std::string_view> centre_region = BelgianRegionOf(jurisdiction);
    if (victim_region.has_value()) {
      const std::string where =
          *victim_region == a.region()
              ? std::string(a.region())
              : absl::StrCat(std::string(*victim_region), " (province ", a.region(), ")");
      if (jurisdiction == kBelgium) {
        reasons.Add(absl::StrCat("serves all of Belgium, the victim is in ", where));
      } else if (centre_region.has_value() && *centre_region == *victim_region) {
        reasons.Add(absl::StrCat("serves the victim's region ", where));
      } else {
        r.region_tier = 1;
        reasons.Add(absl::StrCat("outside the victim's region ", where, " (serves ",
                                 jurisdiction.empty() ? std::string("-") : jurisdiction, ")"));
      }
    }
    // 2. Unaccompanied minors: the shelters for minors; anyone else: not them.
    const bool for_minors = c.minors_shelter || HasCi(c.specialisations, kSpecialisationMinors);
    if (minor) {
      if (for_minors) {
        reasons.Add("accommodates unaccompanied minors");
      } else {
        r.minors_tier = 1;
      }
    } else if (c.minors_shelter) {
      r.minors_tier = 1;
      reasons.Add("a shelter for unaccompanied minors (listed last)");
    }
    if (c.recognised_centre) {
      reasons.Add("recognised centre (requests residence documents)");
    } else if (c.minors_shelter) {
      reasons.Add("does not request residence documents (not a recognised centre)");
    }
    // 3. Tie-breakers: only what the centre declares.
    for (const std::string& language : request.languages()) {
      if (HasCi(c.languages, language)) {
        score += kPerLanguage;
        reasons.Add(absl::StrCat("declares ", Lower(language)));
      }
    }
    for (const std::string& need : request.support_needs()) {
      if (HasCi(c.specialisations, need)) {
        score += kPerSupportNeed;
        reasons.Add(absl::StrCat("declares ", Lower(need)));
      }
    }
    if (sexual && HasCi(c.specialisations, kSpecialisationSexual)) {
      score += kExploitationMatch;
      reasons.Add("declares sexual_exploitation");
    }
    if (labour && HasCi(c.specialisations, kSpecialisationLabour)) {
      score += kExploitationMatch;
      reasons.Add("declares labour_exploitation");
    }
    if (c.capacity > 0) {
      if (c.open_cases >= c.capacity) {
        score += kFull;
        reasons.Add(absl::StrCat("full (", c.open_cases, " of ", c.capacity, " places taken)"));
      } else {
        score += kFreeCapacity * static_cast<double>(c.capacity - c.open_cases) / c.capacity;
        reasons.Add(
            absl::StrCat("has free places (", c.capacity - c.open_cases, " of ", c.capacity, ")"));
      }
    } else {
      reasons.Add("capacity not declared");
    }
    *r.suggestion.mutable_centre() = AgencyIdToProto(c.id);
    r.suggestion.set_display_name(c.display_name);
    r.suggestion.set_score(score);
    r.suggestion.set_open_cases(c.open_cases);
    r.suggestion.set_capacity(c.capacity);
    ranked.push_back(std::move(r));
  }
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& x, const Ranked& y) {
    return std::make_tuple(x.region_tier, x.minors_tier, -x.suggestion.score(),
                           x.suggestion.display_name(), x.key) <
           std::make_tuple(y.region_tier, y.minors_tier, -y.suggestion.score(),
                           y.suggestion.display_name(), y.key);
  });
  std::vector<v1::CentreSuggestion> out;
  const int max_results = request.max_results();
  for (Ranked& r : ranked) {
    if (max_results > 0 && static_cast<int>(out.size()) >= max_results) break;
    out.push_back(std::move(r.suggestion));
  }
  return out;
}

}  // namespace concord::referrals
