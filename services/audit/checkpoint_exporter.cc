#include "services/audit/checkpoint_exporter.h"

#include <utility>
#include <vector>

#include "common/audit/checkpoint_export.h"
#include "common/log/log.h"
#include "prometheus/family.h"

namespace concord::audit {

LogAndFileCheckpointExporter::LogAndFileCheckpointExporter(std::string dir,
                                                           prometheus::Registry* registry)
    : dir_(std::move(dir)) {
  if (registry == nullptr) return;
  auto& exports = prometheus::BuildCounter()
                      .Name("concord_audit_checkpoint_exports_total")
                      .Help(
                          "Signed audit checkpoints exported outside Redis (file in "
                          "--audit-checkpoint-dir; log line only when none is set), by outcome.")
                      .Register(*registry);
  ok_ = &exports.Add({{"outcome", "ok"}});
  failed_ = &exports.Add({{"outcome", "failed"}});
  last_ = &prometheus::BuildGauge()
               .Name("concord_audit_checkpoint_last_export_timestamp_seconds")
               .Help(
                   "Signing time (Unix seconds) of the last audit checkpoint exported outside "
                   "Redis by this replica; records after it are not yet protected by an export.")
               .Register(*registry)
               .Add({});
}

void LogAndFileCheckpointExporter::Export(const Checkpoint& cp,
                                          const crypto::Ed25519PublicKey& key) {
  const std::vector<std::pair<std::string, std::string>> fields =
      CheckpointExportFields(cp, key.Raw());
  // log::Fields is an initializer_list: spell the fields out (the order of the export format).
  log::Event(log::Level::kInfo, "audit.checkpoint",
             {{fields[0].first, fields[0].second},
              {fields[1].first, fields[1].second},
              {fields[2].first, fields[2].second},
              {fields[3].first, fields[3].second},
              {fields[4].first, fields[4].second},
              {fields[5].first, fields[5].second},
              {fields[6].first, fields[6].second}});
  if (!dir_.empty()) {
    if (Status written = WriteCheckpointExportFile(dir_, cp, key.Raw()); !written.ok()) {
      log::Event(log::Level::kError, "audit.checkpoint_export_failed",
                 {{"seq", std::to_string(cp.seq)}, {"error", std::string(written.message())}});
      if (failed_ != nullptr) failed_->Increment();
      return;
    }
  }
  if (ok_ != nullptr) {
    ok_->Increment();
    last_->Set(absl::ToDoubleSeconds(cp.time - absl::UnixEpoch()));
  }
}

}  // namespace concord::audit
