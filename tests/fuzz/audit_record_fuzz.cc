// File: tests/fuzz/audit_record_fuzz.cc
//
// Audit record decoding (common/audit): the ingester opens what every workload pushed to its
// intake, the verifier and Query open every stored record. Byte 0 picks the decoder:
//   0  DecodeRecord(plaintext, seq 7): an accepted record re-encodes (EncodeEvent) to a plaintext
//      that decodes to the same content;
//   1  DecodeIntakeEvent: the same property with EncodeIntakeEvent;
//   2  OpenIntakeEntry with the fixed audit key, workload "messaging" (AEAD then decode);
//   3  StoredRecord::Parse then OpenRecordContent as record 7.
#include <cstddef>
#include <cstdint>

#include "common/audit/audit_record.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace concord;
  using namespace concord::audit;
  if (size == 0) return 0;
  const std::string_view in = fuzz::Bytes(data + 1, size - 1);
  constexpr uint64_t kSeq = 7;
  switch (data[0] % 4) {
    case 0: {
      auto content = DecodeRecord(in, kSeq);
      if (content.ok()) {
        auto encoded = EncodeEvent(kSeq, content->event, content->source);
        FUZZ_INVARIANT(encoded.ok(), "a decoded record does not encode");
        auto again = DecodeRecord(*encoded, kSeq);
        FUZZ_INVARIANT(again.ok() && *again == *content, "record decode/encode round trip");
      }
      break;
    }
    case 1: {
      auto event = DecodeIntakeEvent(in);
      if (event.ok()) {
        auto encoded = EncodeIntakeEvent(*event);
        FUZZ_INVARIANT(encoded.ok(), "a decoded intake event does not encode");
        auto again = DecodeIntakeEvent(*encoded);
        FUZZ_INVARIANT(again.ok() && *again == *event, "intake decode/encode round trip");
      }
      break;
    }
    case 2:
      (void)OpenIntakeEntry(fuzz::AuditKey(), "messaging", in);
      break;
    default: {
      auto record = StoredRecord::Parse(in);
      if (record.ok()) {
        FUZZ_INVARIANT(record->Encode() == in, "StoredRecord parse/encode round trip");
        (void)OpenRecordContent(fuzz::AuditKey(), kSeq, *record);
      }
      break;
    }
  }
  return 0;
}
