// File: common/quota/storage_guard.h
//
// StorageGuard: Redis never fills silently. Redis runs `maxmemory-policy noeviction`: once full,
// EVERY write fails, audit appends and acknowledgements included. The guard reads Redis's memory
// (`INFO memory`: used_memory, maxmemory; the command is granted to Concord's ACL users for this)
// every `poll_interval` on a thread of its own, and answers from memory whether new data may be
// stored: at or above the watermark (`watermark_percent` of maxmemory) new messages, uploads and
// drafts are refused with RESOURCE_EXHAUSTED (refusal.h, reason STORAGE_WATERMARK), while
// acknowledgements, receipts, referral transitions, audit appends and erasures go on in the
// headroom between the watermark and maxmemory. Without maxmemory (0) or while INFO cannot be
// read, nothing is refused and the watermark gauge is 0 (the ConcordRedisWatermarkUnset alert
// fires).
//
// How much can pass the watermark: what every replica accepts within one poll interval (bounded
// by the quotas of quota_table.h), far below the headroom of the defaults (15 % of maxmemory).
//
// Metrics (deployment-wide values read from Redis: aggregate with max):
// concord_redis_used_memory_bytes, concord_redis_maxmemory_bytes,
// concord_redis_memory_watermark_bytes (0 = no watermark).
//
// Thread safety: Check() and the accessors are thread-safe and never block on I/O.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/metrics/metrics.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"
#include "prometheus/gauge.h"

namespace concord::quota {

struct StorageGuardOptions {
  int watermark_percent = 85;                       // of maxmemory; 0 = never refuse
  absl::Duration poll_interval = absl::Seconds(1);  // INFO memory period
  absl::Duration retry_after = absl::Seconds(60);   // RetryInfo of a refusal
};

/// Parses `used_memory` and `maxmemory` from an INFO reply; false when either is missing.
bool ParseInfoMemory(std::string_view info, int64_t& used, int64_t& maxmemory);

class StorageGuard {
 public:
  /// `redis` and `metrics` must outlive the guard. Does not start polling (Start()).
  StorageGuard(redis::RedisClient& redis, metrics::Metrics& metrics,
               StorageGuardOptions options = {});
  ~StorageGuard();
  StorageGuard(const StorageGuard&) = delete;
  StorageGuard& operator=(const StorageGuard&) = delete;

  /// One INFO memory read; updates the state and the gauges. UNAVAILABLE/INTERNAL when Redis
  /// does not answer or refuses the command (the previous state is kept).
  Status PollOnce();
  /// Polls every poll_interval on a background thread (first poll at once). Idempotent.
  void Start();
  /// Stops and joins the thread. Idempotent.
  void Stop();

  /// OK below the watermark, without a watermark, or before the first successful poll;
  /// StorageRefusal (RESOURCE_EXHAUSTED, STORAGE_WATERMARK, RetryInfo) otherwise. No I/O.
  Status Check(AgencyType caller_type) const;

  int64_t used_bytes() const { return used_.load(); }
  int64_t maxmemory_bytes() const { return max_.load(); }
  /// 0 when there is no watermark (no maxmemory, disabled, or not read yet).
  int64_t watermark_bytes() const { return watermark_.load(); }

 private:
  void Loop();

  redis::RedisClient& redis_;
  const StorageGuardOptions options_;
  prometheus::Gauge* used_gauge_;
  prometheus::Gauge* max_gauge_;
  prometheus::Gauge* watermark_gauge_;
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> max_{0};
  std::atomic<int64_t> watermark_{0};
  std::atomic<bool> info_failing_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace concord::quota
