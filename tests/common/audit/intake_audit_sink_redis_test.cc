// IntakeAuditSink against a real redis-server running the shipped ACL file, as a workload's ACL
// user (messaging): sealed entries appended to its own intake in order, group commit under
// concurrency (fewer RPUSHes than records), AppendAll in batches, the wake-up published, a
// too-large event failing alone, fail-fast while Redis is down, and another workload's intake
// refused by Redis (NOPERM).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "common/redis/async_redis_client.h"
#include "common/redis/subscriber.h"
#include "tests/support/fake_clock.h"
#include "tests/support/redis_fixture.h"

namespace concord::audit {
namespace {

using ::concord::testing::FakeClock;
using ::testing::HasSubstr;

AuditEvent Event(int i) {
  return AuditEvent{.agency = {"concord.test", AgencyType::kPolice, "pz-" + std::to_string(i % 3)},
                    .officer = "officer-" + std::to_string(i),
                    .operation = Operation::kDisclosure,
                    .object = "message:m" + std::to_string(i),
                    .method = "/concord.messaging.v1.Messaging/Send",
                    .justification = "",
                    .recipients = {"reception_centre/payoke"},
                    .outcome = "OK",
                    .time = absl::FromUnixSeconds(1'800'000'000 + i)};
}

class IntakeAuditSinkTest : public testing::RedisSuiteTest {
 protected:
  void SetUp() override {
    RedisSuiteTest::SetUp();  // redis_: the test-only admin user (reads the intake back)
    if (HasFatalFailure()) return;
    messaging_ = redis::RedisClient::Create(server_->config("messaging"));
    sink_ = std::make_unique<IntakeAuditSink>(*messaging_, key_, clock_, "messaging");
  }

  std::vector<std::string> Intake(const std::string& workload) {
    auto r = redis_->Command({"LRANGE", IntakeKey(workload), "0", "-1"});
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const redis::Reply& e : r->elements) out.push_back(e.str);
    }
    return out;
  }

  int64_t RpushCalls() { return Calls("rpush"); }
  int64_t Calls(const std::string& command) {
    auto r = redis_->Command({"INFO", "commandstats"});
    EXPECT_TRUE(r.ok());
    const std::string prefix = "cmdstat_" + command + ":calls=";
    const size_t at = r->str.find(prefix);
    if (at == std::string::npos) return 0;
    const size_t from = at + prefix.size();
    int64_t calls = 0;
    EXPECT_TRUE(absl::SimpleAtoi(r->str.substr(from, r->str.find(',', from) - from), &calls));
    return calls;
  }

  AuditKey key_ = *AuditKey::FromBytes(std::string(32, 'k'));
  FakeClock clock_;
  std::unique_ptr<redis::RedisClient> messaging_;
  std::unique_ptr<IntakeAuditSink> sink_;
};

TEST_F(IntakeAuditSinkTest, AppendsSealedEntriesToItsOwnIntakeInOrder) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sink_->Append(Event(i)).ok());
  const std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto opened = OpenIntakeEntry(key_, "messaging", entries[i]);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, Event(i));
    // Bound to its intake: the same bytes do not open as another workload's entry.
    EXPECT_EQ(OpenIntakeEntry(key_, "referrals", entries[i]).status().code(),
              absl::StatusCode::kDataLoss);
    // Sealed at rest: no field in clear.
    EXPECT_EQ(entries[i].find("officer-"), std::string::npos);
  }
  EXPECT_TRUE(Intake("referrals").empty());
  EXPECT_EQ(server_->AllKeys(), std::vector<std::string>{IntakeKey("messaging")});
}

TEST_F(IntakeAuditSinkTest, UnsetEventTimeIsStampedByTheClock) {
  AuditEvent e = Event(1);
  e.time = absl::UnixEpoch();
  ASSERT_TRUE(sink_->Append(e).ok());
  auto opened = OpenIntakeEntry(key_, "messaging", Intake("messaging").at(0));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->time, clock_.Now());
}

// Test that concurrent appends share round trips (group commit) and none is lost. The threads
// start appending together (a latch): started one after the other, on a loaded machine the first
// ones could finish their appends before the next ones exist, and nothing would be concurrent.
TEST_F(IntakeAuditSinkTest, ConcurrentAppendsAreGroupCommittedAndAllStored) {
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  const int64_t before = RpushCalls();
  std::mutex failed_mu;
  int failures = 0;  // guarded by failed_mu
  Status first_failure;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        const Status appended = sink_->Append(Event(t * 1000 + i));
        if (appended.ok()) continue;
        std::lock_guard<std::mutex> lock(failed_mu);
        if (failures++ == 0) first_failure = appended;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0) << "first: " << first_failure;
  const std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> officers;
  for (const std::string& raw : entries) {
    auto opened = OpenIntakeEntry(key_, "messaging", raw);
    ASSERT_TRUE(opened.ok());
    officers.insert(opened->officer);
  }
  EXPECT_EQ(officers.size(), static_cast<size_t>(kThreads * kEach));
  const int64_t rpushes = RpushCalls() - before;
  EXPECT_LT(rpushes, kThreads * kEach) << "no batch held several entries";
}

TEST_F(IntakeAuditSinkTest, AppendAllWritesInBatchesInOrder) {
  const size_t n = IntakeAuditSink::kMaxBatch * 2 + 7;
  std::vector<AuditEvent> events;
  for (size_t i = 0; i < n; ++i) events.push_back(Event(static_cast<int>(i)));
  const int64_t before = RpushCalls();
  ASSERT_TRUE(sink_->AppendAll(events).ok());
  EXPECT_EQ(RpushCalls() - before, 3);
  const std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), n);
  for (size_t i = 0; i < n; i += 97) {
    EXPECT_EQ(*OpenIntakeEntry(key_, "messaging", entries[i]), events[i]);
  }
}

TEST_F(IntakeAuditSinkTest, PublishesAWakeUpForTheIngester) {
  std::mutex mu;
  std::condition_variable cv;
  int messages = 0;
  bool subscribed = false;
  redis::Subscriber wakeups(
      server_->config("audit"), {std::string(kIntakeChannel)},
      [&](const std::string&, const std::string&) {
        std::lock_guard<std::mutex> lock(mu);
        ++messages;
        cv.notify_all();
      },
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        subscribed = true;
        cv.notify_all();
      });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return subscribed; }));
  }
  ASSERT_TRUE(sink_->Append(Event(1)).ok());
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return messages >= 1; }));
}

// Test that the wake-up is published only by an append that finds the intake empty: entries
// appended behind others that wait for the ingester publish nothing (its pass or follow-up pass
// reads them); once the intake is emptied, the next append publishes again.
TEST_F(IntakeAuditSinkTest, PublishesAWakeUpOnlyWhenTheIntakeWasEmpty) {
  const int64_t before = Calls("publish");
  ASSERT_TRUE(sink_->Append(Event(1)).ok());
  EXPECT_EQ(Calls("publish") - before, 1);
  ASSERT_TRUE(sink_->Append(Event(2)).ok());
  ASSERT_TRUE(sink_->AppendAll({Event(3), Event(4)}).ok());
  EXPECT_EQ(Calls("publish") - before, 1);
  EXPECT_EQ(Intake("messaging").size(), 4u);
  ASSERT_TRUE(redis_->Command({"DEL", IntakeKey("messaging")}).ok());  // as if chained
  ASSERT_TRUE(sink_->Append(Event(5)).ok());
  EXPECT_EQ(Calls("publish") - before, 2);
}

TEST_F(IntakeAuditSinkTest, TooLargeEventFailsAloneAndTakesNoPlace) {
  AuditEvent big = Event(2);
  big.justification = std::string(kMaxRecordPlaintext, 'j');
  std::vector<AuditEvent> events = {Event(1), big, Event(3)};
  const Status st = sink_->AppendAll(events);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(*OpenIntakeEntry(key_, "messaging", entries[1]), Event(3));
}

// Security: a workload's user may append to its own intake only.
TEST_F(IntakeAuditSinkTest, AnotherWorkloadsIntakeIsRefusedByRedis) {
  IntakeAuditSink impostor(*messaging_, key_, clock_, "referrals");
  const Status st = impostor.Append(Event(1));
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(st.message()), HasSubstr("NOPERM"));
  EXPECT_TRUE(Intake("referrals").empty());
}

TEST_F(IntakeAuditSinkTest, RedisDownFailsFastWithUnavailableThenRecovers) {
  server_->Stop();
  const absl::Time start = absl::Now();
  EXPECT_EQ(sink_->Append(Event(1)).code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  server_->Start();
  bool stored = false;
  for (int i = 0; i < 200 && !stored; ++i) {  // bounded: the client's backoff is <= 200 ms
    stored = sink_->Append(Event(2)).ok();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(stored);
}

// Asynchronous appends (the messaging Send reactor's path): AppendAsync through an
// AsyncRedisClient. Each callback once, every entry stored and sealed, concurrent appends grouped
// into fewer RPUSHes than entries, no thread waiting.
class IntakeAuditSinkAsyncTest : public IntakeAuditSinkTest {
 protected:
  void SetUp() override {
    IntakeAuditSinkTest::SetUp();
    if (HasFatalFailure()) return;
    async_ = redis::AsyncRedisClient::Create(server_->config("messaging"));
    async_sink_ =
        std::make_unique<IntakeAuditSink>(*messaging_, key_, clock_, "messaging", async_.get());
  }
  void TearDown() override {
    async_sink_.reset();
    async_.reset();
  }

  // Appends `n` events (ids from `first`) asynchronously and waits (bounded) for every callback.
  std::vector<Status> AppendAsyncAndWait(int first, int n) {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Status> results(n);
    int done = 0;
    for (int i = 0; i < n; ++i) {
      async_sink_->AppendAsync(Event(first + i), [&, i](Status s) {
        std::lock_guard<std::mutex> lock(mu);
        results[i] = s;
        ++done;
        cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done == n; }));
    return results;
  }

  std::unique_ptr<redis::AsyncRedisClient> async_;
  std::unique_ptr<IntakeAuditSink> async_sink_;
};

TEST_F(IntakeAuditSinkAsyncTest, EveryAppendIsStoredSealedAndGroupedIntoFewRoundTrips) {
  const int64_t before = RpushCalls();
  auto info = redis_->Command({"INFO", "server"});
  ASSERT_TRUE(info.ok());
  const size_t at = info->str.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  const pid_t pid = std::stoi(info->str.substr(at + 11));
  // The first append's write is held in flight (Redis paused) while the others queue behind it:
  // they must leave together, in batches of at most kMaxBatch, once it is answered.
  constexpr int kN = 600;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> results(kN);
  int done = 0;
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  for (int i = 0; i < kN; ++i) {
    async_sink_->AppendAsync(Event(i), [&, i](Status s) {
      std::lock_guard<std::mutex> lock(mu);
      results[i] = s;
      ++done;
      cv.notify_all();
    });
  }
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done == kN; }));
  }
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s;
  const std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    auto opened = OpenIntakeEntry(key_, "messaging", entries[i]);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, Event(i));  // in order
    EXPECT_EQ(entries[i].find("officer-"), std::string::npos);
  }
  // One RPUSH for the first entry, then ceil(599 / 256) = 3 for the rest.
  EXPECT_EQ(RpushCalls() - before, 4);
}

TEST_F(IntakeAuditSinkAsyncTest, ATooLargeEventFailsAloneOnTheCallingThread) {
  AuditEvent big = Event(1);
  big.justification = std::string(kMaxRecordPlaintext, 'j');
  std::promise<Status> p;
  async_sink_->AppendAsync(big, [&p](Status s) { p.set_value(s); });
  auto f = p.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);  // no I/O
  EXPECT_EQ(f.get().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(AppendAsyncAndWait(2, 1)[0].ok());
  EXPECT_EQ(Intake("messaging").size(), 1u);
}

// Test that AppendAllAsync (the records of one messaging Ack) stores every record, sealed and in
// order, in ONE RPUSH, and calls back once, after they are stored; that a record too large to
// seal fails alone (the batch's status is its error, the others are stored); and that an empty
// batch is OK without I/O.
TEST_F(IntakeAuditSinkAsyncTest, AppendAllAsyncStoresTheBatchInOrderInOneRoundTrip) {
  // Every callback of every batch, kept until the end: each batch must be answered once.
  struct Answers {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Status> calls;  // guarded by mu
  };
  std::vector<std::shared_ptr<Answers>> batches;
  auto append_all = [&](std::vector<AuditEvent> events) {
    auto answers = std::make_shared<Answers>();
    batches.push_back(answers);
    async_sink_->AppendAllAsync(std::move(events), [answers](Status s) {
      std::lock_guard<std::mutex> lock(answers->mu);
      answers->calls.push_back(s);
      answers->cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(answers->mu);
    EXPECT_TRUE(answers->cv.wait_for(lock, std::chrono::seconds(10),
                                     [&] { return !answers->calls.empty(); }));
    return answers->calls;
  };
  constexpr int kN = 200;
  std::vector<AuditEvent> events;
  for (int i = 0; i < kN; ++i) events.push_back(Event(i));
  int64_t before = RpushCalls();
  std::vector<Status> calls = append_all(events);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].ok()) << calls[0];
  EXPECT_EQ(RpushCalls() - before, 1);
  std::vector<std::string> entries = Intake("messaging");
  ASSERT_EQ(entries.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) {
    auto opened = OpenIntakeEntry(key_, "messaging", entries[i]);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(*opened, Event(i));
  }

  AuditEvent big = Event(kN + 1);
  big.justification = std::string(kMaxRecordPlaintext, 'j');
  before = RpushCalls();
  calls = append_all({Event(kN), big, Event(kN + 2)});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].code(), absl::StatusCode::kInvalidArgument) << calls[0];
  EXPECT_EQ(RpushCalls() - before, 1);
  entries = Intake("messaging");
  ASSERT_EQ(entries.size(), static_cast<size_t>(kN + 2));
  EXPECT_EQ(*OpenIntakeEntry(key_, "messaging", entries[kN]), Event(kN));
  EXPECT_EQ(*OpenIntakeEntry(key_, "messaging", entries[kN + 1]), Event(kN + 2));

  before = RpushCalls();
  calls = append_all({});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(calls[0].ok());
  EXPECT_EQ(RpushCalls(), before);
  // One more write through the same path has been answered: no batch was answered twice.
  EXPECT_TRUE(AppendAsyncAndWait(kN + 3, 1)[0].ok());
  for (const auto& answers : batches) {
    std::lock_guard<std::mutex> lock(answers->mu);
    EXPECT_EQ(answers->calls.size(), 1u);
  }
}

TEST_F(IntakeAuditSinkAsyncTest, RedisDownFailsEachAppendWithUnavailableThenRecovers) {
  server_->Stop();
  for (const Status& s : AppendAsyncAndWait(0, 50)) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
  server_->Start();
  bool stored = false;
  for (int i = 0; i < 200 && !stored; ++i) {  // bounded: the client's backoff is <= 200 ms
    stored = AppendAsyncAndWait(100 + i, 1)[0].ok();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(stored);
}

}  // namespace
}  // namespace concord::audit
