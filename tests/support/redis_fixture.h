// File: tests/support/redis_fixture.h
//
// The fixture every Redis-backed test suite shares: ONE real redis-server per suite (started in
// SetUpTestSuite on a free loopback port, stopped in TearDownTestSuite), flushed (and restarted if
// a test stopped it) before each test, and a fresh RedisClient per test in `redis_`.
//
//   class MyStoreTest : public testing::RedisSuiteTest {
//    protected:
//     void SetUp() override {
//       RedisSuiteTest::SetUp();
//       if (HasFatalFailure()) return;
//       store_ = std::make_unique<MyStore>(*redis_);
//     }
//   };
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/redis/redis_client.h"
#include "tests/support/redis_server.h"

namespace concord::testing {

class RedisSuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = RedisServer::Start({}).release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "redis-server did not start";
    if (!server_->running()) server_->Start();
    server_->FlushAll();
    redis_ = redis::RedisClient::Create(server_->config());
  }

  static inline RedisServer* server_ = nullptr;
  std::unique_ptr<redis::RedisClient> redis_;
};

}  // namespace concord::testing
