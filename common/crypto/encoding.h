// File: common/crypto/encoding.h
//
// Byte-string helpers: the Bytes alias, lower-case hex, and strict RFC 4648 standard Base64
// (alphabet A-Z a-z 0-9 + /, '=' padding required). Keys, signatures and sealed boxes travel as
// binary std::string inside Concord; these encodings exist for text formats (JSON, CLI, logs of
// public values, test vectors).
//
//   std::string hex = HexEncode(signature);             // 128 chars for 64 bytes
//   CONCORD_ASSIGN_OR_RETURN(std::string raw, HexDecode(hex));
//
// Thread safety: every function is thread-safe (pure).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace concord::crypto {

using Bytes = std::vector<uint8_t>;

/// Lower-case hex, two characters per byte.
std::string HexEncode(std::string_view bin);

/// Decodes hex (upper or lower case). INVALID_ARGUMENT on odd length or a non-hex character.
StatusOr<std::string> HexDecode(std::string_view hex);

/// Standard Base64 with padding (RFC 4648 section 4), no line breaks.
std::string Base64Encode(std::string_view bin);

/// Strict decoder for Base64Encode's output: length a multiple of 4, padding only at the end,
/// unused trailing bits zero, no whitespace. INVALID_ARGUMENT otherwise, so that each byte string
/// has exactly one accepted encoding.
StatusOr<std::string> Base64Decode(std::string_view b64);

}  // namespace concord::crypto
