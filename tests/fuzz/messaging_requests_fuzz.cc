// File: tests/fuzz/messaging_requests_fuzz.cc
//
// The request validation of every concord.messaging.v1.Messaging RPC. The input is a
// concord.testing.v1.MessagingCall (proto/concord/testing/v1/fuzz.proto): one request, the oneof
// naming the RPC. Each case runs what the handler and the Mailbox run on the request before any
// store access: the proto-to-domain conversion (EnvelopeFromProto, ReceiptFromProto,
// SealedFromProto) and the pure rules (version, structure, times, ids, chunk encoding).
// Property: hostile requests are refused with a status, never a crash; an envelope the rules
// accept has one canonical stored encoding that decodes back to it.
#include <cstddef>
#include <cstdint>

#include "common/envelope/chunk.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/receipt.h"
#include "concord/testing/v1/fuzz.pb.h"
#include "services/messaging/envelope.h"
#include "services/messaging/envelope_proto.h"
#include "services/messaging/mailbox.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

namespace mv1 = ::concord::messaging::v1;
using messaging::Envelope;

void CheckEnvelope(const mv1::Envelope& proto) {
  auto envelope = messaging::EnvelopeFromProto(proto);
  if (!envelope.ok()) return;
  const messaging::EnvelopeLimits limits;
  // What Send checks before the signature and the store (services/messaging/README.md).
  const bool valid = messaging::CheckEnvelopeVersion(*envelope).ok() &&
                     messaging::ValidateEnvelope(*envelope, limits).ok() &&
                     messaging::CheckEnvelopeTimes(*envelope, limits, Now()).ok();
  (void)messaging::CheckSenderType(envelope->sender.type);
  for (size_t i = 0; i < envelope->recipients.size(); ++i) {
    (void)messaging::CheckRecipientType(envelope->recipients[i].type, i);
  }
  if (!valid) return;
  const std::string stored = envelope::EncodeStoredEnvelope(*envelope);
  auto decoded = envelope::DecodeStoredEnvelope(stored);
  FUZZ_INVARIANT(decoded.ok() && *decoded == *envelope,
                 "a valid envelope does not survive its stored encoding");
  (void)envelope::EnvelopeSha256(*envelope);
  mv1::Envelope back;
  messaging::EnvelopeToProto(*envelope, back);
  auto again = messaging::EnvelopeFromProto(back);
  FUZZ_INVARIANT(again.ok() && *again == *envelope, "EnvelopeToProto/EnvelopeFromProto round trip");
}

void CheckIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  for (const std::string& id : ids) (void)envelope::IsValidClientId(id);
}

void Run(const testing::v1::MessagingCall& call) {
  switch (call.method_case()) {
    case testing::v1::MessagingCall::kSend:
      CheckEnvelope(call.send().envelope());
      break;
    case testing::v1::MessagingCall::kForward:
      CheckEnvelope(call.forward().envelope());
      break;
    case testing::v1::MessagingCall::kSendReceipt: {
      auto receipt = messaging::ReceiptFromProto(call.send_receipt().receipt());
      if (receipt.ok()) {
        (void)envelope::CanonicalReceipt(*receipt);
        mv1::Receipt back;
        messaging::ReceiptToProto(*receipt, back);
        auto again = messaging::ReceiptFromProto(back);
        FUZZ_INVARIANT(again.ok() && *again == *receipt, "receipt proto round trip");
      }
      break;
    }
    case testing::v1::MessagingCall::kUploadAttachment: {
      const mv1::UploadAttachmentRequest& part = call.upload_attachment();
      if (part.has_header()) (void)envelope::IsValidClientId(part.header().attachment_id());
      if (part.has_chunk()) {
        messaging::SealedBox box;
        messaging::SealedFromProto(part.chunk().sealed(), box);
        const std::string bytes = envelope::CanonicalChunk("att-fuzz", part.chunk().index(), box);
        auto decoded = envelope::DecodeCanonicalChunk(bytes, "att-fuzz", part.chunk().index());
        FUZZ_INVARIANT(decoded.ok() && *decoded == box, "chunk encoding round trip");
      }
      break;
    }
    case testing::v1::MessagingCall::kAck:
      CheckIds(call.ack().message_ids());
      break;
    case testing::v1::MessagingCall::kGet:
      (void)envelope::IsValidClientId(call.get().message_id());
      break;
    case testing::v1::MessagingCall::kListReceipts:
      (void)envelope::IsValidClientId(call.list_receipts().message_id());
      break;
    case testing::v1::MessagingCall::kDownloadAttachment:
      (void)envelope::IsValidClientId(call.download_attachment().message_id());
      (void)envelope::IsValidClientId(call.download_attachment().attachment_id());
      break;
    case testing::v1::MessagingCall::kListInbox:
    case testing::v1::MessagingCall::kSubscribe:
    case testing::v1::MessagingCall::METHOD_NOT_SET:
      break;  // checked in the handler itself (page size, kind, terminal id): service tests
  }
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::MessagingCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  concord::fuzz::Run(call);
  return 0;
}
