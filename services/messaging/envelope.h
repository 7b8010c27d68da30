// File: services/messaging/envelope.h
//
// The messaging service's rules for a new envelope: pure validation (version, sizes,
// recipients, case reference, the fields v2 seals, expiry, replay window) and the H2 forward
// rule. The envelope model and its canonical encoding belong to common/envelope (one owner,
// shared with the agency library); they are brought into this namespace below so that the
// service reads as before.
//
//   CONCORD_RETURN_IF_ERROR(CheckEnvelopeVersion(envelope));
//   CONCORD_RETURN_IF_ERROR(ValidateEnvelope(envelope, limits));
//   CONCORD_RETURN_IF_ERROR(CheckEnvelopeTimes(envelope, limits, clock.Now()));
//   const std::string signed_bytes = CanonicalEnvelope(envelope);
//
// No I/O; time only through arguments. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/envelope/chunk.h"
#include "common/envelope/envelope.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/receipt.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::messaging {

using envelope::Attachment;
using envelope::CanonicalChunk;
using envelope::CanonicalEnvelope;
using envelope::CanonicalForwardPermission;
using envelope::CanonicalReceipt;
using envelope::ChunkRef;
using envelope::Classification;
using envelope::ClassificationName;
using envelope::DecodeCanonicalChunk;
using envelope::DecodeStoredEnvelope;
using envelope::EncodeStoredEnvelope;
using envelope::Envelope;
using envelope::EnvelopeSha256;
using envelope::EnvelopeVersion;
using envelope::EvaluationCodes;
using envelope::ForwardLink;
using envelope::ForwardPermission;
using envelope::ForwardRoot;
using envelope::HandlingCode;
using envelope::HandlingCodeName;
using envelope::InformationAccuracy;
using envelope::IsValidClientId;
using envelope::kAttachmentChunkBytes;
using envelope::MessageKind;
using envelope::MessageKindName;
using envelope::Receipt;
using envelope::ReceiptKind;
using envelope::SealedBox;
using envelope::SourceReliability;
using envelope::WrappedKey;

/// Configurable limits; defaults follow issue 3.
struct EnvelopeLimits {
  size_t max_recipients = 64;
  size_t max_body_bytes = 1024 * 1024;  // sealed body ciphertext
  size_t max_attachments = 16;
  uint64_t max_attachment_bytes = 64ull * 1024 * 1024;  // per message, all attachments
  absl::Duration replay_window = absl::Minutes(5);      // created_at may be this old
  absl::Duration max_clock_skew = absl::Minutes(1);     // created_at may be this far ahead
  absl::Duration retention_unclassified = absl::Hours(24 * 365);
  absl::Duration retention_restricted = absl::Hours(24 * 180);
  absl::Duration retention_confidential = absl::Hours(24 * 90);

  absl::Duration RetentionFor(Classification c) const;
};

/// New messages must be envelope v2 (envelope::kCurrentVersion). A v1 envelope is
/// INVALID_ARGUMENT with a field violation on "envelope.version" and reason
/// ENVELOPE_VERSION_UNSUPPORTED: every agency system is built from the documented v2 contract,
/// and v1 cannot carry the key commitments nor keep attachment names out of the clear header.
Status CheckEnvelopeVersion(const Envelope& envelope);

/// Structural validation of a v2 envelope, independent of time: ids, recipients (1..max,
/// distinct, valid, with trust domain), thread id, case reference (envelope/case_reference.h),
/// handling text, attachment names, media types and plaintext digests empty (they are sealed),
/// body (nonce, size, exactly one wrapped key per recipient and no other, 32-byte key
/// commitment), attachments (count, total size, ids, contiguous chunks with 32-byte digests and
/// commitments), in_reply_to (required for a response), forward link (with its root) and
/// signature length. INVALID_ARGUMENT with one field violation per problem; field paths start
/// with "envelope." (e.g. "envelope.recipients[2]").
Status ValidateEnvelope(const Envelope& envelope, const EnvelopeLimits& limits);

/// Time rules against `now`: created_at within [now - replay_window, now + max_clock_skew]
/// (reason OUTSIDE_REPLAY_WINDOW), expires_at after now (reason MESSAGE_EXPIRED), after
/// created_at and at most the classification's retention after it (INVALID_ARGUMENT).
Status CheckEnvelopeTimes(const Envelope& envelope, const EnvelopeLimits& limits, absl::Time now);

/// The forward's permission, if any, must come from the original provider: signed by the sender
/// of the ROOT message of the forward chain and naming that root message; a permission of a
/// middle forwarder (or any other agency) is PERMISSION_DENIED, reason
/// H2_PERMISSION_NOT_FROM_PROVIDER. OK when the forward carries no permission.
Status CheckPermissionFromRoot(const Envelope& forward, const ForwardRoot& root);

/// Handling-code rule for Forward: the handling code travels unchanged (HANDLING_CODE_CHANGED);
/// an H2 original may only go to agencies that already had it (its recipients and sender, and
/// the root provider) or that a permission of the root provider names (`permission_verified`:
/// its signature was verified against the root provider's key and CheckPermissionFromRoot
/// passed). PERMISSION_DENIED (reason H2_FORWARD_WITHOUT_PERMISSION) otherwise.
Status CheckForwardAllowed(const Envelope& original, const ForwardRoot& root,
                           const Envelope& forward, bool permission_verified);

}  // namespace concord::messaging
