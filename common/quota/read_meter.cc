// File: common/quota/read_meter.cc
#include "common/quota/read_meter.h"

#include <algorithm>
#include <utility>

#include "common/quota/token_bucket.h"

namespace concord::quota {

ReadMeter::ReadMeter(QuotaChecker* quotas, redis::RedisClient* redis, std::string tag, Quota quota)
    : quotas_(quotas), redis_(redis), tag_(std::move(tag)), quota_(quota) {}

ReadAdmission ReadMeter::Charge(const AgencyId& agency, int64_t cost) {
  if (quotas_ == nullptr || redis_ == nullptr) return {absl::OkStatus(), false};
  const quota::Charge charge = quotas_->ChargeOf(agency, quota_, std::max<int64_t>(cost, 1));
  auto decide = [&](Status status) -> ReadAdmission {
    const bool audit = quotas_->Observe(agency, status, charge.cost);
    return {std::move(status), audit};
  };
  if (Status recent = quotas_->AdmitRecent(agency, {quota_}, charge.cost); !recent.ok()) {
    return decide(std::move(recent));
  }
  Status charged = ChargeAlone(*redis_, BucketKey(tag_, charge), charge);
  if (!charged.ok()) return decide(std::move(charged));
  return {absl::OkStatus(), false};
}

Status ChargeRead(ReadMeter* meter, const AgencyId& agency, int64_t cost,
                  absl::FunctionRef<void(const Status& refusal)> record) {
  if (meter == nullptr) return absl::OkStatus();
  ReadAdmission admitted = meter->Charge(agency, cost);
  if (!admitted.status.ok() && admitted.audit) record(admitted.status);
  return admitted.status;
}

}  // namespace concord::quota
