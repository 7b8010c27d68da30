#include "services/referrals/routing.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/referrals/ids.h"

namespace concord::referrals {
namespace {

constexpr double kPerLanguage = 10;
constexpr double kGenderSupport = 15;
constexpr double kMinorsSupport = 30;
constexpr double kExploitationMatch = 5;
constexpr double kSameRegion = 8;
constexpr double kFreeCapacity = 5;
constexpr double kFull = -20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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
  int tier = 1;
  v1::CentreSuggestion suggestion;
  std::string key;
};

}  // namespace

std::vector<v1::CentreSuggestion> RankCentres(const v1::CaseAttributes& a,
                                              const std::vector<CentreInfo>& centres,
                                              int max_results) {
  const bool gender_diverse = a.gender_category() == v1::GENDER_CATEGORY_TRANSGENDER ||
                              a.gender_category() == v1::GENDER_CATEGORY_NON_BINARY;
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
    int spoken = 0;
    for (const std::string& language : a.languages()) {
      if (HasCi(c.languages, language)) {
        score += kPerLanguage;
        ++spoken;
        reasons.Add(absl::StrCat("speaks ", Lower(language)));
      }
    }
    if (a.languages_size() > 0 && spoken == 0) {
      reasons.Add("speaks none of the victim's languages");
    }
    if (a.minor()) {
      if (HasCi(c.specialisations, kSpecialisationMinors)) {
        score += kMinorsSupport;
        reasons.Add("supports unaccompanied minors");
      } else {
        r.tier = 2;
        reasons.Add("does not support unaccompanied minors (listed last)");
      }
    }
    if (gender_diverse && HasCi(c.specialisations, kSpecialisationGenderDiversity)) {
      score += kGenderSupport;
      reasons.Add("supports gender diversity (LGBTQI+)");
    }
    if (sexual && HasCi(c.specialisations, kSpecialisationSexual)) {
      score += kExploitationMatch;
      reasons.Add("specialised in sexual exploitation");
    }
    if (labour && HasCi(c.specialisations, kSpecialisationLabour)) {
      score += kExploitationMatch;
      reasons.Add("specialised in labour exploitation");
    }
    if (!a.region().empty() && Lower(c.jurisdiction) == Lower(a.region())) {
      score += kSameRegion;
      reasons.Add(absl::StrCat("in the victim's region ", a.region()));
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
    return std::make_tuple(x.tier, -x.suggestion.score(), x.suggestion.display_name(), x.key) <
           std::make_tuple(y.tier, -y.suggestion.score(), y.suggestion.display_name(), y.key);
  });
  std::vector<v1::CentreSuggestion> out;
  for (Ranked& r : ranked) {
    if (max_results > 0 && static_cast<int>(out.size()) >= max_results) break;
    out.push_back(std::move(r.suggestion));
  }
  return out;
}

}  // namespace concord::referrals
