// File: tests/bench/crypto_bench.cc
//
// Micro-benchmarks for concord_crypto: Ed25519 sign/verify on both backends (the messaging
// service picks its backend from these numbers), Seal of 1 KiB to 3 recipients, and Open;
// AES-256-GCM of an audit record with and without a reused key schedule (AeadKey).
// Run: concord-crypto-bench --benchmark_min_time=0.2   (never timed in CI)
#include <benchmark/benchmark.h>

#include <string>

#include "common/crypto/aead.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/seal.h"

namespace concord::crypto {
namespace {

// Roughly an envelope's canonical encoding.
const std::string& Message() {
  static const std::string* const m = new std::string(256, 'm');
  return *m;
}

void BM_Ed25519Sign(benchmark::State& state, Ed25519Backend backend) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  for (auto _ : state) {
    auto sig = key.Sign(Message(), backend);
    benchmark::DoNotOptimize(sig);
  }
  state.SetLabel(std::string(Ed25519BackendName(backend)));
}

void BM_Ed25519Verify(benchmark::State& state, Ed25519Backend backend) {
  const Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  const Ed25519PublicKey pub = key.PublicKey();
  const std::string sig = *key.Sign(Message(), backend);
  for (auto _ : state) {
    bool ok = pub.Verify(Message(), sig, backend);
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("verification failed");
  }
  state.SetLabel(std::string(Ed25519BackendName(backend)));
}

BENCHMARK_CAPTURE(BM_Ed25519Sign, openssl, Ed25519Backend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Ed25519Sign, sodium, Ed25519Backend::kSodium);
BENCHMARK_CAPTURE(BM_Ed25519Verify, openssl, Ed25519Backend::kOpenSsl);
BENCHMARK_CAPTURE(BM_Ed25519Verify, sodium, Ed25519Backend::kSodium);

struct ThreeRecipients {
  X25519PrivateKey a = X25519PrivateKey::Generate();
  X25519PrivateKey b = X25519PrivateKey::Generate();
  X25519PrivateKey c = X25519PrivateKey::Generate();
  std::vector<std::pair<std::string, X25519PublicKey>> list() const {
    return {{"police/a", a.PublicKey()},
            {"magistrate/b", b.PublicKey()},
            {"reception_centre/c", c.PublicKey()}};
  }
};

void BM_Seal1KiB3Recipients(benchmark::State& state) {
  const ThreeRecipients r;
  const auto recipients = r.list();
  const std::string body(1024, 'b');
  for (auto _ : state) {
    auto box = Seal(body, recipients, "msg-id");
    benchmark::DoNotOptimize(box);
    if (!box.ok()) state.SkipWithError("seal failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Seal1KiB3Recipients);

void BM_Open1KiB(benchmark::State& state) {
  const ThreeRecipients r;
  const std::string body(1024, 'b');
  const SealedBox box = *Seal(body, r.list(), "msg-id");
  for (auto _ : state) {
    auto opened = Open(box, "magistrate/b", r.b, "msg-id");
    benchmark::DoNotOptimize(opened);
    if (!opened.ok()) state.SkipWithError("open failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_Open1KiB);

// AES-256-GCM of an audit record's size (~330 bytes): the key scheduled per call (AeadSeal /
// AeadOpen) against an AeadKey reusing its scheduled contexts.
void BM_AeadSeal330(benchmark::State& state, bool reuse) {
  const std::string key32(32, 'k');
  const AeadKey key = *AeadKey::Create(key32);
  const std::string record(330, 'r');
  for (auto _ : state) {
    auto sealed = reuse ? key.Seal(record, "concord-audit-v1|12345")
                        : AeadSeal(key32, record, "concord-audit-v1|12345");
    benchmark::DoNotOptimize(sealed);
    if (!sealed.ok()) state.SkipWithError("seal failed");
  }
}
BENCHMARK_CAPTURE(BM_AeadSeal330, per_call_key, false);
BENCHMARK_CAPTURE(BM_AeadSeal330, aead_key, true);

void BM_AeadOpen330(benchmark::State& state, bool reuse) {
  const std::string key32(32, 'k');
  const AeadKey key = *AeadKey::Create(key32);
  const std::string sealed = *AeadSeal(key32, std::string(330, 'r'), "concord-audit-v1|12345");
  for (auto _ : state) {
    auto opened = reuse ? key.Open(sealed, "concord-audit-v1|12345")
                        : AeadOpen(key32, sealed, "concord-audit-v1|12345");
    benchmark::DoNotOptimize(opened);
    if (!opened.ok()) state.SkipWithError("open failed");
  }
}
BENCHMARK_CAPTURE(BM_AeadOpen330, per_call_key, false);
BENCHMARK_CAPTURE(BM_AeadOpen330, aead_key, true);

}  // namespace
}  // namespace concord::crypto

BENCHMARK_MAIN();
