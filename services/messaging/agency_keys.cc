#include "services/messaging/agency_keys.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/redis/keys.h"
#include "common/status/status_macros.h"

namespace concord::messaging {

RedisAgencyKeys::RedisAgencyKeys(redis::RedisClient& redis, const Clock& clock, absl::Duration ttl)
    : redis_(redis), clock_(clock), ttl_(ttl) {}

StatusOr<AgencyKeyRecord> RedisAgencyKeys::Lookup(const AgencyId& agency) {
  const std::string key = agency.Key();
  const absl::Time now = clock_.Now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && now - it->second.fetched < ttl_) return it->second.record;
  }
  // The directory's record key (services/directory/redis_directory_store.cc).
  CONCORD_ASSIGN_OR_RETURN(redis::Reply r,
                           redis_.Command({"HGET", redis::Key("dir", "agency:" + key), "json"}));
  if (r.is_nil()) return absl::NotFoundError(absl::StrCat("agency ", key, " is not registered"));
  std::string pem, state;
  try {
    const nlohmann::json j = nlohmann::json::parse(r.str);
    pem = j.value("signing_public_key_pem", "");
    state = j.value("state", "");
  } catch (const nlohmann::json::exception&) {
    return absl::InternalError("directory record is not valid JSON");
  }
  auto signing = crypto::Ed25519PublicKey::FromPem(pem);
  if (!signing.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("agency ", key, " has no valid signing key in the directory"));
  }
  AgencyKeyRecord record{*std::move(signing), state != "suspended"};
  std::lock_guard<std::mutex> lock(mu_);
  cache_.insert_or_assign(key, Cached{record, now});
  return record;
}

}  // namespace concord::messaging
