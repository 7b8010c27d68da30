// File: services/federation/inbox_store.h
//
// What the gateway keeps (Redis, hash tag {gw}; ACL user concord-gateway): the inbound boxes of
// this deployment's agencies (envelopes and receipts relayed from the partner, sealed and signed
// as they crossed: no plaintext) and, for each envelope sent across, who sent it (so that the
// partner's receipt reaches its sender). Implemented by RedisInboxStore.
#pragma once

#include <string>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"
#include "concord/federation/v1/federation.pb.h"

namespace concord::federation {

/// Bounds of one inbound box: beyond kMaxInboxItems a relay to it is RESOURCE_EXHAUSTED
/// (INBOX_FULL) until its owner acknowledges items.
inline constexpr int64_t kMaxInboxItems = 10000;
inline constexpr int kListInboundLimit = 100;

class InboxStore {
 public:
  virtual ~InboxStore() = default;
  /// Stores `item` in `owner`'s box under item.item_id(). Idempotent: the same bytes again is
  /// OK; different bytes under the same id is ALREADY_EXISTS. RESOURCE_EXHAUSTED (INBOX_FULL)
  /// at kMaxInboxItems.
  virtual Status Put(const AgencyId& owner, const v1::InboundItem& item) = 0;
  /// Up to kListInboundLimit items of `owner`'s box, oldest first.
  virtual StatusOr<std::vector<v1::InboundItem>> List(const AgencyId& owner) = 0;
  /// The item, NOT_FOUND when absent.
  virtual StatusOr<v1::InboundItem> Get(const AgencyId& owner, const std::string& item_id) = 0;
  /// Removes the item (OK when already absent).
  virtual Status Remove(const AgencyId& owner, const std::string& item_id) = 0;
  /// Records that `sender` (local) sent `message_id` across (kept 90 days).
  virtual Status RecordSent(const std::string& message_id, const AgencyId& sender) = 0;
  /// The local sender of `message_id`, NOT_FOUND when it was not sent across from here.
  virtual StatusOr<std::string> SenderOf(const std::string& message_id) = 0;
  /// Charges `charge` (a token bucket of common/quota, under {gw}): RESOURCE_EXHAUSTED
  /// QUOTA_EXCEEDED with RetryInfo when the bucket is short of tokens.
  virtual Status Charge(const quota::Charge& charge) = 0;
};

}  // namespace concord::federation
