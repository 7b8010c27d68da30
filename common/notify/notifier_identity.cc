#include "common/notify/notifier_identity.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/identity/caller.h"

namespace concord::notify {
namespace {

StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status Named(const Status& s, const std::string& flag, const std::string& path) {
  return Status(s.code(), absl::StrCat(flag, ": ", path, ": ", s.message()));
}

}  // namespace

StatusOr<NotifierIdentity> LoadNotifierIdentity(const std::string& dir, const std::string& ca_file,
                                                const std::string& trust_domain,
                                                std::string_view flag_view) {
  const std::string flag(flag_view);
  namespace fs = std::filesystem;
  TlsFiles tls{(fs::path(dir) / "cert.pem").string(), (fs::path(dir) / "key.pem").string(),
               ca_file};
  StatusOr<std::string> pem = ReadFile(tls.cert_file, flag);
  if (!pem.ok()) return pem.status();
  StatusOr<Caller> caller = CallerFromPemCertificate(*pem);
  if (!caller.ok()) return Named(caller.status(), flag, tls.cert_file);
  if (caller->agency.trust_domain != trust_domain) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": the certificate is of trust domain ",
                                                   caller->agency.trust_domain, ", not ",
                                                   trust_domain));
  }
  // Security: only Concord's own identities may notify (the policy table says the same).
  if (caller->agency.type != AgencyType::kAdmin || !caller->agency.id.starts_with("concord-")) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": the notifier must be an admin/concord-* identity, the certificate is ",
        caller->agency.Key()));
  }
  const std::string sign_path = (fs::path(dir) / "sign.key").string();
  StatusOr<crypto::Ed25519PrivateKey> signing = crypto::Ed25519PrivateKey::FromPemFile(sign_path);
  if (!signing.ok()) return Named(signing.status(), flag, sign_path);
  const std::string seal_path = (fs::path(dir) / "seal.key").string();
  StatusOr<crypto::X25519PrivateKey> sealing = crypto::X25519PrivateKey::FromPemFile(seal_path);
  if (!sealing.ok()) return Named(sealing.status(), flag, seal_path);
  return NotifierIdentity{caller->agency, std::move(tls), *std::move(signing), *std::move(sealing)};
}

}  // namespace concord::notify
