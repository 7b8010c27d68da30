#include "services/referrals/referrals_module.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/notify/messaging_notification_sender.h"
#include "common/clients/directory_reader.h"
#include "common/log/log.h"
#include "common/notify/message_ids.h"
#include "common/notify/notifier_identity.h"
#include "common/notify/notifier_secret.h"
#include "common/notify/outbox_worker.h"
#include "common/status/status_macros.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "services/referrals/notifier.h"
#include "services/referrals/redis_referral_store.h"
#include "services/referrals/referrals_service.h"
#include "services/referrals/scheduler.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {
namespace {

constexpr absl::Duration kGaugeInterval = absl::Seconds(5);

std::string ConsumerName() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return absl::StrCat(host[0] ? host : "replica", "-", getpid());
}

// "host:port" of this process's own gRPC listener (the notifier's default messaging target).
std::string SelfTarget(const config::CommonConfig& cfg, const std::atomic<int>& port) {
  const int p = port.load();
  if (p == 0) return "";
  std::string host = cfg.listen_address.substr(0, cfg.listen_address.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  return absl::StrCat(host, ":", p);
}

// The notifier: who it sends as, through what, and the keyed ids (absent = notifications stay
// queued in Redis).
struct Notifier {
  std::unique_ptr<notify::MessagingNotificationSender> sender;
  std::optional<notify::MessageIds> ids;
};

class ReferralsInstance final : public host::ModuleInstance {
 public:
  ReferralsInstance(host::HostDeps& deps, Notifier notifier, const DeadlineConfig& deadlines)
      : store_(deps.redis),
        directory_(deps.redis, deps.config.trust_domain),
        reads_(deps.quotas, &deps.redis, "ref"),
        service_(store_, directory_, deps.audit, deps.metrics, deps.clock,
                 ReferralsServiceOptions{.trust_domain = deps.config.trust_domain,
                                         .deadlines = deadlines,
                                         .quotas = deps.quotas,
                                         .reads = &reads_}),
        clock_(deps.clock),
        notifier_(std::move(notifier)),
        scheduler_(store_, deps.clock, deps.metrics.registry()),
        outbox_source_(store_, deps.config.trust_domain, deadlines.zone),
        outbox_(outbox_source_, notifier_.sender.get(),
                notifier_.ids.has_value() ? &*notifier_.ids : nullptr, deps.metrics,
                ReferralsNotifierOptions(ConsumerName())) {
    auto& registry = deps.metrics.registry();
    by_state_ = &prometheus::BuildGauge()
                     .Name("concord_referrals")
                     .Help("Referral cases by state (all replicas: read from Redis).")
                     .Register(registry);
    for (v1::CaseState s : kAllCaseStates) {
      state_gauges_[s] = &by_state_->Add({{"state", std::string(StateName(s))}});
    }
    overdue_ = &prometheus::BuildGauge()
                    .Name("concord_referral_deadlines_overdue")
                    .Help(
                        "Running referral deadlines past their due time (centre answers, "
                        "reflection periods, residence documents).")
                    .Register(registry)
                    .Add({});
    pending_ = &prometheus::BuildGauge()
                    .Name("concord_referral_notifications_pending")
                    .Help(
                        "Referral notifications in the outbox, not yet sent as Concord "
                        "messages.")
                    .Register(registry)
                    .Add({});
    scheduler_.Start();
    outbox_.Start();
    gauges_ = std::thread([this] { GaugeLoop(); });
  }

  ~ReferralsInstance() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    gauges_.join();
    outbox_.Stop();
    scheduler_.Stop();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  void RefreshGauges() {
    if (auto counts = store_.CountByState(); counts.ok()) {
      for (auto& [state, gauge] : state_gauges_) {
        auto it = counts->find(state);
        gauge->Set(it == counts->end() ? 0 : static_cast<double>(it->second));
      }
    }
    if (auto overdue = store_.CountOverdue(clock_.Now()); overdue.ok()) {
      overdue_->Set(static_cast<double>(*overdue));
    }
    if (auto pending = store_.OutboxPending(); pending.ok()) {
      pending_->Set(static_cast<double>(*pending));
    }
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

  RedisReferralStore store_;
  clients::DirectoryReader directory_;
  quota::ReadMeter reads_;  // the `read` bucket of the consultations
  ReferralsService service_;
  const Clock& clock_;
  Notifier notifier_;
  DeadlineScheduler scheduler_;
  ReferralsOutbox outbox_source_;
  notify::OutboxWorker outbox_;
  prometheus::Family<prometheus::Gauge>* by_state_ = nullptr;
  std::map<v1::CaseState, prometheus::Gauge*> state_gauges_;
  prometheus::Gauge* overdue_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread gauges_;
};

}  // namespace

StatusOr<DeadlineConfig> DeadlineConfigFrom(const config::CommonConfig& c) {
  // Security: legal days end in the configured zone; without its tz data the process does not
  // start (absl would silently count in UTC).
  StatusOr<DeadlineConfig> d = DeadlineConfig::Defaults(c.referral_time_zone);
  if (!d.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("--referral-time-zone: ", std::string(d.status().message())));
  }
  d->centre_response = Period::Hours(c.referral_centre_response_hours);
  d->reflection = Period::Days(c.referral_reflection_days);
  d->attestation = Period::Months(c.referral_attestation_months);
  d->certificate = Period::Months(c.referral_certificate_months);
  d->reflection_reminder_days = c.referral_reflection_reminder_days;
  d->document_reminder_days = c.referral_document_reminder_days;
  CONCORD_RETURN_IF_ERROR(d->Validate());
  return d;
}

host::Module ReferralsModule() {
  return host::Module{
      .name = "referrals",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        StatusOr<DeadlineConfig> deadlines = DeadlineConfigFrom(deps.config);
        if (!deadlines.ok()) return deadlines.status();
        Notifier notifier;
        const config::CommonConfig& cfg = deps.config;
        if (!cfg.referrals_notifier_dir.empty()) {
          // Security: the notifier refuses to start without the secret its ids are keyed with.
          auto secret =
              notify::LoadNotifierSecret(cfg.notifier_secret_file, "--notifier-secret-file");
          if (!secret.ok()) return secret.status();
          auto identity = notify::LoadNotifierIdentity(
              cfg.referrals_notifier_dir, cfg.tls_ca, cfg.trust_domain, "--referrals-notifier-dir");
          if (!identity.ok()) return identity.status();
          auto ids = notify::MessageIds::Create(*std::move(secret), identity->agency.Key(),
                                                kNotificationIdPrefix);
          if (!ids.ok()) return ids.status();
          notifier.ids.emplace(*std::move(ids));
          const std::atomic<int>* port = &deps.grpc_port;
          notifier.sender = std::make_unique<notify::MessagingNotificationSender>(
              *std::move(identity), [&cfg, port]() -> std::string {
                if (!cfg.referrals_messaging_target.empty()) return cfg.referrals_messaging_target;
                return SelfTarget(cfg, *port);
              });
          log::Event(log::Level::kInfo, "referrals.notifier",
                     {{"identity", notifier.sender->identity().Key()},
                      {"target", cfg.referrals_messaging_target.empty()
                                     ? std::string("this server")
                                     : cfg.referrals_messaging_target}});
        } else {
          log::Event(
              log::Level::kWarn, "referrals.notifier_disabled",
              {{"reason", "no --referrals-notifier-dir: case notifications stay queued in Redis"}});
        }
        return std::unique_ptr<host::ModuleInstance>(
            std::make_unique<ReferralsInstance>(deps, std::move(notifier), *deadlines));
      },
      .guards_storage = true};
}

}  // namespace concord::referrals
