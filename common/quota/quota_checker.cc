// File: common/quota/quota_checker.cc
#include "common/quota/quota_checker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "prometheus/family.h"

namespace concord::quota {
namespace {

// Both maps are bounded: past this many entries they are cleared (worst case: one refusal more
// goes to Redis, one audit record more is written).
constexpr size_t kMaxEntries = 10000;

bool IsCountBucket(Quota q) { return !IsByteQuota(q); }

// By SPIFFE id: the federation gateway charges agencies of a partner trust domain too, which may
// share a type and id with a local agency.
std::string EntryKey(std::string_view limit, const AgencyId& agency) {
  return absl::StrCat(std::string(limit), "|", agency.ToSpiffe());
}

}  // namespace

prometheus::Family<prometheus::Counter>& RefusalFamily(metrics::Metrics& metrics) {
  // Registered with the same name and help by every user: prometheus-cpp merges them.
  return prometheus::BuildCounter()
      .Name("concord_quota_refusals_total")
      .Help(
          "Calls refused with RESOURCE_EXHAUSTED by a per-agency quota (send, send_bytes, upload, "
          "upload_bytes, draft, publish, ack, liaison_request, jit_write, msg_ack, read, "
          "checkpoint), a "
          "cap "
          "(streams, pending_uploads, drafts, verifications) or the Redis storage watermark "
          "(storage), by the "
          "caller's agency type.")
      .Register(metrics.registry());
}

QuotaChecker::QuotaChecker(QuotaTable table, metrics::Metrics& metrics, const Clock& clock,
                           const StorageGuard* storage, absl::Duration audit_interval)
    : table_(std::move(table)),
      refusals_(RefusalFamily(metrics)),
      clock_(clock),
      storage_(storage),
      audit_interval_(audit_interval) {
  // Every series exists from the start (a rate() over a series that appears late misses its
  // first increments); 10 types x 15 limits.
  for (AgencyType type : kAllAgencyTypes) {
    for (Quota q : kAllQuotas) Counter(type, std::string(QuotaName(q)));
    for (Cap c : kAllCaps) Counter(type, std::string(CapName(c)));
    Counter(type, std::string(kStorageLimit));
  }
}

prometheus::Counter& QuotaChecker::Counter(AgencyType type, const std::string& limit) {
  return refusals_.Add({{"agency_type", std::string(AgencyTypeName(type))}, {"limit", limit}});
}

Charge QuotaChecker::ChargeOf(const AgencyId& agency, Quota quota, int64_t cost) const {
  return Charge{quota, agency, table_.Bucket(agency.type, quota), cost};
}

Status QuotaChecker::Admit(const AgencyId& agency, std::initializer_list<Quota> quotas) {
  if (storage_ != nullptr) {
    if (Status refused = storage_->Check(agency.type); !refused.ok()) return refused;
  }
  return AdmitRecent(agency, quotas);
}

Status QuotaChecker::AdmitRecent(const AgencyId& agency, std::initializer_list<Quota> quotas,
                                 int64_t cost) {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  for (Quota q : quotas) {
    if (!IsCountBucket(q)) continue;
    auto it = blocked_until_.find(EntryKey(QuotaName(q), agency));
    if (it == blocked_until_.end()) continue;
    if (it->second <= now) {
      blocked_until_.erase(it);
      continue;
    }
    // Blocked until one token is back; the call's cost beyond it takes (cost - 1) / refill more.
    absl::Duration retry = it->second - now;
    const double per_second = table_.Bucket(agency.type, q).per_second;
    if (cost > 1 && per_second > 0) {
      retry += absl::Seconds(static_cast<double>(cost - 1) / per_second);
    }
    return QuotaRefusal(ChargeOf(agency, q, std::max<int64_t>(cost, 1)), retry);
  }
  return absl::OkStatus();
}

bool QuotaChecker::Observe(const AgencyId& agency, const Status& outcome, int64_t cost) {
  const std::optional<std::string> limit = RefusedLimitOf(outcome);
  if (!limit.has_value()) return true;
  Counter(agency.type, *limit).Increment();
  const absl::Time now = clock_.Now();
  const std::string key = EntryKey(*limit, agency);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto q = ParseQuota(*limit); q.has_value() && IsCountBucket(*q)) {
    absl::Duration delay = RetryDelayOf(outcome);
    // The bucket refills at `per_second`: it holds one token (cost - 1) / per_second before it
    // holds the refused cost.
    const double per_second = table_.Bucket(agency.type, *q).per_second;
    if (cost > 1 && per_second > 0 && delay != absl::InfiniteDuration()) {
      delay -= absl::Seconds(static_cast<double>(cost - 1) / per_second);
    }
    if (delay > absl::ZeroDuration() && delay != absl::InfiniteDuration()) {
      if (blocked_until_.size() >= kMaxEntries) blocked_until_.clear();
      absl::Time& until = blocked_until_[key];
      until = std::max(until, now + delay);
    }
  }
  auto it = audited_at_.find(key);
  if (it != audited_at_.end() && now - it->second < audit_interval_) return false;
  if (audited_at_.size() >= kMaxEntries) audited_at_.clear();
  audited_at_[key] = now;
  return true;
}

}  // namespace concord::quota
