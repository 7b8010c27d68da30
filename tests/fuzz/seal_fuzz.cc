// File: tests/fuzz/seal_fuzz.cc
//
// Sealed-box opening (common/crypto/seal): what a recipient does with a body, an attachment
// chunk or a referral record that anyone could have crafted. The input is a
// concord.messaging.v1.SealedBox (as on the wire); byte 0 picks the call:
//   even  Open as kRecipient with the fixed sealing key and aad "concord-fuzz-aad";
//   odd   OpenCommitted, the commitment being the box's first 32 bytes of nonce||ciphertext.
// Properties: never a crash or a sanitizer report; whatever opens re-opens to the same plaintext
// (no state), and a box that opens fails to open once its aad is changed (authentication).
#include <cstddef>
#include <cstdint>

#include "common/crypto/seal.h"
#include "common/envelope/envelope_proto.h"
#include "concord/messaging/v1/messaging.pb.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace concord;
  if (size == 0) return 0;
  messaging::v1::SealedBox proto;
  if (!proto.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  envelope::SealedBox wire;
  envelope::SealedFromProto(proto, wire);
  const crypto::SealedBox box = fuzz::ToCrypto(wire);
  constexpr std::string_view kAad = "concord-fuzz-aad";
  if (data[0] % 2 == 0) {
    auto opened = crypto::Open(box, fuzz::kRecipient, fuzz::SealingKey(), kAad);
    if (opened.ok()) {
      auto again = crypto::Open(box, fuzz::kRecipient, fuzz::SealingKey(), kAad);
      FUZZ_INVARIANT(again.ok() && *again == *opened, "Open is not deterministic");
      FUZZ_INVARIANT(!crypto::Open(box, fuzz::kRecipient, fuzz::SealingKey(), "other-aad").ok(),
                     "a box opened under another aad");
    }
  } else {
    const std::string commitment = (box.nonce + box.ciphertext).substr(0, 32);
    auto opened =
        crypto::OpenCommitted(box, fuzz::kRecipient, fuzz::SealingKey(), kAad, commitment);
    if (opened.ok()) {
      FUZZ_INVARIANT(commitment.size() == crypto::kKeyCommitmentSize,
                     "OpenCommitted accepted a commitment of the wrong size");
    }
  }
  return 0;
}
