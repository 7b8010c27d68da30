// File: services/referrals/validation.h
//
// Field-by-field validation of referral drafts (a known weakness of the UK NRM form is that it
// is not validated before submission). Two levels:
//   - FormatProblems: malformed values (an unknown enum value, a country that is not ISO 3166,
//     a sealed box of the wrong shape...). SaveDraft refuses those with INVALID_ARGUMENT.
//   - SubmitProblems: what Submit still refuses: format problems plus missing information.
// Every problem names the exact field path ("attributes.languages[1]") and says what is wrong in
// plain words; descriptions never repeat the submitted value (no personal data in errors).
//
// The sealed personal record is sealed in the client to the receiving centre and the competent
// magistrate only: RecipientProblems checks a record's wrapped keys against exactly that set;
// ExactRecipientProblems does the same for the other boxes (a document request's identity: the
// Immigration Office; a guardian: the centre and the Guardianship Service).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "client/referrals/record_signature.h"
#include "common/crypto/ed25519.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals {

inline constexpr size_t kMaxLanguages = 10;     // SuggestCentresRequest.languages
inline constexpr size_t kMaxSupportNeeds = 10;  // SuggestCentresRequest.support_needs
inline constexpr size_t kMaxSupportNeedLength = 64;
inline constexpr size_t kMaxCaseReferenceLength = 64;
inline constexpr size_t kMaxNoteLength = 1000;             // characters (UTF-8 code points)
inline constexpr size_t kMaxSealedCiphertext = 64 * 1024;  // bytes
inline constexpr size_t kMaxSealedRecipients = 8;
/// Additional authenticated data of the sealed record of `case_id`.
inline constexpr std::string_view kSealedRecordAadPrefix = "concord-referral-record-v1|";
std::string SealedRecordAad(std::string_view case_id);

/// Format problems (malformed values) of a draft. Empty = SaveDraft may store it.
std::vector<v1::FieldProblem> FormatProblems(const v1::SaveDraftRequest& draft);

/// Completeness for Submit: format problems of the case's fields plus missing information:
/// >= 1 exploitation form, origin_country, age band, nationality class, receiving_centre set to
/// a reception centre, a sealed record present and sealed to exactly the centre (+ the
/// magistrate when set), an unaccompanied minor with a minor (or unknown) age band and a
/// Guardianship Service.
std::vector<v1::FieldProblem> SubmitProblems(const v1::Case& draft);

/// Copies the draft fields (attributes, receiving_centre, magistrate, guardianship_service,
/// case_reference) onto the case, replacing them (a draft save sends the whole draft), and sets
/// attributes.origin_world_region from the origin country. The sealed record is NOT applied
/// here: stamp it with StampSealedRecord and attach it with AttachSealedRecord.
void ApplyDraft(const v1::SaveDraftRequest& request, v1::Case& draft);

// --- Building blocks (used by the state machine and the service) ---

/// Format problems of non-identifying attributes, field paths prefixed by `prefix`. Refused:
/// origin_region and languages (personal data: the sealed record), gender TRANSGENDER (gender
/// identity and trans experience are recorded apart), a region that is not a Belgian province
/// or region code, an unaccompanied minor with an adult age band.
std::vector<v1::FieldProblem> AttributeProblems(const v1::CaseAttributes& attributes,
                                                std::string_view prefix);
/// Shape of a sealed box from a client: nonce 12 bytes, 16 <= ciphertext <= 64 KiB, 1..8 keys,
/// each with a valid "<type>/<id>" recipient (no duplicates), a 32-byte ephemeral public key, a
/// 12-byte nonce and a 48-byte wrapped key. Server fields (version, author, created_at) ignored.
std::vector<v1::FieldProblem> SealedRecordProblems(const v1::SealedRecord& record,
                                                   std::string_view prefix);
/// An agency reference field (receiving_centre, magistrate, target): when set, it must be of
/// `expected` type with a valid id (and a valid trust domain when given). `required` adds a
/// problem when it is unset.
std::vector<v1::FieldProblem> AgencyProblems(const concord::common::v1::AgencyId& agency,
                                             AgencyType expected, bool required,
                                             std::string_view field);
/// A free-text note (decline reason, assessment): <= 1000 characters, no control characters
/// other than newline and tab. `required` adds a problem when it is empty.
std::vector<v1::FieldProblem> NoteProblems(std::string_view note, bool required,
                                           std::string_view field);

/// Agency keys the sealed record of `c` must be sealed to: the receiving centre (when set, and
/// not in state DECLINED: a centre that declined receives no new version) and the magistrate
/// (when set), in that order.
std::vector<std::string> RequiredRecipients(const v1::Case& c);
/// Problems when the recipients of `record` are not exactly RequiredRecipients(c).
std::vector<v1::FieldProblem> RecipientProblems(const v1::SealedRecord& record, const v1::Case& c,
                                                std::string_view prefix);

/// Problems when the recipients of `box` are not exactly `required` (agency keys): field
/// "<prefix>.keys" for a missing one, "<prefix>.keys[i].recipient" for another; `who` names them
/// for people ("the Immigration Office of the request only").
std::vector<v1::FieldProblem> ExactRecipientProblems(const v1::SealedRecord& box,
                                                     const std::vector<std::string>& required,
                                                     std::string_view prefix, std::string_view who);

/// Problems of the tie-breakers of SuggestCentres: languages (ISO 639-1, <= 10, no duplicates)
/// and support needs (<= 10 of [a-z0-9_]{1,64}).
std::vector<v1::FieldProblem> SuggestProblems(const v1::SuggestCentresRequest& request);

/// A sealed note's wrapped keys: every recipient must be a party of the case (any role) in
/// `before` or `after` the transition, and not a centre that declined the case (in
/// after.declined_by) unless it is the note's `author`.
std::vector<v1::FieldProblem> NoteRecipientProblems(const v1::SealedRecord& note,
                                                    const v1::Case& before, const v1::Case& after,
                                                    const AgencyId& author,
                                                    std::string_view prefix);

/// The author's signature on a box a client sent (`from_client`), checked on the box as it will
/// be stored (`stamped`: StampSealedRecord set its version and author). In order:
///   - a signature is present (field "<field>.signature"; ErrorInfo SIGNATURE_REQUIRED);
///   - the version and author the client set, when set, are the stamped ones ("<field>.version":
///     the version this write creates; "<field>.author": the caller);
///   - the signature verifies for (kind, case_id, stamped version, stamped author) under
///     `author_key`, the caller's directory signing key ("<field>.signature"; BAD_SIGNATURE).
/// INVALID_ARGUMENT with the field violation and the ErrorInfo; OK otherwise. Pure.
Status CheckBoxSignature(const v1::SealedRecord& from_client, const v1::SealedRecord& stamped,
                         client::SealedKind kind, std::string_view case_id,
                         const crypto::Ed25519PublicKey& author_key, std::string_view field);

/// The record as stored: the client's box (with its signature) with version, author and
/// created_at set by the server.
v1::SealedRecord StampSealedRecord(const v1::SealedRecord& from_client, int64_t version,
                                   const AgencyId& author, absl::Time now);
/// Points the case at a stamped record: sealed_record_version and sealed_record_recipients.
void AttachSealedRecord(const v1::SealedRecord& stamped, v1::Case& c);

/// ISO 3166-1 alpha-2 (upper case; includes XK), ISO 639-1 (lower case).
bool IsCountryCode(std::string_view code);
bool IsLanguageCode(std::string_view code);

/// INVALID_ARGUMENT carrying the problems as field violations (OK when empty).
Status ProblemsToStatus(std::string_view message, const std::vector<v1::FieldProblem>& problems);

}  // namespace concord::referrals
