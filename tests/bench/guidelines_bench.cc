// File: tests/bench/guidelines_bench.cc
//
// concord-bench guidelines: distribution of guidance to many connected agencies
// (docs/performance.md "Guidelines"; never a timed CI test).
//
//   concord-bench guidelines --agencies 1000 [--rounds 3] [--keep-dir DIR]
//
// Starts its own stack on free loopback ports: redis-server, and the real concord-server with a
// PKI made in this process (tests/support TestPki: 1,000 agency certificates in seconds, where
// scripts/pki.sh would take minutes). Registers N police agencies and a coordination unit through
// the Directory API, opens one Subscribe stream per agency, each over its own mTLS connection
// (client callback API: no thread per stream here either), waits until the server reports N open
// guideline streams, then per round: the coordination unit signs and publishes a new guideline
// addressed to the police (t0 = just before Publish), and every stream's arrival time of that
// version is recorded; once all N have it, every agency acknowledges it (64 at a time). Prints
//   RESULT scenario=guidelines agencies=N publish_to_last_delivery_ms=... p99_delivery_ms=...
//          acks_per_s=... rss_mib=...
// publish_to_last_delivery_ms is the worst round, p99 over every delivery of every round,
// acks_per_s the median round, rss_mib the server's resident memory with the N streams open.
// Every wait is bounded; a watchdog ends the process.
#include "tests/bench/guidelines_bench.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "client/guidelines/guidelines_client.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"
#include "common/crypto/x25519.h"
#include "common/guideline/guideline.h"
#include "common/guideline/guideline_proto.h"
#include "common/tls/tls.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/guidelines/v1/guidelines.grpc.pb.h"
#include "tests/bench/bench_process.h"
#include "tests/support/test_pki.h"

namespace concord::bench {
namespace {

namespace gv1 = ::concord::guidelines::v1;
namespace dv1 = ::concord::directory::v1;
constexpr char kTd[] = "concord.test";

void Log(const std::string& line) { std::cerr << "bench guidelines: " << line << std::endl; }

std::string Fmt(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

bool WaitForLine(const std::string& file, const std::string& needle, pid_t pid, double seconds,
                 std::string* line_out) {
  return WaitFor(
             [&] {
               std::istringstream in(ReadFileOrEmpty(file));
               std::string line;
               while (std::getline(in, line)) {
                 if (line.find(needle) != std::string::npos) {
                   if (line_out != nullptr) *line_out = line;
                   return true;
                 }
               }
               return pid > 0 && !Alive(pid);
             },
             absl::Seconds(seconds)) &&
         (pid <= 0 || Alive(pid));
}

std::string JsonField(const std::string& line, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const size_t at = line.find(key);
  if (at == std::string::npos) return "";
  const size_t end = line.find('"', at + key.size());
  return line.substr(at + key.size(), end - at - key.size());
}

std::shared_ptr<grpc::Channel> Channel(const std::string& target, const TlsFiles& tls) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
  return grpc::CreateCustomChannel(target, MakeChannelCredentials(tls), args);
}

// The stack this run starts.
struct Stack {
  pid_t redis_pid = -1;
  pid_t server_pid = -1;
  int grpc_port = 0;
  int metrics_port = 0;
  ~Stack() {
    Stop(server_pid, SIGTERM, 20000);
    Stop(redis_pid, SIGTERM, 10000);
  }
};

// One agency's stream (client callback API): records when each guideline first arrives.
class Subscription final : public grpc::ClientReadReactor<gv1::GuidelineEvent> {
 public:
  explicit Subscription(gv1::Guidelines::Stub* stub) {
    ctx_.set_deadline(absl::ToChronoTime(absl::Now() + absl::Hours(2)));
    stub->async()->Subscribe(&ctx_, &req_, this);
    StartRead(&event_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      arrivals_.emplace(event_.version().guideline_id(), absl::Now());
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    status_ = s;
    cv_.notify_all();
  }
  std::optional<absl::Time> ArrivalOf(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = arrivals_.find(id);
    if (it == arrivals_.end()) return std::nullopt;
    return it->second;
  }
  void Cancel() { ctx_.TryCancel(); }
  bool WaitDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
  }

 private:
  grpc::ClientContext ctx_;
  gv1::SubscribeRequest req_;
  gv1::GuidelineEvent event_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, absl::Time> arrivals_;
  bool done_ = false;
  grpc::Status status_;
};

struct Agency {
  AgencyId id;
  ::concord::testing::CertFiles cert;
  crypto::Ed25519PrivateKey signing = crypto::Ed25519PrivateKey::Generate();
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<gv1::Guidelines::Stub> stub;
};

double OpenGuidelineStreams(int metrics_port) {
  // The server's own gauge, over plain HTTP (curl is a dependency of the test suite already).
  const std::string cmd = "curl -fsS http://127.0.0.1:" + std::to_string(metrics_port) +
                          "/metrics 2>/dev/null | grep '^concord_guideline_subscriptions '";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[256] = {};
  const size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  pclose(p);
  const std::string line(buf, n);
  const size_t space = line.find(' ');
  return space == std::string::npos ? -1 : std::atof(line.c_str() + space + 1);
}

}  // namespace

int RunGuidelines(const GuidelineBenchOptions& o) {
  if (o.agencies < 1 || o.agencies > 5000 || o.rounds < 1 || o.rounds > 20) {
    Log("--agencies 1..5000, --rounds 1..20");
    return 1;
  }
  ::concord::testing::TestPki pki(kTd);
  std::string work = o.keep_dir;
  if (work.empty()) {
    char tmpl[] = "/tmp/concord-bench-guidelines.XXXXXX";
    work = mkdtemp(tmpl);
  } else {
    mkdir(work.c_str(), 0700);
  }
  // Server identity, audit keys.
  const ::concord::testing::CertFiles server_cert = pki.ServerCert();
  const std::string audit_key = work + "/audit.key";
  const std::string audit_sign = work + "/audit-sign.key";
  {
    std::ofstream(audit_key) << crypto::HexEncode(crypto::Ed25519PrivateKey::Generate().Raw());
    std::ofstream(audit_sign) << crypto::Ed25519PrivateKey::Generate().ToPem();
  }
  Stack stack;
  // Redis with the shipped ACL file (one user per workload), rendered with fresh passwords as
  // up.sh does; the server logs each module in with its own.
  if (RunAndWait({"/bin/bash", o.redis_acl_script, "--secrets", work + "/redis-secrets", "--out",
                  work + "/users.acl"},
                 work + "/redis-acl.log", 60) != 0) {
    Log("redis-acl.sh failed (see " + work + "/redis-acl.log)");
    return 2;
  }
  const int redis_port = FreeLoopbackPort();
  stack.redis_pid =
      Spawn({"/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", std::to_string(redis_port),
             "--save", "", "--appendonly", "no", "--dir", work, "--aclfile", work + "/users.acl"},
            work + "/redis.log");
  if (!WaitForLine(work + "/redis.log", "Ready to accept connections", stack.redis_pid, 10,
                   nullptr)) {
    Log("redis-server did not start");
    return 2;
  }
  // concord-server.
  const std::string server_log = work + "/server.log";
  std::vector<std::string> server_argv = {
      o.server_binary, "--listen-address", "127.0.0.1:0", "--health-address", "127.0.0.1:0",
      "--metrics-address", "127.0.0.1:0", "--tls-cert", server_cert.cert_file, "--tls-key",
      server_cert.key_file, "--tls-ca", server_cert.ca_file, "--trust-domain", kTd, "--redis-host",
      "127.0.0.1", "--redis-port", std::to_string(redis_port), "--audit-key-file", audit_key,
      "--audit-signing-key-file", audit_sign,
      // admin/ops registers the bench agencies (directory
      // administration on the empty directory,
      // docs/security.md "Bootstrap").
      "--bootstrap-directory-admins", "admin/ops"};
  // Each module logs in as its own Redis user (password files rendered above).
  for (const char* w : {"directory", "audit", "messaging", "referrals", "guidelines", "liaison"}) {
    server_argv.push_back(std::string("--redis-") + w + "-password-file");
    server_argv.push_back(work + "/redis-secrets/concord-" + w + ".password");
  }
  stack.server_pid = Spawn(server_argv, server_log);
  std::string started;
  if (!WaitForLine(server_log, "\"server.started\"", stack.server_pid, 60, &started)) {
    Log("concord-server did not start: " + ReadFileOrEmpty(server_log));
    return 2;
  }
  stack.grpc_port = std::stoi(JsonField(started, "grpc_port"));
  stack.metrics_port = std::stoi(JsonField(started, "metrics_port"));
  const std::string target = "127.0.0.1:" + std::to_string(stack.grpc_port);

  // Agencies: certificates made here, registered through the Directory API as admin/ops.
  Log("registering " + std::to_string(o.agencies) + " police agencies and a coordination unit");
  const absl::Time setup_start = absl::Now();
  auto admin =
      dv1::Directory::NewStub(Channel(target, pki.AgencyCert(AgencyType::kAdmin, "ops").tls()));
  auto register_agency = [&](Agency& a) -> bool {
    dv1::RegisterAgencyRequest req;
    dv1::AgencySpec* spec = req.mutable_agency();
    guideline::AgencyToProto(a.id, *spec->mutable_id());
    spec->set_display_name("Benchmark " + a.id.Key());
    spec->set_jurisdiction("BE");
    spec->set_signing_public_key_pem(a.signing.PublicKey().ToPem());
    spec->set_sealing_public_key_pem(crypto::X25519PrivateKey::Generate().PublicKey().ToPem());
    for (int attempt = 0; attempt < 100; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      ctx.AddMetadata("concord-officer", "bench");
      ctx.AddMetadata("concord-justification", "benchmark agencies");
      dv1::RegisterAgencyResponse resp;
      const grpc::Status st = admin->RegisterAgency(&ctx, req, &resp);
      if (st.ok() || st.error_code() == grpc::StatusCode::ALREADY_EXISTS) return true;
      if (st.error_code() != grpc::StatusCode::UNAVAILABLE) {
        Log("RegisterAgency " + a.id.Key() + ": " + st.error_message());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  Agency icu;
  icu.id = AgencyId{kTd, AgencyType::kCoordinationUnit, "icu-bench"};
  icu.cert = pki.AgencyCert(icu.id.type, icu.id.id);
  if (!register_agency(icu)) return 2;
  std::vector<Agency> agencies(static_cast<size_t>(o.agencies));
  for (int i = 0; i < o.agencies; ++i) {
    char id[32];
    std::snprintf(id, sizeof(id), "pz-bench-%04d", i);
    agencies[i].id = AgencyId{kTd, AgencyType::kPolice, id};
    agencies[i].cert = pki.AgencyCert(AgencyType::kPolice, id);
    if (!register_agency(agencies[i])) return 2;
  }
  Log("registered in " +
      absl::FormatDuration(absl::Trunc(absl::Now() - setup_start, absl::Milliseconds(1))));

  // One stream per agency, each over its own connection.
  const absl::Time connect_start = absl::Now();
  std::vector<std::unique_ptr<Subscription>> streams;
  for (Agency& a : agencies) {
    a.channel = Channel(target, a.cert.tls());
    a.stub = gv1::Guidelines::NewStub(a.channel);
    streams.push_back(std::make_unique<Subscription>(a.stub.get()));
  }
  if (!WaitFor([&] { return OpenGuidelineStreams(stack.metrics_port) >= o.agencies; },
               absl::Seconds(180))) {
    Log("the server does not report " + std::to_string(o.agencies) + " open streams (" +
        Fmt(OpenGuidelineStreams(stack.metrics_port), 0) + ")");
    return 2;
  }
  Log(std::to_string(o.agencies) + " streams open in " +
      absl::FormatDuration(absl::Trunc(absl::Now() - connect_start, absl::Milliseconds(1))));
  const double rss_mib = static_cast<double>(RssKib(stack.server_pid)) / 1024.0;

  guidelines::client::GuidelinesClient publisher(
      Channel(target, icu.cert.tls()),
      {.deadline = absl::Seconds(30), .officer = "bench", .justification = ""});
  std::vector<double> all_ms;
  double worst_last_ms = 0;
  std::vector<double> acks_per_s;
  for (int round = 0; round < o.rounds; ++round) {
    const std::string gid = "bench-round-" + std::to_string(round);
    guideline::Version v;
    v.guideline_id = gid;
    v.version = 1;
    v.publisher = icu.id;
    v.effective_at = absl::Now() - absl::Seconds(1);
    v.ack_deadline = v.effective_at + absl::Hours(24 * 30);
    v.topics = {"definition"};
    v.audience.types = {AgencyType::kPolice};
    v.contents = {{"fr", "Ligne directrice de mesure " + std::to_string(round),
                   std::string(2000, 'x') + "\n"},
                  {"nl", "Meetrichtlijn " + std::to_string(round), std::string(2000, 'y') + "\n"}};
    StatusOr<guideline::SignedVersion> signed_version = guideline::SignVersion(v, icu.signing);
    if (!signed_version.ok()) return 2;
    const absl::Time t0 = absl::Now();
    StatusOr<gv1::PublishResponse> published = publisher.Publish(*signed_version);
    if (!published.ok()) {
      Log("Publish: " + std::string(published.status().message()));
      return 2;
    }
    if (!WaitFor(
            [&] {
              for (auto& s : streams) {
                if (!s->ArrivalOf(gid).has_value()) return false;
              }
              return true;
            },
            absl::Seconds(60))) {
      Log("round " + std::to_string(round) + ": not every stream received the version in 60 s");
      return 2;
    }
    double last_ms = 0;
    for (auto& s : streams) {
      const double ms = absl::ToDoubleMilliseconds(*s->ArrivalOf(gid) - t0);
      all_ms.push_back(ms);
      last_ms = std::max(last_ms, ms);
    }
    worst_last_ms = std::max(worst_last_ms, last_ms);

    // Every agency acknowledges, 64 calls at a time over the agencies' own connections.
    std::atomic<size_t> next{0};
    std::atomic<int> failed{0};
    const absl::Time ack_start = absl::Now();
    std::vector<std::thread> workers;
    for (int w = 0; w < 64; ++w) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < agencies.size(); i = next++) {
          grpc::ClientContext ctx;
          ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
          ctx.AddMetadata("concord-officer", "bench");
          gv1::AcknowledgeRequest req;
          req.set_guideline_id(gid);
          req.set_version(1);
          req.set_sha256(published->sha256());
          gv1::AcknowledgeResponse resp;
          if (!agencies[i].stub->Acknowledge(&ctx, req, &resp).ok()) ++failed;
        }
      });
    }
    for (std::thread& t : workers) t.join();
    const double ack_s = absl::ToDoubleSeconds(absl::Now() - ack_start);
    if (failed.load() > 0) Log(std::to_string(failed.load()) + " acknowledgements failed");
    acks_per_s.push_back(static_cast<double>(agencies.size() - failed.load()) / ack_s);
    Log("round " + std::to_string(round) + ": last delivery " + Fmt(last_ms) + " ms after " +
        "Publish; acknowledgements " + Fmt(acks_per_s.back(), 0) + "/s");
  }
  std::sort(all_ms.begin(), all_ms.end());
  const size_t p99 =
      std::min(all_ms.size() - 1, static_cast<size_t>(std::ceil(0.99 * all_ms.size())) - 1);
  std::sort(acks_per_s.begin(), acks_per_s.end());
  for (auto& s : streams) s->Cancel();
  for (auto& s : streams) s->WaitDone(absl::Seconds(10));
  std::cout << "RESULT scenario=guidelines agencies=" << o.agencies
            << " publish_to_last_delivery_ms=" << Fmt(worst_last_ms)
            << " p99_delivery_ms=" << Fmt(all_ms[p99])
            << " acks_per_s=" << Fmt(acks_per_s[acks_per_s.size() / 2], 0)
            << " rss_mib=" << Fmt(rss_mib) << std::endl;
  return 0;
}

}  // namespace concord::bench
