#include "common/notify/outbox_worker.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/common/notify/fake_sender.h"

namespace concord::notify {
namespace {

using testing::FakeMessaging;

// An in-memory outbox: items stay until acknowledged.
class FakeOutbox final : public Outbox {
 public:
  StatusOr<std::vector<OutboxEntry>> Read(std::string_view, int max, absl::Duration) override {
    if (!read_error.ok()) return read_error;
    std::vector<OutboxEntry> out;
    for (const auto& [id, e] : items) {
      if (static_cast<int>(out.size()) >= max) break;
      out.push_back(e);
    }
    return out;
  }
  Status Ack(const std::vector<std::string>& ids) override {
    for (const std::string& id : ids) {
      items.erase(id);
      acked.push_back(id);
    }
    return absl::OkStatus();
  }
  void Add(std::string id, std::optional<Notification> n, Status status = absl::OkStatus()) {
    items[id] = OutboxEntry{id, "item-" + id, "case-" + id, std::move(status), std::move(n)};
  }

  std::map<std::string, OutboxEntry> items;  // ack id -> entry, read in order
  std::vector<std::string> acked;
  Status read_error;
};

Notification Note() {
  return Notification{"case", {AgencyId{"concord.test", AgencyType::kPolice, "pz-liege"}}, "{}"};
}

class OutboxWorkerTest : public ::testing::Test {
 protected:
  OutboxWorker Worker() {
    OutboxWorkerOptions o;
    o.metric_prefix = "concord_test_notifications";
    o.max_id_attempts = 4;
    return OutboxWorker(outbox_, &messaging_, &ids_, metrics_, o);
  }
  double Counter(const std::string& line) {
    const std::string text = metrics_.Serialize();
    const size_t at = text.find("\n" + line + " ");  // a sample line, not # HELP / # TYPE
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line.size() + 2));
  }

  FakeOutbox outbox_;
  FakeMessaging messaging_;
  MessageIds ids_ = *MessageIds::Create(*NotifierSecret::FromBytes(std::string(32, 's')),
                                        "admin/concord-test", "tn-");
  metrics::Metrics metrics_{"test"};
};

TEST_F(OutboxWorkerTest, ATakenIdIsResentUnderAFreshIdAndOnlyThenAcknowledged) {
  outbox_.Add("1", Note());
  messaging_.taken.insert(ids_.Derive("item-1", 0));
  OutboxWorker worker = Worker();
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  ASSERT_EQ(messaging_.stored.size(), 1u);
  EXPECT_EQ(messaging_.stored[0].message_id, ids_.Derive("item-1", 1));
  EXPECT_EQ(Counter("concord_test_notifications_id_taken_total"), 1);
  EXPECT_EQ(Counter("concord_test_notifications_total{outcome=\"sent\"}"), 1);
}

TEST_F(OutboxWorkerTest, PermanentRefusalsAreDroppedTransientOnesStopTheRound) {
  outbox_.Add("1", Note());
  outbox_.Add("2", Note());
  outbox_.Add("3", Note());
  messaging_.errors = {absl::FailedPreconditionError("recipient suspended"),
                       absl::UnavailableError("messaging down")};
  OutboxWorker worker = Worker();
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, 1);
  EXPECT_EQ(outbox_.acked, (std::vector<std::string>{"1"})) << "2 and 3 wait for the next round";
  EXPECT_EQ(Counter("concord_test_notifications_total{outcome=\"dropped\"}"), 1);
  EXPECT_EQ(Counter("concord_test_notifications_total{outcome=\"failed\"}"), 1);
  done = worker.RunOnce();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 2);
  EXPECT_EQ(messaging_.stored.size(), 2u);
}

// An item whose every fresh id is taken is not acknowledged (nothing was sent), but does not
// hold up the others.
TEST_F(OutboxWorkerTest, AnItemWithEveryIdTakenStaysQueuedWithoutBlockingTheRest) {
  outbox_.Add("1", Note());
  outbox_.Add("2", Note());
  for (int i = 0; i < 4; ++i) messaging_.taken.insert(ids_.Derive("item-1", i));
  OutboxWorker worker = Worker();
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(outbox_.acked, (std::vector<std::string>{"2"}));
  EXPECT_EQ(outbox_.items.count("1"), 1u);
  EXPECT_EQ(Counter("concord_test_notifications_id_taken_total"), 4);
}

TEST_F(OutboxWorkerTest, NothingToSayIsAcknowledgedAComposeErrorWaits) {
  outbox_.Add("1", std::nullopt);
  outbox_.Add("2", std::nullopt, absl::UnavailableError("redis down"));
  outbox_.Add("3", Note());
  OutboxWorker worker = Worker();
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(outbox_.acked, (std::vector<std::string>{"1"}));
  EXPECT_TRUE(messaging_.attempts.empty());
  outbox_.read_error = absl::UnavailableError("redis down");
  EXPECT_EQ(worker.RunOnce().status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(OutboxWorkerTest, WithoutASenderItemsStayQueued) {
  outbox_.Add("1", Note());
  OutboxWorker worker(outbox_, nullptr, &ids_, metrics_, OutboxWorkerOptions{});
  auto done = worker.RunOnce();
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 0);
  EXPECT_EQ(outbox_.items.size(), 1u);
}

}  // namespace
}  // namespace concord::notify
