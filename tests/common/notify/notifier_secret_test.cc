#include "common/notify/notifier_secret.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace concord::notify {
namespace {

class NotifierSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("concord_notifier_secret_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(NotifierSecretTest, ReadsRawBytesOrHex) {
  auto raw = LoadNotifierSecret(Write("raw", std::string(32, '\x07')), "--notifier-secret-file");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->bytes(), std::string(32, '\x07'));
  auto hex = LoadNotifierSecret(Write("hex", std::string(64, 'a') + "\n"), "--x");
  ASSERT_TRUE(hex.ok()) << hex.status();
  EXPECT_EQ(hex->bytes(), std::string(32, '\xaa'));
}

// Every refusal names the flag (the process refuses to start), never the secret.
TEST_F(NotifierSecretTest, RefusalsNameTheFlagNeverTheSecret) {
  auto none = LoadNotifierSecret("", "--notifier-secret-file");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("--notifier-secret-file is required"), std::string::npos)
      << none.status();
  auto missing = LoadNotifierSecret((dir_ / "nope").string(), "--notifier-secret-file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("--notifier-secret-file"), std::string::npos);
  const std::string short_hex = std::string(62, 'b');
  auto bad = LoadNotifierSecret(Write("short", short_hex), "--notifier-secret-file");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--notifier-secret-file"), std::string::npos);
  EXPECT_EQ(bad.status().message().find(short_hex), std::string::npos);
  EXPECT_EQ(NotifierSecret::FromBytes("short").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::notify
