// File: services/referrals/scheduler.h
//
// DeadlineScheduler: a background thread that calls ReferralStore::FireDue(clock.Now(), batch)
// every `interval`, turning due deadline fire entries into outbox items (the notifier turns those
// into Concord messages). Safe with several replicas on one Redis: the store claims each firing
// exactly once. Counts `concord_referral_deadline_firings_total{kind,stage}`.
//
//   DeadlineScheduler scheduler(store, SystemClock::Get(), metrics.registry(), {});
//   scheduler.Start();
//   ...
//   scheduler.Stop();   // also done by the destructor
//
// Tests drive RunOnce() with a FakeClock instead of starting the thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/referrals/referral_store.h"

namespace concord::referrals {

struct DeadlineSchedulerOptions {
  absl::Duration interval = absl::Seconds(1);  // between two RunOnce() of the thread
  int batch = 100;                             // firings claimed per FireDue call
  int max_batches_per_run = 100;               // bound on FireDue calls per RunOnce
};

/// Never throws. Start()/Stop() from one owner thread; RunOnce() is thread-safe.
class DeadlineScheduler {
 public:
  /// `store`, `clock` and `registry` must outlive the scheduler.
  DeadlineScheduler(ReferralStore& store, const Clock& clock, prometheus::Registry& registry,
                    DeadlineSchedulerOptions options = {});
  ~DeadlineScheduler();
  DeadlineScheduler(const DeadlineScheduler&) = delete;
  DeadlineScheduler& operator=(const DeadlineScheduler&) = delete;

  /// Starts the thread (no-op when running).
  void Start();
  /// Stops the thread and waits for it (returns after the current RunOnce, if any).
  void Stop();

  /// Fires everything due at clock.Now(): FireDue in batches until a batch comes back short (at
  /// most max_batches_per_run batches). Returns the number of firings claimed by this call; on a
  /// store error, the error (firings claimed before it are counted in the metric).
  StatusOr<int> RunOnce();

 private:
  void Loop();
  void Count(const Firing& firing);

  ReferralStore& store_;
  const Clock& clock_;
  const DeadlineSchedulerOptions options_;
  prometheus::Family<prometheus::Counter>* firings_ = nullptr;  // null if registration failed

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace concord::referrals
