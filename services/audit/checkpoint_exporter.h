// File: services/audit/checkpoint_exporter.h
//
// Copies every signed checkpoint out of Redis as soon as it is made (AuditLog calls Export):
// one JSON line in the log (event "audit.checkpoint", collected with the other logs) and, when
// a directory is configured (--audit-checkpoint-dir; a separate volume in Kubernetes), a file
// checkpoint-<seq>.json in the format of common/audit/checkpoint_export.h. Whoever controls
// Redis can delete the checkpoints stored there; these copies still let
// `concordctl audit verify --expect-checkpoint` detect a cut or rewritten log.
//
// A failed file write is logged and counted (concord_audit_checkpoint_exports_total{outcome=
// "failed"}), never fatal: the checkpoint stays in Redis and the log line was written; the next
// checkpoint is exported again. concord_audit_checkpoint_last_export_timestamp_seconds (the
// signing time of the last checkpoint whose file was written, or logged when no directory is
// set) is what the alert ConcordAuditCheckpointExportStale watches.
//
// Thread-safe.
#pragma once

#include <string>

#include "common/audit/checkpoint.h"
#include "common/crypto/ed25519.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace concord::audit {

class CheckpointExporter {
 public:
  virtual ~CheckpointExporter() = default;
  /// Exports `cp`, signed by `key`. Never fails the caller.
  virtual void Export(const Checkpoint& cp, const crypto::Ed25519PublicKey& key) = 0;
};

/// The log line, plus the file when `dir` is not empty.
class LogAndFileCheckpointExporter final : public CheckpointExporter {
 public:
  /// `registry` may be null (no metrics).
  LogAndFileCheckpointExporter(std::string dir, prometheus::Registry* registry);
  void Export(const Checkpoint& cp, const crypto::Ed25519PublicKey& key) override;

 private:
  const std::string dir_;
  prometheus::Counter* ok_ = nullptr;
  prometheus::Counter* failed_ = nullptr;
  prometheus::Gauge* last_ = nullptr;
};

}  // namespace concord::audit
