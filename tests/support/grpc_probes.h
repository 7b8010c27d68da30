// File: tests/support/grpc_probes.h
//
// Independent probes of the standard gRPC services, written against the wire format (no
// generated stubs, so they test what any client such as kubelet or grpcurl would see):
//   - grpc.health.v1.Health/Check
//   - grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (list_services)
//   - grpc.health.v1.Health/Watch and a reflection stream held open, read in the background
//     (BackgroundStream), to see how a server ends long-lived calls
// Every call carries a deadline.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/status/status.h"

namespace concord::testing {

enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

/// Health/Check for `service` ("" = whole server). The RPC's error status on failure
/// (NOT_FOUND for an unknown service, UNAVAILABLE when unreachable, UNIMPLEMENTED, ...).
StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                   std::string_view service,
                                   absl::Duration deadline = absl::Seconds(5));

/// Service names listed by reflection v1alpha.
StatusOr<std::vector<std::string>> ListServicesViaReflection(
    const std::shared_ptr<grpc::Channel>& channel, absl::Duration deadline = absl::Seconds(5));

/// A server stream read on its own thread until it ends (or its deadline passes); the
/// destructor cancels it and joins.
class BackgroundStream {
 public:
  ~BackgroundStream();
  BackgroundStream(const BackgroundStream&) = delete;
  BackgroundStream& operator=(const BackgroundStream&) = delete;

  /// Health/Watch of `service` ("" = whole server): the server sends the status at once, then
  /// every change.
  static std::unique_ptr<BackgroundStream> WatchHealth(std::shared_ptr<grpc::Channel> channel,
                                                       std::string service,
                                                       absl::Duration deadline);
  /// A reflection stream that asks list_services once and stays open (no half-close).
  static std::unique_ptr<BackgroundStream> HoldReflection(std::shared_ptr<grpc::Channel> channel,
                                                          absl::Duration deadline);

  /// True once at least `n` messages arrived (bounded wait).
  bool WaitForMessages(int n, absl::Duration timeout);
  /// True once the stream ended (bounded wait); then status() and ended_at() are set.
  bool WaitForEnd(absl::Duration timeout);
  grpc::Status status() const;
  absl::Time ended_at() const;
  int messages() const;

 private:
  BackgroundStream() = default;
  void Record(bool message, const grpc::Status* status);

  grpc::ClientContext ctx_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int messages_ = 0;     // guarded by mu_
  bool ended_ = false;   // guarded by mu_
  grpc::Status status_;  // guarded by mu_
  absl::Time ended_at_;  // guarded by mu_
  std::thread thread_;
};

/// Polls CheckHealth until it returns `want` or `timeout` passes (readiness polling only).
bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, std::string_view service,
                   HealthStatus want, absl::Duration timeout = absl::Seconds(10));

}  // namespace concord::testing
