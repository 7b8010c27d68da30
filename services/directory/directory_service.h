// File: services/directory/directory_service.h
//
// gRPC handlers of concord.directory.v1.Directory. Thin: caller from the peer certificate ->
// proto to domain -> domain rule (agency.h) -> store -> audit -> proto reply, with ONE status
// conversion (ToGrpcStatus) at the end.
//
// Authorization is NOT done here: the AuthProcessor (common/authz) refuses callers that the
// policy table denies, and suspended agencies / revoked certificates, before any handler runs.
//
// Audit: every state-changing RPC that reaches a handler appends one AuditEvent (outcome = the
// status code name, also for refusals such as ALREADY_EXISTS): RegisterAgency -> collection,
// UpdateAgency/SuspendAgency/ReinstateAgency/RevokeCertificate -> alteration; object
// "agency:<type>/<id>" or "certificate:<serial>". The change is made first, then audited; if the
// audit append fails the RPC returns that error (UNAVAILABLE) although the change was applied
// (see README.md).
#pragma once

#include <string>

#include "common/audit/audit_event.h"
#include "common/time/clock.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "services/directory/directory_store.h"

namespace concord::directory {

class DirectoryService final : public concord::directory::v1::Directory::Service {
 public:
  /// All references must outlive the service. `trust_domain` is the deployment's.
  DirectoryService(std::string trust_domain, DirectoryStore& store, audit::AuditSink& audit,
                   const Clock& clock);

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
  StatusOr<Agency> Register(const v1::RegisterAgencyRequest& req);
  StatusOr<Agency> Update(const v1::UpdateAgencyRequest& req);
  /// Get -> change -> Replace, retried on a concurrent change (ABORTED) a few times.
  template <typename Change>
  StatusOr<Agency> Mutate(const AgencyId& id, Change change);
  /// Appends the audit record of a state-changing call; returns `result` unless auditing fails.
  Status Audit(const grpc::ServerContext& ctx, audit::Operation op, std::string object,
               std::string_view method, const Status& result);

  const std::string trust_domain_;
  DirectoryStore& store_;
  audit::AuditSink& audit_;
  const Clock& clock_;
};

}  // namespace concord::directory
