// DeliveryPump (services/messaging/delivery_pump.h): which streams a notification wakes, the
// poll deadlines of its timer thread, removal, and the wait for operations in flight. Pure: a
// DeliveryNotifier and counting streams, no gRPC, no Redis.
#include "services/messaging/delivery_pump.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tests/support/wait.h"

namespace concord::messaging {
namespace {

using ::concord::testing::WaitUntil;

class CountingStream final : public DeliveryPump::Stream {
 public:
  void Wake() override { wakes_.fetch_add(1); }
  void WakeFor(const std::string& entry_id) override {
    wakes_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(entry_id);
  }
  int wakes() const { return wakes_.load(); }
  std::vector<std::string> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }

 private:
  std::atomic<int> wakes_{0};
  mutable std::mutex mu_;
  std::vector<std::string> entries_;
};

// Test that a notification wakes every stream of the agencies it names, on the notifying thread,
// and no other; NotifyAll wakes every stream.
TEST(DeliveryPump, ANotificationWakesTheStreamsOfItsAgenciesOnly) {
  DeliveryNotifier notifier;
  DeliveryPump pump(notifier);
  auto a1 = std::make_shared<CountingStream>();
  auto a2 = std::make_shared<CountingStream>();
  auto b = std::make_shared<CountingStream>();
  auto c = std::make_shared<CountingStream>();
  pump.Add("police/a", a1);
  pump.Add("police/a", a2);
  pump.Add("police/b", b);
  pump.Add("police/c", c);
  EXPECT_EQ(pump.streams(), 4u);
  notifier.Notify("police/a police/b");
  EXPECT_EQ(a1->wakes(), 1);
  EXPECT_EQ(a2->wakes(), 1);
  EXPECT_EQ(b->wakes(), 1);
  EXPECT_EQ(c->wakes(), 0);
  notifier.NotifyAll();
  EXPECT_EQ(a1->wakes(), 2);
  EXPECT_EQ(c->wakes(), 1);
}

// Test that an announcement "<rkey>@<entry id>" passes the entry to the agency's streams, that a
// bare "<rkey>" (the previous release's payload) wakes them without one, and that entry ids are
// ordered as the stream orders them.
TEST(DeliveryPump, AnAnnouncedEntryReachesTheStreamsOfItsAgency) {
  DeliveryNotifier notifier;
  DeliveryPump pump(notifier);
  auto a = std::make_shared<CountingStream>();
  auto b = std::make_shared<CountingStream>();
  pump.Add("police/a", a);
  pump.Add("police/b", b);
  notifier.Notify("police/a@1700000000000-3 police/b");
  EXPECT_EQ(a->entries(), std::vector<std::string>{"1700000000000-3"});
  EXPECT_EQ(b->wakes(), 1);
  EXPECT_TRUE(b->entries().empty());

  ASSERT_TRUE(ParseEntryId("1700000000000-3").has_value());
  EXPECT_LT(*ParseEntryId("1700000000000-3"), *ParseEntryId("1700000000000-10"));
  EXPECT_LT(*ParseEntryId("999-99"), *ParseEntryId("1000-0"));
  EXPECT_FALSE(ParseEntryId("").has_value());
  EXPECT_FALSE(ParseEntryId("12").has_value());
  EXPECT_FALSE(ParseEntryId("-1").has_value());
  EXPECT_FALSE(ParseEntryId("1-").has_value());
  EXPECT_FALSE(ParseEntryId("1-2-3").has_value());
  EXPECT_FALSE(ParseEntryId("a-1").has_value());
}

// Test that a removed stream, or one whose owner let it go, is not woken.
TEST(DeliveryPump, RemovedOrReleasedStreamsAreNotWoken) {
  DeliveryNotifier notifier;
  DeliveryPump pump(notifier);
  auto kept = std::make_shared<CountingStream>();
  auto removed = std::make_shared<CountingStream>();
  auto released = std::make_shared<CountingStream>();
  pump.Add("police/a", kept);
  const uint64_t id = pump.Add("police/a", removed);
  pump.Add("police/a", released);
  pump.Remove(id);
  released.reset();
  notifier.Notify("police/a");
  EXPECT_EQ(kept->wakes(), 1);
  EXPECT_EQ(removed->wakes(), 0);
  EXPECT_EQ(pump.streams(), 2u);  // the released one stays registered until its owner removes it
}

// Test that the timer thread wakes a stream at its deadline, that a later WakeAt replaces the
// earlier deadline (one wake, not two), and that a removed stream's deadline is dropped.
TEST(DeliveryPump, DeadlinesWakeOnceAndAreReplaced) {
  DeliveryNotifier notifier;
  DeliveryPump pump(notifier);
  auto s = std::make_shared<CountingStream>();
  auto gone = std::make_shared<CountingStream>();
  const uint64_t id = pump.Add("police/a", s);
  const uint64_t gone_id = pump.Add("police/b", gone);
  const absl::Time start = absl::Now();
  pump.WakeAt(id, start + absl::Milliseconds(20));
  pump.WakeAt(id, start + absl::Milliseconds(60));  // replaces the first
  pump.WakeAt(gone_id, start + absl::Milliseconds(20));
  pump.Remove(gone_id);
  ASSERT_TRUE(WaitUntil([&] { return s->wakes() == 1; }, absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(60));
  absl::SleepFor(absl::Milliseconds(100));  // a wrong second wake-up would show here
  EXPECT_EQ(s->wakes(), 1);
  EXPECT_EQ(gone->wakes(), 0);
}

// Test that WaitForOps returns once every token is released, and times out while one is held.
TEST(DeliveryPump, WaitForOpsWaitsForEveryToken) {
  DeliveryNotifier notifier;
  DeliveryPump pump(notifier);
  EXPECT_TRUE(pump.WaitForOps(absl::ZeroDuration()));
  DeliveryPump::Op op = pump.StartOp();
  DeliveryPump::Op copy = op;
  EXPECT_FALSE(pump.WaitForOps(absl::Milliseconds(10)));
  op.reset();
  EXPECT_FALSE(pump.WaitForOps(absl::Milliseconds(10)));
  std::thread release([&] { copy.reset(); });
  EXPECT_TRUE(pump.WaitForOps(absl::Seconds(5)));
  release.join();
}

}  // namespace
}  // namespace concord::messaging
