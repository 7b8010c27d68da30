// Golden bytes of the one canonical encoding (common/envelope/envelope_encoding.h): a stored v1
// envelope encoded by the code before v2 existed must decode and hash exactly as then, and the
// v2 layout of docs/crypto.md "Messaging envelope" is pinned byte for byte (the same bytes are
// recomputed from the documentation alone by tests/integration/grpc_probe.py).
#include "common/envelope/envelope_encoding.h"

#include <gtest/gtest.h>

#include "common/crypto/encoding.h"
#include "common/crypto/hash.h"
#include "common/envelope/chunk.h"
#include "common/envelope/receipt.h"

namespace concord::envelope {
namespace {

AgencyId A(AgencyType t, std::string id) { return AgencyId{"concord.test", t, std::move(id)}; }

std::string Hex(std::string_view bytes) { return crypto::HexEncode(bytes); }

// Every field of the v1 layout set (the envelope of the golden bytes below).
Envelope GoldenV1() {
  Envelope e;
  e.version = EnvelopeVersion::kV1;
  e.message_id = "golden-message-0001";
  e.sender = A(AgencyType::kPolice, "pz-antwerp");
  e.recipients = {A(AgencyType::kReceptionCentre, "payoke"),
                  A(AgencyType::kMagistrate, "thb-antwerp")};
  e.thread_id = "thread-1";
  e.case_reference = "AN.12.34/26";
  e.kind = MessageKind::kRequest;
  e.classification = Classification::kConfidential;
  e.handling_code = HandlingCode::kH3;
  e.handling_text = "no disclosure before trial";
  e.evaluation = EvaluationCodes{SourceReliability::kB, InformationAccuracy::k2};
  e.created_at = absl::FromUnixSeconds(1'800'000'000) + absl::Nanoseconds(123);
  e.expires_at = absl::FromUnixSeconds(1'800'086'400);
  e.body.nonce = "NNNNNNNNNNNN";
  e.body.ciphertext = "ciphertext-with-tag";
  for (const AgencyId& r : e.recipients) {
    e.body.keys.push_back(
        {r.Key(), std::string(32, 'E'), std::string(12, 'n'), std::string(48, 'w')});
  }
  e.attachments.push_back({"attachment-000001",
                           "report.pdf",
                           "application/pdf",
                           5,
                           std::string(32, 'h'),
                           {{0, 321, std::string(32, 'a'), ""}}});
  e.in_reply_to = "original-message-01";
  ForwardPermission p{"original-message-01",
                      A(AgencyType::kMagistrate, "thb-antwerp"),
                      {A(AgencyType::kReceptionCentre, "payoke")},
                      absl::FromUnixSeconds(1'799'999'000),
                      std::string(64, 'p')};
  e.forward = ForwardLink{"original-message-01", A(AgencyType::kMagistrate, "thb-antwerp"), "",
                          AgencyId{}, p};
  e.signature = std::string(64, 's');
  return e;
}

// The stored form of GoldenV1() as written by the v1 encoder (services/messaging/envelope.cc
// before envelope v2): what Redis holds for messages accepted before the upgrade.
constexpr char kGoldenV1StoredHex[] =
    "000000001d636f6e636f72642e6d6573736167696e672e656e76656c6f70652e76310100000013676f6c6465"
    "6e2d6d6573736167652d30303031020000002e7370696666653a2f2f636f6e636f72642e746573742f616765"
    "6e63792f706f6c6963652f707a2d616e74776572700300000002000000347370696666653a2f2f636f6e636f"
    "72642e746573742f6167656e63792f726563657074696f6e5f63656e7472652f7061796f6b65000000337370"
    "696666653a2f2f636f6e636f72642e746573742f6167656e63792f6d6167697374726174652f7468622d616e"
    "747765727004000000087468726561642d31050000000b414e2e31322e33342f323606000000000000000207"
    "0000000000000003080000000000000004090000001a6e6f20646973636c6f73757265206265666f72652074"
    "7269616c0a00000000000000020b00000000000000020c18fae27693b4007b0d18fb310b250300000e000000"
    "0c4e4e4e4e4e4e4e4e4e4e4e4e0f00000013636970686572746578742d776974682d74616710000000000000"
    "00021100000017726563657074696f6e5f63656e7472652f7061796f6b651200000020454545454545454545"
    "4545454545454545454545454545454545454545454545130000000c6e6e6e6e6e6e6e6e6e6e6e6e14000000"
    "3077777777777777777777777777777777777777777777777777777777777777777777777777777777777777"
    "777777777711000000166d6167697374726174652f7468622d616e7477657270120000002045454545454545"
    "45454545454545454545454545454545454545454545454545130000000c6e6e6e6e6e6e6e6e6e6e6e6e1400"
    "0000307777777777777777777777777777777777777777777777777777777777777777777777777777777777"
    "7777777777777715000000000000000116000000116174746163686d656e742d303030303031170000000a72"
    "65706f72742e706466180000000f6170706c69636174696f6e2f7064661900000000000000051a0000002068"
    "686868686868686868686868686868686868686868686868686868686868681b00000000000000011c000000"
    "00000000001d00000000000001411e0000002061616161616161616161616161616161616161616161616161"
    "616161616161611f000000136f726967696e616c2d6d6573736167652d303120000000000000000121000000"
    "136f726967696e616c2d6d6573736167652d303122000000337370696666653a2f2f636f6e636f72642e7465"
    "73742f6167656e63792f6d6167697374726174652f7468622d616e7477657270230000000000000001240000"
    "00c20000000027636f6e636f72642e6d6573736167696e672e666f72776172645f7065726d697373696f6e2e"
    "763101000000136f726967696e616c2d6d6573736167652d303102000000337370696666653a2f2f636f6e63"
    "6f72642e746573742f6167656e63792f6d6167697374726174652f7468622d616e7477657270030000000100"
    "0000347370696666653a2f2f636f6e636f72642e746573742f6167656e63792f726563657074696f6e5f6365"
    "6e7472652f7061796f6b650418fae18dbf0ef000250000004070707070707070707070707070707070707070"
    "7070707070707070707070707070707070707070707070707070707070707070707070707070707070707070"
    "703f000000407373737373737373737373737373737373737373737373737373737373737373737373737373"
    "7373737373737373737373737373737373737373737373737373";

// The same facts in a v2 envelope: what v1 had in clear and v2 seals is empty, and the key
// commitments and the root of the forward chain are set.
Envelope GoldenV2() {
  Envelope e = GoldenV1();
  e.version = EnvelopeVersion::kV2;
  e.handling_text.clear();
  e.attachments[0].name.clear();
  e.attachments[0].media_type.clear();
  e.attachments[0].sha256.clear();
  e.attachments[0].chunks[0].key_commitment = std::string(32, 'k');
  e.body_key_commitment = std::string(32, 'K');
  e.forward->root_message_id = "root-message-000001";
  e.forward->root_sender = A(AgencyType::kSocialInspection, "sis-antwerp");
  return e;
}

std::string Sha256Hex(std::string_view bytes) { return crypto::Sha256Hex(bytes); }

// Test that a stored v1 envelope decodes to the same values, re-encodes to the same bytes and
// keeps its hash and signed bytes: old messages still verify and their receipts still match.
TEST(EnvelopeEncoding, StoredV1GoldenBytes) {
  auto stored = crypto::HexDecode(kGoldenV1StoredHex);
  ASSERT_TRUE(stored.ok());
  auto decoded = DecodeStoredEnvelope(*stored);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, GoldenV1());
  EXPECT_EQ(decoded->version, EnvelopeVersion::kV1);
  EXPECT_EQ(EncodeStoredEnvelope(GoldenV1()), *stored);
  EXPECT_EQ(Sha256Hex(CanonicalEnvelope(GoldenV1())),
            "b3c98dba363affeaa0ad66893f4cdf002c8d5dc79f0e2e958e02fff7364f642b");
  EXPECT_EQ(Hex(EnvelopeSha256(GoldenV1())),
            "9e2b43c06b23797e83f1d553ee0bf4e8c2417ae161cf1f7d9aa9b20d787bc6ba");
  EXPECT_EQ(Hex(CanonicalForwardPermission(*GoldenV1().forward->permission, EnvelopeVersion::kV1)),
            "0000000027636f6e636f72642e6d6573736167696e672e666f72776172645f7065726d697373696f6e2e"
            "763101000000136f726967696e616c2d6d6573736167652d303102000000337370696666653a2f2f63"
            "6f6e636f72642e746573742f6167656e63792f6d6167697374726174652f7468622d616e7477657270"
            "0300000001000000347370696666653a2f2f636f6e636f72642e746573742f6167656e63792f726563"
            "657074696f6e5f63656e7472652f7061796f6b650418fae18dbf0ef000");
}

// Test the v2 layout byte for byte (docs/crypto.md "Messaging envelope").
TEST(EnvelopeEncoding, V2GoldenBytes) {
  const Envelope e = GoldenV2();
  const std::string canonical = CanonicalEnvelope(e);
  EXPECT_EQ(canonical.substr(0, 34),
            std::string("\x00\x00\x00\x00\x1d", 5) + "concord.messaging.envelope.v2");
  EXPECT_EQ(canonical.size(), 1291u);
  EXPECT_EQ(Sha256Hex(canonical),
            "65f664534412521b337c6a64244667033e888872ecf94abc735ba42552cd0bcf");
  EXPECT_EQ(Hex(EnvelopeSha256(e)),
            "7909bb655ae2e3541a8c91b0a9b4b6e6aeee2ea987b363d73e69f11d1d5aa75e");
  EXPECT_EQ(Hex(CanonicalForwardPermission(*e.forward->permission)),
            "0000000027636f6e636f72642e6d6573736167696e672e666f72776172645f7065726d697373696f6e2e"
            "763201000000136f726967696e616c2d6d6573736167652d303102000000337370696666653a2f2f636f"
            "6e636f72642e746573742f6167656e63792f6d6167697374726174652f7468622d616e74776572700300"
            "000001000000347370696666653a2f2f636f6e636f72642e746573742f6167656e63792f726563657074"
            "696f6e5f63656e7472652f7061796f6b650418fae18dbf0ef000");
  // What v2 seals is not in the signed bytes; what v2 adds is.
  for (const std::string& sealed :
       {std::string("report.pdf"), std::string("application/pdf"), std::string(32, 'h'),
        std::string("no disclosure before trial")}) {
    EXPECT_EQ(canonical.find(sealed), std::string::npos) << sealed;
  }
  for (const std::string& added :
       {std::string(32, 'K'), std::string(32, 'k'), std::string("root-message-000001")}) {
    EXPECT_NE(canonical.find(added), std::string::npos) << added;
  }
}

// Test that each version decodes from its stored form, and that nothing else does.
TEST(EnvelopeEncoding, StoredFormRoundTripsAndRefusesMalformedBytes) {
  for (const Envelope& e : {GoldenV1(), GoldenV2()}) {
    auto decoded = DecodeStoredEnvelope(EncodeStoredEnvelope(e));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, e);
  }
  const std::string bytes = EncodeStoredEnvelope(GoldenV2());
  EXPECT_EQ(DecodeStoredEnvelope(bytes.substr(0, bytes.size() - 1)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStoredEnvelope(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStoredEnvelope("").status().code(), absl::StatusCode::kDataLoss);
  std::string wrong_tag = bytes;
  wrong_tag[0] = 5;
  EXPECT_EQ(DecodeStoredEnvelope(wrong_tag).status().code(), absl::StatusCode::kDataLoss);
  std::string v3 = bytes;
  v3[33] = '3';  // "concord.messaging.envelope.v3"
  EXPECT_EQ(DecodeStoredEnvelope(v3).status().code(), absl::StatusCode::kDataLoss);
}

// Test that every signed field changes the signed bytes, and the signature only the hash.
TEST(EnvelopeEncoding, CoversEveryField) {
  const Envelope base = GoldenV2();
  EXPECT_EQ(CanonicalEnvelope(base), CanonicalEnvelope(GoldenV2()));
  std::vector<Envelope> variants(16, base);
  variants[0].message_id += "x";
  variants[1].recipients.pop_back();
  variants[2].thread_id = "other";
  variants[3].handling_code = HandlingCode::kH2;
  variants[4].evaluation.reset();
  variants[5].created_at += absl::Nanoseconds(1);
  variants[6].body.ciphertext[3] ^= 1;
  variants[7].body.keys[0].ciphertext[0] ^= 1;
  variants[8].attachments[0].chunks[0].sha256[0] ^= 1;
  variants[9].in_reply_to = "0123456789abcdef-req";
  variants[10].forward.reset();
  variants[11].case_reference = "AN.12.35/26";
  variants[12].body_key_commitment[0] ^= 1;
  variants[13].attachments[0].chunks[0].key_commitment[0] ^= 1;
  variants[14].forward->root_message_id = "root-message-000002";
  variants[15].version = EnvelopeVersion::kV1;
  for (const Envelope& v : variants) EXPECT_NE(CanonicalEnvelope(v), CanonicalEnvelope(base));
  Envelope resigned = base;
  resigned.signature = std::string(64, 't');
  EXPECT_EQ(CanonicalEnvelope(resigned), CanonicalEnvelope(base));
  EXPECT_NE(EnvelopeSha256(resigned), EnvelopeSha256(base));
  EXPECT_EQ(EnvelopeSha256(base).size(), 32u);
}

// Test the receipt and chunk encodings, unchanged by v2 (golden bytes of the v1 code).
TEST(EnvelopeEncoding, ReceiptAndChunkGoldenBytes) {
  const Receipt r{"golden-message-0001",
                  std::string(32, 'x'),
                  A(AgencyType::kReceptionCentre, "payoke"),
                  ReceiptKind::kRead,
                  absl::FromUnixSeconds(1'800'000'100),
                  std::string(64, 'r')};
  EXPECT_EQ(Hex(CanonicalReceipt(r)),
            "000000001c636f6e636f72642e6d6573736167696e672e726563656970742e76310100000013676f6c"
            "64656e2d6d6573736167652d303030310200000020787878787878787878787878787878787878787878"
            "787878787878787878787803000000347370696666653a2f2f636f6e636f72642e746573742f616765"
            "6e63792f726563657074696f6e5f63656e7472652f7061796f6b650400000000000000020518fae28d"
            "dc2ae800");
  const SealedBox b{"NNNNNNNNNNNN",
                    "chunk-ciphertext",
                    {{"reception_centre/payoke", std::string(32, 'E'), std::string(12, 'n'),
                      std::string(48, 'w')}}};
  const std::string chunk = CanonicalChunk("attachment-000001", 0, b);
  EXPECT_EQ(Hex(chunk),
            "000000001a636f6e636f72642e6d6573736167696e672e6368756e6b2e76310100000011617474616368"
            "6d656e742d303030303031020000000000000000030000000c4e4e4e4e4e4e4e4e4e4e4e4e0400000010"
            "6368756e6b2d636970686572746578740500000000000000010600000017726563657074696f6e5f6365"
            "6e7472652f7061796f6b6507000000204545454545454545454545454545454545454545454545454545"
            "454545454545080000000c6e6e6e6e6e6e6e6e6e6e6e6e09000000307777777777777777777777777777"
            "77777777777777777777777777777777777777777777777777777777777777777777");
  auto back = DecodeCanonicalChunk(chunk, "attachment-000001", 0);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, b);
  EXPECT_EQ(DecodeCanonicalChunk(chunk, "attachment-000002", 0).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeCanonicalChunk(chunk, "attachment-000001", 1).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ChunkAad("attachment-000001", 12), "concord.messaging.chunk.v1|attachment-000001|12");
}

}  // namespace
}  // namespace concord::envelope
