// File: tests/fuzz/envelope_fuzz.cc
//
// The canonical envelope decoding and validation (common/envelope): what the messaging service
// reads back from Redis and what every recipient decodes. The first byte picks the decoder, the
// rest is its input:
//   0  DecodeStoredEnvelope: when it accepts, EncodeStoredEnvelope gives back exactly the input
//      (the documented exact inverse: one envelope, one encoding, so one hash), and the service
//      checks (version, structure, times) and the hash run on it without crashing.
//   1  DecodeSealedContent: accepted content re-encodes to the same bytes and validates.
//   2  DecodeCanonicalChunk for attachment "att-fuzz-0000000001", index 0: accepted chunks
//      re-encode to the same bytes.
#include <cstddef>
#include <cstdint>

#include "common/envelope/chunk.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/sealed_content.h"
#include "services/messaging/envelope.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

constexpr std::string_view kAttachmentId = "att-fuzz-0000000001";

void StoredEnvelope(std::string_view in) {
  auto decoded = envelope::DecodeStoredEnvelope(in);
  if (!decoded.ok()) return;
  FUZZ_INVARIANT(envelope::EncodeStoredEnvelope(*decoded) == in,
                 "DecodeStoredEnvelope accepted a non-canonical encoding");
  const messaging::EnvelopeLimits limits;
  (void)messaging::CheckEnvelopeVersion(*decoded);
  (void)messaging::ValidateEnvelope(*decoded, limits);
  (void)messaging::CheckEnvelopeTimes(*decoded, limits, Now());
  (void)envelope::RootOf(*decoded);
  (void)envelope::EnvelopeSha256(*decoded);
}

void SealedContent(std::string_view in) {
  auto decoded = envelope::DecodeSealedContent(in);
  if (!decoded.ok()) return;
  FUZZ_INVARIANT(envelope::EncodeSealedContent(*decoded) == in,
                 "DecodeSealedContent accepted a non-canonical encoding");
  std::vector<envelope::Attachment> clear;
  for (const auto& a : decoded->attachments) {
    envelope::Attachment att;
    att.attachment_id = a.attachment_id;
    clear.push_back(std::move(att));
  }
  FieldErrors errors;
  envelope::ValidateSealedContent(*decoded, envelope::HandlingCode::kH3, clear, "content", errors);
  envelope::ValidateSealedContent(*decoded, envelope::HandlingCode::kH0, {}, "content", errors);
}

void Chunk(std::string_view in) {
  auto decoded = envelope::DecodeCanonicalChunk(in, kAttachmentId, 0);
  if (!decoded.ok()) return;
  FUZZ_INVARIANT(envelope::CanonicalChunk(kAttachmentId, 0, *decoded) == in,
                 "DecodeCanonicalChunk accepted a non-canonical encoding");
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in = concord::fuzz::Bytes(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      concord::fuzz::StoredEnvelope(in);
      break;
    case 1:
      concord::fuzz::SealedContent(in);
      break;
    default:
      concord::fuzz::Chunk(in);
      break;
  }
  return 0;
}
