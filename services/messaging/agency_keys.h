// File: services/messaging/agency_keys.h
//
// What messaging needs from the directory: does an agency exist, is it active, and what is its
// Ed25519 signing key. RedisAgencyKeys reads the directory's own records
// (concord:{dir}:agency:<type>/<id>, field "json", see services/directory/redis_directory_store.cc)
// and caches them briefly; suspension is ALSO checked against the RevocationView (pub/sub
// invalidated, effective within 5 s), so the cache only delays key rotation, never suspension.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "common/crypto/ed25519.h"
#include "common/identity/agency_id.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"
#include "common/time/clock.h"

namespace concord::messaging {

struct AgencyKeyRecord {
  crypto::Ed25519PublicKey signing_key;
  bool active = true;  // false while suspended in the directory record
};

class AgencyKeys {
 public:
  virtual ~AgencyKeys() = default;
  /// NOT_FOUND if the agency is not registered; UNAVAILABLE if the directory cannot be read;
  /// FAILED_PRECONDITION if its record has no valid signing key.
  virtual StatusOr<AgencyKeyRecord> Lookup(const AgencyId& agency) = 0;
};

class RedisAgencyKeys final : public AgencyKeys {
 public:
  /// `ttl`: how long a looked-up record is reused (also for NOT_FOUND answers: none).
  RedisAgencyKeys(redis::RedisClient& redis, const Clock& clock,
                  absl::Duration ttl = absl::Seconds(30));
  StatusOr<AgencyKeyRecord> Lookup(const AgencyId& agency) override;

 private:
  struct Cached {
    AgencyKeyRecord record;
    absl::Time fetched;
  };
  redis::RedisClient& redis_;
  const Clock& clock_;
  const absl::Duration ttl_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace concord::messaging
