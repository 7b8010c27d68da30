// File: common/clients/directory_cache.cc
#include "common/clients/directory_cache.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/clients/directory_keys.h"
#include "common/identity/caller.h"
#include "common/log/log.h"

namespace concord::clients {
namespace {

// "<type>/<id>" -> the agency (trust domain left empty: the cache holds one deployment's keys).
std::optional<AgencyId> AgencyFromKey(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::optional<AgencyType> type = ParseAgencyType(key.substr(0, slash));
  if (!type.has_value() || !ValidateAgencyLocalId(key.substr(slash + 1)).ok()) return std::nullopt;
  return AgencyId{"", *type, std::string(key.substr(slash + 1))};
}

// The explicit attribute values of one entry of the attributes hash; nullopt when corrupt.
std::optional<attributes::AttributeMap> ParseAttributes(const AgencyId& agency,
                                                        const std::string& json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  attributes::AttributeMap stored;
  for (const auto& [name, value] : j.items()) {
    if (!value.is_string()) return std::nullopt;
    stored.emplace(name, value.get<std::string>());
  }
  // Security: a value the directory would refuse is never acted upon (e.g. a role written into
  // Redis by hand for admin/concord-*).
  return attributes::SanitizeStoredAttributes(agency, stored);
}

}  // namespace

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
  auto replies = redis_.Pipeline({{"MULTI"},
                                  {"SMEMBERS", SuspendedAgenciesKey()},
                                  {"HKEYS", RevokedSerialsKey()},
                                  {"HGETALL", AgencyAttributesKey()},
                                  {"EXEC"}});
  if (!replies.ok()) return replies.status();
  if (replies->size() != 5) return absl::InternalError("directory cache: unexpected reply count");
  const redis::Reply& exec = replies->back();
  if (exec.type != redis::Reply::Type::kArray || exec.elements.size() != 3) {
    return absl::InternalError("directory cache: unexpected EXEC reply");
  }
  std::unordered_set<std::string> suspended;
  std::unordered_set<std::string> revoked;
  std::unordered_map<std::string, attributes::AttributeMap> attrs;
  for (const redis::Reply& r : exec.elements[0].elements) suspended.insert(r.str);
  // Serials are stored normalised; normalise again so a hand-edited key cannot slip through.
  for (const redis::Reply& r : exec.elements[1].elements) revoked.insert(NormalizeSerial(r.str));
  const auto& pairs = exec.elements[2].elements;
  bool has_directory_administrator = false;
  int corrupt = 0;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    const std::optional<AgencyId> agency = AgencyFromKey(pairs[i].str);
    std::optional<attributes::AttributeMap> values =
        agency.has_value() ? ParseAttributes(*agency, pairs[i + 1].str) : std::nullopt;
    if (!values.has_value()) {
      ++corrupt;
      continue;
    }
    if (values->empty()) continue;
    if (suspended.count(pairs[i].str) == 0 &&
        attributes::AgencyAttributes(*agency, *values).Flag(attributes::kDirectoryAdministrator)) {
      has_directory_administrator = true;
    }
    attrs.emplace(pairs[i].str, *std::move(values));
  }
  if (corrupt > 0) {
    log::Warn("directory_cache.corrupt_attributes", {{"entries", std::to_string(corrupt)}});
  }
  {
    std::unique_lock<std::shared_mutex> lock(state_mu_);
    suspended_.swap(suspended);
    revoked_.swap(revoked);
    attributes_.swap(attrs);
    has_directory_administrator_ = has_directory_administrator;
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

authz::AdminRoles DirectoryCache::RolesOf(const AgencyId& agency) const {
  if (agency.type != AgencyType::kAdmin) return {};
  const attributes::AgencyAttributes attrs = AttributesOf(agency);
  authz::AdminRoles roles;
  roles.directory_administrator = attrs.Flag(attributes::kDirectoryAdministrator);
  roles.audit_reviewer = attrs.Flag(attributes::kAuditReviewer);
  return authz::WithBootstrap(agency, roles, options_.bootstrap_directory_admins,
                              HasDirectoryAdministrator());
}

attributes::AgencyAttributes DirectoryCache::AttributesOf(const AgencyId& agency) const {
  const std::string key = agency.Key();
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  auto it = attributes_.find(key);
  return attributes::AgencyAttributes(
      agency, it == attributes_.end() ? attributes::AttributeMap{} : it->second);
}

bool DirectoryCache::HasDirectoryAdministrator() const {
  std::shared_lock<std::shared_mutex> lock(state_mu_);
  return has_directory_administrator_;
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
