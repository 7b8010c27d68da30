// File: services/federation/gateway_module.cc
#include "services/federation/gateway_module.h"

#include <unistd.h>

#include <memory>
#include <utility>

#include "common/audit/background_audit.h"
#include "common/authz/auth_processor.h"
#include "common/clients/directory_reader.h"
#include "common/log/log.h"
#include "common/server/server_runner.h"
#include "common/status/status_macros.h"
#include "services/federation/gateway.h"
#include "services/federation/gateway_service.h"
#include "services/federation/liaison_link.h"
#include "services/federation/partner_link.h"
#include "services/federation/redis_inbox_store.h"

namespace concord::federation {
namespace {

class GatewayInstance final : public host::ModuleInstance {
 public:
  GatewayInstance(host::HostDeps& deps, FederationConfig config, crypto::Ed25519PrivateKey key)
      : config_(std::move(config)),
        store_(deps.redis),
        directory_(deps.redis, deps.config.trust_domain),
        link_(config_),
        liaison_(config_.liaison_address.empty()
                     ? nullptr
                     : std::make_unique<LiaisonLink>(
                           config_.liaison_address,
                           TlsFiles{config_.gateway_cert_file, config_.gateway_key_file,
                                    deps.config.tls_ca})),
        reads_(deps.quotas, &deps.redis, "gw"),
        gateway_(GatewayDeps{.config = config_,
                             .export_key = std::move(key),
                             .store = store_,
                             .directory = directory_,
                             .audit = deps.audit,
                             .metrics = deps.metrics,
                             .clock = deps.clock,
                             .partner = link_,
                             .quotas = deps.quotas,
                             .reads = &reads_,
                             .liaison = liaison_.get()}),
        gateway_service_(gateway_),
        federation_service_(gateway_),
        authorizer_(deps.config.trust_domain, deps.revocations, {config_.partner_trust_domain}),
        processor_(std::make_shared<authz::AuthProcessor>(authorizer_, deps.metrics)),
        refusals_(deps.audit, deps.metrics) {
    // Every refused call on the partner port is audited (off the transport thread).
    // (The host's HostDeps is a temporary: capture the long-lived clock, never `deps`.)
    Clock* clock = &deps.clock;
    processor_->SetDenialObserver(
        [this, clock](const Caller& caller, std::string_view method, const Status& refusal) {
          refusals_.Submit(audit::AuditEvent{.agency = caller.agency,
                                             .officer = "",
                                             .operation = audit::Operation::kConsultation,
                                             .object = "authz:" + ReasonOf(refusal),
                                             .method = std::string(method),
                                             .justification = "",
                                             .recipients = {},
                                             .outcome = absl::StatusCodeToString(refusal.code()),
                                             .time = clock->Now()});
        });
  }

  Status Start(const host::HostDeps& deps) {
    ServerOptions options;
    options.listen_address = config_.listen_address;
    options.health_address = "";
    options.metrics_address = "";
    options.tls =
        TlsFiles{config_.gateway_cert_file, config_.gateway_key_file, config_.partner_ca_file};
    options.tls_refresh_seconds = deps.config.tls_refresh_seconds;
    options.handle_signals = false;
    partner_port_ = std::make_unique<ServerRunner>(options, deps.metrics, processor_);
    partner_port_->AddService(&gateway_service_);
    CONCORD_RETURN_IF_ERROR(partner_port_->Start());
    log::Event(log::Level::kInfo, "federation.partner_port",
               {{"address", config_.listen_address},
                {"port", std::to_string(partner_port_->port())},
                {"partner", config_.partner_trust_domain}});
    gateway_.Start();
    return absl::OkStatus();
  }

  ~GatewayInstance() override {
    gateway_.Stop();
    if (partner_port_ != nullptr) partner_port_->Shutdown();
    refusals_.Flush();
  }

  std::vector<grpc::Service*> services() override { return {&federation_service_}; }

 private:
  FederationConfig config_;
  RedisInboxStore store_;
  clients::DirectoryReader directory_;
  PartnerLink link_;
  std::unique_ptr<LiaisonLink> liaison_;  // null without liaison_address
  quota::ReadMeter reads_;                // the `read` bucket of ListInbound
  Gateway gateway_;
  GatewayService gateway_service_;
  FederationService federation_service_;
  authz::Authorizer authorizer_;
  std::shared_ptr<authz::AuthProcessor> processor_;
  audit::BackgroundAuditWriter refusals_;
  std::unique_ptr<ServerRunner> partner_port_;
};

struct GatewaySetup {
  FederationConfig config;
  crypto::Ed25519PrivateKey export_key;
};

// What the gateway reads at start: the federation configuration and the export signing key.
// INVALID_ARGUMENT naming the flag or the configuration key at fault.
StatusOr<GatewaySetup> LoadSetup(const config::CommonConfig& cfg) {
  if (cfg.federation_config.empty()) {
    return InvalidArgumentWithFields(
        "invalid configuration",
        {{"--federation-config", "is required by the federation gateway"}});
  }
  StatusOr<FederationConfig> config = LoadFederationConfig(cfg.federation_config, cfg.trust_domain);
  if (absl::IsNotFound(config.status())) {
    return InvalidArgumentWithFields(
        "invalid configuration", {{"--federation-config", std::string(config.status().message())}});
  }
  if (!config.ok()) return config.status();
  // The files the partner port and the export read, named by their configuration key.
  FieldErrors errors;
  for (const auto& [key, path] :
       {std::pair<const char*, const std::string&>{"partner_ca_file", config->partner_ca_file},
        {"gateway_cert_file", config->gateway_cert_file},
        {"gateway_key_file", config->gateway_key_file}}) {
    if (::access(path.c_str(), R_OK) != 0) {
      errors.Add(key, "file not found or not readable: \"" + path + "\"");
    }
  }
  StatusOr<crypto::Ed25519PrivateKey> key =
      crypto::Ed25519PrivateKey::FromPemFile(config->export_key_file);
  if (!key.ok()) errors.Add("export_key_file", std::string(key.status().message()));
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid federation configuration"));
  return GatewaySetup{*std::move(config), *std::move(key)};
}

}  // namespace

host::Module GatewayModule() {
  return host::Module{
      .name = "gateway",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        CONCORD_ASSIGN_OR_RETURN(GatewaySetup setup, LoadSetup(deps.config));
        auto instance = std::make_unique<GatewayInstance>(deps, std::move(setup.config),
                                                          std::move(setup.export_key));
        CONCORD_RETURN_IF_ERROR(instance->Start(deps));
        return std::unique_ptr<host::ModuleInstance>(std::move(instance));
      },
      .guards_storage = true,
      .check_config = [](const config::CommonConfig& cfg) -> Status {
        return LoadSetup(cfg).status();
      }};
}

}  // namespace concord::federation
