#include "client/referrals/record_crypto.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::referrals::client {
namespace {

namespace cv1 = ::concord::common::v1;

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

cv1::AgencyId Agency(cv1::AgencyType type, std::string id) {
  cv1::AgencyId a;
  a.set_trust_domain("concord.be");
  a.set_type(type);
  a.set_id(std::move(id));
  return a;
}

class RecordCryptoTest : public ::testing::Test {
 protected:
  crypto::X25519PrivateKey centre_ = crypto::X25519PrivateKey::Generate();
  crypto::X25519PrivateKey magistrate_ = crypto::X25519PrivateKey::Generate();
  crypto::X25519PrivateKey police_ = crypto::X25519PrivateKey::Generate();
  // The writer of the boxes: the referring police unit (a draft) or the centre.
  RecordAuthor police_author_{Agency(cv1::AGENCY_TYPE_POLICE, "pz-brussels-capital"),
                              crypto::Ed25519PrivateKey::Generate()};
  RecordAuthor centre_author_{Agency(cv1::AGENCY_TYPE_RECEPTION_CENTRE, "pag-asa"),
                              crypto::Ed25519PrivateKey::Generate()};

  std::vector<RecordRecipient> Both() const {
    return {{std::string(kCentre), centre_.PublicKey()},
            {std::string(kMagistrate), magistrate_.PublicKey()}};
  }

  v1::SealedRecord Sealed(int64_t version = 1) {
    auto sealed = SealPersonalRecord(SampleRecord(), kCase, version, Both(), police_author_);
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }

  // The case as OpenSealed returns it with a record at `latest`.
  v1::Case Case(int64_t latest) const {
    v1::Case c;
    c.set_case_id(std::string(kCase));
    *c.mutable_referring_agency() = police_author_.agency;
    *c.mutable_receiving_centre() = centre_author_.agency;
    c.set_state(v1::CASE_STATE_ACCEPTED);
    c.set_sealed_record_version(latest);
    return c;
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
  EXPECT_EQ(sealed.version(), 1);
  EXPECT_EQ(sealed.author().id(), "pz-brussels-capital");
  EXPECT_EQ(sealed.signature().size(), 64u);
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
  const std::vector<RecordRecipient> centre = {{std::string(kCentre), centre_.PublicKey()}};
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), "", 1, centre, police_author_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase, 1, {}, police_author_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase, 1,
                               {{std::string(kCentre), centre_.PublicKey()},
                                {std::string(kCentre), magistrate_.PublicKey()}},
                               police_author_)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // A box is signed as a version >= 1, by a complete agency id.
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase, 0, centre, police_author_).status().code(),
            absl::StatusCode::kInvalidArgument);
  RecordAuthor anonymous = police_author_;
  anonymous.agency.clear_trust_domain();
  EXPECT_EQ(SealPersonalRecord(SampleRecord(), kCase, 1, centre, anonymous).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SealedNoteAadTest, MatchesTheServerConstant) {
  // The contract of proto TransitionRequest.sealed_note (agency systems seal with it).
  EXPECT_EQ(kSealedNoteAadPrefix, "concord-referral-note-v1|");
}

TEST_F(RecordCryptoTest, NoteRoundTripAndBoundToNotesOfItsCase) {
  const std::string text = "Sie hat Angst vor dem Arbeitgeber — 12 h/Tag, Pass einbehalten.";
  auto note = SealNote(text, kCase, /*version=*/4, Both(), centre_author_);
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
  const RecordAuthor& me = centre_author_;
  EXPECT_EQ(SealNote("", kCase, 2, to, me).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("bad \xff utf-8", kCase, 2, to, me).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SealNote(std::string(kMaxSealedNoteChars, 'x'), kCase, 2, to, me).ok());
  EXPECT_EQ(SealNote(std::string(kMaxSealedNoteChars + 1, 'x'), kCase, 2, to, me).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("text", "", 2, to, me).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("text", kCase, 2, {}, me).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealNote("text", kCase, 0, to, me).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- signatures ------------------------------------------------------------------------------

// The canonical encoding byte for byte, as docs/crypto.md documents it for implementations in
// other languages: a change here is a wire-format change.
TEST(SealedBoxEncoding, IsTheDocumentedByteString) {
  v1::SealedRecord box;
  box.set_nonce("NNNNNNNNNNNN");  // 12 bytes
  box.set_ciphertext("CT");
  v1::WrappedKey* k = box.add_keys();
  k->set_recipient("reception_centre/pag-asa");
  k->set_ephemeral_public("E");
  k->set_nonce("n");
  k->set_ciphertext("w");
  const cv1::AgencyId author = Agency(cv1::AGENCY_TYPE_POLICE, "pz-x");
  auto bytes = CanonicalSealedBox(SealedKind::kRecord, "ref-1", 3, author, box);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const auto str = [](uint8_t tag, std::string_view v) {
    std::string out(1, static_cast<char>(tag));
    const auto n = static_cast<uint32_t>(v.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
    return out + std::string(v);
  };
  const auto integer = [](uint8_t tag, int64_t v) {
    std::string out(1, static_cast<char>(tag));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> shift));
    }
    return out;
  };
  const std::string expected =
      str(0, "concord.referrals.sealed_record.v1") + str(1, "ref-1") + integer(2, 3) +
      str(3, "spiffe://concord.be/agency/police/pz-x") + str(4, "NNNNNNNNNNNN") + str(5, "CT") +
      integer(6, 1) + str(7, "reception_centre/pag-asa") + str(8, "E") + str(9, "n") + str(10, "w");
  EXPECT_EQ(crypto::HexEncode(*bytes), crypto::HexEncode(expected));
  // The first bytes, literally (docs/crypto.md shows them).
  EXPECT_EQ(crypto::HexEncode(bytes->substr(0, 5)), "0000000022");
  // A note has its own domain string.
  auto note = CanonicalSealedBox(SealedKind::kNote, "ref-1", 3, author, box);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, str(0, "concord.referrals.sealed_note.v1") + expected.substr(39));
}

TEST_F(RecordCryptoTest, SignatureCoversCaseVersionAuthorKindAndEveryByte) {
  const v1::SealedRecord signed_box = Sealed(/*version=*/2);
  const crypto::Ed25519PublicKey key = police_author_.signing_key.PublicKey();
  ASSERT_TRUE(VerifySealedBox(SealedKind::kRecord, kCase, signed_box, key).ok());

  const auto refused = [&](const v1::SealedRecord& box, std::string_view case_id,
                           SealedKind kind = SealedKind::kRecord) {
    const Status st = VerifySealedBox(kind, case_id, box, key);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
    EXPECT_EQ(ReasonOf(st), kReasonBadSignature);
  };
  // Every byte of the box.
  for (int field = 0; field < 6; ++field) {
    v1::SealedRecord t = signed_box;
    std::string* bytes = field == 0   ? t.mutable_nonce()
                         : field == 1 ? t.mutable_ciphertext()
                         : field == 2 ? t.mutable_keys(0)->mutable_recipient()
                         : field == 3 ? t.mutable_keys(0)->mutable_ephemeral_public()
                         : field == 4 ? t.mutable_keys(1)->mutable_nonce()
                                      : t.mutable_keys(1)->mutable_ciphertext();
    (*bytes)[bytes->size() / 2] ^= 0x01;
    SCOPED_TRACE(field);
    refused(t, kCase);
  }
  v1::SealedRecord fewer = signed_box;
  fewer.mutable_keys()->RemoveLast();
  refused(fewer, kCase);
  // Another version number (an older box put back under a newer number), another case, the
  // other kind.
  v1::SealedRecord renumbered = signed_box;
  renumbered.set_version(3);
  refused(renumbered, kCase);
  refused(signed_box, "ref-another-case-aaaaaaaaaaaaaa");
  refused(signed_box, kCase, SealedKind::kNote);
  // Another author named, or another agency's key.
  v1::SealedRecord other_author = signed_box;
  *other_author.mutable_author() = centre_author_.agency;
  refused(other_author, kCase);
  EXPECT_EQ(VerifySealedBox(SealedKind::kRecord, kCase, signed_box,
                            centre_author_.signing_key.PublicKey())
                .code(),
            absl::StatusCode::kDataLoss);
  // No signature: UNSIGNED (FAILED_PRECONDITION), not a forgery.
  v1::SealedRecord unsigned_box = signed_box;
  unsigned_box.clear_signature();
  const Status st = VerifySealedBox(SealedKind::kRecord, kCase, unsigned_box, key);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(st), kReasonUnsigned);
}

TEST_F(RecordCryptoTest, ReaderChecksTheVersionAskedForAndTheLatestAuthor) {
  const crypto::Ed25519PublicKey police_key = police_author_.signing_key.PublicKey();
  const v1::SealedRecord v2 = Sealed(/*version=*/2);
  EXPECT_TRUE(VerifyRecord(v2, Case(/*latest=*/2), /*requested_version=*/0, police_key).ok());
  EXPECT_TRUE(VerifyRecord(v2, Case(/*latest=*/3), /*requested_version=*/2, police_key).ok());
  // Version 2 returned for the latest (3), or for version 3 asked: rolled back.
  Status st = VerifyRecord(v2, Case(3), 0, police_key);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(st), kReasonWrongVersion);
  EXPECT_EQ(ReasonOf(VerifyRecord(v2, Case(3), 3, police_key)), kReasonWrongVersion);
  // The latest version written (and validly signed) by an agency that is no party of the case.
  RecordAuthor stranger{Agency(cv1::AGENCY_TYPE_POLICE, "pz-elsewhere"),
                        crypto::Ed25519PrivateKey::Generate()};
  auto planted = SealPersonalRecord(SampleRecord(), kCase, 2, Both(), stranger);
  ASSERT_TRUE(planted.ok());
  st = VerifyRecord(*planted, Case(2), 0, stranger.signing_key.PublicKey());
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(st), kReasonAuthorNotAParty);
  // The signature itself.
  EXPECT_EQ(ReasonOf(VerifyRecord(v2, Case(2), 0, centre_author_.signing_key.PublicKey())),
            kReasonBadSignature);
}

TEST_F(RecordCryptoTest, ReaderChecksANoteAgainstItsHistoryEntry) {
  auto note = SealNote("declined: no place", kCase, /*version=*/5, Both(), centre_author_);
  ASSERT_TRUE(note.ok());
  v1::HistoryEntry entry;
  entry.set_version(5);
  *entry.mutable_actor() = centre_author_.agency;
  *entry.mutable_sealed_note() = *note;
  const crypto::Ed25519PublicKey key = centre_author_.signing_key.PublicKey();
  EXPECT_TRUE(VerifyNote(entry, kCase, key).ok());
  // Moved to another entry (version or actor), or to another case.
  v1::HistoryEntry moved = entry;
  moved.set_version(7);
  EXPECT_EQ(ReasonOf(VerifyNote(moved, kCase, key)), kReasonWrongVersion);
  moved.mutable_sealed_note()->set_version(7);
  EXPECT_EQ(ReasonOf(VerifyNote(moved, kCase, key)), kReasonBadSignature);
  v1::HistoryEntry other_actor = entry;
  *other_actor.mutable_actor() = police_author_.agency;
  EXPECT_EQ(ReasonOf(VerifyNote(other_actor, kCase, key)), kReasonAuthorNotAParty);
  EXPECT_EQ(ReasonOf(VerifyNote(entry, "ref-another-case-aaaaaaaaaaaaaa", key)),
            kReasonBadSignature);
  // A record is not a note.
  v1::HistoryEntry record_as_note = entry;
  *record_as_note.mutable_sealed_note() = Sealed(5);
  *record_as_note.mutable_actor() = police_author_.agency;
  EXPECT_EQ(ReasonOf(VerifyNote(record_as_note, kCase, police_author_.signing_key.PublicKey())),
            kReasonBadSignature);
}

}  // namespace
}  // namespace concord::referrals::client
