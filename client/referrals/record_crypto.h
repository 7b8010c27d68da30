// File: client/referrals/record_crypto.h
//
// The sealed personal record of a referral case, on the agency side. The record (name, date of
// birth, nationality, contact, consent, notes) is serialized and sealed HERE, in the client, to
// the receiving centre and the competent magistrate only (common/crypto/seal.h: one content key
// wrapped per recipient X25519 key from the directory); the server stores the sealed box and
// never sees the plaintext. The additional authenticated data binds a box to its case:
// "concord-referral-record-v1|" + case_id, so a box cannot be replayed onto another case.
//
//   CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box,
//       SealPersonalRecord(record, case_id, {{"reception_centre/pag-asa", pagasa_seal_pub}}));
//   CONCORD_ASSIGN_OR_RETURN(v1::PersonalRecord opened,
//       OpenPersonalRecord(box, case_id, "reception_centre/pag-asa", my_seal_key));
//
// Thread safety: thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

/// Seals `record` for `case_id` to every recipient (1..8, distinct). The server fields of the
/// result (version, author, created_at) are left unset. INVALID_ARGUMENT for an empty case id,
/// no recipient, too many or duplicate recipients.
StatusOr<v1::SealedRecord> SealPersonalRecord(const v1::PersonalRecord& record,
                                              std::string_view case_id,
                                              const std::vector<RecordRecipient>& recipients);

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
/// `recipients` (1..8, distinct; the server accepts only parties of the case).
/// INVALID_ARGUMENT for empty text, text over kMaxSealedNoteChars or not UTF-8, an empty case
/// id, or bad recipients.
StatusOr<v1::SealedRecord> SealNote(std::string_view text, std::string_view case_id,
                                    const std::vector<RecordRecipient>& recipients);

/// Opens a sealed note (HistoryEntry.sealed_note); errors as OpenPersonalRecord.
StatusOr<std::string> OpenNote(const v1::SealedRecord& sealed, std::string_view case_id,
                               std::string_view me_key, const crypto::X25519PrivateKey& key);

/// The agency keys `sealed` is sealed to, in order.
std::vector<std::string> RecordRecipientKeys(const v1::SealedRecord& sealed);

}  // namespace concord::referrals::client
