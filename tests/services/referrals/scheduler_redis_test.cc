// Tests of DeadlineScheduler on a real redis-server with an injected clock (label redis).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/redis_client.h"
#include "prometheus/registry.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/redis_referral_store.h"
#include "services/referrals/scheduler.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"

namespace concord::referrals {
namespace {

using ::testing::SizeIs;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

v1::Case MakeCase(const std::string& id) {
  v1::Case c;
  c.set_case_id(id);
  c.mutable_referring_agency()->set_type(concord::common::v1::AGENCY_TYPE_POLICE);
  c.mutable_referring_agency()->set_id("pz-gent");
  c.mutable_receiving_centre()->set_type(concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  c.mutable_receiving_centre()->set_id("pag-asa");
  c.set_state(v1::CASE_STATE_REFLECTION);
  c.set_version(1);
  *c.mutable_updated_at() = ToProtoTime(kStart);
  return c;
}

// Sum of the firing counter over all label sets matching kind/stage ("" = any).
double Firings(prometheus::Registry& registry, std::string_view kind = "",
               std::string_view stage = "") {
  double total = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "concord_referral_deadline_firings_total") continue;
    for (const auto& metric : family.metric) {
      bool match = true;
      for (const auto& label : metric.label) {
        if (label.name == "kind" && !kind.empty() && label.value != kind) match = false;
        if (label.name == "stage" && !stage.empty() && label.value != stage) match = false;
      }
      if (match) total += metric.counter.value;
    }
  }
  return total;
}

class DeadlineSchedulerTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();
    if (HasFatalFailure()) return;
  }
};

// Test (required): 3 scheduler/store instances, each with its own Redis connection pool, on one
// Redis, run concurrently from 3 threads while a fake clock steps through time. 200 deadlines
// with a reminder and a due stage: every firing appears in the outbox exactly once, none before
// its time and none left behind after the step that reached it.
TEST_F(DeadlineSchedulerTest, ThreeReplicasFireEveryDeadlineExactlyOnce) {
  constexpr int kCases = 100;  // x 2 deadlines x 2 stages = 400 firings
  constexpr int kReplicas = 3;
  testing::FakeClock clock(kStart);
  prometheus::Registry registry;

  std::vector<std::unique_ptr<redis::RedisClient>> clients;
  std::vector<std::unique_ptr<RedisReferralStore>> stores;
  std::vector<std::unique_ptr<DeadlineScheduler>> schedulers;
  for (int i = 0; i < kReplicas; ++i) {
    clients.push_back(redis::RedisClient::Create(server_->config()));
    stores.push_back(std::make_unique<RedisReferralStore>(*clients.back()));
    schedulers.push_back(std::make_unique<DeadlineScheduler>(
        *stores.back(), clock, registry,
        DeadlineSchedulerOptions{
            .interval = absl::Seconds(1), .batch = 7, .max_batches_per_run = 1000}));
  }

  // Firing id -> fire time, as the store names them.
  std::map<std::string, absl::Time> expected;
  absl::Time last_fire = kStart;
  for (int i = 0; i < kCases; ++i) {
    const std::string id = absl::StrCat("ref-sched-", i);
    CaseWrite w;
    w.next = MakeCase(id);
    w.entry.set_version(1);
    const absl::Time reflection_due = kStart + absl::Hours(10 + i % 50) + absl::Minutes(i);
    const absl::Time certificate_due = kStart + absl::Hours(20 + i % 40) + absl::Minutes(7 * i);
    w.deadlines_started.push_back({v1::DEADLINE_KIND_REFLECTION_END,
                                   reflection_due,
                                   std::nullopt,
                                   {reflection_due - absl::Hours(5), reflection_due}});
    w.deadlines_started.push_back({v1::DEADLINE_KIND_CERTIFICATE_EXPIRY,
                                   certificate_due,
                                   std::nullopt,
                                   {certificate_due - absl::Hours(14), certificate_due}});
    for (const DeadlineStart& d : w.deadlines_started) {
      for (absl::Time t : d.fire_at) {
        const std::string firing = absl::StrCat(id, "-", std::string(DeadlineKindName(d.kind)), "-",
                                                std::string(DeadlineStage(d.kind, t, d.due)), "-",
                                                absl::ToUnixMillis(d.due));
        ASSERT_TRUE(expected.emplace(firing, t).second) << firing;
        last_fire = std::max(last_fire, t);
      }
    }
    ASSERT_TRUE(stores[i % kReplicas]->Apply(w).ok());
  }
  ASSERT_THAT(expected, SizeIs(4 * kCases));

  // Workers: each replica runs RunOnce twice per step, all at the same time.
  std::barrier sync(kReplicas + 1);
  std::atomic<bool> done{false};
  std::atomic<int> claimed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int r = 0; r < kReplicas; ++r) {
    workers.emplace_back([&, r] {
      for (;;) {
        sync.arrive_and_wait();  // step begins
        if (done.load()) return;
        for (int k = 0; k < 2; ++k) {
          StatusOr<int> n = schedulers[r]->RunOnce();
          if (n.ok()) {
            claimed += *n;
          } else {
            ++errors;
          }
        }
        sync.arrive_and_wait();  // step ends
      }
    });
  }

  redis::RedisClient& checker_client = *clients[0];
  RedisReferralStore checker(checker_client);
  std::map<std::string, int> seen;  // firing id -> times seen in the outbox
  int early = 0;
  const absl::Duration step = absl::Minutes(17);
  int steps = 0;
  for (absl::Time now = kStart; now <= last_fire + step; now += step) {
    ASSERT_LT(++steps, 1000);
    clock.Set(now);
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    // Everything that appeared in this step must be due by now.
    for (int guard = 0; guard < 100; ++guard) {
      auto items = checker.ReadOutbox("checker", 500, absl::Hours(1));
      ASSERT_TRUE(items.ok()) << items.status();
      if (items->empty()) break;
      for (const OutboxItem& item : *items) {
        ASSERT_EQ(item.type, "deadline");
        ++seen[item.id];
        auto it = expected.find(item.id);
        ASSERT_NE(it, expected.end()) << item.id;
        if (it->second > now) ++early;
      }
    }
    // And everything due by now has appeared (nothing left behind).
    for (const auto& [id, at] : expected) {
      if (at <= now) {
        ASSERT_EQ(seen.count(id), 1u) << id << " not fired by its step";
      }
    }
  }
  done = true;
  sync.arrive_and_wait();
  for (std::thread& t : workers) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(early, 0);
  EXPECT_EQ(claimed.load(), 4 * kCases);
  ASSERT_EQ(seen.size(), expected.size());
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(*checker.OutboxPending(), 4 * kCases);
  EXPECT_EQ(Firings(registry), 4 * kCases);
  EXPECT_EQ(Firings(registry, "reflection_end", "reminder"), kCases);
  EXPECT_EQ(Firings(registry, "reflection_end", "expired"), kCases);
  EXPECT_EQ(Firings(registry, "certificate_expiry", "reminder"), kCases);
  EXPECT_EQ(Firings(registry, "certificate_expiry", "expired"), kCases);
}

// Test that the background thread fires what is due on its own and stops promptly.
TEST_F(DeadlineSchedulerTest, ThreadFiresDueDeadlines) {
  testing::FakeClock clock(kStart);
  prometheus::Registry registry;
  auto client = redis::RedisClient::Create(server_->config());
  RedisReferralStore store(*client);
  CaseWrite w;
  w.next = MakeCase("ref-thread");
  w.entry.set_version(1);
  w.deadlines_started.push_back({v1::DEADLINE_KIND_CENTRE_RESPONSE,
                                 kStart + absl::Hours(24),
                                 std::nullopt,
                                 {kStart + absl::Hours(24)}});
  ASSERT_TRUE(store.Apply(w).ok());

  DeadlineScheduler scheduler(
      store, clock, registry,
      {.interval = absl::Milliseconds(5), .batch = 100, .max_batches_per_run = 10});
  scheduler.Start();
  clock.Advance(absl::Hours(25));
  int64_t pending = 0;
  for (int i = 0; i < 400 && pending == 0; ++i) {
    pending = store.OutboxPending().value_or(0);
    if (pending == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  scheduler.Stop();
  EXPECT_EQ(pending, 1);
  EXPECT_EQ(Firings(registry, "centre_response", "overdue"), 1);
  auto items = store.ReadOutbox("n", 10, absl::Minutes(1));
  ASSERT_TRUE(items.ok());
  ASSERT_THAT(*items, SizeIs(1));
  EXPECT_EQ((*items)[0].stage, "overdue");
  EXPECT_EQ((*items)[0].kind, v1::DEADLINE_KIND_CENTRE_RESPONSE);
}

// Test that RunOnce reports a store outage as UNAVAILABLE instead of throwing or hanging.
TEST_F(DeadlineSchedulerTest, RunOnceReportsOutage) {
  auto server = testing::RedisServer::Start({});
  ASSERT_NE(server, nullptr);
  testing::FakeClock clock(kStart);
  prometheus::Registry registry;
  auto client = redis::RedisClient::Create(server->config());
  RedisReferralStore store(*client);
  DeadlineScheduler scheduler(store, clock, registry);
  EXPECT_EQ(*scheduler.RunOnce(), 0);
  server->Stop();
  EXPECT_EQ(scheduler.RunOnce().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace concord::referrals
