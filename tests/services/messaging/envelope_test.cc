#include "services/messaging/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/messaging/envelope_proto.h"

namespace concord::messaging {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

AgencyId Agency(AgencyType type, std::string id) { return AgencyId{"concord.test", type, id}; }

// A structurally valid envelope (the bytes are not real crypto: validation does not open them).
Envelope ValidEnvelope() {
  Envelope e;
  e.message_id = "0123456789abcdef-msg";
  e.sender = Agency(AgencyType::kPolice, "pz-antwerp");
  e.recipients = {Agency(AgencyType::kReceptionCentre, "payoke"),
                  Agency(AgencyType::kMagistrate, "thb-antwerp")};
  e.thread_id = "thread-1";
  e.case_reference = "AN.12.34/26";
  e.kind = MessageKind::kInformation;
  e.classification = Classification::kRestricted;
  e.handling_code = HandlingCode::kH1;
  e.evaluation = EvaluationCodes{SourceReliability::kB, InformationAccuracy::k2};
  e.created_at = kNow - absl::Seconds(10);
  e.expires_at = kNow + absl::Hours(24 * 30);
  e.body.nonce = std::string(12, 'n');
  e.body.ciphertext = std::string(100, 'c');
  for (const AgencyId& r : e.recipients) {
    e.body.keys.push_back(
        {r.Key(), std::string(32, 'e'), std::string(12, 'k'), std::string(48, 'w')});
  }
  e.attachments.push_back(
      {"attachment-0123456789",
       "report.pdf",
       "application/pdf",
       1500000,
       std::string(32, 'h'),
       {{0, 1048620, std::string(32, 'a')}, {1, 451500, std::string(32, 'b')}}});
  e.signature = std::string(64, 's');
  return e;
}

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

TEST(ValidateEnvelope, AcceptsValidEnvelope) {
  EXPECT_TRUE(ValidateEnvelope(ValidEnvelope(), EnvelopeLimits{}).ok());
  EXPECT_TRUE(CheckEnvelopeTimes(ValidEnvelope(), EnvelopeLimits{}, kNow).ok());
}

TEST(ValidateEnvelope, RefusesBadMessageId) {
  Envelope e = ValidEnvelope();
  e.message_id = "short";
  const Status s = ValidateEnvelope(e, EnvelopeLimits{});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(s), Contains("envelope.message_id"));
  e.message_id = "0123456789abcdef/../x";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.message_id"));
}

TEST(ValidateEnvelope, RefusesNoRecipients) {
  Envelope e = ValidEnvelope();
  e.recipients.clear();
  e.body.keys.clear();
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.recipients"));
}

TEST(ValidateEnvelope, RefusesTooManyRecipients) {
  Envelope e = ValidEnvelope();
  e.recipients.clear();
  e.body.keys.clear();
  for (int i = 0; i < 65; ++i) {
    e.recipients.push_back(Agency(AgencyType::kPolice, "pz-" + std::to_string(i)));
    e.body.keys.push_back({e.recipients.back().Key(), std::string(32, 'e'), std::string(12, 'k'),
                           std::string(48, 'w')});
  }
  const Status s = ValidateEnvelope(e, EnvelopeLimits{});
  EXPECT_THAT(FieldsOf(s), Contains("envelope.recipients"));
  EXPECT_THAT(s.ToString(), HasSubstr("invalid envelope"));
}

TEST(ValidateEnvelope, RefusesDuplicateRecipient) {
  Envelope e = ValidEnvelope();
  e.recipients.push_back(e.recipients[0]);
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.recipients[2]"));
}

TEST(ValidateEnvelope, RequiresOneWrappedKeyPerRecipient) {
  Envelope e = ValidEnvelope();
  e.body.keys.pop_back();
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.body.keys"));
  e = ValidEnvelope();
  e.body.keys[1].recipient = "police/stranger";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.body.keys[1].recipient"));
  e = ValidEnvelope();
  e.body.keys.push_back(e.body.keys[0]);
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.body.keys[2].recipient"));
}

TEST(ValidateEnvelope, RefusesOversizedBody) {
  Envelope e = ValidEnvelope();
  EnvelopeLimits limits;
  limits.max_body_bytes = 64;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, limits)), Contains("envelope.body.ciphertext"));
}

TEST(ValidateEnvelope, HandlingTextOnlyForH3) {
  Envelope e = ValidEnvelope();
  e.handling_code = HandlingCode::kH3;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.handling_text"));
  e.handling_text = "not to be shared with the employer's inspection file";
  EXPECT_TRUE(ValidateEnvelope(e, EnvelopeLimits{}).ok());
  e.handling_code = HandlingCode::kH2;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.handling_text"));
}

TEST(ValidateEnvelope, AttachmentRules) {
  EnvelopeLimits limits;
  limits.max_attachment_bytes = 1'000'000;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(ValidEnvelope(), limits)),
              Contains("envelope.attachments[0].size"));
  Envelope e = ValidEnvelope();
  e.attachments[0].chunks.pop_back();
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].chunks"));
  e = ValidEnvelope();
  e.attachments[0].chunks[1].index = 5;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].chunks[1].index"));
  e = ValidEnvelope();
  e.attachments[0].sha256 = "short";
  e.attachments[0].media_type = "pdf";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].sha256"));
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].media_type"));
}

TEST(ValidateEnvelope, ResponseNeedsInReplyTo) {
  Envelope e = ValidEnvelope();
  e.kind = MessageKind::kResponse;
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.in_reply_to"));
  e.in_reply_to = "0123456789abcdef-req";
  EXPECT_TRUE(ValidateEnvelope(e, EnvelopeLimits{}).ok());
}

TEST(ValidateEnvelope, SignatureMustBe64Bytes) {
  Envelope e = ValidEnvelope();
  e.signature.clear();
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.signature"));
}

TEST(CheckEnvelopeTimes, RefusesExpired) {
  Envelope e = ValidEnvelope();
  e.expires_at = kNow - absl::Seconds(1);
  const Status s = CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "MESSAGE_EXPIRED");
}

TEST(CheckEnvelopeTimes, ReplayWindow) {
  Envelope e = ValidEnvelope();
  e.created_at = kNow - absl::Minutes(6);
  EXPECT_EQ(ReasonOf(CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow)), "OUTSIDE_REPLAY_WINDOW");
  e.created_at = kNow + absl::Minutes(2);
  EXPECT_EQ(ReasonOf(CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow)), "OUTSIDE_REPLAY_WINDOW");
  e.created_at = kNow - absl::Minutes(4);
  EXPECT_TRUE(CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow).ok());
}

TEST(CheckEnvelopeTimes, RetentionPerClassification) {
  Envelope e = ValidEnvelope();
  e.classification = Classification::kConfidential;
  e.expires_at = e.created_at + absl::Hours(24 * 91);
  EXPECT_THAT(FieldsOf(CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow)),
              Contains("envelope.expires_at"));
  e.classification = Classification::kUnclassified;
  EXPECT_TRUE(CheckEnvelopeTimes(e, EnvelopeLimits{}, kNow).ok());
}

TEST(CanonicalEnvelope, IsDeterministicAndCoversEveryField) {
  const Envelope base = ValidEnvelope();
  EXPECT_EQ(CanonicalEnvelope(base), CanonicalEnvelope(ValidEnvelope()));
  std::vector<Envelope> variants(12, base);
  variants[0].message_id += "x";
  variants[1].recipients.pop_back();
  variants[2].thread_id = "other";
  variants[3].handling_code = HandlingCode::kH2;
  variants[4].evaluation.reset();
  variants[5].created_at += absl::Nanoseconds(1);
  variants[6].body.ciphertext[3] ^= 1;
  variants[7].body.keys[0].ciphertext[0] ^= 1;
  variants[8].attachments[0].chunks[1].sha256[0] ^= 1;
  variants[9].in_reply_to = "0123456789abcdef-req";
  variants[10].forward = ForwardLink{"0123456789abcdef-org", base.sender, std::nullopt};
  variants[11].case_reference = "AN.12.35/26";
  for (const Envelope& v : variants) EXPECT_NE(CanonicalEnvelope(v), CanonicalEnvelope(base));
  Envelope resigned = base;
  resigned.signature = std::string(64, 't');
  EXPECT_EQ(CanonicalEnvelope(resigned), CanonicalEnvelope(base));
  EXPECT_NE(EnvelopeSha256(resigned), EnvelopeSha256(base));
  EXPECT_EQ(EnvelopeSha256(base).size(), 32u);
}

TEST(StoredEnvelope, RoundTrips) {
  Envelope e = ValidEnvelope();
  ForwardPermission p{
      "0123456789abcdef-org", e.sender, {e.recipients[0]}, kNow, std::string(64, 'p')};
  e.forward = ForwardLink{"0123456789abcdef-org", e.sender, p};
  auto decoded = DecodeStoredEnvelope(EncodeStoredEnvelope(e));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, e);
  auto plain = DecodeStoredEnvelope(EncodeStoredEnvelope(ValidEnvelope()));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, ValidEnvelope());
}

TEST(StoredEnvelope, RefusesMalformedBytes) {
  const std::string bytes = EncodeStoredEnvelope(ValidEnvelope());
  EXPECT_EQ(DecodeStoredEnvelope(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStoredEnvelope(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStoredEnvelope("").status().code(), absl::StatusCode::kDataLoss);
  std::string wrong_tag = bytes;
  wrong_tag[0] = 5;
  EXPECT_EQ(DecodeStoredEnvelope(wrong_tag).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CheckForwardAllowed, H2NeedsPermissionForNewRecipients) {
  Envelope original = ValidEnvelope();
  original.handling_code = HandlingCode::kH2;
  Envelope fwd = original;
  fwd.message_id = "0123456789abcdef-fwd";
  fwd.sender = original.recipients[0];
  fwd.recipients = {Agency(AgencyType::kImmigrationOffice, "dvz")};
  fwd.forward = ForwardLink{original.message_id, original.sender, std::nullopt};
  Status s = CheckForwardAllowed(original, fwd, /*permission_verified=*/false);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(s), "H2_FORWARD_WITHOUT_PERMISSION");

  fwd.forward->permission =
      ForwardPermission{original.message_id, original.sender, fwd.recipients, kNow, ""};
  EXPECT_FALSE(CheckForwardAllowed(original, fwd, /*permission_verified=*/false).ok());
  EXPECT_TRUE(CheckForwardAllowed(original, fwd, /*permission_verified=*/true).ok());

  // Forwarding within the original audience needs no permission.
  fwd.forward->permission.reset();
  fwd.recipients = {original.recipients[1]};
  EXPECT_TRUE(CheckForwardAllowed(original, fwd, /*permission_verified=*/false).ok());

  // The handling code travels with the content.
  fwd.handling_code = HandlingCode::kH0;
  EXPECT_EQ(ReasonOf(CheckForwardAllowed(original, fwd, false)), "HANDLING_CODE_CHANGED");
}

TEST(CheckForwardAllowed, H0ForwardsFreely) {
  Envelope original = ValidEnvelope();
  original.handling_code = HandlingCode::kH0;
  Envelope fwd = original;
  fwd.recipients = {Agency(AgencyType::kImmigrationOffice, "dvz")};
  EXPECT_TRUE(CheckForwardAllowed(original, fwd, false).ok());
}

TEST(EnvelopeProto, RoundTrips) {
  Envelope e = ValidEnvelope();
  e.created_at += absl::Nanoseconds(123);
  v1::Envelope proto;
  EnvelopeToProto(e, proto);
  auto back = EnvelopeFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, e);
  EXPECT_EQ(CanonicalEnvelope(*back), CanonicalEnvelope(e));
}

TEST(EnvelopeProto, RefusesUnspecifiedEnums) {
  v1::Envelope proto;
  EnvelopeToProto(ValidEnvelope(), proto);
  proto.set_handling_code(v1::HANDLING_CODE_UNSPECIFIED);
  proto.set_kind(v1::MESSAGE_KIND_UNSPECIFIED);
  proto.mutable_recipients(1)->set_type(::concord::common::v1::AGENCY_TYPE_UNSPECIFIED);
  proto.clear_created_at();
  const Status s = EnvelopeFromProto(proto).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldsOf(s), Contains("envelope.handling_code"));
  EXPECT_THAT(FieldsOf(s), Contains("envelope.kind"));
  EXPECT_THAT(FieldsOf(s), Contains("envelope.recipients[1]"));
  EXPECT_THAT(FieldsOf(s), Contains("envelope.created_at"));
}

}  // namespace
}  // namespace concord::messaging
