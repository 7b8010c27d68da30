// File: common/notify/notifier_identity.h
//
// The identity a Concord notifier sends as: an admin/concord-<service> agency in the
// scripts/pki.sh layout (DIR/cert.pem + DIR/key.pem for mutual TLS, DIR/sign.key Ed25519 and
// DIR/seal.key X25519 private keys, the public halves registered in the directory). The policy
// table lets admin/concord-* identities Send NOTIFICATION messages to domestic agencies and
// nothing else (docs/security.md).
//
//   CONCORD_ASSIGN_OR_RETURN(NotifierIdentity me,
//       LoadNotifierIdentity(cfg.referrals_notifier_dir, cfg.tls_ca, cfg.trust_domain,
//                            "--referrals-notifier-dir"));
//
// Thread safety: an immutable value.
#pragma once

#include <string>
#include <string_view>

#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "common/tls/tls.h"

namespace concord::notify {

struct NotifierIdentity {
  AgencyId agency;  // admin/concord-<...> of the deployment's trust domain
  TlsFiles tls;     // DIR/cert.pem, DIR/key.pem, the CA bundle
  crypto::Ed25519PrivateKey signing_key;
  crypto::X25519PrivateKey sealing_key;
};

/// Reads DIR (see the file comment). Errors name `flag`: NOT_FOUND when a file is missing,
/// INVALID_ARGUMENT when the certificate is of another trust domain or not an admin/concord-*
/// identity, or a key does not parse.
StatusOr<NotifierIdentity> LoadNotifierIdentity(const std::string& dir, const std::string& ca_file,
                                                const std::string& trust_domain,
                                                std::string_view flag);

}  // namespace concord::notify
