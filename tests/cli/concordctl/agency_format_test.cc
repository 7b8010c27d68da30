// Tests for cli/concordctl/agency_format.h: the key endorsement file (the JSON `concordctl keys
// rotate` writes and `directory update --endorsement` reads) and --attribute NAME=VALUE.
#include "cli/concordctl/agency_format.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "common/crypto/encoding.h"
#include "common/crypto/key_endorsement.h"
#include "tests/support/field_violations.h"

namespace concord::ctl {
namespace {

using testing::FirstViolationField;

TEST(KeyEndorsementJson, RoundTripsExactlyWithNanoseconds) {
  const crypto::Ed25519PrivateKey old_key = crypto::Ed25519PrivateKey::Generate();
  const auto e = crypto::SignKeyEndorsement("spiffe://concord.test/agency/police/pz-a", old_key,
                                            crypto::Ed25519PrivateKey::Generate().PublicKey(),
                                            crypto::X25519PrivateKey::Generate().PublicKey(),
                                            absl::FromUnixNanos(1'800'000'000'000'000'001));
  ASSERT_TRUE(e.ok());
  concord::directory::v1::KeyEndorsement proto;
  proto.set_previous_signing_key(e->previous_signing_key);
  proto.mutable_issued_at()->set_seconds(1'800'000'000);
  proto.mutable_issued_at()->set_nanos(1);
  proto.set_signature(e->signature);
  const std::string json = KeyEndorsementJson(proto);
  EXPECT_NE(json.find("\"issued_at\": \"2027-01-15T08:00:00.000000001Z\""), std::string::npos)
      << json;
  auto parsed = ParseKeyEndorsementJson("--endorsement", json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->previous_signing_key(), e->previous_signing_key);
  EXPECT_EQ(parsed->signature(), e->signature);
  EXPECT_EQ(parsed->issued_at().seconds(), 1'800'000'000);
  EXPECT_EQ(parsed->issued_at().nanos(), 1);
}

TEST(KeyEndorsementJson, RefusesMalformedFilesNamingTheFlag) {
  const std::string key = crypto::Base64Encode(std::string(32, 'k'));
  const std::string sig = crypto::Base64Encode(std::string(64, 's'));
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[]"),
           R"({"signature":")" + sig + R"(","issued_at":"2026-12-01T09:30:00Z"})",
           R"({"previous_signing_key":")" + crypto::Base64Encode("short") + R"(","signature":")" +
               sig + R"(","issued_at":"2026-12-01T09:30:00Z"})",
           R"({"previous_signing_key":")" + key + R"(","signature":")" + sig +
               R"(","issued_at":"yesterday"})",
           R"({"previous_signing_key":")" + key +
               R"(","signature":"!!!","issued_at":"2026-12-01T09:30:00Z"})",
       }) {
    const auto r = ParseKeyEndorsementJson("--endorsement", bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(FirstViolationField(r.status()), "--endorsement") << bad;
  }
  // Other members (e.g. the agency or the new keys' fingerprints) are ignored.
  EXPECT_TRUE(ParseKeyEndorsementJson("--endorsement",
                                      R"({"agency":"police/pz-a","previous_signing_key":")" + key +
                                          R"(","signature":")" + sig +
                                          R"(","issued_at":"2026-12-01T09:30:00.5+01:00"})")
                  .ok());
}

TEST(AttributeFlag, ParsesNameAndValue) {
  auto a = ParseAttributeFlag("--attribute", "time_zone=Europe/Brussels");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name(), "time_zone");
  EXPECT_EQ(a->value(), "Europe/Brussels");
  a = ParseAttributeFlag("--attribute", "recognised_centre=");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value(), "");  // reset to the default
  EXPECT_EQ(FirstViolationField(ParseAttributeFlag("--attribute", "flag").status()), "--attribute");
  EXPECT_EQ(FirstViolationField(ParseAttributeFlag("--attribute", "=true").status()),
            "--attribute");
}

}  // namespace
}  // namespace concord::ctl
