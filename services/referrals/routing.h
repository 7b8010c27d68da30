// File: services/referrals/routing.h
//
// SuggestCentres: ranks the reception centres of the directory for a victim's needs (languages,
// region, minor status, gender support, exploitation form, capacity) so that, for example, a
// Spanish- or Portuguese-speaking trans woman is offered a centre that can support her
// (recommendation 2024/8). The choice stays with the referring agency. Pure and deterministic.
//
// Score (higher is better; reasons in plain words, one per factor):
//   +10 per victim language the centre speaks             "speaks es"
//   +15 "gender_diversity" for TRANSGENDER / NON_BINARY    "supports gender diversity (LGBTQI+)"
//   +30 "minors" for a minor; a minor's case without it puts the centre LAST (tier 2)
//   +5  "sexual_exploitation" / "labour_exploitation" matching the exploitation forms
//   +8  jurisdiction == the victim's region                "in the victim's region BE-BRU"
//   capacity declared: +5 x free share; full (open >= capacity): -20
// Order: tier, score (descending), display name, agency key.
#pragma once

#include <string>
#include <vector>

#include "common/identity/agency_id.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals {

struct CentreInfo {
  AgencyId id;
  std::string display_name;
  std::string jurisdiction;  // e.g. "BE-BRU"
  std::vector<std::string> languages, specialisations;
  int capacity = 0;  // 0 = not declared
  int open_cases = 0;
};

inline constexpr std::string_view kSpecialisationMinors = "minors";
inline constexpr std::string_view kSpecialisationGenderDiversity = "gender_diversity";
inline constexpr std::string_view kSpecialisationSexual = "sexual_exploitation";
inline constexpr std::string_view kSpecialisationLabour = "labour_exploitation";

/// Ranks `centres` (non-reception-centre entries are ignored); max_results <= 0 = all.
std::vector<v1::CentreSuggestion> RankCentres(const v1::CaseAttributes& attributes,
                                              const std::vector<CentreInfo>& centres,
                                              int max_results);

}  // namespace concord::referrals
