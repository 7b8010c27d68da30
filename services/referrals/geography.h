// File: services/referrals/geography.h
//
// The places the referrals service reasons about, coarse on purpose (docs/referrals.md
// "Attributes: clear or sealed"):
//   - where the victim is in Belgium: a province or region code of ISO 3166-2:BE, each province
//     resolving to its region (routing: the region comes first);
//   - where the victim comes from: the origin country (ISO 3166-1) and its UN M49 world region,
//     never sub-national text.
//
//   Belgium (ISO 3166-2:BE)   regions BE-BRU (Brussels-Capital; no provinces), BE-VLG (Flanders:
//                             BE-VAN, BE-VBR, BE-VLI, BE-VOV, BE-VWV), BE-WAL (Wallonia: BE-WBR,
//                             BE-WHT, BE-WLG, BE-WLX, BE-WNA)
//
// Thread safety: pure functions over constant tables.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals {

inline constexpr std::string_view kBrusselsRegion = "BE-BRU";
inline constexpr std::string_view kFlandersRegion = "BE-VLG";
inline constexpr std::string_view kWalloniaRegion = "BE-WAL";
/// A centre whose jurisdiction is the whole country ("BE") serves every region.
inline constexpr std::string_view kBelgium = "BE";

/// The region of a Belgian province or region code (exact, upper case): "BE-VOV" -> "BE-VLG",
/// "BE-BRU" -> "BE-BRU", "BE-WAL" -> "BE-WAL"; nullopt for anything else.
std::optional<std::string_view> BelgianRegionOf(std::string_view code);

/// The three regions and the ten provinces, regions first.
const std::vector<std::string_view>& BelgianLocationCodes();

/// The UN M49 world region of an ISO 3166-1 alpha-2 country (XK: Europe); UNSPECIFIED for AQ and
/// anything unknown.
v1::WorldRegion WorldRegionOf(std::string_view country);

}  // namespace concord::referrals
