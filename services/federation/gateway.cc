// File: services/federation/gateway.cc
#include "services/federation/gateway.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "common/attributes/agency_attributes.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"
#include "common/envelope/liaison_descriptor.h"
#include "common/envelope/receipt.h"
#include "common/log/log.h"
#include "common/quota/quota_table.h"
#include "common/status/status_macros.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

namespace concord::federation {
namespace {

Status Denied(std::string message, std::string_view reason) {
  return WithReason(absl::PermissionDeniedError(std::move(message)), reason);
}

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

std::string CodeName(const Status& s) { return absl::StatusCodeToString(s.code()); }

std::string EnvelopeItemId(std::string_view message_id) { return "env-" + std::string(message_id); }

std::string ReceiptItemId(std::string_view message_id, const AgencyId& signer) {
  return "rcpt-" + std::string(message_id) + "-" + absl::StrReplaceAll(signer.Key(), {{"/", "-"}});
}

}  // namespace

Gateway::Gateway(GatewayDeps deps) : deps_(std::move(deps)) {
  auto& registry = deps_.metrics.registry();
  crossings_ = &prometheus::BuildCounter()
                    .Name("concord_federation_crossings_total")
                    .Help(
                        "Envelopes and receipts that crossed (or were refused at) the border, by "
                        "direction (in|out), kind (envelope|receipt) and result (gRPC code)")
                    .Register(registry);
  liaison_crossings_ = &prometheus::BuildCounter()
                            .Name("concord_federation_liaison_crossings_total")
                            .Help(
                                "Liaison descriptors that crossed the border with an envelope or "
                                "a receipt (or were refused), by direction (in|out), descriptor "
                                "(request|act) and result (gRPC code)")
                            .Register(registry);
  refreshes_ = &prometheus::BuildCounter()
                    .Name("concord_federation_partner_export_refreshes_total")
                    .Help(
                        "Fetches of the partner directory export, by result (ok|refused|"
                        "unavailable)")
                    .Register(registry);
  export_age_ = &prometheus::BuildGauge()
                     .Name("concord_federation_partner_export_age_seconds")
                     .Help("Age of the partner directory export in use (-1 before the first)")
                     .Register(registry)
                     .Add({});
  key_changes_ = &prometheus::BuildCounter()
                      .Name("concord_federation_partner_key_changes_total")
                      .Help(
                          "Partner agencies whose signing or sealing key changed between two "
                          "accepted partner directory exports (each also audited)")
                      .Register(registry)
                      .Add({});
  export_version_ = &prometheus::BuildGauge()
                         .Name("concord_federation_partner_export_version")
                         .Help(
                             "Version of the partner directory export in use (0 before the "
                             "first)")
                         .Register(registry)
                         .Add({});
  export_age_->Set(-1);
}

Gateway::~Gateway() { Stop(); }

void Gateway::Start() {
  if (Status s = RefreshPartnerDirectory(); !s.ok()) {
    log::Event(log::Level::kWarn, "federation.export_refresh_failed",
               {{"error", std::string(s.message())}, {"retrying", "background"}});
  }
  thread_ = std::thread([this] { RefreshLoop(); });
}

void Gateway::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Gateway::RefreshLoop() {
  // Ticks at most every 5 s (the age gauge), refreshes every refresh_interval.
  const absl::Duration tick = std::min(deps_.config.refresh_interval, absl::Seconds(5));
  absl::Time next_refresh = deps_.clock.Now() + deps_.config.refresh_interval;
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lock, absl::ToChronoMilliseconds(tick), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (deps_.clock.Now() >= next_refresh) {
      if (Status s = RefreshPartnerDirectory(); !s.ok()) {
        log::Event(log::Level::kWarn, "federation.export_refresh_failed",
                   {{"error", std::string(s.message())}});
      }
      next_refresh = deps_.clock.Now() + deps_.config.refresh_interval;
    }
    {
      std::lock_guard<std::mutex> state(mu_);
      if (partner_ != nullptr) {
        export_age_->Set(absl::ToDoubleSeconds(deps_.clock.Now() - partner_->issued_at));
      }
    }
    lock.lock();
  }
}

Status Gateway::RefreshPartnerDirectory() {
  StatusOr<v1::SignedDirectoryExport> fetched = deps_.partner.FetchExport();
  if (!fetched.ok()) {
    refreshes_->Add({{"result", "unavailable"}}).Increment();
    std::lock_guard<std::mutex> lock(mu_);
    last_refresh_error_ = std::string(fetched.status().message());
    return fetched.status();
  }
  uint64_t min_version = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (partner_ != nullptr) min_version = partner_->version;
  }
  StatusOr<PartnerDirectory> verified =
      VerifyExport(*fetched, *deps_.config.partner_export_key, deps_.config.partner_trust_domain,
                   min_version, deps_.clock.Now(), deps_.config.max_export_age);
  std::vector<PartnerKeyChange> key_changes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!verified.ok()) {
      refreshes_->Add({{"result", "refused"}}).Increment();
      last_refresh_error_ = std::string(verified.status().message());
      return verified.status();
    }
    refreshes_->Add({{"result", "ok"}}).Increment();
    if (partner_ != nullptr) key_changes = PartnerKeyChanges(*partner_, *verified);
    partner_ = std::make_shared<const PartnerDirectory>(std::move(*verified));
    last_refresh_error_.clear();
    export_version_->Set(static_cast<double>(partner_->version));
    export_age_->Set(absl::ToDoubleSeconds(deps_.clock.Now() - partner_->issued_at));
  }
  for (const PartnerKeyChange& change : key_changes) ReportKeyChange(change);
  return absl::OkStatus();
}

void Gateway::ReportKeyChange(const PartnerKeyChange& change) {
  // Not a refusal: the export is signed by the partner deployment. But agency libraries will
  // refuse the new keys until a person accepts them (key continuity): say so where operators look.
  const std::string details =
      "partner=" + deps_.config.partner_trust_domain +
      "; signing_fingerprint=" + change.signing_before +
      (change.signing_before == change.signing_after ? "" : " -> " + change.signing_after) +
      "; sealing_fingerprint=" + change.sealing_before +
      (change.sealing_before == change.sealing_after ? "" : " -> " + change.sealing_after);
  log::Event(log::Level::kWarn, "federation.partner_key_changed",
             {{"agency", change.agency.ToSpiffe()}, {"details", details}});
  Audit(change.agency, audit::Operation::kCollection,
        "federation:partner_key_changed:" + change.agency.ToSpiffe(), {}, absl::OkStatus(),
        details);
  key_changes_->Increment();  // last: once counted, the record is in the intake
}

StatusOr<v1::SignedDirectoryExport> Gateway::BuildExport() {
  const absl::Time now = deps_.clock.Now();
  v1::DirectoryExport payload;
  payload.set_trust_domain(deps_.config.local_trust_domain);
  envelope::TimeToProto(now, *payload.mutable_issued_at());
  for (const AgencyId& agency : deps_.config.exported_local_agencies) {
    StatusOr<clients::DirectoryEntry> entry = deps_.directory.Get(agency);
    if (absl::IsNotFound(entry.status())) continue;  // not registered (yet): not exported
    CONCORD_RETURN_IF_ERROR(entry.status());
    if (!entry->active) continue;  // suspended: absent, so the partner refuses it
    v1::ExportedAgency* a = payload.add_agencies();
    envelope::AgencyToProto(agency, *a->mutable_agency());
    a->set_display_name(entry->display_name);
    a->set_signing_public_key_pem(entry->signing_public_key_pem);
    a->set_sealing_public_key_pem(entry->sealing_public_key_pem);
    a->set_time_zone(attributes::AgencyAttributes(agency, entry->attributes).TimeZoneName());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_export_version_ =
        std::max(last_export_version_ + 1, static_cast<uint64_t>(absl::ToUnixMicros(now)));
    payload.set_version(last_export_version_);
  }
  return SignExport(payload, deps_.export_key);
}

StatusOr<std::shared_ptr<const PartnerDirectory>> Gateway::FreshPartner() {
  std::lock_guard<std::mutex> lock(mu_);
  if (partner_ == nullptr) {
    return WithReason(
        absl::UnavailableError("no verified directory export of partner " +
                               deps_.config.partner_trust_domain + " yet: " + last_refresh_error_),
        "PARTNER_DIRECTORY_STALE");
  }
  if (partner_->issued_at + deps_.config.max_export_age < deps_.clock.Now()) {
    return WithReason(absl::UnavailableError("the directory export of partner " +
                                             deps_.config.partner_trust_domain + " is older than " +
                                             absl::FormatDuration(deps_.config.max_export_age) +
                                             " (last refresh error: " + last_refresh_error_ + ")"),
                      "PARTNER_DIRECTORY_STALE");
  }
  return partner_;
}

StatusOr<PartnerAgency> Gateway::PartnerEntry(const AgencyId& agency) {
  CONCORD_RETURN_IF_ERROR(CheckAllowedPartner(deps_.config, agency));
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<const PartnerDirectory> dir, FreshPartner());
  const PartnerAgency* found = dir->Find(agency);
  if (found == nullptr) {
    return WithReason(
        absl::FailedPreconditionError(agency.ToSpiffe() +
                                      " is not in the partner's directory export (suspended, "
                                      "revoked or not exported)"),
        "PARTNER_AGENCY_UNKNOWN", {{"agency", agency.ToSpiffe()}});
  }
  return *found;
}

StatusOr<clients::DirectoryEntry> Gateway::LocalEntry(const AgencyId& agency) {
  CONCORD_RETURN_IF_ERROR(CheckExportedLocal(deps_.config, agency));
  StatusOr<clients::DirectoryEntry> entry = deps_.directory.Get(agency);
  if (absl::IsNotFound(entry.status()) || (entry.ok() && !entry->active)) {
    return WithReason(
        absl::FailedPreconditionError(agency.ToSpiffe() + " is not an active registered agency"),
        "AGENCY_NOT_ACTIVE", {{"agency", agency.ToSpiffe()}});
  }
  return entry;
}

Status Gateway::ChargeSend(const AgencyId& agency) {
  if (deps_.quotas != nullptr) {
    Status charged = deps_.quotas->Admit(agency, {quota::Quota::kSend});
    if (charged.ok()) {
      charged = deps_.store.Charge(deps_.quotas->ChargeOf(agency, quota::Quota::kSend, 1));
    }
    // Counted in concord_quota_refusals_total (the crossing itself is audited by the caller).
    deps_.quotas->Observe(agency, charged);
    return charged;
  }
  static const quota::QuotaTable* const table =
      new quota::QuotaTable(quota::QuotaTable::Defaults());
  return deps_.store.Charge(quota::Charge{.quota = quota::Quota::kSend,
                                          .agency = agency,
                                          .spec = table->Bucket(agency.type, quota::Quota::kSend),
                                          .cost = 1});
}

void Gateway::Count(std::string_view direction, std::string_view kind, const Status& result) {
  crossings_
      ->Add({{"direction", std::string(direction)},
             {"kind", std::string(kind)},
             {"result", CodeName(result)}})
      .Increment();
}

bool Gateway::Audit(const AgencyId& agency, audit::Operation op, std::string object,
                    std::vector<std::string> recipients, const Status& result,
                    std::string details) {
  audit::AuditEvent event{.agency = agency,
                          .officer = "",
                          .operation = op,
                          .object = std::move(object),
                          .method = "",
                          .justification = "",
                          .recipients = std::move(recipients),
                          .outcome = CodeName(result),
                          .time = deps_.clock.Now(),
                          .details = std::move(details)};
  if (Status s = deps_.audit.Append(event); !s.ok()) {
    log::Event(log::Level::kError, "federation.audit_failed",
               {{"error", std::string(s.message())}});
    return false;
  }
  return true;
}

void Gateway::CountLiaison(std::string_view direction,
                           const ::concord::liaison::v1::SignedLiaisonDescriptor& d,
                           const Status& result) {
  liaison_crossings_
      ->Add({{"direction", std::string(direction)},
             {"descriptor", d.has_act() ? "act" : "request"},
             {"result", CodeName(result)}})
      .Increment();
}

Status Gateway::CheckDescriptor(const ::concord::liaison::v1::SignedLiaisonDescriptor& d,
                                const Status& bound, const crypto::Ed25519PublicKey& key,
                                std::string_view whose_key) {
  CONCORD_RETURN_IF_ERROR(envelope::CheckDescriptorShape(d));
  CONCORD_RETURN_IF_ERROR(bound);
  // Security: the descriptor starts legal clocks on the other side: it must be signed by the
  // agency that signed the item it rides (the binding above), under that agency's key.
  if (!key.Verify(envelope::DescriptorSigningBytes(d), d.signature())) {
    return Denied(
        "the liaison descriptor's signature does not verify against " + std::string(whose_key),
        "BAD_SIGNATURE");
  }
  return absl::OkStatus();
}

Status Gateway::RecordLiaison(const ::concord::liaison::v1::SignedLiaisonDescriptor& d,
                              absl::Time now) {
  if (deps_.liaison == nullptr) {
    return WithReason(absl::FailedPreconditionError(
                          "this gateway has no liaison service configured (liaison_address): "
                          "a liaison descriptor cannot be recorded"),
                      "LIAISON_NOT_CONFIGURED");
  }
  ::concord::liaison::v1::RecordCrossingRequest req;
  *req.mutable_crossing() = d;
  envelope::TimeToProto(now, *req.mutable_received_at());
  StatusOr<::concord::liaison::v1::RequestResponse> recorded = deps_.liaison->RecordCrossing(req);
  if (recorded.ok()) return absl::OkStatus();
  const Status& s = recorded.status();
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    // Nothing is stored and OK is not answered: the sender retries and the clock start is not
    // lost (the liaison service records a retried crossing once).
    return WithReason(absl::UnavailableError("the liaison service is unreachable: " +
                                             std::string(s.message()) + "; retry the relay"),
                      "LIAISON_UNAVAILABLE");
  }
  return s;
}

StatusOr<v1::RelayResponse> Gateway::AcceptRelay(const Caller& partner_gateway,
                                                 const v1::RelayRequest& request) {
  // Security: the Authorizer admitted only admin/concord-gateway of a partner trust domain; this
  // gateway serves exactly one partner.
  if (partner_gateway.agency.trust_domain != deps_.config.partner_trust_domain) {
    return Denied("this gateway federates with " + deps_.config.partner_trust_domain + " only",
                  "PARTNER_NOT_ALLOWED");
  }
  const absl::Time now = deps_.clock.Now();
  const std::string details_partner = "partner=" + deps_.config.partner_trust_domain;
  if (request.has_receipt()) {
    std::string message_id = request.receipt().message_id();
    AgencyId signer;
    std::vector<std::string> owners;
    std::string sha;
    StatusOr<v1::RelayResponse> result = [&]() -> StatusOr<v1::RelayResponse> {
      CONCORD_ASSIGN_OR_RETURN(envelope::Receipt receipt,
                               envelope::ReceiptFromProto(request.receipt()));
      signer = receipt.recipient;
      sha = receipt.envelope_sha256;
      CONCORD_ASSIGN_OR_RETURN(PartnerAgency p, PartnerEntry(receipt.recipient));
      if (!p.signing_key.Verify(envelope::CanonicalReceipt(receipt), receipt.signature)) {
        return Denied("the receipt's signature does not verify against " +
                          receipt.recipient.ToSpiffe() + "'s key in the partner export",
                      "BAD_SIGNATURE");
      }
      CONCORD_ASSIGN_OR_RETURN(std::string sender_key, deps_.store.SenderOf(receipt.message_id));
      CONCORD_ASSIGN_OR_RETURN(AgencyId owner,
                               ParseAgencyKey(deps_.config.local_trust_domain, sender_key));
      owners.push_back(owner.Key());
      CONCORD_RETURN_IF_ERROR(ChargeSend(receipt.recipient));
      if (request.has_liaison()) {
        Status liaison = CheckDescriptor(request.liaison(),
                                         envelope::CheckBoundToReceipt(request.liaison(), receipt),
                                         p.signing_key, "the signer's key in the partner export");
        if (liaison.ok()) liaison = RecordLiaison(request.liaison(), now);
        CountLiaison("in", request.liaison(), liaison);
        CONCORD_RETURN_IF_ERROR(liaison);
      }
      v1::InboundItem item;
      item.set_item_id(ReceiptItemId(receipt.message_id, receipt.recipient));
      *item.mutable_receipt() = request.receipt();
      envelope::TimeToProto(now, *item.mutable_received_at());
      CONCORD_RETURN_IF_ERROR(deps_.store.Put(owner, item));
      v1::RelayResponse out;
      out.set_envelope_sha256(receipt.envelope_sha256);
      envelope::TimeToProto(now, *out.mutable_accepted_at());
      return out;
    }();
    Count("in", "receipt", result.status());
    Audit(signer.id.empty() ? partner_gateway.agency : signer, audit::Operation::kCollection,
          "federation:in:receipt:" + message_id, owners, result.status(),
          details_partner + "; envelope_sha256=" + Hex(sha));
    return result;
  }
  if (!request.has_envelope()) {
    return InvalidArgumentWithFields("invalid relay", {{"item", "an envelope or a receipt"}});
  }
  std::string message_id = request.envelope().message_id();
  AgencyId sender;
  std::vector<std::string> owners;
  std::string sha;
  StatusOr<v1::RelayResponse> result = [&]() -> StatusOr<v1::RelayResponse> {
    CONCORD_ASSIGN_OR_RETURN(envelope::Envelope env,
                             envelope::EnvelopeFromProto(request.envelope()));
    sender = env.sender;
    sha = envelope::EnvelopeSha256(env);
    if (env.recipients.empty() || env.recipients.size() > 64) {
      return InvalidArgumentWithFields("invalid relay", {{"envelope.recipients", "1..64"}});
    }
    CONCORD_ASSIGN_OR_RETURN(PartnerAgency p, PartnerEntry(env.sender));
    // Security: the sender's signature is checked against the key its own deployment exported
    // (signed with the pinned key), never against anything the relaying gateway says.
    if (!p.signing_key.Verify(envelope::CanonicalEnvelope(env), env.signature)) {
      return Denied("the envelope's signature does not verify against " + env.sender.ToSpiffe() +
                        "'s key in the partner export",
                    "BAD_SIGNATURE");
    }
    std::vector<AgencyId> locals;
    for (const AgencyId& r : env.recipients) {
      CONCORD_RETURN_IF_ERROR(LocalEntry(r).status());
      locals.push_back(r);
      owners.push_back(r.Key());
    }
    CONCORD_RETURN_IF_ERROR(ChargeSend(env.sender));
    if (request.has_liaison()) {
      // Recorded before the envelope is stored and OK answered: the executing side's clocks
      // start at this acceptance, and a failure here leaves the sender retrying.
      Status liaison =
          CheckDescriptor(request.liaison(), envelope::CheckBoundToEnvelope(request.liaison(), env),
                          p.signing_key, "the sender's key in the partner export");
      if (liaison.ok()) liaison = RecordLiaison(request.liaison(), now);
      CountLiaison("in", request.liaison(), liaison);
      CONCORD_RETURN_IF_ERROR(liaison);
    }
    v1::InboundItem item;
    item.set_item_id(EnvelopeItemId(env.message_id));
    *item.mutable_envelope() = request.envelope();
    envelope::TimeToProto(now, *item.mutable_received_at());
    for (const AgencyId& r : locals) CONCORD_RETURN_IF_ERROR(deps_.store.Put(r, item));
    v1::RelayResponse out;
    out.set_envelope_sha256(sha);
    envelope::TimeToProto(now, *out.mutable_accepted_at());
    return out;
  }();
  Count("in", "envelope", result.status());
  Audit(sender.id.empty() ? partner_gateway.agency : sender, audit::Operation::kCollection,
        "federation:in:" + message_id, owners, result.status(),
        details_partner + "; envelope_sha256=" + Hex(sha));
  return result;
}

StatusOr<v1::SendAcrossResponse> Gateway::SendAcross(
    const Caller& caller, const ::concord::messaging::v1::Envelope& envelope_proto,
    const ::concord::liaison::v1::SignedLiaisonDescriptor* liaison) {
  std::vector<std::string> recipients;
  std::string sha;
  StatusOr<v1::SendAcrossResponse> result = [&]() -> StatusOr<v1::SendAcrossResponse> {
    CONCORD_ASSIGN_OR_RETURN(envelope::Envelope env, envelope::EnvelopeFromProto(envelope_proto));
    if (env.sender != caller.agency) {
      return Denied("the envelope's sender must be the caller", "SENDER_MISMATCH");
    }
    if (env.recipients.empty() || env.recipients.size() > 64) {
      return InvalidArgumentWithFields("invalid envelope", {{"envelope.recipients", "1..64"}});
    }
    sha = envelope::EnvelopeSha256(env);
    CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry me, LocalEntry(caller.agency));
    CONCORD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                             crypto::Ed25519PublicKey::FromPem(me.signing_public_key_pem));
    if (!key.Verify(envelope::CanonicalEnvelope(env), env.signature)) {
      return Denied("the envelope's signature does not verify against the sender's directory key",
                    "BAD_SIGNATURE");
    }
    for (const AgencyId& r : env.recipients) {
      recipients.push_back(r.ToSpiffe());
      CONCORD_RETURN_IF_ERROR(PartnerEntry(r).status());
    }
    if (liaison != nullptr) {
      Status checked = CheckDescriptor(*liaison, envelope::CheckBoundToEnvelope(*liaison, env), key,
                                       "the caller's directory key");
      CountLiaison("out", *liaison, checked);
      CONCORD_RETURN_IF_ERROR(checked);
    }
    CONCORD_RETURN_IF_ERROR(ChargeSend(caller.agency));
    CONCORD_RETURN_IF_ERROR(deps_.store.RecordSent(env.message_id, caller.agency));
    v1::RelayRequest relay;
    *relay.mutable_envelope() = envelope_proto;
    if (liaison != nullptr) *relay.mutable_liaison() = *liaison;
    CONCORD_ASSIGN_OR_RETURN(v1::RelayResponse accepted, deps_.partner.Relay(relay));
    v1::SendAcrossResponse out;
    out.set_envelope_sha256(accepted.envelope_sha256());
    *out.mutable_accepted_at() = accepted.accepted_at();
    return out;
  }();
  Count("out", "envelope", result.status());
  Audit(caller.agency, audit::Operation::kDisclosure,
        "federation:out:" + envelope_proto.message_id(), recipients, result.status(),
        "partner=" + deps_.config.partner_trust_domain + "; envelope_sha256=" + Hex(sha));
  return result;
}

StatusOr<std::vector<v1::InboundItem>> Gateway::ListInbound(const Caller& caller) {
  const std::string object = "federation:inbox:" + caller.agency.Key();
  CONCORD_RETURN_IF_ERROR(
      quota::ChargeRead(deps_.reads, caller.agency, 1, [&](const Status& refusal) {
        Audit(caller.agency, audit::Operation::kConsultation, object, {}, refusal, "");
      }));
  StatusOr<std::vector<v1::InboundItem>> items = deps_.store.List(caller.agency);
  const bool recorded =
      Audit(caller.agency, audit::Operation::kConsultation, object, {}, items.status(),
            items.ok() ? "items=" + std::to_string(items->size()) : std::string());
  // Sealed envelopes leave only with their consultation record written.
  if (items.ok() && !recorded) {
    return absl::UnavailableError("audit log unavailable; the listing may be retried");
  }
  return items;
}

Status Gateway::Acknowledge(const Caller& caller, const v1::AcknowledgeRequest& request) {
  if (request.item_id().empty()) {
    return InvalidArgumentWithFields("invalid acknowledgement", {{"item_id", "is required"}});
  }
  CONCORD_ASSIGN_OR_RETURN(v1::InboundItem item, deps_.store.Get(caller.agency, request.item_id()));
  if (request.has_liaison() && !request.has_receipt()) {
    return InvalidArgumentWithFields("invalid acknowledgement",
                                     {{"liaison", "only with a receipt"}});
  }
  if (request.has_receipt()) {
    std::vector<std::string> recipients;
    Status relayed = [&]() -> Status {
      CONCORD_ASSIGN_OR_RETURN(envelope::Receipt receipt,
                               envelope::ReceiptFromProto(request.receipt()));
      if (receipt.recipient != caller.agency) {
        return Denied("the receipt must be signed by the caller", "SENDER_MISMATCH");
      }
      if (!item.has_envelope()) {
        return WithReason(absl::FailedPreconditionError("only an envelope is acknowledged with a "
                                                        "receipt"),
                          "RECEIPT_MISMATCH");
      }
      CONCORD_ASSIGN_OR_RETURN(envelope::Envelope env,
                               envelope::EnvelopeFromProto(item.envelope()));
      if (receipt.message_id != env.message_id ||
          receipt.envelope_sha256 != envelope::EnvelopeSha256(env)) {
        return WithReason(absl::FailedPreconditionError("the receipt does not name this item's "
                                                        "envelope (message id and hash)"),
                          "RECEIPT_MISMATCH");
      }
      recipients.push_back(env.sender.ToSpiffe());
      CONCORD_ASSIGN_OR_RETURN(clients::DirectoryEntry me, LocalEntry(caller.agency));
      CONCORD_ASSIGN_OR_RETURN(crypto::Ed25519PublicKey key,
                               crypto::Ed25519PublicKey::FromPem(me.signing_public_key_pem));
      if (!key.Verify(envelope::CanonicalReceipt(receipt), receipt.signature)) {
        return Denied("the receipt's signature does not verify against the caller's directory key",
                      "BAD_SIGNATURE");
      }
      CONCORD_RETURN_IF_ERROR(PartnerEntry(env.sender).status());
      v1::RelayRequest relay;
      *relay.mutable_receipt() = request.receipt();
      if (request.has_liaison()) {
        Status checked = CheckDescriptor(request.liaison(),
                                         envelope::CheckBoundToReceipt(request.liaison(), receipt),
                                         key, "the caller's directory key");
        CountLiaison("out", request.liaison(), checked);
        CONCORD_RETURN_IF_ERROR(checked);
        *relay.mutable_liaison() = request.liaison();
      }
      return deps_.partner.Relay(relay).status();
    }();
    Count("out", "receipt", relayed);
    Audit(caller.agency, audit::Operation::kDisclosure,
          "federation:out:receipt:" + request.receipt().message_id(), recipients, relayed,
          "partner=" + deps_.config.partner_trust_domain);
    // Nothing acknowledged is lost: the item stays until its receipt crossed.
    CONCORD_RETURN_IF_ERROR(relayed);
  }
  return deps_.store.Remove(caller.agency, request.item_id());
}

StatusOr<v1::GetPartnerAgencyResponse> Gateway::GetPartnerAgency(
    const Caller& caller, const ::concord::common::v1::AgencyId& id) {
  (void)caller;
  CONCORD_ASSIGN_OR_RETURN(AgencyId agency, envelope::AgencyFromProto(id));
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<const PartnerDirectory> dir, FreshPartner());
  CONCORD_ASSIGN_OR_RETURN(PartnerAgency p, PartnerEntry(agency));
  v1::GetPartnerAgencyResponse out;
  v1::ExportedAgency* a = out.mutable_agency();
  envelope::AgencyToProto(p.agency, *a->mutable_agency());
  a->set_display_name(p.display_name);
  a->set_signing_public_key_pem(p.signing_public_key_pem);
  a->set_sealing_public_key_pem(p.sealing_public_key_pem);
  a->set_time_zone(p.time_zone);
  out.set_export_version(dir->version);
  envelope::TimeToProto(dir->issued_at, *out.mutable_export_issued_at());
  return out;
}

v1::FederationStatus Gateway::GetStatus() {
  v1::FederationStatus out;
  out.set_partner_trust_domain(deps_.config.partner_trust_domain);
  out.set_partner_address(deps_.config.partner_address);
  for (const AgencyId& a : deps_.config.allowed_partner_agencies) {
    out.add_allowed_partner_agencies(a.ToSpiffe());
  }
  for (const AgencyId& a : deps_.config.exported_local_agencies) {
    out.add_exported_local_agencies(a.ToSpiffe());
  }
  std::lock_guard<std::mutex> lock(mu_);
  out.set_last_refresh_error(last_refresh_error_);
  if (partner_ != nullptr) {
    out.set_export_version(partner_->version);
    envelope::TimeToProto(partner_->issued_at, *out.mutable_export_issued_at());
    out.set_export_age_seconds(absl::ToInt64Seconds(deps_.clock.Now() - partner_->issued_at));
    out.set_partner_agencies(static_cast<int32_t>(partner_->agencies.size()));
  }
  return out;
}

}  // namespace concord::federation
