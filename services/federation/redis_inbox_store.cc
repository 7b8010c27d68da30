// File: services/federation/redis_inbox_store.cc
#include "services/federation/redis_inbox_store.h"

#include <algorithm>

#include "common/crypto/hash.h"
#include "common/redis/keys.h"
#include "common/redis/script.h"
#include "common/status/status_macros.h"

namespace concord::federation {
namespace {

constexpr std::string_view kTag = "gw";

std::string InboxKey(const AgencyId& owner) { return redis::Key(kTag, "inbox:" + owner.Key()); }
// By SPIFFE id: Relay charges agencies of the partner trust domain, which may share a type and id
// with a local agency (whose bucket Send charges).
std::string SendBucketKey(const AgencyId& agency) {
  return redis::Key(kTag, "quota:send:" + agency.ToSpiffe());
}
std::string SentKey(const std::string& message_id) {
  return redis::Key(kTag, "sent:" + message_id);
}

// KEYS[1] inbox; ARGV item_id, bytes, max fields, digest of the relayed payload. Returns 1
// stored, 0 the same payload already there (a retry), -1 another payload under the id, -2 box
// full. The digest is kept beside the item (field "d:<item_id>"): received_at differs between
// a relay and its retry, the payload does not.
const redis::Script& PutScript() {
  static const auto* const script = new redis::Script(R"lua(
local existing = redis.call('HGET', KEYS[1], 'd:' .. ARGV[1])
if existing then
  if existing == ARGV[4] then return 0 end
  return -1
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'd:' .. ARGV[1], ARGV[4])
return 1
)lua");
  return *script;
}

Status ReplyError(const redis::Reply& reply) {
  if (reply.is_error()) return absl::InternalError("redis: " + reply.str);
  return absl::OkStatus();
}

}  // namespace

Status RedisInboxStore::Put(const AgencyId& owner, const v1::InboundItem& item) {
  std::string bytes;
  std::string payload;
  if (!item.SerializeToString(&bytes) ||
      !(item.has_envelope() ? item.envelope().SerializeToString(&payload)
                            : item.receipt().SerializeToString(&payload))) {
    return absl::InternalError("cannot serialize an item");
  }
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply,
                           redis_.Eval(PutScript(), {InboxKey(owner)},
                                       {item.item_id(), bytes, std::to_string(2 * kMaxInboxItems),
                                        crypto::Sha256Hex(payload)}));
  CONCORD_RETURN_IF_ERROR(ReplyError(reply));
  if (reply.integer == -1) {
    return WithReason(
        absl::AlreadyExistsError("another item with id " + item.item_id() + " was already relayed"),
        "ITEM_CONFLICT");
  }
  if (reply.integer == -2) {
    return WithReason(absl::ResourceExhaustedError("the recipient's inbound box is full (" +
                                                   std::to_string(kMaxInboxItems) + " items)"),
                      "INBOX_FULL");
  }
  return absl::OkStatus();
}

StatusOr<std::vector<v1::InboundItem>> RedisInboxStore::List(const AgencyId& owner) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis_.Command({"HGETALL", InboxKey(owner)}));
  CONCORD_RETURN_IF_ERROR(ReplyError(reply));
  std::vector<v1::InboundItem> items;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str.starts_with("d:")) continue;  // a digest, not an item
    v1::InboundItem item;
    if (!item.ParseFromString(reply.elements[i + 1].str)) {
      return absl::DataLossError("corrupt inbound item");
    }
    items.push_back(std::move(item));
  }
  std::sort(items.begin(), items.end(), [](const v1::InboundItem& a, const v1::InboundItem& b) {
    if (a.received_at().seconds() != b.received_at().seconds()) {
      return a.received_at().seconds() < b.received_at().seconds();
    }
    if (a.received_at().nanos() != b.received_at().nanos()) {
      return a.received_at().nanos() < b.received_at().nanos();
    }
    return a.item_id() < b.item_id();
  });
  if (items.size() > static_cast<size_t>(kListInboundLimit)) items.resize(kListInboundLimit);
  return items;
}

StatusOr<v1::InboundItem> RedisInboxStore::Get(const AgencyId& owner, const std::string& item_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis_.Command({"HGET", InboxKey(owner), item_id}));
  CONCORD_RETURN_IF_ERROR(ReplyError(reply));
  if (reply.is_nil()) return absl::NotFoundError("no inbound item " + item_id);
  v1::InboundItem item;
  if (!item.ParseFromString(reply.str)) return absl::DataLossError("corrupt inbound item");
  return item;
}

Status RedisInboxStore::Remove(const AgencyId& owner, const std::string& item_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply,
                           redis_.Command({"HDEL", InboxKey(owner), item_id, "d:" + item_id}));
  return ReplyError(reply);
}

Status RedisInboxStore::RecordSent(const std::string& message_id, const AgencyId& sender) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply,
                           redis_.Command({"SET", SentKey(message_id), sender.Key(), "EX",
                                           std::to_string(90 * 24 * 3600)}));
  return ReplyError(reply);
}

StatusOr<std::string> RedisInboxStore::SenderOf(const std::string& message_id) {
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis_.Command({"GET", SentKey(message_id)}));
  CONCORD_RETURN_IF_ERROR(ReplyError(reply));
  if (reply.is_nil())
    return absl::NotFoundError("message " + message_id + " was not sent from here");
  return reply.str;
}

Status RedisInboxStore::Charge(const quota::Charge& charge) {
  return quota::ChargeAlone(redis_, SendBucketKey(charge.agency), charge);
}

}  // namespace concord::federation
