// File: tests/common/metrics/grpc_metrics_interceptor_test.cc
//
// The interceptor against a real in-process gRPC server (insecure credentials: this unit is about
// metrics, not transport security), scraped over real HTTP from MetricsHttpServer.
#include "common/metrics/grpc_metrics_interceptor.h"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics/http_server.h"
#include "concord/testing/v1/echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/common/metrics/http_get.h"

namespace concord::metrics {
namespace {

using ::concord::testing::v1::Echo;
using ::concord::testing::v1::EchoReply;
using ::concord::testing::v1::EchoRequest;
using ::testing::HasSubstr;
using ::testing::Not;

// Echo that fails with INVALID_ARGUMENT on payload "fail"; EchoStream sends `count` replies.
class TestEcho final : public Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* req, EchoReply* reply) override {
    if (req->payload() == "fail") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "payload must not be fail");
    }
    reply->set_payload(req->payload());
    return grpc::Status::OK;
  }
  grpc::Status EchoStream(grpc::ServerContext*, const EchoRequest* req,
                          grpc::ServerWriter<EchoReply>* writer) override {
    EchoReply reply;
    reply.set_payload(req->payload());
    for (int i = 0; i < std::max(1, req->count()); ++i) writer->Write(reply);
    return grpc::Status::OK;
  }
};

// The value of the sample whose series (name + labels) is exactly `series`; -1 if absent.
double SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

class GrpcMetricsInterceptorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port_);
    builder.RegisterService(&echo_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(MakeGrpcMetricsInterceptorFactory(metrics_));
    builder.experimental().SetInterceptorCreators(std::move(f));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(grpc_port_, 0);
    stub_ = Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port_),
                                              grpc::InsecureChannelCredentials()));
    auto http = MetricsHttpServer::Start("127.0.0.1:0", metrics_, nullptr);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = std::move(*http);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  grpc::Status CallEcho(const std::string& payload) {
    EchoRequest req;
    req.set_payload(payload);
    EchoReply reply;
    auto ctx = ContextWithDeadline();
    return stub_->Echo(ctx.get(), req, &reply);
  }

  std::string Scrape() {
    auto resp = metrics::testing::HttpGet(http_->port(), "/metrics");
    EXPECT_EQ(resp.status, 200);
    return resp.body;
  }

  Metrics metrics_;
  TestEcho echo_;
  int grpc_port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
  std::unique_ptr<MetricsHttpServer> http_;
};

constexpr char kUnaryLabels[] =
    "grpc_method=\"Echo\",grpc_service=\"concord.testing.v1.Echo\",grpc_type=\"unary\"";
constexpr char kStreamLabels[] =
    "grpc_method=\"EchoStream\",grpc_service=\"concord.testing.v1.Echo\",grpc_type=\"server_"
    "stream\"";

// Test that unary calls are counted as go-grpc-prometheus counts them, per status code.
TEST_F(GrpcMetricsInterceptorTest, CountsUnaryCallsByCode) {
  ASSERT_TRUE(CallEcho("hello").ok());
  ASSERT_TRUE(CallEcho("again").ok());
  ASSERT_EQ(CallEcho("fail").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string text = Scrape();
  const std::string l = kUnaryLabels;
  EXPECT_EQ(SampleValue(text, "grpc_server_started_total{" + l + "}"), 3) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total{grpc_code=\"OK\"," + l + "}"), 2) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total{grpc_code=\"InvalidArgument\"," + l + "}"),
            1)
      << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_msg_received_total{" + l + "}"), 3) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_msg_sent_total{" + l + "}"), 2) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handling_seconds_count{" + l + "}"), 3) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handling_seconds_bucket{" + l + ",le=\"+Inf\"}"), 3)
      << text;
  // go-grpc-prometheus' default buckets, and its help strings.
  for (const char* le :
       {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"}) {
    EXPECT_GE(SampleValue(text, "grpc_server_handling_seconds_bucket{" + l + ",le=\"" + le + "\"}"),
              0)
        << "bucket " << le << "\n"
        << text;
  }
  EXPECT_THAT(text, HasSubstr("# HELP grpc_server_handled_total Total number of RPCs completed on "
                              "the server, regardless of success or failure."));
  EXPECT_THAT(text, HasSubstr("# TYPE grpc_server_handling_seconds histogram"));
  // The histogram has no grpc_code label.
  EXPECT_THAT(text, Not(HasSubstr("grpc_server_handling_seconds_count{grpc_code")));
}

// Test that each streamed message counts once and the type label says server_stream.
TEST_F(GrpcMetricsInterceptorTest, CountsStreamMessages) {
  EchoRequest req;
  req.set_payload("x");
  req.set_count(3);
  auto ctx = ContextWithDeadline();
  auto reader = stub_->EchoStream(ctx.get(), req);
  EchoReply reply;
  int n = 0;
  while (reader->Read(&reply)) ++n;
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(n, 3);

  const std::string text = Scrape();
  const std::string l = kStreamLabels;
  EXPECT_EQ(SampleValue(text, "grpc_server_started_total{" + l + "}"), 1) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_msg_received_total{" + l + "}"), 1) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_msg_sent_total{" + l + "}"), 3) << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total{grpc_code=\"OK\"," + l + "}"), 1) << text;
}

// Test that an unimplemented method path does not create arbitrary label values.
TEST_F(GrpcMetricsInterceptorTest, RejectedCallsAreCountedWithBoundedLabels) {
  RecordRejectedCall(metrics_, "/concord.testing.v1.Echo/Echo",
                     grpc::StatusCode::PERMISSION_DENIED);
  RecordRejectedCall(metrics_, "/concord.testing.v1.Echo/EchoStream", "server_stream",
                     grpc::StatusCode::UNAUTHENTICATED);
  RecordRejectedCall(metrics_, "/evil\"path{}/x y", grpc::StatusCode::UNAUTHENTICATED);

  const std::string text = Scrape();
  const std::string l = kUnaryLabels;
  EXPECT_EQ(SampleValue(text, "grpc_server_started_total{" + l + "}"), 1) << text;
  EXPECT_EQ(
      SampleValue(text, "grpc_server_handled_total{grpc_code=\"PermissionDenied\"," + l + "}"), 1)
      << text;
  EXPECT_EQ(SampleValue(text, "grpc_server_handled_total{grpc_code=\"Unauthenticated\"," +
                                  std::string(kStreamLabels) + "}"),
            1)
      << text;
  EXPECT_EQ(SampleValue(text,
                        "grpc_server_handled_total{grpc_code=\"Unauthenticated\",grpc_method="
                        "\"unknown\",grpc_service=\"unknown\",grpc_type=\"unary\"}"),
            1)
      << text;
  EXPECT_THAT(text, Not(HasSubstr("evil")));
  // Rejected calls never reached a handler: no latency sample.
  EXPECT_EQ(SampleValue(text, "grpc_server_handling_seconds_count{" + l + "}"), 0) << text;
}

// Test that concurrent first uses of a method create one set of series and lose no count.
TEST(RecordRejectedCall, IsThreadSafe) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 500; ++i) {
        RecordRejectedCall(
            metrics, "/concord.testing.v1.Echo/M" + std::to_string(i % 5),
            t % 2 == 0 ? grpc::StatusCode::PERMISSION_DENIED : grpc::StatusCode::UNAUTHENTICATED);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string text = metrics.Serialize();
  for (int m = 0; m < 5; ++m) {
    const std::string labels = "grpc_method=\"M" + std::to_string(m) +
                               "\",grpc_service=\"concord.testing.v1.Echo\",grpc_type=\"unary\"";
    EXPECT_EQ(SampleValue(text, "grpc_server_started_total{" + labels + "}"), 800) << text;
    EXPECT_EQ(SampleValue(
                  text, "grpc_server_handled_total{grpc_code=\"PermissionDenied\"," + labels + "}"),
              400)
        << text;
  }
}

TEST(Metrics, BuildInfoCarriesTheProjectVersion) {
  Metrics metrics;
  const std::string text = metrics.Serialize();
  EXPECT_THAT(text, HasSubstr("concord_build_info{version=\""));
  EXPECT_THAT(text, Not(HasSubstr("version=\"unknown\"")));
}

TEST(GrpcCodeName, SpellsCodesAsGoGrpcPrometheus) {
  const std::vector<std::string> expected = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  for (int i = 0; i < static_cast<int>(expected.size()); ++i) {
    EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(i)), expected[i]);
  }
  EXPECT_EQ(GrpcTypeName(grpc::experimental::ServerRpcInfo::Type::BIDI_STREAMING), "bidi_stream");
}

// A number outside the enumeration is named without ever becoming a grpc::StatusCode: the
// UndefinedBehaviorSanitizer build (docs/reliability.md) stopped on the former
// GrpcCodeName(static_cast<grpc::StatusCode>(42)), a load of a value the enum cannot hold.
TEST(GrpcCodeName, NumbersOutsideTheEnumerationAreUnknown) {
  EXPECT_EQ(GrpcCodeName(42), "Unknown");
  EXPECT_EQ(GrpcCodeName(17), "Unknown");
  EXPECT_EQ(GrpcCodeName(-1), "Unknown");
  EXPECT_EQ(GrpcCodeName(1 << 30), "Unknown");
  EXPECT_EQ(GrpcCodeName(16), "Unauthenticated");
}

// Test that the whole exposition passes `promtool check metrics` (Prometheus' own linter).
TEST_F(GrpcMetricsInterceptorTest, ExpositionPassesPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian package: prometheus)";
  }
  ASSERT_TRUE(CallEcho("ok").ok());
  ASSERT_FALSE(CallEcho("fail").ok());
  RecordRejectedCall(metrics_, "/concord.testing.v1.Echo/Echo",
                     grpc::StatusCode::PERMISSION_DENIED);
  const std::string text = Scrape();
  ASSERT_THAT(text, HasSubstr("grpc_server_handled_total"));

  const std::string path = ::testing::TempDir() + "/concord_metrics_scrape.txt";
  {
    std::ofstream out(path);
    out << text;
  }
  FILE* p = ::popen(("promtool check metrics < '" + path + "' 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) output += buf;
  const int rc = ::pclose(p);
  std::remove(path.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "promtool said:\n"
                                                     << output << "\n"
                                                     << text;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace concord::metrics
