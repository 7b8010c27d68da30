// File: common/redis/stream_group.h
//
// One consumer's reads from a Redis stream consumer group (an outbox): the entries it must
// handle next, each returned once per read, in the order below.
//
//   redis::StreamGroupReader reader(redis, outbox_key, "notifier");
//   CONCORD_ASSIGN_OR_RETURN(std::vector<redis::Reply> entries,
//                            reader.Read("replica-1", 32, absl::Seconds(30)));
//   // each entry is [id, [field, value, ...]]; once handled:
//   CONCORD_RETURN_IF_ERROR(reader.AckAndDelete(handled_ids));
//
// A read returns, up to `max` entries:
//   1. after a failed read (and on the first read of the process): this consumer's own pending
//      entries. A read that timed out on the client may still have run in Redis once it answered
//      again (a frozen Redis), leaving entries assigned to this consumer that it never saw; they
//      are picked up on the next read instead of waiting for claim_after;
//   2. entries another consumer (or this one) read and left unacknowledged for claim_after
//      (XAUTOCLAIM, a bounded scan of the pending list);
//   3. new entries (XREADGROUP >).
// The group is created on first use. Thread-safe.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"

namespace concord::redis {

/// True iff `id` has the form of a stream entry id: "<digits>-<digits>", at most 41 bytes.
bool IsStreamId(std::string_view id);

class StreamGroupReader {
 public:
  StreamGroupReader(RedisClient& redis, std::string key, std::string group)
      : redis_(redis), key_(std::move(key)), group_(std::move(group)) {}

  /// INVALID_ARGUMENT (field `consumer`) for an empty, over-long (>128) or blank-containing
  /// consumer name; UNAVAILABLE when Redis is; INTERNAL on a malformed reply.
  StatusOr<std::vector<Reply>> Read(std::string_view consumer, int max, absl::Duration claim_after);

  /// XGROUP CREATE ... MKSTREAM; an existing group is fine.
  Status EnsureGroup();

  /// Acknowledges the handled entries and deletes them (XACK then XDEL, one script): an outbox
  /// keeps nothing it has handled. Ids already gone are fine. INVALID_ARGUMENT naming
  /// `stream_ids[i]` for a malformed id, and then nothing is acknowledged; UNAVAILABLE when
  /// Redis is. Nothing to do for no id.
  Status AckAndDelete(const std::vector<std::string>& stream_ids);

  /// Entries left in the stream (XLEN): handled entries are deleted, so this is the backlog.
  StatusOr<int64_t> Length();

 private:
  Status ReadInto(std::string_view consumer, int max, absl::Duration claim_after,
                  std::vector<Reply>& out);

  RedisClient& redis_;
  const std::string key_;
  const std::string group_;
  std::atomic<bool> reread_own_{true};
};

}  // namespace concord::redis
