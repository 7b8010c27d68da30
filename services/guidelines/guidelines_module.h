// File: services/guidelines/guidelines_module.h
//
// The guidelines service as a host module (common/host/service_host.h): concord-server and
// concord-guidelines list GuidelinesModule() and the host builds it from the shared objects.
// The instance owns the Redis store, the directory reader, the Guidebook, the Distributor (its
// follower and backlog workers), a pub/sub subscriber to the feed's announcements, the gRPC
// service and a gauge thread (every 15 s: concord_guideline_ack_ratio and
// concord_guideline_acknowledgements_overdue of the version in force of each guideline, read
// from Redis, so every replica shows the same values).
#pragma once

#include "common/host/service_host.h"

namespace concord::guidelines {

host::Module GuidelinesModule();

}  // namespace concord::guidelines
