// File: tests/fuzz/audit_requests_fuzz.cc
//
// The request validation of every concord.audit.v1.Audit RPC. The input is a
// concord.testing.v1.AuditCall. Query is the one RPC with free-form input: QuerySpecFromProto
// (selector, agency id, time range, page token) is what its handler runs before the store.
// Verify takes two sequence numbers the store bounds; GetCheckpoint and CreateCheckpoint take
// nothing. Property: refusals are statuses, never crashes.
#include <cstddef>
#include <cstdint>

#include "concord/testing/v1/fuzz.pb.h"
#include "services/audit/audit_service.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::AuditCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (call.has_query()) {
    auto spec = concord::audit::QuerySpecFromProto(call.query());
    if (spec.ok()) {
      auto again = concord::audit::QuerySpecFromProto(call.query());
      FUZZ_INVARIANT(again.ok(), "QuerySpecFromProto is not deterministic");
    }
  }
  return 0;
}
