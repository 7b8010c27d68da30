// File: client/referrals/record_crypto.h
//
// The sealed personal record of a referral case, on the agency side. The record (name, date of
// birth, nationality, contact, consent, notes) is serialized and sealed HERE, in the client, to
// the receiving centre and the competent magistrate only (common/crypto/seal.h: one content key
// wrapped per recipient X25519 key from the directory); the server stores the sealed box and
// never sees the plaintext. The additional authenticated data binds a box to its case:
// "concord-referral-record-v1|" + case_id, so a box cannot be replayed onto another case.
//
// Every box is also SIGNED by its author (record_signature.h): the version it becomes, its case,
// its author and every byte of the box, with the author's directory Ed25519 key. Readers check
// the signature and the version before they trust or open a box (VerifyRecord, VerifyNote), so a
// box replaced in Redis, put back under a newer version, moved from another case or signed by
// another agency is refused.
//
//   RecordAuthor me{my_agency, my_signing_key};
//   CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box,
//       SealPersonalRecord(record, case_id, c.sealed_record_version() + 1,
//                          {{"reception_centre/pag-asa", pagasa_seal_pub}}, me));
//   // reader, after OpenSealed:
//   CONCORD_RETURN_IF_ERROR(VerifyRecord(resp.record(), resp.case_(), requested, author_pub));
//   CONCORD_ASSIGN_OR_RETURN(v1::PersonalRecord opened,
//       OpenPersonalRecord(resp.record(), case_id, "reception_centre/pag-asa", my_seal_key));
//
// Thread safety: thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/referrals/record_signature.h"
#include "common/crypto/ed25519.h"
#include "common/crypto/x25519.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals::client {

namespace v1 = ::concord::referrals::v1;

/// Prefix of the sealed record's additional authenticated data. MUST equal
/// kSealedRecordAadPrefix in services/referrals/validation.h (clients do not link services/;
/// the unit test pins the value).
inline constexpr std::string_view kSealedRecordAadPrefix = "concord-referral-record-v1|";

/// "concord-referral-record-v1|" + case_id.
std::string SealedRecordAad(std::string_view case_id);

/// An agency the record is sealed to: its key "<type>/<id>" and its directory sealing key.
struct RecordRecipient {
  std::string agency_key;
  crypto::X25519PublicKey sealing_key;
};

/// The agency that writes a box (the one whose certificate makes the call that stores it) and
/// its Ed25519 signing key (the private half of the key registered in the directory).
struct RecordAuthor {
  ::concord::common::v1::AgencyId agency;  // complete: trust domain, type, id
  crypto::Ed25519PrivateKey signing_key;
};

/// Seals `record` for `case_id` to every recipient (1..8, distinct) and signs it as `version`
/// of the record (the version the write creates: Case.sealed_record_version + 1) by `author`:
/// version, author and signature are set; created_at is left to the server. INVALID_ARGUMENT
/// for an empty case id, a version < 1, an incomplete author, no recipient, too many or
/// duplicate recipients.
StatusOr<v1::SealedRecord> SealPersonalRecord(const v1::PersonalRecord& record,
                                              std::string_view case_id, int64_t version,
                                              const std::vector<RecordRecipient>& recipients,
                                              const RecordAuthor& author);

/// Opens `sealed` as agency `me_key` ("<type>/<id>") with its X25519 private key.
///   NOT_FOUND: the record is not sealed to `me_key`;
///   DATA_LOSS: any altered byte, another case's record, or the wrong key;
///   INVALID_ARGUMENT: a malformed box, or a plaintext that is not a PersonalRecord.
StatusOr<v1::PersonalRecord> OpenPersonalRecord(const v1::SealedRecord& sealed,
                                                std::string_view case_id, std::string_view me_key,
                                                const crypto::X25519PrivateKey& key);

/// Prefix of a sealed note's additional authenticated data (the contract in referrals.proto,
/// TransitionRequest.sealed_note; the server never opens notes): a note box cannot be opened as a
/// record, nor moved to another case.
inline constexpr std::string_view kSealedNoteAadPrefix = "concord-referral-note-v1|";

/// Longest note text sealed (characters, i.e. Unicode code points).
inline constexpr size_t kMaxSealedNoteChars = 4000;

/// Seals the UTF-8 `text` of a transition note (TransitionRequest.sealed_note) for `case_id` to
/// `recipients` (1..8, distinct; the server accepts only parties of the case) and signs it as
/// the note of the history entry `version` (the case version the transition creates:
/// Case.version + 1) by `author`. INVALID_ARGUMENT for empty text, text over
/// kMaxSealedNoteChars or not UTF-8, an empty case id, a version < 1, an incomplete author, or
/// bad recipients.
StatusOr<v1::SealedRecord> SealNote(std::string_view text, std::string_view case_id,
                                    int64_t version, const std::vector<RecordRecipient>& recipients,
                                    const RecordAuthor& author);

/// Opens a sealed note (HistoryEntry.sealed_note); errors as OpenPersonalRecord.
StatusOr<std::string> OpenNote(const v1::SealedRecord& sealed, std::string_view case_id,
                               std::string_view me_key, const crypto::X25519PrivateKey& key);

/// ErrorInfo reasons of the readers' checks (besides UNSIGNED and BAD_SIGNATURE).
inline constexpr std::string_view kReasonWrongVersion = "WRONG_VERSION";
inline constexpr std::string_view kReasonAuthorNotAParty = "AUTHOR_NOT_A_PARTY";

/// What a reader checks on a record returned by OpenSealed (`stored`, with the case `c` of the
/// same response; `requested_version` as asked, 0 = the latest), before trusting or opening it:
///   DATA_LOSS, reason WRONG_VERSION: the record is not the version asked for (the latest is
///     c.sealed_record_version()): an older version put back under a newer number;
///   DATA_LOSS, reason AUTHOR_NOT_A_PARTY: the latest version's author is not the referring
///     agency, the receiving centre or the magistrate of the case (an earlier version may come
///     from an earlier party, e.g. the magistrate before a new one was assigned);
///   then VerifySealedBox(kRecord): FAILED_PRECONDITION UNSIGNED / DATA_LOSS BAD_SIGNATURE.
/// `author_key` is the directory signing key of stored.author().
Status VerifyRecord(const v1::SealedRecord& stored, const v1::Case& c, int64_t requested_version,
                    const crypto::Ed25519PublicKey& author_key);

/// What a reader checks on the sealed note of a history entry of `case_id`: the note's version
/// is the entry's version and its author the entry's actor (DATA_LOSS, reason WRONG_VERSION /
/// AUTHOR_NOT_A_PARTY: a note moved from another entry), then VerifySealedBox(kNote).
/// `author_key` is the directory signing key of entry.actor().
Status VerifyNote(const v1::HistoryEntry& entry, std::string_view case_id,
                  const crypto::Ed25519PublicKey& author_key);

/// Prefixes of the additional authenticated data of the other boxes (referrals.proto
/// TransitionRequest.sealed_identity / sealed_guardian).
inline constexpr std::string_view kDocumentIdentityAadPrefix = "concord-referral-identity-v1|";
inline constexpr std::string_view kGuardianAadPrefix = "concord-referral-guardian-v1|";

/// Longest field of a personal record, a document identity or a guardian (characters); notes:
/// kMaxSealedNoteChars; languages: at most 10 ISO 639-1 codes.
inline constexpr size_t kMaxRecordFieldChars = 200;

/// INVALID_ARGUMENT naming the field (`record.<field>`) when a field of `record` is too long or
/// not UTF-8, or its languages are more than 10 or not ISO 639-1 shaped (two lower-case letters).
/// SealPersonalRecord checks it first.
Status PersonalRecordProblems(const v1::PersonalRecord& record);

/// Seals the identity fields a document needs (REQUEST_DOCUMENT: TransitionRequest.
/// sealed_identity) for `case_id` to `recipients` (the Immigration Office of the request) and
/// signs it as the box of the history entry `version` (Case.version + 1). INVALID_ARGUMENT as
/// SealNote, and for a field over kMaxRecordFieldChars.
StatusOr<v1::SealedRecord> SealDocumentIdentity(const v1::DocumentIdentity& identity,
                                                std::string_view case_id, int64_t version,
                                                const std::vector<RecordRecipient>& recipients,
                                                const RecordAuthor& author);
StatusOr<v1::DocumentIdentity> OpenDocumentIdentity(const v1::SealedRecord& sealed,
                                                    std::string_view case_id,
                                                    std::string_view me_key,
                                                    const crypto::X25519PrivateKey& key);

/// Seals a guardian's identity (RECORD_GUARDIAN: TransitionRequest.sealed_guardian) to the
/// centre and the Guardianship Service, signed as the box of the history entry `version`.
StatusOr<v1::SealedRecord> SealGuardian(const v1::GuardianRecord& guardian,
                                        std::string_view case_id, int64_t version,
                                        const std::vector<RecordRecipient>& recipients,
                                        const RecordAuthor& author);
StatusOr<v1::GuardianRecord> OpenGuardian(const v1::SealedRecord& sealed, std::string_view case_id,
                                          std::string_view me_key,
                                          const crypto::X25519PrivateKey& key);

/// What a reader checks on a document identity or guardian box returned by OpenSealed (`stored`,
/// with the case `c` of the same response; `requested_version` as asked, 0 = the latest): its
/// version is the one asked for (the latest: c.document_identity_version() /
/// c.guardian_version()), else DATA_LOSS WRONG_VERSION; the latest box's author may write it (a
/// document identity: the receiving centre or the Guardianship Service; a guardian: the
/// Guardianship Service or the centre), else DATA_LOSS AUTHOR_NOT_A_PARTY; then
/// VerifySealedBox. `kind` is kDocumentIdentity or kGuardian.
Status VerifyCaseBox(SealedKind kind, const v1::SealedRecord& stored, const v1::Case& c,
                     int64_t requested_version, const crypto::Ed25519PublicKey& author_key);

/// The agency keys `sealed` is sealed to, in order.
std::vector<std::string> RecordRecipientKeys(const v1::SealedRecord& sealed);

}  // namespace concord::referrals::client
