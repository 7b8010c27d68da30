#include "cli/concordctl/known_keys.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/concordctl/local_files.h"
#include "common/crypto/key_endorsement.h"
#include "common/status/grpc_status.h"
#include "common/time/clock.h"
#include "google/rpc/error_details.pb.h"

namespace concord::ctl {
namespace {

// The ErrorInfo metadata of `status` (the fingerprints of a refused key change), sorted.
std::vector<std::pair<std::string, std::string>> ErrorMetadata(const Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  auto payload = status.GetPayload("type.googleapis.com/google.rpc.ErrorInfo");
  google::rpc::ErrorInfo info;
  if (!payload || !info.ParseFromString(std::string(*payload))) return out;
  out.emplace_back("reason", info.reason());
  std::map<std::string, std::string> sorted(info.metadata().begin(), info.metadata().end());
  for (auto& kv : sorted) out.emplace_back(kv);
  return out;
}

}  // namespace

StatusOr<std::string> KnownKeysPath(const ConnectionOptions& c) {
  if (!c.known_keys_file.empty()) return c.known_keys_file;
  if (!c.agency_dir.empty()) {
    return (std::filesystem::path(c.agency_dir) / keys::kKnownKeysFileName).string();
  }
  if (!c.cert_file.empty()) {
    return (std::filesystem::path(c.cert_file).parent_path() / keys::kKnownKeysFileName).string();
  }
  return InvalidArgumentWithFields(
      "invalid arguments",
      {{"--known-keys", "give the known-keys file, or --agency-dir DIR (DIR/known_keys.json)"}});
}

StatusOr<std::shared_ptr<keys::KeyTrust>> OpenKeyTrust(const ConnectionOptions& connection) {
  StatusOr<std::string> path = KnownKeysPath(connection);
  if (!path.ok()) return path.status();
  return std::make_shared<keys::KeyTrust>(*std::move(path), SystemClock::Get());
}

messaging::client::TrustKeys TrustHook(std::shared_ptr<keys::KeyTrust> trust) {
  return [trust = std::move(trust)](const concord::common::v1::AgencyId& agency,
                                    const concord::directory::v1::Agency& record) {
    return trust->Check(agency, record);
  };
}

int KeyLookupFailure(Output& out, std::string_view rpc, const Status& status) {
  if (keys::IsKeyChangeRefused(status)) {
    return out.VerificationFailed(std::string(status.message()), ErrorMetadata(status));
  }
  if (ReasonOf(status) == keys::kKnownKeysFileReason) return out.LocalError(status);
  return out.RpcError(rpc, ToGrpcStatus(status));
}

concord::directory::v1::Agency PartnerRecord(const concord::common::v1::AgencyId& agency,
                                             const std::string& signing_public_key_pem,
                                             const std::string& sealing_public_key_pem) {
  concord::directory::v1::Agency record;
  *record.mutable_id() = agency;
  record.set_signing_public_key_pem(signing_public_key_pem);
  record.set_sealing_public_key_pem(sealing_public_key_pem);
  return record;
}

StatusOr<std::string> FormatKeyRotationFile(const KeyRotationFile& f) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string endorsement;
  if (!google::protobuf::util::MessageToJsonString(f.endorsement, &endorsement, options).ok()) {
    return absl::InternalError("cannot render the key endorsement as JSON");
  }
  nlohmann::ordered_json doc = {{"format", std::string(kKeyRotationFormat)},
                                {"agency", f.agency},
                                {"signing_public_key_pem", f.signing_public_key_pem},
                                {"sealing_public_key_pem", f.sealing_public_key_pem},
                                {"key_endorsement", nlohmann::ordered_json::parse(endorsement)}};
  return doc.dump(2) + "\n";
}

StatusOr<KeyRotationFile> ReadKeyRotationFile(const std::string& path) {
  StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  const auto bad = [&](std::string_view what) {
    return absl::FailedPreconditionError(path + ": not a key rotation file of `keys rotate` (" +
                                         std::string(what) + ")");
  };
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not JSON");
  if (doc.value("format", "") != kKeyRotationFormat) {
    return bad("\"format\" must be \"" + std::string(kKeyRotationFormat) + "\"");
  }
  KeyRotationFile f;
  for (const char* field : {"agency", "signing_public_key_pem", "sealing_public_key_pem"}) {
    if (!doc.contains(field) || !doc[field].is_string())
      return bad(std::string(field) + " missing");
  }
  f.agency = doc["agency"].get<std::string>();
  f.signing_public_key_pem = doc["signing_public_key_pem"].get<std::string>();
  f.sealing_public_key_pem = doc["sealing_public_key_pem"].get<std::string>();
  if (!doc.contains("key_endorsement") || !doc["key_endorsement"].is_object()) {
    return bad("key_endorsement missing");
  }
  if (!google::protobuf::util::JsonStringToMessage(doc["key_endorsement"].dump(), &f.endorsement)
           .ok()) {
    return bad("key_endorsement is not a concord.directory.v1.KeyEndorsement");
  }
  return f;
}

Status VerifyKeyRotationFile(const KeyRotationFile& f) {
  auto signing = crypto::Ed25519PublicKey::FromPem(f.signing_public_key_pem);
  auto sealing = crypto::X25519PublicKey::FromPem(f.sealing_public_key_pem);
  if (!signing.ok() || !sealing.ok()) {
    return absl::InvalidArgumentError("the new keys of the rotation file are malformed");
  }
  const auto& e = f.endorsement;
  const crypto::KeyEndorsement endorsement{
      e.previous_signing_key(),
      absl::FromUnixSeconds(e.issued_at().seconds()) + absl::Nanoseconds(e.issued_at().nanos()),
      e.signature()};
  return crypto::VerifyKeyEndorsement(f.agency, endorsement, *signing, *sealing);
}

}  // namespace concord::ctl
