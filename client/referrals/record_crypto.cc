#include "client/referrals/record_crypto.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/seal.h"
#include "common/status/status_macros.h"

namespace concord::referrals::client {
namespace {

// Same limit as the server (services/referrals/validation.h kMaxSealedRecipients).
constexpr size_t kMaxRecipients = 8;

}  // namespace

std::string SealedRecordAad(std::string_view case_id) {
  return std::string(kSealedRecordAadPrefix) + std::string(case_id);
}

StatusOr<v1::SealedRecord> SealPersonalRecord(const v1::PersonalRecord& record,
                                              std::string_view case_id,
                                              const std::vector<RecordRecipient>& recipients) {
  if (case_id.empty()) {
    return InvalidArgumentWithFields("cannot seal the personal record",
                                     {{"case_id", "required: the record is bound to its case"}});
  }
  if (recipients.empty() || recipients.size() > kMaxRecipients) {
    return InvalidArgumentWithFields(
        "cannot seal the personal record",
        {{"recipients", absl::StrCat("1..", kMaxRecipients, " agencies")}});
  }
  std::set<std::string> seen;
  std::vector<std::pair<std::string, crypto::X25519PublicKey>> to;
  for (const RecordRecipient& r : recipients) {
    if (!seen.insert(r.agency_key).second) {
      return InvalidArgumentWithFields("cannot seal the personal record",
                                       {{"recipients", "duplicate agency " + r.agency_key}});
    }
    to.emplace_back(r.agency_key, r.sealing_key);
  }
  std::string plaintext;
  if (!record.SerializeToString(&plaintext)) {
    return absl::InternalError("cannot serialize the personal record");
  }
  CONCORD_ASSIGN_OR_RETURN(crypto::SealedBox box,
                           crypto::Seal(plaintext, to, SealedRecordAad(case_id)));
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

StatusOr<v1::PersonalRecord> OpenPersonalRecord(const v1::SealedRecord& sealed,
                                                std::string_view case_id, std::string_view me_key,
                                                const crypto::X25519PrivateKey& key) {
  crypto::SealedBox box;
  box.nonce = sealed.nonce();
  box.ciphertext = sealed.ciphertext();
  for (const v1::WrappedKey& w : sealed.keys()) {
    box.keys.push_back(
        crypto::WrappedKey{w.recipient(), w.ephemeral_public(), w.nonce(), w.ciphertext()});
  }
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext,
                           crypto::Open(box, me_key, key, SealedRecordAad(case_id)));
  v1::PersonalRecord record;
  if (!record.ParseFromString(plaintext)) {
    return absl::InvalidArgumentError("the opened record is not a PersonalRecord");
  }
  return record;
}

std::vector<std::string> RecordRecipientKeys(const v1::SealedRecord& sealed) {
  std::vector<std::string> out;
  for (const v1::WrappedKey& w : sealed.keys()) out.push_back(w.recipient());
  return out;
}

}  // namespace concord::referrals::client
