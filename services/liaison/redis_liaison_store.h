// File: services/liaison/redis_liaison_store.h
//
// RedisLiaisonStore: LiaisonStore on Redis, every key under the hash tag {lia} (one Cluster slot;
// the ACL user concord-liaison may touch nothing else but read {dir} and append to its audit
// intake). Key schema and scripts: redis_liaison_store.cc.
#pragma once

#include "common/redis/redis_client.h"
#include "common/redis/stream_group.h"
#include "services/liaison/liaison_store.h"

namespace concord::liaison {

inline constexpr std::string_view kOutboxGroup = "notifier";

class RedisLiaisonStore final : public LiaisonStore {
 public:
  explicit RedisLiaisonStore(redis::RedisClient& redis);

  StatusOr<v1::Request> Get(std::string_view request_id) override;
  StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view request_id) override;
  Status Apply(const RequestWrite& write) override;
  StatusOr<RequestPage> ListForAgency(const std::string& agency_key, v1::RequestType type,
                                      v1::RequestState state, int page_size,
                                      std::string_view page_token) override;
  StatusOr<std::map<std::string, int64_t>> CountByTypeState() override;
  StatusOr<std::map<std::string, int64_t>> CountDueBetween(absl::Time from, absl::Time to) override;
  StatusOr<std::vector<ClaimedFiring>> FireDue(absl::Time now, int max) override;
  StatusOr<std::vector<OutboxItem>> ReadOutbox(std::string_view consumer, int max,
                                               absl::Duration claim_after) override;
  Status AckOutbox(const std::vector<std::string>& stream_ids) override;
  StatusOr<int64_t> OutboxPending() override;
  StatusOr<std::string> ClaimCrossing(std::string_view key, std::string_view proposed_id) override;
  StatusOr<std::optional<std::string>> FindCrossing(std::string_view key) override;
  Status Link(const std::string& police_key, const v1::NotificationLink& link) override;
  StatusOr<std::vector<v1::NotificationLink>> Links(const std::string& police_key,
                                                    std::string_view case_reference) override;
  StatusOr<v1::Jit> GetJit(std::string_view jit_id) override;
  StatusOr<int64_t> ApplyJit(const JitWrite& write) override;
  StatusOr<int64_t> AppendJitEntry(std::string_view jit_id, const std::string& actor_key,
                                   const std::vector<std::string>& recipient_keys,
                                   const v1::JitEntry& entry,
                                   const std::vector<quota::Charge>& charges) override;
  StatusOr<std::vector<v1::JitEntry>> JitEntries(std::string_view jit_id, int64_t after_seq,
                                                 int max) override;
  StatusOr<bool> IsJitMember(std::string_view jit_id, const std::string& agency_key) override;

 private:
  redis::RedisClient& redis_;
  redis::StreamGroupReader outbox_reader_;
};

}  // namespace concord::liaison
