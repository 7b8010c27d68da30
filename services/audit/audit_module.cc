#include "services/audit/audit_module.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_key.h"
#include "common/audit/audit_record.h"
#include "common/config/config.h"
#include "common/crypto/ed25519.h"
#include "common/log/log.h"
#include "common/redis/subscriber.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"
#include "services/audit/audit_service.h"
#include "services/audit/checkpoint_exporter.h"
#include "services/audit/redis_audit_store.h"

namespace concord::audit {
namespace {

class AuditModuleInstance final : public host::ModuleInstance {
 public:
  AuditModuleInstance(host::HostDeps& deps, AuditKey key, crypto::Ed25519PrivateKey signing_key,
                      const CheckpointerOptions& checkpointer_options)
      : key_(std::move(key)),
        signing_key_(std::move(signing_key)),
        store_(deps.redis),
        exporter_(deps.config.audit_checkpoint_dir, &deps.metrics.registry()),
        log_(store_, key_, signing_key_, deps.clock, &exporter_),
        ingester_(store_, key_, deps.clock, &deps.metrics.registry(),
                  IngesterOptions{.workloads = config::RedisWorkloads(),
                                  .trust_domain = deps.config.trust_domain,
                                  .batch = 256,
                                  .poll_interval = absl::Milliseconds(500),
                                  .slot_intakes = SlotIntakes(),
                                  .lease = absl::Seconds(1)}),
        reads_(deps.quotas, &deps.redis, "audit"),
        checkpoints_(deps.quotas, &deps.redis, "audit", quota::Quota::kCheckpoint),
        service_(log_, &deps.audit, &ingester_, &reads_, deps.quotas, &checkpoints_),
        checkpointer_(log_, checkpointer_options),
        // Every workload's sink publishes here after appending to its intake.
        wakeups_(
            deps.redis_config, {std::string(kIntakeChannel)},
            [this](const std::string&, const std::string&) { ingester_.Wake(); },
            [this] { ingester_.Wake(); }) {
    ingester_.Start();
    checkpointer_.Start();
  }
  ~AuditModuleInstance() override {
    checkpointer_.Stop();
    ingester_.Stop();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  const AuditKey key_;
  const crypto::Ed25519PrivateKey signing_key_;
  RedisAuditStore store_;
  LogAndFileCheckpointExporter exporter_;
  AuditLog log_;
  AuditIngester ingester_;
  quota::ReadMeter reads_;        // the `read` bucket of Query and Verify
  quota::ReadMeter checkpoints_;  // the `checkpoint` bucket of CreateCheckpoint
  AuditService service_;
  Checkpointer checkpointer_;  // stopped before the log it uses goes away
  redis::Subscriber wakeups_;  // last: destroyed first, its callback uses the ingester
};

}  // namespace

host::Module AuditModule(AuditModuleOptions options) {
  return host::Module{
      .name = "audit",
      .create = [options](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        auto key = LoadAuditKey(deps.config.audit_key_file);
        if (!key.ok()) {
          return InvalidArgumentWithFields(
              "audit module", {{"--audit-key-file", std::string(key.status().message())}});
        }
        if (deps.config.audit_signing_key_file.empty()) {
          return InvalidArgumentWithFields(
              "audit module",
              {{"--audit-signing-key-file",
                "required by the audit service (Ed25519 PKCS#8 PEM signing checkpoints)"}});
        }
        auto signing_key =
            crypto::Ed25519PrivateKey::FromPemFile(deps.config.audit_signing_key_file);
        if (!signing_key.ok()) {
          return InvalidArgumentWithFields(
              "audit module",
              {{"--audit-signing-key-file", std::string(signing_key.status().message())}});
        }
        if (deps.config.audit_checkpoint_dir.empty()) {
          log::Event(log::Level::kWarn, "audit.checkpoint_export_log_only",
                     {{"reason",
                       "no --audit-checkpoint-dir: signed checkpoints are exported to the log "
                       "only"}});
        }
        CheckpointerOptions checkpointer = options.checkpointer;
        checkpointer.interval = absl::Seconds(deps.config.audit_checkpoint_interval_seconds);
        return std::unique_ptr<host::ModuleInstance>(std::make_unique<AuditModuleInstance>(
            deps, *std::move(key), *std::move(signing_key), checkpointer));
      }};
}

}  // namespace concord::audit
