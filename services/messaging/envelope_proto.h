// File: services/messaging/envelope_proto.h
//
// The proto <-> domain conversions of the messaging service's handlers. They are owned by
// common/envelope/envelope_proto.h (shared with the agency library); this header brings them
// into concord::messaging.
#pragma once

#include "common/envelope/envelope_proto.h"
#include "services/messaging/envelope.h"

namespace concord::messaging {

using envelope::AgencyFromProto;
using envelope::AgencyToProto;
using envelope::EnvelopeFromProto;
using envelope::EnvelopeToProto;
using envelope::PermissionFromProto;
using envelope::PermissionToProto;
using envelope::ReceiptFromProto;
using envelope::ReceiptToProto;
using envelope::SealedFromProto;
using envelope::SealedToProto;
using envelope::TimeFromProto;
using envelope::TimeToProto;

}  // namespace concord::messaging
