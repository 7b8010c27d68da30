// File: tests/support/redis_server.h
//
// A real `redis-server` for tests: own process, free 127.0.0.1 port, own temporary directory.
// Tests that need Redis start one per fixture (or per suite) and FlushAll() in SetUp().
//
// Least privilege is the default: the server runs with the shipped ACL file
// (deploy/redis-users.acl: one user per workload, the `default` user off), each user with a
// password made up for this server, plus one test-only user with every right
// (`concord-test-admin`, never shipped) for fixture work: flushing, dumping, writing the records
// another workload owns, tampering. config() hands out the user of the workload under test:
//   - a test whose source file is under tests/services/<workload>/ connects as that workload's
//     ACL user (concord-<workload>), so every store and service test runs with exactly the
//     rights production has: a command or key the ACL does not grant fails with NOPERM;
//   - any other test (tests/common/..., or outside a running test) connects as the admin user.
// config(workload) and admin_config() choose explicitly.
//
//   auto server = testing::RedisServer::Start({});
//   auto durable = testing::RedisServer::Start({.aof = true, .password = {}});
//   (name every field: GCC 12 -Wmissing-field-initializers rejects partial designated lists)
//   ASSERT_NE(server, nullptr);
//   auto client = redis::RedisClient::Create(server->config());
//   auto referrals = redis::RedisClient::Create(server->config("referrals"));
//   auto admin = redis::RedisClient::Create(server->admin_config());
//   server->Stop();   // Redis down: calls fail fast with UNAVAILABLE
//   server->Start();  // same port, same directory (data survives with Options.aof)
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/redis/redis_config.h"

namespace concord::testing {

/// Not thread-safe: drive it from the test's main thread. The server gets SIGKILL if the thread
/// that started it exits (PR_SET_PDEATHSIG), so a crashed test leaves no stray redis-server.
class RedisServer {
 public:
  struct Options {
    bool aof = false;  // --appendonly yes: data survives Stop()/Start()
    /// Non-empty: the `default` user is on with this password and every right (legacy
    /// `AUTH <password>`), and admin_config() is that user. Empty: `default` is off.
    std::string password;
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
  /// Client settings for this server (user and password included; short timeouts and backoff
  /// for tests), as the ACL user of the workload under test (see the file comment).
  redis::RedisConfig config() const;
  /// As the ACL user of `workload` ("directory", "audit", "messaging", "referrals"): user
  /// concord-<workload> of deploy/redis-users.acl. A workload the file does not define is a test
  /// failure (and the admin settings are returned).
  redis::RedisConfig config(std::string_view workload) const;
  /// As the test-only user with every right (fixture work; never what a service runs as).
  redis::RedisConfig admin_config() const;
  /// The ACL users of the shipped file, e.g. {"concord-audit", "concord-directory", ...}.
  std::vector<std::string> acl_users() const;

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
  /// Writes <dir>/users.acl from deploy/redis-users.acl with test passwords; false on error.
  bool WriteAclFile();
  /// Spawns the process on port_ and waits for readiness; false if it exited or never answered.
  bool Launch();
  redis::RedisConfig BaseConfig() const;

  Options options_;
  std::map<std::string, std::string> passwords_;  // ACL user -> password of this server
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace concord::testing
