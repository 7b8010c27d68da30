// File: client/messaging/resume_backoff.h
//
// When and how soon MessagingClient::Watch opens a new Subscribe stream after the server ended
// one: the pure part of the agency library's resume logic, unit-tested without a network.
//
//   * Resumed: the stream ended by the server or the transport (the connection reached the
//     server's maximum age, GOAWAY, a restart or drain: UNAVAILABLE, CANCELLED, INTERNAL,
//     UNKNOWN, ABORTED, RESOURCE_EXHAUSTED, or an OK end of stream).
//   * Not resumed: the server refused the caller or the request (UNAUTHENTICATED: certificate
//     revoked or agency suspended; PERMISSION_DENIED; INVALID_ARGUMENT; NOT_FOUND;
//     FAILED_PRECONDITION; UNIMPLEMENTED; ...): trying again cannot succeed.
//
// Delays grow exponentially from `initial` by `multiplier` up to `max` (bounded), each multiplied
// by a random factor in [1 - jitter, 1 + jitter] and capped at `max`, so that the many agency
// systems a server restart disconnects at once do not come back in lockstep. The schedule starts
// again from `initial` after a stream that delivered something or stayed open `reset_after`.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace concord::messaging::client {

struct ResumePolicy {
  absl::Duration initial = absl::Milliseconds(250);
  absl::Duration max = absl::Seconds(30);
  double multiplier = 2.0;
  double jitter = 0.2;  // 0..1
  /// A stream open at least this long counts as healthy: the next failure starts from `initial`.
  absl::Duration reset_after = absl::Seconds(30);
  /// Watch gives up after this many streams in a row that ended without delivering anything
  /// and without staying open `reset_after` (0 = never; Watch is still bounded by its
  /// max_duration and by WatchStop).
  int max_attempts = 0;
};

/// Whether Watch opens a new stream after one ended with `code` (see the file comment).
bool IsResumable(grpc::StatusCode code);

/// The delay before resume number `attempt` (1 = the first resume) for a uniform random `u` in
/// [0, 1): min(max, min(max, initial * multiplier^(attempt-1)) * (1 - jitter + 2 * jitter * u)).
absl::Duration ResumeDelay(const ResumePolicy& policy, int attempt, double u);

/// The schedule of one Watch. Not thread-safe.
class ResumeBackoff {
 public:
  explicit ResumeBackoff(ResumePolicy policy, uint64_t seed = std::random_device{}());

  /// Counts one more failed attempt and returns the delay before the next one.
  absl::Duration Next();
  /// After a healthy stream: the next delay is `initial` again.
  void Reset() { attempt_ = 0; }
  /// Failed attempts since the last Reset().
  int attempts() const { return attempt_; }
  /// max_attempts is set and reached.
  bool exhausted() const { return policy_.max_attempts > 0 && attempt_ >= policy_.max_attempts; }

  const ResumePolicy& policy() const { return policy_; }

 private:
  ResumePolicy policy_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace concord::messaging::client
