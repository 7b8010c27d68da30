#include "common/envelope/envelope_proto.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/envelope/envelope_encoding.h"

namespace concord::envelope {
namespace {

using ::testing::Contains;

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FieldViolationsOf(s)) out.push_back(v.field);
  return out;
}

AgencyId A(AgencyType t, std::string id) { return AgencyId{"concord.test", t, std::move(id)}; }

Envelope V2() {
  Envelope e;
  e.version = EnvelopeVersion::kV2;
  e.message_id = "0123456789abcdef-msg";
  e.sender = A(AgencyType::kPolice, "pz-antwerp");
  e.recipients = {A(AgencyType::kReceptionCentre, "payoke")};
  e.case_reference = "AN.12.34/26";
  e.evaluation = EvaluationCodes{SourceReliability::kB, InformationAccuracy::k2};
  e.created_at = absl::FromUnixSeconds(1'800'000'000) + absl::Nanoseconds(123);
  e.expires_at = absl::FromUnixSeconds(1'800'086'400);
  e.body = {std::string(12, 'n'), "ct", {{"reception_centre/payoke", "E", "n", "w"}}};
  e.body_key_commitment = std::string(32, 'K');
  e.attachments.push_back(
      {"attachment-000001", "", "", 5, "", {{0, 321, std::string(32, 'a'), std::string(32, 'k')}}});
  e.forward = ForwardLink{"original-message-01", A(AgencyType::kMagistrate, "thb-antwerp"),
                          "root-message-000001", A(AgencyType::kPolice, "fgp-antwerp"),
                          ForwardPermission{"root-message-000001",
                                            A(AgencyType::kPolice, "fgp-antwerp"),
                                            {A(AgencyType::kReceptionCentre, "payoke")},
                                            absl::FromUnixSeconds(1'799'999'000),
                                            std::string(64, 'p')}};
  e.signature = std::string(64, 's');
  return e;
}

// Test that the proto carries every value of both versions, so that both sides compute the same
// canonical bytes from it.
TEST(EnvelopeProto, RoundTripsBothVersions) {
  const Envelope v2 = V2();
  v1::Envelope proto;
  EnvelopeToProto(v2, proto);
  EXPECT_EQ(proto.version(), 2u);
  auto back = EnvelopeFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v2);
  EXPECT_EQ(CanonicalEnvelope(*back), CanonicalEnvelope(v2));

  Envelope v1e = V2();
  v1e.version = EnvelopeVersion::kV1;
  v1e.body_key_commitment.clear();
  v1e.attachments[0].chunks[0].key_commitment.clear();
  v1e.attachments[0].name = "report.pdf";
  v1e.forward->root_message_id.clear();
  v1e.forward->root_sender = AgencyId{};
  EnvelopeToProto(v1e, proto);
  EXPECT_EQ(proto.version(), 1u);
  back = EnvelopeFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v1e);
  proto.clear_version();  // as every v1 client sent it
  back = EnvelopeFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, EnvelopeVersion::kV1);
}

// Test the refusals: unknown version, unspecified enums, an agency without trust domain.
TEST(EnvelopeProto, RefusesWhatCannotBeEncoded) {
  v1::Envelope proto;
  EnvelopeToProto(V2(), proto);
  proto.set_version(3);
  proto.set_handling_code(v1::HANDLING_CODE_UNSPECIFIED);
  proto.set_kind(v1::MESSAGE_KIND_UNSPECIFIED);
  proto.mutable_recipients(0)->set_type(::concord::common::v1::AGENCY_TYPE_UNSPECIFIED);
  proto.mutable_sender()->clear_trust_domain();
  proto.clear_created_at();
  const Status s = EnvelopeFromProto(proto).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field : {"envelope.version", "envelope.handling_code", "envelope.kind",
                            "envelope.recipients[0]", "envelope.sender", "envelope.created_at"}) {
    EXPECT_THAT(FieldsOf(s), Contains(field));
  }
}

}  // namespace
}  // namespace concord::envelope
