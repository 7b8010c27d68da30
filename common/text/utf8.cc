#include "common/text/utf8.h"

#include <cstdint>

namespace concord::text {
namespace {

std::optional<size_t> CountCodePoints(std::string_view s, bool printable_only) {
  size_t count = 0;
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      if (printable_only && (c < 0x20 || c == 0x7F)) return std::nullopt;
      ++i;
      ++count;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return std::nullopt;
    }
    if (printable_only && cp >= 0x80 && cp <= 0x9F) return std::nullopt;  // C1
    i += len;
    ++count;
  }
  return count;
}

}  // namespace

std::optional<size_t> Utf8CodePoints(std::string_view s) { return CountCodePoints(s, false); }

std::optional<size_t> PrintableUtf8CodePoints(std::string_view s) {
  return CountCodePoints(s, true);
}

}  // namespace concord::text
