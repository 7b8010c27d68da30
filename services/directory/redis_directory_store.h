// File: services/directory/redis_directory_store.h
//
// DirectoryStore on Redis. Key schema, scripts and invariants: see the top of
// redis_directory_store.cc and services/directory/README.md.
#pragma once

#include <string>

#include "common/redis/redis_client.h"
#include "common/redis/stream_group.h"
#include "services/directory/directory_store.h"

namespace concord::directory {

/// The stream of announcements to the agencies concerned (concord:{dir}:outbox).
std::string AnnouncementOutboxKey();

class RedisDirectoryStore final : public DirectoryStore {
 public:
  /// `redis` must outlive the store. `trust_domain` is the deployment's (records store agency
  /// keys "<type>/<id>" only).
  RedisDirectoryStore(redis::RedisClient& redis, std::string trust_domain);

  StatusOr<Agency> Get(const AgencyId& id) override;
  Status Create(const Agency& agency, const Announcement* announcement) override;
  Status Replace(const Agency& previous, const Agency& next,
                 const Announcement* announcement) override;
  StatusOr<AgencyPage> List(const AgencyFilter& filter, std::string_view after_key,
                            int limit) override;
  StatusOr<RevokedSerial> Revoke(const RevokedSerial& revocation) override;
  StatusOr<Revocations> ListRevocations() override;
  StatusOr<std::vector<QueuedAnnouncement>> ReadAnnouncements(std::string_view consumer, int max,
                                                              absl::Duration claim_after) override;
  Status AckAnnouncements(const std::vector<std::string>& stream_ids) override;
  StatusOr<int64_t> PendingAnnouncements() override;

 private:
  Status Write(const Agency* previous, const Agency& next, const Announcement* announcement);
  StatusOr<Agency> Decode(const std::string& json) const;

  redis::RedisClient& redis_;
  const std::string trust_domain_;
  redis::StreamGroupReader announcement_reader_;
};

}  // namespace concord::directory
