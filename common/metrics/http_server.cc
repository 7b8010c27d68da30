// File: common/metrics/http_server.cc
//
// civetweb (C API) with one request handler that dispatches on the path, so the route table is
// explicit here rather than split across civetweb's prefix/pattern matching rules. No document
// root is configured: civetweb never serves files.
#include "common/metrics/http_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "civetweb.h"

namespace concord::metrics {
namespace {

constexpr std::string_view kTextFormat = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kPlain = "text/plain; charset=utf-8";

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

// Writes a complete response and returns `status` (civetweb's "handled, status N" convention).
int Respond(mg_connection* conn, int status, std::string_view content_type, std::string_view body,
            bool head_only, std::string_view extra_headers = {}) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%.*sConnection: "
            "close\r\n\r\n",
            status, std::string(ReasonPhrase(status)).c_str(),
            static_cast<int>(content_type.size()), content_type.data(), body.size(),
            static_cast<int>(extra_headers.size()), extra_headers.data());
  if (!head_only && !body.empty()) mg_write(conn, body.data(), body.size());
  return status;
}

std::once_flag g_civetweb_init;

// One TCP connect to our own listener, closed at once: wakes civetweb's accept loop.
void PokeListener(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return;
  const int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)::connect(fd, res->ai_addr, res->ai_addrlen);
    ::close(fd);
  }
  ::freeaddrinfo(res);
}

}  // namespace

MetricsHttpServer::MetricsHttpServer(Metrics& metrics, std::function<bool()> ready)
    : metrics_(metrics), ready_(std::move(ready)) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (ctx_ == nullptr) return;
  // mg_stop() joins civetweb's threads, but its accept loop only sees the stop flag when poll()
  // returns, which (Debian build, SOCKET_TIMEOUT_QUANTUM) takes up to 2 s on an idle listener.
  // Run mg_stop() aside and poke the listener with throw-away connections until it has
  // returned, so Stop() (and SIGTERM handling, and every test) takes milliseconds.
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::thread stopper([&] {
    mg_stop(ctx_);
    const std::lock_guard<std::mutex> lock(mu);
    stopped = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  for (int i = 0; i < 500 && !stopped; ++i) {  // bounded: mg_stop returns within 2 s regardless
    lock.unlock();
    PokeListener(wake_host_, port_);
    lock.lock();
    cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopped; });
  }
  lock.unlock();
  stopper.join();
  ctx_ = nullptr;
}

StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(const std::string& address,
                                                                      Metrics& metrics,
                                                                      std::function<bool()> ready) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("metrics address must be host:port");
  }
  std::string host = address.substr(0, colon);
  const std::string_view port_text = std::string_view(address).substr(colon + 1);
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError("metrics address: port must be a number in 0..65535");
  }
  if (host == "localhost") host = "127.0.0.1";  // civetweb takes numeric addresses only

  std::call_once(g_civetweb_init, [] { mg_init_library(0); });

  auto server =
      std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(metrics, std::move(ready)));
  const std::string listening = host + ":" + std::to_string(port);
  const char* options[] = {
      "listening_ports", listening.c_str(),   "num_threads", "4",    "request_timeout_ms",
      "10000",           "enable_keep_alive", "no",          nullptr};
  mg_callbacks callbacks{};
  // Quiet civetweb's own stderr logging; failures surface as the returned status instead.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof(error_text);
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return absl::UnavailableError("metrics HTTP server cannot listen on " + listening + ": " +
                                  (error_text[0] != '\0' ? error_text : "unknown error"));
  }
  mg_server_port ports[4] = {};
  const int n = mg_get_server_ports(server->ctx_, 4, ports);
  if (n < 1 || ports[0].port <= 0) {
    return absl::InternalError("metrics HTTP server: cannot read the bound port");
  }
  server->port_ = ports[0].port;
  if (host == "0.0.0.0" || host.empty()) {
    server->wake_host_ = "127.0.0.1";
  } else if (host == "[::]") {
    server->wake_host_ = "::1";
  } else if (host.size() > 2 && host.front() == '[') {
    server->wake_host_ = host.substr(1, host.size() - 2);
  } else {
    server->wake_host_ = host;
  }
  mg_set_request_handler(server->ctx_, "**", &MetricsHttpServer::Dispatch, server.get());
  return server;
}

int MetricsHttpServer::Dispatch(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<MetricsHttpServer*>(self_ptr);
  const mg_request_info* req = mg_get_request_info(conn);
  const std::string_view method = req->request_method ? req->request_method : "";
  const std::string_view path = req->local_uri ? req->local_uri : "";
  const bool head = method == "HEAD";
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
    return Respond(conn, 404, kPlain, "not found", head);
  }
  if (method != "GET" && !head) {
    return Respond(conn, 405, kPlain, "method not allowed", false, "Allow: GET, HEAD\r\n");
  }
  if (path == "/healthz") return Respond(conn, 200, kPlain, "ok", head);
  if (path == "/readyz") {
    bool ready = true;
    if (self->ready_) {
      try {
        ready = self->ready_();
      } catch (...) {  // a throwing probe means "not ready", never a dead worker thread
        ready = false;
      }
    }
    return ready ? Respond(conn, 200, kPlain, "ready", head)
                 : Respond(conn, 503, kPlain, "not ready", head);
  }
  std::string body;
  try {
    body = self->metrics_.Serialize();
  } catch (const std::exception&) {
    return Respond(conn, 500, kPlain, "cannot serialize metrics", head);
  }
  return Respond(conn, 200, kTextFormat, body, head);
}

}  // namespace concord::metrics
