// File: services/guidelines/guideline_directory.cc
#include "services/guidelines/guideline_directory.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clients/directory_keys.h"
#include "common/clients/directory_reader.h"
#include "common/status/status_macros.h"

namespace concord::guidelines {

bool PublisherRightOf(AgencyType type, std::string_view explicit_value) {
  const bool may_hold = type == AgencyType::kCoordinationUnit || type == AgencyType::kMagistrate;
  if (!may_hold) return false;
  const std::string v = absl::AsciiStrToLower(std::string(explicit_value));
  if (v == "true") return true;
  if (v == "false") return false;
  return type == AgencyType::kCoordinationUnit;
}

RedisGuidelineDirectory::RedisGuidelineDirectory(redis::RedisClient& redis,
                                                 std::string trust_domain)
    : redis_(redis), trust_domain_(std::move(trust_domain)) {}

StatusOr<bool> RedisGuidelineDirectory::HoldsPublisherRight(const AgencyId& agency) {
  // The record's JSON holds the explicit attribute values under "attributes" (the directory's
  // typed attributes); a record without them takes the default of its type.
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Command({"HGET", clients::DirectoryKey("agency:" + agency.Key()), "json"}));
  if (r.is_nil()) {
    return absl::NotFoundError(absl::StrCat("agency ", agency.Key(), " is not registered"));
  }
  const nlohmann::json j = nlohmann::json::parse(r.str, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InternalError("directory: corrupt record");
  std::string value;
  auto attributes = j.find("attributes");
  if (attributes != j.end() && attributes->is_object()) {
    auto it = attributes->find(std::string(kPublisherAttribute));
    if (it != attributes->end() && it->is_string()) value = it->get<std::string>();
  }
  return PublisherRightOf(agency.type, value);
}

StatusOr<crypto::Ed25519PublicKey> RedisGuidelineDirectory::SigningKey(const AgencyId& agency) {
  clients::DirectoryReader reader(redis_, trust_domain_);
  CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry e, reader.Get(agency));
  auto key = crypto::Ed25519PublicKey::FromPem(e.signing_public_key_pem);
  if (!key.ok()) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "agency ", agency.Key(), " has no usable signing key in the directory")),
                      "NO_SIGNING_KEY");
  }
  return *std::move(key);
}

StatusOr<std::vector<AgencyId>> RedisGuidelineDirectory::AgenciesOfType(AgencyType type) {
  clients::DirectoryReader reader(redis_, trust_domain_);
  CONCORD_ASSIGN_OR_RETURN(std::vector<clients::DirectoryEntry> entries, reader.ListByType(type));
  std::vector<AgencyId> out;
  out.reserve(entries.size());
  for (clients::DirectoryEntry& e : entries) out.push_back(std::move(e.id));
  return out;
}

StatusOr<bool> RedisGuidelineDirectory::IsRegistered(const AgencyId& agency) {
  CONCORD_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_.Command({"HEXISTS", clients::DirectoryKey("agency:" + agency.Key()), "json"}));
  return r.integer == 1;
}

}  // namespace concord::guidelines
