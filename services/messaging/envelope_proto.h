// File: services/messaging/envelope_proto.h
//
// Conversions between concord.messaging.v1 protos and the domain types of envelope.h. Proto types
// stop here (STYLE G1): handlers convert on the way in and out, domain and store never see them.
//
//   CONCORD_ASSIGN_OR_RETURN(Envelope e, EnvelopeFromProto(request.envelope()));
//   EnvelopeToProto(e, *reply.mutable_envelope());
//
// Thread safety: pure functions.
#pragma once

#include "concord/messaging/v1/messaging.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/messaging/envelope.h"

namespace concord::messaging {

namespace v1 = ::concord::messaging::v1;

/// INVALID_ARGUMENT with field violations ("envelope.<field>") for unspecified or unknown enum
/// values, invalid agency ids and timestamps. Does not apply ValidateEnvelope's rules.
StatusOr<Envelope> EnvelopeFromProto(const v1::Envelope& proto);
void EnvelopeToProto(const Envelope& envelope, v1::Envelope& out);

/// Same for receipts (field paths start with "receipt.").
StatusOr<Receipt> ReceiptFromProto(const v1::Receipt& proto);
void ReceiptToProto(const Receipt& receipt, v1::Receipt& out);

/// ForwardPermission (field paths start with `path`).
StatusOr<ForwardPermission> PermissionFromProto(const v1::ForwardPermission& proto);
void PermissionToProto(const ForwardPermission& permission, v1::ForwardPermission& out);

void SealedFromProto(const v1::SealedBox& proto, SealedBox& out);
void SealedToProto(const SealedBox& box, v1::SealedBox& out);

StatusOr<AgencyId> AgencyFromProto(const ::concord::common::v1::AgencyId& proto);
void AgencyToProto(const AgencyId& agency, ::concord::common::v1::AgencyId& out);

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts);
void TimeToProto(absl::Time t, google::protobuf::Timestamp& out);

}  // namespace concord::messaging
