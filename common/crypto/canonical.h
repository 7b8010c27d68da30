// File: common/crypto/canonical.h
//
// CanonicalWriter: the one deterministic byte encoding Concord signs and hashes (envelopes,
// receipts, guidance, audit records). Protobuf serialisation is not canonical (field order,
// unknown fields, default values), so signatures are never computed over proto bytes.
//
// Encoding (all integers big-endian, no padding, no alignment):
//   string field : tag (1 byte) || length (4 bytes, uint32) || the bytes
//   int field    : tag (1 byte) || value (8 bytes, int64 two's complement)
//   string list  : tag (1 byte) || count (4 bytes, uint32) || count x ( length (4) || bytes )
//
// Rules for a signed structure (the encoding is injective only within one fixed schema):
//   - write a domain-separation string first, e.g. AddString(0, "concord.messaging.envelope.v1"),
//     so that a signature over one structure can never be replayed as another;
//   - write every field, in a fixed order, each with its own tag (absent optional field: write
//     the empty string / 0 rather than skipping it, or give it a presence flag);
//   - lists keep the caller's order; sort first if order must not matter.
//
//   CanonicalWriter w;
//   w.AddString(0, "concord.messaging.envelope.v1");
//   w.AddString(1, envelope.id);
//   w.AddInt(2, absl::ToUnixMillis(envelope.created_at));
//   w.AddStrings(3, envelope.recipients);
//   CONCORD_ASSIGN_OR_RETURN(std::string sig, key.Sign(w.bytes()));
//
// Thread safety: a writer is a plain value; use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace concord::crypto {

class CanonicalWriter {
 public:
  /// Appends tag || uint32 length || bytes. Precondition: value.size() < 2^32 (aborts otherwise;
  /// Concord's message size limits keep every field far below).
  void AddString(uint8_t tag, std::string_view value);
  /// Appends tag || 8-byte big-endian two's complement value.
  void AddInt(uint8_t tag, int64_t value);
  /// Appends tag || uint32 count || each item as uint32 length || bytes. Same precondition.
  void AddStrings(uint8_t tag, const std::vector<std::string>& values);

  /// Reserves room for `bytes` bytes of encoding (one allocation instead of several growths).
  void Reserve(size_t bytes) { bytes_.reserve(bytes); }

  /// The encoding so far.
  const std::string& bytes() const { return bytes_; }
  /// Moves the encoding out; the writer is empty afterwards.
  std::string Release() { return std::move(bytes_); }

 private:
  void AppendU32(uint64_t value);
  std::string bytes_;
};

}  // namespace concord::crypto
