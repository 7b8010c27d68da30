#include "services/referrals/geography.h"

#include <array>
#include <utility>

namespace concord::referrals {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kLocations = {{
    {"BE-BRU", kBrusselsRegion},
    {"BE-VLG", kFlandersRegion},
    {"BE-WAL", kWalloniaRegion},
    {"BE-VAN", kFlandersRegion},  // Antwerp
    {"BE-VBR", kFlandersRegion},  // Flemish Brabant
    {"BE-VLI", kFlandersRegion},  // Limburg
    {"BE-VOV", kFlandersRegion},  // East Flanders
    {"BE-VWV", kFlandersRegion},  // West Flanders
    {"BE-WBR", kWalloniaRegion},  // Walloon Brabant
    {"BE-WHT", kWalloniaRegion},  // Hainaut
    {"BE-WLG", kWalloniaRegion},  // Liège
    {"BE-WLX", kWalloniaRegion},  // Luxembourg
    {"BE-WNA", kWalloniaRegion},  // Namur
}};

// UN M49 regions (Africa 002, Americas 019, Asia 142, Europe 150, Oceania 009) of the 249 codes
// of Debian iso-codes plus XK; AQ (Antarctica) belongs to none.
constexpr std::string_view kAfrica =
    "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW IO KE KM LR LS LY MA "
    "MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TF TG TN TZ UG YT ZA ZM ZW ";
constexpr std::string_view kAmericas =
    "AG AI AR AW BB BL BM BO BQ BR BS BV BZ CA CL CO CR CU CW DM DO EC FK GD GF GL GP GS GT GY "
    "HN HT JM KN KY LC MF MQ MS MX NI PA PE PM PR PY SR SV SX TC TT US UY VC VE VG VI ";
constexpr std::string_view kAsia =
    "AE AF AM AZ BD BH BN BT CN CY GE HK ID IL IN IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN "
    "MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE ";
constexpr std::string_view kEurope =
    "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT "
    "LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK ";
constexpr std::string_view kOceania =
    "AS AU CC CK CX FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS ";

bool InList(std::string_view list, std::string_view code) {
  if (code.size() != 2) return false;
  for (size_t pos = 0; pos + 2 <= list.size(); pos += 3) {
    if (list.substr(pos, 2) == code) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> BelgianRegionOf(std::string_view code) {
  for (const auto& [location, region] : kLocations) {
    if (location == code) return region;
  }
  return std::nullopt;
}

const std::vector<std::string_view>& BelgianLocationCodes() {
  static const auto* const kCodes = [] {
    auto* out = new std::vector<std::string_view>;
    for (const auto& [location, region] : kLocations) out->push_back(location);
    return out;
  }();
  return *kCodes;
}

v1::WorldRegion WorldRegionOf(std::string_view country) {
  if (InList(kAfrica, country)) return v1::WORLD_REGION_AFRICA;
  if (InList(kAmericas, country)) return v1::WORLD_REGION_AMERICAS;
  if (InList(kAsia, country)) return v1::WORLD_REGION_ASIA;
  if (InList(kEurope, country)) return v1::WORLD_REGION_EUROPE;
  if (InList(kOceania, country)) return v1::WORLD_REGION_OCEANIA;
  return v1::WORLD_REGION_UNSPECIFIED;
}

}  // namespace concord::referrals
