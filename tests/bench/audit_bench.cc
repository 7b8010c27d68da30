// File: tests/bench/audit_bench.cc
//
// The CPU cost of one audit record on its way from a handler to the chain (docs/performance.md,
// round 9c): sealing an intake entry (every audited call, in the workload), opening it and
// sealing it as a chained record (the audit service's ingester), and a whole ingest of N records
// against a real redis-server (its Redis CPU per record as the counter `redis_us_per_record`).
// The `/reference` variants compose the same steps as the code before round 9c did (the AEAD
// scheduling the key on every call), so that one run gives the ratio of the two.
// Run: concord-audit-bench --benchmark_min_time=0.3   (never timed in CI; needs redis-server)
#include <benchmark/benchmark.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/audit/intake_audit_sink.h"
#include "common/crypto/aead.h"
#include "common/redis/redis_client.h"
#include "common/time/clock.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/redis_audit_store.h"
#include "tests/support/redis_server.h"

namespace concord::audit {
namespace {

constexpr std::string_view kWorkload = "messaging";

const AuditKey& Key() {
  static const AuditKey* const key = new AuditKey(*AuditKey::FromBytes(std::string(32, 'b')));
  return *key;
}

// A Send record as messaging writes it (sizes as in the standard run); `i` makes its object (a
// message) unique, as in the standard run.
AuditEvent SendEvent(int64_t i = 0) {
  return AuditEvent{.agency = AgencyId{"concord.example", AgencyType::kPolice, "agency-3"},
                    .officer = "officer-1234",
                    .operation = Operation::kDisclosure,
                    .object = absl::StrCat("message:0b7f9a4c-5d1e-4f7a-9c1b-", 100000000000 + i),
                    .method = "/concord.messaging.v1.Messaging/Send",
                    .justification = "benchmark agencies",
                    .recipients = {"magistrate/agency-5", "ngo/agency-6", "police/agency-7"},
                    .outcome = "OK",
                    .time = absl::FromUnixSeconds(1'800'000'000)};
}

// ---- The steps, as before round 9c (reference) and as now ------------------------------------

void BM_SealIntakeEntry(benchmark::State& state, bool reference) {
  const AuditEvent event = SendEvent();
  for (auto _ : state) {
    StatusOr<std::string> entry;
    if (reference) {
      auto plaintext = EncodeIntakeEvent(event);
      entry = crypto::AeadSeal(Key().bytes(), *plaintext, IntakeAad(kWorkload));
    } else {
      entry = SealIntakeEntry(Key(), kWorkload, event);
    }
    benchmark::DoNotOptimize(entry);
    if (!entry.ok()) state.SkipWithError("seal failed");
  }
}
BENCHMARK_CAPTURE(BM_SealIntakeEntry, reference, true);
BENCHMARK_CAPTURE(BM_SealIntakeEntry, now, false);

void BM_OpenIntakeEntry(benchmark::State& state, bool reference) {
  const std::string entry = *SealIntakeEntry(Key(), kWorkload, SendEvent());
  for (auto _ : state) {
    StatusOr<AuditEvent> event;
    if (reference) {
      auto plaintext = crypto::AeadOpen(Key().bytes(), entry, IntakeAad(kWorkload));
      event = DecodeIntakeEvent(*plaintext);
    } else {
      event = OpenIntakeEntry(Key(), kWorkload, entry);
    }
    benchmark::DoNotOptimize(event);
    if (!event.ok()) state.SkipWithError("open failed");
  }
}
BENCHMARK_CAPTURE(BM_OpenIntakeEntry, reference, true);
BENCHMARK_CAPTURE(BM_OpenIntakeEntry, now, false);

// Chaining one record: seal it as record n after the previous hash, and its stored form.
void BM_ChainRecord(benchmark::State& state, bool reference) {
  const AuditEvent event = SendEvent();
  std::string prev = GenesisHash();
  uint64_t seq = 0;
  for (auto _ : state) {
    ++seq;
    std::string stored;
    if (reference) {
      auto plaintext = EncodeEvent(seq, event, kWorkload);
      StoredRecord r;
      r.sealed = *crypto::AeadSeal(Key().bytes(), *plaintext, RecordAad(seq));
      r.prev_hash = prev;
      r.hash = ChainHash(prev, seq, r.sealed);
      stored = r.Encode();
      prev = std::move(r.hash);
    } else {
      auto r = SealRecord(Key(), seq, prev, event, kWorkload);
      if (!r.ok()) state.SkipWithError("seal failed");
      stored = r->Encode();
      prev = std::move(r->hash);
    }
    benchmark::DoNotOptimize(stored);
  }
}
BENCHMARK_CAPTURE(BM_ChainRecord, reference, true);
BENCHMARK_CAPTURE(BM_ChainRecord, now, false);

// ---- Against a real redis-server -------------------------------------------------------------

struct RedisRig {
  std::unique_ptr<testing::RedisServer> server = testing::RedisServer::Start({});
  std::unique_ptr<redis::RedisClient> admin = redis::RedisClient::Create(server->admin_config());
  std::unique_ptr<redis::RedisClient> workload =
      redis::RedisClient::Create(server->config(std::string(kWorkload)));
  std::unique_ptr<redis::RedisClient> audit = redis::RedisClient::Create(server->config("audit"));
  IntakeAuditSink sink{*workload, Key(), SystemClock::Get(), std::string(kWorkload)};
  RedisAuditStore store{*audit};
  AuditIngester ingester{
      store, Key(), SystemClock::Get(), nullptr,
      IngesterOptions{
          .workloads = {std::string(kWorkload)}, .trust_domain = "concord.example", .batch = 256}};

  // used_cpu_sys + used_cpu_user of the Redis process, in microseconds.
  double RedisCpuMicros() {
    auto info = admin->Command({"INFO", "cpu"});
    if (!info.ok()) return 0;
    std::istringstream in(info->str);
    double total = 0;
    for (std::string line; std::getline(in, line);) {
      for (std::string_view name : {"used_cpu_sys:", "used_cpu_user:"}) {
        if (line.rfind(name, 0) == 0) total += std::stod(line.substr(name.size())) * 1e6;
      }
    }
    return total;
  }
};

RedisRig& Rig() {
  static RedisRig* const rig = new RedisRig();  // lives until exit (redis-server stopped then)
  return *rig;
}

// `n` records about `n` messages never audited before in this process.
std::vector<AuditEvent> Events(size_t n) {
  static int64_t next = 0;
  std::vector<AuditEvent> events;
  for (size_t i = 0; i < n; ++i) events.push_back(SendEvent(next++));
  return events;
}

// The workload's side: N records sealed and appended in one RPUSH (AppendAll).
void BM_SinkAppend(benchmark::State& state) {
  RedisRig& rig = Rig();
  const std::vector<AuditEvent> events = Events(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    if (!rig.sink.AppendAll(events).ok()) state.SkipWithError("append failed");
    state.PauseTiming();
    (void)rig.admin->Command({"DEL", IntakeKey(kWorkload)});
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_SinkAppend)->Arg(1)->Arg(32)->Arg(256)->UseRealTime();

// The audit service's side: one IngestPending of N pending records (read, open, chain, seal,
// append script), server and Redis CPU per record.
void BM_Ingest(benchmark::State& state) {
  RedisRig& rig = Rig();
  const size_t n = static_cast<size_t>(state.range(0));
  double redis_us = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (!rig.sink.AppendAll(Events(n)).ok()) state.SkipWithError("append failed");
    const double before = rig.RedisCpuMicros();
    state.ResumeTiming();
    auto chained = rig.ingester.IngestPending();
    state.PauseTiming();
    redis_us += rig.RedisCpuMicros() - before;
    if (!chained.ok() || *chained != n) state.SkipWithError("ingest failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.counters["redis_us_per_record"] =
      redis_us / static_cast<double>(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_Ingest)->Arg(1)->Arg(32)->Arg(256)->Iterations(200)->UseRealTime();

}  // namespace
}  // namespace concord::audit

BENCHMARK_MAIN();
