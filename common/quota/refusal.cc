// File: common/quota/refusal.cc
#include "common/quota/refusal.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace concord::quota {
namespace {

std::string Ms(absl::Duration d) {
  return absl::StrCat(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)))));
}

std::string Seconds(absl::Duration d) {
  return absl::StrCat(std::ceil(absl::ToDoubleSeconds(d) * 10) / 10, " s");
}

}  // namespace

Status QuotaRefusal(const Charge& charge, absl::Duration retry_after) {
  const std::string name(QuotaName(charge.quota));
  const std::string numbers = absl::StrCat(name, ": burst ", charge.spec.burst, ", refilled ",
                                           charge.spec.per_second, "/s");
  Status s = absl::ResourceExhaustedError(absl::StrCat(name, " quota of agency ",
                                                       charge.agency.Key(), " exceeded (", numbers,
                                                       "); retry in ", Seconds(retry_after)));
  s = WithReason(std::move(s), kQuotaExceeded,
                 {{"limit", name},
                  {"agency_type", std::string(AgencyTypeName(charge.agency.type))},
                  {"retry_after_ms", Ms(retry_after)}});
  s = WithRetryInfo(std::move(s), retry_after);
  return WithQuotaFailure(std::move(s), absl::StrCat("agency:", charge.agency.Key()), numbers);
}

Status CapRefusal(const AgencyId& agency, Cap cap, int cap_value, absl::Duration retry_after) {
  const std::string name(CapName(cap));
  std::string what;
  switch (cap) {
    case Cap::kStreams:
      what = absl::StrCat("at most ", cap_value, " streams open per agency on one server");
      break;
    case Cap::kPendingUploads:
      what = absl::StrCat("at most ", cap_value,
                          " attachments uploaded and not yet sent per agency (send or let them "
                          "expire)");
      break;
    case Cap::kDrafts:
      what = absl::StrCat("at most ", cap_value,
                          " referral drafts per agency (submit or close drafts first)");
      break;
    case Cap::kVerifications:
      what = absl::StrCat("at most ", cap_value,
                          " audit verifications running per agency on one server (wait for the "
                          "running one, or verify a shorter range)");
      break;
  }
  Status s = absl::ResourceExhaustedError(
      absl::StrCat(name, " limit of agency ", agency.Key(), " reached: ", what));
  s = WithReason(std::move(s), kLimitReached,
                 {{"limit", name},
                  {"agency_type", std::string(AgencyTypeName(agency.type))},
                  {"retry_after_ms", Ms(retry_after)}});
  s = WithRetryInfo(std::move(s), retry_after);
  return WithQuotaFailure(std::move(s), absl::StrCat("agency:", agency.Key()),
                          absl::StrCat(name, ": ", what));
}

Status StorageRefusal(AgencyType type, int64_t used_bytes, int64_t watermark_bytes,
                      absl::Duration retry_after) {
  const std::string numbers =
      absl::StrCat("storage: Redis uses ", used_bytes, " bytes, at or above the watermark of ",
                   watermark_bytes, " bytes");
  Status s = absl::ResourceExhaustedError(
      absl::StrCat("storage is nearly full: new messages, uploads and drafts are refused until "
                   "space is freed (",
                   numbers, "); acknowledgements and reads still work"));
  s = WithReason(std::move(s), kStorageWatermark,
                 {{"limit", std::string(kStorageLimit)},
                  {"agency_type", std::string(AgencyTypeName(type))},
                  {"retry_after_ms", Ms(retry_after)}});
  s = WithRetryInfo(std::move(s), retry_after);
  return WithQuotaFailure(std::move(s), "storage:redis", numbers);
}

std::optional<std::string> RefusedLimitOf(const Status& status) {
  if (status.code() != absl::StatusCode::kResourceExhausted) return std::nullopt;
  const std::string reason = ReasonOf(status);
  if (reason != kQuotaExceeded && reason != kLimitReached && reason != kStorageWatermark) {
    return std::nullopt;
  }
  const auto metadata = ReasonMetadataOf(status);
  auto it = metadata.find("limit");
  if (it == metadata.end()) return std::nullopt;
  return it->second;
}

}  // namespace concord::quota
