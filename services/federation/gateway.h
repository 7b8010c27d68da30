// File: services/federation/gateway.h
//
// The federation gateway's logic (docs/liaison.md "Federation with a partner deployment"),
// detached from gRPC: the handlers (gateway_service.h) authenticate, then call it.
//
//   inbound  AcceptRelay: the partner gateway hands over an envelope or a receipt. Checked: the
//            signer is an allow-listed partner agency present in the verified partner export,
//            the signature verifies under its exported key, every recipient is an active agency
//            this deployment exports; then stored in the recipients' inbound boxes (idempotent)
//            and audited (collection, object "federation:in:<message id>").
//   outbound SendAcross / Acknowledge: a local agency's envelope (or receipt) crosses. Checked:
//            the caller is the sender (signer) and on the export list, its signature verifies
//            under its local directory key, every recipient is an allow-listed partner agency in
//            the fresh partner export; then relayed synchronously (OK only once the partner
//            stored it) and audited (disclosure, object "federation:out:<message id>").
//   liaison  a liaison descriptor (docs/crypto.md "Liaison descriptors") may ride an envelope
//            (Send) or a receipt (Acknowledge): checked outbound against the caller's directory
//            key and its binding to the item, relayed with it; inbound verified against the
//            signer's key in the partner export and its binding, then recorded in this
//            deployment's liaison service (Liaison/RecordCrossing, as admin/concord-gateway)
//            BEFORE the item is stored and OK answered: the executing side's clocks start at
//            this gateway's acceptance. Liaison unreachable: UNAVAILABLE LIAISON_UNAVAILABLE,
//            nothing stored, the sender retries (recorded once).
//   keys     a refresher thread fetches the partner export every refresh_interval and verifies
//            it against the pinned key (VerifyExport); the export this deployment serves is
//            built from the local directory on each request and signed with the export key.
// The gateway never holds a key that opens an envelope: sealed content passes through.
//
// Metrics:
//   concord_federation_crossings_total{direction="in|out",kind="envelope|receipt",result=<code>}
//   concord_federation_liaison_crossings_total{direction,descriptor="request|act",result=<code>}
//   concord_federation_partner_export_age_seconds      age of the accepted partner export
//   concord_federation_partner_export_version          its version (0 before the first)
//   concord_federation_partner_export_refreshes_total{result="ok|refused|unavailable"}
//   concord_federation_partner_key_changes_total      partner agencies whose keys changed between
//                                                      two accepted exports (also audited, object
//                                                      "federation:partner_key_changed:<SPIFFE
//                                                      id>")
//
// Thread safety: thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/audit/audit_event.h"
#include "common/clients/directory_reader.h"
#include "common/crypto/ed25519.h"
#include "common/identity/caller.h"
#include "common/metrics/metrics.h"
#include "common/quota/quota_checker.h"
#include "common/quota/read_meter.h"
#include "common/time/clock.h"
#include "concord/federation/v1/federation.pb.h"
#include "concord/liaison/v1/liaison.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "services/federation/directory_export.h"
#include "services/federation/federation_config.h"
#include "services/federation/inbox_store.h"

namespace concord::federation {

/// The partner gateway as seen from here (PartnerLink over mTLS in production).
class PartnerClient {
 public:
  virtual ~PartnerClient() = default;
  virtual StatusOr<v1::SignedDirectoryExport> FetchExport() = 0;
  virtual StatusOr<v1::RelayResponse> Relay(const v1::RelayRequest& request) = 0;
};

/// This deployment's liaison service as the gateway reaches it (LiaisonLink: gRPC over mutual
/// TLS with the gateway's own identity admin/concord-gateway).
class LiaisonRecorder {
 public:
  virtual ~LiaisonRecorder() = default;
  virtual StatusOr<::concord::liaison::v1::RequestResponse> RecordCrossing(
      const ::concord::liaison::v1::RecordCrossingRequest& request) = 0;
};

struct GatewayDeps {
  const FederationConfig& config;
  crypto::Ed25519PrivateKey export_key;
  InboxStore& store;
  clients::DirectoryReader& directory;
  audit::AuditSink& audit;
  metrics::Metrics& metrics;
  const Clock& clock;
  PartnerClient& partner;
  quota::QuotaChecker* quotas = nullptr;  // null: the default table, no watermark
  /// The `read` bucket of ListInbound (one token a call; common/quota/read_meter.h). Null: not
  /// charged.
  quota::ReadMeter* reads = nullptr;
  /// Null: no liaison service configured; a relay carrying a liaison descriptor is refused
  /// (FAILED_PRECONDITION LIAISON_NOT_CONFIGURED).
  LiaisonRecorder* liaison = nullptr;
};

class Gateway {
 public:
  explicit Gateway(GatewayDeps deps);
  ~Gateway();  // Stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Fetches the partner export once (its failure is logged, not fatal: the refresher retries)
  /// and starts the refresher thread.
  void Start();
  void Stop();

  /// One fetch and verification of the partner export; on success it replaces the current one.
  Status RefreshPartnerDirectory();

  /// This deployment's export, signed (Gateway/GetDirectoryExport).
  StatusOr<v1::SignedDirectoryExport> BuildExport();

  StatusOr<v1::RelayResponse> AcceptRelay(const Caller& partner_gateway,
                                          const v1::RelayRequest& request);
  StatusOr<v1::SendAcrossResponse> SendAcross(
      const Caller& caller, const ::concord::messaging::v1::Envelope& envelope,
      const ::concord::liaison::v1::SignedLiaisonDescriptor* liaison = nullptr);
  StatusOr<std::vector<v1::InboundItem>> ListInbound(const Caller& caller);
  Status Acknowledge(const Caller& caller, const v1::AcknowledgeRequest& request);
  StatusOr<v1::GetPartnerAgencyResponse> GetPartnerAgency(
      const Caller& caller, const ::concord::common::v1::AgencyId& id);
  v1::FederationStatus GetStatus();

 private:
  /// The current partner directory if fresh: UNAVAILABLE PARTNER_DIRECTORY_STALE otherwise.
  StatusOr<std::shared_ptr<const PartnerDirectory>> FreshPartner();
  /// The partner agency's entry: allow-list, then the export (PARTNER_AGENCY_UNKNOWN).
  StatusOr<PartnerAgency> PartnerEntry(const AgencyId& agency);
  /// The active local agency's directory entry on the export list.
  StatusOr<clients::DirectoryEntry> LocalEntry(const AgencyId& agency);
  Status ChargeSend(const AgencyId& agency);
  void Count(std::string_view direction, std::string_view kind, const Status& result);
  // A partner agency's keys changed between two accepted exports: metric, log, audit.
  void ReportKeyChange(const PartnerKeyChange& change);
  // Appends the record; false (and an error log line) when the audit log refused it.
  bool Audit(const AgencyId& agency, audit::Operation op, std::string object,
             std::vector<std::string> recipients, const Status& result, std::string details);
  void RefreshLoop();
  /// A descriptor's shape, its binding (`bound`) and its signature under `key`.
  Status CheckDescriptor(const ::concord::liaison::v1::SignedLiaisonDescriptor& d,
                         const Status& bound, const crypto::Ed25519PublicKey& key,
                         std::string_view whose_key);
  /// Records an inbound descriptor in the liaison service (received at `now`).
  Status RecordLiaison(const ::concord::liaison::v1::SignedLiaisonDescriptor& d, absl::Time now);
  void CountLiaison(std::string_view direction,
                    const ::concord::liaison::v1::SignedLiaisonDescriptor& d, const Status& result);

  GatewayDeps deps_;
  std::mutex mu_;
  std::shared_ptr<const PartnerDirectory> partner_;  // guarded by mu_
  std::string last_refresh_error_;                   // guarded by mu_
  uint64_t last_export_version_ = 0;                 // guarded by mu_ (ours, strictly increasing)

  prometheus::Family<prometheus::Counter>* crossings_;
  prometheus::Family<prometheus::Counter>* refreshes_;
  prometheus::Family<prometheus::Counter>* liaison_crossings_;
  prometheus::Gauge* export_age_;
  prometheus::Gauge* export_version_;
  prometheus::Counter* key_changes_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;  // guarded by loop_mu_
  std::thread thread_;
};

}  // namespace concord::federation
