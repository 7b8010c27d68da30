// File: tests/common/log/log_test.cc
#include "common/log/log.h"

#include <grpc/support/log.h>

#include <algorithm>
#include <regex>

#include "common/log/grpc_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace concord::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { SetLevel(Level::kInfo); }
};

TEST_F(LogTest, FormatsOneJsonObjectWithTimestampLevelAndEvent) {
  const std::string line = FormatEvent(Level::kWarn, "redis.reconnected", {{"attempt", "3"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["event"], "redis.reconnected");
  EXPECT_EQ(j["attempt"], "3");
  EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << j["ts"];
  // Key order: ts, level, event first.
  EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u) << line;
  EXPECT_LT(line.find("\"level\""), line.find("\"event\""));
}

TEST_F(LogTest, EscapesQuotesNewlinesAndControlCharacters) {
  const std::string tricky = "a\"b\\c\nd\re\tf\x01g";
  const std::string line = FormatEvent(Level::kInfo, "x\"y\n", {{"k\"ey\n", tricky}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["event"], "x\"y\n");
  EXPECT_EQ(j["k\"ey\n"], tricky);
}

TEST_F(LogTest, InvalidUtf8NeverThrows) {
  const std::string line = FormatEvent(Level::kError, "e", {{"bytes", std::string("\xff\xfe")}});
  EXPECT_NO_THROW({ [[maybe_unused]] const auto parsed = nlohmann::json::parse(line); });
}

TEST_F(LogTest, ReservedFieldNamesArePrefixed) {
  const auto j = nlohmann::json::parse(FormatEvent(Level::kInfo, "real", {{"event", "fake"}}));
  EXPECT_EQ(j["event"], "real");
  EXPECT_EQ(j["field.event"], "fake");
}

TEST_F(LogTest, ParsesLevels) {
  EXPECT_EQ(ParseLevel("debug"), Level::kDebug);
  EXPECT_EQ(ParseLevel("info"), Level::kInfo);
  EXPECT_EQ(ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(ParseLevel("error"), Level::kError);
  EXPECT_EQ(ParseLevel("WARN"), std::nullopt);
  EXPECT_EQ(ParseLevel("warning"), std::nullopt);
  EXPECT_EQ(ParseLevel(""), std::nullopt);
}

// Test that Event() writes exactly one line to stderr, and only at or above the global level.
TEST_F(LogTest, EventWritesLinesAtOrAboveTheLevel) {
  SetLevel(Level::kWarn);
  ::testing::internal::CaptureStderr();
  Event(Level::kInfo, "dropped.event");
  Warn("kept.event", {{"port", "7443"}});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, Not(HasSubstr("dropped.event")));
  ASSERT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  const auto j = nlohmann::json::parse(err.substr(0, err.size() - 1));
  EXPECT_EQ(j["event"], "kept.event");
  EXPECT_EQ(j["port"], "7443");
  EXPECT_EQ(GetLevel(), Level::kWarn);
}

// Test that gRPC core's own error lines come out as one JSON "grpc.core" event each.
TEST_F(LogTest, GrpcCoreLogsBecomeJsonEvents) {
  SetLevel(Level::kInfo);
  RedirectGrpcCoreLogs();
  ::testing::internal::CaptureStderr();
  gpr_log(GPR_ERROR, "Handshake failed with \"quotes\"");
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  const auto j = nlohmann::json::parse(err.substr(0, err.size() - 1));
  EXPECT_EQ(j["event"], "grpc.core");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["message"], "Handshake failed with \"quotes\"");
  EXPECT_THAT(j["source"].get<std::string>(), HasSubstr("log_test.cc:"));
}

}  // namespace
}  // namespace concord::log
