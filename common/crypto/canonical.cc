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
  for (int shift = 24; shift >= 0; shift -= 8) {
    bytes_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void CanonicalWriter::AddString(uint8_t tag, std::string_view value) {
  bytes_.push_back(static_cast<char>(tag));
  AppendU32(value.size());
  bytes_.append(value);
}

void CanonicalWriter::AddInt(uint8_t tag, int64_t value) {
  bytes_.push_back(static_cast<char>(tag));
  const auto u = static_cast<uint64_t>(value);  // two's complement (guaranteed since C++20)
  for (int shift = 56; shift >= 0; shift -= 8) {
    bytes_.push_back(static_cast<char>((u >> shift) & 0xff));
  }
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
