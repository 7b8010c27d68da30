// File: services/guidelines/guidelines_module.cc
#include "services/guidelines/guidelines_module.h"

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/redis/subscriber.h"
#include "common/server/open_calls.h"
#include "services/guidelines/distributor.h"
#include "services/guidelines/guidebook.h"
#include "services/guidelines/guideline_directory.h"
#include "services/guidelines/guidelines_service.h"
#include "services/guidelines/redis_guideline_store.h"

namespace concord::guidelines {
namespace {

constexpr absl::Duration kGaugeInterval = absl::Seconds(15);

class GuidelinesInstance final : public host::ModuleInstance {
 public:
  explicit GuidelinesInstance(host::HostDeps& deps)
      : store_(deps.redis),
        directory_(deps.redis, deps.config.trust_domain),
        book_(store_, directory_, deps.revocations, deps.clock,
              GuidebookOptions{.trust_domain = deps.config.trust_domain,
                               .quotas = deps.quotas != nullptr ? &deps.quotas->table() : nullptr}),
        stream_metrics_(deps.metrics),
        metrics_(deps.metrics),
        distributor_(book_, stream_metrics_),
        own_calls_(deps.open_calls != nullptr ? nullptr
                                              : std::make_unique<server::OpenCalls>(
                                                    deps.revocations, deps.metrics, deps.clock)),
        reads_(deps.quotas, &deps.redis, "gl"),
        service_(book_, distributor_, stream_metrics_, metrics_, deps.audit,
                 deps.open_calls != nullptr ? *deps.open_calls : *own_calls_, deps.clock,
                 GuidelinesServiceOptions{.quotas = deps.quotas, .reads = &reads_}),
        subscriber_(
            deps.redis_config, {std::string(kFeedChannel)},
            [this](const std::string&, const std::string&) { distributor_.Wake(); },
            [this] { distributor_.Wake(); }) {
    distributor_.Start();
    gauges_ = std::thread([this] { GaugeLoop(); });
  }

  ~GuidelinesInstance() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    gauges_.join();
    distributor_.Stop();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  void RefreshGauges() {
    StatusOr<std::vector<std::string>> ids = store_.GuidelineIds();
    if (!ids.ok()) return;
    std::set<std::string> seen;
    for (const std::string& gid : *ids) {
      StatusOr<std::optional<ComplianceResult>> figures = book_.InForceFigures(gid);
      if (!figures.ok() || !figures->has_value()) continue;
      const TypeFigures& total = (*figures)->report.total;
      const double ratio =
          total.audience == 0 ? 1.0 : static_cast<double>(total.acknowledged) / total.audience;
      metrics_.ack_ratio->Add({{"guideline", gid}}).Set(ratio);
      metrics_.overdue->Add({{"guideline", gid}}).Set(static_cast<double>(total.overdue));
      seen.insert(gid);
    }
    // A guideline without a version in force (all withdrawn) leaves the gauges.
    for (const std::string& gid : shown_) {
      if (seen.count(gid) > 0) continue;
      metrics_.ack_ratio->Remove(&metrics_.ack_ratio->Add({{"guideline", gid}}));
      metrics_.overdue->Remove(&metrics_.overdue->Add({{"guideline", gid}}));
    }
    shown_ = std::move(seen);
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

  RedisGuidelineStore store_;
  RedisGuidelineDirectory directory_;
  Guidebook book_;
  DistributorMetrics stream_metrics_;
  GuidelinesMetrics metrics_;
  Distributor distributor_;
  // Only when the host runs no registry of open calls: streams still check their caller's
  // admission before every write, without the watcher that wakes and cancels them.
  std::unique_ptr<server::OpenCalls> own_calls_;
  quota::ReadMeter reads_;  // the `read` bucket of Compliance
  GuidelinesService service_;
  redis::Subscriber subscriber_;
  std::set<std::string> shown_;  // guidelines with gauges (gauge thread only)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread gauges_;
};

}  // namespace

host::Module GuidelinesModule() {
  return host::Module{
      .name = "guidelines",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        return std::unique_ptr<host::ModuleInstance>(new GuidelinesInstance(deps));
      },
      // New versions are refused at the Redis memory watermark (INFO granted to
      // concord-guidelines).
      .guards_storage = true};
}

}  // namespace concord::guidelines
