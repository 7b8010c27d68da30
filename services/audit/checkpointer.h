// File: services/audit/checkpointer.h
//
// Background thread that signs a checkpoint of the chain head when one is due: every `interval`
// (default 60 s) and/or every `every_records` new records, whichever comes first, and only when
// the head moved since the latest checkpoint. Several replicas may run one: due-ness is judged
// from the latest checkpoint in Redis, and the store keeps the first checkpoint per seq.
//
//   Checkpointer checkpointer(log, {.interval = absl::Seconds(60)});
//   checkpointer.Start();
//   ...
//   checkpointer.Stop();  // prompt: wakes the thread at once
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "common/status/status.h"
#include "services/audit/audit_log.h"

namespace concord::audit {

struct CheckpointerOptions {
  absl::Duration interval = absl::Seconds(60);      // max age of the latest checkpoint; <= 0 = off
  uint64_t every_records = 0;                       // 0 = off
  absl::Duration poll_interval = absl::Seconds(1);  // how often the head is looked at
};

class Checkpointer {
 public:
  /// `log` must outlive the checkpointer.
  Checkpointer(AuditLog& log, CheckpointerOptions options);
  ~Checkpointer();  // Stop()

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Starts the thread (idempotent).
  void Start();
  /// Stops and joins the thread promptly (idempotent, thread-safe).
  void Stop();

  /// One decision: signs a checkpoint if due. true if one was created. Errors (Redis down, a
  /// log that fails verification) are returned; the thread logs them and tries again later.
  StatusOr<bool> RunOnce();

 private:
  void Loop();

  AuditLog& log_;
  const CheckpointerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool failing_ = false;  // only touched by the thread: log transitions, not every poll
  bool stop_ = false;     // guarded by mu_
  bool started_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace concord::audit
