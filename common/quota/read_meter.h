// File: common/quota/read_meter.h
//
// ReadMeter: the `read` bucket of the calls that consult stored data. Every such call writes a
// consultation record to the audit log (the law asks who read what), so without a bucket one
// stolen agency key could write audit records as fast as it can call: the log has no retention
// and shares Redis's memory with the messages. A read is charged one token per consultation
// record it writes, BEFORE the data is read when it writes one (or after the read but before
// anything is returned, when the count depends on what was found: a referrals List writes one
// per case), in a small script under the module's own hash tag (one EVALSHA, the only extra
// round trip of a read):
//
//   quota::ReadMeter reads(quotas, &redis, "msg");            // in the module
//   // in the handler: the refusal is recorded (once a minute per agency) and returned, unread
//   CONCORD_GRPC_RETURN_IF_ERROR(quota::ChargeRead(options.reads, caller.agency, 1,
//       [&](const Status& refusal) { Audit(..., refusal); }));
//
// A refusal is the common one (refusal.h: RESOURCE_EXHAUSTED, QUOTA_EXCEEDED, limit "read",
// RetryInfo, QuotaFailure), counted in concord_quota_refusals_total{limit="read"}; after one, this
// replica answers the same agency's reads without I/O until the bucket holds one token again
// (QuotaChecker::Observe with the charge's cost, then AdmitRecent). Reads are not refused above the
// storage watermark (they store no agency data; their audit record is what the bucket bounds).
// Redis unreachable: UNAVAILABLE (the data lives in the same Redis). Without quotas (null checker)
// every read passes without I/O.
//
// Thread safety: thread-safe (the checker and the client are).
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "common/identity/agency_id.h"
#include "common/quota/quota_checker.h"
#include "common/redis/redis_client.h"
#include "common/status/status.h"

namespace concord::quota {

/// The outcome of one charge: OK to read; otherwise the refusal (or UNAVAILABLE) and whether
/// this refusal should be audited (QuotaChecker::Observe: at most one record per agency and
/// minute for a refusal by the bucket; always for any other error).
struct ReadAdmission {
  Status status;
  bool audit = false;
};

class ReadMeter {
 public:
  /// `quotas` may be null (no limit); `redis` the module's own client (its ACL user must be
  /// allowed EVALSHA, TIME, HMGET, HSET and PEXPIRE on concord:{<tag>}:quota:*); both must
  /// outlive the meter. `quota` is the bucket charged: `read`, or another count bucket charged
  /// alone before a call in the same way (the audit service's `checkpoint`).
  ReadMeter(QuotaChecker* quotas, redis::RedisClient* redis, std::string tag,
            Quota quota = Quota::kRead);

  /// Charges `cost` (>= 1) tokens of `agency`'s bucket, all or nothing.
  ReadAdmission Charge(const AgencyId& agency, int64_t cost = 1);

 private:
  QuotaChecker* quotas_;
  redis::RedisClient* redis_;
  const std::string tag_;
  const Quota quota_;
};

/// What every consultation does before reading: charges `meter` (null: not charged, OK without
/// I/O) `cost` tokens for `agency`, calls `record(refusal)` when a refusal is to be audited (its
/// consultation record with the refusal as outcome), and returns OK or the refusal.
Status ChargeRead(ReadMeter* meter, const AgencyId& agency, int64_t cost,
                  absl::FunctionRef<void(const Status& refusal)> record);

}  // namespace concord::quota
