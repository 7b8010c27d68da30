// File: common/server/open_calls.cc
#include "common/server/open_calls.h"

#include <vector>

#include "prometheus/family.h"

namespace concord::server {
namespace internal {

struct OpenCall {
  OpenCall(uint64_t id, const void* key, CallInfo info, std::function<void()> cancel)
      : id(id), key(key), info(std::move(info)), cancel(std::move(cancel)) {}

  const uint64_t id;
  const void* const key;
  const CallInfo info;  // immutable: read without the lock
  // Set at registration (before the call is published), never changed: the cap's refusal.
  std::optional<Status> refused;
  absl::Time registered_at;

  // Recursive: cancelling a callback-API call may run its reactor, and so Deregister, inline on
  // the thread that holds it (see the file comment of open_calls.h).
  std::recursive_mutex mu;
  // Never reset once set (a std::function may be running when the call deregisters inline).
  std::function<void()> cancel;            // guarded by mu; called only while !finished
  std::function<void()> on_revoked;        // guarded by mu; called only while !finished
  bool cooperative = false;                // guarded by mu
  bool finished = false;                   // guarded by mu
  bool woken = false;                      // guarded by mu: on_revoked ran
  bool cancelling = false;                 // guarded by mu: cancel ran (or is running)
  std::optional<RevocationReason> reason;  // guarded by mu; sticky once set
  absl::Time revoked_at;                   // guarded by mu
};

}  // namespace internal

namespace {

constexpr int kHandler = 0;
constexpr int kCancel = 1;

int ReasonIndex(RevocationReason reason) {
  return reason == RevocationReason::kAgencySuspended ? 0 : 1;
}

}  // namespace

std::string_view RevocationReasonCode(RevocationReason reason) {
  return reason == RevocationReason::kAgencySuspended ? "AGENCY_SUSPENDED" : "CERTIFICATE_REVOKED";
}

Status RevocationStatus(RevocationReason reason) {
  // Same codes, messages and reasons as authz::Authorizer refusing a new call, so a client
  // handles "refused at the start" and "ended later" alike.
  return reason == RevocationReason::kAgencySuspended
             ? WithReason(absl::UnauthenticatedError("agency suspended"), "AGENCY_SUSPENDED")
             : WithReason(absl::UnauthenticatedError("certificate revoked"), "CERTIFICATE_REVOKED");
}

std::optional<RevocationReason> RevocationOf(const authz::RevocationView& revocations,
                                             const Caller& caller) {
  if (revocations.IsSuspended(caller.agency)) return RevocationReason::kAgencySuspended;
  if (revocations.IsSerialRevoked(caller.cert_serial)) {
    return RevocationReason::kCertificateRevoked;
  }
  return std::nullopt;
}

Status CallGuard::Check() const {
  if (call_ != nullptr) {
    if (call_->refused.has_value()) return *call_->refused;
    std::lock_guard<std::recursive_mutex> lock(call_->mu);
    if (call_->reason.has_value()) return RevocationStatus(*call_->reason);
  }
  const std::optional<RevocationReason> reason = RevocationOf(owner_->revocations_, caller_);
  if (!reason.has_value()) return absl::OkStatus();
  if (call_ != nullptr) owner_->MarkRevoked(*call_, *reason);
  return RevocationStatus(*reason);
}

OpenCalls::OpenCalls(const authz::RevocationView& revocations, metrics::Metrics& metrics,
                     const Clock& clock, OpenCallsOptions options)
    : revocations_(revocations), clock_(clock), options_(options) {
  auto& registry = metrics.registry();
  open_streams_gauge_ = &prometheus::BuildGauge()
                             .Name("concord_open_streams")
                             .Help("Streaming calls open on this replica's mTLS server.")
                             .Register(registry)
                             .Add({});
  auto& ended = prometheus::BuildCounter()
                    .Name("concord_calls_ended_by_revocation_total")
                    .Help(
                        "Open calls ended because the directory suspended the caller's agency or "
                        "revoked its certificate serial: by the handler (UNAUTHENTICATED) or by "
                        "cancellation (CANCELLED).")
                    .Register(registry);
  for (RevocationReason reason :
       {RevocationReason::kAgencySuspended, RevocationReason::kCertificateRevoked}) {
    const std::string name =
        reason == RevocationReason::kAgencySuspended ? "agency_suspended" : "certificate_revoked";
    ended_[ReasonIndex(reason)][kHandler] = &ended.Add({{"reason", name}, {"ended_by", "handler"}});
    ended_[ReasonIndex(reason)][kCancel] = &ended.Add({{"reason", name}, {"ended_by", "cancel"}});
  }
}

OpenCalls::~OpenCalls() { StopWatcher(); }

OpenCalls::Handle OpenCalls::Register(const void* key, CallInfo info,
                                      std::function<void()> cancel) {
  const bool streaming = info.streaming;
  const AgencyId agency_id = info.caller.agency;
  const std::string agency = agency_id.Key();
  const int cap = streaming && options_.quotas != nullptr
                      ? options_.quotas->table().CapOf(agency_id.type, quota::Cap::kStreams)
                      : 0;
  Handle call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    call =
        std::make_shared<internal::OpenCall>(next_id_++, key, std::move(info), std::move(cancel));
    call->registered_at = clock_.Now();
    if (streaming && cap > 0) {
      auto it = streams_by_agency_.find(agency);
      if (it != streams_by_agency_.end() && it->second >= cap) {
        // Security: one agency cannot hold every server thread of the replica.
        call->refused =
            quota::CapRefusal(agency_id, quota::Cap::kStreams, cap, options_.stream_retry_after);
      }
    }
    calls_.emplace(call->id, call);
    // A context address is reused only after its call deregistered; the newest call wins anyway.
    by_key_[key] = call;
    if (streaming) {
      if (!call->refused.has_value()) ++streams_by_agency_[agency];
      ++open_streams_;
      open_streams_gauge_->Increment();
    }
  }
  if (call->refused.has_value()) (void)options_.quotas->Observe(agency_id, *call->refused);
  return call;
}

void OpenCalls::Deregister(const Handle& call, grpc::StatusCode code) {
  if (call == nullptr) return;
  std::optional<RevokedCallEnd> ended;
  {
    std::lock_guard<std::recursive_mutex> lock(call->mu);
    if (call->finished) return;
    call->finished = true;
    if (call->reason.has_value()) {
      ended = RevokedCallEnd{.caller = call->info.caller,
                             .method = call->info.method,
                             .reason = *call->reason,
                             .cancelled = call->cancelling,
                             .code = call->cancelling ? grpc::StatusCode::CANCELLED : code};
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call->id);
    if (auto it = by_key_.find(call->key); it != by_key_.end() && it->second == call) {
      by_key_.erase(it);
    }
    if (call->info.streaming) {
      const std::string agency = call->info.caller.agency.Key();
      if (auto it = streams_by_agency_.find(agency);
          it != streams_by_agency_.end() && !call->refused.has_value()) {
        if (--it->second <= 0) streams_by_agency_.erase(it);
      }
      --open_streams_;
      open_streams_gauge_->Decrement();
    }
  }
  if (ended.has_value()) {
    ended_[ReasonIndex(ended->reason)][ended->cancelled ? kCancel : kHandler]->Increment();
    if (on_end_) on_end_(*ended);
  }
}

CallGuard OpenCalls::Guard(const grpc::ServerContextBase& ctx, const Caller& caller,
                           std::function<void()> on_revoked) {
  Handle call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = by_key_.find(static_cast<const void*>(&ctx)); it != by_key_.end()) {
      call = it->second;
    }
  }
  if (call != nullptr) {
    std::lock_guard<std::recursive_mutex> lock(call->mu);
    call->cooperative = true;
    if (on_revoked) call->on_revoked = std::move(on_revoked);
  }
  return CallGuard(this, caller, std::move(call));
}

void OpenCalls::MarkRevoked(internal::OpenCall& call, RevocationReason reason) {
  std::lock_guard<std::recursive_mutex> lock(call.mu);
  if (call.reason.has_value()) return;
  call.reason = reason;
  call.revoked_at = clock_.Now();
}

void OpenCalls::CheckNow() {
  std::vector<Handle> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot.reserve(calls_.size());
    for (const auto& [id, call] : calls_) snapshot.push_back(call);
  }
  for (const Handle& call : snapshot) {
    const std::optional<RevocationReason> now_revoked =
        RevocationOf(revocations_, call->info.caller);
    std::lock_guard<std::recursive_mutex> lock(call->mu);
    if (call->finished || call->cancelling) continue;
    if (call->refused.has_value() && !call->reason.has_value()) {
      // Refused by the stream cap: a cooperative handler returns the refusal itself; a stream
      // whose handler takes no guard (health Watch, reflection) is cancelled after the grace.
      if (call->cooperative || clock_.Now() - call->registered_at < options_.grace) continue;
      call->cancelling = true;
      if (call->cancel) call->cancel();
      continue;
    }
    if (!call->reason.has_value()) {
      if (!now_revoked.has_value()) continue;
      call->reason = now_revoked;
      call->revoked_at = clock_.Now();
    }
    if (call->cooperative && clock_.Now() - call->revoked_at < options_.grace) {
      // Signal first: the handler ends the call itself with UNAUTHENTICATED and its reason.
      if (!call->woken && call->on_revoked) {
        call->woken = true;
        call->on_revoked();
      }
      continue;
    }
    // Not cooperative, or it did not end within the grace (e.g. blocked in a write).
    // `cancelling` is set first: a callback call may deregister inline from cancel().
    call->cancelling = true;
    if (call->cancel) call->cancel();
  }
}

void OpenCalls::StartWatcher() {
  std::lock_guard<std::mutex> lock(watch_mu_);
  if (watching_) return;
  watching_ = true;
  stop_ = false;
  watcher_ = std::thread([this] { WatchLoop(); });
}

void OpenCalls::StopWatcher() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (!watching_) return;
    stop_ = true;
  }
  watch_cv_.notify_all();
  watcher_.join();
  std::lock_guard<std::mutex> lock(watch_mu_);
  watching_ = false;
}

void OpenCalls::WatchLoop() {
  std::unique_lock<std::mutex> lock(watch_mu_);
  const auto interval = absl::ToChronoNanoseconds(options_.check_interval);
  while (!watch_cv_.wait_for(lock, interval, [this] { return stop_; })) {
    lock.unlock();
    CheckNow();
    lock.lock();
  }
}

size_t OpenCalls::open_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

size_t OpenCalls::open_streams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_streams_;
}

int OpenCalls::OpenStreams(const AgencyId& agency) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_by_agency_.find(agency.Key());
  return it == streams_by_agency_.end() ? 0 : it->second;
}

}  // namespace concord::server
