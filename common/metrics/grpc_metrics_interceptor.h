// File: common/metrics/grpc_metrics_interceptor.h
//
// Standard gRPC server metrics, recorded by a server interceptor, with exactly the names, labels,
// help strings and code spelling of go-grpc-prometheus (so its dashboards and alerts work as-is):
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}            counter
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}  counter
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}       counter
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}           counter
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}         histogram
//     buckets .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10
//
// grpc_type is unary|client_stream|server_stream|bidi_stream, grpc_service the full service name
// ("concord.directory.v1.Directory"), grpc_method the method name, grpc_code the Go
// codes.Code.String() spelling (OK, InvalidArgument, PermissionDenied, ...).
//
// Calls refused before any handler runs (the authz AuthMetadataProcessor rejects them, so no
// interceptor sees them) must be counted with RecordRejectedCall().
//
// Labels never carry caller identity or request content (see metrics.h).
//
// Usage:
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
//   f.push_back(concord::metrics::MakeGrpcMetricsInterceptorFactory(metrics));
//   builder.experimental().SetInterceptorCreators(std::move(f));
//
// Thread-safety: the factory and its interceptors may be used from any thread. Per-method metric
// children are cached (mutex-protected map, looked up once per call).
#pragma once

#include <memory>
#include <string_view>

#include "common/metrics/metrics.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace concord::metrics {

/// The factory keeps a reference to `metrics`, which must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeGrpcMetricsInterceptorFactory(Metrics& metrics);

/// Counts a call refused before any handler ran: increments grpc_server_started_total and
/// grpc_server_handled_total{grpc_code=<code>} (no histogram sample, no message counts).
/// `full_method` is the ":path", e.g. "/concord.directory.v1.Directory/GetAgency"; anything not of
/// the form "/service/method" is counted as grpc_service="unknown", grpc_method="unknown" (so a
/// client cannot create unbounded label values). `grpc_type` is one of the four type names; it
/// defaults to "unary" (the authz layer cannot tell the streaming kind from metadata).
void RecordRejectedCall(Metrics& metrics, std::string_view full_method, grpc::StatusCode code);
void RecordRejectedCall(Metrics& metrics, std::string_view full_method, std::string_view grpc_type,
                        grpc::StatusCode code);

/// go-grpc-prometheus spelling of a status code: "OK", "Canceled", "InvalidArgument", ...
/// Numeric values outside 0..16 give "Unknown". A code read as a number (from the wire, a proto
/// field) goes in as an int: converting an out-of-range number to grpc::StatusCode is undefined
/// behaviour (its range is that of its enumerators, -1..16 rounded to a bit width).
std::string_view GrpcCodeName(int code);
inline std::string_view GrpcCodeName(grpc::StatusCode code) {
  return GrpcCodeName(static_cast<int>(code));
}

/// "unary" | "client_stream" | "server_stream" | "bidi_stream".
std::string_view GrpcTypeName(grpc::experimental::ServerRpcInfo::Type type);

}  // namespace concord::metrics
