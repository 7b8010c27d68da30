// concordctl directory ...: concord.directory.v1.Directory.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/key_endorsement.h"
#include "common/crypto/x25519.h"
#include "common/identity/agency_id.h"
#include "common/identity/caller.h"
#include "common/status/status_macros.h"
#include "concord/directory/v1/directory.grpc.pb.h"

namespace concord::ctl {
namespace {

namespace dir = concord::directory::v1;

constexpr int kMaxPages = 1000;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

StatusOr<std::unique_ptr<dir::Directory::Stub>> DirectoryStub(const Globals& globals) {
  CONCORD_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(globals.connection));
  return dir::Directory::NewStub(channel);
}

// One unary Directory RPC: connect, set the deadline and metadata, call, and on failure print the
// RPC error. Returns kExitOk, or the exit code already reported.
template <typename Request, typename Response>
int CallDirectory(const Globals& globals, Output& out, std::string_view rpc,
                  grpc::Status (dir::Directory::Stub::*method)(grpc::ClientContext*, const Request&,
                                                               Response*),
                  const Request& request, Response& response) {
  auto stub = DirectoryStub(globals);
  if (!stub.ok()) return out.LocalError(stub.status());
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  const grpc::Status status = ((**stub).*method)(&context, request, &response);
  return status.ok() ? kExitOk : out.RpcError(rpc, status);
}

std::string StateText(dir::AgencyState state) {
  switch (state) {
    case dir::AGENCY_STATE_ACTIVE:
      return "active";
    case dir::AGENCY_STATE_SUSPENDED:
      return "suspended";
    default:
      return "unspecified";
  }
}

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

// "Ed25519 <fingerprint>" of a public key PEM; "(none)" when absent.
std::string KeyText(const std::string& pem, bool signing) {
  if (pem.empty()) return "(none)";
  std::string raw;
  if (signing) {
    if (auto key = crypto::Ed25519PublicKey::FromPem(pem); key.ok()) raw = key->Raw();
  } else {
    if (auto key = crypto::X25519PublicKey::FromPem(pem); key.ok()) raw = key->Raw();
  }
  const std::string algorithm = signing ? "Ed25519" : "X25519";
  return raw.empty() ? algorithm + " (unreadable)" : algorithm + " " + crypto::KeyFingerprint(raw);
}

std::string EndorsementText(const dir::Agency& agency) {
  if (!agency.has_key_endorsement()) return "(none)";
  return "by " + crypto::KeyFingerprint(agency.key_endorsement().previous_signing_key()) + " at " +
         TimestampText(agency.key_endorsement().issued_at());
}

std::string AttributesText(const dir::Agency& agency) {
  std::string out;
  for (const dir::AgencyAttribute& a : agency.attributes()) {
    if (!out.empty()) out += ", ";
    out += a.name() + "=" + a.value() + (a.is_default() ? " (default)" : "");
  }
  return out;
}

void PrintAgency(const dir::Agency& agency, Output& out) {
  if (agency.version() == 0) {
    // The public part only (platforms, foreign partners, Concord's service identities, admins
    // without a role): identity, name, keys, endorsement.
    out.KeyValues({{"agency", AgencyKeyOf(agency.id())},
                   {"name", agency.display_name()},
                   {"signing key", KeyText(agency.signing_public_key_pem(), /*signing=*/true)},
                   {"sealing key", KeyText(agency.sealing_public_key_pem(), /*signing=*/false)},
                   {"key endorsement", EndorsementText(agency)},
                   {"disclosure", "public part only (identity, name, keys, endorsement)"}});
    return;
  }
  std::vector<std::pair<std::string, std::string>> rows = {
      {"agency", AgencyKeyOf(agency.id())},
      {"name", agency.display_name()},
      {"jurisdiction", agency.jurisdiction()},
      {"specialisations", JoinComma(ToVector(agency.specialisations()))},
      {"languages", JoinComma(ToVector(agency.languages()))},
      {"state", StateText(agency.state())},
  };
  if (!agency.suspension_reason().empty()) {
    rows.emplace_back("suspension reason", agency.suspension_reason());
  }
  if (!agency.id().trust_domain().empty()) {
    rows.insert(rows.begin() + 1, {"trust domain", agency.id().trust_domain()});
  }
  if (agency.capacity() > 0) rows.emplace_back("capacity", std::to_string(agency.capacity()));
  rows.emplace_back("certificate serials", JoinComma(ToVector(agency.certificate_serials())));
  rows.emplace_back("signing key", KeyText(agency.signing_public_key_pem(), /*signing=*/true));
  rows.emplace_back("sealing key", KeyText(agency.sealing_public_key_pem(), /*signing=*/false));
  rows.emplace_back("key endorsement", EndorsementText(agency));
  if (agency.attributes_size() > 0) rows.emplace_back("attributes", AttributesText(agency));
  rows.emplace_back("version", std::to_string(agency.version()));
  rows.emplace_back("created", TimestampText(agency.created_at()));
  rows.emplace_back("updated", TimestampText(agency.updated_at()));
  out.KeyValues(rows);
}

// Prints `message` as JSON (with --json) or the agency as key/values; returns 0 / 4.
int PrintAgencyReply(const google::protobuf::Message& message, const dir::Agency& agency,
                     std::string_view headline, Output& out) {
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(message);
    if (!doc.ok()) {
      return out.LocalError(doc.status());
    }
    out.Json(*doc);
    return kExitOk;
  }
  if (!headline.empty()) {
    out.Line(std::string(headline));
  }
  PrintAgency(agency, out);
  return kExitOk;
}

// Adds `serial` (normalised) unless present.
void AddSerial(google::protobuf::RepeatedPtrField<std::string>& serials, const std::string& raw) {
  const std::string serial = NormalizeSerial(raw);
  if (std::find(serials.begin(), serials.end(), serial) == serials.end()) {
    *serials.Add() = serial;
  }
}

Status CheckSerial(const std::string& raw) {
  const std::string serial = NormalizeSerial(raw);
  if (serial.empty() || serial.size() > 40 ||
      !std::all_of(serial.begin(), serial.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); })) {
    return UsageError("--serial", "must be a certificate serial in hex, got \"" + raw + "\"");
  }
  return absl::OkStatus();
}

// The agency named by a positional reference, --type/--id, or --from-pki (all must agree).
StatusOr<concord::common::v1::AgencyId> ResolveSpecId(const AgencySpecArgs& args,
                                                      const CertificateInfo* pki_cert) {
  std::optional<concord::common::v1::AgencyId> id;
  if (!args.agency.empty()) {
    CONCORD_ASSIGN_OR_RETURN(id, ParseAgencyRef("AGENCY", args.agency));
  }
  if (!args.type.empty() || !args.id.empty()) {
    if (id.has_value()) {
      return UsageError("--type/--id", "give either AGENCY or --type and --id, not both");
    }
    if (args.type.empty() || args.id.empty()) {
      return UsageError(args.type.empty() ? "--type" : "--id", "--type and --id go together");
    }
    CONCORD_ASSIGN_OR_RETURN(id, AgencyIdFromFlags(args.type, args.id));
  }
  if (pki_cert != nullptr) {
    CONCORD_ASSIGN_OR_RETURN(concord::common::v1::AgencyId from_cert,
                             ParseAgencyRef("--from-pki", pki_cert->spiffe_id));
    from_cert.clear_trust_domain();  // the deployment's own
    if (id.has_value() && (id->type() != from_cert.type() || id->id() != from_cert.id())) {
      return UsageError("--from-pki", "the certificate in the directory is for " +
                                          AgencyKeyOf(from_cert) + ", not " + AgencyKeyOf(*id));
    }
    id = from_cert;
  }
  if (!id.has_value()) {
    return UsageError("AGENCY", "name the agency: <type>/<id>, --type and --id, or --from-pki DIR");
  }
  return *id;
}

// Fills `spec` from the flags (and --from-pki). For an update (`is_update`) `spec` holds the
// stored agency and list flags replace the stored lists.
Status ApplySpecArgs(const AgencySpecArgs& args, bool is_update, dir::AgencySpec& spec) {
  std::optional<CertificateInfo> pki_cert;
  std::string signing_key_file = args.signing_key_file;
  std::string sealing_key_file = args.sealing_key_file;
  if (!args.from_pki.empty()) {
    CONCORD_ASSIGN_OR_RETURN(pki_cert, ReadCertificateInfo(args.from_pki + "/cert.pem"));
    if (!pki_cert->identity_error.empty()) {
      return absl::FailedPreconditionError(args.from_pki + "/cert.pem: not a valid agency " +
                                           "identity: " + pki_cert->identity_error);
    }
    if (signing_key_file.empty()) {
      signing_key_file = args.from_pki + "/sign.pub";
    }
    if (sealing_key_file.empty()) {
      sealing_key_file = args.from_pki + "/seal.pub";
    }
  }
  CONCORD_ASSIGN_OR_RETURN(concord::common::v1::AgencyId id,
                           ResolveSpecId(args, pki_cert.has_value() ? &*pki_cert : nullptr));
  if (is_update) {
    if (spec.id().type() != id.type() || spec.id().id() != id.id()) {
      return absl::InternalError("update: agency mismatch");
    }
  } else {
    *spec.mutable_id() = id;
  }
  for (const auto& serial : args.serials) {
    CONCORD_RETURN_IF_ERROR(CheckSerial(serial));
  }
  if (!args.name.empty()) {
    spec.set_display_name(args.name);
  } else if (!is_update) {
    spec.set_display_name(id.id());
  }
  if (!args.jurisdiction.empty()) {
    spec.set_jurisdiction(args.jurisdiction);
  }
  if (args.clear_specialisations || !args.specialisations.empty()) {
    spec.clear_specialisations();
  }
  for (const auto& s : args.specialisations) {
    *spec.add_specialisations() = s;
  }
  if (args.clear_languages || !args.languages.empty()) {
    spec.clear_languages();
  }
  for (const auto& l : args.languages) {
    *spec.add_languages() = l;
  }
  if (args.capacity >= 0) spec.set_capacity(args.capacity);
  if (args.clear_serials || !args.serials.empty()) {
    spec.clear_certificate_serials();
  }
  for (const auto& serial : args.serials) {
    AddSerial(*spec.mutable_certificate_serials(), serial);
  }
  if (pki_cert.has_value()) {
    AddSerial(*spec.mutable_certificate_serials(), pki_cert->serial);
  }
  spec.clear_attributes();
  for (const std::string& text : args.attributes) {
    CONCORD_ASSIGN_OR_RETURN(*spec.add_attributes(), ParseAttributeFlag("--attribute", text));
  }
  if (!signing_key_file.empty()) {
    CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadPublicKeyPem(signing_key_file, "ED25519"));
    spec.set_signing_public_key_pem(pem);
  }
  if (!sealing_key_file.empty()) {
    CONCORD_ASSIGN_OR_RETURN(std::string pem, ReadPublicKeyPem(sealing_key_file, "X25519"));
    spec.set_sealing_public_key_pem(pem);
  }
  return absl::OkStatus();
}

// --key-endorsement FILE: the agency's new keys and their endorsement by its current signing
// key (`keys rotate`), checked here against the stored agency before anything is sent; the
// directory verifies it again (AgencySpec.key_endorsement).
int ApplyKeyRotation(const AgencySpecArgs& args, const dir::Agency& stored, dir::AgencySpec& spec,
                     Output& out) {
  StatusOr<KeyRotationFile> rotation = ReadKeyRotationFile(args.key_endorsement_file);
  if (!rotation.ok()) return out.LocalError(rotation.status());
  StatusOr<concord::common::v1::AgencyId> of =
      ParseAgencyRef("--key-endorsement", rotation->agency);
  if (!of.ok()) return out.LocalError(of.status());
  if (of->type() != stored.id().type() || of->id() != stored.id().id()) {
    return out.LocalError(UsageError("--key-endorsement", "the rotation is of " + AgencyKeyOf(*of) +
                                                              ", not " + AgencyKeyOf(stored.id())));
  }
  if ((!args.signing_key_file.empty() &&
       spec.signing_public_key_pem() != rotation->signing_public_key_pem) ||
      (!args.sealing_key_file.empty() &&
       spec.sealing_public_key_pem() != rotation->sealing_public_key_pem)) {
    return out.LocalError(UsageError(
        "--key-endorsement", "--signing-key/--sealing-key differ from the rotation's new keys"));
  }
  if (Status st = VerifyKeyRotationFile(*rotation); !st.ok()) {
    return out.VerificationFailed(
        args.key_endorsement_file +
        ": the endorsement does not verify: " + std::string(st.message()));
  }
  auto stored_signing = crypto::Ed25519PublicKey::FromPem(stored.signing_public_key_pem());
  if (!stored_signing.ok() ||
      stored_signing->Raw() != rotation->endorsement.previous_signing_key()) {
    return out.VerificationFailed(
        args.key_endorsement_file + ": endorsed by " +
        crypto::KeyFingerprint(rotation->endorsement.previous_signing_key()) +
        ", which is not the signing key the directory holds for " + AgencyKeyOf(stored.id()));
  }
  spec.set_signing_public_key_pem(rotation->signing_public_key_pem);
  spec.set_sealing_public_key_pem(rotation->sealing_public_key_pem);
  *spec.mutable_key_endorsement() = rotation->endorsement;
  return kExitOk;
}

}  // namespace

int RunDirectoryRegister(const Globals& globals, const AgencySpecArgs& args, Output& out) {
  dir::RegisterAgencyRequest request;
  if (Status st = ApplySpecArgs(args, /*is_update=*/false, *request.mutable_agency()); !st.ok()) {
    return out.LocalError(st);
  }
  dir::RegisterAgencyResponse response;
  if (int rc = CallDirectory(globals, out, "RegisterAgency", &dir::Directory::Stub::RegisterAgency,
                             request, response);
      rc != kExitOk) {
    return rc;
  }
  return PrintAgencyReply(response, response.agency(),
                          "registered " + AgencyKeyOf(response.agency().id()), out);
}

int RunDirectoryUpdate(const Globals& globals, const AgencySpecArgs& args, Output& out) {
  // Resolve the agency first (without --from-pki side effects) to read its current state.
  std::optional<CertificateInfo> pki_cert;
  if (!args.from_pki.empty()) {
    StatusOr<CertificateInfo> info = ReadCertificateInfo(args.from_pki + "/cert.pem");
    if (!info.ok()) {
      return out.LocalError(info.status());
    }
    pki_cert = *info;
  }
  StatusOr<concord::common::v1::AgencyId> id =
      ResolveSpecId(args, pki_cert.has_value() ? &*pki_cert : nullptr);
  if (!id.ok()) {
    return out.LocalError(id.status());
  }
  auto stub = DirectoryStub(globals);
  if (!stub.ok()) {
    return out.LocalError(stub.status());
  }
  dir::GetAgencyResponse current;
  {
    grpc::ClientContext context;
    PrepareContext(globals.connection, context);
    dir::GetAgencyRequest get;
    *get.mutable_id() = *id;
    const grpc::Status status = (*stub)->GetAgency(&context, get, &current);
    if (!status.ok()) {
      return out.RpcError("GetAgency", status);
    }
  }
  const dir::Agency& agency = current.agency();
  dir::UpdateAgencyRequest request;
  dir::AgencySpec& spec = *request.mutable_agency();
  *spec.mutable_id() = agency.id();
  spec.mutable_id()->clear_trust_domain();
  spec.set_display_name(agency.display_name());
  spec.set_jurisdiction(agency.jurisdiction());
  *spec.mutable_specialisations() = agency.specialisations();
  *spec.mutable_languages() = agency.languages();
  spec.set_signing_public_key_pem(agency.signing_public_key_pem());
  spec.set_sealing_public_key_pem(agency.sealing_public_key_pem());
  *spec.mutable_certificate_serials() = agency.certificate_serials();
  spec.set_capacity(agency.capacity());
  if (Status st = ApplySpecArgs(args, /*is_update=*/true, spec); !st.ok()) {
    return out.LocalError(st);
  }
  if (!args.key_endorsement_file.empty()) {
    if (int rc = ApplyKeyRotation(args, agency, spec, out); rc != kExitOk) return rc;
  }
  request.set_expected_version(args.expected_version >= 0 ? args.expected_version
                                                          : agency.version());
  grpc::ClientContext context;
  PrepareContext(globals.connection, context);
  dir::UpdateAgencyResponse response;
  const grpc::Status status = (*stub)->UpdateAgency(&context, request, &response);
  if (!status.ok()) {
    return out.RpcError("UpdateAgency", status);
  }
  return PrintAgencyReply(response, response.agency(),
                          "updated " + AgencyKeyOf(response.agency().id()), out);
}

// Suspend / reinstate / get: AGENCY -> request.id, one call, the agency printed with `verb`
// ("suspended", "reinstated"; empty: no headline). `request` may carry other fields already.
template <typename Request, typename Response>
int CallOnAgency(const Globals& globals, const AgencyRefArgs& args, Output& out,
                 std::string_view rpc,
                 grpc::Status (dir::Directory::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                 Request request, std::string_view verb) {
  StatusOr<concord::common::v1::AgencyId> id = ParseAgencyRef("AGENCY", args.agency);
  if (!id.ok()) {
    return out.LocalError(id.status());
  }
  *request.mutable_id() = *id;
  Response response;
  if (int rc = CallDirectory(globals, out, rpc, method, request, response); rc != kExitOk) {
    return rc;
  }
  const std::string headline =
      verb.empty() ? "" : std::string(verb) + " " + AgencyKeyOf(response.agency().id());
  return PrintAgencyReply(response, response.agency(), headline, out);
}

int RunDirectorySuspend(const Globals& globals, const AgencyRefArgs& args, Output& out) {
  if (StatusOr<concord::common::v1::AgencyId> id = ParseAgencyRef("AGENCY", args.agency);
      !id.ok()) {
    return out.LocalError(id.status());
  }
  if (args.reason.empty()) {
    return out.LocalError(UsageError("--reason", "required (no personal data)"));
  }
  dir::SuspendAgencyRequest request;
  request.set_reason(args.reason);
  return CallOnAgency(globals, args, out, "SuspendAgency", &dir::Directory::Stub::SuspendAgency,
                      std::move(request), "suspended");
}

int RunDirectoryReinstate(const Globals& globals, const AgencyRefArgs& args, Output& out) {
  return CallOnAgency(globals, args, out, "ReinstateAgency", &dir::Directory::Stub::ReinstateAgency,
                      dir::ReinstateAgencyRequest(), "reinstated");
}

int RunDirectoryGet(const Globals& globals, const AgencyRefArgs& args, Output& out) {
  return CallOnAgency(globals, args, out, "GetAgency", &dir::Directory::Stub::GetAgency,
                      dir::GetAgencyRequest(), "");
}

int RunDirectoryRevoke(const Globals& globals, const RevokeArgs& args, Output& out) {
  std::string serial = args.serial;
  if (!args.cert_file.empty()) {
    if (!serial.empty()) {
      return out.LocalError(UsageError("--cert-file", "give either SERIAL or --cert-file"));
    }
    StatusOr<CertificateInfo> info = ReadCertificateInfo(args.cert_file);
    if (!info.ok()) {
      return out.LocalError(info.status());
    }
    serial = info->serial;
  }
  if (serial.empty()) {
    return out.LocalError(UsageError("SERIAL", "give the serial (hex) or --cert-file FILE"));
  }
  if (Status st = CheckSerial(serial); !st.ok()) {
    return out.LocalError(st);
  }
  if (args.reason.empty()) {
    return out.LocalError(UsageError("--reason", "required, e.g. key_compromise, superseded"));
  }
  dir::RevokeCertificateRequest request;
  request.set_serial(NormalizeSerial(serial));
  request.set_reason(args.reason);
  dir::RevokeCertificateResponse response;
  if (int rc = CallDirectory(globals, out, "RevokeCertificate",
                             &dir::Directory::Stub::RevokeCertificate, request, response);
      rc != kExitOk) {
    return rc;
  }
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(response);
    if (!doc.ok()) {
      return out.LocalError(doc.status());
    }
    out.Json(*doc);
  } else {
    out.Line("revoked certificate serial " + response.serial() + " at " +
             TimestampText(response.revoked_at()));
  }
  return kExitOk;
}

int RunDirectoryList(const Globals& globals, const ListArgs& args, Output& out) {
  dir::ListAgenciesRequest request;
  if (!args.type.empty()) {
    const std::optional<AgencyType> type = ParseAgencyType(args.type);
    if (!type.has_value()) {
      return out.LocalError(UsageError("--type", "unknown agency type \"" + args.type + "\""));
    }
    request.set_type(AgencyTypeToProto(*type));
  }
  if (args.page_size < 0 || args.page_size > 500) {
    return out.LocalError(UsageError("--page-size", "must be 0..500"));
  }
  request.set_jurisdiction(args.jurisdiction);
  request.set_specialisation(args.specialisation);
  request.set_language(args.language);
  request.set_include_suspended(args.include_suspended);
  request.mutable_page()->set_page_size(args.page_size);
  request.mutable_page()->set_page_token(args.page_token);
  auto stub = DirectoryStub(globals);
  if (!stub.ok()) {
    return out.LocalError(stub.status());
  }
  // One page when --page-token is given, otherwise every page.
  const bool single_page = !args.page_token.empty();
  dir::ListAgenciesResponse all;
  for (int page = 0; page < kMaxPages; ++page) {
    grpc::ClientContext context;
    PrepareContext(globals.connection, context);
    dir::ListAgenciesResponse response;
    const grpc::Status status = (*stub)->ListAgencies(&context, request, &response);
    if (!status.ok()) {
      return out.RpcError("ListAgencies", status);
    }
    all.mutable_agencies()->MergeFrom(response.agencies());
    all.set_next_page_token(response.next_page_token());
    if (single_page || response.next_page_token().empty()) {
      break;
    }
    request.mutable_page()->set_page_token(response.next_page_token());
  }
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(all);
    if (!doc.ok()) {
      return out.LocalError(doc.status());
    }
    out.Json(*doc);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const dir::Agency& a : all.agencies()) {
    rows.push_back({AgencyKeyOf(a.id()), a.display_name(), a.jurisdiction(),
                    JoinComma(ToVector(a.specialisations())), JoinComma(ToVector(a.languages())),
                    StateText(a.state())});
  }
  out.Table({"AGENCY", "NAME", "JURISDICTION", "SPECIALISATIONS", "LANGUAGES", "STATE"}, rows);
  if (single_page && !all.next_page_token().empty()) {
    out.Line("next page: --page-token " + all.next_page_token());
  }
  return kExitOk;
}

int RunDirectoryRevocations(const Globals& globals, Output& out) {
  const dir::GetRevocationsRequest request;
  dir::GetRevocationsResponse response;
  if (int rc = CallDirectory(globals, out, "GetRevocations", &dir::Directory::Stub::GetRevocations,
                             request, response);
      rc != kExitOk) {
    return rc;
  }
  if (out.json()) {
    StatusOr<nlohmann::json> doc = ProtoToJson(response);
    if (!doc.ok()) {
      return out.LocalError(doc.status());
    }
    out.Json(*doc);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> suspended;
  for (const auto& s : response.suspended_agencies()) {
    suspended.push_back({AgencyKeyOf(s.id()), s.reason()});
  }
  std::vector<std::vector<std::string>> revoked;
  for (const auto& r : response.revoked_serials()) {
    revoked.push_back({r.serial(), r.reason(), TimestampText(r.revoked_at())});
  }
  out.Line("Suspended agencies:");
  out.Table({"AGENCY", "REASON"}, suspended);
  out.Line("");
  out.Line("Revoked certificate serials:");
  out.Table({"SERIAL", "REASON", "REVOKED AT"}, revoked);
  return kExitOk;
}

}  // namespace concord::ctl
