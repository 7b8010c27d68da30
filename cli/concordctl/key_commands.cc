// concordctl's key continuity commands (docs/concordctl.md "Keys and key continuity"):
//   directory trust AGENCY   shows the remembered and the directory's fingerprints of an agency
//                            and, confirmed, records the directory's keys as accepted;
//   keys rotate              a new key pair in the agency folder (*.next) and its endorsement by
//                            the current signing key (key_endorsement.json) for the directory;
//   keys activate            once the directory holds the new keys: *.next become the keys in
//                            use, the old ones are kept as *.previous.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/concordctl/agency_format.h"
#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/known_keys.h"
#include "cli/concordctl/local_files.h"
#include "client/keys/key_continuity.h"
#include "common/crypto/key_endorsement.h"
#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"
#include "concord/directory/v1/directory.grpc.pb.h"

namespace concord::ctl {
namespace {

namespace dir = ::concord::directory::v1;
using AgencyProto = ::concord::common::v1::AgencyId;

Status UsageError(std::string_view flag, std::string_view description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::string(description)}});
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

StatusOr<std::string> SpiffeOf(const AgencyProto& a) {
  CONCORD_ASSIGN_OR_RETURN(AgencyType type, AgencyTypeFromProto(a.type()));
  return AgencyId{a.trust_domain(), type, a.id()}.ToSpiffe();
}

// One Directory/GetAgency; kExitOk or the exit code already printed.
int GetAgency(const Globals& globals, Output& out, const AgencyProto& id, dir::Agency* agency) {
  StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(globals.connection);
  if (!channel.ok()) return out.LocalError(channel.status());
  auto stub = dir::Directory::NewStub(*channel);
  grpc::ClientContext ctx;
  PrepareContext(globals.connection, ctx);
  dir::GetAgencyRequest req;
  *req.mutable_id() = id;
  dir::GetAgencyResponse resp;
  const grpc::Status status = stub->GetAgency(&ctx, req, &resp);
  if (!status.ok()) return out.RpcError("Directory/GetAgency", status);
  *agency = resp.agency();
  return kExitOk;
}

// A new file, mode `mode`, refused if it exists (nothing of an earlier rotation is overwritten).
Status WriteNewFile(const std::string& path, std::string_view content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, errno == EEXIST ? ": exists already (an unfinished rotation? "
                                             "`keys activate`, or remove the *.next files)"
                                           : ": cannot be created"));
  }
  bool ok = ::fchmod(fd, mode) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::FailedPreconditionError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

std::string AgencyDirFile(const ConnectionOptions& c, std::string_view name) {
  return (std::filesystem::path(c.agency_dir) / std::string(name)).string();
}

}  // namespace

// ---- directory trust -----------------------------------------------------------------------

int RunDirectoryTrust(const Globals& globals, const DirectoryTrustArgs& args, Output& out) {
  StatusOr<AgencyProto> id = ParseAgencyRef("AGENCY", args.agency);
  if (!id.ok()) return out.LocalError(id.status());
  StatusOr<AgencyProto> me = LocalAgency(globals.connection);
  if (!me.ok()) return out.LocalError(me.status());
  if (id->trust_domain().empty()) id->set_trust_domain(me->trust_domain());
  if (id->trust_domain() != me->trust_domain()) {
    // A partner agency's keys come from the partner's signed export, through the gateway.
    return out.LocalError(InvalidArgumentWithFields(
        "invalid arguments",
        {{"AGENCY", "an agency of trust domain " + id->trust_domain() +
                        " is a partner agency: accept its keys with `concordctl --server "
                        "<gateway> federation trust " +
                        args.agency + "`"}}));
  }
  dir::Agency record;
  if (int rc = GetAgency(globals, out, *id, &record); rc != kExitOk) return rc;
  return ReviewAndAcceptKeys(globals, args.yes, *id, record, keys::Counterpart::kLocal, out);
}

int ReviewAndAcceptKeys(const Globals& globals, bool yes, const AgencyProto& agency,
                        const dir::Agency& record, keys::Counterpart counterpart, Output& out) {
  StatusOr<std::shared_ptr<keys::KeyTrust>> trust = OpenKeyTrust(globals.connection);
  if (!trust.ok()) return out.LocalError(trust.status());
  StatusOr<keys::RecordKeys> current = keys::KeysOfRecord(agency, record);
  if (!current.ok()) return out.VerificationFailed(std::string(current.status().message()));
  StatusOr<std::optional<keys::KnownAgency>> remembered = (*trust)->Remembered(current->spiffe_id);
  if (!remembered.ok()) return out.LocalError(remembered.status());
  const keys::KeyVerdict verdict =
      keys::DecideKeys(current->spiffe_id, *remembered, current->keys, current->endorsement);

  const std::string theirs =
      counterpart == keys::Counterpart::kPartner ? "the partner export's" : "the directory's";
  std::string verdict_text;
  switch (verdict.decision) {
    case keys::KeyDecision::kFirstUse:
      verdict_text = "never seen: " + theirs + " keys are remembered on first use anyway";
      break;
    case keys::KeyDecision::kUnchanged:
      verdict_text = "unchanged: the remembered keys are " + theirs;
      break;
    case keys::KeyDecision::kEndorsedRotation:
      verdict_text = "changed, endorsed by the remembered signing key (a routine rotation)";
      break;
    case keys::KeyDecision::kRefused:
      verdict_text = "changed: " + verdict.reason;
      break;
  }
  const auto fp = [](const std::string& raw) { return crypto::KeyFingerprint(raw); };
  const keys::AgencyKeys& now = current->keys;
  const bool partner = counterpart == keys::Counterpart::kPartner;
  // A partner agency is named by its SPIFFE id (another trust domain).
  const std::string name = partner ? current->spiffe_id : current->key;
  const std::string source = partner ? "partner export now" : "directory now";
  const bool same = verdict.decision == keys::KeyDecision::kUnchanged;

  nlohmann::json doc = {{"agency", name},
                        {"spiffe_id", current->spiffe_id},
                        {"known_keys_file", (*trust)->path()},
                        {partner ? "partner_export" : "directory",
                         {{"signing_fingerprint", fp(now.signing)},
                          {"sealing_fingerprint", fp(now.sealing)},
                          {"endorsed", current->endorsement.has_value()}}},
                        {"remembered", nullptr},
                        {"verdict", verdict_text}};
  std::vector<std::pair<std::string, std::string>> rows = {{"agency", name}};
  if (remembered->has_value()) {
    const keys::KnownAgency& k = **remembered;
    doc["remembered"] = {{"signing_fingerprint", fp(k.keys.signing)},
                         {"sealing_fingerprint", fp(k.keys.sealing)},
                         {"source", std::string(keys::KeySourceName(k.source))},
                         {"since", Rfc3339(k.since)}};
    rows.emplace_back("remembered", std::string(keys::KeySourceName(k.source)) + " since " +
                                        Rfc3339(k.since) + " (" + (*trust)->path() + ")");
    rows.emplace_back("  signing key", fp(k.keys.signing));
    rows.emplace_back("  sealing key", fp(k.keys.sealing));
  } else {
    rows.emplace_back("remembered", "nothing (" + (*trust)->path() + ")");
  }
  rows.emplace_back(
      source, current->endorsement.has_value() ? "with an endorsement" : "without endorsement");
  const auto mark = [&](const std::string& was, const std::string& is) {
    return fp(is) + (remembered->has_value() && was != is ? "   (changed)" : "");
  };
  rows.emplace_back("  signing key",
                    mark(remembered->has_value() ? (*remembered)->keys.signing : "", now.signing));
  rows.emplace_back("  sealing key",
                    mark(remembered->has_value() ? (*remembered)->keys.sealing : "", now.sealing));
  rows.emplace_back("verdict", verdict_text);

  if (same) {
    if (out.json()) {
      doc["accepted"] = false;
      out.Json(doc);
    } else {
      out.KeyValues(rows);
      out.Line("nothing to accept");
    }
    return kExitOk;
  }
  if (!out.json()) out.KeyValues(rows);
  if (!yes) {
    if (!::isatty(STDIN_FILENO)) {
      return out.LocalError(
          UsageError("--yes", "stdin is not a terminal: after checking the fingerprints with " +
                                  name + " by another channel, accept with --yes"));
    }
    std::cerr << "Accept the " << (partner ? "partner export's" : "directory's") << " keys for "
              << name
              << "? Check both fingerprints with the agency by another channel first. [y/N] "
              << std::flush;
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
      return out.VerificationFailed("not accepted: the keys of " + name +
                                    " stay refused for sealing and for trusting signatures");
    }
  }
  StatusOr<keys::KnownAgency> accepted = (*trust)->Accept(agency, record);
  if (!accepted.ok()) return out.LocalError(accepted.status());
  if (out.json()) {
    doc["accepted"] = true;
    out.Json(doc);
  } else {
    out.Line("accepted: the keys of " + name + " are remembered in " + (*trust)->path());
  }
  return kExitOk;
}

// ---- keys rotate ---------------------------------------------------------------------------

int RunKeysRotate(const Globals& globals, const KeysRotateArgs& args, Output& out) {
  const ConnectionOptions& c = globals.connection;
  if (c.agency_dir.empty()) {
    return out.LocalError(UsageError("--agency-dir", "the agency folder whose keys rotate"));
  }
  StatusOr<AgencyProto> me = LocalAgency(c);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<std::string> spiffe = SpiffeOf(*me);
  if (!spiffe.ok()) return out.LocalError(spiffe.status());
  const std::string sign_path = AgencyDirFile(c, "sign.key");
  StatusOr<std::string> current_pem = ReadTextFile(sign_path);
  if (!current_pem.ok()) return out.LocalError(current_pem.status());
  StatusOr<crypto::Ed25519PrivateKey> current = crypto::Ed25519PrivateKey::FromPem(*current_pem);
  if (!current.ok()) {
    return out.LocalError(absl::FailedPreconditionError(
        sign_path + ": not an unencrypted Ed25519 private key (PEM)"));
  }
  const crypto::Ed25519PrivateKey next_sign = crypto::Ed25519PrivateKey::Generate();
  const crypto::X25519PrivateKey next_seal = crypto::X25519PrivateKey::Generate();
  StatusOr<crypto::KeyEndorsement> e = crypto::SignKeyEndorsement(
      *spiffe, *current, next_sign.PublicKey(), next_seal.PublicKey(), absl::Now());
  if (!e.ok()) return out.LocalError(e.status());

  KeyRotationFile rotation;
  rotation.agency = *spiffe;
  rotation.signing_public_key_pem = next_sign.PublicKey().ToPem();
  rotation.sealing_public_key_pem = next_seal.PublicKey().ToPem();
  rotation.endorsement.set_previous_signing_key(e->previous_signing_key);
  const int64_t ns = absl::ToUnixNanos(e->issued_at);
  rotation.endorsement.mutable_issued_at()->set_seconds(ns / 1'000'000'000);
  rotation.endorsement.mutable_issued_at()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  rotation.endorsement.set_signature(e->signature);
  StatusOr<std::string> rotation_text = FormatKeyRotationFile(rotation);
  if (!rotation_text.ok()) return out.LocalError(rotation_text.status());
  const std::string endorsement_path =
      args.out_file.empty() ? AgencyDirFile(c, "key_endorsement.json") : args.out_file;

  // Private keys first (0600), then the public halves and the endorsement.
  const std::pair<std::string, std::string> files[] = {
      {AgencyDirFile(c, "sign.key.next"), next_sign.ToPem()},
      {AgencyDirFile(c, "seal.key.next"), next_seal.ToPem()},
      {AgencyDirFile(c, "sign.pub.next"), next_sign.PublicKey().ToPem()},
      {AgencyDirFile(c, "seal.pub.next"), next_seal.PublicKey().ToPem()},
      {endorsement_path, *rotation_text}};
  for (const auto& [path, content] : files) {
    if (Status st = WriteNewFile(path, content, 0600); !st.ok()) return out.LocalError(st);
  }
  const std::string key = AgencyKeyOf(*me);
  if (out.json()) {
    out.Json({{"agency", key},
              {"signing_fingerprint", crypto::KeyFingerprint(next_sign.PublicKey().Raw())},
              {"sealing_fingerprint", crypto::KeyFingerprint(next_seal.PublicKey().Raw())},
              {"endorsement_file", endorsement_path},
              {"endorsed_by", crypto::KeyFingerprint(e->previous_signing_key)}});
    return kExitOk;
  }
  out.Line("new keys for " + key + " (not in use yet), endorsed by the current signing key");
  out.KeyValues({{"signing key", crypto::KeyFingerprint(next_sign.PublicKey().Raw())},
                 {"sealing key", crypto::KeyFingerprint(next_seal.PublicKey().Raw())},
                 {"endorsed by", crypto::KeyFingerprint(e->previous_signing_key)},
                 {"files", c.agency_dir + "/{sign,seal}.{key,pub}.next"},
                 {"endorsement", endorsement_path}});
  out.Line("next: your Concord administrator runs");
  out.Line("  concordctl directory update " + key + " --key-endorsement " + endorsement_path);
  out.Line("then, once `directory get " + key + "` shows the new keys: concordctl keys activate");
  return kExitOk;
}

// ---- keys activate -------------------------------------------------------------------------

int RunKeysActivate(const Globals& globals, Output& out) {
  const ConnectionOptions& c = globals.connection;
  if (c.agency_dir.empty()) {
    return out.LocalError(UsageError("--agency-dir", "the agency folder whose keys rotate"));
  }
  StatusOr<AgencyProto> me = LocalAgency(c);
  if (!me.ok()) return out.LocalError(me.status());
  StatusOr<std::string> sign_pub = ReadRawPublicKey(AgencyDirFile(c, "sign.key.next"), "ED25519");
  if (!sign_pub.ok()) return out.LocalError(sign_pub.status());
  StatusOr<std::string> seal_pub = ReadRawPublicKey(AgencyDirFile(c, "seal.key.next"), "X25519");
  if (!seal_pub.ok()) return out.LocalError(seal_pub.status());
  dir::Agency record;
  if (int rc = GetAgency(globals, out, *me, &record); rc != kExitOk) return rc;
  StatusOr<keys::RecordKeys> in_directory = keys::KeysOfRecord(*me, record);
  if (!in_directory.ok())
    return out.VerificationFailed(std::string(in_directory.status().message()));
  if (in_directory->keys.signing != *sign_pub || in_directory->keys.sealing != *seal_pub) {
    return out.VerificationFailed(
        "the directory does not hold the new keys of " + AgencyKeyOf(*me) +
        " yet: nothing was changed (the administrator submits key_endorsement.json with "
        "`concordctl directory update " +
        AgencyKeyOf(*me) + " --key-endorsement FILE`)");
  }
  // The old keys stay as *.previous: messages sealed to them before the rotation still open
  // with `--sealing-key-file DIR/seal.key.previous`.
  namespace fs = std::filesystem;
  for (const char* name : {"sign.key", "seal.key", "sign.pub", "seal.pub"}) {
    std::error_code ec;
    const std::string now = AgencyDirFile(c, name);
    if (fs::exists(now)) {
      fs::rename(now, now + ".previous", ec);
      if (ec) return out.LocalError(absl::FailedPreconditionError(now + ": " + ec.message()));
    }
    fs::rename(now + ".next", now, ec);
    if (ec) {
      return out.LocalError(absl::FailedPreconditionError(now + ".next: " + ec.message()));
    }
  }
  if (out.json()) {
    out.Json({{"agency", AgencyKeyOf(*me)},
              {"signing_fingerprint", crypto::KeyFingerprint(*sign_pub)},
              {"sealing_fingerprint", crypto::KeyFingerprint(*seal_pub)}});
  } else {
    out.Line("the new keys of " + AgencyKeyOf(*me) + " are in use (old keys kept as " +
             c.agency_dir + "/*.previous)");
  }
  return kExitOk;
}

}  // namespace concord::ctl
