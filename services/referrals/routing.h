// File: services/referrals/routing.h
//
// SuggestCentres: ranks the reception centres of the directory for a victim, the way Belgium is
// organised (DOMAIN.md §1 "Regions of the centres"): PAG-ASA serves the Brussels-Capital Region,
// Payoke Flanders, Sürya Wallonia. The victim's location is a province or region code; a province
// resolves to its region (geography.h), and the REGION COMES FIRST. Then, for an unaccompanied
// minor, the shelters for minors (directory attribute minors_shelter, or the declared
// specialisation "minors"); for anyone else those shelters come last. Language and support
// profiles are tie-breakers only, and come only from what a centre declares in the directory
// (languages, specialisations): nothing is assumed about a centre that declares nothing. The
// choice stays with the referring agency. Pure and deterministic.
//
// Order: region tier (serves the victim's region, or all of Belgium "BE": 0; else 1; no location
// given: 0), minors tier, score (descending), display name, agency key. Score (tie-breaker):
//   +10 per victim language the centre declares                "declares es"
//   +10 per support need the centre declares as specialisation "declares gender_diversity"
//   +5  "sexual_exploitation" / "labour_exploitation" matching the exploitation forms
//   capacity declared: +5 x free share; full (open >= capacity): -20
#pragma once

#include <string>
#include <vector>

#include "common/identity/agency_id.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals {

struct CentreInfo {
  AgencyId id;
  std::string display_name;
  std::string jurisdiction;  // "BE-BRU", "BE-VLG", "BE-WAL" (a province resolves), "BE" = all
  std::vector<std::string> languages, specialisations;  // as declared in the directory
  int capacity = 0;                                     // 0 = not declared
  int open_cases = 0;
  bool recognised_centre = false;  // directory attribute recognised_centre
  bool minors_shelter = false;     // directory attribute minors_shelter
};

inline constexpr std::string_view kSpecialisationMinors = "minors";
inline constexpr std::string_view kSpecialisationSexual = "sexual_exploitation";
inline constexpr std::string_view kSpecialisationLabour = "labour_exploitation";

/// Ranks `centres` for `request` (attributes: region, unaccompanied_minor, exploitation forms;
/// languages and support needs as tie-breakers). Non-reception-centre entries are ignored;
/// request.max_results <= 0 = all.
std::vector<v1::CentreSuggestion> RankCentres(const v1::SuggestCentresRequest& request,
                                              const std::vector<CentreInfo>& centres);

}  // namespace concord::referrals
