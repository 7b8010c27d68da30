// File: services/guidelines/guideline_directory.cc
#include "services/guidelines/guideline_directory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/attributes/agency_attributes.h"
#include "common/clients/directory_keys.h"
#include "common/clients/directory_reader.h"
#include "common/status/status_macros.h"

namespace concord::guidelines {

RedisGuidelineDirectory::RedisGuidelineDirectory(redis::RedisClient& redis,
                                                 std::string trust_domain)
    : redis_(redis), trust_domain_(std::move(trust_domain)) {}

StatusOr<bool> RedisGuidelineDirectory::HoldsPublisherRight(const AgencyId& agency) {
  // The directory's typed attributes (common/attributes): the record's explicit values,
  // sanitized by the reader, else the default of the agency's type.
  clients::DirectoryReader reader(redis_, trust_domain_);
  CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry e, reader.Get(agency));
  return attributes::AgencyAttributes(agency, e.attributes).Flag(kPublisherAttribute);
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
