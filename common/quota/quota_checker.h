// File: common/quota/quota_checker.h
//
// QuotaChecker: what a handler asks before and after a call that stores new data. One per
// process (common/host builds it from --quotas and the storage guard and hands it to every
// module and to the registry of open calls).
//
//   StatusOr<SendResult> r = [&]() -> StatusOr<SendResult> {
//     CONCORD_RETURN_IF_ERROR(quotas.Admit(caller.agency, {quota::Quota::kSend}));  // no I/O
//     return mailbox.Send(...);   // the store's script charges the buckets
//   }();
//   const bool audit = quotas.Observe(caller.agency, r.status());  // once per call
//
// Admit refuses without any I/O: (1) above the storage watermark (StorageGuard), (2) when this
// replica refused the agency's count bucket (every bucket but the byte ones) and the bucket cannot
// hold one token yet (the refusal's RetryInfo less what the refused call's cost beyond one token
// takes to refill): a flood is answered without a Redis round trip and without verifying its
// signatures. Another replica may have drained the bucket
// meanwhile: then the script refuses; the shared bucket in Redis always decides.
//
// Observe counts every refusal by a quota, a cap or the watermark in
// concord_quota_refusals_total{agency_type, limit} (never by agency id), remembers the retry
// time of refused count buckets for Admit, and says whether the refusal should be audited: at
// most one audit record per agency, limit and minute, so that a flood cannot turn into a flood
// of audit records (the metric counts all of them).
//
// Thread safety: thread-safe.
#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_table.h"
#include "common/quota/refusal.h"
#include "common/quota/storage_guard.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "prometheus/counter.h"

namespace concord::quota {

/// concord_quota_refusals_total{agency_type, limit}: registered once per registry (idempotent).
prometheus::Family<prometheus::Counter>& RefusalFamily(metrics::Metrics& metrics);

class QuotaChecker {
 public:
  /// `metrics`, `clock` and `storage` (may be null: no watermark) must outlive the checker.
  QuotaChecker(QuotaTable table, metrics::Metrics& metrics, const Clock& clock,
               const StorageGuard* storage = nullptr,
               absl::Duration audit_interval = absl::Minutes(1));
  QuotaChecker(const QuotaChecker&) = delete;
  QuotaChecker& operator=(const QuotaChecker&) = delete;

  const QuotaTable& table() const { return table_; }

  /// The charge of `cost` on `agency`'s bucket `quota` with its type's spec.
  Charge ChargeOf(const AgencyId& agency, Quota quota, int64_t cost) const;

  /// Before a call that stores new data: the storage watermark, then this replica's recent
  /// refusals of the count buckets among `quotas`. No I/O. Not counted here: pass the call's
  /// outcome to Observe once.
  Status Admit(const AgencyId& agency, std::initializer_list<Quota> quotas);

  /// Admit without the storage watermark, for calls that must go on above it (acknowledgements,
  /// withdrawals, transitions of existing requests) but are still charged a bucket: only this
  /// replica's recent refusals of the count buckets among `quotas`. No I/O.
  /// `cost`: what the call will be charged on its count buckets (ids of an Ack, cases of a List):
  /// a local refusal's RetryInfo is then the time the bucket needs for that cost, as the store's
  /// refusal would say.
  Status AdmitRecent(const AgencyId& agency, std::initializer_list<Quota> quotas, int64_t cost = 1);

  /// After a call: counts a refusal of a quota, a cap or the watermark; remembers, for a refused
  /// count bucket, until when the bucket cannot hold even ONE token: the refusal's RetryInfo is
  /// the time until it holds the refused call's `cost` (e.g. 500 ids of an Ack, 500 cases of a
  /// referral List), and a smaller call may pass sooner. True when the call should be audited
  /// (always, except a refusal of a limit this replica already audited for the agency within
  /// audit_interval).
  bool Observe(const AgencyId& agency, const Status& outcome, int64_t cost = 1);

 private:
  prometheus::Counter& Counter(AgencyType type, const std::string& limit);

  const QuotaTable table_;
  prometheus::Family<prometheus::Counter>& refusals_;
  const Clock& clock_;
  const StorageGuard* storage_;
  const absl::Duration audit_interval_;

  std::mutex mu_;
  std::unordered_map<std::string, absl::Time> blocked_until_;  // "<limit>|<agency>", guarded
  std::unordered_map<std::string, absl::Time> audited_at_;     // "<limit>|<agency>", guarded
};

}  // namespace concord::quota
