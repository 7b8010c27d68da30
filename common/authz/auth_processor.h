// File: common/authz/auth_processor.h
//
// Runs the Authorizer (policy.h) on every call of the mTLS server BEFORE any handler, as a
// grpc::AuthMetadataProcessor installed on the server credentials (ServerRunner does this).
//
// Verified on gRPC 1.51.1 (TlsServerCredentials and SslServerCredentials, see
// docs/security.md): the metadata given to Process() contains the pseudo-header ":path"
// ("/concord.directory.v1.Directory/GetAgency"), and the AuthContext already holds the verified
// peer certificate. A non-OK status returned from Process() fails the call with exactly that code
// and message; the service handler and the server interceptors never run, so the refusal is
// counted here with metrics::RecordRejectedCall.
//
// IsBlocking() is false: Process() runs inline on a gRPC thread, answers from memory
// (RevocationView) and never blocks.
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/authz/policy.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"

namespace concord::authz {

class AuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  /// `authorizer` and `metrics` must outlive the processor (and therefore the server).
  AuthProcessor(const Authorizer& authorizer, metrics::Metrics& metrics);
  ~AuthProcessor() override;

  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  /// Called (inline, must not block) for every refused call whose peer certificate names an
  /// agency, with the method ("unknown" outside the table) and the refusal: the host audits
  /// refusals through a background writer (common/audit/background_audit.h). Set before the
  /// server starts.
  using DenialObserver =
      std::function<void(const Caller& caller, std::string_view method, const Status& refusal)>;
  void SetDenialObserver(DenialObserver observer) { on_denied_ = std::move(observer); }

  /// The decision alone, for tests: authenticates the peer from `context` and authorizes
  /// `full_method`.
  Status Check(const grpc::AuthContext& context, std::string_view full_method) const;

  /// grpc_type label ("unary", "server_stream", ...) of a method in the policy table, from the
  /// protobuf descriptor pool; "unary" when unknown.
  std::string_view GrpcTypeOf(std::string_view full_method) const;

 private:
  const Authorizer& authorizer_;
  metrics::Metrics& metrics_;
  std::unordered_map<std::string, std::string> grpc_types_;  // immutable after construction
  DenialObserver on_denied_;                                 // set before the server starts
  // Released at the end of every Process(), acquired by the destructor: the last call's reads
  // happen before the processor is destroyed. gRPC orders them already (it drops its reference
  // after the last call), but in its own code, which ThreadSanitizer does not see
  // (docs/reliability.md "Sanitizers").
  std::atomic<uint64_t> processed_{0};
};

}  // namespace concord::authz
