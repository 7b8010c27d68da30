// File: services/guidelines/guidelines_service.h
//
// gRPC handlers of concord.guidelines.v1.Guidelines (STYLE G1): the caller's agency from the peer
// certificate, proto -> domain, Guidebook, audit record, domain -> proto. Authorization by agency
// type runs before any handler (common/authz policy table); the publisher right, ownership and
// visibility rules live in the Guidebook.
//
// Subscribe uses gRPC's callback API (a ServerWriteReactor per stream, no thread per stream;
// the Distributor pushes to it): 1,000 open subscriptions hold no thread. Live revocation: each
// stream takes a CallGuard from the server's OpenCalls registry, checks it before every write
// and is woken by the registry's watcher, so it ends with UNAUTHENTICATED (ErrorInfo
// CERTIFICATE_REVOKED or AGENCY_SUSPENDED) within 5 s of a revocation or suspension.
//
// Audit (common/audit, docs/guidelines.md "Audit"): Publish -> collection, Withdraw ->
// alteration, Acknowledge -> alteration (the acting officer, required), Compliance ->
// consultation; object "guideline:<id>@<version>"; refusals too.
//
// Metrics (no agency label): concord_guideline_publications_total,
// concord_guideline_withdrawals_total, concord_guideline_acknowledgements_total; the
// distribution metrics of distributor.h; the ack ratio and overdue gauges (GuidelinesModule).
//
// Thread safety: thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include "common/audit/audit_event.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/server/open_calls.h"
#include "common/time/clock.h"
#include "concord/guidelines/v1/guidelines.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "services/guidelines/distributor.h"
#include "services/guidelines/guidebook.h"

namespace concord::guidelines {

/// The guidelines metrics registered once per process, besides DistributorMetrics.
struct GuidelinesMetrics {
  explicit GuidelinesMetrics(metrics::Metrics& metrics);
  prometheus::Counter* publications;
  prometheus::Counter* withdrawals;
  prometheus::Counter* acknowledgements;
  /// {guideline}: of the version in force of each guideline (refreshed by the module).
  prometheus::Family<prometheus::Gauge>* ack_ratio;
  prometheus::Family<prometheus::Gauge>* overdue;
};

struct GuidelinesServiceOptions {
  size_t max_stream_queue = 256;  // events queued for a client that does not read, then it ends
  /// The process's quotas and storage watermark (common/quota): Publish is refused at the
  /// watermark (acknowledgements and withdrawals are not); Publish and Withdraw are charged the
  /// caller's publish bucket, Acknowledge its ack bucket (the Guidebook's table, charged in the
  /// store's scripts); refusals are counted here and audited once per agency, limit and minute.
  /// Null: none. Must outlive the service.
  quota::QuotaChecker* quotas = nullptr;
  /// The `read` bucket (common/quota/read_meter.h), one token before each Compliance (a
  /// consultation of who acknowledged). Null: not charged. Must outlive the service.
  quota::ReadMeter* reads = nullptr;
};

class GuidelinesService final
    : public v1::Guidelines::WithCallbackMethod_Subscribe<v1::Guidelines::Service> {
 public:
  /// Every reference must outlive the service and every stream it opened (the host shuts the
  /// server down before destroying its modules).
  GuidelinesService(Guidebook& book, Distributor& distributor, DistributorMetrics& stream_metrics,
                    GuidelinesMetrics& metrics, audit::AuditSink& audit, server::OpenCalls& calls,
                    const Clock& clock, GuidelinesServiceOptions options = {});

  grpc::Status Publish(grpc::ServerContext* ctx, const v1::PublishRequest* request,
                       v1::PublishResponse* response) override;
  grpc::Status Withdraw(grpc::ServerContext* ctx, const v1::WithdrawRequest* request,
                        v1::WithdrawResponse* response) override;
  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetRequest* request,
                   v1::GetResponse* response) override;
  grpc::Status List(grpc::ServerContext* ctx, const v1::ListRequest* request,
                    v1::ListResponse* response) override;
  grpc::Status Diff(grpc::ServerContext* ctx, const v1::DiffRequest* request,
                    v1::DiffResponse* response) override;
  grpc::ServerWriteReactor<v1::GuidelineEvent>* Subscribe(
      grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) override;
  grpc::Status Acknowledge(grpc::ServerContext* ctx, const v1::AcknowledgeRequest* request,
                           v1::AcknowledgeResponse* response) override;
  grpc::Status Compliance(grpc::ServerContext* ctx, const v1::ComplianceRequest* request,
                          v1::ComplianceResponse* response) override;

 private:
  /// Appends the audit record; on an otherwise successful call a failing sink fails the call
  /// (UNAVAILABLE): an operation is never left unaudited without the caller knowing.
  Status Audit(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
               std::string object, std::string_view method, const Status& outcome);
  /// Counts a refusal by a quota; false when the call must not be audited (a refusal already
  /// audited for the agency and limit within the minute).
  bool Observe(const Caller& caller, const Status& outcome);

  Guidebook& book_;
  Distributor& distributor_;
  DistributorMetrics& stream_metrics_;
  GuidelinesMetrics& metrics_;
  audit::AuditSink& audit_;
  server::OpenCalls& calls_;
  const Clock& clock_;
  const GuidelinesServiceOptions options_;
};

}  // namespace concord::guidelines
