// File: common/text/utf8.h
//
// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing beyond U+10FFFF. Used where
// text is checked before it is sealed or printed (clients, concordctl); the services get their
// strings from protobuf, which already refuses invalid UTF-8 in `string` fields.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace concord::text {

/// Number of code points of `s`, or nullopt if `s` is not valid UTF-8.
std::optional<size_t> Utf8CodePoints(std::string_view s);

/// As Utf8CodePoints, and nullopt too if `s` contains a control character (C0, DEL, C1): for
/// names and other single-line display text.
std::optional<size_t> PrintableUtf8CodePoints(std::string_view s);

/// True iff `s` is valid UTF-8.
inline bool IsValidUtf8(std::string_view s) { return Utf8CodePoints(s).has_value(); }

/// `s` itself if it is valid UTF-8; otherwise `s` with every byte that does not start a valid
/// sequence replaced by U+FFFD. For text that may echo hostile input into a protobuf `string`
/// field (error details): a strict parser (Java, .NET) refuses a message with invalid UTF-8.
std::string ToValidUtf8(std::string_view s);

}  // namespace concord::text
