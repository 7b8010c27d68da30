// Unit tests of the liaison descriptors (common/envelope/liaison_descriptor.h): the canonical
// bytes are exactly those docs/crypto.md "Liaison descriptors" states (a known-answer vector an
// agency system in another language can reproduce), the shape rules, and the binding to the
// envelope or receipt that carries a descriptor.
#include "common/envelope/liaison_descriptor.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/envelope/envelope_encoding.h"
#include "common/envelope/envelope_proto.h"

namespace concord::envelope {
namespace {

::concord::common::v1::AgencyId Proto(const AgencyId& a) {
  ::concord::common::v1::AgencyId p;
  AgencyToProto(a, p);
  return p;
}

const AgencyId kJudge{"concord.test", AgencyType::kMagistrate, "parquet-bxl"};
const AgencyId kOm{"partner.test", AgencyType::kMagistrate, "om-rotterdam"};

lv1::SignedLiaisonDescriptor RequestDescriptor() {
  lv1::SignedLiaisonDescriptor d;
  lv1::PartnerRequestDescriptor* r = d.mutable_request();
  r->set_issuer_request_id("lr-abcdefghijklmnopqrstuvwxyz");
  *r->mutable_issuer() = Proto(kJudge);
  *r->mutable_executor() = Proto(kOm);
  r->set_type(lv1::REQUEST_TYPE_EIO);
  r->set_order_message_id("msg-0123456789abcdef");
  r->set_envelope_sha256(std::string(64, 'a'));
  r->set_case_reference("BXL.12.34/2026");
  d.set_signature(std::string(64, 's'));
  return d;
}

// Test the request descriptor's canonical bytes against the known-answer vector of
// docs/crypto.md (fields joined by one 0x00, enum values as decimal proto numbers).
TEST(LiaisonDescriptor, RequestCanonicalBytesAreTheDocumentedVector) {
  const std::string expected =
      std::string("concord.liaison.partner-request.v1\0", 35) +
      std::string("lr-abcdefghijklmnopqrstuvwxyz\0", 30) +
      std::string("spiffe://concord.test/agency/magistrate/parquet-bxl\0", 52) +
      std::string("spiffe://partner.test/agency/magistrate/om-rotterdam\0", 53) +
      std::string(
          "1\0"
          "0\0"
          "0\0"
          "0\0"
          "0\0"
          "0\0",
          12) +
      std::string("msg-0123456789abcdef\0", 21) + std::string(64, 'a') + std::string("\0", 1) +
      "BXL.12.34/2026";
  EXPECT_EQ(DescriptorSigningBytes(RequestDescriptor()), expected);
}

// Test the act descriptor's canonical bytes.
TEST(LiaisonDescriptor, ActCanonicalBytesAreTheDocumentedVector) {
  lv1::SignedLiaisonDescriptor d;
  lv1::PartnerActDescriptor* a = d.mutable_act();
  a->set_issuer_request_id("lr-abcdefghijklmnopqrstuvwxyz");
  a->set_executor_request_id("lr-zyxwvutsrqponmlkjihgfedcba");
  *a->mutable_actor() = Proto(kOm);
  a->set_move(lv1::MOVE_ACKNOWLEDGE);
  a->set_executor_version(2);
  a->set_carrier_message_id("msg-0123456789abcdef");
  const std::string expected =
      std::string("concord.liaison.partner-act.v1\0", 31) +
      std::string("lr-abcdefghijklmnopqrstuvwxyz\0", 30) +
      std::string("lr-zyxwvutsrqponmlkjihgfedcba\0", 30) +
      std::string("spiffe://partner.test/agency/magistrate/om-rotterdam\0", 53) +
      std::string(
          "1\0"
          "2\0"
          "0\0"
          "0\0",
          8) +
      "msg-0123456789abcdef";
  EXPECT_EQ(DescriptorSigningBytes(d), expected);
}

// Test that a signature made with SignDescriptor verifies, and fails once any field changed.
TEST(LiaisonDescriptor, SignatureCoversEveryField) {
  const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::Generate();
  lv1::SignedLiaisonDescriptor d = RequestDescriptor();
  ASSERT_TRUE(SignDescriptor(d, key).ok());
  EXPECT_TRUE(key.PublicKey().Verify(DescriptorSigningBytes(d), d.signature()));
  lv1::SignedLiaisonDescriptor altered = d;
  altered.mutable_request()->set_emergency(true);
  EXPECT_FALSE(key.PublicKey().Verify(DescriptorSigningBytes(altered), altered.signature()));
  altered = d;
  altered.mutable_request()->mutable_executor()->set_trust_domain("other.test");
  EXPECT_FALSE(key.PublicKey().Verify(DescriptorSigningBytes(altered), altered.signature()));
}

// Test the shape rules: field paths name every problem.
TEST(LiaisonDescriptor, ShapeNamesEveryBadField) {
  EXPECT_TRUE(CheckDescriptorShape(RequestDescriptor()).ok());
  lv1::SignedLiaisonDescriptor d = RequestDescriptor();
  d.mutable_request()->set_issuer_request_id("lr-short");
  d.mutable_request()->mutable_executor()->clear_trust_domain();
  d.mutable_request()->set_case_reference("");
  d.set_signature("x");
  const Status s = CheckDescriptorShape(d);
  EXPECT_EQ(ReasonOf(s), "DESCRIPTOR_INVALID");
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_EQ(fields, (std::vector<std::string>{
                        "liaison.request.issuer_request_id", "liaison.request.executor",
                        "liaison.request.case_reference", "liaison.signature"}));
  EXPECT_EQ(ReasonOf(CheckDescriptorShape(lv1::SignedLiaisonDescriptor{})), "DESCRIPTOR_INVALID");
  // An act names the executing side's request, except an issuer's WITHDRAW (it may not know it).
  lv1::SignedLiaisonDescriptor act;
  act.mutable_act()->set_issuer_request_id("lr-abcdefghijklmnopqrstuvwxyz");
  *act.mutable_act()->mutable_actor() = Proto(kJudge);
  act.mutable_act()->set_move(lv1::MOVE_ACKNOWLEDGE);
  act.mutable_act()->set_executor_version(2);
  act.mutable_act()->set_carrier_message_id("msg-0123456789abcdef");
  act.set_signature(std::string(64, 's'));
  EXPECT_EQ(ReasonOf(CheckDescriptorShape(act)), "DESCRIPTOR_INVALID");
  act.mutable_act()->set_move(lv1::MOVE_WITHDRAW);
  EXPECT_TRUE(CheckDescriptorShape(act).ok());
}

// Test the binding: a request descriptor rides only the REQUEST envelope it names, an act
// descriptor only a receipt or RESPONSE envelope of its actor.
TEST(LiaisonDescriptor, BindingToTheCarryingItem) {
  Envelope env;
  env.message_id = "msg-0123456789abcdef";
  env.sender = kJudge;
  env.recipients = {kOm};
  env.kind = MessageKind::kRequest;
  env.case_reference = "BXL.12.34/2026";
  lv1::SignedLiaisonDescriptor d = RequestDescriptor();
  d.mutable_request()->set_envelope_sha256(absl::BytesToHexString(EnvelopeSha256(env)));
  EXPECT_TRUE(CheckBoundToEnvelope(d, env).ok());
  Envelope other = env;
  other.case_reference = "BXL.99/2026";
  EXPECT_EQ(ReasonOf(CheckBoundToEnvelope(d, other)), "DESCRIPTOR_MISMATCH");
  other = env;
  other.recipients = {kJudge};
  EXPECT_EQ(ReasonOf(CheckBoundToEnvelope(d, other)), "DESCRIPTOR_MISMATCH");
  other = env;
  other.kind = MessageKind::kInformation;
  EXPECT_EQ(ReasonOf(CheckBoundToEnvelope(d, other)), "DESCRIPTOR_MISMATCH");
  Receipt receipt;
  receipt.message_id = env.message_id;
  receipt.recipient = kOm;
  EXPECT_EQ(ReasonOf(CheckBoundToReceipt(d, receipt)), "DESCRIPTOR_MISMATCH");
  lv1::SignedLiaisonDescriptor act;
  act.mutable_act()->set_carrier_message_id(env.message_id);
  *act.mutable_act()->mutable_actor() = Proto(kOm);
  EXPECT_TRUE(CheckBoundToReceipt(act, receipt).ok());
  receipt.recipient = kJudge;
  EXPECT_EQ(ReasonOf(CheckBoundToReceipt(act, receipt)), "DESCRIPTOR_MISMATCH");
}

}  // namespace
}  // namespace concord::envelope
