// File: tests/support/redis_server.h
//
// A real `redis-server` for tests: own process, free 127.0.0.1 port, own temporary directory.
// Tests that need Redis start one per fixture (or per suite) and FlushAll() in SetUp().
//
//   auto server = testing::RedisServer::Start({});
//   auto durable = testing::RedisServer::Start({.aof = true, .password = {}});
//   (name every field: GCC 12 -Wmissing-field-initializers rejects partial designated lists)
//   ASSERT_NE(server, nullptr);
//   auto client = redis::RedisClient::Create(server->config());
//   server->Stop();   // Redis down: calls fail fast with UNAVAILABLE
//   server->Start();  // same port, same directory (data survives with Options.aof)
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/redis/redis_config.h"

namespace concord::testing {

/// Not thread-safe: drive it from the test's main thread. The server gets SIGKILL if the thread
/// that started it exits (PR_SET_PDEATHSIG), so a crashed test leaves no stray redis-server.
class RedisServer {
 public:
  struct Options {
    bool aof = false;      // --appendonly yes: data survives Stop()/Start()
    std::string password;  // --requirepass (the default user's password)
  };

  /// Starts redis-server on a free port (retrying on a port collision) and waits until it
  /// answers PING (at most ~5 s). nullptr, with a gtest failure recorded, if it cannot start.
  /// The argument is required (`Start({})` for defaults): a zero-argument static Start would be
  /// ambiguous with the restarting member `Start()` below.
  [[nodiscard]] static std::unique_ptr<RedisServer> Start(Options options);
  /// Stops the server (if running) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }
  /// Client settings for this server (password included; short timeouts and backoff for tests).
  redis::RedisConfig config() const;

  /// SIGTERM, then waits for the process to exit (SIGKILL after 10 s). No-op when stopped.
  void Stop();
  /// Restarts on the same port with the same directory; waits until it answers PING (with AOF:
  /// until the data is loaded). Records a gtest failure if it does not come up.
  void Start();

  /// Every key of db 0, sorted.
  std::vector<std::string> AllKeys();
  /// Every key of db 0 with its TYPE and full contents as text, one key per block, sorted by key.
  /// Values are written raw, so tests can search the dump for plaintext that must not be stored.
  std::string DumpAll();
  void FlushAll();

 private:
  RedisServer(Options options, std::string dir)
      : options_(std::move(options)), dir_(std::move(dir)) {}
  /// Spawns the process on port_ and waits for readiness; false if it exited or never answered.
  bool Launch();

  Options options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace concord::testing
