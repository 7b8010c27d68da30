// File: tests/support/two_key_gcm.h
//
// Builds what a malicious sender needs for the "one signature, two bodies" attack on a sealed
// box: an AES-256-GCM ciphertext and tag that authenticate under TWO content keys (the
// "invisible salamanders" construction: GHASH is linear in the ciphertext blocks, so one free
// block solves T(K1) == T(K2)), and a content key wrapped for a recipient exactly as
// common/crypto/seal.cc wraps it. Tests use it to prove that recipients refuse a box whose
// wrapped key is not the one the sender committed to; production code never links it.
//
//   std::string ct = *TwoKeyGcmCiphertext(k1, k2, nonce, aad, chosen_plaintext, /*free_block=*/3);
//   // AES-256-GCM opens ct under k1 (chosen_plaintext except block 3) AND under k2 (noise).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/crypto/seal.h"
#include "common/crypto/x25519.h"
#include "common/status/status.h"

namespace concord::testing {

/// ciphertext || tag (16 bytes) under `nonce` (12 bytes) and `aad` that opens under `key1` to
/// `plaintext1` with its 16-byte block number `free_block` replaced by solver output, and under
/// `key2` to unrelated bytes. `plaintext1` must be a non-empty multiple of 16 bytes and
/// `free_block` one of its blocks. INVALID_ARGUMENT otherwise.
StatusOr<std::string> TwoKeyGcmCiphertext(std::string_view key1, std::string_view key2,
                                          std::string_view nonce, std::string_view aad,
                                          std::string_view plaintext1, size_t free_block);

/// `content_key` wrapped for (`recipient`, `recipient_key`) as crypto::Seal wraps its own key.
StatusOr<crypto::WrappedKey> WrapContentKey(std::string_view content_key,
                                            const std::string& recipient,
                                            const crypto::X25519PublicKey& recipient_key);

}  // namespace concord::testing
