// File: common/status/grpc_status.h
//
// The one conversion between concord::Status and grpc::Status. ToGrpcStatus serialises a
// google.rpc.Status (code, message, details: BadRequest, ErrorInfo) into the
// grpc-status-details-bin trailer so that any gRPC client (Go, Python, Node) can decode it.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status/status.h"

namespace concord {

/// Converts at the handler boundary; attaches rich error details when present.
grpc::Status ToGrpcStatus(const Status& status);

/// Converts a status received from a Concord server back, keeping rich error details.
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace concord
