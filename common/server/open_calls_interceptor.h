// File: common/server/open_calls_interceptor.h
//
// The server interceptor that fills OpenCalls (open_calls.h) for every call of the mTLS server:
//   POST_RECV_INITIAL_METADATA  register the call: caller from the verified peer certificate
//                               (common/identity), method, streaming kind, and
//                               ServerContext::TryCancel as its cancel function;
//   PRE_SEND_STATUS             deregister with the status the handler sends;
//   POST_RECV_CLOSE             deregister (CANCELLED) if the client or the transport ended it;
//   PRE_SEND_CANCEL             nothing (it runs inside TryCancel, under the call's lock).
// Both deregistering hooks run before gRPC destroys the ServerContext (sync and callback API),
// which is what makes the registry's TryCancel safe; the interceptor's destructor deregisters
// too, as a last resort that never touches the context.
//
// Registration happens at POST_RECV_INITIAL_METADATA, not in CreateServerInterceptor: gRPC 1.51
// creates interceptors before it binds the call to the context, and an AuthContext read that
// early would be empty (and cached empty for the handler).
//
// ServerRunner installs it first in the interceptor list when it is given an OpenCalls.
#pragma once

#include <memory>

#include "common/server/open_calls.h"
#include "grpcpp/support/server_interceptor.h"

namespace concord::server {

/// `calls` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeOpenCallsInterceptorFactory(OpenCalls& calls);

}  // namespace concord::server
