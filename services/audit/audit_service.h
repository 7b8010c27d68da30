// File: services/audit/audit_service.h
//
// gRPC handlers of concord.audit.v1.Audit: identity from the peer certificate, proto <->
// domain conversion, AuditLog calls, one status conversion. Authorization (admin and
// coordination_unit only) is enforced before the handlers by the central policy table
// (common/authz); the handlers still require an authenticated caller.
//
// Reading the audit log is itself audited when a sink is given: each valid Query appends a
// CONSULTATION record (object "audit-log") naming the caller, officer, justification and
// outcome; if that record cannot be written the query is not answered.
//
// Bounds of Verify (a stolen admin or coordination-unit key must not be able to keep Redis busy
// reading the whole log): one Verify per agency at a time on a replica (cap `verifications`, a
// second is RESOURCE_EXHAUSTED, LIMIT_REACHED); each is charged ceil(records / 10,000) tokens of
// the caller's `read` bucket once the range is known, before any record is read (a refusal is
// recorded once a minute per agency, as Query's); and it stops between batches of 1,000 records
// when the call is cancelled (the client went away, its deadline passed, its certificate was
// revoked: CANCELLED).
//
// CreateCheckpoint signs and stores a checkpoint and writes its file to the checkpoint volume,
// for good: one token of the caller's `checkpoint` bucket (10 + 0.01/s by default) before
// anything is read or signed; beyond it RESOURCE_EXHAUSTED, QUOTA_EXCEEDED (limit checkpoint).
// The checkpointer's own periodic checkpoints are not charged. It verifies the records since the
// latest checkpoint before signing, so it also takes one of the agency's `verifications` slots.
//
// Read-your-writes: with an ingester, every handler first chains what the workloads' intakes
// hold (AuditIngester::IngestPending), so the records of calls already answered are in what it
// reads. Best effort: if that fails (Redis down, a tampered head), the handler reads the chain
// as it is, and Verify reports what is wrong with it.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "common/audit/audit_event.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/time/clock.h"
#include "concord/audit/v1/audit.grpc.pb.h"
#include "services/audit/audit_ingester.h"
#include "services/audit/audit_log.h"

namespace concord::audit {

class AuditService final : public concord::audit::v1::Audit::Service {
 public:
  /// `log` must outlive the service. `self_audit` may be null (no record of audit queries);
  /// `ingester` may be null (read the chain as it is); `reads` (may be null: not charged) is the
  /// `read` bucket charged one token before each Query, which writes a consultation record
  /// (common/quota/read_meter.h).
  /// Verify is charged the same bucket (ceil(records / kRecordsPerVerifyToken) tokens) and,
  /// with `quotas` (may be null: no cap), capped at its agency type's `verifications` running
  /// per agency on this replica.
  /// `checkpoints` (may be null: not charged) is the `checkpoint` bucket, one token per
  /// CreateCheckpoint before anything is read or signed.
  AuditService(AuditLog& log, AuditSink* self_audit, AuditIngester* ingester = nullptr,
               quota::ReadMeter* reads = nullptr, quota::QuotaChecker* quotas = nullptr,
               quota::ReadMeter* checkpoints = nullptr);

  /// Records a Verify may check per token of the `read` bucket.
  static constexpr uint64_t kRecordsPerVerifyToken = 10'000;
  /// The tokens a Verify of `records` records costs (at least 1).
  static int64_t VerifyCost(uint64_t records);

  grpc::Status Query(grpc::ServerContext* ctx, const v1::QueryRequest* req,
                     v1::QueryResponse* reply) override;
  grpc::Status Verify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                      v1::VerifyResponse* reply) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* ctx, const v1::GetCheckpointRequest* req,
                             v1::GetCheckpointResponse* reply) override;
  grpc::Status CreateCheckpoint(grpc::ServerContext* ctx, const v1::CreateCheckpointRequest* req,
                                v1::CreateCheckpointResponse* reply) override;

 private:
  void CatchUp();
  // A record of `operation` on the audit log by `method` with `outcome` (none without a sink).
  Status Record(const grpc::ServerContext& ctx, const AgencyId& agency, Operation operation,
                const char* method, const Status& outcome);
  // Takes one of `agency`'s verification slots on this replica, or the cap's refusal (recorded
  // as `operation` by `method` once a minute per agency, as every refusal).
  Status EnterVerify(const grpc::ServerContext& ctx, const AgencyId& agency, Operation operation,
                     const char* method);
  void LeaveVerify(const AgencyId& agency);

  AuditLog& log_;
  AuditSink* self_audit_;
  AuditIngester* ingester_;
  quota::ReadMeter* reads_;
  quota::QuotaChecker* quotas_;
  quota::ReadMeter* checkpoints_;
  std::mutex verify_mu_;
  std::map<std::string, int> verifying_ ABSL_GUARDED_BY(verify_mu_);  // agency key -> running
};

/// Proto conversions (exposed for tests).
v1::Operation OperationToProto(Operation op);
void RecordToProto(const DecodedRecord& record, v1::AuditRecord& out);
void CheckpointToProto(const Checkpoint& cp, const crypto::Ed25519PublicKey& key,
                       v1::Checkpoint& out);
/// INVALID_ARGUMENT with field paths for a bad selector, time range or page token.
StatusOr<QuerySpec> QuerySpecFromProto(const v1::QueryRequest& req);

}  // namespace concord::audit
