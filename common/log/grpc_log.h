// File: common/log/grpc_log.h
//
// Routes gRPC core's own log lines (gpr_log: handshake failures, transport errors) into Concord's
// structured JSON log, so that stderr stays one JSON object per line. gRPC core messages carry no
// request payloads; they may carry peer addresses, which are not personal data of victims.
#pragma once

namespace concord::log {

/// Installs the redirect process-wide (gpr_set_log_function). Call once in main, before the first
/// gRPC object is created. gRPC's ERROR lines become level "warn" events "grpc.core" (a refused
/// handshake is the client's problem, not the server's), INFO/DEBUG become "debug".
void RedirectGrpcCoreLogs();

}  // namespace concord::log
