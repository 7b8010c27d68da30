#include "client/messaging/message_crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/messaging/envelope.h"
#include "services/messaging/envelope_proto.h"

namespace concord::messaging::client {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

AgencyProto Agency(::concord::common::v1::AgencyType type, const std::string& id) {
  AgencyProto a;
  a.set_trust_domain("concord.test");
  a.set_type(type);
  a.set_id(id);
  return a;
}

SenderIdentity NewIdentity(::concord::common::v1::AgencyType type, const std::string& id) {
  return SenderIdentity{Agency(type, id), crypto::Ed25519PrivateKey::Generate(),
                        crypto::X25519PrivateKey::Generate()};
}

Recipient AsRecipient(const SenderIdentity& s) {
  return Recipient{s.agency, s.sealing_key.PublicKey()};
}

class MessageCryptoTest : public ::testing::Test {
 protected:
  SenderIdentity police_ = NewIdentity(::concord::common::v1::AGENCY_TYPE_POLICE, "pz-antwerp");
  SenderIdentity payoke_ =
      NewIdentity(::concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE, "payoke");
  SenderIdentity magistrate_ =
      NewIdentity(::concord::common::v1::AGENCY_TYPE_MAGISTRATE, "thb-antwerp");
  SenderIdentity outsider_ =
      NewIdentity(::concord::common::v1::AGENCY_TYPE_IMMIGRATION_OFFICE, "dvz");

  MessageDraft Draft() {
    MessageDraft d;
    d.recipients = {AsRecipient(payoke_), AsRecipient(magistrate_)};
    d.thread_id = "thread-1";
    d.case_reference = "AN.12.34/26";
    d.handling_code = v1::HANDLING_CODE_H2;
    v1::EvaluationCodes codes;
    codes.set_source(v1::SOURCE_RELIABILITY_B);
    codes.set_information(v1::INFORMATION_ACCURACY_2);
    d.evaluation = codes;
    d.body = "Presumed victim: Maria Example, born 1999, found at Rue X";
    return d;
  }
};

// Test that a sealed, signed envelope verifies and opens for every recipient.
TEST_F(MessageCryptoTest, SealSignVerifyOpenRoundTrip) {
  auto env = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->message_id().size(), 32u);
  EXPECT_EQ(env->signature().size(), 64u);
  EXPECT_EQ(env->body().keys_size(), 2);
  EXPECT_EQ(env->body().ciphertext().find("Maria"), std::string::npos);
  for (const SenderIdentity* me : {&payoke_, &magistrate_}) {
    auto body = VerifyAndOpen(*env, police_.signing_key.PublicKey(), me->agency, me->sealing_key);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(*body, Draft().body);
  }
  // Not a recipient: no wrapped key.
  EXPECT_EQ(OpenBody(*env, outsider_.agency, outsider_.sealing_key).status().code(),
            absl::StatusCode::kNotFound);
}

// Test that the client and the server compute the same canonical bytes (the server verifies
// what the client signed).
TEST_F(MessageCryptoTest, CanonicalEncodingMatchesServer) {
  MessageDraft d = Draft();
  auto att =
      SealAttachment("", "report.pdf", "application/pdf", std::string(3000, 'x'), d.recipients);
  ASSERT_TRUE(att.ok()) << att.status();
  d.attachments = {att->reference};
  auto original = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(original.ok());
  auto permission = GrantForwardPermission(police_, *original, {outsider_.agency}, kNow);
  ASSERT_TRUE(permission.ok());
  v1::ForwardLink link;
  link.set_original_message_id(original->message_id());
  *link.mutable_original_sender() = police_.agency;
  *link.mutable_permission() = *permission;
  d.forward = link;
  d.in_reply_to = RandomId();
  auto env = BuildEnvelope(police_, d, kNow + absl::Nanoseconds(7));
  ASSERT_TRUE(env.ok()) << env.status();

  auto domain = EnvelopeFromProto(*env);
  ASSERT_TRUE(domain.ok()) << domain.status();
  EXPECT_EQ(messaging::CanonicalEnvelope(*domain), CanonicalEnvelope(*env));
  EXPECT_EQ(messaging::EnvelopeSha256(*domain), EnvelopeSha256(*env));
  EXPECT_TRUE(ValidateEnvelope(*domain, EnvelopeLimits{}).ok())
      << ValidateEnvelope(*domain, EnvelopeLimits{});
  EXPECT_TRUE(police_.signing_key.PublicKey().Verify(messaging::CanonicalEnvelope(*domain),
                                                     domain->signature));

  auto receipt = MakeReceipt(payoke_, *env, v1::RECEIPT_KIND_READ, kNow);
  ASSERT_TRUE(receipt.ok());
  auto domain_receipt = ReceiptFromProto(*receipt);
  ASSERT_TRUE(domain_receipt.ok()) << domain_receipt.status();
  EXPECT_EQ(messaging::CanonicalReceipt(*domain_receipt), CanonicalReceipt(*receipt));
  EXPECT_EQ(messaging::CanonicalForwardPermission(*domain->forward->permission),
            CanonicalForwardPermission(*permission));

  SealedBox chunk_box;
  const v1::SealedBox& sealed = att->chunks[0].sealed();
  chunk_box.nonce = sealed.nonce();
  chunk_box.ciphertext = sealed.ciphertext();
  for (const auto& k : sealed.keys()) {
    chunk_box.keys.push_back({k.recipient(), k.ephemeral_public(), k.nonce(), k.ciphertext()});
  }
  EXPECT_EQ(messaging::CanonicalChunk(att->header.attachment_id(), 0, chunk_box),
            CanonicalChunk(att->header.attachment_id(), att->chunks[0]));
}

// Test that changing any signed field, the body or a wrapped key is detected.
TEST_F(MessageCryptoTest, TamperingIsDetected) {
  auto env = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(env.ok());
  const crypto::Ed25519PublicKey sender = police_.signing_key.PublicKey();

  std::vector<v1::Envelope> tampered(6, *env);
  tampered[0].set_handling_code(v1::HANDLING_CODE_H0);
  tampered[1].mutable_body()->mutable_ciphertext()->at(0) ^= 1;
  tampered[2].mutable_body()->mutable_keys(0)->mutable_ciphertext()->at(0) ^= 1;
  tampered[3].mutable_recipients()->RemoveLast();
  tampered[4].mutable_expires_at()->set_seconds(env->expires_at().seconds() + 1);
  tampered[5].mutable_signature()->at(10) ^= 1;
  for (const v1::Envelope& t : tampered) {
    const Status s = VerifyEnvelope(t, sender);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(ReasonOf(s), "BAD_SIGNATURE");
  }
  // A valid signature by another key (wrong sender) is refused.
  EXPECT_EQ(VerifyEnvelope(*env, outsider_.signing_key.PublicKey()).code(),
            absl::StatusCode::kPermissionDenied);
  // Even without the signature check, the AEAD refuses an altered body or key.
  EXPECT_EQ(OpenBody(tampered[1], payoke_.agency, payoke_.sealing_key).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenBody(tampered[2], payoke_.agency, payoke_.sealing_key).status().code(),
            absl::StatusCode::kDataLoss);
  // A body moved into another envelope (other message id) does not open.
  v1::Envelope moved = *env;
  moved.set_message_id(RandomId());
  EXPECT_EQ(OpenBody(moved, payoke_.agency, payoke_.sealing_key).status().code(),
            absl::StatusCode::kDataLoss);
}

// Test that attachments chunk at 1 MiB, round-trip, and detect altered or reordered chunks.
TEST_F(MessageCryptoTest, AttachmentChunksRoundTripAndDetectTampering) {
  std::string file(2 * kChunkBytes + 17, '\0');
  for (size_t i = 0; i < file.size(); ++i) file[i] = static_cast<char>(i * 31 + 7);
  const std::vector<Recipient> recipients = {AsRecipient(payoke_), AsRecipient(magistrate_)};
  auto att = SealAttachment("", "evidence.bin", "application/octet-stream", file, recipients);
  ASSERT_TRUE(att.ok()) << att.status();
  ASSERT_EQ(att->chunks.size(), 3u);
  EXPECT_EQ(att->reference.size(), file.size());
  EXPECT_EQ(att->reference.chunks_size(), 3);

  auto opened =
      OpenAttachment(att->reference, att->chunks, magistrate_.agency, magistrate_.sealing_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, file);

  auto altered = att->chunks;
  altered[1].mutable_sealed()->mutable_ciphertext()->at(5) ^= 1;
  EXPECT_EQ(
      OpenAttachment(att->reference, altered, payoke_.agency, payoke_.sealing_key).status().code(),
      absl::StatusCode::kDataLoss);
  auto reordered = att->chunks;
  std::swap(reordered[0], reordered[1]);
  EXPECT_EQ(OpenAttachment(att->reference, reordered, payoke_.agency, payoke_.sealing_key)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  auto truncated = att->chunks;
  truncated.pop_back();
  EXPECT_FALSE(OpenAttachment(att->reference, truncated, payoke_.agency, payoke_.sealing_key).ok());

  auto empty = SealAttachment("", "empty.txt", "text/plain", "", recipients);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->chunks.size(), 1u);
  auto opened_empty =
      OpenAttachment(empty->reference, empty->chunks, payoke_.agency, payoke_.sealing_key);
  ASSERT_TRUE(opened_empty.ok());
  EXPECT_EQ(*opened_empty, "");
}

// Test receipts and forward permissions verify only under the signer's key and unaltered.
TEST_F(MessageCryptoTest, ReceiptsAndPermissionsAreSigned) {
  auto env = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(env.ok());
  auto receipt = MakeReceipt(payoke_, *env, v1::RECEIPT_KIND_DELIVERED, kNow);
  ASSERT_TRUE(receipt.ok());
  EXPECT_TRUE(VerifyReceipt(*receipt, payoke_.signing_key.PublicKey()).ok());
  EXPECT_FALSE(VerifyReceipt(*receipt, magistrate_.signing_key.PublicKey()).ok());
  v1::Receipt read = *receipt;
  read.set_kind(v1::RECEIPT_KIND_READ);
  EXPECT_FALSE(VerifyReceipt(read, payoke_.signing_key.PublicKey()).ok());

  auto permission = GrantForwardPermission(police_, *env, {outsider_.agency}, kNow);
  ASSERT_TRUE(permission.ok());
  EXPECT_TRUE(VerifyForwardPermission(*permission, police_.signing_key.PublicKey()).ok());
  v1::ForwardPermission widened = *permission;
  *widened.add_grantees() = Agency(::concord::common::v1::AGENCY_TYPE_PLATFORM, "someplatform");
  EXPECT_FALSE(VerifyForwardPermission(widened, police_.signing_key.PublicKey()).ok());
}

// Test that a forward re-seals the opened content for new recipients and links the original.
TEST_F(MessageCryptoTest, ForwardReseals) {
  auto env = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(env.ok());
  auto body =
      VerifyAndOpen(*env, police_.signing_key.PublicKey(), payoke_.agency, payoke_.sealing_key);
  ASSERT_TRUE(body.ok());
  auto permission = GrantForwardPermission(police_, *env, {outsider_.agency}, kNow);
  ASSERT_TRUE(permission.ok());
  auto fwd = BuildForward(payoke_, *env, *body, {AsRecipient(outsider_)}, *permission,
                          kNow + absl::Minutes(1));
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  EXPECT_NE(fwd->message_id(), env->message_id());
  EXPECT_EQ(fwd->handling_code(), v1::HANDLING_CODE_H2);
  EXPECT_EQ(fwd->forward().original_message_id(), env->message_id());
  EXPECT_LE(fwd->expires_at().seconds(), env->expires_at().seconds());
  auto opened =
      VerifyAndOpen(*fwd, payoke_.signing_key.PublicKey(), outsider_.agency, outsider_.sealing_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, *body);

  auto domain_fwd = EnvelopeFromProto(*fwd);
  auto domain_original = EnvelopeFromProto(*env);
  ASSERT_TRUE(domain_fwd.ok() && domain_original.ok());
  EXPECT_TRUE(
      CheckForwardAllowed(*domain_original, *domain_fwd, /*permission_verified=*/true).ok());
  EXPECT_FALSE(CheckForwardAllowed(*domain_original, *domain_fwd, false).ok());
}

TEST(MessageCrypto, RefusesDuplicateRecipients) {
  SenderIdentity s = NewIdentity(::concord::common::v1::AGENCY_TYPE_POLICE, "pz-a");
  MessageDraft d;
  d.recipients = {AsRecipient(s), AsRecipient(s)};
  EXPECT_EQ(BuildEnvelope(s, d, kNow).status().code(), absl::StatusCode::kInvalidArgument);
  d.recipients.clear();
  EXPECT_EQ(BuildEnvelope(s, d, kNow).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace concord::messaging::client
