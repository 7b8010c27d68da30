#include "common/identity/caller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/test_pki.h"

namespace concord {
namespace {

using ::testing::HasSubstr;

TEST(NormalizeSerial, Forms) {
  EXPECT_EQ(NormalizeSerial("serial=00:0a:ff"), "AFF");
  EXPECT_EQ(NormalizeSerial("0x0001ab"), "1AB");
  EXPECT_EQ(NormalizeSerial("1AB"), "1AB");
  EXPECT_EQ(NormalizeSerial("000"), "0");
  EXPECT_EQ(NormalizeSerial(""), "0");
}

class CallerFromPem : public ::testing::Test {
 protected:
  concord::testing::TestPki pki_;
};

TEST_F(CallerFromPem, ValidAgencyCertificate) {
  auto files = pki_.AgencyCert(AgencyType::kPolice, "pz-brussels");
  auto caller = CallerFromPemCertificate(files.ReadCert());
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->agency, (AgencyId{"concord.test", AgencyType::kPolice, "pz-brussels"}));
  EXPECT_EQ(caller->cert_serial, files.serial);
  EXPECT_FALSE(caller->cert_serial.empty());
  EXPECT_NE(caller->cert_serial[0], '0');
}

TEST_F(CallerFromPem, RejectsMissingUriSan) {
  auto caller = CallerFromPemCertificate(pki_.CertWithoutUriSan().ReadCert());
  ASSERT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(caller.status().message()), HasSubstr("no URI SAN"));
}

TEST_F(CallerFromPem, RejectsTwoUriSans) {
  auto caller =
      CallerFromPemCertificate(pki_.CertWithTwoUriSans(AgencyType::kPolice, "x").ReadCert());
  ASSERT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(caller.status().message()), HasSubstr("more than one URI SAN"));
}

TEST_F(CallerFromPem, RejectsMalformedSpiffeIds) {
  for (const char* uri : {"spiffe://concord.test/agency/sheriff/x", "https://concord.test/x",
                          "spiffe://concord.test/service/concord-server",
                          "spiffe://concord.test/agency/police/x?admin=1"}) {
    auto caller = CallerFromPemCertificate(pki_.CertWithUriSan(uri).ReadCert());
    ASSERT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated) << uri;
    EXPECT_THAT(std::string(caller.status().message()), HasSubstr("SPIFFE ID is invalid")) << uri;
  }
}

TEST_F(CallerFromPem, RejectsGarbage) {
  EXPECT_EQ(CallerFromPemCertificate("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CallerFromPemCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace concord
