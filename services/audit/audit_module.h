// File: services/audit/audit_module.h
//
// The audit service as a host module (common/host): what concord-server and concord-audit list
// in their main.cc. Creates the store, the log, the gRPC service and the background
// Checkpointer from the shared HostDeps plus two files named in the common configuration:
//   --audit-key-file          32-byte AES key sealing records (LoadAuditKey)
//   --audit-signing-key-file  Ed25519 private key (PKCS#8 PEM) signing checkpoints
#pragma once

#include "absl/time/time.h"
#include "common/host/service_host.h"
#include "services/audit/checkpointer.h"

namespace concord::audit {

struct AuditModuleOptions {
  CheckpointerOptions checkpointer;  // default: every 60 s when the head moved
};

/// create() fails with INVALID_ARGUMENT / NOT_FOUND (naming the flag) when a key file is
/// missing or unusable.
host::Module AuditModule(AuditModuleOptions options = {});

}  // namespace concord::audit
