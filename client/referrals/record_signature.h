// File: client/referrals/record_signature.h
//
// The author's signature on a sealed box of a referral case: each version of the sealed personal
// record (SealedRecord) and each sealed note (HistoryEntry.sealed_note). Sealing alone does not
// say who wrote a box, and the server stores whatever Redis holds: without a signature, whoever
// can write Redis could replace a box, put an older version back under a newer number, or move a
// box from another case. The AUTHOR (the agency whose certificate makes the call that stores the
// box) signs, with its Ed25519 signing key registered in the directory, the canonical encoding
// below; the service verifies it on write against the caller's directory key, and every reader
// verifies it again against the author's directory key before trusting or opening the box.
//
// The one owner of this format: the agency side (client/referrals/record_crypto, concordctl) and
// the service (services/referrals) both link this library. docs/crypto.md documents the bytes.
//
// Signed bytes (common/crypto/canonical.h: string = tag(1) || uint32 BE length || bytes; int =
// tag(1) || int64 BE two's complement):
//    0  "concord.referrals.sealed_record.v1" (records) | "concord.referrals.sealed_note.v1" (notes)
//       | "concord.referrals.document_identity.v1" | "concord.referrals.guardian.v1"
//    1  case_id
//    2  int: version (record: the record version, 1, 2, ...; note, document identity, guardian:
//       the case version its history entry creates)
//    3  author: SPIFFE ID "spiffe://<trust_domain>/agency/<type>/<id>"
//    4  box nonce          5  box ciphertext
//    6  int: number of wrapped keys, then per key in the box's order:
//       7 recipient ("<type>/<id>"), 8 ephemeral_public, 9 nonce, 10 ciphertext
// The server stamps created_at itself: it is not signed.
//
//   CONCORD_RETURN_IF_ERROR(SignSealedBox(SealedKind::kRecord, case_id, /*version=*/3, me, key,
//                                         box));
//   CONCORD_RETURN_IF_ERROR(VerifySealedBox(SealedKind::kRecord, case_id, stored, author_key));
//
// Thread safety: thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/crypto/ed25519.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals::client {

namespace v1 = ::concord::referrals::v1;

/// What a signed box is: a version of the personal record, a note of a history entry, the
/// identity fields of a document request (to the Immigration Office), or a guardian's identity.
enum class SealedKind { kRecord, kNote, kDocumentIdentity, kGuardian };

/// Domain-separation strings (tag 0), one per kind: a record signature never verifies as a note.
inline constexpr std::string_view kSealedRecordSignatureDomain =
    "concord.referrals.sealed_record.v1";
inline constexpr std::string_view kSealedNoteSignatureDomain = "concord.referrals.sealed_note.v1";
inline constexpr std::string_view kDocumentIdentitySignatureDomain =
    "concord.referrals.document_identity.v1";
inline constexpr std::string_view kGuardianSignatureDomain = "concord.referrals.guardian.v1";

/// ErrorInfo reasons of VerifySealedBox (and of the service's write check).
inline constexpr std::string_view kReasonUnsigned = "UNSIGNED";
inline constexpr std::string_view kReasonBadSignature = "BAD_SIGNATURE";

/// "the sealed record" / "the sealed note" / "the sealed document identity" / "the sealed
/// guardian", for messages.
std::string_view SealedKindText(SealedKind kind);

/// The bytes signed for `box` as version `version` of `case_id` written by `author` (the box's
/// own version, author, created_at and signature fields are ignored). INVALID_ARGUMENT when the
/// case id is empty, the version is < 1, or the author is not a complete agency id (trust
/// domain, type, id).
StatusOr<std::string> CanonicalSealedBox(SealedKind kind, std::string_view case_id, int64_t version,
                                         const ::concord::common::v1::AgencyId& author,
                                         const v1::SealedRecord& box);

/// Signs `box` as its author: sets box.version = version, box.author = author and
/// box.signature = Ed25519(key, CanonicalSealedBox(...)). Errors as CanonicalSealedBox.
Status SignSealedBox(SealedKind kind, std::string_view case_id, int64_t version,
                     const ::concord::common::v1::AgencyId& author,
                     const crypto::Ed25519PrivateKey& key, v1::SealedRecord& box);

/// Verifies a stored box of `case_id` against its own version and author fields, with
/// `author_key` (the directory signing key of box.author()):
///   FAILED_PRECONDITION, reason UNSIGNED: the box carries no signature (stored before
///     signatures existed, or stripped);
///   DATA_LOSS, reason BAD_SIGNATURE: the signature does not verify (a byte of the box replaced,
///     another version number, another case, another kind, or signed by another agency).
Status VerifySealedBox(SealedKind kind, std::string_view case_id, const v1::SealedRecord& box,
                       const crypto::Ed25519PublicKey& author_key);

}  // namespace concord::referrals::client
