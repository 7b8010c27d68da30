#include "services/audit/audit_module.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_key.h"
#include "common/crypto/ed25519.h"
#include "services/audit/audit_log.h"
#include "services/audit/audit_service.h"
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
        log_(store_, key_, signing_key_, deps.clock),
        service_(log_, &deps.audit),
        checkpointer_(log_, checkpointer_options) {
    checkpointer_.Start();
  }
  ~AuditModuleInstance() override { checkpointer_.Stop(); }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  const AuditKey key_;
  const crypto::Ed25519PrivateKey signing_key_;
  RedisAuditStore store_;
  AuditLog log_;
  AuditService service_;
  Checkpointer checkpointer_;  // last: stopped before the log it uses goes away
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
        return std::unique_ptr<host::ModuleInstance>(std::make_unique<AuditModuleInstance>(
            deps, *std::move(key), *std::move(signing_key), options.checkpointer));
      }};
}

}  // namespace concord::audit
