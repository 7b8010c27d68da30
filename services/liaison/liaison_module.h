// File: services/liaison/liaison_module.h
//
// The liaison service as a host module (common/host/service_host.h): concord-server and
// concord-liaison list LiaisonModule(). The instance owns the Redis store ({lia}, ACL user
// concord-liaison), the directory reader, the gRPC service, a clock scheduler (every replica
// runs one; each firing is claimed exactly once in Redis by FireDue), the outbox worker
// (common/notify) that sends notifications through messaging as admin/concord-liaison
// (--liaison-notifier-dir) under message ids keyed with the notifier secret
// (--notifier-secret-file, required with the notifier), and a gauge refresher (every 5 s, read
// from Redis so every replica shows the same values):
//   concord_liaison_requests{type,state}          requests by type and state
//   concord_liaison_deadlines_due_24h{type}       running clocks due within 24 hours
//   concord_liaison_deadlines_overdue{type}       running clocks past their due time
//   concord_liaison_notifications_pending         outbox items not yet sent
// and the counter concord_liaison_clock_firings_total{type,stage}.
//
// Start-up refuses (module.failed, exit 1) when the time-zone database cannot load
// Europe/Brussels (legal days would otherwise end at midnight UTC) or a --liaison-* clock is out
// of range (the message names the flag).
#pragma once

#include "common/host/service_host.h"
#include "services/liaison/clocks.h"

namespace concord::liaison {

/// The clocks from the common configuration (--liaison-*).
ClockConfig ClockConfigFrom(const config::CommonConfig& config);

/// OK when the host's tz database loads `zone` (the default zone of an executor) and names a
/// zone with a daylight-saving rule; FAILED_PRECONDITION otherwise, saying what to install.
Status CheckTimeZoneDatabase(std::string_view zone = kBrusselsTimeZone);

host::Module LiaisonModule();

}  // namespace concord::liaison
