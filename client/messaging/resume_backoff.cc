// File: client/messaging/resume_backoff.cc
#include "client/messaging/resume_backoff.h"

#include <algorithm>
#include <cmath>

namespace concord::messaging::client {

bool IsResumable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:                  // the server ended the stream (drain)
    case grpc::StatusCode::CANCELLED:           // cancelled on the server side
    case grpc::StatusCode::UNKNOWN:             // stream reset
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // too many streams for now
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:     // protocol error on a closing connection
    case grpc::StatusCode::UNAVAILABLE:  // GOAWAY, max connection age, restart
      return true;
    default:
      return false;
  }
}

absl::Duration ResumeDelay(const ResumePolicy& policy, int attempt, double u) {
  const absl::Duration max = std::max(policy.max, absl::Milliseconds(1));
  const absl::Duration initial = std::clamp(policy.initial, absl::Milliseconds(1), max);
  const double multiplier = std::max(policy.multiplier, 1.0);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  u = std::clamp(u, 0.0, 1.0);
  // In doubles: pow() saturates to infinity, which min() turns into max.
  const double exponent = std::clamp(attempt - 1, 0, 1024);
  const double max_s = absl::ToDoubleSeconds(max);
  const double base_s =
      std::min(absl::ToDoubleSeconds(initial) * std::pow(multiplier, exponent), max_s);
  const double factor = 1.0 - jitter + 2.0 * jitter * u;
  return std::min(absl::Seconds(base_s * factor), max);
}

ResumeBackoff::ResumeBackoff(ResumePolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

absl::Duration ResumeBackoff::Next() {
  ++attempt_;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return ResumeDelay(policy_, attempt_, u(rng_));
}

}  // namespace concord::messaging::client
