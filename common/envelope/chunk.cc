#include "common/envelope/chunk.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/crypto/canonical.h"
#include "common/envelope/canonical_reader.h"

namespace concord::envelope {

uint64_t ChunkCount(uint64_t size) {
  return size == 0 ? 1 : (size + kAttachmentChunkBytes - 1) / kAttachmentChunkBytes;
}

uint64_t ChunkPlaintextBytes(uint64_t size, uint64_t index) {
  if (index >= ChunkCount(size)) return 0;
  const uint64_t before = index * kAttachmentChunkBytes;
  return std::min(kAttachmentChunkBytes, size - before);
}

std::string CanonicalChunk(std::string_view attachment_id, uint32_t index, const SealedBox& b) {
  crypto::CanonicalWriter w;
  w.AddString(0, kChunkDomain);
  w.AddString(1, attachment_id);
  w.AddInt(2, index);
  w.AddString(3, b.nonce);
  w.AddString(4, b.ciphertext);
  w.AddInt(5, static_cast<int64_t>(b.keys.size()));
  for (const WrappedKey& k : b.keys) {
    w.AddString(6, k.recipient);
    w.AddString(7, k.ephemeral_public);
    w.AddString(8, k.nonce);
    w.AddString(9, k.ciphertext);
  }
  return w.Release();
}

StatusOr<SealedBox> DecodeCanonicalChunk(std::string_view bytes, std::string_view attachment_id,
                                         uint32_t index) {
  internal::CanonicalReader r(bytes);
  std::string domain, id;
  int64_t stored_index = 0, count = 0;
  SealedBox b;
  const auto corrupt = [] { return absl::DataLossError("stored chunk is malformed"); };
  if (!r.String(0, domain) || domain != kChunkDomain || !r.String(1, id) || id != attachment_id ||
      !r.Int(2, stored_index) || stored_index != index || !r.String(3, b.nonce) ||
      !r.String(4, b.ciphertext) || !r.Int(5, count) || count < 0 || count > 4096) {
    return corrupt();
  }
  for (int64_t i = 0; i < count; ++i) {
    WrappedKey k;
    if (!r.String(6, k.recipient) || !r.String(7, k.ephemeral_public) || !r.String(8, k.nonce) ||
        !r.String(9, k.ciphertext)) {
      return corrupt();
    }
    b.keys.push_back(std::move(k));
  }
  if (!r.Done()) return corrupt();
  return b;
}

std::string ChunkAad(std::string_view attachment_id, uint32_t index) {
  return absl::StrCat("concord.messaging.chunk.v1|",
                      absl::string_view(attachment_id.data(), attachment_id.size()), "|", index);
}

}  // namespace concord::envelope
