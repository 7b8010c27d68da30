#include "services/referrals/scheduler.h"

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "common/log/log.h"
#include "services/referrals/deadlines.h"

namespace concord::referrals {
namespace {

DeadlineSchedulerOptions Sanitized(DeadlineSchedulerOptions o) {
  if (o.batch < 1) o.batch = 1;
  if (o.max_batches_per_run < 1) o.max_batches_per_run = 1;
  if (o.interval < absl::Milliseconds(1)) o.interval = absl::Milliseconds(1);
  return o;
}

}  // namespace

DeadlineScheduler::DeadlineScheduler(ReferralStore& store, const Clock& clock,
                                     prometheus::Registry& registry,
                                     DeadlineSchedulerOptions options)
    : store_(store), clock_(clock), options_(Sanitized(std::move(options))) {
  // prometheus-cpp throws on a conflicting registration (same name, other type or labels); the
  // scheduler still works without its metric then.
  try {
    firings_ = &prometheus::BuildCounter()
                    .Name("concord_referral_deadline_firings_total")
                    .Help(
                        "Deadline firings (reminders and due/overdue/expired alerts) claimed by "
                        "this replica's scheduler.")
                    .Register(registry);
  } catch (const std::exception&) {
    firings_ = nullptr;
    log::Event(log::Level::kError, "referrals.deadlines.metric_unavailable");
  }
}

DeadlineScheduler::~DeadlineScheduler() { Stop(); }

void DeadlineScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void DeadlineScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeadlineScheduler::Count(const Firing& firing) {
  if (firings_ == nullptr) return;
  try {
    const std::string kind = firing.kind == v1::DEADLINE_KIND_UNSPECIFIED
                                 ? std::string("unknown")
                                 : std::string(DeadlineKindName(firing.kind));
    const std::string stage = firing.stage.empty() ? std::string("unknown") : firing.stage;
    firings_->Add({{"kind", kind}, {"stage", stage}}).Increment();
  } catch (const std::exception&) {
    // Metric bookkeeping never stops the scheduler.
  }
}

StatusOr<int> DeadlineScheduler::RunOnce() {
  const absl::Time now = clock_.Now();
  int total = 0;
  for (int i = 0; i < options_.max_batches_per_run; ++i) {
    StatusOr<std::vector<Firing>> firings = store_.FireDueFirings(now, options_.batch);
    if (!firings.ok()) return firings.status();
    for (const Firing& f : *firings) Count(f);
    total += static_cast<int>(firings->size());
    if (static_cast<int>(firings->size()) < options_.batch) break;
  }
  return total;
}

void DeadlineScheduler::Loop() {
  bool failing = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    StatusOr<int> fired = RunOnce();
    // Log transitions only, so an outage does not flood the log (no personal data: the status
    // comes from the store and names no case content).
    if (!fired.ok() && !failing) {
      log::Event(log::Level::kWarn, "referrals.deadlines.fire_failed",
                 {{"error", std::string(fired.status().message())}});
    } else if (fired.ok() && failing) {
      log::Event(log::Level::kInfo, "referrals.deadlines.fire_recovered");
    }
    failing = !fired.ok();
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.interval), [this] { return stop_; });
  }
}

}  // namespace concord::referrals
