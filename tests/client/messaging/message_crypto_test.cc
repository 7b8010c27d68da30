#include "client/messaging/message_crypto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/hash.h"
#include "common/crypto/seal.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"
#include "common/envelope/sealed_content.h"
#include "services/messaging/envelope.h"
#include "tests/support/two_key_gcm.h"

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

// Test that a sealed, signed envelope v2 verifies and opens for every recipient, with the
// attachment names, media types and digests and the H3 text only inside the sealed body.
TEST_F(MessageCryptoTest, SealSignVerifyOpenRoundTrip) {
  MessageDraft d = Draft();
  d.handling_code = v1::HANDLING_CODE_H3;
  d.handling_text = "not to be shared with Maria Exemplaria's employer";
  auto att = SealAttachment("", "passport-Maria-Exemplaria.pdf", "application/pdf", "%PDF scan",
                            d.recipients);
  ASSERT_TRUE(att.ok()) << att.status();
  d.attachments = {att->reference};
  auto env = BuildEnvelope(police_, d, kNow);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->version(), 2u);
  EXPECT_EQ(env->message_id().size(), 32u);
  EXPECT_EQ(env->signature().size(), 64u);
  EXPECT_EQ(env->body().keys_size(), 2);
  EXPECT_EQ(env->body_key_commitment().size(), 32u);
  ASSERT_EQ(env->attachments_size(), 1);
  EXPECT_EQ(env->attachments(0).chunks(0).key_commitment().size(), 32u);
  // Nothing of what v2 seals is in the clear envelope.
  const std::string clear = env->SerializeAsString();
  for (const char* secret : {"Maria", "Exemplaria", "passport", "application/pdf", "%PDF"}) {
    EXPECT_EQ(clear.find(secret), std::string::npos) << secret;
  }
  EXPECT_TRUE(env->handling_text().empty());
  for (const SenderIdentity* me : {&payoke_, &magistrate_}) {
    auto content =
        VerifyAndOpenContent(*env, police_.signing_key.PublicKey(), me->agency, me->sealing_key);
    ASSERT_TRUE(content.ok()) << content.status();
    EXPECT_EQ(content->body, Draft().body);
    EXPECT_EQ(content->handling_text, d.handling_text);
    ASSERT_EQ(content->attachments.size(), 1u);
    EXPECT_EQ(content->attachments[0].name, "passport-Maria-Exemplaria.pdf");
    EXPECT_EQ(content->attachments[0].media_type, "application/pdf");
    EXPECT_EQ(content->attachments[0].size, 9u);
    auto file = OpenAttachment(*env, *content, att->reference.attachment_id(), att->chunks,
                               me->agency, me->sealing_key);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(*file, "%PDF scan");
  }
  // Not a recipient: no wrapped key.
  EXPECT_EQ(OpenBody(*env, outsider_.agency, outsider_.sealing_key).status().code(),
            absl::StatusCode::kNotFound);
  // The server's structural rules accept what the library builds.
  auto domain = envelope::EnvelopeFromProto(*env);
  ASSERT_TRUE(domain.ok()) << domain.status();
  EXPECT_TRUE(ValidateEnvelope(*domain, EnvelopeLimits{}).ok())
      << ValidateEnvelope(*domain, EnvelopeLimits{});
  EXPECT_TRUE(police_.signing_key.PublicKey().Verify(envelope::CanonicalEnvelope(*domain),
                                                     env->signature()));
}

// Test the drafts the library refuses before sealing: a case reference that reads like a name,
// attachment names it could not carry, handling text that does not match the code.
TEST_F(MessageCryptoTest, RefusesDraftsItCannotSend) {
  MessageDraft d = Draft();
  d.case_reference = "MARIA-EXEMPLARIA-1";
  Status s = BuildEnvelope(police_, d, kNow).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "CASE_REFERENCE_NOT_OPAQUE");
  d = Draft();
  d.handling_text = "H2 carries no text";
  EXPECT_EQ(BuildEnvelope(police_, d, kNow).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealAttachment("", "../../etc/passwd", "text/plain", "x", d.recipients).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SealAttachment("", "a.txt", "text", "x", d.recipients).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Test the attack of item 7 ("one signature, two bodies"): the sender wraps a different content
// key for each recipient, the body ciphertext authenticates under both keys (two-key GCM), and
// the one signature covers both readings. Without a key commitment each recipient opens its own
// plaintext; with v2 the recipient whose key is not the committed one refuses the message.
TEST_F(MessageCryptoTest, DifferentContentKeysUnderOneSignatureAreRefused) {
  auto honest = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(honest.ok()) << honest.status();
  const std::string k1(32, '\x11');
  const std::string k2(32, '\x22');
  const std::string aad = envelope::BodyAad(envelope::EnvelopeVersion::kV2, honest->message_id());
  // The attacker's content for the first recipient: a valid sealed content whose text holds, at
  // a 16-byte aligned place, the block the two-key solver overwrites (text is any bytes).
  const std::string said = "Transfer the victim to centre A.";
  std::string text = said + std::string(76 - said.size(), ' ');
  const std::string content = envelope::EncodeSealedContent({text, "", {}});
  ASSERT_EQ(content.size() % 16, 0u);
  const size_t free_block = 6;  // bytes 96..111: the end of the text (bytes 38..113)
  auto ciphertext = testing::TwoKeyGcmCiphertext(k1, k2, honest->body().nonce(), aad,
                                                 std::string(content), free_block);
  ASSERT_TRUE(ciphertext.ok()) << ciphertext.status();
  auto w1 = testing::WrapContentKey(k1, AgencyKey(payoke_.agency), payoke_.sealing_key.PublicKey());
  auto w2 = testing::WrapContentKey(k2, AgencyKey(magistrate_.agency),
                                    magistrate_.sealing_key.PublicKey());
  ASSERT_TRUE(w1.ok() && w2.ok());
  v1::Envelope forged = *honest;
  forged.mutable_body()->set_ciphertext(*ciphertext);
  forged.mutable_body()->clear_keys();
  for (const crypto::WrappedKey& w : {*w1, *w2}) {
    v1::WrappedKey* k = forged.mutable_body()->add_keys();
    k->set_recipient(w.recipient);
    k->set_ephemeral_public(w.ephemeral_public);
    k->set_nonce(w.nonce);
    k->set_ciphertext(w.ciphertext);
  }
  forged.set_body_key_commitment(crypto::ContentKeyCommitment(k1));
  ASSERT_TRUE(SignEnvelope(forged, police_.signing_key).ok());
  ASSERT_TRUE(VerifyEnvelope(forged, police_.signing_key.PublicKey()).ok());  // one signature

  // The weakness: both wrapped keys open the same signed ciphertext, to different plaintexts.
  crypto::SealedBox box;
  envelope::SealedBox domain_box;
  envelope::SealedFromProto(forged.body(), domain_box);
  box.nonce = domain_box.nonce;
  box.ciphertext = domain_box.ciphertext;
  for (const auto& k : domain_box.keys) {
    box.keys.push_back({k.recipient, k.ephemeral_public, k.nonce, k.ciphertext});
  }
  auto read1 = crypto::Open(box, AgencyKey(payoke_.agency), payoke_.sealing_key, aad);
  auto read2 = crypto::Open(box, AgencyKey(magistrate_.agency), magistrate_.sealing_key, aad);
  ASSERT_TRUE(read1.ok() && read2.ok());
  EXPECT_NE(*read1, *read2);

  // The control: the recipient holding the committed key reads; the other refuses.
  auto payoke_reads = VerifyAndOpenContent(forged, police_.signing_key.PublicKey(), payoke_.agency,
                                           payoke_.sealing_key);
  ASSERT_TRUE(payoke_reads.ok()) << payoke_reads.status();
  EXPECT_EQ(payoke_reads->body.substr(0, said.size()), said);
  const auto magistrate_reads = VerifyAndOpenContent(forged, police_.signing_key.PublicKey(),
                                                     magistrate_.agency, magistrate_.sealing_key);
  EXPECT_EQ(magistrate_reads.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(magistrate_reads.status()), "KEY_COMMITMENT_MISMATCH");
  // Honest envelopes open for both.
  EXPECT_TRUE(VerifyAndOpenContent(*honest, police_.signing_key.PublicKey(), magistrate_.agency,
                                   magistrate_.sealing_key)
                  .ok());
}

// Test the same for an attachment chunk: a chunk whose wrapped key for one recipient is not the
// key the signed ChunkRef commits to is refused by that recipient.
TEST_F(MessageCryptoTest, ChunkKeyCommitmentIsChecked) {
  MessageDraft d = Draft();
  auto att = SealAttachment("", "scan.bin", "application/octet-stream", "evidence", d.recipients);
  ASSERT_TRUE(att.ok());
  // The sender re-seals chunk 0 (another content key) but keeps the commitment of the first.
  auto resealed =
      crypto::SealCommitted("evidence",
                            {{AgencyKey(payoke_.agency), payoke_.sealing_key.PublicKey()},
                             {AgencyKey(magistrate_.agency), magistrate_.sealing_key.PublicKey()}},
                            envelope::ChunkAad(att->reference.attachment_id(), 0));
  ASSERT_TRUE(resealed.ok());
  v1::AttachmentChunk chunk = att->chunks[0];
  v1::SealedBox* sealed = chunk.mutable_sealed();
  sealed->set_nonce(resealed->box.nonce);
  sealed->set_ciphertext(resealed->box.ciphertext);
  for (int i = 0; i < sealed->keys_size(); ++i) {
    const crypto::WrappedKey& w = resealed->box.keys[static_cast<size_t>(i)];
    sealed->mutable_keys(i)->set_ephemeral_public(w.ephemeral_public);
    sealed->mutable_keys(i)->set_nonce(w.nonce);
    sealed->mutable_keys(i)->set_ciphertext(w.ciphertext);
  }
  v1::Attachment reference = att->reference;
  envelope::SealedBox domain_box;
  envelope::SealedFromProto(chunk.sealed(), domain_box);
  const std::string canonical = envelope::CanonicalChunk(reference.attachment_id(), 0, domain_box);
  const auto digest = crypto::Sha256(canonical);
  reference.mutable_chunks(0)->set_sha256(
      std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
  reference.mutable_chunks(0)->set_size(canonical.size());
  d.attachments = {reference};
  auto env = BuildEnvelope(police_, d, kNow);
  ASSERT_TRUE(env.ok()) << env.status();
  auto content = OpenContent(*env, payoke_.agency, payoke_.sealing_key);
  ASSERT_TRUE(content.ok()) << content.status();
  const auto refused = OpenAttachment(*env, *content, reference.attachment_id(), {chunk},
                                      payoke_.agency, payoke_.sealing_key);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(refused.status()), "KEY_COMMITMENT_MISMATCH");
}

// Test that an envelope stored before v2 (built, sealed and signed the v1 way) still verifies,
// opens with its clear attachment names, and gets a receipt naming its v1 hash.
TEST_F(MessageCryptoTest, OpensStoredV1Envelopes) {
  envelope::Envelope old;
  old.version = envelope::EnvelopeVersion::kV1;
  old.message_id = "stored-v1-message-0001";
  auto sender = envelope::AgencyFromProto(police_.agency);
  auto to = envelope::AgencyFromProto(payoke_.agency);
  ASSERT_TRUE(sender.ok() && to.ok());
  old.sender = *sender;
  old.recipients = {*to};
  old.handling_code = envelope::HandlingCode::kH3;
  old.handling_text = "no disclosure before trial";
  old.created_at = kNow;
  old.expires_at = kNow + absl::Hours(1);
  auto box =
      crypto::Seal("a v1 body", {{AgencyKey(payoke_.agency), payoke_.sealing_key.PublicKey()}},
                   envelope::BodyAad(envelope::EnvelopeVersion::kV1, old.message_id));
  ASSERT_TRUE(box.ok());
  old.body.nonce = box->nonce;
  old.body.ciphertext = box->ciphertext;
  for (const auto& k : box->keys) {
    old.body.keys.push_back({k.recipient, k.ephemeral_public, k.nonce, k.ciphertext});
  }
  old.attachments.push_back({"attachment-v1-000001",
                             "report.pdf",
                             "application/pdf",
                             3,
                             std::string(32, 'h'),
                             {{0, 100, std::string(32, 'a'), ""}}});
  auto sig = police_.signing_key.Sign(envelope::CanonicalEnvelope(old));
  ASSERT_TRUE(sig.ok());
  old.signature = *sig;
  v1::Envelope proto;
  envelope::EnvelopeToProto(old, proto);
  EXPECT_EQ(proto.version(), 1u);
  auto content = VerifyAndOpenContent(proto, police_.signing_key.PublicKey(), payoke_.agency,
                                      payoke_.sealing_key);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->body, "a v1 body");
  EXPECT_EQ(content->handling_text, "no disclosure before trial");
  ASSERT_EQ(content->attachments.size(), 1u);
  EXPECT_EQ(content->attachments[0].name, "report.pdf");
  auto receipt = MakeReceipt(payoke_, proto, v1::RECEIPT_KIND_READ, kNow);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->envelope_sha256(), envelope::EnvelopeSha256(old));
  // A v1 envelope passed off as v2 (or the reverse) does not verify.
  proto.set_version(2);
  EXPECT_FALSE(VerifyEnvelope(proto, police_.signing_key.PublicKey()).ok());
}

// Test that changing any signed field, the body or a wrapped key is detected.
TEST_F(MessageCryptoTest, TamperingIsDetected) {
  auto env = BuildEnvelope(police_, Draft(), kNow);
  ASSERT_TRUE(env.ok());
  const crypto::Ed25519PublicKey sender = police_.signing_key.PublicKey();

  std::vector<v1::Envelope> tampered(8, *env);
  tampered[0].set_handling_code(v1::HANDLING_CODE_H0);
  tampered[1].mutable_body()->mutable_ciphertext()->at(0) ^= 1;
  tampered[2].mutable_body()->mutable_keys(0)->mutable_ciphertext()->at(0) ^= 1;
  tampered[3].mutable_recipients()->RemoveLast();
  tampered[4].mutable_expires_at()->set_seconds(env->expires_at().seconds() + 1);
  tampered[5].mutable_signature()->at(10) ^= 1;
  tampered[6].mutable_body_key_commitment()->at(0) ^= 1;
  tampered[7].set_case_reference("AN.12.34/27");
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
  MessageDraft d = Draft();
  auto att = SealAttachment("", "evidence.bin", "application/octet-stream", file, d.recipients);
  ASSERT_TRUE(att.ok()) << att.status();
  ASSERT_EQ(att->chunks.size(), 3u);
  EXPECT_EQ(att->reference.size(), file.size());
  EXPECT_EQ(att->reference.chunks_size(), 3);
  auto empty = SealAttachment("", "empty.txt", "text/plain", "", d.recipients);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->chunks.size(), 1u);
  d.attachments = {att->reference, empty->reference};
  auto env = BuildEnvelope(police_, d, kNow);
  ASSERT_TRUE(env.ok()) << env.status();
  auto content = OpenContent(*env, magistrate_.agency, magistrate_.sealing_key);
  ASSERT_TRUE(content.ok()) << content.status();
  const std::string id = att->reference.attachment_id();
  const auto open = [&](const std::vector<v1::AttachmentChunk>& chunks) {
    return OpenAttachment(*env, *content, id, chunks, magistrate_.agency, magistrate_.sealing_key);
  };
  auto opened = open(att->chunks);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, file);

  auto altered = att->chunks;
  altered[1].mutable_sealed()->mutable_ciphertext()->at(5) ^= 1;
  EXPECT_EQ(open(altered).status().code(), absl::StatusCode::kDataLoss);
  auto reordered = att->chunks;
  std::swap(reordered[0], reordered[1]);
  EXPECT_EQ(open(reordered).status().code(), absl::StatusCode::kDataLoss);
  auto truncated = att->chunks;
  truncated.pop_back();
  EXPECT_FALSE(open(truncated).ok());

  auto opened_empty = OpenAttachment(*env, *content, empty->reference.attachment_id(),
                                     empty->chunks, magistrate_.agency, magistrate_.sealing_key);
  ASSERT_TRUE(opened_empty.ok()) << opened_empty.status();
  EXPECT_EQ(*opened_empty, "");
  EXPECT_EQ(OpenAttachment(*env, *content, "no-such-attachment-01", att->chunks, magistrate_.agency,
                           magistrate_.sealing_key)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
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

// Test that a forward re-seals the opened content for new recipients, links the original and
// the root of the chain, and that only the root provider can grant a permission.
TEST_F(MessageCryptoTest, ForwardResealsAndNamesTheRoot) {
  MessageDraft d = Draft();
  d.handling_code = v1::HANDLING_CODE_H3;
  d.handling_text = "restricted to the reception team";
  auto env = BuildEnvelope(police_, d, kNow);
  ASSERT_TRUE(env.ok());
  auto content = VerifyAndOpenContent(*env, police_.signing_key.PublicKey(), payoke_.agency,
                                      payoke_.sealing_key);
  ASSERT_TRUE(content.ok());
  auto permission = GrantForwardPermission(police_, *env, {outsider_.agency}, kNow);
  ASSERT_TRUE(permission.ok());
  auto fwd = BuildForward(payoke_, *env, *content, {AsRecipient(outsider_)}, *permission,
                          kNow + absl::Minutes(1));
  ASSERT_TRUE(fwd.ok()) << fwd.status();
  EXPECT_NE(fwd->message_id(), env->message_id());
  EXPECT_EQ(fwd->handling_code(), v1::HANDLING_CODE_H3);
  EXPECT_EQ(fwd->forward().original_message_id(), env->message_id());
  EXPECT_EQ(fwd->forward().root_message_id(), env->message_id());
  EXPECT_EQ(AgencyKey(fwd->forward().root_sender()), AgencyKey(police_.agency));
  EXPECT_LE(fwd->expires_at().seconds(), env->expires_at().seconds());
  auto opened = VerifyAndOpenContent(*fwd, payoke_.signing_key.PublicKey(), outsider_.agency,
                                     outsider_.sealing_key);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->body, content->body);
  EXPECT_EQ(opened->handling_text, "restricted to the reception team");

  // The forward of the forward names the same root; its forwarder cannot grant.
  auto again = BuildForward(outsider_, *fwd, *opened, {AsRecipient(magistrate_)}, std::nullopt,
                            kNow + absl::Minutes(2));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->forward().original_message_id(), fwd->message_id());
  EXPECT_EQ(again->forward().root_message_id(), env->message_id());
  const Status middle = GrantForwardPermission(payoke_, *fwd, {magistrate_.agency}, kNow).status();
  EXPECT_EQ(middle.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(middle), "H2_PERMISSION_NOT_FROM_PROVIDER");
  EXPECT_EQ(ReasonOf(GrantForwardPermission(payoke_, *env, {magistrate_.agency}, kNow).status()),
            "H2_PERMISSION_NOT_FROM_PROVIDER");
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
