#include "common/text/utf8.h"

#include <cstdint>

namespace concord::text {
namespace {

// Length of the valid UTF-8 sequence at the start of `s` (not empty) with its code point in `cp`,
// or 0 if `s` does not start with one.
size_t SequenceAt(std::string_view s, uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
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
    return 0;
  }
  if (len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

std::optional<size_t> CountCodePoints(std::string_view s, bool printable_only) {
  size_t count = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t len = SequenceAt(s.substr(i), cp);
    if (len == 0) return std::nullopt;
    if (printable_only && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))) {
      return std::nullopt;  // C0, DEL, C1
    }
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

std::string ToValidUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0;
    const size_t len = SequenceAt(s.substr(i), cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace concord::text
