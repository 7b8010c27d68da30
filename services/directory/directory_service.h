// File: services/directory/directory_service.h
//
// gRPC handlers of concord.directory.v1.Directory. Thin: caller from the peer certificate ->
// proto to domain -> domain rule (agency.h) -> store -> audit -> proto reply, with ONE status
// conversion (ToGrpcStatus) at the end.
//
// Authorization is NOT done here: the AuthProcessor (common/authz) refuses callers that the
// policy table denies, and suspended agencies / revoked certificates, before any handler runs.
//
// Accountability: every state-changing RPC needs concord-officer and concord-justification
// metadata (CheckAccountability, agency.h) before anything else happens.
//
// Audit: every state-changing RPC that reaches a handler appends one AuditEvent (outcome = the
// status code name, also for refusals such as ALREADY_EXISTS): RegisterAgency -> collection,
// UpdateAgency/SuspendAgency/ReinstateAgency/RevokeCertificate -> alteration; object
// "agency:<type>/<id>" or "certificate:<serial>"; details = what changed (DiffAgency: field
// names, key fingerprints, attribute values; "bootstrap" when the caller holds directory
// administration only through --bootstrap-directory-admins). The change is made first, then
// audited; if the audit append fails the RPC returns that error (UNAVAILABLE) although the change
// was applied (see README.md).
//
// Announcements: a registration, or an update that changes the record, of an agency with an
// inbox queues a notification for it in the same store write (DirectoryStore::Announcement); the
// AnnouncementWorker sends it as admin/concord-directory.
//
// Disclosure: GetAgency and ListAgencies return the full record to the domestic types, directory
// administrators and audit reviewers, and only its public part to everyone else (DisclosureFor).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/authz/policy.h"
#include "common/identity/caller.h"
#include "common/time/clock.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "services/directory/directory_store.h"

namespace concord::directory {

/// The proto-to-domain conversions of the handlers (pure; the request fuzzer
/// tests/fuzz/directory_requests_fuzz.cc feeds them). Field violations are prefixed with
/// `field` ("id.type") or "agency." so that they point into the request.
StatusOr<AgencyId> AgencyIdFromProto(const concord::common::v1::AgencyId& in,
                                     std::string_view trust_domain, std::string_view field);
StatusOr<AgencySpec> AgencySpecFromProto(const v1::AgencySpec& in, std::string_view trust_domain);

class DirectoryService final : public concord::directory::v1::Directory::Service {
 public:
  /// All references must outlive the service. `trust_domain` is the deployment's; `roles` is
  /// the authorizer's view of the directory (the host's DirectoryCache), read for the callers'
  /// roles (disclosure, bootstrap audit).
  DirectoryService(std::string trust_domain, DirectoryStore& store, audit::AuditSink& audit,
                   const Clock& clock, const authz::RevocationView& roles);

  grpc::Status RegisterAgency(grpc::ServerContext* ctx, const v1::RegisterAgencyRequest* req,
                              v1::RegisterAgencyResponse* resp) override;
  grpc::Status UpdateAgency(grpc::ServerContext* ctx, const v1::UpdateAgencyRequest* req,
                            v1::UpdateAgencyResponse* resp) override;
  grpc::Status SuspendAgency(grpc::ServerContext* ctx, const v1::SuspendAgencyRequest* req,
                             v1::SuspendAgencyResponse* resp) override;
  grpc::Status ReinstateAgency(grpc::ServerContext* ctx, const v1::ReinstateAgencyRequest* req,
                               v1::ReinstateAgencyResponse* resp) override;
  grpc::Status RevokeCertificate(grpc::ServerContext* ctx, const v1::RevokeCertificateRequest* req,
                                 v1::RevokeCertificateResponse* resp) override;
  grpc::Status GetAgency(grpc::ServerContext* ctx, const v1::GetAgencyRequest* req,
                         v1::GetAgencyResponse* resp) override;
  grpc::Status ListAgencies(grpc::ServerContext* ctx, const v1::ListAgenciesRequest* req,
                            v1::ListAgenciesResponse* resp) override;
  grpc::Status GetRevocations(grpc::ServerContext* ctx, const v1::GetRevocationsRequest* req,
                              v1::GetRevocationsResponse* resp) override;

 private:
  /// A stored change and what it changed (for the audit record's details).
  struct Changed {
    Agency agency;
    std::vector<RecordChange> changes;
  };
  StatusOr<Changed> Register(const grpc::ServerContext& ctx, const Caller& caller,
                             const v1::RegisterAgencyRequest& req);
  StatusOr<Changed> Update(const grpc::ServerContext& ctx, const Caller& caller,
                           const v1::UpdateAgencyRequest& req);
  /// Get -> change -> Replace, retried on a concurrent change (ABORTED) a few times.
  template <typename Change>
  StatusOr<Changed> Mutate(const AgencyId& id, Change change);
  /// The announcement of `changes` to `agency` by `caller`, sealed to `seal_to_pem` (the
  /// agency's sealing key before the change), or nullopt when there is nothing to say or the
  /// agency has no inbox.
  std::optional<Announcement> Announce(const Caller& caller, const Agency& agency,
                                       std::string_view event,
                                       const std::vector<RecordChange>& changes,
                                       const std::string& seal_to_pem) const;
  /// Whether `caller` holds directory administration only through the bootstrap list now.
  bool IsBootstrapGrant(const Caller& caller) const;
  /// The audit record's details of a change ("" when nothing changed), marked when made under
  /// the bootstrap grant.
  static std::string Details(bool bootstrap, const StatusOr<Changed>& result);
  /// `details` marked "bootstrap directory administrator" when `bootstrap`.
  static std::string WithBootstrapMark(bool bootstrap, std::string details);
  /// Appends the audit record of a state-changing call; returns `result` unless auditing fails.
  Status Audit(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
               std::string object, std::string_view method, std::string details,
               const Status& result);
  /// What the caller may see of records.
  Disclosure DisclosureOf(const grpc::ServerContext& ctx) const;

  const std::string trust_domain_;
  DirectoryStore& store_;
  audit::AuditSink& audit_;
  const Clock& clock_;
  const authz::RevocationView& roles_;
};

}  // namespace concord::directory
