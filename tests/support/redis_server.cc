#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/redis_client.h"

namespace concord::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kStartAttempts = 5;
constexpr char kAdminUser[] = "concord-test-admin";
constexpr char kAclPlaceholder[] = "#REPLACE_WITH_SHA256_OF_PASSWORD";
#ifndef CONCORD_SOURCE_DIR
#error "CONCORD_SOURCE_DIR must name the source tree (tests/support/CMakeLists.txt)"
#endif
constexpr char kShippedAcl[] = CONCORD_SOURCE_DIR "/deploy/redis-users.acl";
constexpr auto kReadyTimeout = std::chrono::seconds(5);
constexpr auto kReadyPoll = std::chrono::milliseconds(10);
constexpr auto kStopTimeout = std::chrono::seconds(10);

// Asks the kernel for a free port: bind to port 0, read it back, close. Another process may take
// it before redis-server binds it; Start() then retries with a new port.
int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string FindRedisServer() {
  if (const char* env = std::getenv("CONCORD_REDIS_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const std::string candidate = absl::StrCat(d.empty() ? "." : d, "/redis-server");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/redis-server";
}

std::string Tail(const std::string& file, size_t max_chars) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_chars ? s.substr(s.size() - max_chars) : s;
}

// A password nobody can guess across test runs (the servers listen on loopback only anyway).
std::string RandomPassword() {
  std::random_device rd;
  std::string out = "test-";
  for (int i = 0; i < 4; ++i) absl::StrAppend(&out, absl::Hex(rd(), absl::kZeroPad8));
  return out;
}

// "tests/services/<workload>/..." -> "<workload>", else "".
std::string WorkloadOfTestFile(std::string_view file) {
  constexpr std::string_view kMarker = "tests/services/";
  const size_t at = file.rfind(kMarker);
  if (at == std::string_view::npos) return "";
  std::string_view rest = file.substr(at + kMarker.size());
  const size_t slash = rest.find('/');
  return slash == std::string_view::npos ? "" : std::string(rest.substr(0, slash));
}

void AppendFlattened(const redis::Reply& r, std::string& out) {
  switch (r.type) {
    case redis::Reply::Type::kNil:
      out.append(" (nil)");
      break;
    case redis::Reply::Type::kInteger:
      absl::StrAppend(&out, " ", r.integer);
      break;
    case redis::Reply::Type::kArray:
      for (const redis::Reply& e : r.elements) AppendFlattened(e, out);
      break;
    default:
      absl::StrAppend(&out, " ", r.str);
  }
}

}  // namespace

bool RedisServer::WriteAclFile() {
  std::ifstream in(kShippedAcl);
  if (!in) {
    ADD_FAILURE() << "cannot read " << kShippedAcl;
    return false;
  }
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("user ", 0) != 0) {
      ADD_FAILURE() << kShippedAcl << ": ACL files hold only 'user' lines, got: " << line;
      return false;
    }
    const std::string name = line.substr(5, line.find(' ', 5) - 5);
    const size_t placeholder = line.find(kAclPlaceholder);
    if (name == "default") {
      // Kept as shipped unless Options.password turns it on: its rights (while off) are what
      // Redis 7.0 checks when it replays MULTI/EXEC blocks of the AOF (docs/redis.md).
      if (options_.password.empty()) absl::StrAppend(&out, line, "\n");
      continue;
    }
    if (placeholder == std::string::npos) {
      ADD_FAILURE() << kShippedAcl << ": user " << name << " has no password placeholder";
      return false;
    }
    const std::string password = RandomPassword();
    passwords_[name] = password;
    line.replace(placeholder, std::strlen(kAclPlaceholder), ">" + password);
    absl::StrAppend(&out, line, "\n");
  }
  passwords_[kAdminUser] = RandomPassword();
  absl::StrAppend(&out, "user ", kAdminUser, " on >", passwords_[kAdminUser], " ~* &* +@all\n");
  if (!options_.password.empty()) {
    absl::StrAppend(&out, "user default on >", options_.password, " ~* &* +@all\n");
  }
  std::ofstream acl(absl::StrCat(dir_, "/users.acl"), std::ios::trunc);
  acl << out;
  acl.close();
  if (!acl) {
    ADD_FAILURE() << "cannot write " << dir_ << "/users.acl";
    return false;
  }
  return true;
}

std::unique_ptr<RedisServer> RedisServer::Start(Options options) {
  std::string tmpl = (fs::temp_directory_path() / "concord-redis-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options), tmpl));
  if (!server->WriteAclFile()) return nullptr;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    server->port_ = PickFreePort();
    if (server->port_ == 0) continue;
    if (server->Launch()) return server;
  }
  ADD_FAILURE() << "redis-server did not start; log tail:\n"
                << Tail(absl::StrCat(server->dir_, "/redis.log"), 2000);
  return nullptr;  // the destructor removes the directory
}

RedisServer::~RedisServer() {
  Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

redis::RedisConfig RedisServer::BaseConfig() const {
  redis::RedisConfig c;
  c.host = "127.0.0.1";
  c.port = port_;
  c.pool_size = 4;
  c.connect_timeout = absl::Milliseconds(500);
  c.command_timeout = absl::Seconds(2);
  c.max_backoff = absl::Milliseconds(200);
  return c;
}

redis::RedisConfig RedisServer::admin_config() const {
  redis::RedisConfig c = BaseConfig();
  if (options_.password.empty()) {
    c.user = kAdminUser;
    c.password = passwords_.at(kAdminUser);
  } else {
    c.password = options_.password;  // the default user, on with every right
  }
  return c;
}

redis::RedisConfig RedisServer::config(std::string_view workload) const {
  const auto it = passwords_.find("concord-" + std::string(workload));
  if (it == passwords_.end()) {
    ADD_FAILURE() << "deploy/redis-users.acl defines no user concord-" << std::string(workload);
    return admin_config();
  }
  redis::RedisConfig c = BaseConfig();
  c.user = it->first;
  c.password = it->second;
  return c;
}

redis::RedisConfig RedisServer::config() const {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string workload = test == nullptr ? "" : WorkloadOfTestFile(test->file());
  if (workload.empty() || passwords_.count(absl::StrCat("concord-", workload)) == 0) {
    return admin_config();
  }
  return config(workload);
}

std::vector<std::string> RedisServer::acl_users() const {
  std::vector<std::string> users;
  for (const auto& [user, password] : passwords_) {
    if (user != kAdminUser) users.push_back(user);
  }
  return users;
}

bool RedisServer::Launch() {
  std::vector<std::string> args = {FindRedisServer(),
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   options_.aof ? "yes" : "no",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   "",
                                   "--aclfile",
                                   absl::StrCat(dir_, "/users.acl")};
  // Everything the child needs is prepared before fork(): after fork only async-signal-safe calls.
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = absl::StrCat(dir_, "/redis.log");
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  // Bounded readiness poll: PING must answer PONG (LOADING while an AOF is replayed is not ready).
  redis::RedisConfig probe = admin_config();
  probe.connect_timeout = absl::Milliseconds(200);
  probe.command_timeout = absl::Milliseconds(500);
  const auto deadline = Clock::now() + kReadyTimeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited: port taken, bad arguments, ...
      return false;
    }
    if (redis::RedisClient::Create(probe)->Ping().ok()) return true;
    std::this_thread::sleep_for(kReadyPoll);
  }
  Stop();
  return false;
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + kStopTimeout;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (Clock::now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

void RedisServer::Start() {
  if (running()) return;
  if (!Launch()) {
    ADD_FAILURE() << "redis-server did not restart on port " << port_ << "; log tail:\n"
                  << Tail(absl::StrCat(dir_, "/redis.log"), 2000);
  }
}

std::vector<std::string> RedisServer::AllKeys() {
  std::vector<std::string> keys;
  auto client = redis::RedisClient::Create(admin_config());
  std::string cursor = "0";
  do {
    auto reply = client->Command({"SCAN", cursor, "COUNT", "1000"});
    if (!reply.ok() || reply->elements.size() != 2) {
      ADD_FAILURE() << "SCAN failed: " << reply.status();
      return keys;
    }
    cursor = reply->elements[0].str;
    for (const redis::Reply& k : reply->elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::string RedisServer::DumpAll() {
  auto client = redis::RedisClient::Create(admin_config());
  std::string out;
  for (const std::string& key : AllKeys()) {
    auto type = client->Command({"TYPE", key});
    if (!type.ok()) {
      ADD_FAILURE() << "TYPE failed: " << type.status();
      continue;
    }
    absl::StrAppend(&out, key, " ", type->str, "\n");
    std::vector<std::string> read;
    if (type->str == "string") {
      read = {"GET", key};
    } else if (type->str == "hash") {
      read = {"HGETALL", key};
    } else if (type->str == "list") {
      read = {"LRANGE", key, "0", "-1"};
    } else if (type->str == "set") {
      read = {"SMEMBERS", key};
    } else if (type->str == "zset") {
      read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    } else if (type->str == "stream") {
      read = {"XRANGE", key, "-", "+"};
    } else {
      continue;  // vanished meanwhile ("none") or a module type
    }
    auto value = client->Command(read);
    if (!value.ok()) {
      ADD_FAILURE() << "reading " << type->str << " failed: " << value.status();
      continue;
    }
    if (type->str == "string") {
      absl::StrAppend(&out, "  ", value->str, "\n");
    } else if (type->str == "hash" || type->str == "zset") {
      // pairs: field value / member score
      std::vector<std::string> lines;
      for (size_t i = 0; i + 1 < value->elements.size(); i += 2) {
        lines.push_back(
            absl::StrCat("  ", value->elements[i].str, " = ", value->elements[i + 1].str, "\n"));
      }
      std::sort(lines.begin(), lines.end());
      for (const std::string& l : lines) out += l;
    } else if (type->str == "set") {
      std::vector<std::string> members;
      for (const redis::Reply& m : value->elements) members.push_back(m.str);
      std::sort(members.begin(), members.end());
      for (const std::string& m : members) absl::StrAppend(&out, "  ", m, "\n");
    } else if (type->str == "list") {
      for (const redis::Reply& e : value->elements) absl::StrAppend(&out, "  ", e.str, "\n");
    } else {  // stream: one line per entry: id field value ...
      for (const redis::Reply& entry : value->elements) {
        std::string line = " ";
        AppendFlattened(entry, line);
        absl::StrAppend(&out, line, "\n");
      }
    }
  }
  return out;
}

void RedisServer::FlushAll() {
  auto reply = redis::RedisClient::Create(admin_config())->Command({"FLUSHALL"});
  if (!reply.ok()) ADD_FAILURE() << "FLUSHALL failed: " << reply.status();
}

}  // namespace concord::testing
