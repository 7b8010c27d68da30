// BackgroundAuditWriter: appends off the caller's thread, in order, bounded, and drops (and
// counts) instead of blocking when the store is down or the queue is full.
#include "common/audit/background_audit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

namespace concord::audit {
namespace {

class ControlledSink final : public AuditSink {
 public:
  Status Append(const AuditEvent& event) override {
    if (down) return absl::UnavailableError("store down");
    std::lock_guard<std::mutex> lock(mu);
    objects.push_back(event.object);
    return absl::OkStatus();
  }
  std::atomic<bool> down{false};
  std::mutex mu;
  std::vector<std::string> objects;
};

AuditEvent Event(int i) {
  AuditEvent e;
  e.agency = AgencyId{"concord.test", AgencyType::kCoordinationUnit, "cic"};
  e.object = "authz:" + std::to_string(i);
  e.method = "/concord.referrals.v1.Referrals/Get";
  e.outcome = "PERMISSION_DENIED";
  return e;
}

TEST(BackgroundAuditWriter, AppendsEverythingInOrder) {
  ControlledSink sink;
  metrics::Metrics metrics;
  BackgroundAuditWriter writer(sink, metrics);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(writer.Submit(Event(i)));
  writer.Flush();
  std::lock_guard<std::mutex> lock(sink.mu);
  ASSERT_EQ(sink.objects.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(sink.objects[i], "authz:" + std::to_string(i));
}

TEST(BackgroundAuditWriter, StoreDownDropsAndCountsWithoutBlocking) {
  ControlledSink sink;
  sink.down = true;
  metrics::Metrics metrics;
  BackgroundAuditWriter writer(sink, metrics, /*capacity=*/8);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) accepted += writer.Submit(Event(i)) ? 1 : 0;
  EXPECT_LT(accepted, 100);  // the queue is bounded
  writer.Flush();
  EXPECT_TRUE(sink.objects.empty());
  const std::string text = metrics.Serialize();
  EXPECT_NE(text.find("concord_audit_background_dropped_total 100"), std::string::npos) << text;
  // Back up: later records go through.
  sink.down = false;
  EXPECT_TRUE(writer.Submit(Event(7)));
  writer.Flush();
  std::lock_guard<std::mutex> lock(sink.mu);
  EXPECT_EQ(sink.objects, (std::vector<std::string>{"authz:7"}));
}

}  // namespace
}  // namespace concord::audit
