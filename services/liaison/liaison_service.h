// File: services/liaison/liaison_service.h
//
// concord.liaison.v1.Liaison over gRPC: thin handlers over the pure domain (requests, clocks,
// jit), the LiaisonStore, the directory (roles, time zones, signing keys) and the audit sink.
// docs/liaison.md.
//
// Rules every handler keeps:
//   - the caller is the agency of the peer certificate (CallerFromContext), never a field; the
//     policy table (common/authz) has already refused the agency types that may not call the
//     method at all; here the caller must be a party of the request / a member of the team;
//   - a request is visible to its issuer and its executor only; anyone else gets NOT_FOUND (a
//     platform never learns of another platform's orders);
//   - bad input is INVALID_ARGUMENT with field violations and changes nothing; a stale version
//     ABORTED; a move not allowed in the state FAILED_PRECONDITION naming the allowed moves; the
//     wrong party PERMISSION_DENIED;
//   - every change, every consultation and every refusal is audited, a read BEFORE anything is
//     returned (no audit record, no data);
//   - an answer with evidence carries the executing agency's Ed25519 signature over
//     AnswerSigningBytes, verified against its directory signing key before anything is written;
//   - WatchJit streams take a CallGuard (common/server/open_calls.h): they end when the caller's
//     certificate is revoked or its agency suspended, and when it leaves the team.
//
// Thread safety: thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/clients/directory_reader.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/server/open_calls.h"
#include "common/time/clock.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "services/liaison/clocks.h"
#include "services/liaison/liaison_store.h"
#include "services/liaison/requests.h"

namespace concord::liaison {

struct LiaisonServiceOptions {
  std::string trust_domain;
  ClockConfig clocks;
  absl::Duration watch_poll = absl::Milliseconds(250);  // WatchJit: new entries and membership
  /// The process's quotas and storage watermark (common/quota): CreateRequest, CreateJit and
  /// ShareInJit are refused at the watermark. CreateRequest and Act are charged the caller's
  /// liaison_request bucket, CreateJit and ShareInJit its jit_write bucket, inside the store's
  /// scripts. The per-agency cap on WatchJit streams is the registry's (OpenCalls with a
  /// QuotaChecker). Null: none. Must outlive the service.
  quota::QuotaChecker* quotas = nullptr;
  /// The `read` bucket (common/quota/read_meter.h), one token before each consultation:
  /// GetRequest, ListRequests, ListLinkedNotifications, GetJit, ListJitEntries and the opening of
  /// WatchJit. Null: not charged. Must outlive the service.
  quota::ReadMeter* reads = nullptr;
};

class LiaisonService final : public v1::Liaison::Service {
 public:
  /// Every reference must outlive the service.
  LiaisonService(LiaisonStore& store, clients::DirectoryReader& directory, audit::AuditSink& audit,
                 metrics::Metrics& metrics, server::OpenCalls& calls, const Clock& clock,
                 LiaisonServiceOptions options);

  grpc::Status CreateRequest(grpc::ServerContext* ctx, const v1::CreateRequestRequest* req,
                             v1::RequestResponse* resp) override;
  grpc::Status Act(grpc::ServerContext* ctx, const v1::ActRequest* req,
                   v1::RequestResponse* resp) override;
  grpc::Status GetRequest(grpc::ServerContext* ctx, const v1::GetRequestRequest* req,
                          v1::GetRequestResponse* resp) override;
  grpc::Status ListRequests(grpc::ServerContext* ctx, const v1::ListRequestsRequest* req,
                            v1::ListRequestsResponse* resp) override;
  grpc::Status LinkNotification(grpc::ServerContext* ctx, const v1::LinkNotificationRequest* req,
                                v1::LinkNotificationResponse* resp) override;
  grpc::Status ListLinkedNotifications(grpc::ServerContext* ctx,
                                       const v1::ListLinkedNotificationsRequest* req,
                                       v1::ListLinkedNotificationsResponse* resp) override;
  grpc::Status CreateJit(grpc::ServerContext* ctx, const v1::CreateJitRequest* req,
                         v1::JitResponse* resp) override;
  grpc::Status AddJitMember(grpc::ServerContext* ctx, const v1::AddJitMemberRequest* req,
                            v1::JitResponse* resp) override;
  grpc::Status LeaveJit(grpc::ServerContext* ctx, const v1::LeaveJitRequest* req,
                        v1::JitResponse* resp) override;
  grpc::Status GetJit(grpc::ServerContext* ctx, const v1::GetJitRequest* req,
                      v1::JitResponse* resp) override;
  grpc::Status ShareInJit(grpc::ServerContext* ctx, const v1::ShareInJitRequest* req,
                          v1::ShareInJitResponse* resp) override;
  grpc::Status ListJitEntries(grpc::ServerContext* ctx, const v1::ListJitEntriesRequest* req,
                              v1::ListJitEntriesResponse* resp) override;
  grpc::Status WatchJit(grpc::ServerContext* ctx, const v1::WatchJitRequest* req,
                        grpc::ServerWriter<v1::JitEntry>* writer) override;
  grpc::Status RecordCrossing(grpc::ServerContext* ctx, const v1::RecordCrossingRequest* req,
                              v1::RequestResponse* resp) override;

 private:
  // Redis never fills silently: new requests, teams and ledger entries are refused at the
  // storage watermark (RESOURCE_EXHAUSTED STORAGE_WATERMARK), and by this replica's recent
  // refusal of the caller's `bucket` (no I/O).
  Status AdmitNewData(const Caller& caller, quota::Quota bucket);
  // Moves on existing requests go on above the watermark: only the recent refusal of `bucket`.
  Status AdmitCharged(const Caller& caller, quota::Quota bucket);
  // One charge of `agency`'s `bucket`, made in the store's script (empty without quotas).
  std::vector<quota::Charge> ChargesOf(const AgencyId& agency, quota::Quota bucket) const;
  // Counts a refusal by agency type; false when the call must not be audited (a refusal of the
  // same limit already audited for the agency within the minute).
  bool ObserveNewData(const Caller& caller, const Status& outcome);
  Status Audit(const grpc::ServerContext& ctx, const Caller& caller, audit::Operation op,
               std::string object, std::string_view method, const Status& outcome,
               std::vector<std::string> recipients = {});
  // The read bucket (options_.reads) before a consultation: OK to read; otherwise the refusal,
  // audited against `object` and `method` once a minute per agency (QuotaChecker::Observe).
  Status ChargeRead(const grpc::ServerContext& ctx, const Caller& caller, std::string object,
                    std::string_view method);
  // The request if the caller is its issuer or executor; NOT_FOUND otherwise.
  StatusOr<v1::Request> LoadAsParty(std::string_view request_id, const Caller& caller);
  // The team if the caller is a current member; NOT_FOUND / PERMISSION_DENIED NOT_A_JIT_MEMBER.
  StatusOr<v1::Jit> LoadAsMember(std::string_view jit_id, const Caller& caller);
  // The registered, active agency `proto` (local trust domain when empty).
  StatusOr<clients::DirectoryEntry> ActiveAgency(const concord::common::v1::AgencyId& proto,
                                                 std::string_view field);
  Status CheckAnswerSignature(const Caller& caller, const v1::Request& current,
                              const v1::ActRequest& req);
  StatusOr<absl::TimeZone> LoadZone(const std::string& name);
  // `charged`: the agency whose liaison_request bucket the write charges (null: none; a
  // crossing was charged to its sender by the gateway).
  Status Write(const v1::Request* previous, const Outcome& outcome, const AgencyId* charged);
  // An agency of a partner deployment: a trust domain that is set and not this one.
  bool IsPartnerAgency(const concord::common::v1::AgencyId& proto) const;
  // The party-index key (RequestWrite::issuer_index).
  std::string PartyIndex(const concord::common::v1::AgencyId& proto) const;
  // RecordCrossing's two halves; `received_at` is the gateway's acceptance.
  StatusOr<Outcome> RecordPartnerRequest(const v1::SignedLiaisonDescriptor& d,
                                         absl::Time received_at);
  StatusOr<Outcome> RecordPartnerAct(const v1::SignedLiaisonDescriptor& d, absl::Time received_at);
  void Decorate(v1::Request& r) const;

  LiaisonStore& store_;
  clients::DirectoryReader& directory_;
  audit::AuditSink& audit_;
  server::OpenCalls& calls_;
  const Clock& clock_;
  const LiaisonServiceOptions options_;
  prometheus::Family<prometheus::Counter>* changes_ = nullptr;
  prometheus::Family<prometheus::Counter>* refusals_ = nullptr;
  prometheus::Gauge* jit_streams_ = nullptr;  // open WatchJit streams of this replica
};

/// The JSON body of a change notification (no personal data): request id, type, move, states,
/// clocks, and "urgent": true when an 8-hour clock started.
std::string ChangeBody(const v1::Request& next, const v1::HistoryEntry& entry, bool urgent);

}  // namespace concord::liaison
