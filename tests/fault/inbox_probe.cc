// File: tests/fault/inbox_probe.cc
//
// concord-inbox-probe: the bulk loader and the probe of the large-inbox test
// (tests/fault/large_inbox_test.sh, docs/reliability.md "Fault suite").
//
//   concord-inbox-probe load --redis-port P --redis-user U --redis-password-file F
//       --recipient magistrate/bench-001 --sender police/bench-000 --count 999000
//   concord-inbox-probe measure --target 127.0.0.1:G --pki DIR --redis-port P ...
//       --small police/bench-000 --big magistrate/bench-001
//
// `load` writes `count` messages into one inbox in exactly the stored form the messaging service
// writes (services/messaging/redis_message_store.h): the message hash (env = the stored canonical
// encoding, sha = hex SHA-256 of it, snd, acc, exp, e:<rkey>), the inbox stream entry {m, t, k},
// the expiry index, the inboxes set and the consumer group, over pipelined hiredis. The envelopes
// are one envelope built, sealed and signed by the agency library with throw-away keys, re-encoded
// under a new message id each: the service reads and serves them like any other (it never
// verifies a stored envelope again), an agency client would refuse their signatures.
//
// `measure` calls ListInbox (the newest page and the oldest page) and Ack (the newest page's ids)
// through the real server over mutual TLS, as the owner of each inbox, and reads Redis's
// `INFO commandstats` before and after each call (waiting until the counters are still, so the
// call's asynchronous audit chaining is counted too). Each measurement is taken `rounds` times;
// the smallest count is the call's (the server's own periodic work only ever adds). It fails
// (exit 1) unless every call on the big inbox costs the same number of Redis commands as on the
// small one (within a margin of 5) and at most a bound that depends on the page size only.
// Prints the counts, the median latencies and their ratio on "FIGURES" lines.
//
// Every loop is bounded in count and time.
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/messaging/message_crypto.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/crypto/x25519.h"
#include "common/envelope/envelope.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"
#include "common/identity/agency_id.h"
#include "common/redis/keys.h"
#include "common/tls/tls.h"
#include "concord/messaging/v1/messaging.grpc.pb.h"

namespace concord::inbox_probe {
namespace {

namespace v1 = ::concord::messaging::v1;
namespace client = ::concord::messaging::client;
using Clock = std::chrono::steady_clock;

struct Options {
  int redis_port = 0;
  std::string redis_user;
  std::string redis_password_file;
  std::string trust_domain = "concord.test";
  // load
  std::string recipient;
  std::string sender;
  int64_t count = 0;
  int body_bytes = 16;
  // measure
  std::string target;
  std::string pki;
  std::string small;
  std::string big;
  int page_size = 50;
  int rounds = 7;
};

void Log(const std::string& line) { std::cerr << "inbox-probe: " << line << std::endl; }

// ---------------------------------------------------------------------------------------------
// Redis (hiredis, one connection, authenticated as the given ACL user)

using RedisPtr = std::unique_ptr<redisContext, decltype(&redisFree)>;
using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

RedisPtr ConnectRedis(const Options& o) {
  RedisPtr c(redisConnect("127.0.0.1", o.redis_port), &redisFree);
  if (!c || c->err) {
    Log("cannot connect to Redis on port " + std::to_string(o.redis_port));
    return RedisPtr(nullptr, &redisFree);
  }
  std::ifstream in(o.redis_password_file);
  std::string password;
  std::getline(in, password);
  ReplyPtr r(static_cast<redisReply*>(
                 redisCommand(c.get(), "AUTH %s %s", o.redis_user.c_str(), password.c_str())),
             &freeReplyObject);
  if (!r || r->type == REDIS_REPLY_ERROR) {
    Log("Redis AUTH as " + o.redis_user + " failed");
    return RedisPtr(nullptr, &redisFree);
  }
  return c;
}

ReplyPtr Command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
                      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())),
                  &freeReplyObject);
}

// `INFO commandstats` as command -> calls ("info" itself left out: it is the probe's own).
bool CommandStats(redisContext* c, std::map<std::string, int64_t>& out) {
  out.clear();
  ReplyPtr r = Command(c, {"INFO", "commandstats"});
  if (!r || r->type != REDIS_REPLY_STRING) return false;
  for (absl::string_view line : absl::StrSplit(absl::string_view(r->str, r->len), '\n')) {
    // cmdstat_hmget:calls=12,usec=...
    if (!absl::StartsWith(line, "cmdstat_")) continue;
    const size_t colon = line.find(':');
    const size_t calls = line.find("calls=");
    if (colon == absl::string_view::npos || calls == absl::string_view::npos) continue;
    const std::string name(line.substr(8, colon - 8));
    if (name == "info") continue;
    const absl::string_view rest = line.substr(calls + 6);
    int64_t n = 0;
    if (!absl::SimpleAtoi(rest.substr(0, rest.find(',')), &n)) return false;
    out[name] = n;
  }
  return true;
}

// Waits (bounded: 3 s) until two readings 40 ms apart are equal; `out` is the last reading.
bool StillStats(redisContext* c, std::map<std::string, int64_t>& out) {
  std::map<std::string, int64_t> prev;
  if (!CommandStats(c, prev)) return false;
  for (int i = 0; i < 75; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    if (!CommandStats(c, out)) return false;
    if (out == prev) return true;
    prev = out;
  }
  return true;  // never still: the count is then an upper bound (the minimum over rounds wins)
}

// ---------------------------------------------------------------------------------------------
// load

::concord::common::v1::AgencyId ToProto(const AgencyId& a) {
  ::concord::common::v1::AgencyId out;
  envelope::AgencyToProto(a, out);
  return out;
}

int Load(const Options& o) {
  auto recipient = ParseAgencyKey(o.trust_domain, o.recipient);
  auto sender = ParseAgencyKey(o.trust_domain, o.sender);
  if (!recipient.ok() || !sender.ok()) {
    Log("bad --recipient or --sender (want <type>/<id>)");
    return 2;
  }
  RedisPtr redis = ConnectRedis(o);
  if (!redis) return 1;
  const auto started = Clock::now();

  // One envelope sealed and signed by the agency library (throw-away keys), the template.
  const crypto::X25519PrivateKey recipient_seal = crypto::X25519PrivateKey::Generate();
  client::SenderIdentity me{ToProto(*sender), crypto::Ed25519PrivateKey::Generate(),
                            crypto::X25519PrivateKey::Generate()};
  client::MessageDraft draft;
  draft.message_id = "bulkload-0000000000";
  draft.recipients.push_back({ToProto(*recipient), recipient_seal.PublicKey()});
  draft.thread_id = "bulk-thread";
  draft.case_reference = "BXL-2026-0001";
  draft.time_to_live = absl::Hours(24);
  draft.body = std::string(static_cast<size_t>(o.body_bytes), 'x');
  const absl::Time now = absl::Now();
  auto proto = client::BuildEnvelope(me, draft, now);
  if (!proto.ok()) {
    Log("BuildEnvelope: " + std::string(proto.status().message()));
    return 1;
  }
  auto env = envelope::EnvelopeFromProto(*proto);
  if (!env.ok()) {
    Log("EnvelopeFromProto: " + std::string(env.status().message()));
    return 1;
  }

  const std::string rkey = recipient->Key();
  const std::string inbox = redis::Key("msg", "inbox:" + rkey);
  const std::string kind(envelope::MessageKindName(env->kind));
  // Older than anything the real service adds later (its XADD * ids are "now-0" and above).
  const int64_t acc_ms = absl::ToUnixMillis(now) - 60'000;
  const std::string acc = absl::StrCat(acc_ms);
  const std::string exp = absl::StrCat(absl::ToUnixMillis(env->expires_at));
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"SADD", redis::Key("msg", "inboxes"), rkey},
        std::vector<std::string>{"XGROUP", "CREATE", inbox, "terminals", "0", "MKSTREAM"}}) {
    ReplyPtr r = Command(redis.get(), cmd);
    if (!r || (r->type == REDIS_REPLY_ERROR && std::string(r->str).find("BUSYGROUP") != 0)) {
      Log("Redis refused the inbox set-up");
      return 1;
    }
  }

  constexpr int64_t kBatch = 2000;  // messages per pipeline flush (3 commands each)
  size_t bytes = 0;
  for (int64_t first = 0; first < o.count; first += kBatch) {
    const int64_t last = std::min(o.count, first + kBatch);
    for (int64_t i = first; i < last; ++i) {
      char id[32];
      std::snprintf(id, sizeof(id), "bulkload-%010lld", static_cast<long long>(i));
      env->message_id = id;
      const std::string stored = envelope::EncodeStoredEnvelope(*env);
      bytes += stored.size();
      const auto digest = crypto::Sha256(stored);
      const std::string sha = crypto::HexEncode(
          std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
      const std::string eid = absl::StrCat(acc, "-", i + 1);
      const std::string key = redis::Key("msg", absl::StrCat("m:", id));
      const std::vector<std::vector<std::string>> cmds = {
          {"HSET", key, "env", stored, "sha", sha, "snd", sender->Key(), "acc", acc, "exp", exp,
           "e:" + rkey, eid},
          {"XADD", inbox, eid, "m", id, "t", draft.thread_id, "k", kind},
          {"ZADD", redis::Key("msg", "expiry"), exp, id}};
      for (const auto& cmd : cmds) {
        std::vector<const char*> argv;
        std::vector<size_t> lens;
        for (const std::string& a : cmd) {
          argv.push_back(a.data());
          lens.push_back(a.size());
        }
        if (redisAppendCommandArgv(redis.get(), static_cast<int>(cmd.size()), argv.data(),
                                   lens.data()) != REDIS_OK) {
          Log("pipeline append failed");
          return 1;
        }
      }
    }
    for (int64_t k = 0; k < 3 * (last - first); ++k) {
      void* raw = nullptr;
      if (redisGetReply(redis.get(), &raw) != REDIS_OK || raw == nullptr) {
        Log("pipeline reply failed");
        return 1;
      }
      ReplyPtr r(static_cast<redisReply*>(raw), &freeReplyObject);
      if (r->type == REDIS_REPLY_ERROR) {
        Log("Redis refused a loaded command: " + std::string(r->str));
        return 1;
      }
    }
  }
  ReplyPtr len = Command(redis.get(), {"XLEN", inbox});
  ReplyPtr mem = Command(redis.get(), {"INFO", "memory"});
  std::string rss = "?";
  if (mem && mem->type != REDIS_REPLY_ERROR) {
    for (absl::string_view line : absl::StrSplit(absl::string_view(mem->str, mem->len), '\n')) {
      if (absl::StartsWith(line, "used_memory_rss:")) {
        rss = std::string(absl::StripAsciiWhitespace(line.substr(16)));
      }
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::printf(
      "FIGURES inbox_load messages=%lld inbox_length=%lld envelope_bytes=%zu seconds=%.1f "
      "redis_rss_bytes=%s\n",
      static_cast<long long>(o.count), len ? static_cast<long long>(len->integer) : -1LL,
      o.count > 0 ? bytes / static_cast<size_t>(o.count) : 0, seconds, rss.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------
// measure

struct Inbox {
  std::string rkey;
  std::unique_ptr<v1::Messaging::Stub> stub;
  int64_t length = 0;
  std::string oldest_token;         // ListInbox from here returns the oldest page
  std::vector<std::string> newest;  // message ids of the newest page
};

struct Measurement {
  int64_t min_commands = -1;
  std::map<std::string, int64_t> breakdown;  // of the round with the fewest commands
  std::vector<double> ms;
  bool ok = true;
  std::string error;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Breakdown(const std::map<std::string, int64_t>& m) {
  std::string out;
  for (const auto& [name, n] : m) absl::StrAppend(&out, out.empty() ? "" : ",", name, "=", n);
  return out;
}

void AddMetadata(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ctx.AddMetadata("concord-officer", "inbox-probe");
  ctx.AddMetadata("concord-justification", "large inbox proof");
}

grpc::Status ListPage(Inbox& in, const std::string& token, int page_size,
                      v1::ListInboxResponse& resp) {
  grpc::ClientContext ctx;
  AddMetadata(ctx);
  v1::ListInboxRequest req;
  req.mutable_page()->set_page_size(page_size);
  req.mutable_page()->set_page_token(token);
  return in.stub->ListInbox(&ctx, req, &resp);
}

template <typename Call>
Measurement Measure(redisContext* redis, int rounds, Call call) {
  Measurement m;
  for (int round = 0; round < rounds; ++round) {
    std::map<std::string, int64_t> before, after;
    if (!StillStats(redis, before)) {
      m.ok = false;
      m.error = "INFO commandstats failed";
      return m;
    }
    const auto t0 = Clock::now();
    const grpc::Status st = call();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!st.ok()) {
      m.ok = false;
      m.error = absl::StrCat("gRPC code ", st.error_code(), ": ", st.error_message());
      return m;
    }
    if (!StillStats(redis, after)) {
      m.ok = false;
      m.error = "INFO commandstats failed";
      return m;
    }
    m.ms.push_back(ms);
    std::map<std::string, int64_t> delta;
    int64_t total = 0;
    for (const auto& [name, n] : after) {
      const auto it = before.find(name);
      const int64_t d = n - (it == before.end() ? 0 : it->second);
      if (d > 0) {
        delta[name] = d;
        total += d;
      }
    }
    if (m.min_commands < 0 || total < m.min_commands) {
      m.min_commands = total;
      m.breakdown = std::move(delta);
    }
  }
  return m;
}

int MeasureAll(const Options& o) {
  RedisPtr redis = ConnectRedis(o);
  if (!redis) return 1;
  std::vector<Inbox> inboxes(2);
  inboxes[0].rkey = o.small;
  inboxes[1].rkey = o.big;
  for (Inbox& in : inboxes) {
    const std::string dir = o.pki + "/agencies/" + in.rkey;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    in.stub = v1::Messaging::NewStub(grpc::CreateCustomChannel(
        o.target,
        MakeChannelCredentials(TlsFiles{dir + "/cert.pem", dir + "/key.pem", o.pki + "/ca.pem"}),
        args));
    const std::string stream = redis::Key("msg", "inbox:" + in.rkey);
    ReplyPtr len = Command(redis.get(), {"XLEN", stream});
    in.length = len ? len->integer : 0;
    // The (page + 1)-th oldest entry: a page token that gives the oldest page.
    ReplyPtr oldest =
        Command(redis.get(), {"XRANGE", stream, "-", "+", "COUNT", absl::StrCat(o.page_size + 1)});
    if (!oldest || oldest->type != REDIS_REPLY_ARRAY ||
        oldest->elements < static_cast<size_t>(o.page_size + 1)) {
      Log("inbox " + in.rkey + " holds fewer than page + 1 entries");
      return 1;
    }
    const redisReply* e = oldest->element[o.page_size];
    in.oldest_token.assign(e->element[0]->str, e->element[0]->len);
    v1::ListInboxResponse first;
    const grpc::Status st = ListPage(in, "", o.page_size, first);
    if (!st.ok() || first.entries_size() != o.page_size) {
      Log("ListInbox of " + in.rkey + " failed: " + st.error_message());
      return 1;
    }
    for (const v1::InboxEntry& entry : first.entries()) {
      in.newest.push_back(entry.envelope().message_id());
    }
  }

  // The bounds depend on the page size only. Measured (page 50): a page costs 3 x page + 28
  // commands (per entry HSTRLEN, HEXISTS, HMGET in one script; one XREVRANGE; the audit record
  // and its chaining), an ack of a page 6 x page + 24 (per id the inbox check, the ack mark and
  // its audit record).
  struct Op {
    std::string name;
    int64_t bound;  // commands
    std::function<grpc::Status(Inbox&)> call;
  };
  const int64_t page = o.page_size;
  std::vector<Op> ops = {
      {"list_newest_page", 4 * page + 64,
       [&](Inbox& in) {
         v1::ListInboxResponse resp;
         grpc::Status st = ListPage(in, "", o.page_size, resp);
         if (st.ok() && resp.entries_size() != o.page_size) {
           return grpc::Status(grpc::StatusCode::INTERNAL, "short page");
         }
         return st;
       }},
      {"list_oldest_page", 4 * page + 64,
       [&](Inbox& in) {
         v1::ListInboxResponse resp;
         grpc::Status st = ListPage(in, in.oldest_token, o.page_size, resp);
         if (st.ok() && (resp.entries_size() != o.page_size || !resp.next_page_token().empty())) {
           return grpc::Status(grpc::StatusCode::INTERNAL, "not the last page");
         }
         return st;
       }},
      {"ack_page", 8 * page + 64,
       [&](Inbox& in) {
         grpc::ClientContext ctx;
         AddMetadata(ctx);
         v1::AckRequest req;
         for (const std::string& id : in.newest) req.add_message_ids(id);
         v1::AckResponse resp;
         return in.stub->Ack(&ctx, req, &resp);
       }},
  };

  int failures = 0;
  std::string figures;
  for (Op& op : ops) {
    Measurement m[2];
    for (int i = 0; i < 2; ++i) {
      m[i] = Measure(redis.get(), o.rounds, [&] { return op.call(inboxes[i]); });
      if (!m[i].ok) {
        Log(op.name + " on " + inboxes[i].rkey + ": " + m[i].error);
        return 1;
      }
      std::printf("%s inbox=%s length=%lld redis_commands=%lld {%s} median_ms=%.2f\n",
                  op.name.c_str(), inboxes[i].rkey.c_str(),
                  static_cast<long long>(inboxes[i].length),
                  static_cast<long long>(m[i].min_commands), Breakdown(m[i].breakdown).c_str(),
                  Median(m[i].ms));
    }
    const double ratio = Median(m[0].ms) > 0 ? Median(m[1].ms) / Median(m[0].ms) : 0;
    if (m[1].min_commands > m[0].min_commands + 5) {
      std::printf(
          "FAIL: %s costs %lld Redis commands on the %lld-message inbox, %lld on the "
          "%lld-message one: it grows with the inbox\n",
          op.name.c_str(), static_cast<long long>(m[1].min_commands),
          static_cast<long long>(inboxes[1].length), static_cast<long long>(m[0].min_commands),
          static_cast<long long>(inboxes[0].length));
      ++failures;
    }
    for (int i = 0; i < 2; ++i) {
      if (m[i].min_commands > op.bound) {
        std::printf("FAIL: %s costs %lld Redis commands on %s, above the bound %lld (page %d)\n",
                    op.name.c_str(), static_cast<long long>(m[i].min_commands),
                    inboxes[i].rkey.c_str(), static_cast<long long>(op.bound), o.page_size);
        ++failures;
      }
    }
    absl::StrAppend(&figures, " ", op.name, "_commands=", m[0].min_commands, "/", m[1].min_commands,
                    " ", op.name, "_ms=", absl::StrFormat("%.2f", Median(m[0].ms)), "/",
                    absl::StrFormat("%.2f", Median(m[1].ms)), " ", op.name,
                    "_latency_ratio=", absl::StrFormat("%.2f", ratio));
  }
  std::printf("FIGURES large_inbox small=%lld big=%lld page=%d rounds=%d%s\n",
              static_cast<long long>(inboxes[0].length), static_cast<long long>(inboxes[1].length),
              o.page_size, o.rounds, figures.c_str());
  std::fflush(stdout);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace concord::inbox_probe

int main(int argc, char** argv) {
  using concord::inbox_probe::Options;
  Options o;
  CLI::App app{"concord-inbox-probe: bulk-load one inbox, then measure a page and an ack"};
  app.require_subcommand(1);
  auto redis_flags = [&o](CLI::App* cmd) {
    cmd->add_option("--redis-port", o.redis_port, "Redis on 127.0.0.1")->required();
    cmd->add_option("--redis-user", o.redis_user, "Redis ACL user")->required();
    cmd->add_option("--redis-password-file", o.redis_password_file, "its password")->required();
    cmd->add_option("--trust-domain", o.trust_domain, "SPIFFE trust domain")->capture_default_str();
  };
  CLI::App* load = app.add_subcommand("load", "write COUNT messages into one inbox");
  redis_flags(load);
  load->add_option("--recipient", o.recipient, "<type>/<id> of the inbox")->required();
  load->add_option("--sender", o.sender, "<type>/<id> named as the sender")->required();
  load->add_option("--count", o.count, "messages")->required()->check(CLI::Range(1, 5'000'000));
  load->add_option("--body-bytes", o.body_bytes, "plaintext body size")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  CLI::App* measure = app.add_subcommand("measure", "Redis commands and latency of a page, an ack");
  redis_flags(measure);
  measure->add_option("--target", o.target, "concord-server host:port")->required();
  measure->add_option("--pki", o.pki, "PKI directory (scripts/pki.sh)")->required();
  measure->add_option("--small", o.small, "<type>/<id> owning the small inbox")->required();
  measure->add_option("--big", o.big, "<type>/<id> owning the big inbox")->required();
  measure->add_option("--page-size", o.page_size, "page size")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  measure->add_option("--rounds", o.rounds, "measurements per call and inbox (the fewest counts)")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  CLI11_PARSE(app, argc, argv);
  if (load->parsed()) return concord::inbox_probe::Load(o);
  return concord::inbox_probe::MeasureAll(o);
}
