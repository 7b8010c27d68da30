// File: tests/support/echo_service.h
//
// A tiny concord.testing.v1.Echo implementation for server-plumbing tests and benchmarks.
// Every call first authenticates the caller with CallerFromContext (failing with its
// UNAUTHENTICATED status) and echoes the payload with the caller's SPIFFE ID.
//
// For graceful-shutdown tests, calls can be held at a gate:
//   echo.HoldCalls();                        // calls entering from now on block...
//   ... start an RPC in another thread ...
//   ASSERT_TRUE(echo.WaitForHeld(1, absl::Seconds(5)));   // ...until one is parked
//   runner.Shutdown() in another thread; echo.ReleaseCalls();
// A parked call also ends (CANCELLED) when the call is cancelled, e.g. by the drain deadline.
// Echo parks before replying; EchoStream sends its first reply, then parks, then sends the rest.
#pragma once

#include <condition_variable>
#include <mutex>

#include "absl/time/time.h"
#include "concord/testing/v1/echo.grpc.pb.h"

namespace concord::testing {

class EchoService final : public concord::testing::v1::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* ctx, const v1::EchoRequest* request,
                    v1::EchoReply* reply) override;
  grpc::Status EchoStream(grpc::ServerContext* ctx, const v1::EchoRequest* request,
                          grpc::ServerWriter<v1::EchoReply>* writer) override;

  /// Calls arriving after this park until ReleaseCalls().
  void HoldCalls();
  /// Lets parked and future calls continue.
  void ReleaseCalls();
  /// Waits until at least `n` calls are parked; false on timeout.
  bool WaitForHeld(int n, absl::Duration timeout);

  int calls() const;

 private:
  bool Park(grpc::ServerContext* ctx);  // false if the call was cancelled while parked

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int held_ = 0;
  int calls_ = 0;
};

}  // namespace concord::testing
