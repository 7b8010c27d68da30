#include "tests/support/secure_server.h"

namespace concord::testing {

SecureTestServer::SecureTestServer(TestPki& pki, metrics::Metrics& metrics,
                                   const authz::RevocationView& revocations,
                                   server::OpenCalls* open_calls)
    : pki_(pki),
      metrics_(metrics),
      authorizer_(std::make_unique<authz::Authorizer>(pki.trust_domain(), revocations)),
      processor_(std::make_shared<authz::AuthProcessor>(*authorizer_, metrics)),
      open_calls_(open_calls) {
  options_.listen_address = "127.0.0.1:0";
  options_.health_address = "";
  options_.metrics_address = "";
  options_.handle_signals = false;
}

SecureTestServer::~SecureTestServer() { Shutdown(); }

void SecureTestServer::Shutdown() {
  if (runner_) runner_->Shutdown();
}

Status SecureTestServer::Start(const std::vector<grpc::Service*>& services) {
  ServerOptions o = options_;
  o.tls = pki_.ServerCert().tls();
  runner_ = std::make_unique<ServerRunner>(std::move(o), metrics_, processor_, open_calls_);
  for (grpc::Service* s : services) runner_->AddService(s);
  return runner_->Start();
}

int SecureTestServer::port() const { return runner_ ? runner_->port() : 0; }

std::shared_ptr<grpc::Channel> SecureTestServer::Channel(const TlsFiles& client) const {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port()),
                                   MakeChannelCredentials(client), args);
}

}  // namespace concord::testing
