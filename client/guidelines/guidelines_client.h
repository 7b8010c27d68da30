// File: client/guidelines/guidelines_client.h
//
// The agency side of concord.guidelines.v1 (embedded by agency systems and concordctl): signs
// what a publisher publishes or withdraws, and verifies every version and withdrawal it receives
// (Get, Subscribe, Diff) ITSELF, against the publisher's signing key read from the directory
// (Directory/GetAgency) and the canonical bytes it recomputes (docs/crypto.md "Guideline
// versions"): an agency system does not take the server's word for a text it applies.
//
//   GuidelinesClient client(channel, {.officer = "insp-17"});
//   CONCORD_ASSIGN_OR_RETURN(v1::GetResponse got, client.GetVerified(request));
//   ... got.version() verified: hash and publisher signature ...
//   CONCORD_RETURN_IF_ERROR(client.Acknowledge(id, n, got.version().sha256()).status());
//
// Watch subscribes and resumes after the endings resume_backoff.h lists (maximum connection age,
// restarts), passing the cursor of the last event processed; it de-duplicates by (kind,
// guideline, version) across resumes, so its callback sees each version and each withdrawal once.
//
// Thread safety: a GuidelinesClient may be used from several threads (gRPC stubs are
// thread-safe; the key cache is locked). WatchStop is thread-safe.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "client/messaging/messaging_client.h"
#include "client/messaging/resume_backoff.h"
#include "common/crypto/ed25519.h"
#include "common/guideline/guideline.h"
#include "common/status/status.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/guidelines/v1/guidelines.grpc.pb.h"

namespace concord::guidelines::client {

namespace v1 = ::concord::guidelines::v1;

/// Verifies a version as received: recomputes its canonical bytes from the proto fields, checks
/// them against `sha256` and the signature against `publisher_key`. DATA_LOSS naming the version
/// (ErrorInfo VERSION_VERIFICATION_FAILED) otherwise, INVALID_ARGUMENT if the proto cannot be
/// read at all.
StatusOr<guideline::SignedVersion> VerifyReceivedVersion(
    const v1::GuidelineVersion& version, const crypto::Ed25519PublicKey& publisher_key);
/// The same for a withdrawal, under the key of withdrawn_by.
StatusOr<guideline::SignedWithdrawal> VerifyReceivedWithdrawal(const v1::Withdrawal& withdrawal,
                                                               const crypto::Ed25519PublicKey& key);

/// What Watch de-duplicates on: "v:<id>@<n>" or "w:<id>@<n>".
std::string EventKey(const v1::GuidelineEvent& event);

struct ClientOptions {
  absl::Duration deadline = absl::Seconds(30);  // every unary call
  std::string officer;                          // concord-officer metadata ("" = none)
  std::string justification;                    // concord-justification metadata ("" = none)
};

/// Ends a running Watch from another thread (e.g. on SIGTERM).
class WatchStop {
 public:
  void Stop();
  bool stopped() const;

 private:
  friend class GuidelinesClient;
  bool Attach(grpc::ClientContext* ctx);  // false when already stopped
  void Detach();
  bool Wait(absl::Duration delay);  // false when stopped during the wait

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;                    // guarded by mu_
  grpc::ClientContext* context_ = nullptr;  // guarded by mu_
};

struct WatchOptions {
  std::string after_cursor;  // resume after this cursor of an earlier Watch ("" = none)
  absl::Duration max_duration = absl::InfiniteDuration();
  messaging::client::ResumePolicy resume;
  std::function<void(const Status& ended, int attempt, absl::Duration delay)> on_resume;
  WatchStop* stop = nullptr;  // optional; must outlive the Watch call
};

class GuidelinesClient {
 public:
  /// `channel`: mTLS channel to Concord (Guidelines and Directory on it). `trust_keys`: key
  /// continuity (client/keys KeyTrust::Check) for every directory record whose signing key this
  /// client trusts; empty: the directory's keys are used as they are.
  explicit GuidelinesClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options = {},
                            messaging::client::TrustKeys trust_keys = nullptr);

  /// The agency's Ed25519 signing key from the directory, checked by the key-continuity hook
  /// (cached for this client's life).
  StatusOr<crypto::Ed25519PublicKey> SigningKey(const AgencyId& agency);

  StatusOr<v1::PublishResponse> Publish(const guideline::SignedVersion& version);
  StatusOr<v1::WithdrawResponse> Withdraw(const guideline::SignedWithdrawal& withdrawal);
  /// The raw Get (nothing verified).
  StatusOr<v1::GetResponse> Get(const v1::GetRequest& request);
  /// Get, then VerifyReceivedVersion against the publisher's directory key (and the withdrawal,
  /// if any, against its withdrawer's).
  StatusOr<v1::GetResponse> GetVerified(const v1::GetRequest& request);
  StatusOr<v1::ListResponse> List(const v1::ListRequest& request);
  /// Diff, with both versions' hashes checked against verified Gets of them.
  StatusOr<v1::DiffResponse> Diff(const v1::DiffRequest& request);
  StatusOr<v1::AcknowledgeResponse> Acknowledge(const std::string& guideline_id, int64_t version,
                                                const std::string& sha256);
  StatusOr<v1::ComplianceResponse> Compliance(const std::string& guideline_id, int64_t version);

  /// Verifies a received version / withdrawal with the directory keys.
  Status Verify(const v1::GuidelineVersion& version);
  Status Verify(const v1::Withdrawal& withdrawal);

  /// Subscribes, verifies each event and calls `on_event(event, verified)` once per (kind,
  /// guideline, version) across resumes, until it returns false (then OK). `verified` is OK or
  /// the DATA_LOSS of a version or withdrawal that does not verify (never apply it). Resumes as
  /// MessagingClient::Watch does (bounded, jittered backoff; stops on UNAUTHENTICATED,
  /// PERMISSION_DENIED, INVALID_ARGUMENT ...) with the cursor of the last event received.
  Status Watch(const WatchOptions& options,
               const std::function<bool(const v1::GuidelineEvent&, const Status&)>& on_event);

 private:
  void Prepare(grpc::ClientContext& ctx) const;

  std::unique_ptr<v1::Guidelines::Stub> guidelines_;
  std::unique_ptr<::concord::directory::v1::Directory::Stub> directory_;
  ClientOptions options_;
  messaging::client::TrustKeys trust_keys_;
  std::mutex keys_mu_;
  std::map<std::string, crypto::Ed25519PublicKey> keys_;  // guarded by keys_mu_
};

}  // namespace concord::guidelines::client
