// File: services/audit/audit_module.h
//
// The audit service as a host module (common/host): what concord-server and concord-audit list
// in their main.cc. Creates the store, the log, the gRPC service, the ingester (worker thread,
// woken through the concord:audit:intake channel) that chains every workload's intake, the
// checkpoint exporter and the background Checkpointer, from the HostDeps (the module's own
// Redis user: the only one that may write the chain) plus the common configuration:
//   --audit-key-file          32-byte AES key sealing records (LoadAuditKey)
//   --audit-signing-key-file  Ed25519 private key (PKCS#8 PEM) signing checkpoints
//   --audit-checkpoint-interval-seconds, --audit-checkpoint-dir  (checkpoint_exporter.h)
#pragma once

#include "absl/time/time.h"
#include "common/host/service_host.h"
#include "services/audit/checkpointer.h"

namespace concord::audit {

struct AuditModuleOptions {
  /// every_records and poll_interval; the interval is --audit-checkpoint-interval-seconds.
  CheckpointerOptions checkpointer;
};

/// create() fails with INVALID_ARGUMENT / NOT_FOUND (naming the flag) when a key file is
/// missing or unusable.
host::Module AuditModule(AuditModuleOptions options = {});

}  // namespace concord::audit
