// OpenCalls bookkeeping without a network: registration and per-agency stream counts, who is
// signalled and who is cancelled when the caller loses admission, the grace of cooperative
// handlers, the end report (metrics and observer), and that a finished call is never cancelled.
#include "common/server/open_calls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "tests/support/fake_clock.h"

namespace concord::server {
namespace {

using ::testing::HasSubstr;

const Caller kPolice{AgencyId{"concord.test", AgencyType::kPolice, "pz-antwerp"}, "A1"};
const Caller kPoliceOtherCert{AgencyId{"concord.test", AgencyType::kPolice, "pz-antwerp"}, "A2"};
const Caller kCentre{AgencyId{"concord.test", AgencyType::kReceptionCentre, "payoke"}, "C1"};

class FakeRevocations final : public authz::RevocationView {
 public:
  bool IsSuspended(const AgencyId& agency) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return suspended_.contains(agency.Key());
  }
  bool IsSerialRevoked(std::string_view serial) const override {
    std::lock_guard<std::mutex> lock(mu_);
    return revoked_.contains(std::string(serial));
  }
  void Suspend(const AgencyId& agency) {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_.insert(agency.Key());
  }
  void Reinstate(const AgencyId& agency) {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_.erase(agency.Key());
  }
  void Revoke(const std::string& serial) {
    std::lock_guard<std::mutex> lock(mu_);
    revoked_.insert(serial);
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> suspended_;
  std::set<std::string> revoked_;
};

// A call as the interceptor registers it; `cancels` counts TryCancel.
struct FakeCall {
  grpc::ServerContext ctx;  // only its address is used (the registry key)
  std::atomic<int> cancels{0};
  OpenCalls::Handle handle;
};

class OpenCallsTest : public ::testing::Test {
 protected:
  OpenCallsTest() : calls_(revocations_, metrics_, clock_, OpenCallsOptions{}) {
    calls_.SetEndObserver([this](const RevokedCallEnd& end) {
      std::lock_guard<std::mutex> lock(mu_);
      ends_.push_back(end);
    });
  }

  void Open(FakeCall& call, const Caller& caller, bool streaming,
            const std::string& method = "/concord.messaging.v1.Messaging/Subscribe") {
    call.handle = calls_.Register(&call.ctx, CallInfo{caller, method, streaming},
                                  [&call] { call.cancels.fetch_add(1); });
  }

  std::vector<RevokedCallEnd> ends() {
    std::lock_guard<std::mutex> lock(mu_);
    return ends_;
  }

  std::string Exposition() { return metrics_.Serialize(); }

  FakeRevocations revocations_;
  metrics::Metrics metrics_;
  testing::FakeClock clock_;
  OpenCalls calls_;
  std::mutex mu_;
  std::vector<RevokedCallEnd> ends_;
};

TEST_F(OpenCallsTest, CountsOpenCallsAndStreamsPerAgency) {
  FakeCall a1, a2, a_unary, c1;
  Open(a1, kPolice, /*streaming=*/true);
  Open(a2, kPoliceOtherCert, /*streaming=*/true);
  Open(a_unary, kPolice, /*streaming=*/false, "/concord.messaging.v1.Messaging/Send");
  Open(c1, kCentre, /*streaming=*/true);
  EXPECT_EQ(calls_.open_calls(), 4u);
  EXPECT_EQ(calls_.open_streams(), 3u);
  EXPECT_EQ(calls_.OpenStreams(kPolice.agency), 2);
  EXPECT_EQ(calls_.OpenStreams(kCentre.agency), 1);
  EXPECT_THAT(Exposition(), HasSubstr("concord_open_streams 3"));

  calls_.Deregister(a1.handle, grpc::StatusCode::OK);
  calls_.Deregister(a1.handle, grpc::StatusCode::OK);  // idempotent (both hooks may fire)
  calls_.Deregister(nullptr, grpc::StatusCode::OK);    // ignored
  EXPECT_EQ(calls_.OpenStreams(kPolice.agency), 1);
  calls_.Deregister(a_unary.handle, grpc::StatusCode::OK);
  calls_.Deregister(a2.handle, grpc::StatusCode::CANCELLED);
  calls_.Deregister(c1.handle, grpc::StatusCode::OK);
  EXPECT_EQ(calls_.open_calls(), 0u);
  EXPECT_EQ(calls_.OpenStreams(kPolice.agency), 0);
  EXPECT_THAT(Exposition(), HasSubstr("concord_open_streams 0"));
  EXPECT_TRUE(ends().empty());  // nobody lost admission
}

// Test that calls whose handler does not cooperate (health Watch, reflection, unary calls in
// flight) are cancelled at the first check after the suspension, once, and only theirs.
TEST_F(OpenCallsTest, NonCooperativeCallsOfASuspendedAgencyAreCancelledAtOnce) {
  FakeCall watch, other;
  Open(watch, kPolice, /*streaming=*/true, "/grpc.health.v1.Health/Watch");
  Open(other, kCentre, /*streaming=*/true, "/grpc.health.v1.Health/Watch");
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 0);

  revocations_.Suspend(kPolice.agency);
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 1);
  EXPECT_EQ(other.cancels.load(), 0);
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 1);  // cancelled once

  calls_.Deregister(watch.handle, grpc::StatusCode::CANCELLED);
  ASSERT_EQ(ends().size(), 1u);
  const RevokedCallEnd end = ends()[0];
  EXPECT_EQ(end.caller, kPolice);
  EXPECT_EQ(end.method, "/grpc.health.v1.Health/Watch");
  EXPECT_EQ(end.reason, RevocationReason::kAgencySuspended);
  EXPECT_TRUE(end.cancelled);
  EXPECT_EQ(end.code, grpc::StatusCode::CANCELLED);
  EXPECT_THAT(Exposition(),
              HasSubstr("concord_calls_ended_by_revocation_total{ended_by=\"cancel\",reason=\""
                        "agency_suspended\"} 1"));
  calls_.Deregister(other.handle, grpc::StatusCode::OK);
}

// Test that a cooperative handler is signalled (woken) first and given the grace to end the call
// itself; only if it has not ended by then is the call cancelled.
TEST_F(OpenCallsTest, CooperativeCallsAreSignalledThenCancelledAfterTheGrace) {
  FakeCall stream;
  Open(stream, kPolice, /*streaming=*/true);
  std::atomic<int> woken{0};
  const CallGuard guard = calls_.Guard(stream.ctx, kPolice, [&woken] { woken.fetch_add(1); });
  EXPECT_TRUE(guard.Check().ok());

  revocations_.Revoke("A1");
  calls_.CheckNow();
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(stream.cancels.load(), 0);
  const Status st = guard.Check();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonOf(st), "CERTIFICATE_REVOKED");
  EXPECT_EQ(st.message(), "certificate revoked");

  clock_.Advance(OpenCallsOptions{}.grace / 2);
  calls_.CheckNow();
  EXPECT_EQ(woken.load(), 1);  // woken once
  EXPECT_EQ(stream.cancels.load(), 0);
  clock_.Advance(OpenCallsOptions{}.grace);
  calls_.CheckNow();
  EXPECT_EQ(stream.cancels.load(), 1);  // stuck (e.g. in a write): cancelled

  calls_.Deregister(stream.handle, grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_EQ(ends().size(), 1u);
  EXPECT_TRUE(ends()[0].cancelled);
  EXPECT_EQ(ends()[0].code, grpc::StatusCode::CANCELLED);  // what the client saw
}

// Test that a handler that ends its call itself is reported as such, and never cancelled.
TEST_F(OpenCallsTest, HandlerEndingTheCallItselfIsNotCancelled) {
  FakeCall stream;
  Open(stream, kPolice, /*streaming=*/true);
  const CallGuard guard = calls_.Guard(stream.ctx, kPolice);
  revocations_.Suspend(kPolice.agency);
  const Status st = guard.Check();  // the handler notices before the watcher's next pass
  EXPECT_EQ(ReasonOf(st), "AGENCY_SUSPENDED");
  EXPECT_EQ(st.message(), "agency suspended");
  calls_.Deregister(stream.handle, grpc::StatusCode::UNAUTHENTICATED);

  clock_.Advance(absl::Minutes(1));
  calls_.CheckNow();
  EXPECT_EQ(stream.cancels.load(), 0);
  ASSERT_EQ(ends().size(), 1u);
  EXPECT_FALSE(ends()[0].cancelled);
  EXPECT_EQ(ends()[0].code, grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ends()[0].reason, RevocationReason::kAgencySuspended);
  EXPECT_THAT(Exposition(),
              HasSubstr("concord_calls_ended_by_revocation_total{ended_by=\"handler\",reason=\""
                        "agency_suspended\"} 1"));
}

// Test that a call that ended is never cancelled, even while a guard still refers to it.
TEST_F(OpenCallsTest, FinishedCallsAreNeverCancelled) {
  FakeCall stream;
  Open(stream, kPolice, /*streaming=*/false);
  const CallGuard guard = calls_.Guard(stream.ctx, kPolice);
  calls_.Deregister(stream.handle, grpc::StatusCode::OK);
  revocations_.Revoke("A1");
  calls_.CheckNow();
  clock_.Advance(absl::Minutes(1));
  calls_.CheckNow();
  EXPECT_EQ(stream.cancels.load(), 0);
  EXPECT_FALSE(guard.Check().ok());  // the guard still answers (from the view)
  EXPECT_TRUE(ends().empty());       // it ended before the revocation
}

// Test that cancelling a call may deregister it inline (the callback API runs the reactor on
// the cancelling thread) without deadlock, and is reported as cancelled.
TEST_F(OpenCallsTest, CancelMayDeregisterInline) {
  FakeCall call;
  call.handle = calls_.Register(&call.ctx, CallInfo{kPolice, "/grpc.health.v1.Health/Watch", true},
                                [this, &call] {
                                  call.cancels.fetch_add(1);
                                  calls_.Deregister(call.handle, grpc::StatusCode::CANCELLED);
                                });
  revocations_.Suspend(kPolice.agency);
  calls_.CheckNow();
  EXPECT_EQ(call.cancels.load(), 1);
  EXPECT_EQ(calls_.open_calls(), 0u);
  ASSERT_EQ(ends().size(), 1u);
  EXPECT_TRUE(ends()[0].cancelled);
}

// Test that losing admission is sticky for an open call, and that a guard without a registered
// call (a server without the interceptor) still checks its caller.
TEST_F(OpenCallsTest, RevocationIsStickyAndUnregisteredGuardsCheckTheCaller) {
  FakeCall stream;
  Open(stream, kPolice, /*streaming=*/true);
  const CallGuard guard = calls_.Guard(stream.ctx, kPolice);
  revocations_.Suspend(kPolice.agency);
  EXPECT_FALSE(guard.Check().ok());
  revocations_.Reinstate(kPolice.agency);
  EXPECT_EQ(ReasonOf(guard.Check()), "AGENCY_SUSPENDED");  // the open call stays ended
  calls_.Deregister(stream.handle, grpc::StatusCode::UNAUTHENTICATED);

  grpc::ServerContext unregistered;
  const CallGuard loose = calls_.Guard(unregistered, kCentre);
  EXPECT_TRUE(loose.Check().ok());
  revocations_.Revoke("C1");
  EXPECT_EQ(ReasonOf(loose.Check()), "CERTIFICATE_REVOKED");
}

// Test that the watcher thread finds a revoked call by itself (bounded polling).
// A registry with the per-agency stream cap: police may hold 2 streams, platforms 1.
class OpenCallsCapTest : public ::testing::Test {
 protected:
  OpenCallsCapTest()
      : quotas_(*quota::QuotaTable::Defaults().WithOverrides("police.streams=2;platform.streams=1"),
                metrics_, clock_),
        calls_(revocations_, metrics_, clock_, OpenCallsOptions{.quotas = &quotas_}) {}

  void Open(FakeCall& call, const Caller& caller, bool streaming = true) {
    call.handle = calls_.Register(
        &call.ctx, CallInfo{caller, "/concord.messaging.v1.Messaging/Subscribe", streaming},
        [&call] { call.cancels.fetch_add(1); });
  }

  FakeRevocations revocations_;
  metrics::Metrics metrics_;
  testing::FakeClock clock_;
  quota::QuotaChecker quotas_;
  OpenCalls calls_;
};

// Test that the stream after the cap is refused with RESOURCE_EXHAUSTED and its details, that
// unary calls and other agencies are not affected, and that a slot frees when a stream ends.
TEST_F(OpenCallsCapTest, RefusesTheStreamAfterTheCap) {
  FakeCall s1, s2, s3, unary, centre;
  Open(s1, kPolice);
  Open(s2, kPoliceOtherCert);
  Open(s3, kPolice);
  Open(unary, kPolice, /*streaming=*/false);
  Open(centre, kCentre);
  EXPECT_TRUE(calls_.Guard(s1.ctx, kPolice).Check().ok());
  EXPECT_TRUE(calls_.Guard(s2.ctx, kPoliceOtherCert).Check().ok());
  const Status refused = calls_.Guard(s3.ctx, kPolice).Check();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(refused), "LIMIT_REACHED");
  EXPECT_EQ(ReasonMetadataOf(refused).at("limit"), "streams");
  EXPECT_EQ(RetryDelayOf(refused), absl::Seconds(1));
  ASSERT_EQ(QuotaViolationsOf(refused).size(), 1u);
  EXPECT_THAT(QuotaViolationsOf(refused)[0].description, HasSubstr("at most 2 streams"));
  EXPECT_TRUE(calls_.Guard(unary.ctx, kPolice).Check().ok());
  EXPECT_TRUE(calls_.Guard(centre.ctx, kCentre).Check().ok());
  EXPECT_EQ(calls_.OpenStreams(kPolice.agency), 2);  // the refused one does not count
  EXPECT_THAT(
      metrics_.Serialize(),
      HasSubstr("concord_quota_refusals_total{agency_type=\"police\",limit=\"streams\"} 1"));

  calls_.Deregister(s3.handle, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(calls_.OpenStreams(kPolice.agency), 2);
  calls_.Deregister(s1.handle, grpc::StatusCode::OK);
  FakeCall s4;
  Open(s4, kPolice);
  EXPECT_TRUE(calls_.Guard(s4.ctx, kPolice).Check().ok());
  for (FakeCall* c : {&s2, &s4, &unary, &centre})
    calls_.Deregister(c->handle, grpc::StatusCode::OK);
  EXPECT_EQ(calls_.open_streams(), 0u);
}

// Test that a refused stream whose handler takes no guard (health Watch, reflection) is
// cancelled after the grace, and a cooperative one never is (its handler returns the refusal).
TEST_F(OpenCallsCapTest, RefusedStreamsWithoutAGuardAreCancelledAfterTheGrace) {
  const Caller platform{AgencyId{"concord.test", AgencyType::kPlatform, "social-x"}, "P1"};
  FakeCall first, watch, own;
  Open(first, platform);
  Open(watch, platform);
  Open(own, platform);
  (void)calls_.Guard(own.ctx, platform);  // cooperative
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 0);  // its handler may still take a guard
  clock_.Advance(OpenCallsOptions{}.grace);
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 1);
  EXPECT_EQ(own.cancels.load(), 0);
  EXPECT_EQ(first.cancels.load(), 0);
  calls_.CheckNow();
  EXPECT_EQ(watch.cancels.load(), 1);  // once
  for (FakeCall* c : {&first, &watch, &own}) calls_.Deregister(c->handle, grpc::StatusCode::OK);
  EXPECT_EQ(calls_.open_streams(), 0u);
}

TEST(OpenCallsWatcher, CancelsWithoutBeingAsked) {
  FakeRevocations revocations;
  metrics::Metrics metrics;
  OpenCalls calls(
      revocations, metrics, SystemClock::Get(),
      OpenCallsOptions{.check_interval = absl::Milliseconds(10), .grace = absl::Milliseconds(50)});
  FakeCall call;
  call.handle = calls.Register(&call.ctx, CallInfo{kPolice, "/x.Y/Z", true},
                               [&call] { call.cancels.fetch_add(1); });
  calls.StartWatcher();
  calls.StartWatcher();  // idempotent
  revocations.Revoke("A1");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (call.cancels.load() == 0 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(call.cancels.load(), 1);
  calls.StopWatcher();
  calls.StopWatcher();  // idempotent
  calls.Deregister(call.handle, grpc::StatusCode::CANCELLED);
}

TEST(RevocationOf, SuspensionComesFirst) {
  FakeRevocations revocations;
  EXPECT_FALSE(RevocationOf(revocations, kPolice).has_value());
  revocations.Revoke("A1");
  EXPECT_EQ(RevocationOf(revocations, kPolice), RevocationReason::kCertificateRevoked);
  revocations.Suspend(kPolice.agency);
  EXPECT_EQ(RevocationOf(revocations, kPolice), RevocationReason::kAgencySuspended);
  EXPECT_EQ(RevocationReasonCode(RevocationReason::kAgencySuspended), "AGENCY_SUSPENDED");
  EXPECT_EQ(RevocationStatus(RevocationReason::kCertificateRevoked).code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace concord::server
