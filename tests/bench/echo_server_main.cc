// File: tests/bench/echo_server_main.cc
//
// concord-echo-server: the bare mTLS gRPC baseline of concord-bench (`--baseline`). It serves
// concord.testing.v1.Echo (tests/support/echo_service.h: authenticates the caller from its
// certificate and echoes the payload) with exactly the TLS credentials concord-server uses
// (common/tls: client certificate required and verified), in its own process so that the
// benchmark compares two servers on equal terms. Prints "port <n>" on stdout once serving and
// runs until SIGTERM/SIGINT (or its parent dies).
//
//   concord-echo-server --listen 127.0.0.1:0 --tls-cert server/cert.pem --tls-key server/key.pem
//       --tls-ca ca.pem
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "common/tls/tls.h"
#include "tests/support/echo_service.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

int Usage() {
  std::cerr << "usage: concord-echo-server --listen HOST:PORT --tls-cert FILE --tls-key FILE "
               "--tls-ca FILE\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  std::string listen = "127.0.0.1:0";
  concord::TlsFiles tls;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    }
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (arg == "--listen") {
      listen = value;
    } else if (arg == "--tls-cert") {
      tls.cert_file = value;
    } else if (arg == "--tls-key") {
      tls.key_file = value;
    } else if (arg == "--tls-ca") {
      tls.ca_file = value;
    } else {
      return Usage();
    }
  }
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.ca_file.empty()) return Usage();
  concord::PinTls12CipherSuites();
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);

  concord::testing::EchoService echo;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, concord::MakeServerCredentials(tls), &port);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "concord-echo-server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "port " << port << std::endl;
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
