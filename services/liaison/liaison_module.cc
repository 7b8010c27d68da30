// File: services/liaison/liaison_module.cc
#include "services/liaison/liaison_module.h"

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/notify/messaging_notification_sender.h"
#include "common/clients/directory_reader.h"
#include "common/log/log.h"
#include "common/notify/message_ids.h"
#include "common/notify/notifier_identity.h"
#include "common/notify/notifier_secret.h"
#include "common/notify/outbox_worker.h"
#include "common/server/open_calls.h"
#include "common/time/calendar.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "services/liaison/liaison_service.h"
#include "services/liaison/notifier.h"
#include "services/liaison/redis_liaison_store.h"
#include "services/liaison/requests.h"

namespace concord::liaison {
namespace {

constexpr absl::Duration kGaugeInterval = absl::Seconds(5);
constexpr absl::Duration kFireInterval = absl::Seconds(1);
constexpr int kFireBatch = 100;
constexpr int kMaxBatchesPerRun = 100;

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

struct Notifier {
  std::unique_ptr<notify::MessagingNotificationSender> sender;
  std::optional<notify::MessageIds> ids;
};

class LiaisonInstance final : public host::ModuleInstance {
 public:
  LiaisonInstance(host::HostDeps& deps, Notifier notifier)
      : store_(deps.redis),
        directory_(deps.redis, deps.config.trust_domain),
        reads_(deps.quotas, &deps.redis, "lia"),
        own_calls_(deps.open_calls != nullptr ? nullptr
                                              : std::make_unique<server::OpenCalls>(
                                                    deps.revocations, deps.metrics, deps.clock)),
        service_(store_, directory_, deps.audit, deps.metrics,
                 deps.open_calls != nullptr ? *deps.open_calls : *own_calls_, deps.clock,
                 LiaisonServiceOptions{.trust_domain = deps.config.trust_domain,
                                       .clocks = ClockConfigFrom(deps.config),
                                       .quotas = deps.quotas,
                                       .reads = &reads_}),
        clock_(deps.clock),
        notifier_(std::move(notifier)),
        outbox_source_(store_, deps.config.trust_domain),
        outbox_(outbox_source_, notifier_.sender.get(),
                notifier_.ids.has_value() ? &*notifier_.ids : nullptr, deps.metrics,
                LiaisonNotifierOptions(ConsumerName())) {
    auto& registry = deps.metrics.registry();
    by_type_state_ =
        &prometheus::BuildGauge()
             .Name("concord_liaison_requests")
             .Help("Liaison requests by type and state (all replicas: read from Redis).")
             .Register(registry);
    due_24h_ = &prometheus::BuildGauge()
                    .Name("concord_liaison_deadlines_due_24h")
                    .Help("Running liaison clocks due within the next 24 hours, by request type.")
                    .Register(registry);
    overdue_ = &prometheus::BuildGauge()
                    .Name("concord_liaison_deadlines_overdue")
                    .Help(
                        "Running liaison clocks past their legal due time (EIO acknowledgement, "
                        "recognition, execution; 2023/977 answers; e-Evidence orders), by "
                        "request type.")
                    .Register(registry);
    for (v1::RequestType t : kAllRequestTypes) {
      const std::string type(TypeLabel(t));
      overdue_->Add({{"type", type}});
      due_24h_->Add({{"type", type}});
    }
    pending_ = &prometheus::BuildGauge()
                    .Name("concord_liaison_notifications_pending")
                    .Help("Liaison notifications in the outbox, not yet sent as Concord messages.")
                    .Register(registry)
                    .Add({});
    firings_ = &prometheus::BuildCounter()
                    .Name("concord_liaison_clock_firings_total")
                    .Help(
                        "Liaison clock firings claimed by this replica, by request type and stage "
                        "(reminder, overdue, follow_up).")
                    .Register(registry);
    outbox_.Start();
    worker_ = std::thread([this] { Loop(); });
  }

  ~LiaisonInstance() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
    outbox_.Stop();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  // Claims every firing due now, in bounded batches (each claimed exactly once across replicas).
  Status Fire() {
    const absl::Time now = clock_.Now();
    for (int i = 0; i < kMaxBatchesPerRun; ++i) {
      StatusOr<std::vector<ClaimedFiring>> fired = store_.FireDue(now, kFireBatch);
      if (!fired.ok()) return fired.status();
      for (const ClaimedFiring& f : *fired) {
        firings_->Add({{"type", f.type_label}, {"stage", f.stage}}).Increment();
      }
      if (static_cast<int>(fired->size()) < kFireBatch) break;
    }
    return absl::OkStatus();
  }

  void RefreshGauges() {
    const absl::Time now = clock_.Now();
    if (auto counts = store_.CountByTypeState(); counts.ok()) {
      std::set<std::string> seen;
      for (const auto& [key, n] : *counts) {
        const size_t colon = key.find(':');
        if (colon == std::string::npos) continue;
        by_type_state_->Add({{"type", key.substr(0, colon)}, {"state", key.substr(colon + 1)}})
            .Set(static_cast<double>(n));
        seen.insert(key);
      }
      for (const std::string& key : shown_) {  // a type:state that emptied shows 0
        if (seen.count(key) > 0) continue;
        const size_t colon = key.find(':');
        by_type_state_->Add({{"type", key.substr(0, colon)}, {"state", key.substr(colon + 1)}})
            .Set(0);
      }
      shown_.insert(seen.begin(), seen.end());
    }
    auto set_by_type = [](prometheus::Family<prometheus::Gauge>* family,
                          const std::map<std::string, int64_t>& by_type) {
      for (v1::RequestType t : kAllRequestTypes) {
        const std::string type(TypeLabel(t));
        auto it = by_type.find(type);
        family->Add({{"type", type}})
            .Set(it == by_type.end() ? 0 : static_cast<double>(it->second));
      }
    };
    if (auto overdue = store_.CountDueBetween(absl::InfinitePast(), now); overdue.ok()) {
      set_by_type(overdue_, *overdue);
    }
    if (auto soon = store_.CountDueBetween(now, now + absl::Hours(24)); soon.ok()) {
      set_by_type(due_24h_, *soon);
    }
    if (auto pending = store_.OutboxPending(); pending.ok()) {
      pending_->Set(static_cast<double>(*pending));
    }
  }

  void Loop() {
    bool failing = false;
    std::unique_lock<std::mutex> lock(mu_);
    absl::Time next_gauges = absl::InfinitePast();
    while (!stop_) {
      lock.unlock();
      const Status fired = Fire();
      // Log transitions only, so a Redis outage does not flood the log (the status names no
      // request content).
      if (!fired.ok() && !failing) {
        log::Event(log::Level::kWarn, "liaison.clocks.fire_failed",
                   {{"error", std::string(fired.message())}});
      } else if (fired.ok() && failing) {
        log::Event(log::Level::kInfo, "liaison.clocks.fire_recovered");
      }
      failing = !fired.ok();
      if (clock_.Now() >= next_gauges) {
        RefreshGauges();
        next_gauges = clock_.Now() + kGaugeInterval;
      }
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(kFireInterval), [this] { return stop_; });
    }
  }

  RedisLiaisonStore store_;
  clients::DirectoryReader directory_;
  quota::ReadMeter reads_;  // the `read` bucket of the consultations
  // Only when the host runs no registry of open calls (some tests).
  std::unique_ptr<server::OpenCalls> own_calls_;
  LiaisonService service_;
  const Clock& clock_;
  Notifier notifier_;
  LiaisonOutbox outbox_source_;
  notify::OutboxWorker outbox_;
  prometheus::Family<prometheus::Gauge>* by_type_state_ = nullptr;
  prometheus::Family<prometheus::Gauge>* due_24h_ = nullptr;
  prometheus::Family<prometheus::Gauge>* overdue_ = nullptr;
  prometheus::Gauge* pending_ = nullptr;
  prometheus::Family<prometheus::Counter>* firings_ = nullptr;
  std::set<std::string> shown_;  // type:state pairs with a gauge (worker thread only)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace

ClockConfig ClockConfigFrom(const config::CommonConfig& c) {
  ClockConfig k;
  k.eio_acknowledgement_days = c.liaison_eio_acknowledgement_days;
  k.eio_recognition_days = c.liaison_eio_recognition_days;
  k.eio_recognition_extension_max_days = c.liaison_eio_recognition_extension_max_days;
  k.eio_execution_days = c.liaison_eio_execution_days;
  k.spoc_urgent_direct_hours = c.liaison_spoc_urgent_direct_hours;
  k.spoc_urgent_indirect_days = c.liaison_spoc_urgent_indirect_days;
  k.spoc_standard_days = c.liaison_spoc_standard_days;
  k.production_days = c.liaison_production_days;
  k.production_emergency_hours = c.liaison_production_emergency_hours;
  k.preservation_days = c.liaison_preservation_days;
  k.preservation_extension_max_days = c.liaison_preservation_extension_max_days;
  k.reminder_lead_hours = c.liaison_reminder_lead_hours;
  k.short_reminder_lead_hours = c.liaison_short_reminder_lead_hours;
  return k;
}

Status CheckTimeZoneDatabase(std::string_view zone) {
  StatusOr<absl::TimeZone> loaded = LoadTimeZone(zone);
  if (!loaded.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "liaison: the time-zone database cannot load ", std::string(zone),
        " (install the tzdata package, or fix TZDIR): legal days end at the end of a day in the "
        "executing authority's zone and would otherwise be counted in UTC"));
  }
  // A truncated database can load a zone without its rules: Brussels must change its offset
  // between January and July.
  const absl::TimeZone::CivilInfo winter =
      loaded->At(absl::FromCivil(absl::CivilSecond(2026, 1, 15, 12, 0, 0), absl::UTCTimeZone()));
  const absl::TimeZone::CivilInfo summer =
      loaded->At(absl::FromCivil(absl::CivilSecond(2026, 7, 15, 12, 0, 0), absl::UTCTimeZone()));
  if (zone == kBrusselsTimeZone && winter.offset == summer.offset) {
    return absl::FailedPreconditionError(
        absl::StrCat("liaison: the time-zone database has no daylight-saving rule for ",
                     std::string(zone), " (install the tzdata package)"));
  }
  return absl::OkStatus();
}

host::Module LiaisonModule() {
  return host::Module{
      .name = "liaison",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        // Fail fast: without the tz database absl::LoadTimeZone falls back to UTC silently.
        if (Status tz = CheckTimeZoneDatabase(); !tz.ok()) return tz;
        if (Status s = ClockConfigFrom(deps.config).Validate(); !s.ok()) {
          // The host logs the message only: name every flag in it.
          std::string detail(s.message());
          for (const auto& v : FieldViolationsOf(s))
            absl::StrAppend(&detail, "; ", v.field, ": ", v.description);
          return absl::InvalidArgumentError(detail);
        }
        Notifier notifier;
        const config::CommonConfig& cfg = deps.config;
        if (!cfg.liaison_notifier_dir.empty()) {
          // Security: the notifier refuses to start without the secret its ids are keyed with.
          auto secret =
              notify::LoadNotifierSecret(cfg.notifier_secret_file, "--notifier-secret-file");
          if (!secret.ok()) return secret.status();
          auto identity = notify::LoadNotifierIdentity(cfg.liaison_notifier_dir, cfg.tls_ca,
                                                       cfg.trust_domain, "--liaison-notifier-dir");
          if (!identity.ok()) return identity.status();
          auto ids = notify::MessageIds::Create(*std::move(secret), identity->agency.Key(),
                                                kNotificationIdPrefix);
          if (!ids.ok()) return ids.status();
          notifier.ids.emplace(*std::move(ids));
          const std::atomic<int>* port = &deps.grpc_port;
          notifier.sender = std::make_unique<notify::MessagingNotificationSender>(
              *std::move(identity), [&cfg, port]() -> std::string {
                if (!cfg.liaison_messaging_target.empty()) return cfg.liaison_messaging_target;
                return SelfTarget(cfg, *port);
              });
          log::Event(
              log::Level::kInfo, "liaison.notifier",
              {{"identity", notifier.sender->identity().Key()},
               {"target", cfg.liaison_messaging_target.empty() ? std::string("this server")
                                                               : cfg.liaison_messaging_target}});
        } else {
          log::Event(log::Level::kWarn, "liaison.notifier_disabled",
                     {{"reason",
                       "no --liaison-notifier-dir: request notifications stay queued in Redis"}});
        }
        return std::unique_ptr<host::ModuleInstance>(
            std::make_unique<LiaisonInstance>(deps, std::move(notifier)));
      },
      // New requests and JIT workspaces and entries are refused at the Redis memory watermark
      // (INFO granted to concord-liaison).
      .guards_storage = true};
}

}  // namespace concord::liaison
