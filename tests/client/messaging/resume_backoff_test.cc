// The resume schedule of MessagingClient::Watch: which endings are resumed, bounded exponential
// delays with jitter, reset after a healthy stream, and the attempt limit.
#include "client/messaging/resume_backoff.h"

#include <gtest/gtest.h>

namespace concord::messaging::client {
namespace {

TEST(ResumeBackoff, ResumesServerAndTransportEndingsOnly) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED,
        grpc::StatusCode::INTERNAL, grpc::StatusCode::UNKNOWN, grpc::StatusCode::ABORTED,
        grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    EXPECT_TRUE(IsResumable(code)) << code;
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::DATA_LOSS}) {
    EXPECT_FALSE(IsResumable(code)) << code;
  }
}

TEST(ResumeBackoff, DelaysDoubleUpToTheMaximumWithinTheJitterBand) {
  const ResumePolicy p;  // 250 ms, x2, max 30 s, jitter 0.2
  EXPECT_EQ(ResumeDelay(p, 1, 0.5), absl::Milliseconds(250));
  EXPECT_EQ(ResumeDelay(p, 2, 0.5), absl::Milliseconds(500));
  EXPECT_EQ(ResumeDelay(p, 3, 0.5), absl::Seconds(1));
  EXPECT_EQ(ResumeDelay(p, 1, 0.0), absl::Milliseconds(200));     // 1 - jitter
  EXPECT_EQ(ResumeDelay(p, 3, 1.0), absl::Milliseconds(1200));    // 1 + jitter
  EXPECT_EQ(ResumeDelay(p, 8, 0.5), absl::Seconds(30));           // 250 ms * 128 > max
  EXPECT_EQ(ResumeDelay(p, 8, 0.0), absl::Seconds(24));           // jitter below the cap
  EXPECT_EQ(ResumeDelay(p, 8, 1.0), absl::Seconds(30));           // never above max
  EXPECT_EQ(ResumeDelay(p, 1'000'000, 0.99), absl::Seconds(30));  // no overflow
}

TEST(ResumeBackoff, ScheduleIsBoundedJitteredAndResets) {
  ResumePolicy p;
  p.max_attempts = 4;
  ResumeBackoff backoff(p, /*seed=*/42);
  ResumeBackoff other(p, /*seed=*/43);
  bool differs = false;
  for (int i = 1; i <= 4; ++i) {
    const absl::Duration d = backoff.Next();
    const absl::Duration base = std::min(p.initial * (1 << (i - 1)), p.max);
    EXPECT_GE(d, base * (1 - p.jitter)) << i;
    EXPECT_LE(d, base * (1 + p.jitter)) << i;
    differs |= d != other.Next();
    EXPECT_EQ(backoff.attempts(), i);
  }
  EXPECT_TRUE(differs);  // two watchers do not retry in lockstep
  EXPECT_TRUE(backoff.exhausted());
  backoff.Reset();
  EXPECT_EQ(backoff.attempts(), 0);
  EXPECT_FALSE(backoff.exhausted());
  EXPECT_LE(backoff.Next(), p.initial * (1 + p.jitter));

  ResumeBackoff unlimited(ResumePolicy{}, 1);
  for (int i = 0; i < 100; ++i) EXPECT_LE(unlimited.Next(), absl::Seconds(30));
  EXPECT_FALSE(unlimited.exhausted());
}

}  // namespace
}  // namespace concord::messaging::client
