#include "client/referrals/record_crypto.h"

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/seal.h"
#include "common/identity/agency_id.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace concord::referrals::client {
namespace {

// Same limit as the server (services/referrals/validation.h kMaxSealedRecipients).
constexpr size_t kMaxRecipients = 8;

// Same agency: type and id equal, and trust domains equal when both are given (a stored
// party may omit the local trust domain).
bool SameAgencyId(const ::concord::common::v1::AgencyId& a,
                  const ::concord::common::v1::AgencyId& b) {
  return !a.id().empty() && a.type() != ::concord::common::v1::AGENCY_TYPE_UNSPECIFIED &&
         a.type() == b.type() && a.id() == b.id() &&
         (a.trust_domain().empty() || b.trust_domain().empty() ||
          a.trust_domain() == b.trust_domain());
}

// "<type>/<id>" for messages ("an unnamed agency" when incomplete).
std::string AgencyText(const ::concord::common::v1::AgencyId& a) {
  StatusOr<AgencyType> type = AgencyTypeFromProto(a.type());
  if (!type.ok() || a.id().empty()) return "an unnamed agency";
  return absl::StrCat(std::string(AgencyTypeName(*type)), "/", a.id());
}

std::string NoteAad(std::string_view case_id) {
  return std::string(kSealedNoteAadPrefix) + std::string(case_id);
}

std::string IdentityAad(std::string_view case_id) {
  return std::string(kDocumentIdentityAadPrefix) + std::string(case_id);
}

std::string GuardianAad(std::string_view case_id) {
  return std::string(kGuardianAadPrefix) + std::string(case_id);
}

// A text field of a sealed plaintext: UTF-8, at most `max` characters.
void CheckText(std::string_view field, std::string_view value, size_t max, FieldErrors& errors) {
  const std::optional<size_t> chars = ::concord::text::Utf8CodePoints(value);
  if (!chars.has_value() || *chars > max) {
    errors.Add(std::string(field), absl::StrCat("at most ", max, " characters of UTF-8 text"));
  }
}

template <typename Message>
StatusOr<std::string> Serialize(const Message& m, std::string_view what) {
  std::string out;
  if (!m.SerializeToString(&out)) {
    return absl::InternalError(absl::StrCat("cannot serialize ", std::string(what)));
  }
  return out;
}

// Seals `plaintext` (what = "the personal record" / "the note", for errors) with `aad`.
StatusOr<v1::SealedRecord> SealBox(std::string_view what, const std::string& plaintext,
                                   std::string_view case_id, const std::string& aad,
                                   const std::vector<RecordRecipient>& recipients) {
  const std::string refused = absl::StrCat("cannot seal ", std::string(what));
  if (case_id.empty()) {
    return InvalidArgumentWithFields(refused,
                                     {{"case_id", "required: the box is bound to its case"}});
  }
  if (recipients.empty() || recipients.size() > kMaxRecipients) {
    return InvalidArgumentWithFields(
        refused, {{"recipients", absl::StrCat("1..", kMaxRecipients, " agencies")}});
  }
  std::set<std::string> seen;
  std::vector<std::pair<std::string, crypto::X25519PublicKey>> to;
  for (const RecordRecipient& r : recipients) {
    if (!seen.insert(r.agency_key).second) {
      return InvalidArgumentWithFields(refused,
                                       {{"recipients", "duplicate agency " + r.agency_key}});
    }
    to.emplace_back(r.agency_key, r.sealing_key);
  }
  CONCORD_ASSIGN_OR_RETURN(crypto::SealedBox box, crypto::Seal(plaintext, to, aad));
  v1::SealedRecord out;
  out.set_nonce(box.nonce);
  out.set_ciphertext(box.ciphertext);
  for (const crypto::WrappedKey& k : box.keys) {
    v1::WrappedKey* w = out.add_keys();
    w->set_recipient(k.recipient);
    w->set_ephemeral_public(k.ephemeral_public);
    w->set_nonce(k.nonce);
    w->set_ciphertext(k.ciphertext);
  }
  return out;
}

StatusOr<std::string> OpenBox(const v1::SealedRecord& sealed, std::string_view me_key,
                              const crypto::X25519PrivateKey& key, const std::string& aad) {
  crypto::SealedBox box;
  box.nonce = sealed.nonce();
  box.ciphertext = sealed.ciphertext();
  for (const v1::WrappedKey& w : sealed.keys()) {
    box.keys.push_back(
        crypto::WrappedKey{w.recipient(), w.ephemeral_public(), w.nonce(), w.ciphertext()});
  }
  return crypto::Open(box, me_key, key, aad);
}

}  // namespace

std::string SealedRecordAad(std::string_view case_id) {
  return std::string(kSealedRecordAadPrefix) + std::string(case_id);
}

Status PersonalRecordProblems(const v1::PersonalRecord& r) {
  FieldErrors errors;
  CheckText("record.full_name", r.full_name(), kMaxRecordFieldChars, errors);
  CheckText("record.date_of_birth", r.date_of_birth(), kMaxRecordFieldChars, errors);
  CheckText("record.nationality", r.nationality(), kMaxRecordFieldChars, errors);
  CheckText("record.gender_identity", r.gender_identity(), kMaxRecordFieldChars, errors);
  CheckText("record.contact", r.contact(), kMaxRecordFieldChars, errors);
  CheckText("record.notes", r.notes(), kMaxSealedNoteChars, errors);
  CheckText("record.pronouns", r.pronouns(), kMaxRecordFieldChars, errors);
  CheckText("record.used_name", r.used_name(), kMaxRecordFieldChars, errors);
  if (r.languages_size() > 10) errors.Add("record.languages", "at most 10 languages");
  for (int i = 0; i < r.languages_size(); ++i) {
    const std::string& l = r.languages(i);
    if (l.size() != 2 || l[0] < 'a' || l[0] > 'z' || l[1] < 'a' || l[1] > 'z') {
      errors.Add(absl::StrCat("record.languages[", i, "]"),
                 "an ISO 639-1 code in lower case (\"es\")");
    }
  }
  return errors.ToStatus("invalid personal record");
}

StatusOr<v1::SealedRecord> SealDocumentIdentity(const v1::DocumentIdentity& identity,
                                                std::string_view case_id, int64_t version,
                                                const std::vector<RecordRecipient>& recipients,
                                                const RecordAuthor& author) {
  FieldErrors errors;
  CheckText("identity.full_name", identity.full_name(), kMaxRecordFieldChars, errors);
  CheckText("identity.date_of_birth", identity.date_of_birth(), kMaxRecordFieldChars, errors);
  CheckText("identity.nationality", identity.nationality(), kMaxRecordFieldChars, errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid document identity"));
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext, Serialize(identity, "the document identity"));
  CONCORD_ASSIGN_OR_RETURN(
      v1::SealedRecord box,
      SealBox("the document identity", plaintext, case_id, IdentityAad(case_id), recipients));
  CONCORD_RETURN_IF_ERROR(SignSealedBox(SealedKind::kDocumentIdentity, case_id, version,
                                        author.agency, author.signing_key, box));
  return box;
}

StatusOr<v1::DocumentIdentity> OpenDocumentIdentity(const v1::SealedRecord& sealed,
                                                    std::string_view case_id,
                                                    std::string_view me_key,
                                                    const crypto::X25519PrivateKey& key) {
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext,
                           OpenBox(sealed, me_key, key, IdentityAad(case_id)));
  v1::DocumentIdentity identity;
  if (!identity.ParseFromString(plaintext)) {
    return absl::InvalidArgumentError("the opened box is not a DocumentIdentity");
  }
  return identity;
}

StatusOr<v1::SealedRecord> SealGuardian(const v1::GuardianRecord& guardian,
                                        std::string_view case_id, int64_t version,
                                        const std::vector<RecordRecipient>& recipients,
                                        const RecordAuthor& author) {
  FieldErrors errors;
  CheckText("guardian.full_name", guardian.full_name(), kMaxRecordFieldChars, errors);
  CheckText("guardian.contact", guardian.contact(), kMaxRecordFieldChars, errors);
  CheckText("guardian.designated_on", guardian.designated_on(), kMaxRecordFieldChars, errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid guardian"));
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext, Serialize(guardian, "the guardian"));
  CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box, SealBox("the guardian", plaintext, case_id,
                                                         GuardianAad(case_id), recipients));
  CONCORD_RETURN_IF_ERROR(SignSealedBox(SealedKind::kGuardian, case_id, version, author.agency,
                                        author.signing_key, box));
  return box;
}

StatusOr<v1::GuardianRecord> OpenGuardian(const v1::SealedRecord& sealed, std::string_view case_id,
                                          std::string_view me_key,
                                          const crypto::X25519PrivateKey& key) {
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext,
                           OpenBox(sealed, me_key, key, GuardianAad(case_id)));
  v1::GuardianRecord guardian;
  if (!guardian.ParseFromString(plaintext)) {
    return absl::InvalidArgumentError("the opened box is not a GuardianRecord");
  }
  return guardian;
}

Status VerifyCaseBox(SealedKind kind, const v1::SealedRecord& stored, const v1::Case& c,
                     int64_t requested_version, const crypto::Ed25519PublicKey& author_key) {
  const bool guardian = kind == SealedKind::kGuardian;
  const int64_t latest = guardian ? c.guardian_version() : c.document_identity_version();
  const int64_t expected = requested_version > 0 ? requested_version : latest;
  const std::string what(SealedKindText(kind));
  if (stored.version() != expected) {
    return WithReason(absl::DataLossError(absl::StrCat(what, " returned for case ", c.case_id(),
                                                       " version ", expected, " is version ",
                                                       stored.version(), ": moved or put back")),
                      kReasonWrongVersion);
  }
  if (stored.version() == latest) {
    const bool writer = SameAgencyId(stored.author(), c.receiving_centre()) ||
                        SameAgencyId(stored.author(), c.guardianship_service());
    if (!writer) {
      return WithReason(
          absl::DataLossError(absl::StrCat(
              what, " of case ", c.case_id(), " names as its author ", AgencyText(stored.author()),
              ", which may not write it: it was not written through Concord")),
          kReasonAuthorNotAParty);
    }
  }
  return VerifySealedBox(kind, c.case_id(), stored, author_key);
}

StatusOr<v1::SealedRecord> SealPersonalRecord(const v1::PersonalRecord& record,
                                              std::string_view case_id, int64_t version,
                                              const std::vector<RecordRecipient>& recipients,
                                              const RecordAuthor& author) {
  CONCORD_RETURN_IF_ERROR(PersonalRecordProblems(record));
  std::string plaintext;
  if (!record.SerializeToString(&plaintext)) {
    return absl::InternalError("cannot serialize the personal record");
  }
  CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box, SealBox("the personal record", plaintext, case_id,
                                                         SealedRecordAad(case_id), recipients));
  CONCORD_RETURN_IF_ERROR(
      SignSealedBox(SealedKind::kRecord, case_id, version, author.agency, author.signing_key, box));
  return box;
}

StatusOr<v1::PersonalRecord> OpenPersonalRecord(const v1::SealedRecord& sealed,
                                                std::string_view case_id, std::string_view me_key,
                                                const crypto::X25519PrivateKey& key) {
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext,
                           OpenBox(sealed, me_key, key, SealedRecordAad(case_id)));
  v1::PersonalRecord record;
  if (!record.ParseFromString(plaintext)) {
    return absl::InvalidArgumentError("the opened record is not a PersonalRecord");
  }
  return record;
}

StatusOr<v1::SealedRecord> SealNote(std::string_view text, std::string_view case_id,
                                    int64_t version, const std::vector<RecordRecipient>& recipients,
                                    const RecordAuthor& author) {
  const std::optional<size_t> chars = ::concord::text::Utf8CodePoints(text);
  if (text.empty() || !chars.has_value() || *chars > kMaxSealedNoteChars) {
    return InvalidArgumentWithFields(
        "cannot seal the note",
        {{"note", absl::StrCat("1..", kMaxSealedNoteChars, " characters of UTF-8 text")}});
  }
  CONCORD_ASSIGN_OR_RETURN(v1::SealedRecord box, SealBox("the note", std::string(text), case_id,
                                                         NoteAad(case_id), recipients));
  CONCORD_RETURN_IF_ERROR(
      SignSealedBox(SealedKind::kNote, case_id, version, author.agency, author.signing_key, box));
  return box;
}

StatusOr<std::string> OpenNote(const v1::SealedRecord& sealed, std::string_view case_id,
                               std::string_view me_key, const crypto::X25519PrivateKey& key) {
  return OpenBox(sealed, me_key, key, NoteAad(case_id));
}

Status VerifyRecord(const v1::SealedRecord& stored, const v1::Case& c, int64_t requested_version,
                    const crypto::Ed25519PublicKey& author_key) {
  const int64_t expected = requested_version > 0 ? requested_version : c.sealed_record_version();
  if (stored.version() != expected) {
    return WithReason(
        absl::DataLossError(absl::StrCat("the sealed record returned for case ", c.case_id(),
                                         " version ", expected, " is version ", stored.version(),
                                         ": an older version put back under a newer number")),
        kReasonWrongVersion);
  }
  if (stored.version() == c.sealed_record_version()) {
    // The latest version is written by a party who keeps the record (docs/referrals.md).
    const bool party = SameAgencyId(stored.author(), c.referring_agency()) ||
                       SameAgencyId(stored.author(), c.receiving_centre()) ||
                       SameAgencyId(stored.author(), c.magistrate());
    if (!party) {
      return WithReason(
          absl::DataLossError(absl::StrCat(
              "the sealed record of case ", c.case_id(), " version ", stored.version(),
              " names as its author ", AgencyText(stored.author()),
              ", which is not a party of the case: it was not written through Concord")),
          kReasonAuthorNotAParty);
    }
  }
  return VerifySealedBox(SealedKind::kRecord, c.case_id(), stored, author_key);
}

Status VerifyNote(const v1::HistoryEntry& entry, std::string_view case_id,
                  const crypto::Ed25519PublicKey& author_key) {
  const v1::SealedRecord& note = entry.sealed_note();
  if (note.version() != entry.version()) {
    return WithReason(
        absl::DataLossError(absl::StrCat(
            "the sealed note of case ", std::string(case_id), " history entry ", entry.version(),
            " is the note of version ", note.version(), ": moved from another entry")),
        kReasonWrongVersion);
  }
  if (!SameAgencyId(note.author(), entry.actor())) {
    return WithReason(
        absl::DataLossError(absl::StrCat(
            "the sealed note of case ", std::string(case_id), " history entry ", entry.version(),
            " names as its author ", AgencyText(note.author()),
            ", not the agency that made the change (", AgencyText(entry.actor()), ")")),
        kReasonAuthorNotAParty);
  }
  return VerifySealedBox(SealedKind::kNote, case_id, note, author_key);
}

std::vector<std::string> RecordRecipientKeys(const v1::SealedRecord& sealed) {
  std::vector<std::string> out;
  for (const v1::WrappedKey& w : sealed.keys()) out.push_back(w.recipient());
  return out;
}

}  // namespace concord::referrals::client
