// File: services/federation/redis_inbox_store.h
//
// InboxStore on Redis. Keys (hash tag {gw}, Cluster-ready; ACL user concord-gateway):
//   concord:{gw}:inbox:<type>/<id>   HASH item_id -> serialized concord.federation.v1.InboundItem
//                                    (the envelope or receipt as relayed: sealed and signed);
//                                    "d:<item_id>" -> SHA-256 of the relayed payload (retries)
//   concord:{gw}:sent:<message_id>   STRING "<type>/<id>" of the local sender, EX 90 days
//   concord:{gw}:quota:send:<SPIFFE id>  token bucket (common/quota/token_bucket.h) of the agency
//                                    sending across (outbound: the local sender; inbound: the
//                                    partner sender), keyed by the full SPIFFE id so that a
//                                    partner agency never shares a local agency's bucket
// Put is one Lua script (HLEN bound + HSETNX + compare), so replicas never double-store.
#pragma once

#include "common/redis/redis_client.h"
#include "services/federation/inbox_store.h"

namespace concord::federation {

class RedisInboxStore final : public InboxStore {
 public:
  explicit RedisInboxStore(redis::RedisClient& redis) : redis_(redis) {}

  Status Put(const AgencyId& owner, const v1::InboundItem& item) override;
  StatusOr<std::vector<v1::InboundItem>> List(const AgencyId& owner) override;
  StatusOr<v1::InboundItem> Get(const AgencyId& owner, const std::string& item_id) override;
  Status Remove(const AgencyId& owner, const std::string& item_id) override;
  Status RecordSent(const std::string& message_id, const AgencyId& sender) override;
  StatusOr<std::string> SenderOf(const std::string& message_id) override;
  Status Charge(const quota::Charge& charge) override;

 private:
  redis::RedisClient& redis_;
};

}  // namespace concord::federation
