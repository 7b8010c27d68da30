// File: common/crypto/canonical.cc
#include "common/crypto/canonical.h"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace concord::crypto {

void CanonicalWriter::AppendU32(uint64_t value) {
  if (value > std::numeric_limits<uint32_t>::max()) {
    // Broken invariant, not input: callers bound field sizes long before this.
    std::fputs("concord crypto fatal: canonical field longer than 2^32-1 bytes\n", stderr);
    std::abort();
  }
  // One append of the four bytes (not four push_backs: this runs for every field of every
  // envelope and audit record).
  const char be[4] = {static_cast<char>((value >> 24) & 0xff),
                      static_cast<char>((value >> 16) & 0xff),
                      static_cast<char>((value >> 8) & 0xff), static_cast<char>(value & 0xff)};
  bytes_.append(be, sizeof(be));
}

void CanonicalWriter::AddString(uint8_t tag, std::string_view value) {
  bytes_.push_back(static_cast<char>(tag));
  AppendU32(value.size());
  bytes_.append(value);
}

void CanonicalWriter::AddInt(uint8_t tag, int64_t value) {
  bytes_.push_back(static_cast<char>(tag));
  const auto u = static_cast<uint64_t>(value);  // two's complement (guaranteed since C++20)
  char be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<char>((u >> (56 - 8 * i)) & 0xff);
  bytes_.append(be, sizeof(be));
}

void CanonicalWriter::AddStrings(uint8_t tag, const std::vector<std::string>& values) {
  bytes_.push_back(static_cast<char>(tag));
  AppendU32(values.size());
  for (const std::string& v : values) {
    AppendU32(v.size());
    bytes_.append(v);
  }
}

}  // namespace concord::crypto
