// File: common/envelope/envelope_encoding.h
//
// The canonical encoding of an envelope: the bytes its sender signs with Ed25519, the bytes
// whose SHA-256 names it (receipts, idempotent resend), and the form in which the messaging
// service stores it. Written with crypto::CanonicalWriter (common/crypto/canonical.h); the field
// order and tags of v1 and v2 are in docs/crypto.md "Messaging envelope" (the contract for agency
// systems in other languages) and golden bytes pin both in tests/common/envelope.
//
//   const std::string to_sign = CanonicalEnvelope(envelope);       // by envelope.version
//   const std::string hash = EnvelopeSha256(envelope);              // what a receipt names
//   CONCORD_ASSIGN_OR_RETURN(Envelope e, DecodeStoredEnvelope(bytes_from_redis));
//
// Only this file knows the layouts: client/messaging (agency side) and services/messaging both
// call it. Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/envelope/envelope.h"
#include "common/status/status.h"

namespace concord::envelope {

/// Domain strings (the first field of each encoding).
inline constexpr std::string_view kEnvelopeDomainV1 = "concord.messaging.envelope.v1";
inline constexpr std::string_view kEnvelopeDomainV2 = "concord.messaging.envelope.v2";
inline constexpr std::string_view kPermissionDomainV1 = "concord.messaging.forward_permission.v1";
inline constexpr std::string_view kPermissionDomainV2 = "concord.messaging.forward_permission.v2";

/// Everything but the signature, in the layout of `envelope.version`: what the sender signs.
/// Deterministic. Fields of the other version are not written (a v2 envelope's clear attachment
/// name, a v1 envelope's key commitments).
std::string CanonicalEnvelope(const Envelope& envelope);

/// The stored form: CanonicalEnvelope followed by the signature as string field 63.
/// DecodeStoredEnvelope is its exact inverse for both versions (the domain string says which);
/// DATA_LOSS on anything malformed, truncated or followed by extra bytes.
std::string EncodeStoredEnvelope(const Envelope& envelope);
StatusOr<Envelope> DecodeStoredEnvelope(std::string_view bytes);

/// SHA-256 (32 raw bytes) of EncodeStoredEnvelope: the envelope's identity, named by receipts
/// and compared on idempotent resend.
std::string EnvelopeSha256(const Envelope& envelope);

/// What a provider signs to permit forwarding, in the layout of `version` (the version of the
/// envelope that carries the permission: v2 permissions name the root message).
std::string CanonicalForwardPermission(const ForwardPermission& permission,
                                       EnvelopeVersion version = kCurrentVersion);

}  // namespace concord::envelope
