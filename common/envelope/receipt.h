// File: common/envelope/receipt.h
//
// The canonical encoding of a delivered/read receipt: what the recipient signs with its Ed25519
// directory key. Unchanged by envelope v2 (domain "concord.messaging.receipt.v1"); a receipt
// names the exact envelope by EnvelopeSha256 (envelope_encoding.h) of the version it has.
//
//   CONCORD_ASSIGN_OR_RETURN(std::string sig, key.Sign(CanonicalReceipt(receipt)));
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

#include "common/envelope/envelope.h"

namespace concord::envelope {

inline constexpr std::string_view kReceiptDomain = "concord.messaging.receipt.v1";

/// 0 domain, 1 message_id, 2 envelope_sha256, 3 recipient (SPIFFE), 4 int kind (delivered = 1,
/// read = 2), 5 int at (ns since the Unix epoch).
std::string CanonicalReceipt(const Receipt& receipt);

}  // namespace concord::envelope
