// File: cli/concordctl/federation_commands.cc
//
// `concordctl federation ...`: an agency's side of the federation gateway
// (concord.federation.v1.Federation on the gateway's internal port, --server): the partner
// directory status, a partner agency's keys, sending a sealed envelope across, the inbound box
// (verified against the partner export's keys and opened locally) and acknowledgements with a
// signed receipt. docs/concordctl.md "federation"; docs/liaison.md "Federation with a partner
// deployment".
//
// Security: a partner agency's keys come from the partner's signed export, relayed by this
// deployment's gateway. Before sealing to them or trusting a signature made with them, they go
// through the key continuity rule (client/keys, docs/crypto.md "Key continuity") like a local
// agency's: remembered under the partner agency's SPIFFE id in the local agency's known-keys
// file, any change refused (exit 3, AGENCY_KEY_CHANGED) until accepted with `federation trust`.
#include <grpcpp/grpcpp.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/enum_flag.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "client/messaging/message_crypto.h"
#include "common/crypto/hash.h"
#include "common/envelope/liaison_descriptor.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "concord/federation/v1/federation.grpc.pb.h"
#include "concord/liaison/v1/liaison.pb.h"

namespace concord::ctl {
namespace {

namespace fv1 = ::concord::federation::v1;
namespace mc = ::concord::messaging::client;
namespace msg = ::concord::messaging::v1;
namespace lv1 = ::concord::liaison::v1;
using AgencyProto = ::concord::common::v1::AgencyId;

StatusOr<std::unique_ptr<fv1::Federation::Stub>> Stub(const Globals& globals) {
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  return fv1::Federation::NewStub(channel);
}

// The local agency and its keys (DIR/sign.key, DIR/seal.key of --agency-dir unless given).
StatusOr<mc::SenderIdentity> Identity(const Globals& globals, const MessageKeyArgs& keys) {
  CONCORD_ASSIGN_OR_RETURN(AgencyProto agency, LocalAgency(globals.connection));
  auto path = [&](const std::string& flag_value, const char* name) -> StatusOr<std::string> {
    if (!flag_value.empty()) return flag_value;
    if (globals.connection.agency_dir.empty()) {
      return InvalidArgumentWithFields("invalid arguments",
                                       {{"--agency-dir", "give the agency directory (keys)"}});
    }
    return globals.connection.agency_dir + "/" + name;
  };
  CONCORD_ASSIGN_OR_RETURN(std::string sign_path, path(keys.signing_key_file, "sign.key"));
  CONCORD_ASSIGN_OR_RETURN(std::string seal_path, path(keys.sealing_key_file, "seal.key"));
  CONCORD_ASSIGN_OR_RETURN(std::string sign_pem, ReadTextFile(sign_path));
  CONCORD_ASSIGN_OR_RETURN(std::string seal_pem, ReadTextFile(seal_path));
  auto sign = crypto::Ed25519PrivateKey::FromPem(sign_pem);
  if (!sign.ok()) return absl::FailedPreconditionError(sign_path + ": not an Ed25519 key");
  auto seal = crypto::X25519PrivateKey::FromPem(seal_pem);
  if (!seal.ok()) return absl::FailedPreconditionError(seal_path + ": not an X25519 key");
  return mc::SenderIdentity{std::move(agency), *std::move(sign), *std::move(seal)};
}

std::string Spiffe(const AgencyProto& a) {
  return "spiffe://" + a.trust_domain() + "/agency/" + AgencyKeyOf(a);
}

grpc::Status PartnerKeys(const Globals& globals, fv1::Federation::Stub& stub,
                         const AgencyProto& agency, fv1::GetPartnerAgencyResponse* out) {
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  fv1::GetPartnerAgencyRequest req;
  *req.mutable_agency() = agency;
  return stub.GetPartnerAgency(&ctx, req, out);
}

std::string Fingerprint(const std::string& pem) { return crypto::Sha256Hex(pem).substr(0, 16); }

// The continuity rule on a partner agency's keys as the gateway gave them.
Status CheckPartnerKeys(keys::KeyTrust& trust, const fv1::ExportedAgency& a) {
  return trust.Check(
      a.agency(), PartnerRecord(a.agency(), a.signing_public_key_pem(), a.sealing_public_key_pem()),
      keys::Counterpart::kPartner);
}

}  // namespace

int RunFederationStatus(const Globals& globals, Output& out) {
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  fv1::FederationStatus status;
  const grpc::Status s = (*stub)->GetStatus(&ctx, {}, &status);
  if (!s.ok()) return out.RpcError("GetStatus", s);
  nlohmann::json allow = nlohmann::json::array();
  for (const auto& a : status.allowed_partner_agencies()) allow.push_back(a);
  nlohmann::json exported = nlohmann::json::array();
  for (const auto& a : status.exported_local_agencies()) exported.push_back(a);
  if (out.json()) {
    out.Json({{"partner_trust_domain", status.partner_trust_domain()},
              {"partner_address", status.partner_address()},
              {"export_version", status.export_version()},
              {"export_issued_at", TimestampText(status.export_issued_at())},
              {"export_age_seconds", status.export_age_seconds()},
              {"partner_agencies", status.partner_agencies()},
              {"last_refresh_error", status.last_refresh_error()},
              {"allowed_partner_agencies", allow},
              {"exported_local_agencies", exported}});
  } else {
    out.KeyValues({{"partner", status.partner_trust_domain() + " at " + status.partner_address()},
                   {"partner export version", std::to_string(status.export_version())},
                   {"partner export age", std::to_string(status.export_age_seconds()) + " s"},
                   {"partner agencies exported", std::to_string(status.partner_agencies())},
                   {"last refresh error",
                    status.last_refresh_error().empty() ? "(none)" : status.last_refresh_error()},
                   {"allowed partner agencies", allow.dump()},
                   {"exported local agencies", exported.dump()}});
  }
  // 3: the gateway answers but holds no usable partner export.
  return status.export_version() == 0 ? kExitVerificationFailed : kExitOk;
}

int RunFederationPartner(const Globals& globals, const FederationPartnerArgs& args, Output& out) {
  auto agency = ParseAgencyRef("AGENCY", args.agency);
  if (!agency.ok()) return out.LocalError(agency.status());
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  fv1::GetPartnerAgencyResponse resp;
  const grpc::Status s = PartnerKeys(globals, **stub, *agency, &resp);
  if (!s.ok()) return out.RpcError("GetPartnerAgency", s);
  const auto& a = resp.agency();
  if (out.json()) {
    out.Json({{"agency", Spiffe(a.agency())},
              {"display_name", a.display_name()},
              {"signing_public_key_pem", a.signing_public_key_pem()},
              {"sealing_public_key_pem", a.sealing_public_key_pem()},
              {"time_zone", a.time_zone()},
              {"export_version", resp.export_version()}});
  } else {
    out.KeyValues({{"agency", Spiffe(a.agency())},
                   {"name", a.display_name()},
                   {"signing key (sha256 of PEM, 16)", Fingerprint(a.signing_public_key_pem())},
                   {"sealing key (sha256 of PEM, 16)", Fingerprint(a.sealing_public_key_pem())},
                   {"time zone", a.time_zone()},
                   {"export version", std::to_string(resp.export_version())}});
  }
  return kExitOk;
}

int RunFederationTrust(const Globals& globals, const FederationTrustArgs& args, Output& out) {
  auto agency = ParseAgencyRef("AGENCY", args.agency);
  if (!agency.ok()) return out.LocalError(agency.status());
  if (agency->trust_domain().empty()) {
    return out.LocalError(InvalidArgumentWithFields(
        "invalid arguments",
        {{"AGENCY", "the partner agency's SPIFFE id (spiffe://<partner td>/agency/<type>/<id>)"}}));
  }
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  fv1::GetPartnerAgencyResponse resp;
  const grpc::Status s = PartnerKeys(globals, **stub, *agency, &resp);
  if (!s.ok()) return out.RpcError("GetPartnerAgency", s);
  const fv1::ExportedAgency& a = resp.agency();
  return ReviewAndAcceptKeys(
      globals, args.yes, a.agency(),
      PartnerRecord(a.agency(), a.signing_public_key_pem(), a.sealing_public_key_pem()),
      keys::Counterpart::kPartner, out);
}

// The signed liaison descriptor the flags ask for, riding `carrier` (the envelope sent, or the
// envelope a receipt acknowledges); nullopt when none is asked for.
StatusOr<std::optional<lv1::SignedLiaisonDescriptor>> Descriptor(const LiaisonDescriptorArgs& a,
                                                                 const mc::SenderIdentity& me,
                                                                 const msg::Envelope& carrier,
                                                                 bool on_receipt) {
  if (a.request.empty() && a.act.empty()) return std::nullopt;
  if (!a.request.empty() && !a.act.empty()) {
    return InvalidArgumentWithFields(
        "invalid arguments", {{"--liaison-act", "either --liaison-request or --liaison-act"}});
  }
  lv1::SignedLiaisonDescriptor d;
  if (!a.request.empty()) {
    if (on_receipt || carrier.recipients_size() != 1) {
      return InvalidArgumentWithFields(
          "invalid arguments",
          {{"--liaison-request", "with a REQUEST envelope to exactly one partner agency (--to)"}});
    }
    lv1::PartnerRequestDescriptor* r = d.mutable_request();
    r->set_issuer_request_id(a.request);
    *r->mutable_issuer() = me.agency;
    *r->mutable_executor() = carrier.recipients(0);
    CONCORD_ASSIGN_OR_RETURN(lv1::RequestType type,
                             ParseEnum<lv1::RequestType>("--liaison-type", a.type, "REQUEST_TYPE_",
                                                         lv1::RequestType_descriptor()));
    r->set_type(type);
    if (!a.urgency.empty()) {
      CONCORD_ASSIGN_OR_RETURN(lv1::Urgency u,
                               ParseEnum<lv1::Urgency>("--liaison-urgency", a.urgency, "URGENCY_",
                                                       lv1::Urgency_descriptor()));
      r->set_urgency(u);
    }
    r->set_order_message_id(carrier.message_id());
    CONCORD_ASSIGN_OR_RETURN(std::string sha, mc::EnvelopeSha256(carrier));
    r->set_envelope_sha256(HexText(sha));
    r->set_case_reference(carrier.case_reference());
  } else {
    lv1::PartnerActDescriptor* act = d.mutable_act();
    act->set_issuer_request_id(a.issuer_request);
    act->set_executor_request_id(a.executor_request);
    *act->mutable_actor() = me.agency;
    CONCORD_ASSIGN_OR_RETURN(lv1::Move move, ParseEnum<lv1::Move>("--liaison-act", a.act, "MOVE_",
                                                                  lv1::Move_descriptor()));
    act->set_move(move);
    act->set_executor_version(a.executor_version);
    if (!a.reason.empty()) {
      CONCORD_ASSIGN_OR_RETURN(lv1::ReasonCode reason,
                               ParseEnum<lv1::ReasonCode>("--reason", a.reason, "REASON_CODE_",
                                                          lv1::ReasonCode_descriptor()));
      act->set_reason_code(reason);
    }
    act->set_extension_days(a.extension_days);
    act->set_carrier_message_id(carrier.message_id());
  }
  d.set_signature(std::string(64, '\0'));  // shape first, then the real signature
  CONCORD_RETURN_IF_ERROR(envelope::CheckDescriptorShape(d));
  CONCORD_RETURN_IF_ERROR(envelope::SignDescriptor(d, me.signing_key));
  return d;
}

int RunFederationSend(const Globals& globals, const MessageKeyArgs& keys,
                      const FederationSendArgs& args, Output& out) {
  if (args.to.empty()) {
    return out.LocalError(
        InvalidArgumentWithFields("invalid arguments", {{"--to", "at least one partner agency"}}));
  }
  std::string body = args.body;
  if (!args.body_file.empty()) {
    auto text = ReadTextFile(args.body_file);
    if (!text.ok()) return out.LocalError(text.status());
    body = *text;
  }
  msg::MessageKind kind = msg::MESSAGE_KIND_REQUEST;
  if (args.kind == "information")
    kind = msg::MESSAGE_KIND_INFORMATION;
  else if (args.kind == "response")
    kind = msg::MESSAGE_KIND_RESPONSE;
  else if (args.kind != "request") {
    return out.LocalError(InvalidArgumentWithFields(
        "invalid arguments", {{"--kind", "request, information or response"}}));
  }
  auto identity = Identity(globals, keys);
  if (!identity.ok()) return out.LocalError(identity.status());
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  auto trust = OpenKeyTrust(globals.connection);
  if (!trust.ok()) return out.LocalError(trust.status());
  mc::MessageDraft draft;
  for (const std::string& to : args.to) {
    auto agency = ParseAgencyRef("--to", to);
    if (!agency.ok()) return out.LocalError(agency.status());
    fv1::GetPartnerAgencyResponse keys_of;
    const grpc::Status s = PartnerKeys(globals, **stub, *agency, &keys_of);
    if (!s.ok()) return out.RpcError("GetPartnerAgency", s);
    // Security: nothing is sealed to a partner key that changed without being accepted.
    if (Status trusted = CheckPartnerKeys(**trust, keys_of.agency()); !trusted.ok()) {
      return KeyLookupFailure(out, "GetPartnerAgency", trusted);
    }
    auto sealing = crypto::X25519PublicKey::FromPem(keys_of.agency().sealing_public_key_pem());
    if (!sealing.ok()) return out.LocalError(sealing.status());
    draft.recipients.push_back({keys_of.agency().agency(), *sealing});
  }
  draft.kind = kind;
  draft.body = body;
  draft.case_reference = args.case_reference;
  draft.in_reply_to = args.in_reply_to;
  auto envelope = mc::BuildEnvelope(*identity, draft, absl::Now());
  if (!envelope.ok()) return out.LocalError(envelope.status());
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  fv1::SendAcrossRequest req;
  *req.mutable_envelope() = *envelope;
  auto descriptor = Descriptor(args.liaison, *identity, *envelope, /*on_receipt=*/false);
  if (!descriptor.ok()) return out.LocalError(descriptor.status());
  if (descriptor->has_value()) *req.mutable_liaison() = **descriptor;
  fv1::SendAcrossResponse resp;
  const grpc::Status s = (*stub)->Send(&ctx, req, &resp);
  if (!s.ok()) return out.RpcError("Send", s);
  if (out.json()) {
    out.Json({{"message_id", envelope->message_id()},
              {"envelope_sha256", HexText(resp.envelope_sha256())},
              {"accepted_at", TimestampText(resp.accepted_at())},
              {"liaison_descriptor",
               descriptor->has_value() ? ((*descriptor)->has_request() ? "request" : "act") : ""}});
  } else {
    out.Line("sent across " + envelope->message_id() + " (envelope sha256 " +
             HexText(resp.envelope_sha256()) + "), accepted by the partner gateway at " +
             TimestampText(resp.accepted_at()));
  }
  return kExitOk;
}

int RunFederationInbox(const Globals& globals, const MessageKeyArgs& keys,
                       const FederationInboxArgs& args, Output& out) {
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  std::optional<mc::SenderIdentity> identity;
  std::shared_ptr<keys::KeyTrust> trust;
  if (args.open) {
    auto loaded = Identity(globals, keys);
    if (!loaded.ok()) return out.LocalError(loaded.status());
    identity = *std::move(loaded);
    auto opened = OpenKeyTrust(globals.connection);
    if (!opened.ok()) return out.LocalError(opened.status());
    trust = *std::move(opened);
  }
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  fv1::ListInboundResponse resp;
  const grpc::Status s = (*stub)->ListInbound(&ctx, {}, &resp);
  if (!s.ok()) return out.RpcError("ListInbound", s);
  int exit = kExitOk;
  nlohmann::json items = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const fv1::InboundItem& item : resp.items()) {
    const AgencyProto& from =
        item.has_envelope() ? item.envelope().sender() : item.receipt().recipient();
    std::string kind = item.has_envelope() ? "envelope" : "receipt";
    std::string message_id =
        item.has_envelope() ? item.envelope().message_id() : item.receipt().message_id();
    std::string verified = "-";
    std::string body;
    if (args.open) {
      fv1::GetPartnerAgencyResponse keys_of;
      const grpc::Status k = PartnerKeys(globals, **stub, from, &keys_of);
      // Security: a signature is trusted only under a key that passed the continuity rule.
      const Status trusted = k.ok() ? CheckPartnerKeys(*trust, keys_of.agency()) : Status();
      auto signing =
          !k.ok() ? StatusOr<crypto::Ed25519PublicKey>(FromGrpcStatus(k))
          : !trusted.ok()
              ? StatusOr<crypto::Ed25519PublicKey>(trusted)
              : crypto::Ed25519PublicKey::FromPem(keys_of.agency().signing_public_key_pem());
      if (keys::IsKeyChangeRefused(trusted)) {
        verified = "REFUSED: the partner agency's keys changed (concordctl federation trust " +
                   Spiffe(from) + ")";
        exit = kExitVerificationFailed;
      } else if (!signing.ok()) {
        verified = "no key: " + std::string(signing.status().message());
        exit = kExitVerificationFailed;
      } else if (item.has_envelope()) {
        auto opened =
            mc::VerifyAndOpen(item.envelope(), *signing, identity->agency, identity->sealing_key);
        verified = opened.ok() ? "verified" : "REFUSED: " + std::string(opened.status().message());
        if (opened.ok()) body = *opened;
        if (!opened.ok()) exit = kExitVerificationFailed;
      } else {
        const Status v = mc::VerifyReceipt(item.receipt(), *signing);
        verified = v.ok() ? "verified" : "REFUSED: " + std::string(v.message());
        if (!v.ok()) exit = kExitVerificationFailed;
      }
    }
    items.push_back({{"item_id", item.item_id()},
                     {"kind", kind},
                     {"message_id", message_id},
                     {"from", Spiffe(from)},
                     {"received_at", TimestampText(item.received_at())},
                     {"signature", verified},
                     {"in_reply_to", item.has_envelope() ? item.envelope().in_reply_to() : ""},
                     {"body", body}});
    rows.push_back(
        {item.item_id(), kind, Spiffe(from), TimestampText(item.received_at()), verified, body});
  }
  if (out.json()) {
    out.Json({{"items", items}});
  } else {
    out.Table({"ITEM", "KIND", "FROM", "RECEIVED", "SIGNATURE", "BODY"}, rows);
  }
  return exit;
}

int RunFederationAck(const Globals& globals, const MessageKeyArgs& keys,
                     const FederationAckArgs& args, Output& out) {
  auto stub = Stub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  fv1::AcknowledgeRequest req;
  req.set_item_id(args.item_id);
  if (!args.no_receipt) {
    auto identity = Identity(globals, keys);
    if (!identity.ok()) return out.LocalError(identity.status());
    grpc::ClientContext list_ctx;
    PrepareContext(globals.connection, list_ctx);
    fv1::ListInboundResponse inbox;
    const grpc::Status s = (*stub)->ListInbound(&list_ctx, {}, &inbox);
    if (!s.ok()) return out.RpcError("ListInbound", s);
    const fv1::InboundItem* found = nullptr;
    for (const auto& item : inbox.items()) {
      if (item.item_id() == args.item_id) found = &item;
    }
    if (found == nullptr || !found->has_envelope()) {
      return out.RpcError("Acknowledge",
                          grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       "no envelope " + args.item_id + " in the inbound box"));
    }
    auto receipt =
        mc::MakeReceipt(*identity, found->envelope(), msg::RECEIPT_KIND_READ, absl::Now());
    if (!receipt.ok()) return out.LocalError(receipt.status());
    *req.mutable_receipt() = *receipt;
    auto descriptor = Descriptor(args.liaison, *identity, found->envelope(), /*on_receipt=*/true);
    if (!descriptor.ok()) return out.LocalError(descriptor.status());
    if (descriptor->has_value()) *req.mutable_liaison() = **descriptor;
  } else if (!args.liaison.act.empty() || !args.liaison.request.empty()) {
    return out.LocalError(InvalidArgumentWithFields(
        "invalid arguments",
        {{"--liaison-act", "rides the signed receipt: not with --no-receipt"}}));
  }
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  fv1::AcknowledgeResponse resp;
  const grpc::Status s = (*stub)->Acknowledge(&ctx, req, &resp);
  if (!s.ok()) return out.RpcError("Acknowledge", s);
  if (out.json()) {
    out.Json({{"item_id", args.item_id}, {"receipt_sent", !args.no_receipt}});
  } else {
    out.Line("acknowledged " + args.item_id +
             (args.no_receipt ? "" : " (signed receipt sent back across)"));
  }
  return kExitOk;
}

}  // namespace concord::ctl
