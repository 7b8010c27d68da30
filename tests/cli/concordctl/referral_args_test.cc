// concordctl referral: enum names both ways, the personal file, attribute flags.
#include "cli/concordctl/referral_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/support/field_violations.h"

namespace concord::ctl {
namespace {

using ::testing::HasSubstr;

// The flag named by the first field violation (every parse error names its flag).
const auto FlagOf = ::concord::testing::FirstViolationField;

TEST(ReferralArgs, EnumNamesRoundTripAndAcceptDashes) {
  for (int v = 1; v <= 9; ++v) {
    const auto form = static_cast<ref::ExploitationForm>(v);
    auto parsed = ParseForm("--form", FormText(form));
    ASSERT_TRUE(parsed.ok()) << FormText(form);
    EXPECT_EQ(*parsed, form);
  }
  EXPECT_EQ(*ParseForm("--form", "Forced-Labour"), ref::EXPLOITATION_FORM_FORCED_LABOUR);
  EXPECT_EQ(*ParseAgeBand("--age-band", "25-34"), ref::AGE_BAND_25_34);
  EXPECT_EQ(*ParseGender("--gender", "non-binary"), ref::GENDER_CATEGORY_NON_BINARY);
  EXPECT_EQ(*ParseDocument("--document", "attestation"),
            ref::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
  EXPECT_EQ(*ParseDocument("--document", "certificate"),
            ref::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  EXPECT_EQ(*ParseCloseReason("--reason", "lost-contact"), ref::CLOSE_REASON_LOST_CONTACT);
  EXPECT_EQ(*ParseState("--state", "registration_certificate"),
            ref::CASE_STATE_REGISTRATION_CERTIFICATE);
  EXPECT_EQ(*ParseTransitionKind("KIND", "refer-elsewhere"), ref::TRANSITION_KIND_REFER_ELSEWHERE);
  EXPECT_EQ(StateText(ref::CASE_STATE_REFERRED), "REFERRED");
  EXPECT_EQ(TransitionText(ref::TRANSITION_KIND_REFER_ELSEWHERE), "REFER_ELSEWHERE");
}

TEST(ReferralArgs, UnknownOrUnspecifiedNamesAreRefusedNamingTheFlag) {
  auto form = ParseForm("--form", "fishing");
  ASSERT_FALSE(form.ok());
  EXPECT_EQ(form.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FlagOf(form.status()), "--form");
  EXPECT_THAT(FieldViolationsOf(form.status()).front().description, HasSubstr("forced_labour"));
  EXPECT_FALSE(ParseForm("--form", "unspecified").ok());
  EXPECT_FALSE(ParseAgeBand("--age-band", "").ok());
  // SUBMIT is its own command (`referral submit`), not a transition KIND.
  auto submit = ParseTransitionKind("KIND", "submit");
  ASSERT_FALSE(submit.ok());
  EXPECT_EQ(FlagOf(submit.status()), "KIND");
}

class PersonalFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("concordctl-personal-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter_++) + ".json");
    std::ofstream(path) << text;
    files_.push_back(path);
    return path.string();
  }
  void TearDown() override {
    for (const auto& f : files_) std::filesystem::remove(f);
  }
  int counter_ = 0;
  std::vector<std::filesystem::path> files_;
};

TEST_F(PersonalFileTest, FillsThePersonalFields) {
  PersonalArgs p;
  ASSERT_TRUE(LoadPersonalFile(Write(R"({"name": "A B", "dob": "1990-01-02", "consent": true,
                                         "contact": "via centre", "notes": "n"})"),
                               p)
                  .ok());
  EXPECT_EQ(p.name, "A B");
  EXPECT_EQ(p.dob, "1990-01-02");
  EXPECT_TRUE(p.consent);
  EXPECT_EQ(p.contact, "via centre");
  EXPECT_TRUE(p.Given());
}

TEST_F(PersonalFileTest, RefusesWithoutEchoingValues) {
  PersonalArgs p;
  Status s = LoadPersonalFile(Write(R"({"nmae": "Secret Person"})"), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nmae"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("Secret Person")));
  s = LoadPersonalFile(Write(R"({"name": 42})"), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = LoadPersonalFile(Write(R"({"consent": "yes"})"), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = LoadPersonalFile(Write("not json"), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = LoadPersonalFile("/nonexistent/personal.json", p);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
}

// --language is personal data: never copied into the clear attributes (it goes in the sealed
// record, or ranks centres in `suggest`).
TEST(ReferralArgs, AttributeFlagsReplaceOnlyWhatIsGiven) {
  ref::CaseAttributes a;
  a.set_origin_country("NG");
  AttributeArgs args;
  args.forms = {"sexual", "begging"};
  args.languages = {"es", "pt"};
  args.nationality_class = "eu-eea";
  args.unaccompanied_minor = 1;
  args.region = "BE-WHT";
  ASSERT_TRUE(ApplyAttributeArgs(args, a).ok());
  EXPECT_EQ(a.origin_country(), "NG");  // not given: unchanged
  EXPECT_EQ(a.languages_size(), 0);     // never a clear attribute
  EXPECT_EQ(a.nationality_class(), ref::NATIONALITY_CLASS_EU_EEA);
  EXPECT_TRUE(a.unaccompanied_minor());
  EXPECT_EQ(a.region(), "BE-WHT");
  ASSERT_EQ(a.exploitation_forms_size(), 2);
  EXPECT_EQ(a.exploitation_forms(1), ref::EXPLOITATION_FORM_BEGGING);
  args.forms = {"fishing"};
  EXPECT_EQ(FlagOf(ApplyAttributeArgs(args, a)), "--form");
}

}  // namespace
}  // namespace concord::ctl
