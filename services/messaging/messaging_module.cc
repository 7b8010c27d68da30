#include "services/messaging/messaging_module.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/redis/subscriber.h"
#include "common/server/open_calls.h"
#include "services/messaging/agency_keys.h"
#include "services/messaging/delivery_notifier.h"
#include "services/messaging/mailbox.h"
#include "services/messaging/messaging_service.h"
#include "services/messaging/redis_message_store.h"

namespace concord::messaging {
namespace {

constexpr absl::Duration kSweepInterval = absl::Seconds(1);
constexpr size_t kSweepBatch = 500;

class MessagingInstance final : public host::ModuleInstance {
 public:
  explicit MessagingInstance(host::HostDeps& deps)
      : audit_(deps.audit),
        clock_(deps.clock),
        own_quotas_(deps.quotas != nullptr
                        ? nullptr
                        : std::make_unique<quota::QuotaChecker>(quota::QuotaTable::Defaults(),
                                                                deps.metrics, deps.clock)),
        quotas_(deps.quotas != nullptr ? *deps.quotas : *own_quotas_),
        own_async_redis_(deps.async_redis != nullptr
                             ? nullptr
                             : redis::AsyncRedisClient::Create(deps.redis_config)),
        store_(deps.redis, RedisMessageStoreOptions{.trust_domain = deps.config.trust_domain,
                                                    .tombstone_ttl = absl::Minutes(10),
                                                    .unsent_attachment_ttl = absl::Hours(24),
                                                    .quotas = &quotas_.table(),
                                                    .async_redis = deps.async_redis != nullptr
                                                                       ? deps.async_redis
                                                                       : own_async_redis_.get()}),
        keys_(deps.redis, deps.clock),
        mailbox_(store_, keys_, deps.revocations, deps.clock,
                 MailboxOptions{.trust_domain = deps.config.trust_domain,
                                .limits = EnvelopeLimits{},
                                .visibility_timeout = absl::Seconds(30)}),
        metrics_(deps.metrics),
        own_calls_(deps.open_calls != nullptr ? nullptr
                                              : std::make_unique<server::OpenCalls>(
                                                    deps.revocations, deps.metrics, deps.clock)),
        reads_(&quotas_, &deps.redis, "msg"),
        service_(mailbox_, deps.audit, notifier_, metrics_,
                 deps.open_calls != nullptr ? *deps.open_calls : *own_calls_, quotas_, deps.clock,
                 MessagingServiceOptions{.reads = &reads_}),
        subscriber_(
            deps.redis_config, {std::string(kDeliveriesChannel)},
            [this](const std::string&, const std::string& message) { notifier_.Notify(message); },
            [this] { notifier_.NotifyAll(); }),
        sweeper_([this] { Sweep(); }) {}

  ~MessagingInstance() override {
    // The server has stopped (no Send in flight): the I/O thread goes before what it could call.
    own_async_redis_.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    sweeper_.join();
    notifier_.NotifyAll();
  }

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  void Sweep() {
    std::unique_lock<std::mutex> lock(mu_);
    while (
        !cv_.wait_for(lock, absl::ToChronoNanoseconds(kSweepInterval), [this] { return stop_; })) {
      lock.unlock();
      SweepOnce();
      lock.lock();
    }
  }

  void SweepOnce() {
    auto expired = store_.RemoveExpired(clock_.Now(), kSweepBatch);
    if (expired.ok()) {
      for (const ExpiredMessage& m : *expired) {
        std::vector<std::string> recipients;
        for (const AgencyId& r : m.recipients) recipients.push_back(r.Key());
        // The erasure is the platform's act on the sender's message: recorded under the sender.
        (void)audit_.Append(audit::AuditEvent{.agency = m.sender,
                                              .officer = "system:expiry",
                                              .operation = audit::Operation::kErasure,
                                              .object = absl::StrCat("message:", m.message_id),
                                              .method = "expiry",
                                              .justification = "retention period ended",
                                              .recipients = std::move(recipients),
                                              .outcome = "OK",
                                              .time = clock_.Now()});
      }
    }
    auto backlog = store_.Backlog();
    if (backlog.ok()) metrics_.inbox_backlog->Set(static_cast<double>(*backlog));
  }

  // Copies of the host's references (HostDeps itself is a temporary of the host's wiring).
  audit::AuditSink& audit_;
  const Clock& clock_;
  // Only when the host has no quota checker (some tests): the default table, no watermark.
  std::unique_ptr<quota::QuotaChecker> own_quotas_;
  quota::QuotaChecker& quotas_;
  // Only when the host gives none (some tests): Send's asynchronous client.
  std::unique_ptr<redis::AsyncRedisClient> own_async_redis_;
  RedisMessageStore store_;
  RedisAgencyKeys keys_;
  Mailbox mailbox_;
  DeliveryNotifier notifier_;
  MessagingMetrics metrics_;
  // Only when the host runs no registry of open calls: Subscribe then still checks its caller's
  // admission before every write, without the watcher that cancels stuck calls.
  std::unique_ptr<server::OpenCalls> own_calls_;
  quota::ReadMeter reads_;  // the `read` bucket of ListInbox, Get, ListReceipts, downloads
  MessagingService service_;
  redis::Subscriber subscriber_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread sweeper_;
};

}  // namespace

host::Module MessagingModule() {
  return host::Module{
      .name = "messaging",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        return std::unique_ptr<host::ModuleInstance>(new MessagingInstance(deps));
      },
      .guards_storage = true,
      .async_redis = true};
}

}  // namespace concord::messaging
