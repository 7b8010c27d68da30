#include "common/audit/checkpoint.h"

#include "common/crypto/canonical.h"

namespace concord::audit {
namespace {

constexpr std::string_view kDomain = "concord.audit.checkpoint.v1";
constexpr size_t kHashSize = 32;  // SHA-256 head hash
constexpr size_t kStoredSize = 8 + 8 + kHashSize + crypto::kEd25519SignatureSize;

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  }
  return v;
}

}  // namespace

std::string CheckpointMessage(uint64_t seq, std::string_view head_hash, absl::Time time) {
  crypto::CanonicalWriter w;
  w.AddString(0, kDomain);
  w.AddInt(1, static_cast<int64_t>(seq));
  w.AddString(2, head_hash);
  w.AddInt(3, absl::ToUnixNanos(time));
  return w.Release();
}

StatusOr<Checkpoint> SignCheckpoint(const crypto::Ed25519PrivateKey& key, uint64_t seq,
                                    std::string_view head_hash, absl::Time time) {
  if (head_hash.size() != kHashSize) {
    return absl::InvalidArgumentError("checkpoint head hash must be 32 bytes");
  }
  Checkpoint cp;
  cp.seq = seq;
  cp.head_hash = std::string(head_hash);
  // Nanosecond precision is what the stored form keeps; truncate first so the signature
  // covers exactly what is stored.
  cp.time = absl::FromUnixNanos(absl::ToUnixNanos(time));
  auto sig = key.Sign(CheckpointMessage(seq, head_hash, cp.time));
  if (!sig.ok()) {
    return sig.status();
  }
  cp.signature = *std::move(sig);
  return cp;
}

bool VerifyCheckpointSignature(const crypto::Ed25519PublicKey& key, const Checkpoint& cp) {
  if (cp.head_hash.size() != kHashSize || cp.signature.size() != crypto::kEd25519SignatureSize) {
    return false;
  }
  return key.Verify(CheckpointMessage(cp.seq, cp.head_hash, cp.time), cp.signature);
}

std::string EncodeCheckpoint(const Checkpoint& cp) {
  std::string out;
  out.reserve(kStoredSize);
  PutU64(out, cp.seq);
  PutU64(out, static_cast<uint64_t>(absl::ToUnixNanos(cp.time)));
  out.append(cp.head_hash);
  out.append(cp.signature);
  return out;
}

StatusOr<Checkpoint> ParseCheckpoint(std::string_view value) {
  if (value.size() != kStoredSize) {
    return absl::DataLossError("stored checkpoint has the wrong size");
  }
  Checkpoint cp;
  cp.seq = GetU64(value.substr(0, 8));
  cp.time = absl::FromUnixNanos(static_cast<int64_t>(GetU64(value.substr(8, 8))));
  cp.head_hash = std::string(value.substr(16, kHashSize));
  cp.signature = std::string(value.substr(16 + kHashSize));
  return cp;
}

}  // namespace concord::audit
