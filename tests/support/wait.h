// File: tests/support/wait.h
// Waiting for an asynchronous effect without a sleep as synchronisation, and counting threads.
//
//   ASSERT_TRUE(testing::WaitUntil([&] { return stream.ended(); }, absl::Seconds(10)));
#pragma once

#include <fstream>
#include <string>

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
