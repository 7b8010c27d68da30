// File: services/directory/announcement.cc
#include "services/directory/announcement.h"

#include <nlohmann/json.hpp>

namespace concord::directory {

std::string AnnouncementId(const AgencyId& agency, int64_t version) {
  return agency.Key() + "@v" + std::to_string(version);
}

std::string AnnouncementBody(std::string_view event, const AgencyId& agency, int64_t version,
                             const AgencyId& by, absl::Time at,
                             const std::vector<RecordChange>& changes) {
  nlohmann::json list = nlohmann::json::array();
  std::string summary;
  for (const RecordChange& c : changes) {
    list.push_back({{"field", c.field}, {"value", c.value}});
    if (!summary.empty()) summary += ", ";
    summary += c.field;
  }
  const std::string text =
      "The directory record of " + agency.Key() + " was " +
      (event == "agency.registered" ? std::string("registered") : std::string("changed")) + " by " +
      by.Key() + " (" + summary +
      "). If your agency did not ask for this, tell Concord's operators at once: others seal "
      "to and verify with the keys the directory holds.";
  const nlohmann::json j = {
      {"type", std::string(kAnnouncementType)},
      {"event", std::string(event)},
      {"agency", agency.Key()},
      {"version", version},
      {"by", by.Key()},
      {"at", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone())},
      {"changes", list},
      {"text", text},
  };
  return j.dump();
}

}  // namespace concord::directory
