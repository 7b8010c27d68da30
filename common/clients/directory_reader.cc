#include "common/clients/directory_reader.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/clients/directory_keys.h"
#include "common/status/status_macros.h"

namespace concord::clients {

DirectoryReader::DirectoryReader(redis::RedisClient& redis, std::string trust_domain)
    : redis_(redis), trust_domain_(std::move(trust_domain)) {}

StatusOr<DirectoryEntry> DirectoryReader::Decode(const std::string& json) const {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InternalError("directory: corrupt record");
  try {
    const auto type = ParseAgencyType(j.value("type", ""));
    if (!type.has_value()) return absl::InternalError("directory: corrupt record type");
    DirectoryEntry e;
    e.id = AgencyId{trust_domain_, *type, j.value("id", "")};
    e.display_name = j.value("display_name", "");
    e.jurisdiction = j.value("jurisdiction", "");
    e.specialisations = j.value("specialisations", std::vector<std::string>{});
    e.languages = j.value("languages", std::vector<std::string>{});
    e.signing_public_key_pem = j.value("signing_public_key_pem", "");
    e.sealing_public_key_pem = j.value("sealing_public_key_pem", "");
    e.capacity = j.value("capacity", 0);
    e.active = j.value("state", "") != "suspended";
    e.attributes = attributes::SanitizeStoredAttributes(
        e.id, j.value("attributes", std::map<std::string, std::string>{}));
    return e;
  } catch (const nlohmann::json::exception&) {
    return absl::InternalError("directory: corrupt record field");
  }
}

StatusOr<DirectoryEntry> DirectoryReader::Get(const AgencyId& agency) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r, redis_.Command({"HGET", DirectoryKey("agency:" + agency.Key()), "json"}));
  if (r.is_nil()) {
    return absl::NotFoundError(absl::StrCat("agency ", agency.Key(), " is not registered"));
  }
  return Decode(r.str);
}

StatusOr<std::vector<DirectoryEntry>> DirectoryReader::ListByType(AgencyType type) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply members,
      redis_.Command({"SMEMBERS", DirectoryKey("idx:type:" + std::string(AgencyTypeName(type)))}));
  std::vector<std::string> keys;
  for (const redis::Reply& m : members.elements) keys.push_back(m.str);
  std::sort(keys.begin(), keys.end());
  std::vector<DirectoryEntry> out;
  if (keys.empty()) return out;
  std::vector<std::vector<std::string>> commands;
  for (const std::string& k : keys)
    commands.push_back({"HGET", DirectoryKey("agency:" + k), "json"});
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(commands));
  for (const redis::Reply& r : replies) {
    if (r.is_nil() || r.type != redis::Reply::Type::kString) continue;  // removed meanwhile
    CONCORD_ASSIGN_OR_RETURN(DirectoryEntry e, Decode(r.str));
    out.push_back(std::move(e));
  }
  return out;
}

StatusOr<std::vector<AgencyType>> DirectoryReader::TypesRegisteredFor(std::string_view id) {
  std::vector<std::vector<std::string>> commands;
  for (AgencyType type : kAllAgencyTypes) {
    commands.push_back({"HEXISTS",
                        DirectoryKey(absl::StrCat("agency:", std::string(AgencyTypeName(type)), "/",
                                                  std::string(id))),
                        "json"});
  }
  CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> replies, redis_.Pipeline(commands));
  std::vector<AgencyType> out;
  for (size_t i = 0; i < replies.size() && i < kAllAgencyTypes.size(); ++i) {
    if (replies[i].is_error()) return absl::InternalError("directory: " + replies[i].str);
    if (replies[i].integer == 1) out.push_back(kAllAgencyTypes[i]);
  }
  return out;
}

}  // namespace concord::clients
