// File: common/redis/subscriber.h
//
// Pub/sub listener: a background thread with its own connection SUBSCRIBEs to fixed channels and
// hands every message to a callback. On any disconnect it reconnects with exponential backoff
// (50 ms .. max_backoff, jittered) and calls on_connected after each successful (re)subscribe,
// because messages published while it was disconnected are lost: the caller reloads its state
// there (e.g. the directory cache re-reads suspensions and revocations).
//
//   redis::Subscriber sub(config, {"concord:directory:events"},
//       [&](const std::string& channel, const std::string& msg) { cache.Invalidate(msg); },
//       [&] { cache.ReloadAll(); });
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/redis/redis_config.h"

namespace concord::redis {

class Subscriber {
 public:
  using MessageHandler =
      std::function<void(const std::string& channel, const std::string& message)>;

  /// Starts the thread at once; never blocks and never fails (Redis may be down: it keeps
  /// retrying). Both callbacks run on the subscriber thread, one at a time; they must not throw,
  /// should return quickly and must not destroy this Subscriber. on_connected may be empty.
  Subscriber(RedisConfig config, std::vector<std::string> channels, MessageHandler on_message,
             std::function<void()> on_connected);
  /// Stops the thread: returns within about connect_timeout (immediately when not connecting).
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  /// True while subscribed (set just before on_connected runs, cleared when the connection is
  /// lost). For tests and health reporting.
  bool connected() const { return connected_.load(); }

 private:
  void Run();
  /// One connection's life: connect, subscribe, deliver until error or stop. Returns true if it
  /// got as far as subscribing (so the backoff restarts from its minimum).
  bool RunSession();
  /// Waits up to `d` unless stopped; returns false when stopping.
  bool WaitUnlessStopped(std::chrono::nanoseconds d);
  bool stopping() const { return stop_.load(); }

  const RedisConfig config_;
  const std::vector<std::string> channels_;
  const MessageHandler on_message_;
  const std::function<void()> on_connected_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int wake_read_fd_ = -1;  // self-pipe: the destructor interrupts poll() at once
  int wake_write_fd_ = -1;
  std::thread thread_;  // last: starts after every other member is initialised
};

}  // namespace concord::redis
