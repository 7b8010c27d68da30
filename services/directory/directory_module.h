// File: services/directory/directory_module.h
//
// The directory service as a host module (common/host): what concord-server and
// concord-directory list in their main.cc. Builds the Redis store and the gRPC service from the
// shared HostDeps (Redis pool, audit sink, clock, the deployment's trust domain). The revocation
// cache that enforces suspensions/revocations is the host's (shared by every module).
#pragma once

#include "common/host/service_host.h"

namespace concord::directory {

host::Module DirectoryModule();

}  // namespace concord::directory
