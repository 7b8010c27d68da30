// File: common/server/open_calls.h
//
// OpenCalls: the registry of the calls open on this replica's mTLS server, and the watcher that
// takes away every open call of a caller whose admission the directory withdrew (a suspended
// agency, a revoked certificate serial). The AuthMetadataProcessor checks admission when a call
// starts; OpenCalls is what makes the check hold for the whole life of the call (docs/security.md
// "Live revocation").
//
// How a call is registered: a server interceptor (open_calls_interceptor.h, installed by
// ServerRunner for every call) registers it when its initial metadata has arrived, with the caller
// from the verified peer certificate and a `cancel` function (ServerContext::TryCancel), and
// deregisters it when the handler sends its status (PRE_SEND_STATUS) or the call closes
// (POST_RECV_CLOSE), whichever comes first: both come before gRPC destroys the ServerContext.
//
// How a call loses its admission: a watcher thread re-checks every open call against the
// RevocationView (the replica's DirectoryCache, fed by the directory's pub/sub events) every
// `check_interval` (500 ms):
//   * a call whose handler declared itself cooperative (Guard(), e.g. messaging Subscribe) is
//     signalled first: its handler's next CallGuard::Check() (before every write) answers
//     UNAUTHENTICATED with a google.rpc.ErrorInfo reason (AGENCY_SUSPENDED or
//     CERTIFICATE_REVOKED) and the handler ends the call with it; `on_revoked` wakes handlers
//     that wait (callback reactors finish from it). If the call is still open `grace` (1 s)
//     later (e.g. its handler is blocked in a write to a client that does not read), it is
//     cancelled;
//   * every other call (unary calls in flight, the built-in health Watch and reflection streams)
//     is cancelled at once.
// A cancelled call ends with CANCELLED on the client. Worst case from the cache's update to the
// end of the call: check_interval + grace (1.5 s); the cache itself follows the directory within
// milliseconds (pub/sub) or at its periodic reload. The promise is 5 s (docs/security.md).
//
// Lifetimes (why TryCancel never touches a finished call): `cancel` is called only under the
// call's own mutex and only while the call is not marked finished; deregistration marks it
// finished under the same mutex. The deregistering hooks run before gRPC destroys the context, so
// a context is alive whenever `cancel` can run. The mutex is recursive because cancelling a
// callback-API call may run its reactor (and so the deregistering hook) inline on the watcher's
// thread.
//
// The per-agency cap on open streams (docs/architecture.md "Bounds and quotas"): the registry
// counts the streaming calls each agency has open on this replica. With a QuotaChecker in the
// options, a streaming call that would exceed its agency type's `streams` cap (quota_table.h) is
// registered as refused: it does not count towards the agency, its handler's first
// CallGuard::Check() answers RESOURCE_EXHAUSTED (reason LIMIT_REACHED, RetryInfo, QuotaFailure;
// common/quota/refusal.h) and the handler returns it before doing anything; a streaming call
// whose handler never takes a guard (the built-in health Watch and reflection streams) is
// cancelled by the watcher after `grace`. Every Concord streaming handler takes its guard first
// thing, so a client of Concord's own streams always sees the RESOURCE_EXHAUSTED. The cap is per
// replica: a stream holds memory of the replica it is open on (and, for a synchronous handler,
// a server thread).
//
// Metrics (no agency label): concord_open_streams (gauge: streaming calls open on this replica),
// concord_calls_ended_by_revocation_total{reason="agency_suspended"|"certificate_revoked",
// ended_by="handler"|"cancel"}.
//
// Thread safety: every method is thread-safe. The end observer and `on_revoked` run on gRPC or
// watcher threads and must not block.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/time/time.h"
#include "common/authz/policy.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/status/status.h"
#include "common/time/clock.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace concord::server {

/// Why an open call lost its admission.
enum class RevocationReason { kAgencySuspended, kCertificateRevoked };

/// ErrorInfo reason: "AGENCY_SUSPENDED" | "CERTIFICATE_REVOKED" (the authorizer's reasons).
std::string_view RevocationReasonCode(RevocationReason reason);

/// UNAUTHENTICATED "agency suspended" / "certificate revoked" with the ErrorInfo reason above.
Status RevocationStatus(RevocationReason reason);

/// What `revocations` says about `caller` now: suspension first, then the serial (the order of
/// authz::Authorizer), nullopt when still admitted.
std::optional<RevocationReason> RevocationOf(const authz::RevocationView& revocations,
                                             const Caller& caller);

struct OpenCallsOptions {
  absl::Duration check_interval = absl::Milliseconds(500);  // watcher period
  absl::Duration grace = absl::Seconds(1);  // a cooperative handler's time to end the call itself
  /// The per-agency cap on streams (Cap::kStreams of its table) and the counting of refusals;
  /// null: no cap. Must outlive the registry.
  quota::QuotaChecker* quotas = nullptr;
  /// RetryInfo of a stream refused by the cap.
  absl::Duration stream_retry_after = absl::Seconds(1);
};

/// What the interceptor knows about a call when it registers it.
struct CallInfo {
  Caller caller;
  std::string method;  // full method, "/concord.messaging.v1.Messaging/Subscribe"
  bool streaming = false;
};

/// One call that was open when its caller lost admission, reported once when it ends.
struct RevokedCallEnd {
  Caller caller;
  std::string method;
  RevocationReason reason;
  bool cancelled =
      false;  // true: ended by TryCancel (client sees CANCELLED); false: by its handler
  grpc::StatusCode code = grpc::StatusCode::CANCELLED;  // the status the client saw
};

namespace internal {
struct OpenCall;
}  // namespace internal

class OpenCalls;

/// A handler's view of its own call (cheap to copy; may outlive the call).
class CallGuard {
 public:
  /// OK while the caller is admitted; RESOURCE_EXHAUSTED (LIMIT_REACHED) when the call was
  /// refused by its agency's cap on open streams; UNAUTHENTICATED with ErrorInfo reason
  /// AGENCY_SUSPENDED or CERTIFICATE_REVOKED once the directory suspended its agency or revoked
  /// its certificate serial (sticky: a call that lost admission never gets it back). Call it
  /// first thing and before every write, and return its status. Answers from memory.
  Status Check() const;
  /// Check() is not OK.
  bool revoked() const { return !Check().ok(); }

 private:
  friend class OpenCalls;
  CallGuard(OpenCalls* owner, Caller caller, std::shared_ptr<internal::OpenCall> call)
      : owner_(owner), caller_(std::move(caller)), call_(std::move(call)) {}

  OpenCalls* owner_;
  Caller caller_;
  std::shared_ptr<internal::OpenCall> call_;  // null when the call is not registered
};

class OpenCalls {
 public:
  /// `revocations`, `metrics` and `clock` must outlive this object, which must outlive the server
  /// whose calls it tracks.
  OpenCalls(const authz::RevocationView& revocations, metrics::Metrics& metrics, const Clock& clock,
            OpenCallsOptions options = {});
  /// Stops the watcher.
  ~OpenCalls();
  OpenCalls(const OpenCalls&) = delete;
  OpenCalls& operator=(const OpenCalls&) = delete;

  // ---- the interceptor's side ----
  using Handle = std::shared_ptr<internal::OpenCall>;
  /// Registers an open call. `key` identifies it for Guard() (the address of its
  /// grpc::ServerContextBase); `cancel` ends it (ServerContext::TryCancel) and is only called
  /// until Deregister.
  Handle Register(const void* key, CallInfo info, std::function<void()> cancel);
  /// The call ended with `code` (CANCELLED when the client or the transport ended it). Idempotent
  /// and thread-safe; a null handle is ignored.
  void Deregister(const Handle& call, grpc::StatusCode code);

  // ---- the handler's side ----
  /// Declares the handler of `ctx` cooperative (it calls Check() before every write) and returns
  /// its guard. `on_revoked` (optional) runs once, on the watcher thread, when the call loses its
  /// admission; it must not block (wake a wait, or Finish() a callback reactor). Without a
  /// registration (a server without the interceptor, in tests) the guard still checks `caller`.
  CallGuard Guard(const grpc::ServerContextBase& ctx, const Caller& caller,
                  std::function<void()> on_revoked = {});

  // ---- the watcher ----
  /// One pass of the watcher: signals or cancels every open call whose caller lost admission.
  void CheckNow();
  /// Starts the watcher thread (CheckNow every check_interval). Idempotent.
  void StartWatcher();
  /// Stops and joins it. Idempotent.
  void StopWatcher();

  /// Called once for each call that ends after losing its admission (the host audits it, from a
  /// background writer). Set before the server starts.
  void SetEndObserver(std::function<void(const RevokedCallEnd&)> observer) {
    on_end_ = std::move(observer);
  }

  // ---- counts ----
  size_t open_calls() const;
  size_t open_streams() const;
  /// Streaming calls of `agency` open on this replica and admitted by the per-agency cap.
  int OpenStreams(const AgencyId& agency) const;

  const OpenCallsOptions& options() const { return options_; }

 private:
  friend class CallGuard;
  void MarkRevoked(internal::OpenCall& call, RevocationReason reason);
  void WatchLoop();

  const authz::RevocationView& revocations_;
  const Clock& clock_;
  const OpenCallsOptions options_;
  std::function<void(const RevokedCallEnd&)> on_end_;  // set before the server starts

  prometheus::Gauge* open_streams_gauge_;
  // [reason][ended_by: 0 handler, 1 cancel]
  prometheus::Counter* ended_[2][2];

  mutable std::mutex mu_;
  uint64_t next_id_ = 1;                                    // guarded by mu_
  std::map<uint64_t, Handle> calls_;                        // guarded by mu_
  std::unordered_map<const void*, Handle> by_key_;          // guarded by mu_
  std::unordered_map<std::string, int> streams_by_agency_;  // guarded by mu_
  size_t open_streams_ = 0;                                 // guarded by mu_

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watching_ = false;  // guarded by watch_mu_
  bool stop_ = false;      // guarded by watch_mu_
  std::thread watcher_;
};

}  // namespace concord::server
