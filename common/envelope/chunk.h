// File: common/envelope/chunk.h
//
// One sealed attachment chunk: its canonical encoding (the uploaded bytes the service stores;
// ChunkRef.sha256 is their SHA-256, so the signed envelope pins every chunk) and the AAD that
// binds its sealed box to the attachment and position. Chunks are uploaded before the envelope
// exists, so their format does not depend on the envelope version ("concord.messaging.chunk.v1");
// in v2 the commitment to each chunk's content key is in the signed ChunkRef instead.
//
// The chunking rule (docs/crypto.md "Messaging envelope", section 7), the same for the agency
// library that splits a file and the service that checks each chunk as it arrives: a file of
// `size` plaintext bytes is ChunkCount(size) = max(1, ceil(size / 1 MiB)) chunks; every chunk but
// the last carries exactly 1 MiB of plaintext, the last the rest (1 byte .. 1 MiB; 0 bytes only
// for an empty file); a sealed chunk's ciphertext is its plaintext + 16 bytes (AES-GCM tag).
//
//   const std::string bytes = CanonicalChunk(attachment_id, index, sealed_box);
//   CONCORD_ASSIGN_OR_RETURN(SealedBox box, DecodeCanonicalChunk(bytes, attachment_id, index));
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/envelope/envelope.h"
#include "common/status/status.h"

namespace concord::envelope {

inline constexpr std::string_view kChunkDomain = "concord.messaging.chunk.v1";

/// The AES-256-GCM tag that every sealed chunk's ciphertext carries after its plaintext.
inline constexpr uint64_t kChunkTagBytes = 16;

/// Number of chunks of a file of `size` plaintext bytes: max(1, ceil(size / 1 MiB)).
uint64_t ChunkCount(uint64_t size);

/// Plaintext bytes chunk `index` of a file of `size` bytes carries (0 when index is past the
/// last chunk, or for the one chunk of an empty file).
uint64_t ChunkPlaintextBytes(uint64_t size, uint64_t index);

/// 0 domain, 1 attachment_id, 2 int index, 3 nonce, 4 ciphertext, 5 int key count, then per
/// key 6 recipient, 7 ephemeral_public, 8 nonce, 9 ciphertext.
std::string CanonicalChunk(std::string_view attachment_id, uint32_t index, const SealedBox& sealed);

/// Inverse of CanonicalChunk (DATA_LOSS if malformed or for another attachment or index).
StatusOr<SealedBox> DecodeCanonicalChunk(std::string_view bytes, std::string_view attachment_id,
                                         uint32_t index);

/// "concord.messaging.chunk.v1|<attachment_id>|<index in decimal>": the AAD of a chunk's box.
std::string ChunkAad(std::string_view attachment_id, uint32_t index);

}  // namespace concord::envelope
