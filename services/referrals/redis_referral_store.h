// File: services/referrals/redis_referral_store.h
//
// ReferralStore on Redis. Every key carries the one hash tag {ref}, so the whole referrals
// keyspace lives in one Cluster slot and each case change is a single atomic Lua script (version
// compare-and-set, case, history, indexes, counts, deadlines, sealed record, outbox). The key
// schema and the scripts are documented at the top of redis_referral_store.cc.
//
//   auto redis = redis::RedisClient::Create(config);
//   RedisReferralStore store(*redis);
//   CONCORD_RETURN_IF_ERROR(store.Apply(write));   // ABORTED when write.previous is stale
#pragma once

#include <string>
#include <string_view>

#include "common/redis/redis_client.h"
#include "common/redis/stream_group.h"
#include "services/referrals/referral_store.h"

namespace concord::referrals {

/// The outbox stream and its consumer group (the notifier reads it).
inline constexpr std::string_view kOutboxGroup = "notifier";

/// Thread-safe (shares the thread-safe RedisClient). Several instances, in one or many processes,
/// may work on the same Redis concurrently.
class RedisReferralStore final : public ReferralStore {
 public:
  explicit RedisReferralStore(redis::RedisClient& redis);

  // ReferralStore
  StatusOr<v1::Case> Get(std::string_view case_id) override;
  Status Apply(const CaseWrite& write) override;
  StatusOr<v1::SealedRecord> GetSealed(std::string_view case_id, int64_t version) override;
  StatusOr<v1::SealedRecord> GetSealedBox(std::string_view case_id, v1::SealedBox box,
                                          int64_t version) override;
  StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view case_id) override;
  StatusOr<CasePage> ListForAgency(const std::string& agency_key, v1::CaseState state,
                                   absl::Time due_before, int page_size,
                                   std::string_view page_token) override;
  StatusOr<std::map<std::string, int64_t>> CentreLoad() override;
  StatusOr<std::map<v1::CaseState, int64_t>> CountByState() override;
  StatusOr<int64_t> CountOverdue(absl::Time now) override;
  StatusOr<int> FireDue(absl::Time now, int max) override;
  StatusOr<std::vector<Firing>> FireDueFirings(absl::Time now, int max) override;
  StatusOr<std::vector<OutboxItem>> ReadOutbox(std::string_view consumer, int max,
                                               absl::Duration claim_after) override;
  Status AckOutbox(const std::vector<std::string>& stream_ids) override;
  StatusOr<int64_t> OutboxPending() override;

 private:
  redis::RedisClient& redis_;
  redis::StreamGroupReader outbox_reader_;
};

}  // namespace concord::referrals
