// File: common/quota/storage_guard.cc
#include "common/quota/storage_guard.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/quota/refusal.h"
#include "prometheus/family.h"

namespace concord::quota {
namespace {

bool FieldValue(std::string_view line, std::string_view name, int64_t& out) {
  if (line.size() <= name.size() || line.substr(0, name.size()) != name ||
      line[name.size()] != ':') {
    return false;
  }
  std::string_view value = line.substr(name.size() + 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.remove_suffix(1);
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  return ec == std::errc() && end == value.data() + value.size() && out >= 0;
}

}  // namespace

bool ParseInfoMemory(std::string_view info, int64_t& used, int64_t& maxmemory) {
  bool have_used = false, have_max = false;
  for (absl::string_view l : absl::StrSplit(absl::string_view(info.data(), info.size()), '\n')) {
    const std::string_view line(l.data(), l.size());
    if (!have_used) have_used = FieldValue(line, "used_memory", used);
    if (!have_max) have_max = FieldValue(line, "maxmemory", maxmemory);
  }
  return have_used && have_max;
}

StorageGuard::StorageGuard(redis::RedisClient& redis, metrics::Metrics& metrics,
                           StorageGuardOptions options)
    : redis_(redis), options_(options) {
  auto& registry = metrics.registry();
  used_gauge_ = &prometheus::BuildGauge()
                     .Name("concord_redis_used_memory_bytes")
                     .Help("Redis used_memory at the storage guard's last INFO memory read.")
                     .Register(registry)
                     .Add({});
  max_gauge_ = &prometheus::BuildGauge()
                    .Name("concord_redis_maxmemory_bytes")
                    .Help("Redis maxmemory at the storage guard's last read (0: none set).")
                    .Register(registry)
                    .Add({});
  watermark_gauge_ =
      &prometheus::BuildGauge()
           .Name("concord_redis_memory_watermark_bytes")
           .Help(
               "Redis memory at which new messages, uploads and drafts are refused (0: no "
               "watermark: maxmemory unset, guard disabled, or INFO memory unreadable).")
           .Register(registry)
           .Add({});
}

StorageGuard::~StorageGuard() { Stop(); }

Status StorageGuard::PollOnce() {
  auto reply = redis_.Command({"INFO", "memory"});
  if (!reply.ok()) {
    if (!info_failing_.exchange(true)) {
      log::Warn("storage_guard.info_failed", {{"error", std::string(reply.status().message())}});
    }
    return reply.status();
  }
  int64_t used = 0, maxmemory = 0;
  if (!ParseInfoMemory(reply->str, used, maxmemory)) {
    if (!info_failing_.exchange(true)) {
      log::Warn("storage_guard.info_failed", {{"error",
                                               "INFO memory reply without used_memory "
                                               "or maxmemory"}});
    }
    return absl::InternalError("storage guard: unexpected INFO memory reply");
  }
  if (info_failing_.exchange(false)) log::Info("storage_guard.info_recovered", {});
  const int64_t watermark = options_.watermark_percent > 0 && maxmemory > 0
                                ? maxmemory / 100 * options_.watermark_percent
                                : 0;
  used_.store(used);
  max_.store(maxmemory);
  watermark_.store(watermark);
  used_gauge_->Set(static_cast<double>(used));
  max_gauge_->Set(static_cast<double>(maxmemory));
  watermark_gauge_->Set(static_cast<double>(watermark));
  return absl::OkStatus();
}

void StorageGuard::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void StorageGuard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

void StorageGuard::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto interval = absl::ToChronoNanoseconds(options_.poll_interval);
  do {
    lock.unlock();
    (void)PollOnce();  // failures are logged once and keep the previous state
    lock.lock();
  } while (!cv_.wait_for(lock, interval, [this] { return stop_; }));
}

Status StorageGuard::Check(AgencyType caller_type) const {
  const int64_t watermark = watermark_.load();
  const int64_t used = used_.load();
  if (watermark <= 0 || used < watermark) return absl::OkStatus();
  return StorageRefusal(caller_type, used, watermark, options_.retry_after);
}

}  // namespace concord::quota
