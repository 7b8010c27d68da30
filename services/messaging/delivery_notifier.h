// File: services/messaging/delivery_notifier.h
//
// Wakes the Subscribe streams of an agency when a message reaches its inbox. Every replica hears
// the store's PUBLISH on kDeliveriesChannel ("<rkey>@<entry id> ...": each recipient's agency
// key and the id of the inbox entry appended for it; a bare "<rkey>" from a previous release
// names no entry) through a redis::Subscriber and
// calls Notify; streams wait on a per-agency generation counter, so a notification between
// "read the inbox" and "wait" is never lost. Notifications are only a latency optimisation:
// streams also poll on a timeout (pub/sub drops messages while disconnected).
//
// Each agency key has its own condition variable, so a message wakes only the streams of its
// recipients (one shared notify_all woke every stream of every agency for every message: most
// of the server's context switches under load, docs/performance.md).
//
// Callback-API streams (the DeliveryPump, delivery_pump.h) do not wait: the notifier calls its
// one listener with the agency keys of each notification instead, on the notifying thread.
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace concord::messaging {

class DeliveryNotifier {
 public:
  /// The current generation of `rkey`'s inbox; pass it to WaitForChange.
  uint64_t Generation(const std::string& rkey);
  /// `message`: space-separated "<rkey>@<entry id>" or "<rkey>" (the channel payload).
  void Notify(const std::string& message);
  /// Wakes every waiter (after a pub/sub reconnect, and at shutdown).
  void NotifyAll();
  /// Blocks until `rkey`'s generation differs from `seen` or `timeout` passes. True if changed.
  bool WaitForChange(const std::string& rkey, uint64_t seen, absl::Duration timeout);

  /// Called after every Notify with its agency keys and, aligned with them, the announced inbox
  /// entry ids (empty when the payload names none), and after NotifyAll with empty lists (every
  /// agency, no entry), on the notifying thread (the pub/sub thread): it must not block. Calls
  /// are serialised.
  using Listener = std::function<void(const std::vector<std::string>& keys,
                                      const std::vector<std::string>& entry_ids)>;
  /// Installs `listener` (an empty function removes it); returns once no call of the previous
  /// listener is running.
  void SetListener(Listener listener);

 private:
  struct Slot {
    uint64_t generation = 0;
    std::condition_variable cv;
  };
  // Slots are never removed (one per agency that ever subscribed or received: bounded by the
  // directory); std::map keeps their addresses stable.
  Slot& SlotFor(const std::string& rkey) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::map<std::string, Slot> slots_ ABSL_GUARDED_BY(mu_);
  uint64_t global_ ABSL_GUARDED_BY(mu_) = 0;

  std::mutex listener_mu_;  // held while the listener runs
  Listener listener_ ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace concord::messaging
