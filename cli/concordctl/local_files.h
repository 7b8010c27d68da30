// File: cli/concordctl/local_files.h
//
// Local files concordctl reads: PEM certificates and keys, and agency directories written by
// scripts/pki.sh (agencies/<type>/<id>/{cert.pem,key.pem,sign.key,sign.pub,seal.key,seal.pub}).
// Every failure is FAILED_PRECONDITION naming the file (exit code 4), never the key material.
#pragma once

#include <string>
#include <vector>

#include "common/status/status.h"

namespace concord::ctl {

/// The whole file; FAILED_PRECONDITION if it cannot be read.
StatusOr<std::string> ReadTextFile(const std::string& path);

/// What concordctl shows about a local certificate.
struct CertificateInfo {
  std::string spiffe_id;     // the single URI SAN, when it is a valid agency SPIFFE ID
  std::string trust_domain;  // parsed from spiffe_id (empty if not an agency ID)
  std::string agency_type;
  std::string agency_id;
  std::string serial;  // upper-case hex, no leading zeros (as the directory stores it)
  std::string subject;
  std::string issuer;
  std::string not_before;  // RFC 3339, UTC
  std::string not_after;
  std::vector<std::string> uri_sans;
  std::string identity_error;  // why the certificate is not a valid agency identity (or empty)
};

/// Parses the first certificate of a PEM file.
StatusOr<CertificateInfo> ReadCertificateInfo(const std::string& path);

/// OK iff `key_path` holds a private key matching the certificate in `cert_path`.
Status CheckKeyMatchesCertificate(const std::string& cert_path, const std::string& key_path);

/// Reads a PEM public key (or derives it from a PEM private key) and checks it is of the
/// expected algorithm ("ED25519" or "X25519"). Returns the public key as SubjectPublicKeyInfo PEM.
StatusOr<std::string> ReadPublicKeyPem(const std::string& path, const std::string& algorithm);

/// The raw public key bytes (32 for Ed25519/X25519) of a PEM public or private key file.
StatusOr<std::string> ReadRawPublicKey(const std::string& path, const std::string& algorithm);

/// True iff `path` names an existing regular file.
bool FileExists(const std::string& path);

}  // namespace concord::ctl
