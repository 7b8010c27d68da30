// File: common/envelope/envelope_proto.h
//
// Conversions between the concord.messaging.v1 protos and the plain values of envelope.h. Proto
// types stop here (STYLE G1): the service's handlers convert on the way in and out, and the
// agency library converts before it encodes, signs or verifies, so that both compute the
// canonical bytes from the same values with the same code (envelope_encoding.h).
//
//   CONCORD_ASSIGN_OR_RETURN(Envelope e, EnvelopeFromProto(request.envelope()));
//   EnvelopeToProto(e, *reply.mutable_envelope());
//
// Envelope.version in the proto: 0 (absent, as every v1 client sent it) and 1 are v1, 2 is v2;
// EnvelopeToProto always writes 1 or 2.
//
// Thread safety: pure functions.
#pragma once

#include "common/envelope/envelope.h"
#include "common/status/status.h"
#include "concord/messaging/v1/messaging.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace concord::envelope {

namespace v1 = ::concord::messaging::v1;

/// INVALID_ARGUMENT with field violations ("envelope.<field>") for an unknown version,
/// unspecified or unknown enum values, invalid agency ids (a trust domain is required) and
/// timestamps. Does not apply the service's validation rules (sizes, counts, ...).
StatusOr<Envelope> EnvelopeFromProto(const v1::Envelope& proto);
void EnvelopeToProto(const Envelope& envelope, v1::Envelope& out);

/// Same for receipts (field paths start with "receipt.").
StatusOr<Receipt> ReceiptFromProto(const v1::Receipt& proto);
void ReceiptToProto(const Receipt& receipt, v1::Receipt& out);

/// ForwardPermission (field paths start with "permission.").
StatusOr<ForwardPermission> PermissionFromProto(const v1::ForwardPermission& proto);
void PermissionToProto(const ForwardPermission& permission, v1::ForwardPermission& out);

void SealedFromProto(const v1::SealedBox& proto, SealedBox& out);
void SealedToProto(const SealedBox& box, v1::SealedBox& out);

/// INVALID_ARGUMENT unless the type is known, the trust domain valid (not empty) and the id
/// matches [a-z0-9][a-z0-9-]{0,62}.
StatusOr<AgencyId> AgencyFromProto(const ::concord::common::v1::AgencyId& proto);
void AgencyToProto(const AgencyId& agency, ::concord::common::v1::AgencyId& out);

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts);
void TimeToProto(absl::Time t, google::protobuf::Timestamp& out);

}  // namespace concord::envelope
