// File: tests/support/wait.h
// Waiting for an asynchronous effect without a sleep as synchronisation, and counting threads.
//
//   ASSERT_TRUE(testing::WaitUntil([&] { return stream.ended(); }, absl::Seconds(10)));
//   std::optional<StatusOr<uint32_t>> got = testing::AwaitCallback<StatusOr<uint32_t>>(
//       [&](auto done) { store.AckAsync(agency, ids, now, std::move(done)); });
#pragma once

#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace concord::testing {

/// Polls `done` every `step` until it returns true (true) or `timeout` has passed (false).
template <typename F>
bool WaitUntil(F done, absl::Duration timeout, absl::Duration step = absl::Milliseconds(5)) {
  const absl::Time until = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(step);
  }
  return true;
}

/// Calls `start(done)` and waits up to `timeout` for `done(T)` to be called, from any thread:
/// the value passed, or nullopt if `done` was not called in time. A call that comes after the
/// timeout is harmless (the state it writes is shared, not on this stack).
template <typename T, typename Start>
std::optional<T> AwaitCallback(Start start, absl::Duration timeout = absl::Seconds(10)) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
  };
  auto state = std::make_shared<State>();
  start([state](T got) {
    std::lock_guard<std::mutex> lock(state->mu);
    state->value = std::move(got);
    state->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(state->mu);
  state->cv.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                     [&] { return state->value.has_value(); });
  return std::move(state->value);
}

/// Threads of this process now (/proc/self/status), or -1 if it cannot be read.
inline int ThreadsOfThisProcess() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

}  // namespace concord::testing
