// File: common/crypto/canonical_reader.h
//
// CanonicalReader: the strict reader of CanonicalWriter's encoding (canonical.h). Every field must
// carry the expected tag, lengths must fit, and Done() is true only when nothing follows the last
// field. Used to decode what Concord stores in its canonical form: the messaging envelope, its
// sealed content and chunks (common/envelope), guideline versions and withdrawals
// (common/guideline).
//
//   CanonicalReader r(bytes);
//   std::string domain;
//   int64_t version = 0;
//   if (!r.String(0, domain) || !r.Int(2, version) || !r.Done()) return DataLossError(...);
//
// Thread safety: a reader is a plain value over bytes the caller keeps alive.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace concord::crypto {

class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view bytes) : in_(bytes) {}

  bool String(uint8_t tag, std::string& out) {
    uint32_t len = 0;
    if (!Tag(tag) || !U32(len) || in_.size() < len) return Fail();
    out.assign(in_.data(), len);
    in_.remove_prefix(len);
    return true;
  }
  bool Int(uint8_t tag, int64_t& out) {
    if (!Tag(tag) || in_.size() < 8) return Fail();
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    out = static_cast<int64_t>(v);
    return true;
  }
  bool Strings(uint8_t tag, std::vector<std::string>& out) {
    uint32_t count = 0;
    if (!Tag(tag) || !U32(count)) return Fail();
    out.clear();
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t len = 0;
      if (!U32(len) || in_.size() < len) return Fail();
      out.emplace_back(in_.data(), len);
      in_.remove_prefix(len);
    }
    return true;
  }
  /// True iff the next byte is `tag` (nothing is consumed).
  bool Peek(uint8_t tag) const {
    return ok_ && !in_.empty() && static_cast<uint8_t>(in_[0]) == tag;
  }
  bool Done() const { return ok_ && in_.empty(); }

 private:
  bool Tag(uint8_t tag) {
    if (!ok_ || in_.empty() || static_cast<uint8_t>(in_[0]) != tag) return false;
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t& out) {
    if (in_.size() < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) out = (out << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool Fail() {
    ok_ = false;
    return false;
  }

  std::string_view in_;
  bool ok_ = true;
};

}  // namespace concord::crypto
