// File: common/identity/caller.h
//
// The authenticated caller of an RPC. Identity comes ONLY from the verified peer certificate
// (the "x509_pem_cert" property of the gRPC AuthContext, populated by the mTLS handshake), never
// from request fields or metadata.
//
//   grpc::Status Svc::Get(grpc::ServerContext* ctx, const Req* req, Reply* reply) {
//     CONCORD_GRPC_ASSIGN_OR_RETURN(const Caller caller, CallerFromContext(*ctx));
//     ...
#pragma once

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <string>
#include <string_view>

#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord {

struct Caller {
  AgencyId agency;
  std::string cert_serial;  // certificate serial: upper-case hex, no leading zeros ("0" for 0)

  friend bool operator==(const Caller&, const Caller&) = default;
};

/// UNAUTHENTICATED when the context has no peer certificate, the certificate cannot be parsed,
/// it has zero or several URI SANs, or the URI SAN is not a valid agency SPIFFE ID.
StatusOr<Caller> CallerFromAuthContext(const grpc::AuthContext& auth);

/// CallerFromAuthContext(*ctx.auth_context()); UNAUTHENTICATED without an auth context.
StatusOr<Caller> CallerFromContext(const grpc::ServerContext& ctx);

/// Same rules as CallerFromAuthContext, from a PEM certificate (used by tests and tools).
StatusOr<Caller> CallerFromPemCertificate(std::string_view pem);

/// Normalises a certificate serial written in hex: strips a leading "serial=" and "0x", removes
/// ':' separators and leading zeros, upper-cases. "serial=00:0a:ff" -> "AFF"; all zeros -> "0".
std::string NormalizeSerial(std::string_view hex);

}  // namespace concord
