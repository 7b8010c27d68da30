#include "client/referrals/record_crypto.h"

#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/seal.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace concord::referrals::client {
namespace {

// Same limit as the server (services/referrals/validation.h kMaxSealedRecipients).
constexpr size_t kMaxRecipients = 8;

std::string NoteAad(std::string_view case_id) {
  return std::string(kSealedNoteAadPrefix) + std::string(case_id);
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

StatusOr<v1::SealedRecord> SealPersonalRecord(const v1::PersonalRecord& record,
                                              std::string_view case_id,
                                              const std::vector<RecordRecipient>& recipients) {
  std::string plaintext;
  if (!record.SerializeToString(&plaintext)) {
    return absl::InternalError("cannot serialize the personal record");
  }
  return SealBox("the personal record", plaintext, case_id, SealedRecordAad(case_id), recipients);
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
                                    const std::vector<RecordRecipient>& recipients) {
  const std::optional<size_t> chars = ::concord::text::Utf8CodePoints(text);
  if (text.empty() || !chars.has_value() || *chars > kMaxSealedNoteChars) {
    return InvalidArgumentWithFields(
        "cannot seal the note",
        {{"note", absl::StrCat("1..", kMaxSealedNoteChars, " characters of UTF-8 text")}});
  }
  return SealBox("the note", std::string(text), case_id, NoteAad(case_id), recipients);
}

StatusOr<std::string> OpenNote(const v1::SealedRecord& sealed, std::string_view case_id,
                               std::string_view me_key, const crypto::X25519PrivateKey& key) {
  return OpenBox(sealed, me_key, key, NoteAad(case_id));
}

std::vector<std::string> RecordRecipientKeys(const v1::SealedRecord& sealed) {
  std::vector<std::string> out;
  for (const v1::WrappedKey& w : sealed.keys()) out.push_back(w.recipient());
  return out;
}

}  // namespace concord::referrals::client
