// File: services/directory/directory_module.h
//
// The directory service as a host module (common/host): what concord-server and
// concord-directory list in their main.cc. Builds the Redis store and the gRPC service from the
// shared HostDeps (Redis pool, audit sink, clock, the deployment's trust domain, the host's
// directory cache for the callers' roles), and, with --directory-notifier-dir and
// --notifier-secret-file, the announcer that sends the queued announcements of directory changes
// as admin/concord-directory (announcer.h). Gauges: concord_directory_announcements_pending and
// concord_directory_bootstrap_grant (refreshed every 5 s), concord_directory_announcer_waiting.
#pragma once

#include "common/host/service_host.h"

namespace concord::directory {

host::Module DirectoryModule();

}  // namespace concord::directory
