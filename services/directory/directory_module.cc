// File: services/directory/directory_module.cc
#include "services/directory/directory_module.h"

#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "client/notify/messaging_notification_sender.h"
#include "common/log/log.h"
#include "common/notify/message_ids.h"
#include "common/notify/notifier_identity.h"
#include "common/notify/notifier_secret.h"
#include "common/notify/outbox_worker.h"
#include "prometheus/gauge.h"
#include "services/directory/announcer.h"
#include "services/directory/directory_service.h"
#include "services/directory/redis_directory_store.h"

namespace concord::directory {
namespace {

constexpr absl::Duration kGaugeInterval = absl::Seconds(5);

std::string ConsumerName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "replica") + "-" + std::to_string(getpid());
}

// "host:port" of this process's own gRPC listener (the notifier's default messaging target).
std::string SelfTarget(const config::CommonConfig& cfg, const std::atomic<int>& port) {
  const int p = port.load();
  if (p == 0) return "";
  std::string host = cfg.listen_address.substr(0, cfg.listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return host + ":" + std::to_string(p);
}

// Who announces, through what, with which keyed ids (absent: announcements stay queued).
struct Announcer {
  std::unique_ptr<notify::MessagingNotificationSender> sender;
  std::optional<notify::MessageIds> ids;
};

class DirectoryModuleInstance final : public host::ModuleInstance {
 public:
  DirectoryModuleInstance(host::HostDeps& deps, Announcer announcer)
      : store_(deps.redis, deps.config.trust_domain),
        service_(deps.config.trust_domain, store_, deps.audit, deps.clock, deps.revocations),
        roles_(deps.revocations),
        announcer_(std::move(announcer)),
        waiting_(&prometheus::BuildGauge()
                      .Name("concord_directory_announcer_waiting")
                      .Help("1 while the directory notifier (--directory-notifier-dir) is not "
                            "registered and active in the directory: announcements wait in the "
                            "outbox until it is.")
                      .Register(deps.metrics.registry())
                      .Add({})),
        outbox_source_(store_,
                       announcer_.sender != nullptr
                           ? std::optional<AgencyId>(announcer_.sender->identity())
                           : std::nullopt,
                       waiting_),
        outbox_(outbox_source_, announcer_.sender.get(),
                announcer_.ids.has_value() ? &*announcer_.ids : nullptr, deps.metrics,
                DirectoryNotifierOptions(ConsumerName())) {
    for (const std::string& entry : config::BootstrapDirectoryAdmins(deps.config)) {
      if (auto admin = ParseAgencyKey(deps.config.trust_domain, entry); admin.ok()) {
        bootstrap_admins_.push_back(*admin);
      }
    }
    auto& registry = deps.metrics.registry();
    pending_ = &prometheus::BuildGauge()
                    .Name("concord_directory_announcements_pending")
                    .Help(
                        "Announcements of directory changes in the outbox, not yet sent to the "
                        "agencies concerned (deployment-wide: read from Redis).")
                    .Register(registry)
                    .Add({});
    bootstrap_ = &prometheus::BuildGauge()
                      .Name("concord_directory_bootstrap_grant")
                      .Help(
                          "1 while an identity of --bootstrap-directory-admins holds directory "
                          "administration because no active registered agency holds it; register "
                          "a directory administrator and remove the setting.")
                      .Register(registry)
                      .Add({});
    outbox_.Start();
    gauges_ = std::thread([this] { GaugeLoop(); });
  }

  ~DirectoryModuleInstance() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    gauges_.join();
    outbox_.Stop();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  void RefreshGauges() {
    if (auto pending = store_.PendingAnnouncements(); pending.ok()) {
      pending_->Set(static_cast<double>(*pending));
    }
    bool bootstrap = false;
    for (const AgencyId& admin : bootstrap_admins_) bootstrap |= roles_.RolesOf(admin).bootstrap;
    bootstrap_->Set(bootstrap ? 1 : 0);
  }

  void GaugeLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      RefreshGauges();
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(kGaugeInterval), [this] { return stop_; });
    }
  }

  RedisDirectoryStore store_;
  DirectoryService service_;
  const authz::RevocationView& roles_;
  std::vector<AgencyId> bootstrap_admins_;
  Announcer announcer_;
  prometheus::Gauge* waiting_;
  DirectoryAnnouncementOutbox outbox_source_;
  notify::OutboxWorker outbox_;
  prometheus::Gauge* pending_ = nullptr;
  prometheus::Gauge* bootstrap_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread gauges_;
};

}  // namespace

host::Module DirectoryModule() {
  return host::Module{
      .name = "directory",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        Announcer announcer;
        const config::CommonConfig& cfg = deps.config;
        if (!cfg.directory_notifier_dir.empty()) {
          // Security: like every Concord notifier, never with predictable message ids.
          auto secret =
              notify::LoadNotifierSecret(cfg.notifier_secret_file, "--notifier-secret-file");
          if (!secret.ok()) return secret.status();
          auto identity = notify::LoadNotifierIdentity(
              cfg.directory_notifier_dir, cfg.tls_ca, cfg.trust_domain, "--directory-notifier-dir");
          if (!identity.ok()) return identity.status();
          auto ids = notify::MessageIds::Create(*std::move(secret), identity->agency.Key(),
                                                std::string(kAnnouncementIdPrefix));
          if (!ids.ok()) return ids.status();
          announcer.ids.emplace(*std::move(ids));
          const std::atomic<int>* port = &deps.grpc_port;
          announcer.sender = std::make_unique<notify::MessagingNotificationSender>(
              *std::move(identity), [&cfg, port]() -> std::string {
                if (!cfg.directory_messaging_target.empty()) return cfg.directory_messaging_target;
                return SelfTarget(cfg, *port);
              });
          log::Event(log::Level::kInfo, "directory.announcer",
                     {{"identity", announcer.sender->identity().Key()},
                      {"target", cfg.directory_messaging_target.empty()
                                     ? std::string("this server")
                                     : cfg.directory_messaging_target}});
        } else {
          log::Event(log::Level::kWarn, "directory.announcer_disabled",
                     {{"reason",
                       "no --directory-notifier-dir: announcements of directory changes stay "
                       "queued in Redis"}});
        }
        return std::unique_ptr<host::ModuleInstance>(
            std::make_unique<DirectoryModuleInstance>(deps, std::move(announcer)));
      }};
}

}  // namespace concord::directory
