#include "services/audit/audit_service.h"

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/audit/audit_context.h"
#include "common/identity/caller.h"
#include "common/limits/field_limits.h"
#include "common/quota/refusal.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace concord::audit {
namespace {

constexpr char kQueryMethod[] = "/concord.audit.v1.Audit/Query";
constexpr char kVerifyMethod[] = "/concord.audit.v1.Audit/Verify";
constexpr char kCreateCheckpointMethod[] = "/concord.audit.v1.Audit/CreateCheckpoint";
// How long a refused second Verify is told to wait (RetryInfo).
constexpr absl::Duration kVerifyRetryAfter = absl::Seconds(1);

void TimeToProto(absl::Time t, google::protobuf::Timestamp& out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1'000'000'000;
  int64_t rem = nanos % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rem));
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

bool ValidTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.nanos() >= 0 && ts.nanos() < 1'000'000'000 && ts.seconds() >= -62135596800 &&
         ts.seconds() <= 253402300799;
}

}  // namespace

v1::Operation OperationToProto(Operation op) {
  switch (op) {
    case Operation::kCollection:
      return v1::OPERATION_COLLECTION;
    case Operation::kAlteration:
      return v1::OPERATION_ALTERATION;
    case Operation::kConsultation:
      return v1::OPERATION_CONSULTATION;
    case Operation::kDisclosure:
      return v1::OPERATION_DISCLOSURE;
    case Operation::kCombination:
      return v1::OPERATION_COMBINATION;
    case Operation::kErasure:
      return v1::OPERATION_ERASURE;
  }
  return v1::OPERATION_UNSPECIFIED;
}

void RecordToProto(const DecodedRecord& record, v1::AuditRecord& out) {
  const AuditEvent& e = record.event;
  out.set_seq(record.seq);
  TimeToProto(e.time, *out.mutable_time());
  out.mutable_agency()->set_trust_domain(e.agency.trust_domain);
  out.mutable_agency()->set_type(AgencyTypeToProto(e.agency.type));
  out.mutable_agency()->set_id(e.agency.id);
  out.set_officer(e.officer);
  out.set_operation(OperationToProto(e.operation));
  out.set_object(e.object);
  out.set_method(e.method);
  out.set_justification(e.justification);
  out.set_details(e.details);
  for (const std::string& r : e.recipients) {
    out.add_recipients(r);
  }
  out.set_outcome(e.outcome);
  out.set_prev_hash(record.prev_hash);
  out.set_hash(record.hash);
  out.set_source(record.source);
}

void CheckpointToProto(const Checkpoint& cp, const crypto::Ed25519PublicKey& key,
                       v1::Checkpoint& out) {
  out.set_seq(cp.seq);
  out.set_head_hash(cp.head_hash);
  TimeToProto(cp.time, *out.mutable_time());
  out.set_signature(cp.signature);
  out.set_public_key(key.Raw());
}

StatusOr<QuerySpec> QuerySpecFromProto(const v1::QueryRequest& req) {
  QuerySpec spec;
  FieldErrors errors;
  switch (req.selector_case()) {
    case v1::QueryRequest::kObject:
      spec.kind = QuerySpec::Kind::kObject;
      spec.object = req.object();
      if (spec.object.empty()) {
        errors.Add("object", "must not be empty");
      } else if (spec.object.size() > 512) {
        errors.Add("object", "at most 512 bytes");
      }
      break;
    case v1::QueryRequest::kAgency: {
      spec.kind = QuerySpec::Kind::kAgency;
      auto type = AgencyTypeFromProto(req.agency().type());
      if (!type.ok()) {
        errors.Add("agency.type", "must be a known agency type");
      } else {
        spec.agency.type = *type;
      }
      if (!ValidateAgencyLocalId(req.agency().id()).ok()) {
        errors.Add("agency.id", "must match ^[a-z0-9][a-z0-9-]{0,62}$");
      }
      spec.agency.trust_domain = req.agency().trust_domain();
      spec.agency.id = req.agency().id();
      break;
    }
    case v1::QueryRequest::SELECTOR_NOT_SET:
      spec.kind = QuerySpec::Kind::kAll;
      break;
  }
  if (req.has_time_range()) {
    const auto& range = req.time_range();
    if (range.has_from()) {
      if (!ValidTimestamp(range.from())) {
        errors.Add("time_range.from", "not a valid timestamp");
      } else {
        spec.from = TimeFromProto(range.from());
      }
    }
    if (range.has_to()) {
      if (!ValidTimestamp(range.to())) {
        errors.Add("time_range.to", "not a valid timestamp");
      } else {
        spec.to = TimeFromProto(range.to());
      }
    }
    if (spec.from && spec.to && *spec.from > *spec.to) {
      errors.Add("time_range", "from must not be after to");
    }
  }
  if (req.page().page_size() < 0) {
    errors.Add("page.page_size", "must not be negative");
  } else {
    spec.page_size = static_cast<size_t>(req.page().page_size());
  }
  if (!req.page().page_token().empty()) {
    uint64_t before = 0;
    if (!absl::SimpleAtoi(req.page().page_token(), &before) || before == 0) {
      errors.Add("page.page_token", "not a token returned by Query");
    } else {
      spec.before_seq = before;
    }
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid audit query"));
  return spec;
}

AuditService::AuditService(AuditLog& log, AuditSink* self_audit, AuditIngester* ingester,
                           quota::ReadMeter* reads, quota::QuotaChecker* quotas,
                           quota::ReadMeter* checkpoints)
    : log_(log),
      self_audit_(self_audit),
      ingester_(ingester),
      reads_(reads),
      quotas_(quotas),
      checkpoints_(checkpoints) {}

int64_t AuditService::VerifyCost(uint64_t records) {
  return static_cast<int64_t>(
      std::max<uint64_t>(1, (records + kRecordsPerVerifyToken - 1) / kRecordsPerVerifyToken));
}

Status AuditService::Record(const grpc::ServerContext& ctx, const AgencyId& agency,
                            Operation operation, const char* method, const Status& outcome) {
  if (self_audit_ == nullptr) return absl::OkStatus();
  return self_audit_->Append(AuditEvent{.agency = agency,
                                        .officer = OfficerFromContext(ctx),
                                        .operation = operation,
                                        .object = "audit-log",
                                        .method = method,
                                        .justification = JustificationFromContext(ctx),
                                        .recipients = {},
                                        .outcome = absl::StatusCodeToString(outcome.code()),
                                        .time = log_.clock().Now()});
}

Status AuditService::EnterVerify(const grpc::ServerContext& ctx, const AgencyId& agency,
                                 Operation operation, const char* method) {
  if (quotas_ == nullptr) return absl::OkStatus();
  const int cap = quotas_->table().CapOf(agency.type, quota::Cap::kVerifications);
  {
    std::lock_guard<std::mutex> lock(verify_mu_);
    int& running = verifying_[agency.Key()];
    if (running < cap) {
      ++running;
      return absl::OkStatus();
    }
    if (running == 0) verifying_.erase(agency.Key());
  }
  Status refusal = quota::CapRefusal(agency, quota::Cap::kVerifications, cap, kVerifyRetryAfter);
  // Counted in concord_quota_refusals_total; recorded once a minute per agency.
  if (quotas_->Observe(agency, refusal)) (void)Record(ctx, agency, operation, method, refusal);
  return refusal;
}

void AuditService::LeaveVerify(const AgencyId& agency) {
  if (quotas_ == nullptr) return;
  std::lock_guard<std::mutex> lock(verify_mu_);
  auto it = verifying_.find(agency.Key());
  if (it != verifying_.end() && --it->second <= 0) verifying_.erase(it);
}

void AuditService::CatchUp() {
  // Best effort (see the header): the worker logs ingest failures; a reader must still be able
  // to look at a chain that cannot take new records, above all Verify.
  if (ingester_ != nullptr) (void)ingester_->IngestPending();
}

grpc::Status AuditService::Query(grpc::ServerContext* ctx, const v1::QueryRequest* req,
                                 v1::QueryResponse* reply) {
  // Every field within its bound (limits.proto) before anything reads the request.
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  // Security: identity from the peer certificate only.
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const QuerySpec spec, QuerySpecFromProto(*req));
  // Reading the audit log is itself a consultation: recorded with its outcome, and answered only
  // if the record was written.
  auto record = [&](const Status& outcome) -> Status {
    return Record(*ctx, caller.agency, Operation::kConsultation, kQueryMethod, outcome);
  };
  // The read bucket, one token for that record, before anything is read; a flood of refusals is
  // recorded once a minute per agency.
  CONCORD_GRPC_RETURN_IF_ERROR(quota::ChargeRead(
      reads_, caller.agency, 1, [&](const Status& refusal) { (void)record(refusal); }));
  CatchUp();
  StatusOr<QueryPage> page = log_.Query(spec);
  CONCORD_GRPC_RETURN_IF_ERROR(record(page.status()));
  if (!page.ok()) {
    return ToGrpcStatus(page.status());
  }
  for (const DecodedRecord& r : page->records) {
    RecordToProto(r, *reply->add_records());
  }
  if (page->next_before_seq != 0) {
    reply->set_next_page_token(absl::StrCat(page->next_before_seq));
  }
  return grpc::Status::OK;
}

grpc::Status AuditService::Verify(grpc::ServerContext* ctx, const v1::VerifyRequest* req,
                                  v1::VerifyResponse* reply) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // Bounds (see the header): one running per agency on this replica, its `read` tokens charged
  // before any record is read, stopped between batches once the call is cancelled.
  CONCORD_GRPC_RETURN_IF_ERROR(
      EnterVerify(*ctx, caller.agency, Operation::kConsultation, kVerifyMethod));
  absl::Cleanup leave = [&] { LeaveVerify(caller.agency); };
  CatchUp();
  VerifyHooks hooks{.admit =
                        [&](uint64_t records) {
                          return quota::ChargeRead(reads_, caller.agency, VerifyCost(records),
                                                   [&](const Status& refusal) {
                                                     (void)Record(*ctx, caller.agency,
                                                                  Operation::kConsultation,
                                                                  kVerifyMethod, refusal);
                                                   });
                        },
                    .cancelled = [ctx] { return ctx->IsCancelled(); }};
  CONCORD_GRPC_ASSIGN_OR_RETURN(const VerifyReport report,
                                log_.Verify(req->from_seq(), req->to_seq(), hooks));
  reply->set_ok(report.result.ok);
  reply->set_records_checked(report.result.records_checked);
  reply->set_first_bad_seq(report.result.first_bad_seq);
  reply->set_reason(report.result.reason);
  reply->set_checkpoints_checked(report.result.checkpoints_checked);
  if (report.result.last_checkpoint) {
    CheckpointToProto(*report.result.last_checkpoint, log_.public_key(),
                      *reply->mutable_last_checkpoint());
  }
  reply->set_from_seq(report.from_seq);
  reply->set_to_seq(report.to_seq);
  reply->set_head_seq(report.head_seq);
  if (report.result.ok) reply->set_last_hash(report.last_hash);
  return grpc::Status::OK;
}

grpc::Status AuditService::GetCheckpoint(grpc::ServerContext* ctx,
                                         const v1::GetCheckpointRequest* req,
                                         v1::GetCheckpointResponse* reply) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  CatchUp();
  CONCORD_GRPC_ASSIGN_OR_RETURN(const std::optional<Checkpoint> latest, log_.LatestCheckpoint());
  if (!latest) {
    return ToGrpcStatus(absl::NotFoundError("no checkpoint has been made yet"));
  }
  CONCORD_GRPC_ASSIGN_OR_RETURN(const ChainHead head, log_.Head());
  CheckpointToProto(*latest, log_.public_key(), *reply->mutable_checkpoint());
  reply->set_head_seq(head.seq);
  return grpc::Status::OK;
}

grpc::Status AuditService::CreateCheckpoint(grpc::ServerContext* ctx,
                                            const v1::CreateCheckpointRequest* req,
                                            v1::CreateCheckpointResponse* reply) {
  CONCORD_GRPC_RETURN_IF_ERROR(limits::CheckFieldLimits(*req));
  CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
  // It verifies the records since the latest checkpoint first: it takes one of the agency's
  // verification slots, as Verify does.
  CONCORD_GRPC_RETURN_IF_ERROR(
      EnterVerify(*ctx, caller.agency, Operation::kAlteration, kCreateCheckpointMethod));
  absl::Cleanup leave = [&] { LeaveVerify(caller.agency); };
  // Bound (see the header): one token of the `checkpoint` bucket before anything is signed. A
  // refusal is counted and recorded once a minute per agency (a signed checkpoint is its own
  // trace: the log line and the exported file).
  CONCORD_GRPC_RETURN_IF_ERROR(
      quota::ChargeRead(checkpoints_, caller.agency, 1, [&](const Status& refusal) {
        (void)Record(*ctx, caller.agency, Operation::kAlteration, kCreateCheckpointMethod, refusal);
      }));
  CatchUp();
  // Its verification stops between batches when the call is cancelled (client gone, deadline,
  // revocation), as Verify's does: the first checkpoint of a long log reads all of it.
  CONCORD_GRPC_ASSIGN_OR_RETURN(
      const Checkpoint cp, log_.CreateCheckpoint(VerifyHooks{.admit = nullptr, .cancelled = [ctx] {
                                                               return ctx->IsCancelled();
                                                             }}));
  CheckpointToProto(cp, log_.public_key(), *reply->mutable_checkpoint());
  return grpc::Status::OK;
}

}  // namespace concord::audit
