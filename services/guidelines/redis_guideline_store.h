// File: services/guidelines/redis_guideline_store.h
//
// GuidelineStore on Redis. Every key carries the one hash tag {gl}, so the whole guidelines
// keyspace lives in one Cluster slot and each change is a single atomic Lua script (publication
// with its audience, the supersession and freeze of the previous version and the feed entry; a
// withdrawal; an acknowledgement; the promotion of scheduled versions). The key schema and the
// scripts are documented at the top of redis_guideline_store.cc.
//
//   auto redis = redis::RedisClient::Create(config);
//   RedisGuidelineStore store(*redis);
//   CONCORD_ASSIGN_OR_RETURN(PublishOutcome done, store.Publish(write));
#pragma once

#include <string>
#include <string_view>

#include "common/redis/redis_client.h"
#include "services/guidelines/guideline_store.h"

namespace concord::guidelines {

/// The pub/sub channel on which every feed append is announced (the message is the feed id).
inline constexpr std::string_view kFeedChannel = "concord:{gl}:events";

/// Thread-safe (shares the thread-safe RedisClient). Several instances, in one or many processes,
/// may work on the same Redis concurrently.
class RedisGuidelineStore final : public GuidelineStore {
 public:
  explicit RedisGuidelineStore(redis::RedisClient& redis);

  // GuidelineStore
  StatusOr<GuidelineHead> Head(std::string_view guideline_id) override;
  StatusOr<PublishOutcome> Publish(const PublishWrite& write) override;
  StatusOr<StoredVersion> Get(std::string_view guideline_id, int64_t version) override;
  StatusOr<std::vector<VersionMeta>> Versions(std::string_view guideline_id) override;
  StatusOr<std::vector<VersionMeta>> AllVersions(size_t max) override;
  StatusOr<std::vector<std::string>> GuidelineIds() override;
  StatusOr<std::vector<std::string>> Audience(std::string_view guideline_id,
                                              int64_t version) override;
  StatusOr<bool> InAudience(std::string_view guideline_id, int64_t version,
                            const std::string& agency_key) override;
  StatusOr<bool> Withdraw(const WithdrawWrite& write) override;
  StatusOr<AckOutcome> Acknowledge(std::string_view guideline_id, int64_t version,
                                   const std::string& agency_key, std::string_view sha256,
                                   absl::Time now,
                                   const std::vector<quota::Charge>& charges) override;
  StatusOr<std::map<std::string, AckRecord>> Acks(std::string_view guideline_id,
                                                  int64_t version) override;
  StatusOr<std::vector<std::optional<AckRecord>>> AckedBy(
      const std::string& agency_key,
      const std::vector<std::pair<std::string, int64_t>>& versions) override;
  StatusOr<std::vector<FeedEntry>> ReadFeed(std::string_view after, size_t max) override;
  StatusOr<int> PromoteDue(absl::Time now, int max) override;

 private:
  redis::RedisClient& redis_;
};

}  // namespace concord::guidelines
