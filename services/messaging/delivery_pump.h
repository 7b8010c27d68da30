// File: services/messaging/delivery_pump.h
//
// The replica's delivery pump: what wakes the callback-API Subscribe streams (messaging_service.cc)
// without a thread per stream. Streams register under their agency key; the pump listens to the
// DeliveryNotifier (the store's PUBLISH, heard on the pub/sub thread) and, for each notification,
// wakes every stream of the agencies it names, on that same thread. A woken stream that is idle
// issues its read through the asynchronous store at once (MessageStore::DeliverAsync), so the
// reads of every stream woken by one notification are queued back to back and go to Redis
// pipelined: one round trip for all of them. A stream that is busy (a read, an audit append or a
// write in flight) only remembers the wake-up and reads again when its batch's last write starts,
// so notifications that arrive meanwhile fold into one read (the adaptive linger: an idle system
// delivers at once, a busy one coalesces).
//
// Polling: a stream asks to be woken at a deadline (WakeAt, poll_interval after its last read)
// for redeliveries after the visibility timeout and notifications lost while pub/sub was down.
// One timer thread per pump keeps the deadlines in a heap; it holds no thread per stream.
//
// In-flight operations: each asynchronous store or audit call of a stream holds an Op token
// (StartOp); the owner waits for them to end (WaitForOps) before it destroys what the callbacks
// use, so a reply that arrives after a stream ended never touches freed memory.
//
// Thread safety: thread-safe. Wake() runs on the pub/sub thread, the timer thread or the caller's
// thread and must not block.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "services/messaging/delivery_notifier.h"

namespace concord::messaging {

/// An inbox entry id ("<ms>-<seq>", a Redis stream id), ordered as the stream orders them.
struct EntryId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const EntryId&) const = default;
};
/// nullopt unless `s` is "<digits>-<digits>".
std::optional<EntryId> ParseEntryId(std::string_view s);

class DeliveryPump {
 public:
  /// A stream the pump wakes.
  class Stream {
   public:
    virtual ~Stream() = default;
    /// The stream's inbox may have changed (a notification, or its poll deadline passed): read
    /// now if idle, else after the batch in flight. Must not block.
    virtual void Wake() = 0;
    /// A notification announced inbox entry `entry_id` ("<ms>-<seq>") for the agency: the
    /// stream may skip the read if a read of its own already took entries up to it. Must not
    /// block. Default: Wake().
    virtual void WakeFor(const std::string& entry_id) {
      (void)entry_id;
      Wake();
    }
  };

  /// Listens to `notifier` (which must outlive the pump) and starts the timer thread.
  explicit DeliveryPump(DeliveryNotifier& notifier);
  /// Stops listening and joins the timer thread. Waits for operations in flight (WaitForOps)
  /// first if the owner did not.
  ~DeliveryPump();
  DeliveryPump(const DeliveryPump&) = delete;
  DeliveryPump& operator=(const DeliveryPump&) = delete;

  /// Registers a stream of agency `rkey` ("<type>/<id>"); returns its id (never 0).
  uint64_t Add(const std::string& rkey, std::weak_ptr<Stream> stream);
  /// Forgets a stream: once it returns the pump starts no further Wake of it (one already
  /// running may finish). Id 0 is ignored.
  void Remove(uint64_t id);
  /// Wakes stream `id` at `deadline` (replaces its earlier deadline).
  void WakeAt(uint64_t id, absl::Time deadline);

  /// Streams registered now.
  size_t streams() const;

  /// A token held by each asynchronous call in flight (copy it into the callback).
  using Op = std::shared_ptr<void>;
  Op StartOp();
  /// Waits until no Op is held, at most `timeout`. True if none is.
  bool WaitForOps(absl::Duration timeout);

 private:
  struct Entry {
    std::string rkey;
    std::weak_ptr<Stream> stream;
    uint64_t generation = 0;  // of its current deadline
  };
  struct Timer {
    absl::Time at;
    uint64_t id;
    uint64_t generation;
    bool operator>(const Timer& o) const { return at > o.at; }
  };

  void OnChange(const std::vector<std::string>& keys, const std::vector<std::string>& entry_ids);
  void TimerLoop();
  void EndOp();

  DeliveryNotifier& notifier_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::set<uint64_t>> by_agency_ ABSL_GUARDED_BY(mu_);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  std::mutex ops_mu_;
  std::condition_variable ops_cv_;
  int64_t ops_ ABSL_GUARDED_BY(ops_mu_) = 0;

  std::thread timer_;
};

}  // namespace concord::messaging
