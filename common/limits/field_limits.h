// File: common/limits/field_limits.h
//
// The bounds of request fields, read from the proto itself: every string, bytes and repeated
// field of every Concord request carries a (concord.common.v1.limit) option
// (proto/concord/common/v1/limits.proto). One generic check enforces them all, first thing in
// every handler (and on every message of a client stream), so a new RPC or field is bounded by
// writing its limit in the proto:
//
//   CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*request));
//
// Refusal: INVALID_ARGUMENT "request field over its limit", a google.rpc.BadRequest with one
// violation per field over its bound (path as protobuf names it, repeated elements indexed:
// "envelope.recipients[2].id", "message_ids[0]", "envelope.attachments"), ErrorInfo reason
// FIELD_TOO_LARGE. The check walks only the fields that are set; its cost is linear in the
// request (bounded itself by the server's maximum message size).
//
// Thread safety: pure functions.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "common/status/status.h"

namespace concord::limits {

/// OK, or INVALID_ARGUMENT (FIELD_TOO_LARGE) naming every field of `request` over its bound.
Status CheckFieldLimits(const google::protobuf::Message& request);

/// One bounded field of a request type, reachable from it (for tests and documentation).
struct LimitedField {
  std::string path;  // "envelope.recipients[0].id": repeated messages on the way are "[0]"
  const google::protobuf::FieldDescriptor* field = nullptr;
  uint32_t max_bytes = 0;  // 0: none
  uint32_t max_items = 0;  // 0: none (not repeated)
};

/// Every string, bytes and repeated field reachable from `type` (each message type once per path,
/// recursion stops at a type already on the path), with its bounds. Fields without a bound are
/// listed in `unbounded` (their paths) when it is not null.
std::vector<LimitedField> LimitedFields(const google::protobuf::Descriptor& type,
                                        std::vector<std::string>* unbounded = nullptr);

}  // namespace concord::limits
