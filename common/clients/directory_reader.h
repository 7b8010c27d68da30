// File: common/clients/directory_reader.h
//
// Read-only access to the directory's agency records for services that need more than the
// revocation cache (e.g. referrals ranks the reception centres by language, region and capacity,
// and seals notifications to agencies' X25519 keys). Reads the keys the directory service writes
// (services/directory/redis_directory_store.cc documents the schema):
//   concord:{dir}:agency:<type>/<id>   HASH json -> the record
//   concord:{dir}:idx:type:<type>      SET  agency keys of that type
// No caching here: callers that read on a hot path keep their own (agency records change rarely
// and a directory change is announced on kDirectoryEventsChannel).
//
// Thread safety: thread-safe (RedisClient is).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/attributes/agency_attributes.h"
#include "common/identity/agency_id.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"

namespace concord::clients {

struct DirectoryEntry {
  AgencyId id;
  std::string display_name;
  std::string jurisdiction;
  std::vector<std::string> specialisations;
  std::vector<std::string> languages;
  std::string signing_public_key_pem;
  std::string sealing_public_key_pem;
  int capacity = 0;  // reception centres: places (0 = not declared)
  bool active = true;
  /// Explicit attribute values; read them through attributes::AgencyAttributes(id, attributes).
  attributes::AttributeMap attributes;
};

class DirectoryReader {
 public:
  DirectoryReader(redis::RedisClient& redis, std::string trust_domain);

  /// NOT_FOUND if the agency is not registered; UNAVAILABLE if Redis is down; INTERNAL if the
  /// record is corrupt.
  StatusOr<DirectoryEntry> Get(const AgencyId& agency);
  /// Every registered agency of `type` (suspended ones included, `active` false), ordered by key.
  StatusOr<std::vector<DirectoryEntry>> ListByType(AgencyType type);
  /// The types under which the agency id `id` is registered (suspended ones included), in
  /// kAllAgencyTypes order; one pipelined round trip. Says what an id is when it is named with
  /// another type (a referral's magistrate "magistrate/pz-x" when only "police/pz-x" exists).
  StatusOr<std::vector<AgencyType>> TypesRegisteredFor(std::string_view id);

 private:
  StatusOr<DirectoryEntry> Decode(const std::string& json) const;

  redis::RedisClient& redis_;
  const std::string trust_domain_;
};

}  // namespace concord::clients
