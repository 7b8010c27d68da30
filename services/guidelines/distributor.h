// File: services/guidelines/distributor.h
//
// Distributor: pushes guidance to the Subscribe streams of this replica without a thread per
// stream. One follower thread tails the store's feed (woken by the feed's pub/sub announcement,
// and at least every poll_interval; it also promotes scheduled versions whose effective_at has
// come), loads and verifies each version ONCE (Guidebook::LoadVerified), keeps the version in
// force of every guideline in memory, and hands each event to every attached stream whose agency
// the version addresses. A small pool of backlog workers computes what a new stream must receive
// first (the versions in force that address its agency and that it has not acknowledged, and
// the withdrawals after its cursor) from that memory plus one Redis read of its
// acknowledgements, then makes the stream live at the feed position it used, replaying anything
// the follower handled meanwhile: nothing falls between backlog and live.
//
// Delivery is at least once across streams (a resumed stream gets again what is unacknowledged)
// and exactly once within one stream (each stream remembers what it sent: Subscriber's job).
//
// Lifetimes and locks: the Distributor never calls a Subscriber while holding its own lock
// (a Subscriber may finish its gRPC call inline, and its OnDone detaches); it holds each
// Subscriber by shared_ptr, so a Push racing with Detach reaches a live object that ignores it.
//
// Thread safety: thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "services/guidelines/guidebook.h"

namespace concord::guidelines {

/// One event for a stream.
struct OutEvent {
  FeedEntry::Kind kind = FeedEntry::Kind::kVersion;
  std::string cursor;  // the feed position to resume after
  bool backlog = false;
  /// The version (kVersion) or the withdrawn version with its withdrawal (kWithdrawal), verified.
  std::shared_ptr<const StoredVersion> version;
  absl::Time seen_at = absl::UnixEpoch();  // when this replica read it from the feed (live only)

  /// "v:<gid>@<n>" or "w:<gid>@<n>": what a stream de-duplicates on.
  std::string Key() const;
};

/// A Subscribe stream as the Distributor sees it (implemented by the gRPC reactor).
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual const AgencyId& agency() const = 0;
  /// Queues events; never blocks; never called with the Distributor's lock held. May be called
  /// after Detach (ignore it then).
  virtual void Push(std::vector<OutEvent> events) = 0;
  /// The backlog could not be computed (e.g. Redis unavailable): end the stream with `status`.
  virtual void Fail(const Status& status) = 0;
};

/// The guidelines distribution metrics, registered once per process (no agency label).
struct DistributorMetrics {
  explicit DistributorMetrics(metrics::Metrics& metrics);
  prometheus::Counter* deliveries_version;  // concord_guideline_deliveries_total{kind}
  prometheus::Counter* deliveries_withdrawal;
  prometheus::Counter* verification_failures;  // concord_guideline_verification_failures_total
  prometheus::Gauge* subscriptions;            // concord_guideline_subscriptions
  prometheus::Histogram* delivery_seconds;     // concord_guideline_delivery_seconds
  prometheus::Counter* streams_refused;        // concord_guideline_streams_refused_total
};

struct DistributorOptions {
  absl::Duration poll_interval = absl::Seconds(1);
  int backlog_workers = 2;
  size_t feed_batch = 500;
  size_t max_cached_feed = 10000;  // feed entries kept in memory for resumes
  int max_streams_per_agency = 8;  // RESOURCE_EXHAUSTED TOO_MANY_SUBSCRIPTIONS beyond
  int max_streams = 20000;
};

class Distributor {
 public:
  /// `book` and `metrics` must outlive the Distributor.
  Distributor(Guidebook& book, DistributorMetrics& metrics, DistributorOptions options = {});
  ~Distributor();  // Stop()
  Distributor(const Distributor&) = delete;
  Distributor& operator=(const Distributor&) = delete;

  /// Starts the follower and the backlog workers (the first load of the feed happens on the
  /// follower; streams attached before it completes wait for it).
  void Start();
  void Stop();

  /// Registers a stream: its backlog is computed on a worker, then it receives live events.
  /// RESOURCE_EXHAUSTED TOO_MANY_SUBSCRIPTIONS when its agency (or the replica) has too many.
  Status Attach(std::shared_ptr<Subscriber> subscriber, std::string after_cursor);
  /// After it returns, no new Push is started for `subscriber` (one already started may still
  /// arrive: Subscriber ignores it).
  void Detach(const Subscriber* subscriber);
  /// Wakes the follower (the feed's pub/sub announcement).
  void Wake();

  /// For tests and the gauges: the feed position handled, and the open streams.
  std::string head() const;
  size_t streams() const;

 private:
  struct Cached {
    FeedEntry entry;
    std::shared_ptr<const StoredVersion> version;  // null when it failed to load or verify
  };
  struct Attached {
    std::shared_ptr<Subscriber> subscriber;
    bool live = false;
  };
  struct Job {
    std::shared_ptr<Subscriber> subscriber;
    std::string after_cursor;
  };
  using Deliveries = std::vector<std::pair<std::shared_ptr<Subscriber>, std::vector<OutEvent>>>;

  void FollowLoop();
  void WorkerLoop();
  /// One pass: promote due versions, read and handle new feed entries (at most 100 batches).
  /// False when the store was unavailable (the next pass retries from the same position).
  /// Passes are serialised (poll_mu_): the follower runs them, and so does every backlog before
  /// it reads the replica's view, so that a stream opened after a publication never starts from
  /// a view older than that publication (read-your-writes across agencies and replicas).
  bool Poll();
  Status LoadInitial();
  StatusOr<std::shared_ptr<const StoredVersion>> Load(const std::string& guideline_id,
                                                      int64_t version);
  /// Recomputes the version in force of a guideline (outside the lock).
  /// `just_loaded` (may be null) is used when it is the one.
  StatusOr<std::shared_ptr<const StoredVersion>> LoadInForce(
      const std::string& guideline_id, const std::shared_ptr<const StoredVersion>& just_loaded);
  /// The live events of one cached entry for `agency` (lock held).
  std::vector<OutEvent> LiveEventsLocked(const Cached& c, const AgencyId& agency) const;
  void Backlog(const Job& job);
  static void Deliver(Deliveries& deliveries);

  Guidebook& book_;
  DistributorMetrics& metrics_;
  const DistributorOptions options_;

  std::mutex poll_mu_;  // serialises Poll() passes (taken before mu_, never inside it)
  mutable std::mutex mu_;
  std::condition_variable cv_;  // wakes the follower (guarded by mu_)
  std::condition_variable work_cv_;
  bool stop_ = false;
  bool wake_ = false;
  bool loaded_ = false;
  std::string head_;         // last feed position handled
  std::deque<Cached> feed_;  // the last max_cached_feed entries, oldest first
  bool trimmed_ = false;     // feed_ lost entries (resumes older than it get everything)
  std::map<std::string, std::shared_ptr<const StoredVersion>> in_force_;  // gid -> version
  std::unordered_map<const Subscriber*, Attached> attached_;
  std::map<std::string, int> per_agency_;
  std::deque<Job> jobs_;

  std::thread follower_;
  std::vector<std::thread> workers_;
  bool started_ = false;
};

}  // namespace concord::guidelines
