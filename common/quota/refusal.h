// File: common/quota/refusal.h
//
// The one shape of every refusal by a quota, a cap or the storage watermark, so that clients
// handle all of them alike: RESOURCE_EXHAUSTED with, in grpc-status-details-bin,
//   google.rpc.ErrorInfo    reason QUOTA_EXCEEDED | LIMIT_REACHED | STORAGE_WATERMARK, domain
//                           concord.be, metadata {limit: <quota, cap or "storage">,
//                           agency_type: <type>, retry_after_ms: <ms>}
//   google.rpc.RetryInfo    retry_delay: do not try again before it
//   google.rpc.QuotaFailure one violation {subject "agency:<type>/<id>" (or "storage:redis"),
//                           description: the limit and its numbers}
// The caller's own agency id is in the subject (it is the caller's); metrics never carry it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/quota/quota_table.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"

namespace concord::quota {

inline constexpr std::string_view kQuotaExceeded = "QUOTA_EXCEEDED";
inline constexpr std::string_view kLimitReached = "LIMIT_REACHED";
inline constexpr std::string_view kStorageWatermark = "STORAGE_WATERMARK";
/// The metric label / ErrorInfo "limit" of storage watermark refusals.
inline constexpr std::string_view kStorageLimit = "storage";

/// A bucket short of tokens for `retry_after` (from the script).
Status QuotaRefusal(const Charge& charge, absl::Duration retry_after);

/// `agency` already holds `cap_value` of `cap`.
Status CapRefusal(const AgencyId& agency, Cap cap, int cap_value, absl::Duration retry_after);

/// Redis is above the storage watermark: new data is refused until memory is freed.
Status StorageRefusal(AgencyType type, int64_t used_bytes, int64_t watermark_bytes,
                      absl::Duration retry_after);

/// The limit a refusal built above names ("send", "streams", "storage", ...); nullopt for any
/// other status.
std::optional<std::string> RefusedLimitOf(const Status& status);

}  // namespace concord::quota
