// File: tests/support/field_limit_cases.h
//
// The table of a service's field limits, from its protos: for every RPC and every bounded field
// reachable from its request ((concord.common.v1.limit), common/limits), one request with that
// field one over its bound, and the field path the server must name. A service test sends each
// over real mTLS (CallRaw: a generic call, so every kind of RPC is driven alike) and expects
// INVALID_ARGUMENT with exactly that field violation:
//
//   for (const auto& c : testing::OverLimitCases(*service_descriptor)) {
//     SCOPED_TRACE(c.method + " " + c.expected_path);
//     const Status s = FromGrpcStatus(testing::CallRaw(channel, c.method, {c.request}));
//     EXPECT_THAT(testing::ViolationFields(s), ElementsAre(c.expected_path));
//   }
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/channel.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace concord::testing {

struct OverLimitCase {
  std::string method;         // "/concord.messaging.v1.Messaging/Send"
  std::string expected_path;  // "envelope.recipients[0].id", or "envelope.recipients" for a count
  std::string request;        // the serialized request
};

/// Every over-limit case of every method of `service` (two for a repeated string: one element
/// too many, one element too long).
std::vector<OverLimitCase> OverLimitCases(const google::protobuf::ServiceDescriptor& service);

/// Calls `method` with the serialized `requests` as a generic call (any RPC kind: the messages
/// are written, the stream half-closed, the answers read and dropped) and returns its status.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::vector<std::string>& requests,
                     absl::Duration deadline = absl::Seconds(10));

}  // namespace concord::testing
