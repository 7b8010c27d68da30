// File: common/clients/directory_cache.cc
#include "common/clients/directory_cache.h"

#include <chrono>

#include "common/clients/directory_keys.h"
#include "common/identity/caller.h"
#include "common/log/log.h"

namespace concord::clients {

DirectoryCache::DirectoryCache(redis::RedisClient& redis, redis::RedisConfig subscriber_config,
                               DirectoryCacheOptions options)
    : redis_(redis), subscriber_config_(std::move(subscriber_config)), options_(options) {}

DirectoryCache::~DirectoryCache() { Stop(); }

Status DirectoryCache::Start() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    if (started_) return absl::FailedPreconditionError("directory cache already started");
    started_ = true;
  }
  Status first = Reload();
  thread_ = std::thread([this] { ReloadLoop(); });
  subscriber_ = std::make_unique<redis::Subscriber>(
      subscriber_config_, std::vector<std::string>{std::string(kDirectoryEventsChannel)},
      [this](const std::string&, const std::string&) { RequestReload(); },
      [this] { RequestReload(); });
  if (!first.ok()) RequestReload();
  return first;
}

void DirectoryCache::Stop() {
  subscriber_.reset();  // joins the subscriber thread: no more callbacks after this
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DirectoryCache::RequestReload() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    reload_requested_ = true;
  }
  loop_cv_.notify_all();
}

void DirectoryCache::ReloadLoop() {
  bool last_failed = false;
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    const absl::Duration wait = last_failed ? options_.retry_interval : options_.reload_interval;
    loop_cv_.wait_for(lock, absl::ToChronoNanoseconds(wait),
                      [this] { return stopping_ || reload_requested_; });
    if (stopping_) break;
    // Cleared BEFORE reading: an event published during the read triggers one more reload.
    reload_requested_ = false;
    lock.unlock();
    const Status status = Reload();
    if (!status.ok() && !last_failed) {
      log::Warn("directory_cache.reload_failed",
                {{"code", absl::StatusCodeToString(status.code())}});
    } else if (status.ok() && last_failed) {
      log::Info("directory_cache.reload_recovered");
    }
    last_failed = !status.ok();
    lock.lock();
  }
}

Status DirectoryCache::Reload() {
  auto replies = redis_.Pipeline(
      {{"MULTI"}, {"SMEMBERS", SuspendedAgenciesKey()}, {"HKEYS", RevokedSerialsKey()}, {"EXEC"}});
  if (!replies.ok()) return replies.status();
  if (replies->size() != 4) return absl::InternalError("directory cache: unexpected reply count");
  const redis::Reply& exec = replies->back();
  if (exec.type != redis::Reply::Type::kArray || exec.elements.size() != 2) {
    return absl::InternalError("directory cache: unexpected EXEC reply");
  }
  std::unordered_set<std::string> suspended;
  std::unordered_set<std::string> revoked;
  for (const redis::Reply& r : exec.elements[0].elements) suspended.insert(r.str);
  // Serials are stored normalised; normalise again so a hand-edited key cannot slip through.
  for (const redis::Reply& r : exec.elements[1].elements) revoked.insert(NormalizeSerial(r.str));
  {
    std::unique_lock<std::shared_mutex> lock(state_mu_);
    suspended_.swap(suspended);
    revoked_.swap(revoked);
  }
  loaded_.store(true);
  reload_count_.fetch_add(1);
  return absl::OkStatus();
}

bool DirectoryCache::IsSuspended(const AgencyId& agency) const {
  const std::string key = agency.Key();
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  return suspended_.count(key) > 0;
}

bool DirectoryCache::IsSerialRevoked(std::string_view serial) const {
  const std::string normalised = NormalizeSerial(serial);
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  return revoked_.count(normalised) > 0;
}

size_t DirectoryCache::suspended_count() const {
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  return suspended_.size();
}

size_t DirectoryCache::revoked_count() const {
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  return revoked_.size();
}

}  // namespace concord::clients
