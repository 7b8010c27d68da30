// concordctl message: flag parsing and the local checks (handling and evaluation codes, kinds,
// durations, recipients, ids, the send draft, attachment file names, UTF-8).
#include "cli/concordctl/message_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/concordctl/agency_format.h"
#include "tests/support/field_violations.h"

namespace concord::ctl {
namespace {

using ::testing::HasSubstr;

// The flag named by the first field violation (every parse error names its flag).
const auto FlagOf = ::concord::testing::FirstViolationField;

TEST(MessageArgs, HandlingCodes) {
  EXPECT_EQ(*ParseHandlingCode("--handling", "H0"), msg::HANDLING_CODE_H0);
  EXPECT_EQ(*ParseHandlingCode("--handling", "h1"), msg::HANDLING_CODE_H1);
  EXPECT_EQ(*ParseHandlingCode("--handling", "H2"), msg::HANDLING_CODE_H2);
  EXPECT_EQ(*ParseHandlingCode("--handling", "H3"), msg::HANDLING_CODE_H3);
  for (const char* bad : {"", "H4", "H", "2", "H01"}) {
    const auto parsed = ParseHandlingCode("--handling", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(FlagOf(parsed.status()), "--handling");
  }
  EXPECT_EQ(HandlingCodeText(msg::HANDLING_CODE_H2), "H2");
  EXPECT_EQ(HandlingCodeText(msg::HANDLING_CODE_UNSPECIFIED), "");
  EXPECT_THAT(HandlingCodeMeaning(msg::HANDLING_CODE_H2), HasSubstr("permission"));
}

TEST(MessageArgs, EvaluationCodesGoTogether) {
  auto none = ParseEvaluation("", "");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto b2 = ParseEvaluation("b", "2");
  ASSERT_TRUE(b2.ok());
  ASSERT_TRUE(b2->has_value());
  EXPECT_EQ((*b2)->source(), msg::SOURCE_RELIABILITY_B);
  EXPECT_EQ((*b2)->information(), msg::INFORMATION_ACCURACY_2);

  EXPECT_EQ(FlagOf(ParseEvaluation("A", "").status()), "--accuracy");
  EXPECT_EQ(FlagOf(ParseEvaluation("", "1").status()), "--source");
  EXPECT_EQ(FlagOf(ParseEvaluation("D", "1").status()), "--source");
  EXPECT_EQ(FlagOf(ParseEvaluation("X", "5").status()), "--accuracy");
  EXPECT_EQ(FlagOf(ParseEvaluation("X", "0").status()), "--accuracy");

  msg::Envelope e;
  EXPECT_EQ(EvaluationText(e), "");
  e.mutable_evaluation()->set_source(msg::SOURCE_RELIABILITY_X);
  e.mutable_evaluation()->set_information(msg::INFORMATION_ACCURACY_4);
  EXPECT_EQ(EvaluationText(e), "X4");
}

TEST(MessageArgs, KindsAndClassifications) {
  EXPECT_EQ(*ParseMessageKind("--kind", "request"), msg::MESSAGE_KIND_REQUEST);
  EXPECT_EQ(*ParseMessageKind("--kind", "NOTIFICATION"), msg::MESSAGE_KIND_NOTIFICATION);
  EXPECT_FALSE(ParseMessageKind("--kind", "memo").ok());
  EXPECT_EQ(MessageKindText(msg::MESSAGE_KIND_RESPONSE), "response");
  EXPECT_EQ(*ParseClassification("--classification", "confidential"),
            msg::CLASSIFICATION_CONFIDENTIAL);
  EXPECT_FALSE(ParseClassification("--classification", "secret").ok());
  EXPECT_EQ(ClassificationText(msg::CLASSIFICATION_UNCLASSIFIED), "unclassified");
  EXPECT_EQ(ReceiptKindText(msg::RECEIPT_KIND_READ), "read");
  EXPECT_EQ(ReceiptKindText(msg::RECEIPT_KIND_DELIVERED), "delivered");
}

TEST(MessageArgs, TimeToLive) {
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "7d"), absl::Hours(24 * 7));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "36h"), absl::Hours(36));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "1d12h"), absl::Hours(36));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "2w"), absl::Hours(24 * 14));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "90m"), absl::Minutes(90));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "45s"), absl::Seconds(45));
  EXPECT_EQ(*ParseTimeToLive("--expires-in", "3650d"), absl::Hours(24 * 3650));
  for (const char* bad :
       {"", "7", "d", "0d", "-1d", "7x", "1.5d", "3651d", "7d ", " 7d", "99999999d", "1dd"}) {
    const auto parsed = ParseTimeToLive("--expires-in", bad);
    EXPECT_FALSE(parsed.ok()) << "\"" << bad << "\"";
    EXPECT_EQ(FlagOf(parsed.status()), "--expires-in") << bad;
  }
}

TEST(MessageArgs, MessageAndThreadIds) {
  EXPECT_TRUE(ValidateMessageId("--id", "0123456789abcdef").ok());
  EXPECT_TRUE(ValidateMessageId("--id", std::string(64, 'A')).ok());
  EXPECT_TRUE(ValidateMessageId("--id", "case_2026-11-28_x").ok());
  EXPECT_FALSE(ValidateMessageId("--id", "short").ok());
  EXPECT_FALSE(ValidateMessageId("--id", std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidateMessageId("--id", "0123456789abcdef/..").ok());
  EXPECT_FALSE(ValidateMessageId("--id", "0123456789abcdef ").ok());
  EXPECT_TRUE(ValidateThreadId("--thread", "").ok());
  EXPECT_TRUE(ValidateThreadId("--thread", "op-lotus").ok());
  EXPECT_FALSE(ValidateThreadId("--thread", "op lotus").ok());
}

TEST(MessageArgs, RecipientsGetTheLocalTrustDomainAndMustBeDistinct) {
  auto r = ParseRecipients("--to", {"reception_centre/pag-asa", "magistrate/parquet-bruxelles-thb"},
                           "concord.test");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].trust_domain(), "concord.test");
  EXPECT_EQ(AgencyKeyOf((*r)[0]), "reception_centre/pag-asa");
  EXPECT_EQ(AgencyKeyOf((*r)[1]), "magistrate/parquet-bruxelles-thb");

  auto spiffe = ParseRecipients("--to", {"spiffe://other.td/agency/police/pz-x"}, "concord.test");
  ASSERT_TRUE(spiffe.ok());
  EXPECT_EQ((*spiffe)[0].trust_domain(), "other.td");

  const auto dup = ParseRecipients(
      "--to", {"police/pz-x", "spiffe://concord.test/agency/police/pz-x"}, "concord.test");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(FieldViolationsOf(dup.status()).front().description, HasSubstr("twice"));

  EXPECT_EQ(FlagOf(ParseRecipients("--to", {}, "concord.test").status()), "--to");
  EXPECT_EQ(FlagOf(ParseRecipients("--to", {"pag-asa"}, "concord.test").status()), "--to");
  EXPECT_EQ(FlagOf(ParseRecipients("--to", {"ngo/pag-asa"}, "concord.test").status()), "--to");

  std::vector<std::string> many;
  for (int i = 0; i < kMaxRecipients; ++i) many.push_back("police/p" + std::to_string(i));
  EXPECT_TRUE(ParseRecipients("--to", many, "concord.test").ok());
  many.push_back("police/one-too-many");
  EXPECT_FALSE(ParseRecipients("--to", many, "concord.test").ok());
}

MessageSendArgs ValidSend() {
  MessageSendArgs a;
  a.to = {"reception_centre/pag-asa"};
  a.handling = "H1";
  a.body = "text";
  a.body_given = true;
  return a;
}

TEST(MessageArgs, DraftFromSendArgs) {
  MessageSendArgs a = ValidSend();
  a.thread = "op-lotus";
  a.case_ref = "BXL-2026-0042";
  a.kind = "request";
  a.classification = "confidential";
  a.source = "A";
  a.accuracy = "1";
  a.expires_in = "7d";
  a.id = "0123456789abcdef0123";
  auto d = DraftFromSendArgs(a);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->message_id, "0123456789abcdef0123");
  EXPECT_EQ(d->thread_id, "op-lotus");
  EXPECT_EQ(d->case_reference, "BXL-2026-0042");
  EXPECT_EQ(d->kind, msg::MESSAGE_KIND_REQUEST);
  EXPECT_EQ(d->classification, msg::CLASSIFICATION_CONFIDENTIAL);
  EXPECT_EQ(d->handling_code, msg::HANDLING_CODE_H1);
  ASSERT_TRUE(d->evaluation.has_value());
  EXPECT_EQ(d->evaluation->source(), msg::SOURCE_RELIABILITY_A);
  EXPECT_EQ(d->time_to_live, absl::Hours(24 * 7));
  EXPECT_TRUE(d->body.empty());  // the body is added by the command (it may come from a file)

  auto defaults = DraftFromSendArgs(ValidSend());
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->message_id.empty());  // the library picks a random id
  EXPECT_EQ(defaults->kind, msg::MESSAGE_KIND_INFORMATION);
  EXPECT_EQ(defaults->classification, msg::CLASSIFICATION_RESTRICTED);
  EXPECT_FALSE(defaults->evaluation.has_value());
}

TEST(MessageArgs, DraftRefusesBadCombinations) {
  const auto flag_of = [](MessageSendArgs a) { return FlagOf(DraftFromSendArgs(a).status()); };
  MessageSendArgs a = ValidSend();
  a.handling = "";
  EXPECT_EQ(flag_of(a), "--handling");
  a = ValidSend();
  a.handling = "H3";
  EXPECT_EQ(flag_of(a), "--handling-text");  // H3 needs its text
  a.handling_text = "only for the investigating judge";
  EXPECT_TRUE(DraftFromSendArgs(a).ok());
  a.handling_text = std::string(501, 'x');
  EXPECT_EQ(flag_of(a), "--handling-text");
  a = ValidSend();
  a.handling_text = "text without H3";
  EXPECT_EQ(flag_of(a), "--handling-text");
  a = ValidSend();
  a.body_file = "note.txt";  // both --body and --body-file
  EXPECT_EQ(flag_of(a), "--body");
  a = ValidSend();
  a.body_given = false;  // neither
  a.body.clear();
  EXPECT_EQ(flag_of(a), "--body");
  a = ValidSend();
  a.kind = "response";
  EXPECT_EQ(flag_of(a), "--in-reply-to");
  a.in_reply_to = "0123456789abcdef";
  EXPECT_TRUE(DraftFromSendArgs(a).ok());
  a = ValidSend();
  a.id = "too-short";
  EXPECT_EQ(flag_of(a), "--id");
  a = ValidSend();
  a.case_ref = std::string(129, 'c');
  EXPECT_EQ(flag_of(a), "--case-ref");
  a = ValidSend();
  a.attach = std::vector<std::string>(17, "f.pdf");
  EXPECT_EQ(flag_of(a), "--attach");
  a = ValidSend();
  a.source = "B";
  EXPECT_EQ(flag_of(a), "--accuracy");
}

TEST(MessageArgs, MediaTypesAndBaseNames) {
  EXPECT_EQ(MediaTypeForFileName("pv-2026-0042.PDF"), "application/pdf");
  EXPECT_EQ(MediaTypeForFileName("notes.txt"), "text/plain");
  EXPECT_EQ(MediaTypeForFileName("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(MediaTypeForFileName("README"), "application/octet-stream");
  EXPECT_EQ(MediaTypeForFileName("archive.unknown"), "application/octet-stream");
  EXPECT_EQ(BaseName("/tmp/x/scan.pdf"), "scan.pdf");
  EXPECT_EQ(BaseName("scan.pdf"), "scan.pdf");
  EXPECT_EQ(BaseName("dir/"), "dir");
}

TEST(MessageArgs, SafeFileNameNeverLeavesTheDirectory) {
  EXPECT_EQ(SafeFileName("scan.pdf"), "scan.pdf");
  EXPECT_EQ(SafeFileName("../../etc/passwd"), "passwd");
  EXPECT_EQ(SafeFileName("C:\\cases\\pv 42.pdf"), "pv_42.pdf");
  EXPECT_EQ(SafeFileName(".bashrc"), "_bashrc");
  EXPECT_EQ(SafeFileName(".."), "__");
  EXPECT_EQ(SafeFileName("."), "_");
  EXPECT_EQ(SafeFileName(""), "attachment");
  EXPECT_EQ(SafeFileName("dir/"), "attachment");
  EXPECT_EQ(SafeFileName("Sürya rapport.pdf"), "S__rya_rapport.pdf");
  const std::string longest = SafeFileName(std::string(300, 'a') + ".pdf");
  EXPECT_EQ(longest.size(), 128u);
  EXPECT_EQ(longest.substr(longest.size() - 4), ".pdf");
}

TEST(MessageArgs, Utf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Sürya, Liège, €, 🙂"));
  EXPECT_FALSE(IsValidUtf8(std::string("\xff", 1)));
  EXPECT_FALSE(IsValidUtf8(std::string("\xc3", 1)));              // truncated
  EXPECT_FALSE(IsValidUtf8(std::string("\xc0\xaf", 2)));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8(std::string("\xed\xa0\x80", 3)));      // surrogate
  EXPECT_FALSE(IsValidUtf8(std::string("\xf4\x90\x80\x80", 4)));  // > U+10FFFF
}

}  // namespace
}  // namespace concord::ctl
