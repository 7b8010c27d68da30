#include "services/messaging/envelope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace concord::messaging {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

AgencyId Agency(AgencyType type, std::string id) { return AgencyId{"concord.test", type, id}; }

// A structurally valid envelope v2 (the bytes are not real crypto: validation does not open them).
Envelope ValidEnvelope() {
  Envelope e;
  e.version = EnvelopeVersion::kV2;
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
  e.body_key_commitment = std::string(32, 'K');
  e.attachments.push_back({"attachment-0123456789",
                           "",
                           "",
                           1500000,
                           "",
                           {{0, 1048620, std::string(32, 'a'), std::string(32, 'A')},
                            {1, 451500, std::string(32, 'b'), std::string(32, 'B')}}});
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

// Test that what v2 seals is refused in clear: the H3 text, attachment names, media types and
// plaintext digests (a name such as "passport-Maria-Exemplaria.pdf" would sit in Redis).
TEST(ValidateEnvelope, RefusesInClearWhatV2Seals) {
  Envelope e = ValidEnvelope();
  e.handling_code = HandlingCode::kH3;
  EXPECT_TRUE(ValidateEnvelope(e, EnvelopeLimits{}).ok());  // the text is in the sealed content
  e.handling_text = "not to be shared with the employer's inspection file";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})), Contains("envelope.handling_text"));
  e = ValidEnvelope();
  e.attachments[0].name = "passport-Maria-Exemplaria.pdf";
  e.attachments[0].media_type = "application/pdf";
  e.attachments[0].sha256 = std::string(32, 'h');
  const std::vector<std::string> fields = FieldsOf(ValidateEnvelope(e, EnvelopeLimits{}));
  EXPECT_THAT(fields, Contains("envelope.attachments[0].name"));
  EXPECT_THAT(fields, Contains("envelope.attachments[0].media_type"));
  EXPECT_THAT(fields, Contains("envelope.attachments[0].sha256"));
}

// Test the key commitments: 32 bytes for the body and for every chunk.
TEST(ValidateEnvelope, RequiresKeyCommitments) {
  Envelope e = ValidEnvelope();
  e.body_key_commitment.clear();
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.body_key_commitment"));
  e = ValidEnvelope();
  e.attachments[0].chunks[1].key_commitment = "short";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].chunks[1].key_commitment"));
}

// Test the case-reference rule: opaque file numbers pass, anything that reads like a name is
// INVALID_ARGUMENT on envelope.case_reference.
TEST(ValidateEnvelope, CaseReferenceMustBeOpaque) {
  for (const std::string& ok :
       std::vector<std::string>{"", "AN.12.34/26", "BXL-2026-0042", "PV-2026-0001", "EPE-2026-0001",
                                "E2E-2026-0001", "2026:17"}) {
    Envelope e = ValidEnvelope();
    e.case_reference = ok;
    EXPECT_TRUE(ValidateEnvelope(e, EnvelopeLimits{}).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{
           "Maria Exemplaria", "MARIA-EXEMPLARIA", "MARIA-EXEMPLARIA-1", "EXEMPLARIA/2026",
           "maria-2026", "DEMO-CASE-1", "A B 1", std::string(65, '1')}) {
    Envelope e = ValidEnvelope();
    e.case_reference = bad;
    EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
                Contains("envelope.case_reference"))
        << bad;
  }
}

// Test that only envelope v2 is accepted for new messages, with the reason naming the version.
TEST(CheckEnvelopeVersion, RefusesV1) {
  Envelope e = ValidEnvelope();
  EXPECT_TRUE(CheckEnvelopeVersion(e).ok());
  e.version = EnvelopeVersion::kV1;
  const Status s = CheckEnvelopeVersion(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "ENVELOPE_VERSION_UNSUPPORTED");
  EXPECT_THAT(FieldsOf(s), Contains("envelope.version"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("version 1"));
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
  e.attachments[0].chunks[0].sha256 = "short";
  EXPECT_THAT(FieldsOf(ValidateEnvelope(e, EnvelopeLimits{})),
              Contains("envelope.attachments[0].chunks[0].sha256"));
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

TEST(CheckForwardAllowed, H2NeedsPermissionForNewRecipients) {
  Envelope original = ValidEnvelope();
  original.handling_code = HandlingCode::kH2;
  const ForwardRoot root{original.message_id, original.sender};
  Envelope fwd = original;
  fwd.message_id = "0123456789abcdef-fwd";
  fwd.sender = original.recipients[0];
  fwd.recipients = {Agency(AgencyType::kImmigrationOffice, "dvz")};
  fwd.forward = ForwardLink{original.message_id, original.sender, original.message_id,
                            original.sender, std::nullopt};
  Status s = CheckForwardAllowed(original, root, fwd, /*permission_verified=*/false);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(s), "H2_FORWARD_WITHOUT_PERMISSION");

  fwd.forward->permission =
      ForwardPermission{original.message_id, original.sender, fwd.recipients, kNow, ""};
  EXPECT_TRUE(CheckPermissionFromRoot(fwd, root).ok());
  EXPECT_FALSE(CheckForwardAllowed(original, root, fwd, /*permission_verified=*/false).ok());
  EXPECT_TRUE(CheckForwardAllowed(original, root, fwd, /*permission_verified=*/true).ok());

  // Forwarding within the original audience needs no permission.
  fwd.forward->permission.reset();
  fwd.recipients = {original.recipients[1]};
  EXPECT_TRUE(CheckForwardAllowed(original, root, fwd, /*permission_verified=*/false).ok());

  // The handling code travels with the content.
  fwd.handling_code = HandlingCode::kH0;
  EXPECT_EQ(ReasonOf(CheckForwardAllowed(original, root, fwd, false)), "HANDLING_CODE_CHANGED");
}

// Test the root rule: in a chain A -> B -> C, C's forward of B's message needs A's permission
// naming A's message; B's permission (a middle forwarder) or one naming B's message is refused.
TEST(CheckPermissionFromRoot, OnlyTheRootProviderGrants) {
  const AgencyId a = Agency(AgencyType::kPolice, "pz-antwerp");
  const AgencyId b = Agency(AgencyType::kReceptionCentre, "payoke");
  const AgencyId c = Agency(AgencyType::kMagistrate, "thb-antwerp");
  const AgencyId d = Agency(AgencyType::kImmigrationOffice, "dvz");
  const ForwardRoot root{"root-message-00000001", a};
  Envelope fwd = ValidEnvelope();
  fwd.sender = c;
  fwd.recipients = {d};
  fwd.forward = ForwardLink{"middle-message-000001", b, root.message_id, a, std::nullopt};
  EXPECT_TRUE(CheckPermissionFromRoot(fwd, root).ok());  // no permission: nothing to check

  fwd.forward->permission = ForwardPermission{"middle-message-000001", b, {d}, kNow, ""};
  Status s = CheckPermissionFromRoot(fwd, root);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(s), "H2_PERMISSION_NOT_FROM_PROVIDER");
  EXPECT_THAT(std::string(s.message()), HasSubstr("police/pz-antwerp"));
  fwd.forward->permission = ForwardPermission{root.message_id, b, {d}, kNow, ""};
  EXPECT_EQ(ReasonOf(CheckPermissionFromRoot(fwd, root)), "H2_PERMISSION_NOT_FROM_PROVIDER");
  fwd.forward->permission = ForwardPermission{"middle-message-000001", a, {d}, kNow, ""};
  EXPECT_EQ(ReasonOf(CheckPermissionFromRoot(fwd, root)), "H2_PERMISSION_NOT_FROM_PROVIDER");
  fwd.forward->permission = ForwardPermission{root.message_id, a, {d}, kNow, ""};
  EXPECT_TRUE(CheckPermissionFromRoot(fwd, root).ok());
}

TEST(CheckForwardAllowed, H0ForwardsFreely) {
  Envelope original = ValidEnvelope();
  original.handling_code = HandlingCode::kH0;
  Envelope fwd = original;
  fwd.recipients = {Agency(AgencyType::kImmigrationOffice, "dvz")};
  EXPECT_TRUE(
      CheckForwardAllowed(original, {original.message_id, original.sender}, fwd, false).ok());
}

}  // namespace
}  // namespace concord::messaging
