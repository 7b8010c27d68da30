// Subscribe streams of concord.guidelines.v1 as concord-server runs them (real module, real mTLS,
// real redis-server, registry of open calls with its watcher; guidelines_test_util.h):
//   * a subscriber that reconnects with its cursor receives what it missed - the versions that
//     took effect for it, the withdrawals - and nothing it may not see, exactly once after
//     de-duplication; one stream never repeats an event;
//   * a version published for later is pushed when it takes effect;
//   * the stream ends with UNAUTHENTICATED (CERTIFICATE_REVOKED, AGENCY_SUSPENDED) within 5 s of
//     a revocation or suspension;
//   * streams are bounded per agency, and open streams hold no thread (callback API);
//   * the agency library's Watch resumes across the server's maximum connection age and hands
//     each event to its caller once.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>

#include "tests/services/guidelines/guidelines_test_util.h"
#include "tests/support/wait.h"

namespace concord::guidelines::testing {
namespace {

using T = AgencyType;
using ::concord::testing::ThreadsOfThisProcess;
constexpr absl::Duration kPromise = absl::Seconds(5);  // docs/security.md: within 5 s

struct Seen {
  std::string key;  // "v:<id>@<n>" | "w:<id>@<n>"
  std::string cursor;
  bool backlog = false;
};

// A raw Subscribe stream (generated stub, no resume), read on its own thread.
class Stream {
 public:
  Stream(const Agent& agent, const std::string& after_cursor) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    thread_ = std::thread([this, channel = agent.channel, after_cursor] {
      auto stub = gv1::Guidelines::NewStub(channel);
      gv1::SubscribeRequest req;
      req.set_after_cursor(after_cursor);
      auto reader = stub->Subscribe(&ctx_, req);
      gv1::GuidelineEvent e;
      while (reader->Read(&e)) {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back({gc::EventKey(e), e.cursor(), e.backlog()});
        cv_.notify_all();
      }
      const grpc::Status status = reader->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~Stream() {
    ctx_.TryCancel();
    thread_.join();
  }
  bool WaitFor(const std::string& key, absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      for (const Seen& s : seen_) {
        if (s.key == key) return true;
      }
      return false;
    });
  }
  bool WaitForEnd(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return ended_; });
  }
  void Close() {
    ctx_.TryCancel();
    WaitForEnd(absl::Seconds(10));
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<std::string> keys() {
    std::vector<std::string> out;
    for (const Seen& s : seen()) out.push_back(s.key);
    return out;
  }
  grpc::Status status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  grpc::ClientContext ctx_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
  grpc::Status status_;
  bool ended_ = false;
};

class GuidelineStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = std::make_unique<GuidelinesHarness>();
    icu_ = h_->Register(T::kCoordinationUnit, "icu-thb");
    p1_ = h_->Register(T::kPolice, "pz-one");
    p2_ = h_->Register(T::kPolice, "pz-two");
    c1_ = h_->Register(T::kReceptionCentre, "pag-asa");
  }

  std::string Publish(const std::string& id, int64_t n, std::vector<AgencyType> types) {
    StatusOr<gv1::PublishResponse> r = h_->Publish(icu_, h_->Draft(icu_, id, n, std::move(types)));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->sha256() : "";
  }

  void Withdraw(const std::string& id, int64_t n, const std::string& sha) {
    guideline::Withdrawal w{.guideline_id = id,
                            .version = n,
                            .version_sha256 = sha,
                            .withdrawn_by = icu_.id,
                            .withdrawn_at = h_->clock().Now(),
                            .reason = "replaced by the circular"};
    StatusOr<guideline::SignedWithdrawal> s = guideline::SignWithdrawal(w, icu_.signing);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(icu_.Client().Withdraw(*s).ok());
  }

  std::unique_ptr<GuidelinesHarness> h_;
  Agent icu_, p1_, p2_, c1_;
};

// Acceptance: a subscriber that reconnects receives what it missed, exactly once after
// de-duplication.
TEST_F(GuidelineStreamsTest, ReconnectingSubscriberGetsWhatItMissedExactlyOnce) {
  const std::string a1 = Publish("g-a", 1, {T::kPolice});
  Publish("g-b", 1, {T::kPolice});
  std::string cursor;
  {
    Stream first(p1_, "");
    ASSERT_TRUE(first.WaitFor("v:g-a@1"));
    ASSERT_TRUE(first.WaitFor("v:g-b@1"));
    for (const Seen& s : first.seen()) EXPECT_TRUE(s.backlog);
    ASSERT_TRUE(p1_.Client().Acknowledge("g-a", 1, a1).ok());
    cursor = first.seen().back().cursor;
    // Live while connected.
    Publish("g-live", 1, {T::kPolice});
    ASSERT_TRUE(first.WaitFor("v:g-live@1"));
    EXPECT_FALSE(first.seen().back().backlog);
    cursor = first.seen().back().cursor;
    first.Close();
    std::vector<std::string> keys = first.keys();
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  }
  // While it is away: a new guideline, a correction of one it has, a withdrawal of one it
  // acknowledged, and a guideline for reception centres only.
  Publish("g-c", 1, {T::kPolice});
  Publish("g-b", 2, {T::kPolice});
  Withdraw("g-a", 1, a1);
  Publish("g-centres", 1, {T::kReceptionCentre});

  Stream second(p1_, cursor);
  ASSERT_TRUE(second.WaitFor("v:g-c@1"));
  ASSERT_TRUE(second.WaitFor("v:g-b@2"));
  ASSERT_TRUE(second.WaitFor("w:g-a@1"));
  // Then live, after the backlog.
  Publish("g-e", 1, {T::kPolice});
  ASSERT_TRUE(second.WaitFor("v:g-e@1"));
  const std::vector<std::string> keys = second.keys();
  // One stream never repeats an event.
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  // What it may not see, and what is no longer current, never comes.
  for (const std::string& k : keys) {
    EXPECT_NE(k, "v:g-centres@1");
    EXPECT_NE(k, "v:g-a@1");  // acknowledged, then withdrawn
    EXPECT_NE(k, "v:g-b@1");  // superseded while away
  }
  // Exactly what it missed, plus what it had not acknowledged (at least once: g-b@1 was
  // superseded, g-live@1 is still unacknowledged and comes again), plus the live one.
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()),
            (std::set<std::string>{"v:g-c@1", "v:g-b@2", "w:g-a@1", "v:g-live@1", "v:g-e@1"}));
}

TEST_F(GuidelineStreamsTest, AVersionForLaterIsPushedWhenItTakesEffect) {
  Stream s(c1_, "");
  guideline::Version later = h_->Draft(icu_, "g-later", 1, {T::kReceptionCentre});
  later.effective_at = h_->clock().Now() + absl::Hours(1);
  later.ack_deadline = later.effective_at + absl::Hours(24);
  StatusOr<gv1::PublishResponse> pub = h_->Publish(icu_, later);
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_FALSE(pub->effective());
  Publish("g-now", 1, {T::kReceptionCentre});
  ASSERT_TRUE(s.WaitFor("v:g-now@1"));
  EXPECT_FALSE(s.WaitFor("v:g-later@1", absl::Milliseconds(1500)));
  h_->clock().Advance(absl::Hours(1));
  EXPECT_TRUE(s.WaitFor("v:g-later@1", absl::Seconds(5)));
}

TEST_F(GuidelineStreamsTest, RevocationAndSuspensionEndTheStreamWithin5s) {
  Publish("g-1", 1, {T::kPolice});
  Stream revoked(p1_, "");
  Stream suspended(p2_, "");
  ASSERT_TRUE(revoked.WaitFor("v:g-1@1"));
  ASSERT_TRUE(suspended.WaitFor("v:g-1@1"));

  const absl::Time start = absl::Now();
  h_->revocations().Revoke(p1_.cert.serial);
  h_->revocations().Suspend(p2_.id);
  ASSERT_TRUE(revoked.WaitForEnd(kPromise));
  ASSERT_TRUE(suspended.WaitForEnd(kPromise));
  EXPECT_LT(absl::Now() - start, kPromise);
  EXPECT_EQ(revoked.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(revoked.status())), "CERTIFICATE_REVOKED");
  EXPECT_EQ(suspended.status().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(suspended.status())), "AGENCY_SUSPENDED");
  // Nothing published afterwards reached them.
  Publish("g-2", 1, {T::kPolice});
  EXPECT_EQ(revoked.keys(), (std::vector<std::string>{"v:g-1@1"}));
  EXPECT_EQ(suspended.keys(), (std::vector<std::string>{"v:g-1@1"}));
}

TEST_F(GuidelineStreamsTest, StreamsPerAgencyAreBounded) {
  std::vector<std::unique_ptr<Stream>> open;
  Publish("g-1", 1, {T::kPolice});
  // The cap is the registry's (common/quota, shared with the agency's other streams), not the
  // service's own.
  const int cap = h_->quotas().table().CapOf(T::kPolice, quota::Cap::kStreams);
  ASSERT_GT(cap, 8);
  for (int i = 0; i < cap; ++i) {
    open.push_back(std::make_unique<Stream>(p1_, ""));
    ASSERT_TRUE(open.back()->WaitFor("v:g-1@1")) << i;
  }
  Stream next(p1_, "");
  ASSERT_TRUE(next.WaitForEnd(absl::Seconds(10)));
  EXPECT_EQ(next.status().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  const Status refused = FromGrpcStatus(next.status());
  EXPECT_EQ(ReasonOf(refused), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(refused).at("limit"), "streams");
  EXPECT_NE(RetryDelayOf(refused), absl::InfiniteDuration());
  EXPECT_EQ(QuotaViolationsOf(refused).size(), 1u);
  EXPECT_NE(h_->metrics().Serialize().find(
                "concord_quota_refusals_total{agency_type=\"police\",limit=\"streams\"} 1"),
            std::string::npos);
  // Another agency is not affected.
  Stream other(p2_, "");
  EXPECT_TRUE(other.WaitFor("v:g-1@1"));
}

// A callback-API client stream: no thread of its own either.
class AsyncStream final : public grpc::ClientReadReactor<gv1::GuidelineEvent> {
 public:
  AsyncStream(gv1::Guidelines::Stub* stub, std::atomic<int>& received) : received_(received) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    stub->async()->Subscribe(&ctx_, &req_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    received_.fetch_add(1);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  void Cancel() { ctx_.TryCancel(); }
  bool WaitDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
  }

 private:
  grpc::ClientContext ctx_;
  gv1::SubscribeRequest req_;
  gv1::GuidelineEvent event_;
  std::atomic<int>& received_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

// Distribution that scales: open subscriptions hold no thread each (callback API on both sides),
// and one publication reaches them all.
TEST_F(GuidelineStreamsTest, OpenSubscriptionsHoldNoThreadEach) {
  constexpr int kAgencies = 50;
  constexpr int kPerAgency = 4;
  std::vector<Agent> agents;
  std::vector<std::unique_ptr<gv1::Guidelines::Stub>> stubs;
  for (int i = 0; i < kAgencies; ++i) {
    agents.push_back(h_->Register(T::kPolice, "pz-scale-" + std::to_string(i)));
    stubs.push_back(agents.back().Stub());
  }
  // Connections established (and gRPC's own pools started) before counting.
  for (const Agent& a : agents) {
    gv1::ListRequest req;
    ASSERT_TRUE(a.Client().List(req).ok());
  }
  const int before = ThreadsOfThisProcess();
  std::atomic<int> received{0};
  std::vector<std::unique_ptr<AsyncStream>> streams;
  for (int i = 0; i < kAgencies * kPerAgency; ++i) {
    streams.push_back(std::make_unique<AsyncStream>(stubs[i % kAgencies].get(), received));
  }
  ASSERT_TRUE(Eventually([&] { return h_->calls().open_streams() >= kAgencies * kPerAgency; },
                         absl::Seconds(20)));
  Publish("g-fanout", 1, {T::kPolice});
  ASSERT_TRUE(
      Eventually([&] { return received.load() >= kAgencies * kPerAgency; }, absl::Seconds(20)))
      << received.load();
  const int during = ThreadsOfThisProcess();
  // A thread per stream would add 200; the callback API adds none per stream.
  EXPECT_LT(during - before, 40) << "threads before " << before << ", with 200 streams " << during;
  for (auto& s : streams) s->Cancel();
  for (auto& s : streams) EXPECT_TRUE(s->WaitDone(absl::Seconds(10)));
}

// The agency library's Watch across the server's maximum connection age: every event once.
TEST(GuidelineWatch, ResumesAcrossTheMaximumConnectionAgeAndDeduplicates) {
  GuidelinesHarness h([](ServerOptions& o) {
    o.max_connection_age = absl::Milliseconds(800);
    o.max_connection_age_grace = absl::Milliseconds(200);
  });
  Agent icu = h.Register(T::kCoordinationUnit, "icu-thb");
  Agent police = h.Register(T::kPolice, "pz-one");
  ASSERT_TRUE(h.Publish(icu, h.Draft(icu, "w-1", 1, {T::kPolice})).ok());

  std::mutex mu;
  std::map<std::string, int> counts;
  int resumes = 0;
  gc::WatchStop stop;
  gc::WatchOptions options;
  options.stop = &stop;
  options.max_duration = absl::Seconds(30);
  options.resume.initial = absl::Milliseconds(50);
  options.on_resume = [&](const Status&, int, absl::Duration) {
    std::lock_guard<std::mutex> lock(mu);
    ++resumes;
  };
  gc::GuidelinesClient client = police.Client();
  std::thread watcher([&] {
    const Status s = client.Watch(options, [&](const gv1::GuidelineEvent& e, const Status& ok) {
      EXPECT_TRUE(ok.ok()) << ok;
      std::lock_guard<std::mutex> lock(mu);
      ++counts[gc::EventKey(e)];
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
  });
  // Publish across several connection ages; w-1 is unacknowledged, so every resumed stream
  // delivers it again: the library passes it on once.
  for (int n = 2; n <= 4; ++n) {
    ASSERT_TRUE(Eventually(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return resumes >= n - 1;
        },
        absl::Seconds(10)));
    ASSERT_TRUE(h.Publish(icu, h.Draft(icu, "w-" + std::to_string(n), 1, {T::kPolice})).ok());
  }
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return counts.size() == 4;
      },
      absl::Seconds(10)));
  stop.Stop();
  watcher.join();
  for (const auto& [key, n] : counts) EXPECT_EQ(n, 1) << key;
  EXPECT_GE(resumes, 3);
}

}  // namespace
}  // namespace concord::guidelines::testing
