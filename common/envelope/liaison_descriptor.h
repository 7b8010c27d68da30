// File: common/envelope/liaison_descriptor.h
//
// Liaison descriptors: the clear, signed statement that crosses the border beside a sealed
// envelope or a receipt (concord.liaison.v1.SignedLiaisonDescriptor; docs/crypto.md "Liaison
// descriptors", docs/liaison.md "Liaison requests across the border"). ONE owner of their
// canonical bytes, their shape rules and their binding to the item that carries them: the agency
// library and concordctl sign with it, both gateways verify with it.
//
//   SignedLiaisonDescriptor d;  // request or act filled in
//   CONCORD_RETURN_IF_ERROR(SignDescriptor(d, signing_key));
//   ...
//   CONCORD_RETURN_IF_ERROR(CheckDescriptorShape(d));
//   CONCORD_RETURN_IF_ERROR(CheckBoundToEnvelope(d, envelope));
//   if (!key.Verify(DescriptorSigningBytes(d), d.signature())) ...  // BAD_SIGNATURE
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "common/crypto/ed25519.h"
#include "common/envelope/envelope.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/liaison/v1/liaison.pb.h"

namespace concord::envelope {

namespace lv1 = ::concord::liaison::v1;

/// "concord.liaison.partner-request.v1" 0x00 issuer_request_id 0x00 issuer (SPIFFE id) 0x00
/// executor (SPIFFE id) 0x00 decimal(type) 0x00 decimal(urgency) 0x00 emergency ("1"|"0") 0x00
/// decimal(data_category) 0x00 decimal(offence_max_years) 0x00 do_not_inform_user ("1"|"0")
/// 0x00 order_message_id 0x00 envelope_sha256 (64 lower-case hex) 0x00 case_reference
/// Enum values are their proto numbers. Only meaningful for a descriptor whose shape passed.
std::string PartnerRequestSigningBytes(const lv1::PartnerRequestDescriptor& d);

/// "concord.liaison.partner-act.v1" 0x00 issuer_request_id 0x00 executor_request_id 0x00 actor
/// (SPIFFE id) 0x00 decimal(move) 0x00 decimal(executor_version) 0x00 decimal(reason_code) 0x00
/// decimal(extension_days) 0x00 carrier_message_id
std::string PartnerActSigningBytes(const lv1::PartnerActDescriptor& d);

/// The bytes of whichever descriptor is set (empty when none).
std::string DescriptorSigningBytes(const lv1::SignedLiaisonDescriptor& d);

/// INVALID_ARGUMENT, ErrorInfo DESCRIPTOR_INVALID, field violations under `field` ("liaison"):
/// exactly one descriptor; request ids "lr-" + 26 base32 characters; message ids
/// [A-Za-z0-9_-]{16,64}; envelope_sha256 64 lower-case hex digits; case_reference
/// [A-Za-z0-9._/-]{1,64}; agency ids valid WITH their trust domain; known enum values (type
/// required; move one of the executor's moves); offence_max_years 0..99; executor_version >= 2;
/// extension_days 0..30; executor_request_id required except for an issuer's WITHDRAW;
/// signature 64 bytes.
Status CheckDescriptorShape(const lv1::SignedLiaisonDescriptor& d,
                            std::string_view field = "liaison");

/// The agency that signs it: the request's issuer, the act's actor.
StatusOr<AgencyId> DescriptorSigner(const lv1::SignedLiaisonDescriptor& d);

/// A request descriptor rides a REQUEST envelope whose message id, SHA-256 (hex), case reference
/// and sender it names, and one of whose recipients is its executor; an act descriptor rides a
/// RESPONSE or INFORMATION envelope whose message id is its carrier_message_id and whose
/// sender is its actor.
/// INVALID_ARGUMENT, ErrorInfo DESCRIPTOR_MISMATCH, naming the first field that differs.
Status CheckBoundToEnvelope(const lv1::SignedLiaisonDescriptor& d, const Envelope& envelope);

/// An act descriptor rides the receipt of the envelope it names (carrier_message_id = the
/// receipt's message id), signed by its actor. A request descriptor never rides a receipt.
Status CheckBoundToReceipt(const lv1::SignedLiaisonDescriptor& d, const Receipt& receipt);

/// Fills `d.signature` with `key`'s Ed25519 signature of DescriptorSigningBytes(d).
Status SignDescriptor(lv1::SignedLiaisonDescriptor& d, const crypto::Ed25519PrivateKey& key);

}  // namespace concord::envelope
