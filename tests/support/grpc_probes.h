// File: tests/support/grpc_probes.h
//
// Independent probes of the standard gRPC services, written against the wire format (no
// generated stubs, so they test what any client such as kubelet or grpcurl would see):
//   - grpc.health.v1.Health/Check
//   - grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (list_services)
// Every call carries a deadline.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <string_view>
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

/// Polls CheckHealth until it returns `want` or `timeout` passes (readiness polling only).
bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, std::string_view service,
                   HealthStatus want, absl::Duration timeout = absl::Seconds(10));

}  // namespace concord::testing
