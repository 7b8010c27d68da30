// File: tests/support/secure_server.h
//
// A gRPC server as production runs it, for service tests: common/server's ServerRunner with
// mutual TLS (the TestPki's server certificate) on 127.0.0.1:0 and the REAL authorization table
// in front of the handlers (authz::AuthProcessor over an Authorizer reading `revocations`); no
// health or metrics listener, no signal handling.
//
//   testing::SecureTestServer server(pki_, metrics_, revocations_);
//   ASSERT_TRUE(server.Start({service_.get()}).ok());
//
// With an OpenCalls registry (live revocation), the server registers every call and runs the
// registry's watcher, as concord-server does; options() changes the ServerOptions before Start
// (e.g. a short maximum connection age).
//   auto stub = v1::Referrals::NewStub(server.Channel(pki_.AgencyTls(AgencyType::kPolice, "pz")));
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "common/authz/auth_processor.h"
#include "common/authz/policy.h"
#include "common/metrics/metrics.h"
#include "common/server/server_runner.h"
#include "common/status/status.h"
#include "common/tls/tls.h"
#include "tests/support/test_pki.h"

namespace concord::testing {

class SecureTestServer {
 public:
  /// `pki`, `metrics`, `revocations` and `open_calls` (may be null) must outlive the server.
  SecureTestServer(TestPki& pki, metrics::Metrics& metrics,
                   const authz::RevocationView& revocations,
                   server::OpenCalls* open_calls = nullptr);
  ~SecureTestServer();  // shuts the server down

  /// Before Start(): listen address, TLS and signal handling are set by the constructor.
  ServerOptions& options() { return options_; }
  Status Start(const std::vector<grpc::Service*>& services);
  /// Graceful shutdown (drain_timeout of options()); idempotent.
  void Shutdown();
  int port() const;
  /// A channel presenting `client` (its own subchannel pool: one connection per channel).
  std::shared_ptr<grpc::Channel> Channel(const TlsFiles& client) const;
  authz::AuthProcessor& processor() { return *processor_; }

 private:
  TestPki& pki_;
  metrics::Metrics& metrics_;
  std::unique_ptr<authz::Authorizer> authorizer_;
  std::shared_ptr<authz::AuthProcessor> processor_;
  server::OpenCalls* open_calls_;
  ServerOptions options_;
  std::unique_ptr<ServerRunner> runner_;
};

}  // namespace concord::testing
