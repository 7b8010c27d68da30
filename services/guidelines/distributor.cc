// File: services/guidelines/distributor.cc
#include "services/guidelines/distributor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "prometheus/family.h"

namespace concord::guidelines {
namespace {

constexpr int kPromoteBatch = 100;
constexpr int kMaxBatchesPerPoll = 100;  // then wait for the next pass

std::string MemberOf(const StoredVersion& v) {
  return absl::StrCat(v.meta.guideline_id, "@", v.meta.version);
}

}  // namespace

std::string OutEvent::Key() const {
  return absl::StrCat(kind == FeedEntry::Kind::kVersion ? "v:" : "w:",
                      version != nullptr ? MemberOf(*version) : std::string("?"));
}

DistributorMetrics::DistributorMetrics(metrics::Metrics& metrics) {
  auto& registry = metrics.registry();
  auto& deliveries = prometheus::BuildCounter()
                         .Name("concord_guideline_deliveries_total")
                         .Help(
                             "Guideline events written to Subscribe streams: versions that took "
                             "effect and withdrawals (backlog and live).")
                         .Register(registry);
  deliveries_version = &deliveries.Add({{"kind", "version"}});
  deliveries_withdrawal = &deliveries.Add({{"kind", "withdrawal"}});
  verification_failures =
      &prometheus::BuildCounter()
           .Name("concord_guideline_verification_failures_total")
           .Help(
               "Guideline versions or withdrawals read from Redis that failed verification "
               "(hash or publisher signature): refused, never served.")
           .Register(registry)
           .Add({});
  subscriptions = &prometheus::BuildGauge()
                       .Name("concord_guideline_subscriptions")
                       .Help("Guideline Subscribe streams open on this replica.")
                       .Register(registry)
                       .Add({});
  delivery_seconds =
      &prometheus::BuildHistogram()
           .Name("concord_guideline_delivery_seconds")
           .Help(
               "Time from this replica reading a feed entry (a version taking effect, a "
               "withdrawal) to its write on a live Subscribe stream.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  streams_refused = &prometheus::BuildCounter()
                         .Name("concord_guideline_streams_refused_total")
                         .Help(
                             "Subscribe streams refused because the agency or the replica had "
                             "too many open.")
                         .Register(registry)
                         .Add({});
}

Distributor::Distributor(Guidebook& book, DistributorMetrics& metrics, DistributorOptions options)
    : book_(book), metrics_(metrics), options_(options) {}

Distributor::~Distributor() { Stop(); }

void Distributor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  stop_ = false;
  follower_ = std::thread([this] { FollowLoop(); });
  for (int i = 0; i < std::max(1, options_.backlog_workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void Distributor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stop_ = true;
  }
  cv_.notify_all();
  work_cv_.notify_all();
  follower_.join();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
}

void Distributor::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

std::string Distributor::head() const {
  std::lock_guard<std::mutex> lock(mu_);
  return head_;
}

size_t Distributor::streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attached_.size();
}

Status Distributor::Attach(std::shared_ptr<Subscriber> subscriber, std::string after_cursor) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string agency = subscriber->agency().Key();
    if (per_agency_[agency] >= options_.max_streams_per_agency ||
        static_cast<int>(attached_.size()) >= options_.max_streams) {
      metrics_.streams_refused->Increment();
      return WithReason(absl::ResourceExhaustedError(
                            absl::StrCat("agency ", agency, " has ", per_agency_[agency],
                                         " guideline streams open on this replica (at most ",
                                         options_.max_streams_per_agency, ")")),
                        "TOO_MANY_SUBSCRIPTIONS");
    }
    ++per_agency_[agency];
    attached_[subscriber.get()] = Attached{subscriber, false};
    jobs_.push_back(Job{std::move(subscriber), std::move(after_cursor)});
    metrics_.subscriptions->Set(static_cast<double>(attached_.size()));
  }
  work_cv_.notify_one();
  return absl::OkStatus();
}

void Distributor::Detach(const Subscriber* subscriber) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attached_.find(subscriber);
  if (it == attached_.end()) return;
  const std::string agency = subscriber->agency().Key();
  if (--per_agency_[agency] <= 0) per_agency_.erase(agency);
  attached_.erase(it);
  metrics_.subscriptions->Set(static_cast<double>(attached_.size()));
}

void Distributor::Deliver(Deliveries& deliveries) {
  for (auto& [subscriber, events] : deliveries) {
    if (!events.empty()) subscriber->Push(std::move(events));
  }
  deliveries.clear();
}

StatusOr<std::shared_ptr<const StoredVersion>> Distributor::Load(const std::string& gid,
                                                                 int64_t version) {
  StatusOr<StoredVersion> v = book_.LoadVerified(gid, version);
  if (!v.ok()) {
    if (v.status().code() == absl::StatusCode::kDataLoss) {
      metrics_.verification_failures->Increment();
      log::Event(log::Level::kError, "guidelines.verification_failed",
                 {{"guideline_id", gid},
                  {"version", std::to_string(version)},
                  {"error", std::string(v.status().message())}});
    }
    return v.status();
  }
  return std::make_shared<const StoredVersion>(*std::move(v));
}

StatusOr<std::shared_ptr<const StoredVersion>> Distributor::LoadInForce(
    const std::string& gid, const std::shared_ptr<const StoredVersion>& just_loaded) {
  StatusOr<std::vector<VersionMeta>> versions = book_.store().Versions(gid);
  if (!versions.ok()) return versions.status();
  const std::optional<int64_t> n = InForce(*versions, book_.clock().Now());
  if (!n.has_value()) return std::shared_ptr<const StoredVersion>();
  if (just_loaded != nullptr && just_loaded->meta.version == *n && !just_loaded->meta.withdrawn) {
    return just_loaded;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = in_force_.find(gid);
    if (it != in_force_.end() && it->second != nullptr && it->second->meta.version == *n &&
        it->second->meta.withdrawn == (*versions)[static_cast<size_t>(*n - 1)].withdrawn) {
      return it->second;
    }
  }
  return Load(gid, *n);
}

Status Distributor::LoadInitial() {
  StatusOr<std::vector<std::string>> ids = book_.store().GuidelineIds();
  if (!ids.ok()) return ids.status();
  std::map<std::string, std::shared_ptr<const StoredVersion>> in_force;
  for (const std::string& gid : *ids) {
    StatusOr<std::shared_ptr<const StoredVersion>> v = LoadInForce(gid, nullptr);
    if (v.status().code() == absl::StatusCode::kUnavailable) return v.status();
    if (v.ok() && *v != nullptr) in_force[gid] = *v;
  }
  // The retained feed: withdrawals are kept with their versions for resumes.
  std::deque<Cached> feed;
  std::string after;
  bool trimmed = false;
  for (;;) {
    StatusOr<std::vector<FeedEntry>> entries = book_.store().ReadFeed(after, options_.feed_batch);
    if (!entries.ok()) return entries.status();
    for (FeedEntry& e : *entries) {
      Cached c{e, nullptr};
      if (e.kind == FeedEntry::Kind::kWithdrawal) {
        StatusOr<std::shared_ptr<const StoredVersion>> v = Load(e.guideline_id, e.version);
        if (v.status().code() == absl::StatusCode::kUnavailable) return v.status();
        if (v.ok()) c.version = *v;
      }
      after = e.id;
      feed.push_back(std::move(c));
      if (feed.size() > options_.max_cached_feed) {
        feed.pop_front();
        trimmed = true;
      }
    }
    if (entries->size() < options_.feed_batch) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  in_force_ = std::move(in_force);
  feed_ = std::move(feed);
  trimmed_ = trimmed;
  head_ = after;
  loaded_ = true;
  work_cv_.notify_all();
  return absl::OkStatus();
}

std::vector<OutEvent> Distributor::LiveEventsLocked(const Cached& c, const AgencyId& agency) const {
  std::vector<OutEvent> out;
  if (c.version == nullptr || !Addressed(c.version->meta, agency)) return out;
  auto current = in_force_.find(c.entry.guideline_id);
  const std::shared_ptr<const StoredVersion> in_force =
      current == in_force_.end() ? nullptr : current->second;
  if (c.entry.kind == FeedEntry::Kind::kVersion) {
    // Only the version in force is pushed (a version that took effect after a newer one did is
    // superseded already).
    if (in_force != nullptr && in_force->meta.version == c.entry.version) {
      out.push_back(
          OutEvent{FeedEntry::Kind::kVersion, c.entry.id, false, in_force, book_.clock().Now()});
    }
    return out;
  }
  out.push_back(
      OutEvent{FeedEntry::Kind::kWithdrawal, c.entry.id, false, c.version, book_.clock().Now()});
  // The version in force again after a withdrawal, if any (the stream de-duplicates).
  if (in_force != nullptr && Addressed(in_force->meta, agency)) {
    out.push_back(
        OutEvent{FeedEntry::Kind::kVersion, c.entry.id, false, in_force, book_.clock().Now()});
  }
  return out;
}

bool Distributor::Poll() {
  std::lock_guard<std::mutex> pass(poll_mu_);
  if (!book_.store().PromoteDue(book_.clock().Now(), kPromoteBatch).ok()) return false;
  for (int batch = 0; batch < kMaxBatchesPerPoll; ++batch) {
    std::string after;
    {
      std::lock_guard<std::mutex> lock(mu_);
      after = head_;
    }
    StatusOr<std::vector<FeedEntry>> entries = book_.store().ReadFeed(after, options_.feed_batch);
    if (!entries.ok()) return false;
    for (const FeedEntry& e : *entries) {
      Cached c{e, nullptr};
      StatusOr<std::shared_ptr<const StoredVersion>> v = Load(e.guideline_id, e.version);
      if (v.status().code() == absl::StatusCode::kUnavailable) return false;
      if (v.ok()) c.version = *v;  // a version that fails verification is never pushed
      StatusOr<std::shared_ptr<const StoredVersion>> in_force =
          LoadInForce(e.guideline_id, c.version);
      if (in_force.status().code() == absl::StatusCode::kUnavailable) return false;

      Deliveries deliveries;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (in_force.ok()) {
          if (*in_force == nullptr) {
            in_force_.erase(e.guideline_id);
          } else {
            in_force_[e.guideline_id] = *in_force;
          }
        }
        feed_.push_back(c);
        if (feed_.size() > options_.max_cached_feed) {
          feed_.pop_front();
          trimmed_ = true;
        }
        head_ = e.id;
        for (auto& [ptr, attached] : attached_) {
          if (!attached.live) continue;
          std::vector<OutEvent> events = LiveEventsLocked(c, attached.subscriber->agency());
          if (!events.empty()) deliveries.emplace_back(attached.subscriber, std::move(events));
        }
      }
      Deliver(deliveries);  // outside the lock (see the file comment)
    }
    if (entries->size() < options_.feed_batch) break;
  }
  return true;
}

void Distributor::FollowLoop() {
  bool loaded = false;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    if (!loaded) {
      const Status s = LoadInitial();
      loaded = s.ok();
      if (!loaded) {
        log::Event(log::Level::kWarn, "guidelines.feed_not_loaded",
                   {{"error", std::string(s.message())}, {"retrying", "background"}});
      }
    } else {
      Poll();
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                 [this] { return stop_ || wake_; });
    wake_ = false;
  }
}

void Distributor::WorkerLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || (loaded_ && !jobs_.empty()); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      if (attached_.count(job.subscriber.get()) == 0) continue;  // detached meanwhile
    }
    Backlog(job);
  }
}

void Distributor::Backlog(const Job& job) {
  // Catch up with the feed first: the follower may not have read a version published just
  // before this stream opened, and the backlog must not offer the version it superseded. A
  // failed pass (store unavailable) leaves the view as it is; the reads below then fail too.
  Poll();
  const AgencyId agency = job.subscriber->agency();
  std::string position;
  std::vector<std::shared_ptr<const StoredVersion>> versions;
  std::vector<OutEvent> withdrawals;
  {
    std::lock_guard<std::mutex> lock(mu_);
    position = head_;
    for (const auto& [gid, v] : in_force_) {
      if (v != nullptr && Addressed(v->meta, agency)) versions.push_back(v);
    }
    // Withdrawals after the cursor; all of those retained when there is no cursor, or when it is
    // older than what this replica retained.
    const bool all =
        job.after_cursor.empty() ||
        (trimmed_ && !feed_.empty() && FeedIdLess(job.after_cursor, feed_.front().entry.id));
    for (const Cached& c : feed_) {
      if (c.entry.kind != FeedEntry::Kind::kWithdrawal || c.version == nullptr) continue;
      if (!all && !FeedIdLess(job.after_cursor, c.entry.id)) continue;
      if (!Addressed(c.version->meta, agency)) continue;
      withdrawals.push_back(OutEvent{FeedEntry::Kind::kWithdrawal, position, true, c.version});
    }
  }
  std::vector<std::pair<std::string, int64_t>> ids;
  for (const auto& v : versions) ids.emplace_back(v->meta.guideline_id, v->meta.version);
  StatusOr<std::vector<std::optional<AckRecord>>> acked = book_.store().AckedBy(agency.Key(), ids);
  if (!acked.ok()) {
    job.subscriber->Fail(acked.status());
    return;
  }
  std::vector<OutEvent> events;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i < acked->size() && (*acked)[i].has_value()) continue;
    events.push_back(OutEvent{FeedEntry::Kind::kVersion, position, true, versions[i]});
  }
  for (OutEvent& w : withdrawals) events.push_back(std::move(w));

  Deliveries deliveries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = attached_.find(job.subscriber.get());
    if (it == attached_.end()) return;  // detached meanwhile
    // What the follower handled while the backlog was read: replayed as it would have been.
    for (const Cached& c : feed_) {
      if (!FeedIdLess(position, c.entry.id)) continue;
      for (OutEvent& e : LiveEventsLocked(c, agency)) events.push_back(std::move(e));
    }
    it->second.live = true;
    deliveries.emplace_back(job.subscriber, std::move(events));
  }
  Deliver(deliveries);
}

}  // namespace concord::guidelines
