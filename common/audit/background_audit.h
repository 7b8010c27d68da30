// File: common/audit/background_audit.h
//
// Appends audit records off the calling thread, for callers that must not block on Redis: the
// authorization layer records every refused call (an agency probing methods or cases it may not
// reach) from gRPC's transport thread. Bounded: when `capacity` records wait, new ones are
// dropped and counted (concord_audit_background_dropped_total) instead of growing memory or
// blocking the server. Records that could not be appended (store down) are retried a few times,
// then dropped and counted. The operation a refusal stands for was NOT performed, so a dropped
// record of a refusal loses evidence of an attempt, never of an access.
//
// Thread safety: Submit is thread-safe; the destructor drains what is queued (bounded wait).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/audit/audit_event.h"
#include "common/metrics/metrics.h"
#include "prometheus/counter.h"

namespace concord::audit {

class BackgroundAuditWriter {
 public:
  BackgroundAuditWriter(AuditSink& sink, metrics::Metrics& metrics, size_t capacity = 4096);
  ~BackgroundAuditWriter();
  BackgroundAuditWriter(const BackgroundAuditWriter&) = delete;
  BackgroundAuditWriter& operator=(const BackgroundAuditWriter&) = delete;

  /// Never blocks on I/O. False when the record was dropped (queue full or stopping).
  bool Submit(AuditEvent event);
  /// Waits until everything submitted so far was appended or dropped (tests, shutdown).
  void Flush();

 private:
  void Loop();

  AuditSink& sink_;
  const size_t capacity_;
  prometheus::Counter* dropped_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<AuditEvent> queue_;  // guarded by mu_
  bool busy_ = false;             // guarded by mu_
  bool stop_ = false;             // guarded by mu_
  std::thread thread_;
};

}  // namespace concord::audit
