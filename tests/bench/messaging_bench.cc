// File: tests/bench/messaging_bench.cc
//
// concord-bench: end-to-end load generator for concord.messaging.v1 (issue 3, docs/performance.md).
//
//   concord-bench messaging --agencies 8 --recipients 3 --concurrency 32 --body-bytes 1024
//       --seconds 20 --baseline
//   concord-bench messaging --target 127.0.0.1:7443 --pki var/pki --messages 10000
//       --sent-file sent.txt --retry --no-subscribe
//   concord-bench drain --target 127.0.0.1:7443 --pki var/pki --expect-file sent.txt
//   concord-bench messaging --target ipv4:127.0.0.1:7443,127.0.0.1:7444 ...   (two replicas)
//
// Without --target it starts its own stack on free loopback ports: redis-server (AOF everysec,
// temporary directory), a PKI made by scripts/pki.sh, and the real concord-server binary. It
// registers the agencies as admin/ops through the Directory API, then builds, seals and signs
// every envelope BEFORE timing (so the timed part measures the server), and drives Send with C
// outstanding calls over the async CompletionQueue API (one channel per sending agency, i.e.
// one HTTP/2 connection each; requests pre-serialised, sent through the generic stub) while one
// Subscribe stream per agency measures end-to-end delivery (Send start -> arrival) and acks what
// arrives. --baseline runs concord-echo-server (bare mTLS unary echo, same TLS credentials, own
// process) with the same driver, concurrency and payload size in the same run.
//
// Every loop is bounded in count and time; a watchdog ends the process after --max-seconds.
#include <grpcpp/alarm.h>
#include <grpcpp/channel.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "absl/time/clock.h"
#include "client/messaging/message_crypto.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/identity/agency_id.h"
#include "common/redis/redis_client.h"
#include "common/status/grpc_status.h"
#include "common/tls/tls.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"
#include "concord/testing/v1/echo.pb.h"
#include "tests/bench/bench_process.h"
#include "tests/bench/guidelines_bench.h"

#ifndef CONCORD_SOURCE_DIR
#define CONCORD_SOURCE_DIR "."
#endif
#ifndef CONCORD_BINARY_DIR
#define CONCORD_BINARY_DIR "."
#endif

namespace concord::bench {
namespace {

namespace v1 = ::concord::messaging::v1;
namespace dir = ::concord::directory::v1;
namespace client = ::concord::messaging::client;
using AgencyProto = ::concord::common::v1::AgencyId;
using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void Log(const std::string& line) { std::cerr << "bench: " << line << std::endl; }

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  int agencies = 8;
  int recipients = 3;
  int concurrency = 32;
  double rate = 0;  // > 0: open loop, this many Send calls per second (--rate)
  int body_bytes = 1024;
  double seconds = 20;
  double warmup_seconds = 2;
  double baseline_seconds = 0;  // 0 = --seconds
  bool baseline = false;
  std::string target;
  std::string pki;
  int64_t messages = 0;  // > 0: exactly this many messages, then stop
  int64_t pool = 0;      // envelopes to prepare in --seconds mode (0 = automatic)
  bool json = false;
  std::string server_binary;
  std::string echo_binary;
  std::string pki_script;
  std::string ed25519_backend;  // passed to the server it starts ("" = server default)
  std::vector<std::string> server_args;
  std::vector<std::string> redis_args;  // extra redis-server flags (after the defaults)
  int64_t server_pid = 0;               // --target: sample this pid's CPU and RSS
  int replicas = 1;                     // own stack: concord-server processes on the one Redis
  std::string sent_file;    // one line per Send that returned OK: "<id> <rcpt>,<rcpt>..."
  bool retry = false;       // retry UNAVAILABLE / DEADLINE_EXCEEDED with the same envelope
  int deadline_ms = 10000;  // deadline of each Send attempt
  bool no_subscribe = false;
  int ack_linger_ms = 50;  // acks wait at most this long to fill a batch (0: send at once)
  int driver_threads = 2;
  std::string trust_domain = "concord.test";
  std::string keep_dir;  // keep the work dir (logs) here
  std::string trace;     // --trace: every measured Send and delivery, CSV
  double max_seconds = 0;
  // drain
  std::string expect_file;
  double quiet_seconds = 2;
  std::string missing_file;  // drain: one line per missing delivery, "<id> <recipient>"
};

// ---------------------------------------------------------------------------------------------
// Percentiles (exact: every sample kept, sorted once)

struct Latencies {
  std::vector<int64_t> ns;
  void Merge(const std::vector<int64_t>& other) { ns.insert(ns.end(), other.begin(), other.end()); }
  double Ms(double q) {
    if (ns.empty()) return 0;
    if (!sorted_) {
      std::sort(ns.begin(), ns.end());
      sorted_ = true;
    }
    size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(ns.size())));
    idx = std::min(ns.size() - 1, idx == 0 ? 0 : idx - 1);
    return static_cast<double>(ns[idx]) / 1e6;
  }

 private:
  bool sorted_ = false;
};

std::string Fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Agencies and PKI

struct BenchAgency {
  AgencyProto id;
  std::string key;  // "<type>/<id>"
  std::string dir;
  std::optional<client::SenderIdentity> me;
  std::optional<crypto::X25519PublicKey> seal_pub;
  std::string sign_pub_pem, seal_pub_pem;
  TlsFiles tls;
  std::shared_ptr<grpc::Channel> channel;
};

constexpr AgencyType kTypes[] = {AgencyType::kPolice, AgencyType::kMagistrate,
                                 AgencyType::kReceptionCentre, AgencyType::kImmigrationOffice,
                                 AgencyType::kSocialInspection};

std::string AgencyLocalId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "bench-%03d", i);
  return buf;
}

// A target "ipv4:127.0.0.1:P1,127.0.0.1:P2" names several replicas: calls are spread over them
// (round_robin) and a replica that goes away is skipped; the certificate is checked for 127.0.0.1.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const TlsFiles& tls) {
  grpc::ChannelArguments args;
  if (target.rfind("ipv4:", 0) == 0) {
    args.SetLoadBalancingPolicyName("round_robin");
    args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "127.0.0.1");
  }
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(target, MakeChannelCredentials(tls), args);
}

bool EnsurePki(const Options& o, const std::string& pki, const std::vector<std::string>& wants,
               const std::string& log) {
  for (const std::string& w : wants) {
    std::vector<std::string> argv = {"/bin/bash", o.pki_script,     "--quiet",     "--dir",
                                     pki,         "--trust-domain", o.trust_domain};
    std::istringstream words(w);
    std::string word;
    while (words >> word) argv.push_back(word);
    if (RunAndWait(argv, log, 120) != 0) {
      Log("pki.sh failed for '" + w + "' (see " + log + ")");
      return false;
    }
  }
  return true;
}

bool LoadAgency(const std::string& pki, const std::string& trust_domain, AgencyType type,
                const std::string& local_id, BenchAgency& out) {
  out.id.set_trust_domain(trust_domain);
  out.id.set_type(AgencyTypeToProto(type));
  out.id.set_id(local_id);
  out.key = std::string(AgencyTypeName(type)) + "/" + local_id;
  out.dir = pki + "/agencies/" + out.key;
  auto sign = crypto::Ed25519PrivateKey::FromPemFile(out.dir + "/sign.key");
  auto seal = crypto::X25519PrivateKey::FromPemFile(out.dir + "/seal.key");
  out.sign_pub_pem = ReadFileOrEmpty(out.dir + "/sign.pub");
  out.seal_pub_pem = ReadFileOrEmpty(out.dir + "/seal.pub");
  auto seal_pub = crypto::X25519PublicKey::FromPem(out.seal_pub_pem);
  if (!sign.ok() || !seal.ok() || !seal_pub.ok()) {
    Log("cannot load the keys of " + out.key + " from " + out.dir);
    return false;
  }
  out.me = client::SenderIdentity{out.id, *sign, *seal};
  out.seal_pub = *seal_pub;
  out.tls = TlsFiles{out.dir + "/cert.pem", out.dir + "/key.pem", pki + "/ca.pem"};
  return true;
}

// Registers every agency as admin/ops, a directory administrator (or the bootstrap one of the
// stack this process starts) (ALREADY_EXISTS is fine: same PKI, same keys). Retries
// while the server warms up (directory cache not loaded yet), at most ~20 s.
bool RegisterAgencies(const std::string& target, const std::string& pki,
                      std::vector<BenchAgency>& agencies) {
  const TlsFiles admin{pki + "/agencies/admin/ops/cert.pem", pki + "/agencies/admin/ops/key.pem",
                       pki + "/ca.pem"};
  auto stub = dir::Directory::NewStub(MakeChannel(target, admin));
  for (BenchAgency& a : agencies) {
    dir::RegisterAgencyRequest req;
    dir::AgencySpec* spec = req.mutable_agency();
    *spec->mutable_id() = a.id;
    spec->set_display_name("Benchmark " + a.key);
    spec->set_jurisdiction("BE");
    spec->add_languages("nl");
    spec->add_specialisations("thb");
    spec->set_signing_public_key_pem(a.sign_pub_pem);
    spec->set_sealing_public_key_pem(a.seal_pub_pem);
    grpc::Status st;
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      ctx.AddMetadata("concord-officer", "bench");
      ctx.AddMetadata("concord-justification", "benchmark agencies");
      dir::RegisterAgencyResponse resp;
      st = stub->RegisterAgency(&ctx, req, &resp);
      if (st.ok() || st.error_code() == grpc::StatusCode::ALREADY_EXISTS) break;
      if (st.error_code() != grpc::StatusCode::UNAVAILABLE &&
          st.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
          st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!st.ok() && st.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      Log("RegisterAgency " + a.key + ": " + std::to_string(st.error_code()) + " " +
          st.error_message());
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The stack this process starts (no --target)

struct Stack {
  std::string work;
  std::string pki;
  pid_t redis_pid = -1;
  int redis_port = 0;
  struct Server {
    pid_t pid = -1;
    int grpc_port = 0;
    std::string log;
  };
  std::vector<Server> servers;  // one per replica, all on the one Redis
  pid_t echo_pid = -1;
  int echo_port = 0;

  void StopAll() {
    Stop(echo_pid, SIGTERM, 3000);
    for (Server& server : servers) Stop(server.pid, SIGTERM, 10000);
    Stop(redis_pid, SIGTERM, 10000);
    echo_pid = redis_pid = -1;
    servers.clear();
  }
  ~Stack() { StopAll(); }
};

bool WaitForLine(const std::string& file, const std::string& needle, pid_t pid, double seconds,
                 std::string* line_out) {
  const int64_t deadline = NowNs() + static_cast<int64_t>(seconds * 1e9);
  while (NowNs() < deadline) {
    std::istringstream in(ReadFileOrEmpty(file));
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(needle) != std::string::npos) {
        if (line_out != nullptr) *line_out = line;
        return true;
      }
    }
    if (pid > 0 && !Alive(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool StartRedis(Stack& s, const Options& o) {
  const std::string dir = s.work + "/redis";
  mkdir(dir.c_str(), 0700);
  // The shipped ACL file (one user per workload), rendered with fresh passwords as up.sh does;
  // the server logs each module in with its own (StartServer).
  const std::string acl_script =
      o.pki_script.substr(0, o.pki_script.rfind('/') + 1) + "redis-acl.sh";
  // --test-admin: a bench-only user with every right reads INFO (Redis CPU and commands).
  if (RunAndWait({"/bin/bash", acl_script, "--secrets", s.work + "/redis-secrets", "--out",
                  s.work + "/users.acl", "--test-admin", "concord-bench"},
                 s.work + "/redis-acl.log", 60) != 0) {
    Log("redis-acl.sh failed (see " + s.work + "/redis-acl.log)");
    return false;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    s.redis_port = FreeLoopbackPort();
    const std::string log = s.work + "/redis.log";
    std::vector<std::string> argv = {"/usr/bin/redis-server",
                                     "--bind",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(s.redis_port),
                                     "--dir",
                                     dir,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "everysec",
                                     "--rdbcompression",  // as deploy/redis.conf
                                     "no",
                                     "--logfile",
                                     "",
                                     "--aclfile",
                                     s.work + "/users.acl"};
    for (const std::string& a : o.redis_args) argv.push_back(a);
    s.redis_pid = Spawn(argv, log);
    if (s.redis_pid > 0 &&
        WaitForLine(log, "Ready to accept connections", s.redis_pid, 10, nullptr)) {
      return true;
    }
    Stop(s.redis_pid, SIGKILL, 1000);
    s.redis_pid = -1;
  }
  Log("redis-server did not start");
  return false;
}

// Starts one more replica (concord-server) on the stack's Redis.
bool StartServer(Stack& s, const Options& o) {
  Stack::Server server;
  server.log =
      s.work + "/server" + (s.servers.empty() ? "" : std::to_string(s.servers.size())) + ".log";
  for (int attempt = 0; attempt < 3; ++attempt) {
    server.grpc_port = FreeLoopbackPort();
    std::vector<std::string> argv = {
        o.server_binary, "--listen-address", "127.0.0.1:" + std::to_string(server.grpc_port),
        "--health-address", "127.0.0.1:" + std::to_string(FreeLoopbackPort()), "--metrics-address",
        "127.0.0.1:" + std::to_string(FreeLoopbackPort()), "--tls-cert", s.pki + "/server/cert.pem",
        "--tls-key", s.pki + "/server/key.pem", "--tls-ca", s.pki + "/ca.pem", "--trust-domain",
        o.trust_domain, "--redis-host", "127.0.0.1", "--redis-port", std::to_string(s.redis_port),
        "--audit-key-file", s.pki + "/audit/audit.key", "--audit-signing-key-file",
        s.pki + "/audit/sign.key",
        // admin/ops registers the bench agencies (directory administration on the
        // empty directory, docs/security.md "Bootstrap").
        "--bootstrap-directory-admins", "admin/ops"};
    for (const char* w :
         {"directory", "audit", "messaging", "referrals", "guidelines", "liaison"}) {
      argv.push_back(std::string("--redis-") + w + "-password-file");
      argv.push_back(s.work + "/redis-secrets/concord-" + w + ".password");
    }
    if (!o.ed25519_backend.empty()) {
      argv.push_back("--ed25519-backend");
      argv.push_back(o.ed25519_backend);
    }
    for (const std::string& a : o.server_args) argv.push_back(a);
    server.pid = Spawn(argv, server.log);
    std::string line;
    if (server.pid > 0 && WaitForLine(server.log, "\"server.started\"", server.pid, 30, &line)) {
      Log("concord-server pid " + std::to_string(server.pid) + ": " + line);
      s.servers.push_back(server);
      return true;
    }
    Stop(server.pid, SIGKILL, 1000);
    server.pid = -1;
  }
  Log("concord-server did not start; its log:\n" + ReadFileOrEmpty(server.log));
  return false;
}

bool StartEcho(Stack& s, const Options& o) {
  const std::string out = s.work + "/echo.log";
  s.echo_pid =
      Spawn({o.echo_binary, "--listen", "127.0.0.1:0", "--tls-cert", s.pki + "/server/cert.pem",
             "--tls-key", s.pki + "/server/key.pem", "--tls-ca", s.pki + "/ca.pem"},
            out);
  std::string line;
  if (s.echo_pid <= 0 || !WaitForLine(out, "port ", s.echo_pid, 15, &line)) {
    Log("concord-echo-server did not start: " + ReadFileOrEmpty(out));
    return false;
  }
  s.echo_port = std::stoi(line.substr(line.find("port ") + 5));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Redis counters: CPU (INFO cpu) and commands run (INFO commandstats, which counts the commands a
// script runs as well as the EVALSHA itself), read through a bench-only admin ACL user.

struct RedisCounters {
  bool ok = false;
  double cpu_s = 0;                           // used_cpu_sys + used_cpu_user
  double children_cpu_s = 0;                  // used_cpu_{sys,user}_children (AOF rewrites)
  int64_t forks = 0;                          // total_forks
  int64_t used_memory = -1;                   // bytes (INFO memory)
  int64_t calls = 0;                          // sum of cmdstat_*:calls=
  int64_t evals = 0;                          // cmdstat_evalsha + cmdstat_eval calls
  std::map<std::string, int64_t> by_command;  // calls of each command
};

RedisCounters ReadRedisCounters(redis::RedisClient* client) {
  RedisCounters c;
  if (client == nullptr) return c;
  auto info = client->Command({"INFO", "everything"});
  if (!info.ok() || info->type != redis::Reply::Type::kString) return c;
  std::istringstream in(info->str);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("used_cpu_sys:", 0) == 0 || line.rfind("used_cpu_user:", 0) == 0) {
      c.cpu_s += std::strtod(line.c_str() + line.find(':') + 1, nullptr);
    } else if (line.rfind("used_cpu_sys_children:", 0) == 0 ||
               line.rfind("used_cpu_user_children:", 0) == 0) {
      c.children_cpu_s += std::strtod(line.c_str() + line.find(':') + 1, nullptr);
    } else if (line.rfind("used_memory:", 0) == 0) {
      c.used_memory = std::strtoll(line.c_str() + line.find(':') + 1, nullptr, 10);
    } else if (line.rfind("total_forks:", 0) == 0) {
      c.forks = std::strtoll(line.c_str() + line.find(':') + 1, nullptr, 10);
    } else if (line.rfind("cmdstat_", 0) == 0) {
      const size_t at = line.find("calls=");
      if (at == std::string::npos) continue;
      const int64_t n = std::strtoll(line.c_str() + at + 6, nullptr, 10);
      c.calls += n;
      c.by_command[line.substr(8, line.find(':') - 8)] = n;
      if (line.rfind("cmdstat_evalsha:", 0) == 0 || line.rfind("cmdstat_eval:", 0) == 0) {
        c.evals += n;
      }
    }
  }
  c.ok = true;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Resource sampling

struct ResourceSampler {
  pid_t pid = -1;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::mutex mu;
  int64_t first_kib = -1, last_kib = -1, max_kib = -1;
  std::vector<std::pair<double, int64_t>> series;  // (s since start, KiB)

  void Start(pid_t p) {
    pid = p;
    if (pid <= 0) return;
    const int64_t t0 = NowNs();
    thread = std::thread([this, t0] {
      while (!stop.load()) {
        const int64_t kib = RssKib(pid);
        if (kib > 0) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_kib < 0) first_kib = kib;
          last_kib = kib;
          max_kib = std::max(max_kib, kib);
          series.emplace_back(static_cast<double>(NowNs() - t0) / 1e9, kib);
        }
        for (int i = 0; i < 25 && !stop.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  void Finish() {
    stop.store(true);
    if (thread.joinable()) thread.join();
  }
  ~ResourceSampler() { Finish(); }
};

// ---------------------------------------------------------------------------------------------
// The unary driver: C outstanding calls over the generic async API, W threads with a CQ each.

struct DriverConfig {
  std::string method;
  int concurrency = 32;
  // > 0: open loop. Call k is due at start + k / rate (its intended send time); it starts then
  // whatever is outstanding (at most max_outstanding, a memory bound), and its latency is
  // measured from the intended time, so queueing in the client or server is not hidden.
  double rate = 0;
  int max_outstanding = 4096;
  int threads = 2;
  int64_t total = 0;          // calls available (indices 0..total-1)
  int64_t warmup_end_ns = 0;  // calls started before: not in the statistics
  int64_t end_ns = 0;         // no call starts after this
  bool retry = false;         // UNAVAILABLE/DEADLINE_EXCEEDED: same request again
  int64_t retry_budget_ns = 90'000'000'000;
  std::chrono::milliseconds deadline{10000};
  std::function<const grpc::ByteBuffer&(int64_t)> request;
  std::function<grpc::GenericStub*(int64_t)> stub;
  // The first attempt of index k starts (closed loop) or is due (open loop) at t_ns.
  std::function<void(int64_t k, int64_t t_ns)> on_start;
  std::function<void(int64_t)> on_ok;
  bool keep_samples = false;  // --trace: every measured call's start time with its latency
};

struct DriverResult {
  Latencies latency;
  Latencies start_lag;  // open loop: how late each first attempt started after its intended time
  std::vector<std::pair<int64_t, int64_t>> samples;  // keep_samples: {start ns, latency ns}
  int64_t ok_in_window = 0;
  int64_t ok_total = 0;
  int64_t errors = 0;
  int64_t retries = 0;
  int64_t started = 0;
  int64_t started_open = 0;  // open loop: calls started
  bool exhausted = false;
  std::map<int, int64_t> error_codes;
  std::map<int, int64_t> attempt_codes;  // every failed attempt, retried or not
  int64_t max_attempt_ns = 0;            // the longest attempt (a hang shows here)
  double window_s = 0;
  int64_t last_completion_ns = 0;
};

DriverResult RunDriver(const DriverConfig& cfg) {
  struct Call {
    int64_t index = -1;
    int64_t first_start_ns = 0;
    int64_t start_ns = 0;
    bool retry_alarm = false;
    std::unique_ptr<grpc::ClientContext> ctx;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
    grpc::ByteBuffer response;
    grpc::Status status;
    grpc::Alarm alarm;
  };
  // One per worker thread: its completion queue and its calls. The worker handles the queue's
  // completions; in the open loop the pacer starts calls on it too.
  struct Lane {
    grpc::CompletionQueue cq;
    std::mutex mu;  // calls and free_calls: the pacer takes a call, the worker gives it back
    std::vector<std::unique_ptr<Call>> calls;
    std::vector<Call*> free_calls;
    std::atomic<int> outstanding{0};
  };
  std::atomic<int64_t> next{0};
  std::mutex mu;
  DriverResult result;

  const bool open = cfg.rate > 0;
  const int64_t open_start = NowNs();  // open loop: intended start of call 0
  auto intended_ns = [&](int64_t k) {
    return open_start + static_cast<int64_t>(static_cast<double>(k) * 1e9 / cfg.rate);
  };
  const int w =
      open ? std::max(1, cfg.threads) : std::max(1, std::min(cfg.threads, cfg.concurrency));
  std::vector<std::unique_ptr<Lane>> lanes;
  for (int i = 0; i < w; ++i) lanes.push_back(std::make_unique<Lane>());
  // Open loop: set once the pacer has started its last call (every `outstanding` increment of
  // the pacer happens before it).
  std::atomic<bool> pacing_done{!open};

  auto issue = [&cfg](Lane& lane, Call* c) {
    c->ctx = std::make_unique<grpc::ClientContext>();
    c->ctx->set_deadline(std::chrono::system_clock::now() + cfg.deadline);
    c->start_ns = NowNs();
    c->retry_alarm = false;
    c->response.Clear();
    lane.outstanding.fetch_add(1);
    c->reader = cfg.stub(c->index)->PrepareUnaryCall(c->ctx.get(), cfg.method,
                                                     cfg.request(c->index), &lane.cq);
    c->reader->StartCall();
    c->reader->Finish(&c->response, &c->status, c);
  };

  // Open loop: ONE thread sleeps until each call's intended time (clock_nanosleep, 1 µs timer
  // slack) and starts it on lane k % w. A completion queue's own timeout has millisecond
  // granularity: a worker that waited on it for the next due time started calls ~1 ms late,
  // and that lateness counted in every latency (it is printed as start_lag).
  auto pacer = [&] {
#ifdef PR_SET_TIMERSLACK
    (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
#endif
    std::vector<int64_t> lag;
    bool exhausted = false;
    int64_t k = 0;
    for (;; ++k) {
      if (k >= cfg.total) {
        exhausted = true;
        break;
      }
      const int64_t due = intended_ns(k);
      if (due >= cfg.end_ns) break;
      std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(due)));
      Lane& lane = *lanes[static_cast<size_t>(k % w)];
      // The memory bound: a full lane delays its next start (still measured from its intended
      // time); its calls end within their deadlines and retry budget.
      while (lane.outstanding.load() >= cfg.max_outstanding) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      Call* c = nullptr;
      {
        std::lock_guard<std::mutex> lock(lane.mu);
        if (lane.free_calls.empty()) {
          lane.calls.push_back(std::make_unique<Call>());
          c = lane.calls.back().get();
        } else {
          c = lane.free_calls.back();
          lane.free_calls.pop_back();
        }
      }
      c->index = k;
      c->first_start_ns = due;
      if (cfg.on_start) cfg.on_start(k, due);
      const int64_t started = NowNs();
      issue(lane, c);
      if (due >= cfg.warmup_end_ns) lag.push_back(started - due);
    }
    pacing_done.store(true);
    std::lock_guard<std::mutex> lock(mu);
    result.start_lag.Merge(lag);
    result.exhausted = result.exhausted || exhausted;
    result.started_open = k;
  };

  // Closed loop: `slots` calls, each started again when it completes. Open loop: the
  // completions of the calls the pacer started on this lane.
  auto worker = [&](int slots, Lane& lane) {
    std::vector<int64_t> lat;
    std::vector<std::pair<int64_t, int64_t>> samples;
    int64_t ok_window = 0, ok_total = 0, errors = 0, retries = 0, last_done = 0;
    std::map<int, int64_t> codes;
    std::map<int, int64_t> attempt_codes;
    int64_t max_attempt = 0;
    bool exhausted = false;

    auto start_next = [&](Call* c) -> bool {
      if (NowNs() >= cfg.end_ns) return false;
      const int64_t k = next.fetch_add(1);
      if (k >= cfg.total) {
        exhausted = true;
        return false;
      }
      c->index = k;
      c->first_start_ns = NowNs();
      if (cfg.on_start) cfg.on_start(k, c->first_start_ns);
      issue(lane, c);
      return true;
    };
    // A call slot is free again: closed loop starts the next call in it.
    auto release = [&](Call* c) {
      if (open) {
        std::lock_guard<std::mutex> lock(lane.mu);
        lane.free_calls.push_back(c);
      } else {
        start_next(c);
      }
    };

    if (!open) {
      for (int i = 0; i < slots; ++i) {
        lane.calls.push_back(std::make_unique<Call>());
        start_next(lane.calls.back().get());
      }
    }
    for (;;) {
      // pacing_done first: once it is set, every call of this lane is counted in outstanding.
      if (pacing_done.load() && lane.outstanding.load() == 0) break;
      void* tag = nullptr;
      bool ok = false;
      // Open loop: the pacer may start a call on this lane at any moment; the timeout only
      // bounds how long the end of pacing goes unnoticed.
      const auto wait = std::chrono::system_clock::now() +
                        (open ? std::chrono::milliseconds(20) : std::chrono::milliseconds(1000));
      const auto status = lane.cq.AsyncNext(&tag, &ok, wait);
      if (status == grpc::CompletionQueue::TIMEOUT) continue;  // bounded by the RPC deadlines
      if (status == grpc::CompletionQueue::SHUTDOWN) break;
      Call* c = static_cast<Call*>(tag);
      lane.outstanding.fetch_sub(1);
      if (c->retry_alarm) {
        issue(lane, c);
        continue;
      }
      const int64_t done = NowNs();
      max_attempt = std::max(max_attempt, done - c->start_ns);
      if (!c->status.ok()) ++attempt_codes[static_cast<int>(c->status.error_code())];
      if (c->status.ok()) {
        ++ok_total;
        last_done = done;
        if (open) {
          // Every call due in the window counts, however late it completed.
          if (c->first_start_ns >= cfg.warmup_end_ns) {
            ++ok_window;
            lat.push_back(done - c->first_start_ns);
            if (cfg.keep_samples) samples.emplace_back(c->first_start_ns, lat.back());
          }
        } else if (c->first_start_ns >= cfg.warmup_end_ns && done <= cfg.end_ns) {
          ++ok_window;
          lat.push_back(done - c->start_ns);
          if (cfg.keep_samples) samples.emplace_back(c->start_ns, lat.back());
        }
        if (cfg.on_ok) cfg.on_ok(c->index);
        release(c);
        continue;
      }
      const auto code = c->status.error_code();
      const bool retryable = code == grpc::StatusCode::UNAVAILABLE ||
                             code == grpc::StatusCode::DEADLINE_EXCEEDED ||
                             code == grpc::StatusCode::ABORTED;
      if (cfg.retry && retryable && done - c->first_start_ns < cfg.retry_budget_ns) {
        ++retries;
        c->retry_alarm = true;
        lane.outstanding.fetch_add(1);
        c->alarm.Set(&lane.cq, std::chrono::system_clock::now() + std::chrono::milliseconds(100),
                     c);
        continue;
      }
      ++errors;
      ++codes[static_cast<int>(code)];
      if (codes[static_cast<int>(code)] <= 3) {
        std::string detail;
        for (const FieldViolation& v : FieldViolationsOf(FromGrpcStatus(c->status))) {
          detail += " [" + v.field + ": " + v.description + "]";
        }
        Log("call failed: code " + std::to_string(code) + " " + c->status.error_message() + detail);
      }
      release(c);
    }
    lane.cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (lane.cq.Next(&tag, &ok)) {
    }
    std::lock_guard<std::mutex> lock(mu);
    result.latency.Merge(lat);
    result.samples.insert(result.samples.end(), samples.begin(), samples.end());
    result.ok_in_window += ok_window;
    result.ok_total += ok_total;
    result.errors += errors;
    result.retries += retries;
    result.exhausted = result.exhausted || exhausted;
    result.last_completion_ns = std::max(result.last_completion_ns, last_done);
    for (auto [code, n] : codes) result.error_codes[code] += n;
    for (auto [code, n] : attempt_codes) result.attempt_codes[code] += n;
    result.max_attempt_ns = std::max(result.max_attempt_ns, max_attempt);
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < w; ++i) {
    const int slots = cfg.concurrency / w + (i < cfg.concurrency % w ? 1 : 0);
    threads.emplace_back(worker, slots, std::ref(*lanes[static_cast<size_t>(i)]));
  }
  if (open) threads.emplace_back(pacer);
  for (auto& t : threads) t.join();
  result.started = open ? result.started_open : std::min(next.load(), cfg.total);
  const int64_t window_end =
      result.exhausted ? std::min(cfg.end_ns, result.last_completion_ns) : cfg.end_ns;
  result.window_s = static_cast<double>(window_end - cfg.warmup_end_ns) / 1e9;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Subscribers: one Subscribe stream per agency, acking in batches from a second thread.

// Acknowledgements: batches of up to kAckBatch ids, sent at most --ack-linger-ms after the first.
constexpr size_t kAckBatch = 256;

struct Subscribers {
  struct One {
    BenchAgency* agency = nullptr;
    std::unique_ptr<v1::Messaging::Stub> stub;
    // The context of the stream attempt in progress (a stream that ends with UNAVAILABLE, e.g.
    // a connection attempt timed out on a loaded machine, is opened again until the deadline,
    // as an agency system's Watch does); guarded by ctx_mu; `stopping` ends the retries.
    std::mutex ctx_mu;
    grpc::ClientContext* ctx = nullptr;
    bool stopping = false;
    std::thread reader, acker;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> to_ack;
    bool done = false;
    std::vector<int64_t> latencies;
    std::vector<int64_t> latency_starts;  // the intended send time of each latency's message
    std::vector<std::string> ids;         // every delivered id (drain mode)
    int64_t deliveries = 0;
    int64_t redeliveries = 0;
    grpc::Status final_status;
  };
  std::vector<std::unique_ptr<One>> subs;
  std::atomic<int64_t> delivered{0};
};

// `index_of(id)`: message index for latency accounting (-1 unknown); `start_ns[index]`.
void StartSubscribers(Subscribers& s, std::vector<BenchAgency*> agencies, double max_seconds,
                      const std::string& terminal,
                      std::function<int64_t(const std::string&)> index_of,
                      const std::vector<std::atomic<int64_t>>* start_ns, int64_t warmup_end_ns,
                      bool keep_ids, std::chrono::milliseconds ack_linger) {
  for (BenchAgency* a : agencies) {
    auto one = std::make_unique<Subscribers::One>();
    Subscribers::One* o = one.get();
    o->agency = a;
    o->stub = v1::Messaging::NewStub(a->channel);
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(max_seconds * 1000));
    s.subs.push_back(std::move(one));
    o->reader = std::thread([o, &s, terminal, index_of, start_ns, warmup_end_ns, keep_ids,
                             deadline] {
      v1::SubscribeRequest req;
      req.set_terminal_id(terminal);
      // Bounded: at most 20 attempts, each ending by the overall deadline.
      for (int attempt = 0; attempt < 20; ++attempt) {
        grpc::ClientContext ctx;
        ctx.set_deadline(deadline);
        ctx.AddMetadata("concord-officer", "bench");
        {
          std::lock_guard<std::mutex> lock(o->ctx_mu);
          if (o->stopping) break;
          o->ctx = &ctx;
        }
        auto stream = o->stub->Subscribe(&ctx, req);
        v1::Delivery d;
        while (stream->Read(&d)) {
          const int64_t arrival = NowNs();
          const std::string& id = d.envelope().message_id();
          if (d.delivery_count() > 1) ++o->redeliveries;
          ++o->deliveries;
          s.delivered.fetch_add(1, std::memory_order_relaxed);
          const int64_t k = index_of ? index_of(id) : -1;
          if (start_ns != nullptr && k >= 0 && k < static_cast<int64_t>(start_ns->size())) {
            const int64_t t = (*start_ns)[static_cast<size_t>(k)].load(std::memory_order_relaxed);
            if (t >= warmup_end_ns && t > 0) {
              o->latencies.push_back(arrival - t);
              o->latency_starts.push_back(t);
            }
          }
          if (keep_ids) o->ids.push_back(id);
          bool wake = false;
          {
            std::lock_guard<std::mutex> lock(o->mu);
            o->to_ack.push_back(id);
            wake = o->to_ack.size() == 1 || o->to_ack.size() >= kAckBatch;
          }
          if (wake) o->cv.notify_one();
        }
        o->final_status = stream->Finish();
        {
          std::lock_guard<std::mutex> lock(o->ctx_mu);
          o->ctx = nullptr;
        }
        const bool retry = o->final_status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                           std::chrono::system_clock::now() < deadline;
        if (!o->final_status.ok() && o->final_status.error_code() != grpc::StatusCode::CANCELLED) {
          Log("Subscribe as " + o->agency->key +
              " ended: " + std::to_string(o->final_status.error_code()) + " " +
              o->final_status.error_message() + (retry ? " (opening it again)" : ""));
        }
        if (!retry) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200 * (attempt + 1)));
      }
      {
        std::lock_guard<std::mutex> lock(o->mu);
        o->done = true;
      }
      o->cv.notify_one();
    });
    o->acker = std::thread([o, ack_linger] {
      for (;;) {
        v1::AckRequest req;
        {
          std::unique_lock<std::mutex> lock(o->mu);
          o->cv.wait_for(lock, std::chrono::milliseconds(200),
                         [o] { return o->done || !o->to_ack.empty(); });
          if (o->to_ack.empty()) {
            if (o->done) return;
            continue;
          }
          // Like an agency system: acknowledge in batches, at most --ack-linger-ms after the
          // first pending delivery (far inside the visibility timeout), at once when kAckBatch
          // are pending.
          o->cv.wait_for(lock, ack_linger,
                         [o] { return o->done || o->to_ack.size() >= kAckBatch; });
          while (!o->to_ack.empty() && req.message_ids_size() < static_cast<int>(kAckBatch)) {
            req.add_message_ids(std::move(o->to_ack.front()));
            o->to_ack.pop_front();
          }
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        ctx.AddMetadata("concord-officer", "bench");
        ctx.AddMetadata("concord-justification", "benchmark agencies");
        v1::AckResponse resp;
        const grpc::Status st = o->stub->Ack(&ctx, req, &resp);
        if (!st.ok()) Log("Ack failed: " + std::to_string(st.error_code()));
      }
    });
  }
}

// --trace: one line per measured Send and delivery (kind, send time in ms after the warm-up,
// latency in us), in the order of their send times.
void WriteTrace(const std::string& path, int64_t warmup_end_ns,
                const std::vector<std::pair<int64_t, int64_t>>& sends,
                const std::vector<std::pair<int64_t, int64_t>>& deliveries) {
  std::vector<std::tuple<int64_t, int, int64_t>> rows;  // start, kind (0 send, 1 delivery), lat
  for (const auto& [start, lat] : sends) rows.emplace_back(start, 0, lat);
  for (const auto& [start, lat] : deliveries) rows.emplace_back(start, 1, lat);
  std::sort(rows.begin(), rows.end());
  std::ofstream out(path);
  out << "kind,start_ms,latency_us\n";
  for (const auto& [start, kind, lat] : rows) {
    out << (kind == 0 ? "send," : "delivery,")
        << Fmt(static_cast<double>(start - warmup_end_ns) / 1e6, 3) << "," << lat / 1000 << "\n";
  }
  Log("trace: " + std::to_string(rows.size()) + " lines in " + path);
}

// --trace: where the worst 1 % of `samples` ({start ns, latency ns}) fall in time: spread over
// many 100 ms windows (queueing) or held by a few (a stall). One line for the RESULT block.
std::string TailWindows(const std::vector<std::pair<int64_t, int64_t>>& samples,
                        int64_t warmup_end_ns) {
  if (samples.size() < 100) return "too few samples";
  std::vector<int64_t> lat;
  lat.reserve(samples.size());
  for (const auto& [start, l] : samples) lat.push_back(l);
  std::sort(lat.begin(), lat.end());
  const int64_t p99 = lat[lat.size() * 99 / 100];
  std::map<int64_t, int64_t> per_window;  // 100 ms window index -> worst samples in it
  int64_t worst = 0, last_window = 0;
  for (const auto& [start, l] : samples) {
    const int64_t w = std::max<int64_t>(0, start - warmup_end_ns) / 100'000'000;
    last_window = std::max(last_window, w);
    if (l >= p99) {
      ++per_window[w];
      ++worst;
    }
  }
  std::vector<int64_t> counts;
  for (const auto& [w, n] : per_window) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  int64_t top = 0;
  for (size_t i = 0; i < counts.size() && i < 6; ++i) top += counts[i];
  return "worst 1 % (" + std::to_string(worst) + ", >= " + Fmt(static_cast<double>(p99) / 1e6) +
         " ms) in " + std::to_string(per_window.size()) + " of " + std::to_string(last_window + 1) +
         " 100-ms windows; the 6 fullest hold " +
         Fmt(100.0 * static_cast<double>(top) / static_cast<double>(std::max<int64_t>(worst, 1)),
             0) +
         " %";
}

void StopSubscribers(Subscribers& s) {
  for (auto& o : s.subs) {
    std::lock_guard<std::mutex> lock(o->ctx_mu);
    o->stopping = true;
    if (o->ctx != nullptr) o->ctx->TryCancel();
  }
  for (auto& o : s.subs) {
    if (o->reader.joinable()) o->reader.join();
    if (o->acker.joinable()) o->acker.join();
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

std::string MessageId(const std::string& run_tag, int64_t k) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "bench%s-%010lld", run_tag.c_str(), static_cast<long long>(k));
  return buf;
}

int64_t IndexOf(const std::string& run_tag, const std::string& id) {
  const std::string prefix = "bench" + run_tag + "-";
  if (id.size() != prefix.size() + 10 || id.compare(0, prefix.size(), prefix) != 0) return -1;
  int64_t k = 0;
  for (size_t i = prefix.size(); i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return -1;
    k = k * 10 + (id[i] - '0');
  }
  return k;
}

int SenderOf(int64_t k, int agencies) { return static_cast<int>(k % agencies); }
int RecipientOf(int64_t k, int r, int agencies) {
  return (SenderOf(k, agencies) + 1 + r) % agencies;
}

std::vector<grpc::ByteBuffer> BuildRequests(const Options& o, std::vector<BenchAgency>& agencies,
                                            const std::string& run_tag, int64_t n) {
  std::vector<grpc::ByteBuffer> out(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  const std::string body(static_cast<size_t>(o.body_bytes), 'x');
  const absl::Time now = absl::Now();
  auto work = [&] {
    for (;;) {
      const int64_t k = next.fetch_add(1);
      if (k >= n || failed.load()) return;
      const BenchAgency& sender = agencies[static_cast<size_t>(SenderOf(k, o.agencies))];
      client::MessageDraft draft;
      draft.message_id = MessageId(run_tag, k);
      for (int r = 0; r < o.recipients; ++r) {
        const BenchAgency& rc = agencies[static_cast<size_t>(RecipientOf(k, r, o.agencies))];
        draft.recipients.push_back({rc.id, *rc.seal_pub});
      }
      draft.thread_id = "bench-thread";
      draft.case_reference = "BXL-2026-0001";
      draft.time_to_live = absl::Hours(24);
      draft.body = body;
      auto env = client::BuildEnvelope(*sender.me, draft, now);
      if (!env.ok()) {
        Log("BuildEnvelope: " + std::string(env.status().message()));
        failed.store(true);
        return;
      }
      v1::SendRequest req;
      *req.mutable_envelope() = *std::move(env);
      const std::string bytes = req.SerializeAsString();
      grpc::Slice slice(bytes);
      out[static_cast<size_t>(k)] = grpc::ByteBuffer(&slice, 1);
    }
  };
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < hw; ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (failed.load()) out.clear();
  return out;
}

// The first three fields of /proc/loadavg.
std::string LoadAverage() {
  std::istringstream in(ReadFileOrEmpty("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Json(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    out += (i ? "," : "") + std::string("\"") + fields[i].first + "\":" + fields[i].second;
  }
  return out + "}";
}

// ---------------------------------------------------------------------------------------------
// messaging

int RunMessaging(Options o) {
  if (o.agencies < 2 || o.recipients < 1 || o.recipients >= o.agencies || o.concurrency < 1 ||
      o.body_bytes < 0 || o.seconds <= 0) {
    Log("need --agencies >= 2, 1 <= --recipients < --agencies, --concurrency >= 1, --seconds > 0");
    return 2;
  }
  Stack stack;
  char tmpl[] = "/tmp/concord-bench.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  stack.work = o.keep_dir.empty() ? tmpl : o.keep_dir;
  mkdir(stack.work.c_str(), 0700);
  stack.pki = o.pki.empty() ? stack.work + "/pki" : o.pki;
  const std::string pki_log = stack.work + "/pki.log";

  std::vector<std::string> wants = {"ca", "agency admin ops"};
  if (o.target.empty()) {
    wants.push_back("server");
    wants.push_back("audit");
  }
  for (int i = 0; i < o.agencies; ++i) {
    wants.push_back("agency " + std::string(AgencyTypeName(kTypes[i % 5])) + " " +
                    AgencyLocalId(i));
  }
  Log("PKI in " + stack.pki);
  if (!EnsurePki(o, stack.pki, wants, pki_log)) return 1;

  // The servers measured (CPU summed, RSS per process) and the targets the agencies are spread
  // over (agency i talks to targets[i % size]).
  std::vector<pid_t> server_pids;
  if (o.server_pid > 0) server_pids.push_back(static_cast<pid_t>(o.server_pid));
  pid_t redis_pid = -1;
  std::vector<std::string> targets = {o.target};
  if (o.target.empty()) {
    if (!FileExists(o.server_binary)) {
      Log("concord-server not found at " + o.server_binary + " (use --server-binary)");
      return 1;
    }
    if (!StartRedis(stack, o)) return 1;
    for (int r = 0; r < o.replicas; ++r) {
      if (!StartServer(stack, o)) return 1;
    }
    targets.clear();
    for (const Stack::Server& server : stack.servers) {
      targets.push_back("127.0.0.1:" + std::to_string(server.grpc_port));
      server_pids.push_back(server.pid);
    }
    redis_pid = stack.redis_pid;
  }
  const std::string& target = targets.front();
  // Redis CPU and commands per send (INFO), as the bench's own admin user (own stack only).
  std::unique_ptr<redis::RedisClient> redis_admin;
  if (stack.redis_pid > 0) {
    redis::RedisConfig rc;
    rc.port = stack.redis_port;
    rc.user = "concord-bench";
    rc.password = ReadFileOrEmpty(stack.work + "/redis-secrets/concord-bench.password");
    while (!rc.password.empty() && (rc.password.back() == '\n' || rc.password.back() == '\r')) {
      rc.password.pop_back();
    }
    rc.pool_size = 1;
    redis_admin = redis::RedisClient::Create(rc);
  }

  std::vector<BenchAgency> agencies(static_cast<size_t>(o.agencies));
  for (int i = 0; i < o.agencies; ++i) {
    if (!LoadAgency(stack.pki, o.trust_domain, kTypes[i % 5], AgencyLocalId(i),
                    agencies[static_cast<size_t>(i)])) {
      return 1;
    }
    agencies[static_cast<size_t>(i)].channel = MakeChannel(
        targets[static_cast<size_t>(i) % targets.size()], agencies[static_cast<size_t>(i)].tls);
  }
  if (!RegisterAgencies(target, stack.pki, agencies)) return 1;

  // Envelopes: every one built, sealed and signed before the clock starts.
  const double expected_rate = 8000;  // above the 6,000/s target; stops early if exhausted
  const int64_t n =
      o.messages > 0
          ? o.messages
          : (o.pool > 0 ? o.pool
                        : static_cast<int64_t>((o.seconds + o.warmup_seconds) *
                                               (o.rate > 0 ? o.rate * 1.01 + 1 : expected_rate)));
  const std::string run_tag = client::RandomId().substr(0, 8);
  Log("preparing " + std::to_string(n) + " sealed and signed envelopes (" +
      std::to_string(o.body_bytes) + " B body, " + std::to_string(o.recipients) +
      " recipients)...");
  const int64_t build_start = NowNs();
  std::vector<grpc::ByteBuffer> requests = BuildRequests(o, agencies, run_tag, n);
  if (requests.empty()) return 1;
  Log("prepared in " + Fmt(static_cast<double>(NowNs() - build_start) / 1e9, 1) + " s");

  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (auto& a : agencies) stubs.push_back(std::make_unique<grpc::GenericStub>(a.channel));

  // Warm the connections (TLS handshakes) before the clock starts.
  for (auto& a : agencies) {
    a.channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  std::vector<std::atomic<int64_t>> start_ns(static_cast<size_t>(n));
  std::FILE* sent = nullptr;
  std::mutex sent_mu;
  if (!o.sent_file.empty()) {
    sent = std::fopen(o.sent_file.c_str(), "w");
    if (sent == nullptr) {
      Log("cannot write " + o.sent_file);
      return 1;
    }
  }

  const std::string load_before = LoadAverage();
  const int64_t t0 = NowNs();
  const bool fixed = o.messages > 0;
  const int64_t warmup_end = fixed ? t0 : t0 + static_cast<int64_t>(o.warmup_seconds * 1e9);
  const int64_t end = warmup_end + static_cast<int64_t>(o.seconds * 1e9);

  Subscribers subs;
  std::vector<BenchAgency*> recipients_list;
  for (auto& a : agencies) recipients_list.push_back(&a);
  if (!o.no_subscribe) {
    StartSubscribers(
        subs, recipients_list, o.seconds + o.warmup_seconds + 120, "bench",
        [run_tag](const std::string& id) { return IndexOf(run_tag, id); }, &start_ns, warmup_end,
        false, std::chrono::milliseconds(o.ack_linger_ms));
  }

  std::vector<std::unique_ptr<ResourceSampler>> rss;
  for (pid_t pid : server_pids) {
    rss.push_back(std::make_unique<ResourceSampler>());
    rss.back()->Start(pid);
  }
  const auto servers_cpu = [&server_pids]() {
    double sum = 0;
    for (pid_t pid : server_pids) sum += CpuSeconds(pid);
    return sum;
  };
  double server_cpu0 = -1, redis_cpu0 = -1, self_cpu0 = -1;
  RedisCounters redis0;
  std::thread cpu_mark([&] {
    while (NowNs() < warmup_end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    redis0 = ReadRedisCounters(redis_admin.get());
    server_cpu0 = !server_pids.empty() ? servers_cpu() : -1;
    redis_cpu0 = redis_pid > 0 ? CpuSeconds(redis_pid) : -1;
    self_cpu0 = CpuSeconds(getpid());
  });

  DriverConfig cfg;
  cfg.method = "/concord.messaging.v1.Messaging/Send";
  cfg.concurrency = o.concurrency;
  cfg.rate = o.rate;
  cfg.threads = o.driver_threads;
  cfg.total = n;
  cfg.warmup_end_ns = warmup_end;
  cfg.end_ns = end;
  cfg.retry = o.retry;
  cfg.deadline = std::chrono::milliseconds(o.deadline_ms);
  cfg.request = [&](int64_t k) -> const grpc::ByteBuffer& {
    return requests[static_cast<size_t>(k)];
  };
  cfg.stub = [&](int64_t k) { return stubs[static_cast<size_t>(SenderOf(k, o.agencies))].get(); };
  cfg.keep_samples = !o.trace.empty();
  cfg.on_start = [&](int64_t k, int64_t t_ns) {
    start_ns[static_cast<size_t>(k)].store(t_ns, std::memory_order_relaxed);
  };
  cfg.on_ok = [&](int64_t k) {
    if (sent == nullptr) return;
    std::string line = MessageId(run_tag, k) + " ";
    for (int r = 0; r < o.recipients; ++r) {
      line += (r ? "," : "") + agencies[static_cast<size_t>(RecipientOf(k, r, o.agencies))].key;
    }
    line += "\n";
    std::lock_guard<std::mutex> lock(sent_mu);
    std::fputs(line.c_str(), sent);
    std::fflush(sent);
  };
  Log(fixed ? "sending " + std::to_string(n) + " messages..."
            : "sending for " + Fmt(o.warmup_seconds, 0) + " s warm-up + " + Fmt(o.seconds, 0) +
                  " s...");
  DriverResult send = RunDriver(cfg);
  const int64_t send_end = std::min(NowNs(), std::max(end, send.last_completion_ns));
  cpu_mark.join();
  const double wall = static_cast<double>(std::min(send_end, end) - warmup_end) / 1e9;
  const double wall_cpu = fixed ? static_cast<double>(send_end - warmup_end) / 1e9 : wall;
  const double server_cpu = !server_pids.empty() ? servers_cpu() - server_cpu0 : -1;
  const double redis_cpu = redis_pid > 0 ? CpuSeconds(redis_pid) - redis_cpu0 : -1;
  const double self_cpu = CpuSeconds(getpid()) - self_cpu0;
  const RedisCounters redis1 = ReadRedisCounters(redis_admin.get());
  if (sent != nullptr) std::fclose(sent);

  // Deliveries: wait (bounded) for every OK message to reach every recipient.
  Latencies delivery;
  int64_t expected_deliveries = send.ok_total * o.recipients;
  int64_t redeliveries = 0;
  if (!o.no_subscribe) {
    const int64_t wait_until = NowNs() + 10'000'000'000;
    while (subs.delivered.load() < expected_deliveries && NowNs() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    StopSubscribers(subs);
    for (auto& s : subs.subs) {
      delivery.Merge(s->latencies);
      redeliveries += s->redeliveries;
    }
  }
  std::string send_tail, delivery_tail;
  if (!o.trace.empty()) {
    std::vector<std::pair<int64_t, int64_t>> deliveries;  // {send time, latency} of each
    for (const auto& one : subs.subs) {
      for (size_t i = 0; i < one->latencies.size() && i < one->latency_starts.size(); ++i) {
        deliveries.emplace_back(one->latency_starts[i], one->latencies[i]);
      }
    }
    WriteTrace(o.trace, warmup_end, send.samples, deliveries);
    send_tail = TailWindows(send.samples, warmup_end);
    delivery_tail = TailWindows(deliveries, warmup_end);
  }
  for (auto& sampler : rss) sampler->Finish();

  const double sends_per_s =
      send.window_s > 0 ? static_cast<double>(send.ok_in_window) / send.window_s : 0;
  std::cout << "concord-bench messaging: agencies=" << o.agencies << " recipients=" << o.recipients
            << " concurrency=" << o.concurrency << " rate=" << Fmt(o.rate, 0)
            << " body_bytes=" << o.body_bytes << " target=" << target
            << (targets.size() > 1 ? " replicas=" + std::to_string(targets.size()) : std::string())
            << "\n";
  // The machine is shared: the load average says how much of it the run had.
  std::cout << "load: before=" << load_before << " after=" << LoadAverage() << "\n";
  std::cout << "send: ok=" << send.ok_total << " in_window=" << send.ok_in_window
            << " errors=" << send.errors << " retries=" << send.retries
            << " window_s=" << Fmt(send.window_s) << (send.exhausted ? " (pool exhausted)" : "")
            << "\n";
  for (auto [code, count] : send.error_codes) {
    std::cout << "send: error code " << code << " x" << count << "\n";
  }
  for (auto [code, count] : send.attempt_codes) {
    std::cout << "send: attempt code " << code << " x" << count << "\n";
  }
  std::cout << "send: max_attempt_ms=" << send.max_attempt_ns / 1'000'000 << "\n";
  if (o.rate > 0) {
    // The driver's own lateness, included in every latency below (measured from intended times).
    std::cout << "send: start_lag p50=" << Fmt(send.start_lag.Ms(0.5), 3)
              << " p99=" << Fmt(send.start_lag.Ms(0.99), 3)
              << " max=" << Fmt(send.start_lag.Ms(1.0), 3) << " ms\n";
  }
  std::cout << "send: " << Fmt(sends_per_s, 0) << " sends/s  p50=" << Fmt(send.latency.Ms(0.5))
            << " p90=" << Fmt(send.latency.Ms(0.9)) << " p99=" << Fmt(send.latency.Ms(0.99))
            << " p999=" << Fmt(send.latency.Ms(0.999)) << " max=" << Fmt(send.latency.Ms(1.0))
            << " ms\n";
  if (!send_tail.empty()) std::cout << "tail: send " << send_tail << "\n";
  // Accepted messages that never reached a recipient (delivered counts redeliveries too): the
  // run's figures then describe a broken system, so it says so and exits 4.
  int64_t undelivered = 0;
  if (!o.no_subscribe) {
    undelivered =
        std::max<int64_t>(0, expected_deliveries - (subs.delivered.load() - redeliveries));
    std::cout << "delivery: " << subs.delivered.load() << " of " << expected_deliveries
              << " (redeliveries " << redeliveries << ")  p50=" << Fmt(delivery.Ms(0.5))
              << " p90=" << Fmt(delivery.Ms(0.9)) << " p99=" << Fmt(delivery.Ms(0.99))
              << " p999=" << Fmt(delivery.Ms(0.999)) << " max=" << Fmt(delivery.Ms(1.0)) << " ms\n";
    if (!delivery_tail.empty()) std::cout << "tail: delivery " << delivery_tail << "\n";
    if (undelivered > 0) {
      std::cerr << "concord-bench: error: " << undelivered << " of " << expected_deliveries
                << " deliveries did not arrive within 10 s after the run (the server's log says "
                   "why; --keep-dir keeps it): these figures do not describe a working system\n";
    }
  }
  const double server_cpu_pct = server_cpu >= 0 ? 100 * server_cpu / wall_cpu : -1;
  std::cout << "cpu: server=" << Fmt(server_cpu_pct, 0) << "% ("
            << (send.ok_in_window > 0 && server_cpu >= 0
                    ? Fmt(1e6 * server_cpu / static_cast<double>(send.ok_in_window), 0)
                    : "-")
            << " us/send) redis=" << Fmt(redis_cpu >= 0 ? 100 * redis_cpu / wall_cpu : -1, 0)
            << "% bench=" << Fmt(100 * self_cpu / wall_cpu, 0) << "% of one core\n";
  // Redis work per send over the same window: INFO cpu (the Redis process, main thread and
  // children's own share excluded) and INFO commandstats (scripts' inner commands included;
  // the deliveries, acknowledgements and audit records of the window's sends included).
  double redis_us_per_send = -1, redis_cmds_per_send = -1, redis_evals_per_send = -1;
  if (redis0.ok && redis1.ok && send.ok_in_window > 0) {
    const double sends = static_cast<double>(send.ok_in_window);
    redis_us_per_send = 1e6 * (redis1.cpu_s - redis0.cpu_s) / sends;
    redis_cmds_per_send = static_cast<double>(redis1.calls - redis0.calls) / sends;
    redis_evals_per_send = static_cast<double>(redis1.evals - redis0.evals) / sends;
    std::cout << "redis: " << Fmt(redis_us_per_send, 1) << " us cpu/send, "
              << Fmt(redis_cmds_per_send, 1) << " commands/send (" << Fmt(redis_evals_per_send, 2)
              << " script calls/send)\n";
    // A forked child (an AOF rewrite) runs beside the server on the same cores; its CPU is not
    // in the figure above, and the fork itself stalls Redis for a moment.
    std::cout << "redis: " << (redis1.forks - redis0.forks)
              << " forks (AOF rewrites) in the window, children "
              << Fmt(1e6 * (redis1.children_cpu_s - redis0.children_cpu_s) / sends, 1)
              << " us cpu/send\n";
    // What the window's sends keep in Redis (messages, inbox entries, acknowledgements, audit
    // records and their indexes; nothing expires within a run).
    if (redis0.used_memory >= 0 && redis1.used_memory >= 0) {
      std::cout << "redis: used_memory +"
                << Fmt(static_cast<double>(redis1.used_memory - redis0.used_memory) / 1048576, 1)
                << " MiB in the window, "
                << Fmt(static_cast<double>(redis1.used_memory - redis0.used_memory) / sends, 0)
                << " bytes/send\n";
    }
    // Every command, largest first, per send.
    std::vector<std::pair<int64_t, std::string>> items;
    for (const auto& [name, n] : redis1.by_command) {
      auto before = redis0.by_command.find(name);
      const int64_t d = n - (before == redis0.by_command.end() ? 0 : before->second);
      if (d > 0) items.emplace_back(d, name);
    }
    std::sort(items.rbegin(), items.rend());
    std::cout << "redis: commands/send by command:";
    for (size_t i = 0; i < items.size() && i < 32; ++i) {
      std::cout << " " << items[i].second << "="
                << Fmt(static_cast<double>(items[i].first) / sends, 2);
    }
    std::cout << "\n";
  }
  // RSS: each server's; the RESULT line carries the largest (a replica's own footprint).
  double rss_mib = -1;
  for (size_t r = 0; r < rss.size(); ++r) {
    const ResourceSampler& sampler = *rss[r];
    const double max_mib = sampler.max_kib > 0 ? static_cast<double>(sampler.max_kib) / 1024 : -1;
    rss_mib = std::max(rss_mib, max_mib);
    std::cout << "rss: server" << (rss.size() > 1 ? " " + std::to_string(r) : std::string())
              << " start=" << Fmt(static_cast<double>(sampler.first_kib) / 1024, 1)
              << " end=" << Fmt(static_cast<double>(sampler.last_kib) / 1024, 1)
              << " max=" << Fmt(max_mib, 1) << " MiB\n";
  }

  // Baseline: bare mTLS unary echo of the same payload size, same concurrency and driver.
  double baseline_per_s = 0;
  DriverResult echo;
  double echo_cpu_pct = -1;
  if (o.baseline) {
    if (!FileExists(o.echo_binary)) {
      Log("concord-echo-server not found at " + o.echo_binary);
      return 1;
    }
    // The messaging servers idle meanwhile; they keep their memory, so RSS is unaffected.
    if (!EnsurePki(o, stack.pki, {"server"}, pki_log) || !StartEcho(stack, o)) return 1;
    const std::string echo_target = "127.0.0.1:" + std::to_string(stack.echo_port);
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    std::vector<std::unique_ptr<grpc::GenericStub>> echo_stubs;
    for (auto& a : agencies) {
      channels.push_back(MakeChannel(echo_target, a.tls));
      channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                        std::chrono::seconds(10));
      echo_stubs.push_back(std::make_unique<grpc::GenericStub>(channels.back()));
    }
    concord::testing::v1::EchoRequest req;
    req.set_payload(std::string(static_cast<size_t>(o.body_bytes), 'x'));
    const std::string bytes = req.SerializeAsString();
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer echo_request(&slice, 1);
    const double bs = o.baseline_seconds > 0 ? o.baseline_seconds : o.seconds;
    DriverConfig ecfg;
    ecfg.method = "/concord.testing.v1.Echo/Echo";
    ecfg.concurrency = o.concurrency;
    ecfg.threads = o.driver_threads;
    ecfg.total = int64_t{1} << 40;
    const int64_t e0 = NowNs();
    ecfg.warmup_end_ns = e0 + static_cast<int64_t>(std::min(o.warmup_seconds, 2.0) * 1e9);
    ecfg.end_ns = ecfg.warmup_end_ns + static_cast<int64_t>(bs * 1e9);
    ecfg.request = [&](int64_t) -> const grpc::ByteBuffer& { return echo_request; };
    ecfg.stub = [&](int64_t k) { return echo_stubs[static_cast<size_t>(k % o.agencies)].get(); };
    double ecpu0 = -1;
    std::thread emark([&] {
      while (NowNs() < ecfg.warmup_end_ns)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ecpu0 = CpuSeconds(stack.echo_pid);
    });
    Log("baseline: mTLS echo for " + Fmt(bs, 0) + " s...");
    echo = RunDriver(ecfg);
    emark.join();
    const double ecpu = CpuSeconds(stack.echo_pid) - ecpu0;
    echo_cpu_pct = 100 * ecpu / echo.window_s;
    baseline_per_s = echo.window_s > 0 ? static_cast<double>(echo.ok_in_window) / echo.window_s : 0;
    std::cout << "baseline: " << Fmt(baseline_per_s, 0)
              << " echo/s  p50=" << Fmt(echo.latency.Ms(0.5))
              << " p99=" << Fmt(echo.latency.Ms(0.99)) << " ms  errors=" << echo.errors
              << " echo-server cpu=" << Fmt(echo_cpu_pct, 0) << "% ("
              << (echo.ok_in_window > 0
                      ? Fmt(1e6 * ecpu / static_cast<double>(echo.ok_in_window), 0)
                      : "-")
              << " us/call)\n";
  }
  const double ratio = baseline_per_s > 0 ? sends_per_s / baseline_per_s : 0;
  if (o.json) {
    std::cout << Json({{"sends_per_s", Fmt(sends_per_s, 1)},
                       {"send_ok", std::to_string(send.ok_total)},
                       {"send_errors", std::to_string(send.errors)},
                       {"p50_ms", Fmt(send.latency.Ms(0.5), 3)},
                       {"p90_ms", Fmt(send.latency.Ms(0.9), 3)},
                       {"p99_ms", Fmt(send.latency.Ms(0.99), 3)},
                       {"p999_ms", Fmt(send.latency.Ms(0.999), 3)},
                       {"delivery_p50_ms", Fmt(delivery.Ms(0.5), 3)},
                       {"delivery_p99_ms", Fmt(delivery.Ms(0.99), 3)},
                       {"delivery_p999_ms", Fmt(delivery.Ms(0.999), 3)},
                       {"server_cpu_pct", Fmt(server_cpu_pct, 1)},
                       {"rss_mib_max", Fmt(rss_mib, 1)},
                       {"baseline_per_s", Fmt(baseline_per_s, 1)},
                       {"ratio", Fmt(ratio, 3)}})
              << "\n";
  }
  std::cout << "RESULT scenario=messaging sends_per_s=" << Fmt(sends_per_s, 0)
            << " p50_ms=" << Fmt(send.latency.Ms(0.5)) << " p99_ms=" << Fmt(send.latency.Ms(0.99))
            << " delivery_p99_ms=" << Fmt(delivery.Ms(0.99))
            << " baseline_per_s=" << Fmt(baseline_per_s, 0) << " ratio=" << Fmt(ratio, 3)
            << " rss_mib=" << Fmt(rss_mib, 1) << " server_us_per_send="
            << (send.ok_in_window > 0 && server_cpu >= 0
                    ? Fmt(1e6 * server_cpu / static_cast<double>(send.ok_in_window), 0)
                    : "-")
            << " redis_us_per_send=" << Fmt(redis_us_per_send, 1)
            << " redis_cmds_per_send=" << Fmt(redis_cmds_per_send, 1)
            << (o.rate > 0 ? " rate=" + Fmt(o.rate, 0) : std::string())
            << (targets.size() > 1 ? " replicas=" + std::to_string(targets.size()) : std::string())
            << (undelivered > 0 ? " undelivered=" + std::to_string(undelivered) : std::string())
            << std::endl;
  if (o.keep_dir.empty()) {
    // Stop the children first (Stack's destructor), then remove the directory.
    stack.StopAll();
    // The work directory holds logs, Redis data and (without --pki) the PKI; --pki stays.
    RunAndWait({"/bin/rm", "-rf", stack.work}, "/dev/null", 60);
  } else {
    rmdir(tmpl);  // the unused temporary directory
  }
  if (undelivered > 0) return 4;
  return send.errors > 0 && fixed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// drain: subscribe as every recipient in the expect file and count the deliveries.

int RunDrain(const Options& o) {
  if (o.target.empty() || o.pki.empty() || o.expect_file.empty()) {
    Log("drain needs --target, --pki and --expect-file");
    return 2;
  }
  std::ifstream in(o.expect_file);
  if (!in) {
    Log("cannot read " + o.expect_file);
    return 2;
  }
  std::unordered_map<std::string, std::set<std::string>> expected;  // recipient -> ids
  std::set<std::string> ids;
  std::string line;
  int64_t lines = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    ++lines;
    const std::string id = line.substr(0, sp);
    ids.insert(id);
    std::istringstream rs(line.substr(sp + 1));
    std::string r;
    while (std::getline(rs, r, ',')) expected[r].insert(id);
  }
  int64_t expected_pairs = 0;
  for (auto& [r, s] : expected) expected_pairs += static_cast<int64_t>(s.size());
  Log("expect " + std::to_string(ids.size()) + " messages (" + std::to_string(lines) + " lines), " +
      std::to_string(expected_pairs) + " deliveries to " + std::to_string(expected.size()) +
      " agencies");

  std::vector<BenchAgency> agencies(expected.size());
  std::vector<BenchAgency*> list;
  size_t i = 0;
  for (auto& [key, unused] : expected) {
    const size_t slash = key.find('/');
    auto type = ParseAgencyType(key.substr(0, slash));
    if (slash == std::string::npos || !type ||
        !LoadAgency(o.pki, o.trust_domain, *type, key.substr(slash + 1), agencies[i])) {
      Log("unknown agency " + key);
      return 2;
    }
    agencies[i].channel = MakeChannel(o.target, agencies[i].tls);
    list.push_back(&agencies[i]);
    ++i;
  }
  Subscribers subs;
  StartSubscribers(subs, list, o.seconds + 30, "drain", nullptr, nullptr, 0, true,
                   std::chrono::milliseconds(o.ack_linger_ms));
  // Until every expected delivery arrived, then a quiet period to catch duplicates; bounded.
  const int64_t deadline = NowNs() + static_cast<int64_t>(o.seconds * 1e9);
  int64_t quiet_since = 0, last_count = -1;
  while (NowNs() < deadline) {
    const int64_t count = subs.delivered.load();
    if (count != last_count) {
      last_count = count;
      quiet_since = NowNs();
    }
    if (count >= expected_pairs &&
        NowNs() - quiet_since > static_cast<int64_t>(o.quiet_seconds * 1e9)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  StopSubscribers(subs);

  std::ofstream missing_out;
  if (!o.missing_file.empty()) missing_out.open(o.missing_file);
  int64_t raw = 0, unique_expected = 0, missing = 0, duplicates = 0, unexpected = 0,
          wrong_recipient = 0, redeliveries = 0;
  for (auto& s : subs.subs) {
    const std::set<std::string>& want = expected[s->agency->key];
    std::unordered_map<std::string, int> seen;
    for (const std::string& id : s->ids) ++seen[id];
    raw += static_cast<int64_t>(s->ids.size());
    redeliveries += s->redeliveries;
    for (auto& [id, count] : seen) {
      duplicates += count - 1;
      if (want.count(id)) {
        ++unique_expected;
      } else if (ids.count(id)) {
        ++wrong_recipient;  // an OK message delivered to an agency that is not its recipient
      } else {
        ++unexpected;  // a Send that did not return OK (e.g. cut by the kill) but was stored
      }
    }
    int64_t agency_missing = 0;
    for (const std::string& id : want) {
      if (seen.count(id)) continue;
      ++agency_missing;
      if (missing_out) missing_out << id << " " << s->agency->key << "\n";
    }
    missing += agency_missing;
    if (agency_missing > 0) {
      Log(s->agency->key + ": " + std::to_string(seen.size()) + " delivered, " +
          std::to_string(agency_missing) + " missing");
    }
  }
  std::cout << "drain: expected_deliveries=" << expected_pairs << " delivered_raw=" << raw
            << " delivered_unique_expected=" << unique_expected << " missing=" << missing
            << " duplicates=" << duplicates << " redeliveries=" << redeliveries
            << " not_in_expect_file=" << unexpected << " wrong_recipient=" << wrong_recipient
            << "\n";
  const bool pass = missing == 0 && wrong_recipient == 0 && unique_expected == expected_pairs;
  std::cout << "DRAIN " << (pass ? "PASS" : "FAIL") << " messages=" << ids.size()
            << " deliveries=" << unique_expected << "/" << expected_pairs
            << " exactly_once_after_dedup=" << (pass ? "yes" : "no") << std::endl;
  return pass ? 0 : 1;
}

std::string DefaultServerBinary() {
  const std::string self = SelfDir();
  for (const std::string& p :
       {self + "/../../exe/concord-server", std::string(CONCORD_BINARY_DIR) + "/exe/concord-server",
        self + "/concord-server"}) {
    if (FileExists(p)) return p;
  }
  return self + "/../../exe/concord-server";
}

void AddConnectionFlags(CLI::App* cmd, Options& o) {
  cmd->add_option("--target", o.target,
                  "host:port of a running Concord (default: start redis-server and "
                  "concord-server on free loopback ports)");
  cmd->add_option("--pki", o.pki,
                  "PKI directory made by scripts/pki.sh (missing agencies are added to it; "
                  "default: a fresh one in the work directory)");
  cmd->add_option("--pki-script", o.pki_script, "scripts/pki.sh")->capture_default_str();
  cmd->add_option("--ack-linger-ms", o.ack_linger_ms,
                  "subscribers acknowledge in batches of up to 256 ids, at most this long after "
                  "the first unacknowledged delivery (0: at once)")
      ->check(CLI::Range(0, 5000))
      ->capture_default_str();
  cmd->add_option("--trust-domain", o.trust_domain, "SPIFFE trust domain")->capture_default_str();
  cmd->add_option("--seconds", o.seconds,
                  "measured duration (messaging, after the warm-up); drain: how long to wait at "
                  "most")
      ->capture_default_str();
}

}  // namespace
}  // namespace concord::bench

int main(int argc, char** argv) {
  using concord::bench::Options;
  Options o;
  o.server_binary = concord::bench::DefaultServerBinary();
  o.echo_binary = concord::bench::SelfDir() + "/concord-echo-server";
  o.pki_script = std::string(CONCORD_SOURCE_DIR) + "/scripts/pki.sh";

  CLI::App app{
      "concord-bench: load generator for Concord messaging (docs/performance.md).\n"
      "Prints throughput, Send and delivery latency percentiles, server CPU and RSS, and a last "
      "line\n  RESULT scenario=messaging sends_per_s=... p50_ms=... p99_ms=... "
      "delivery_p99_ms=... baseline_per_s=... ratio=... rss_mib=...\n"
      "Exit status (messaging): 0 ok; 1 setup failed, or sends failed with --messages; 3 the "
      "watchdog; 4 accepted messages were not all delivered (RESULT then ends with "
      "undelivered=N)\n"
      "Standard run: concord-bench messaging --agencies 8 --recipients 3 --concurrency 32 "
      "--body-bytes 1024 --seconds 20 --baseline",
      "concord-bench"};
  app.require_subcommand(1);
  CLI::App* msg = app.add_subcommand("messaging", "drive Send + Subscribe and measure");
  concord::bench::AddConnectionFlags(msg, o);
  msg->add_option("--agencies", o.agencies, "sending and receiving agencies (A)")
      ->capture_default_str();
  msg->add_option("--recipients", o.recipients, "recipients per message (R < A)")
      ->capture_default_str();
  msg->add_option("--concurrency", o.concurrency, "outstanding Send calls (C)")
      ->capture_default_str();
  msg->add_option("--rate", o.rate,
                  "open loop: R Send calls per second at fixed intended times, started by one "
                  "pacer thread (latency measured from each one's intended send time; the "
                  "'send: start_lag' line says how late they started; --concurrency is then "
                  "unused); 0: closed loop with --concurrency calls outstanding")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  msg->add_option("--body-bytes", o.body_bytes, "plaintext body size (S)")->capture_default_str();
  msg->add_option("--warmup-seconds", o.warmup_seconds, "not measured, before --seconds")
      ->capture_default_str();
  msg->add_flag("--baseline", o.baseline,
                "also measure a bare mTLS gRPC unary echo of S bytes (concord-echo-server)");
  msg->add_option("--baseline-seconds", o.baseline_seconds,
                  "baseline duration (default --seconds)");
  msg->add_option("--messages", o.messages,
                  "send exactly N messages (no warm-up), --seconds is then a time limit");
  msg->add_option("--pool", o.pool,
                  "envelopes prepared before timing in --seconds mode (default 8000/s x "
                  "(warm-up + seconds)); the run stops early if they run out");
  msg->add_flag("--json", o.json, "also print the results as one JSON object");
  msg->add_option("--server-binary", o.server_binary, "concord-server to start")
      ->capture_default_str();
  msg->add_option("--echo-binary", o.echo_binary, "concord-echo-server for --baseline")
      ->capture_default_str();
  msg->add_option("--ed25519-backend", o.ed25519_backend,
                  "passed to the concord-server it starts (openssl|sodium; default: the "
                  "server's)");
  msg->add_option("--server-arg", o.server_args, "extra flag for the concord-server it starts");
  msg->add_option("--redis-arg", o.redis_args,
                  "extra flag for the redis-server it starts, after its defaults (e.g. "
                  "--redis-arg=--auto-aof-rewrite-min-size --redis-arg=1gb)");
  msg->add_option("--server-pid", o.server_pid, "with --target: sample this pid's CPU and RSS");
  msg->add_option("--replicas", o.replicas,
                  "own stack: start N concord-server replicas on the one redis-server; agency i "
                  "sends and subscribes through replica i mod N; server CPU is their sum, RSS "
                  "the largest")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  msg->add_option("--sent-file", o.sent_file,
                  "write '<id> <recipient>,...' for every Send that returned OK (for drain)");
  msg->add_flag("--retry", o.retry,
                "retry UNAVAILABLE/DEADLINE_EXCEEDED/ABORTED with the same envelope (idempotent "
                "by id) for up to 90 s per message");
  msg->add_option("--deadline-ms", o.deadline_ms, "deadline of each Send attempt")
      ->check(CLI::Range(1, 600000))
      ->capture_default_str();
  msg->add_flag("--no-subscribe", o.no_subscribe, "do not subscribe (deliveries left for drain)");
  msg->add_option("--driver-threads", o.driver_threads, "client CompletionQueue threads")
      ->capture_default_str();
  msg->add_option("--keep-dir", o.keep_dir, "work directory to keep (logs, Redis data)");
  msg->add_option("--trace", o.trace,
                  "write every measured Send and delivery to this file, one CSV line each: kind "
                  "(send or delivery), its (intended) send time in ms after the warm-up, its "
                  "latency in us; and print where the worst 1 % fall in time (lines tail: send "
                  "and tail: delivery: spread over many 100 ms windows, or held by a few: a "
                  "stall; docs/performance.md round 12)");
  msg->add_option("--max-seconds", o.max_seconds,
                  "watchdog: exit 3 after this long (default: auto)");

  CLI::App* drain = app.add_subcommand(
      "drain",
      "subscribe as every recipient of --expect-file; exit 0 iff every message was "
      "delivered to each of its recipients (counted once after de-duplication by id)");
  concord::bench::AddConnectionFlags(drain, o);
  drain->add_option("--expect-file", o.expect_file, "the --sent-file of a messaging run")
      ->required();
  drain
      ->add_option("--quiet-seconds", o.quiet_seconds,
                   "after the last expected delivery, wait this long for duplicates")
      ->capture_default_str();
  drain->add_option("--missing-file", o.missing_file,
                    "write '<id> <recipient>' for every expected delivery that did not arrive");
  // concord-bench guidelines (guidelines_bench.cc): distribution to N subscribed agencies.
  concord::bench::GuidelineBenchOptions guideline_options;
  guideline_options.server_binary = o.server_binary;
  guideline_options.redis_acl_script = std::string(CONCORD_SOURCE_DIR) + "/scripts/redis-acl.sh";
  CLI::App* guidelines = app.add_subcommand(
      "guidelines",
      "publish guidance to N subscribed agencies (own stack); prints RESULT scenario=guidelines "
      "agencies=N publish_to_last_delivery_ms=... p99_delivery_ms=... acks_per_s=... rss_mib=...");
  guidelines->add_option("--agencies", guideline_options.agencies, "subscribed agencies (N)")
      ->capture_default_str();
  guidelines->add_option("--rounds", guideline_options.rounds, "publications measured")
      ->capture_default_str();
  guidelines
      ->add_option("--server-binary", guideline_options.server_binary, "concord-server to start")
      ->capture_default_str();
  guidelines->add_option("--keep-dir", guideline_options.keep_dir, "work directory to keep (logs)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Watchdog: every run is bounded.
  double limit = o.max_seconds;
  if (limit <= 0) {
    limit = drain->parsed()        ? o.seconds + 120
            : guidelines->parsed() ? 900
                                   : 3 * (o.seconds + o.warmup_seconds) + o.baseline_seconds + 600;
  }
  std::thread([limit] {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(limit * 1000)));
    std::cerr << "concord-bench: watchdog: still running after " << limit << " s, giving up\n";
    std::_Exit(3);
  }).detach();
  signal(SIGPIPE, SIG_IGN);
  concord::PinTls12CipherSuites();
  if (drain->parsed()) return concord::bench::RunDrain(o);
  if (guidelines->parsed()) return concord::bench::RunGuidelines(guideline_options);
  return concord::bench::RunMessaging(o);
}
