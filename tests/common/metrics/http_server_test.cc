// File: tests/common/metrics/http_server_test.cc
#include "common/metrics/http_server.h"

#include <atomic>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/metrics/http_get.h"

namespace concord::metrics {
namespace {

using ::concord::metrics::testing::HttpGet;
using ::concord::metrics::testing::HttpRequest;
using ::testing::HasSubstr;

// Test that /healthz is always 200 and /readyz follows the ready() callback.
TEST(MetricsHttpServer, HealthAndReadiness) {
  Metrics metrics;
  std::atomic<bool> ready{false};
  auto server = MetricsHttpServer::Start("127.0.0.1:0", metrics, [&] { return ready.load(); });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  auto health = HttpGet(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok");

  auto not_ready = HttpGet(port, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready");

  ready = true;
  auto is_ready = HttpGet(port, "/readyz");
  EXPECT_EQ(is_ready.status, 200);
  EXPECT_EQ(is_ready.body, "ready");
}

// Test that /metrics serves the registry in the text format and unknown paths are 404.
TEST(MetricsHttpServer, ServesMetricsAndRejectsOtherPaths) {
  Metrics metrics("1.2.3");
  auto server = MetricsHttpServer::Start("127.0.0.1:0", metrics, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  auto scrape = HttpGet(port, "/metrics");
  EXPECT_EQ(scrape.status, 200);
  EXPECT_THAT(scrape.headers, HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(scrape.body, HasSubstr("concord_build_info{version=\"1.2.3\"} 1"));

  EXPECT_EQ(HttpGet(port, "/").status, 404);
  EXPECT_EQ(HttpGet(port, "/metrics/extra").status, 404);
  EXPECT_EQ(HttpGet(port, "/etc/passwd").status, 404);
  EXPECT_EQ(HttpRequest(port, "POST", "/metrics").status, 405);
  auto head = HttpRequest(port, "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  // Readiness without a callback means ready.
  EXPECT_EQ(HttpGet(port, "/readyz").status, 200);
}

// Test that a second server cannot take a port in use, and that Stop() frees it.
TEST(MetricsHttpServer, BindConflictIsUnavailableAndStopReleasesPort) {
  Metrics metrics;
  auto first = MetricsHttpServer::Start("127.0.0.1:0", metrics, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsHttpServer::Start(address, metrics, nullptr);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  first->reset();
  EXPECT_EQ(HttpGet(std::stoi(address.substr(address.rfind(':') + 1)), "/healthz").status, 0);
}

TEST(MetricsHttpServer, RejectsMalformedAddress) {
  Metrics metrics;
  EXPECT_EQ(MetricsHttpServer::Start("127.0.0.1", metrics, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start("127.0.0.1:99999", metrics, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::metrics
