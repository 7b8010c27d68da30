// Tests of services/referrals/validation.h: field-by-field problems with exact field paths.
#include "services/referrals/validation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

// A save of a stored draft (a record is bound to its case id, so only a saved draft carries one).
v1::SaveDraftRequest CompleteRequest() {
  v1::SaveDraftRequest r;
  r.set_case_id("ref-aaaaaaaaaaaaaaaaaaaaaaaaaa");
  r.set_expected_version(1);
  *r.mutable_attributes() = CompleteAttributes();
  *r.mutable_receiving_centre() = AgencyIdToProto(CentreA());
  *r.mutable_magistrate() = AgencyIdToProto(Magistrate());
  *r.mutable_sealed_record() = Sealed({CentreA().Key(), Magistrate().Key()});
  r.set_case_reference("BR.12.LL.123456/2024");
  return r;
}

TEST(FormatProblems, CompleteAndEmptyDraftsAreWellFormed) {
  EXPECT_THAT(FormatProblems(CompleteRequest()), IsEmpty());
  EXPECT_THAT(FormatProblems(v1::SaveDraftRequest{}), IsEmpty());
}

TEST(FormatProblems, ANewDraftCarriesNoRecordYet) {
  v1::SaveDraftRequest r = CompleteRequest();
  r.clear_case_id();
  r.set_expected_version(0);
  EXPECT_THAT(Fields(FormatProblems(r)), ElementsAre("sealed_record"));
}

TEST(FormatProblems, AttributesFieldByField) {
  v1::SaveDraftRequest r = CompleteRequest();
  v1::CaseAttributes& a = *r.mutable_attributes();
  a.add_exploitation_forms(v1::EXPLOITATION_FORM_UNSPECIFIED);      // [1]
  a.add_exploitation_forms(v1::EXPLOITATION_FORM_SEXUAL);           // [2] duplicate
  a.add_exploitation_forms(static_cast<v1::ExploitationForm>(77));  // [3] unknown
  a.set_origin_country("ng");
  a.set_origin_region("Edo");  // free sub-national text: refused
  a.set_age_band(static_cast<v1::AgeBand>(42));
  a.set_gender_category(static_cast<v1::GenderCategory>(42));
  a.add_languages("en");  // personal data: the sealed record
  a.set_region("Brussels");
  a.set_nationality_class(static_cast<v1::NationalityClass>(42));
  EXPECT_THAT(
      Fields(FormatProblems(r)),
      ElementsAre("attributes.exploitation_forms[1]", "attributes.exploitation_forms[2]",
                  "attributes.exploitation_forms[3]", "attributes.origin_country",
                  "attributes.origin_region", "attributes.age_band", "attributes.gender_category",
                  "attributes.languages", "attributes.region", "attributes.nationality_class"));
}

// Gender identity and trans experience are recorded apart (recommendation 2024/8): the old
// TRANSGENDER category is refused on every write.
TEST(FormatProblems, TransgenderCategoryIsRefused) {
  v1::SaveDraftRequest r = CompleteRequest();
  r.mutable_attributes()->set_gender_category(v1::GENDER_CATEGORY_TRANSGENDER);
  EXPECT_THAT(Fields(FormatProblems(r)), ElementsAre("attributes.gender_category"));
  for (v1::GenderCategory g :
       {v1::GENDER_CATEGORY_WOMAN, v1::GENDER_CATEGORY_MAN, v1::GENDER_CATEGORY_NON_BINARY,
        v1::GENDER_CATEGORY_OTHER, v1::GENDER_CATEGORY_NOT_ASKED, v1::GENDER_CATEGORY_DECLINED}) {
    r.mutable_attributes()->set_gender_category(g);
    EXPECT_THAT(FormatProblems(r), IsEmpty()) << g;
  }
}

TEST(FormatProblems, RegionIsABelgianProvinceOrRegion) {
  v1::SaveDraftRequest r = CompleteRequest();
  for (const char* code : {"BE-BRU", "BE-VLG", "BE-WAL", "BE-VOV", "BE-WHT", "BE-WLX"}) {
    r.mutable_attributes()->set_region(code);
    EXPECT_THAT(FormatProblems(r), IsEmpty()) << code;
  }
  for (const char* code : {"NL-NH", "BE", "be-bru", "BE-XXX"}) {
    r.mutable_attributes()->set_region(code);
    EXPECT_THAT(Fields(FormatProblems(r)), ElementsAre("attributes.region")) << code;
  }
}

TEST(FormatProblems, CountryAndLanguageCodesAreIsoCodes) {
  EXPECT_TRUE(IsCountryCode("NG"));
  EXPECT_TRUE(IsCountryCode("BR"));
  EXPECT_TRUE(IsCountryCode("XK"));
  EXPECT_FALSE(IsCountryCode("ZZ"));
  EXPECT_FALSE(IsCountryCode("N"));
  EXPECT_FALSE(IsCountryCode("G "));
  EXPECT_TRUE(IsLanguageCode("es"));
  EXPECT_TRUE(IsLanguageCode("pt"));
  EXPECT_TRUE(IsLanguageCode("ti"));
  EXPECT_FALSE(IsLanguageCode("qq"));
  EXPECT_FALSE(IsLanguageCode("e"));
}

TEST(SuggestProblems, LanguagesAndSupportNeeds) {
  v1::SuggestCentresRequest r;
  r.add_languages("ES");  // [0] upper case
  r.add_languages("en");
  r.add_languages("en");  // [2] duplicate
  r.add_support_needs("gender_diversity");
  r.add_support_needs("Minors!");  // [1]
  EXPECT_THAT(Fields(SuggestProblems(r)),
              ElementsAre("languages[0]", "languages[2]", "support_needs[1]"));
  r.clear_languages();
  for (const char* l : {"en", "fr", "nl", "de", "es", "pt", "ar", "ti", "ro", "bg", "ru"}) {
    r.add_languages(l);
  }
  r.clear_support_needs();
  EXPECT_THAT(Fields(SuggestProblems(r)), ElementsAre("languages"));
}

TEST(FormatProblems, AgenciesIdsAndReference) {
  v1::SaveDraftRequest r = CompleteRequest();
  *r.mutable_receiving_centre() = AgencyIdToProto(Police());
  r.mutable_magistrate()->set_id("Not Valid");
  r.mutable_magistrate()->set_trust_domain("UPPER");
  r.set_case_id("case-1");
  r.set_expected_version(0);
  r.set_case_reference("ref;drop");
  EXPECT_THAT(Fields(FormatProblems(r)),
              ElementsAre("case_id", "expected_version", "receiving_centre.type", "magistrate.id",
                          "magistrate.trust_domain", "case_reference"));
  v1::SaveDraftRequest fresh;
  fresh.set_expected_version(3);
  EXPECT_THAT(Fields(FormatProblems(fresh)), ElementsAre("expected_version"));
}

TEST(FormatProblems, SealedRecordShape) {
  v1::SaveDraftRequest r = CompleteRequest();
  v1::SealedRecord& s = *r.mutable_sealed_record();
  s.set_nonce("123");
  s.set_ciphertext("short");
  s.mutable_keys(0)->set_recipient("centre");
  s.mutable_keys(1)->set_ephemeral_public("x");
  s.mutable_keys(1)->set_nonce("");
  s.mutable_keys(1)->set_ciphertext(std::string(47, 'c'));
  *s.add_keys() = s.keys(1);
  EXPECT_THAT(
      Fields(FormatProblems(r)),
      ElementsAre("sealed_record.nonce", "sealed_record.ciphertext",
                  "sealed_record.keys[0].recipient", "sealed_record.keys[1].ephemeral_public",
                  "sealed_record.keys[1].nonce", "sealed_record.keys[1].ciphertext",
                  "sealed_record.keys[2].recipient", "sealed_record.keys[2].ephemeral_public",
                  "sealed_record.keys[2].nonce", "sealed_record.keys[2].ciphertext"));
  r.mutable_sealed_record()->clear_keys();
  EXPECT_THAT(Fields(FormatProblems(r)), ::testing::Contains("sealed_record.keys"));
}

TEST(FormatProblems, DescriptionsNeverRepeatTheValue) {
  v1::SaveDraftRequest r = CompleteRequest();
  r.mutable_attributes()->set_origin_region("QQQQ");
  r.set_case_reference("SECRET;");
  for (const auto& p : FormatProblems(r)) {
    EXPECT_EQ(p.description().find("QQQ"), std::string::npos);
    EXPECT_EQ(p.description().find("SECRET"), std::string::npos);
  }
}

TEST(SubmitProblems, CompleteDraftHasNone) {
  EXPECT_THAT(SubmitProblems(CompleteDraft()), IsEmpty());
}

TEST(SubmitProblems, EmptyDraftListsEverythingMissing) {
  v1::Case c;
  c.set_state(v1::CASE_STATE_DETECTED);
  EXPECT_THAT(Fields(SubmitProblems(c)),
              ElementsAre("attributes.exploitation_forms", "attributes.origin_country",
                          "attributes.age_band", "attributes.nationality_class", "receiving_centre",
                          "sealed_record"));
}

// An unaccompanied minor is not an age: a child with a parent is a minor (age band) but not
// unaccompanied; an unaccompanied minor needs a minor (or unknown) age band and a Guardianship
// Service.
TEST(SubmitProblems, UnaccompaniedMinorNeedsAMinorBandAndAGuardianshipService) {
  v1::Case c = CompleteDraft();
  c.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);  // a child with a parent
  EXPECT_THAT(SubmitProblems(c), IsEmpty());
  c.mutable_attributes()->set_unaccompanied_minor(true);
  EXPECT_THAT(Fields(SubmitProblems(c)), ElementsAre("guardianship_service"));
  *c.mutable_guardianship_service() = AgencyIdToProto(Guardianship());
  EXPECT_THAT(SubmitProblems(c), IsEmpty());
  c.mutable_attributes()->set_age_band(v1::AGE_BAND_UNKNOWN);  // age not established
  EXPECT_THAT(SubmitProblems(c), IsEmpty());
  c.mutable_attributes()->set_age_band(v1::AGE_BAND_25_34);
  EXPECT_THAT(Fields(SubmitProblems(c)), ElementsAre("attributes.unaccompanied_minor"));
  c.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
  *c.mutable_guardianship_service() = AgencyIdToProto(Police());
  EXPECT_THAT(Fields(SubmitProblems(c)), ElementsAre("guardianship_service.type"));
}

TEST(SubmitProblems, RecordMustBeSealedToCentreAndMagistrateOnly) {
  v1::Case c = CompleteDraft();
  c.clear_sealed_record_recipients();
  c.add_sealed_record_recipients(CentreA().Key());
  EXPECT_THAT(Fields(SubmitProblems(c)), ElementsAre("sealed_record.keys"));
  c.add_sealed_record_recipients(Magistrate().Key());
  c.add_sealed_record_recipients(Police().Key());
  EXPECT_THAT(Fields(SubmitProblems(c)), ElementsAre("sealed_record.keys"));
  c.clear_magistrate();
  c.clear_sealed_record_recipients();
  c.add_sealed_record_recipients(CentreA().Key());
  EXPECT_THAT(SubmitProblems(c), IsEmpty());
  *c.mutable_receiving_centre() = AgencyIdToProto(Office());
  EXPECT_THAT(Fields(SubmitProblems(c)),
              ElementsAre("receiving_centre.type", "sealed_record.keys", "sealed_record.keys"));
}

TEST(ApplyDraft, ReplacesTheDraftFieldsButNotTheRecord) {
  v1::Case c = CompleteDraft();
  v1::SaveDraftRequest r;
  r.mutable_attributes()->set_origin_country("BR");
  *r.mutable_receiving_centre() = AgencyIdToProto(CentreB());
  r.set_case_reference("AN-2024-0042");
  *r.mutable_sealed_record() = Sealed({CentreB().Key()});
  ApplyDraft(r, c);
  EXPECT_EQ(c.attributes().origin_country(), "BR");
  EXPECT_EQ(c.attributes().origin_world_region(), v1::WORLD_REGION_AMERICAS);  // set by the server
  EXPECT_EQ(c.attributes().region(), "");
  EXPECT_EQ(c.receiving_centre().id(), CentreB().id);
  EXPECT_FALSE(c.has_magistrate());
  EXPECT_EQ(c.case_reference(), "AN-2024-0042");
  EXPECT_EQ(c.sealed_record_version(), 1);  // AttachSealedRecord does that
  EXPECT_EQ(c.subject_ref(), CompleteDraft().subject_ref());
}

TEST(SealedRecord, StampAndAttach) {
  v1::Case c = CompleteDraft();
  const v1::SealedRecord stamped =
      StampSealedRecord(Sealed({CentreA().Key(), Magistrate().Key()}), 2, Police(), T0());
  EXPECT_EQ(stamped.version(), 2);
  EXPECT_EQ(stamped.author().id(), Police().id);
  EXPECT_EQ(FromProtoTime(stamped.created_at()), T0());
  AttachSealedRecord(stamped, c);
  EXPECT_EQ(c.sealed_record_version(), 2);
  EXPECT_THAT(c.sealed_record_recipients(), ElementsAre(CentreA().Key(), Magistrate().Key()));
  EXPECT_EQ(SealedRecordAad(c.case_id()), "concord-referral-record-v1|" + c.case_id());
}

TEST(ProblemsToStatus, CarriesTheFieldPaths) {
  v1::FieldProblem p;
  p.set_field("attributes.languages[1]");
  p.set_description("must be an ISO 639-1 language code in lower case");
  const Status s = ProblemsToStatus("invalid draft", {p});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(FieldViolationsOf(s).size(), 1u);
  EXPECT_EQ(FieldViolationsOf(s)[0].field, "attributes.languages[1]");
  EXPECT_TRUE(ProblemsToStatus("x", {}).ok());
}

// The write-side signature check: present, for the version the write creates, by the caller, and
// verifying under the caller's directory key (CheckBoxSignature).
TEST(BoxSignature, MustBeTheCallersForTheVersionTheWriteCreates) {
  const std::string case_id = "ref-aaaaaaaaaaaaaaaaaaaaaaaaaa";
  const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  v1::SealedRecord box = Sealed({CentreA().Key()});
  ASSERT_TRUE(client::SignSealedBox(client::SealedKind::kRecord, case_id, 2,
                                    AgencyIdToProto(CentreA()), key, box)
                  .ok());
  const v1::SealedRecord stamped = StampSealedRecord(box, 2, CentreA(), T0());
  const auto check = [&](const v1::SealedRecord& from_client, const v1::SealedRecord& as_stored,
                         const crypto::Ed25519PublicKey& pub) {
    return CheckBoxSignature(from_client, as_stored, client::SealedKind::kRecord, case_id, pub,
                             "sealed_record");
  };
  EXPECT_TRUE(check(box, stamped, key.PublicKey()).ok());
  // The client may leave version and author to the server: the signature still covers them.
  v1::SealedRecord bare = box;
  bare.clear_version();
  bare.clear_author();
  EXPECT_TRUE(check(bare, StampSealedRecord(bare, 2, CentreA(), T0()), key.PublicKey()).ok());

  const auto expect = [](const Status& st, std::string_view field, std::string_view reason) {
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    ASSERT_EQ(FieldViolationsOf(st).size(), 1u) << st;
    EXPECT_EQ(FieldViolationsOf(st)[0].field, field);
    EXPECT_EQ(ReasonOf(st), reason);
  };
  v1::SealedRecord unsigned_box = box;
  unsigned_box.clear_signature();
  expect(check(unsigned_box, StampSealedRecord(unsigned_box, 2, CentreA(), T0()), key.PublicKey()),
         "sealed_record.signature", "SIGNATURE_REQUIRED");
  // Signed for version 2, but this write creates version 3.
  expect(check(box, StampSealedRecord(box, 3, CentreA(), T0()), key.PublicKey()),
         "sealed_record.version", "BAD_SIGNATURE");
  // Signed as centre A, sent by centre B.
  expect(check(box, StampSealedRecord(box, 2, CentreB(), T0()), key.PublicKey()),
         "sealed_record.author", "BAD_SIGNATURE");
  // Another agency's key (the caller's directory key does not match), or an altered byte.
  expect(check(box, stamped, crypto::Ed25519PrivateKey::Generate().PublicKey()),
         "sealed_record.signature", "BAD_SIGNATURE");
  v1::SealedRecord altered = box;
  (*altered.mutable_ciphertext())[3] ^= 0x01;
  expect(check(altered, StampSealedRecord(altered, 2, CentreA(), T0()), key.PublicKey()),
         "sealed_record.signature", "BAD_SIGNATURE");
}

}  // namespace
}  // namespace concord::referrals
