// File: services/referrals/referrals_module.h
//
// The referrals service as a host module (common/host/service_host.h): concord-server and
// concord-referrals list ReferralsModule(). The instance owns the Redis store, the directory
// reader, the gRPC service, the deadline scheduler (every replica runs one; each firing is
// claimed exactly once in Redis), the outbox worker (common/notify) that sends notifications
// through messaging as admin/concord-referrals (--referrals-notifier-dir) under message ids keyed
// with the notifier secret (--notifier-secret-file, required with the notifier), and a gauge
// refresher
// (concord_referrals{state}, concord_referral_deadlines_overdue,
// concord_referral_notifications_pending; every 5 s).
#pragma once

#include "common/host/service_host.h"
#include "services/referrals/deadlines.h"

namespace concord::referrals {

/// The durations of the procedure from the common configuration (--referral-*), with the legal
/// zone loaded (FAILED_PRECONDITION naming --referral-time-zone when the tz database does not
/// know it; INVALID_ARGUMENT when a reminder is not shorter than its period).
StatusOr<DeadlineConfig> DeadlineConfigFrom(const config::CommonConfig& config);

host::Module ReferralsModule();

}  // namespace concord::referrals
