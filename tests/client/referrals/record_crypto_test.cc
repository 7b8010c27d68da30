#include "client/referrals/record_crypto.h"

#include <gtest/gtest.h>

namespace concord::referrals::client {
namespace {

constexpr std::string_view kCase = "ref-abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kCentre = "reception_centre/pag-asa";
constexpr std::string_view kMagistrate = "magistrate/parquet-bruxelles-thb";

v1::PersonalRecord SampleRecord() {
  v1::PersonalRecord r;
  r.set_full_name("Maria Test-Person");
  r.set_date_of_birth("1999-04-01");
  r.set_nationality("BR");
  r.set_gender_identity("trans woman");
  r.add_languages("pt");
  r.add_languages("es");
  r.set_contact("+32 470 00 00 00");
  r.set_consent_given(true);
  r.set_notes("met at the station");
  return r;
}

class RecordCryptoTest : public ::testing::Test {
 protected:
  crypto::X25519PrivateKey centre_ = crypto::X25519PrivateKey::Generate();
  crypto::X25519PrivateKey magistrate_ = crypto::X25519PrivateKey::Generate();
  crypto::X25519PrivateKey police_ = crypto::X25519PrivateKey::Generate();

  v1::SealedRecord Sealed() {
    auto sealed = SealPersonalRecord(SampleRecord(), kCase,
                                     {{std::string(kCentre), centre_.PublicKey()},
                                      {std::string(kMagistrate), magistrate_.PublicKey()}});
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }
};

TEST(SealedRecordAadTest, MatchesTheServerConstant) {
  // services/referrals/validation.h kSealedRecordAadPrefix; also proto SealedRecord.ciphertext.
  EXPECT_EQ(kSealedRecordAadPrefix, "concord-referral-record-v1|");
  EXPECT_EQ(SealedRecordAad("ref-x"), "concord-referral-record-v1|ref-x");
}

TEST_F(RecordCryptoTest, RoundTripForEveryRecipient) {
  const v1::SealedRecord sealed = Sealed();
  EXPECT_EQ(RecordRecipientKeys(sealed),
            (std::vector<std::string>{std::string(kCentre), std::string(kMagistrate)}));
  EXPECT_EQ(sealed.nonce().size(), 12u);
  EXPECT_EQ(sealed.keys(0).ciphertext().size(), 48u);
  EXPECT_EQ(sealed.version(), 0);
  for (const auto& [key, priv] : {std::pair{kCentre, &centre_}, {kMagistrate, &magistrate_}}) {
    auto opened = OpenPersonalRecord(sealed, kCase, key, *priv);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->SerializeAsString(), SampleRecord().SerializeAsString());
  }
}

TEST_F(RecordCryptoTest, CiphertextHoldsNoPlaintext) {
  const std::string bytes = Sealed().SerializeAsString();
  EXPECT_EQ(bytes.find("Maria"), std::string::npos);
  EXPECT_EQ(bytes.find("+32 470"), std::string::npos);
}

TEST_F(RecordCryptoTest, NonRecipientCannotOpen) {
  const v1::SealedRecord sealed = Sealed();
  auto as_police = OpenPersonalRecord(sealed, kCase, "police/pz-brussels-capital", police_);
  EXPECT_EQ(as_police.status().code(), absl::StatusCode::kNotFound);
  // Claiming the centre's entry with another key does not work either.
  auto stolen_entry = OpenPersonalRecord(sealed, kCase, kCentre, police_);
  EXPECT_EQ(stolen_entry.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RecordCryptoTest, TamperedByteIsDataLoss) {
  const v1::SealedRecord sealed = Sealed();
  for (int field = 0; field < 3; ++field) {
    v1::SealedRecord t = sealed;
    std::string* bytes = field == 0   ? t.mutable_ciphertext()
                         : field == 1 ? t.mutable_nonce()
                                      : t.mutable_keys(0)->mutable_ciphertext();
    (*bytes)[bytes->size() / 2] ^= 0x01;
    auto opened = OpenPersonalRecord(t, kCase, kCentre, centre_);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << "field " << field;
  }
}

TEST_F(RecordCryptoTest, BoundToItsCase) {
  auto opened = OpenPersonalRecord(Sealed(), "ref-another-case-aaaaaaaaaaaaaa", kCentre, centre_);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RecordCryptoTest, RefusesBadArguments) {
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), "", {{std::string(kCentre), centre_.PublicKey()}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase,
                               {{std::string(kCentre), centre_.PublicKey()},
                                {std::string(kCentre), magistrate_.PublicKey()}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SealedNoteAadTest, MatchesTheServerConstant) {
  // The contract of proto TransitionRequest.sealed_note (agency systems seal with it).
  EXPECT_EQ(kSealedNoteAadPrefix, "concord-referral-note-v1|");
}

TEST_F(RecordCryptoTest, NoteRoundTripAndBoundToNotesOfItsCase) {
  const std::string text = "Sie hat Angst vor dem Arbeitgeber — 12 h/Tag, Pass einbehalten.";
  auto note = SealNote(text, kCase,
                       {{std::string(kCentre), centre_.PublicKey()},
                        {std::string(kMagistrate), magistrate_.PublicKey()}});
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->ciphertext().find("Arbeitgeber"), std::string::npos);
  auto opened = OpenNote(*note, kCase, kMagistrate, magistrate_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, text);
  EXPECT_EQ(OpenNote(*note, kCase, "police/pz-brussels", police_).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(OpenNote(*note, "ref-another-case-aaaaaaaaaaaaaa", kCentre, centre_).status().code(),
            absl::StatusCode::kDataLoss);
  // A note is not a record and a record is not a note (different additional data).
  EXPECT_EQ(OpenPersonalRecord(*note, kCase, kCentre, centre_).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenNote(Sealed(), kCase, kCentre, centre_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(RecordCryptoTest, NoteRefusesBadText) {
  const std::vector<RecordRecipient> to = {{std::string(kCentre), centre_.PublicKey()}};
  EXPECT_EQ(SealNote("", kCase, to).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("bad \xff utf-8", kCase, to).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SealNote(std::string(kMaxSealedNoteChars, 'x'), kCase, to).ok());
  EXPECT_EQ(SealNote(std::string(kMaxSealedNoteChars + 1, 'x'), kCase, to).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("text", "", to).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("text", kCase, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::referrals::client
