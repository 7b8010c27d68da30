#include "common/envelope/sealed_content.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/encoding.h"

namespace concord::envelope {
namespace {

using ::testing::Contains;

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

SealedContent Content() {
  return SealedContent{"Presumed victim, statement follows",
                       "",
                       {{"attachment-000001", "passport-Maria-Exemplaria.pdf", "application/pdf",
                         std::string(32, 'h')}}};
}

std::vector<Attachment> Clear() { return {Attachment{"attachment-000001", "", "", 5, "", {}}}; }

// Test the sealed content's bytes (docs/crypto.md "Sealed content") and its exact inverse.
TEST(SealedContent, GoldenBytesAndRoundTrip) {
  const SealedContent c{"hi", "", {{"attachment-000001", "a.pdf", "application/pdf", "H"}}};
  EXPECT_EQ(crypto::HexEncode(EncodeSealedContent(c)),
            "000000001c636f6e636f72642e6d6573736167696e672e636f6e74656e742e7632"  // 0 domain
            "01000000026869"                                                      // 1 text
            "0200000000"                                                          // 2 handling_text
            "030000000000000001"                                                  // 3 count
            "04000000116174746163686d656e742d303030303031"                        // 4 attachment_id
            "0500000005612e706466"                                                // 5 name
            "060000000f6170706c69636174696f6e2f706466"                            // 6 media_type
            "070000000148");                                                      // 7 sha256
  auto back = DecodeSealedContent(EncodeSealedContent(Content()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Content());
  const std::string bytes = EncodeSealedContent(Content());
  const Status truncated = DecodeSealedContent(bytes.substr(0, bytes.size() - 1)).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(truncated), "SEALED_CONTENT_INVALID");
  EXPECT_EQ(DecodeSealedContent(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSealedContent("a v1 body is bare text").status().code(),
            absl::StatusCode::kDataLoss);
}

// Test the rules a recipient (and the sending library) applies to the sealed facts.
TEST(SealedContent, Rules) {
  FieldErrors ok;
  ValidateSealedContent(Content(), HandlingCode::kH2, Clear(), "content", ok);
  EXPECT_TRUE(ok.empty());

  SealedContent c = Content();
  c.attachments[0].name = "../etc/passwd";
  c.attachments[0].media_type = "pdf";
  c.attachments[0].sha256 = "short";
  c.attachments[0].attachment_id = "attachment-000002";
  FieldErrors bad;
  ValidateSealedContent(c, HandlingCode::kH3, Clear(), "content", bad);
  const Status s = bad.ToStatus("x");
  EXPECT_THAT(FieldsOf(s), Contains("content.attachments[0].name"));
  EXPECT_THAT(FieldsOf(s), Contains("content.attachments[0].media_type"));
  EXPECT_THAT(FieldsOf(s), Contains("content.attachments[0].sha256"));
  EXPECT_THAT(FieldsOf(s), Contains("content.attachments[0].attachment_id"));
  EXPECT_THAT(FieldsOf(s), Contains("content.handling_text"));  // H3 without text

  FieldErrors missing;
  ValidateSealedContent(SealedContent{"x", "", {}}, HandlingCode::kH0, Clear(), "content", missing);
  EXPECT_THAT(FieldsOf(missing.ToStatus("x")), Contains("content.attachments"));

  for (const char* name : {"", ".", "..", "a/b", "a\\b", "tab\there"}) {
    EXPECT_FALSE(IsValidAttachmentName(name)) << name;
  }
  EXPECT_TRUE(IsValidAttachmentName("pv-2026-0042.txt"));
  EXPECT_TRUE(IsValidAttachmentName("procès-verbal été.pdf"));
  EXPECT_EQ(BodyAad(EnvelopeVersion::kV2, "m-0000000000000001"),
            "concord.messaging.body.v2|m-0000000000000001");
  EXPECT_EQ(BodyAad(EnvelopeVersion::kV1, "m-0000000000000001"),
            "concord.messaging.body.v1|m-0000000000000001");
}

}  // namespace
}  // namespace concord::envelope
