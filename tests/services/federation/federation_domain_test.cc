// Unit tests of the pure parts of the federation gateway: the configuration file and its
// allow-list / export list, and the signed directory export (signing, verification against the
// pinned key, rollback, staleness, trust domain).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_replace.h"
#include "common/crypto/key_endorsement.h"
#include "common/envelope/envelope_proto.h"
#include "services/federation/directory_export.h"
#include "services/federation/federation_config.h"
#include "tests/support/field_violations.h"

namespace concord::federation {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::string ConfigJson(const std::string& pinned_pem, const std::string& extra = "") {
  return R"({"partner_trust_domain":"partner.test","partner_address":"127.0.0.1:7544",)"
         R"("partner_ca_file":"/p/ca.pem","partner_export_key_pem":")" +
         absl::StrReplaceAll(pinned_pem, {{"\n", "\\n"}}) +
         R"(","listen_address":"127.0.0.1:7444","gateway_cert_file":"/g/cert.pem",)"
         R"("gateway_key_file":"/g/key.pem","export_key_file":"/g/export.key",)"
         R"("allow":["spiffe://partner.test/agency/magistrate/om-rotterdam"],)"
         R"("export":["spiffe://concord.test/agency/magistrate/parquet-bxl"])" +
         extra + "}";
}

// Test that a complete configuration parses and its lists decide who may cross.
TEST(FederationConfig, ParsesAndDecidesTheAllowAndExportLists) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  auto cfg = ParseFederationConfig(ConfigJson(key.PublicKey().ToPem()), "concord.test");
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->partner_trust_domain, "partner.test");
  EXPECT_EQ(cfg->refresh_interval, absl::Seconds(60));
  EXPECT_EQ(cfg->max_export_age, absl::Seconds(300));
  ASSERT_TRUE(cfg->partner_export_key.has_value());
  EXPECT_TRUE(*cfg->partner_export_key == key.PublicKey());

  const AgencyId om{"partner.test", AgencyType::kMagistrate, "om-rotterdam"};
  const AgencyId other{"partner.test", AgencyType::kPolice, "politie-nl"};
  const AgencyId same_name_local{"concord.test", AgencyType::kMagistrate, "om-rotterdam"};
  const AgencyId bxl{"concord.test", AgencyType::kMagistrate, "parquet-bxl"};
  EXPECT_TRUE(CheckAllowedPartner(*cfg, om).ok());
  const Status refused = CheckAllowedPartner(*cfg, other);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(refused), "PARTNER_NOT_ALLOWED");
  EXPECT_THAT(std::string(refused.message()), HasSubstr("politie-nl"));
  // The trust domain is part of the identity: a local agency with the partner agency's name is
  // not the partner agency.
  EXPECT_FALSE(cfg->IsAllowedPartner(same_name_local));
  EXPECT_TRUE(CheckExportedLocal(*cfg, bxl).ok());
  EXPECT_EQ(ReasonOf(CheckExportedLocal(*cfg, same_name_local)), "PARTNER_NOT_ALLOWED");
}

// Test that each configuration mistake is a field violation naming its key.
TEST(FederationConfig, RefusesMistakesNamingTheKey) {
  const std::string pem = crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem();
  auto fields = [](const StatusOr<FederationConfig>& c) {
    return testing::ViolationFields(c.status());
  };
  EXPECT_THAT(fields(ParseFederationConfig("[]", "concord.test")),
              ::testing::ElementsAre("federation-config"));
  EXPECT_THAT(fields(ParseFederationConfig(ConfigJson("not a key"), "concord.test")),
              ::testing::Contains("partner_export_key_pem"));
  // The partner's trust domain cannot be ours.
  EXPECT_THAT(fields(ParseFederationConfig(ConfigJson(pem), "partner.test")),
              ::testing::Contains("partner_trust_domain"));
  EXPECT_THAT(
      fields(ParseFederationConfig(ConfigJson(pem, R"(,"refresh_seconds":0)"), "concord.test")),
      ::testing::Contains("refresh_seconds"));
  EXPECT_THAT(
      fields(ParseFederationConfig(
          ConfigJson(pem, R"(,"refresh_seconds":60,"max_export_age_seconds":90)"), "concord.test")),
      ::testing::Contains("max_export_age_seconds"));
  std::string wrong_domain = ConfigJson(pem);
  wrong_domain =
      absl::StrReplaceAll(wrong_domain, {{"spiffe://partner.test/agency/magistrate/om-rotterdam",
                                          "spiffe://other.test/agency/magistrate/om-rotterdam"}});
  EXPECT_THAT(fields(ParseFederationConfig(wrong_domain, "concord.test")),
              ::testing::Contains("allow[0]"));
}

v1::DirectoryExport Payload(uint64_t version, absl::Time issued, const std::string& td) {
  v1::DirectoryExport p;
  p.set_trust_domain(td);
  p.set_version(version);
  envelope::TimeToProto(issued, *p.mutable_issued_at());
  v1::ExportedAgency* a = p.add_agencies();
  envelope::AgencyToProto({td, AgencyType::kMagistrate, "om-rotterdam"}, *a->mutable_agency());
  a->set_signing_public_key_pem(crypto::Ed25519PrivateKey::Generate().PublicKey().ToPem());
  a->set_sealing_public_key_pem(crypto::X25519PrivateKey::Generate().PublicKey().ToPem());
  a->set_time_zone("Europe/Amsterdam");
  return p;
}

// Test that an export signed with the pinned key verifies and yields its agencies and keys.
TEST(DirectoryExport, SignedWithThePinnedKeyVerifies) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  auto signed_export = SignExport(Payload(7, kNow, "partner.test"), key);
  ASSERT_TRUE(signed_export.ok());
  auto dir =
      VerifyExport(*signed_export, key.PublicKey(), "partner.test", 0, kNow, absl::Minutes(5));
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->version, 7u);
  ASSERT_EQ(dir->agencies.size(), 1u);
  EXPECT_EQ(dir->agencies[0].time_zone, "Europe/Amsterdam");
  EXPECT_NE(dir->Find({"partner.test", AgencyType::kMagistrate, "om-rotterdam"}), nullptr);
  EXPECT_EQ(dir->Find({"partner.test", AgencyType::kMagistrate, "other"}), nullptr);
}

// Test that another key, one flipped byte of the payload or of the signature, a rollback to an
// older version, a stale or future export, and another deployment's export are all refused.
TEST(DirectoryExport, EveryForgeryOrReplayIsRefused) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  const auto other = crypto::Ed25519PrivateKey::Generate();
  const auto good = *SignExport(Payload(7, kNow, "partner.test"), key);
  auto reason = [&](const v1::SignedDirectoryExport& e, uint64_t min_version, absl::Time now,
                    std::string_view td = "partner.test") {
    auto r = VerifyExport(e, key.PublicKey(), td, min_version, now, absl::Minutes(5));
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string("OK") : concord::ReasonOf(r.status());
  };
  EXPECT_EQ(reason(*SignExport(Payload(7, kNow, "partner.test"), other), 0, kNow),
            "EXPORT_BAD_SIGNATURE");
  auto tampered = good;
  tampered.mutable_payload()->back() ^= 1;
  EXPECT_EQ(reason(tampered, 0, kNow), "EXPORT_BAD_SIGNATURE");
  auto bad_sig = good;
  (*bad_sig.mutable_signature())[0] ^= 1;
  EXPECT_EQ(reason(bad_sig, 0, kNow), "EXPORT_BAD_SIGNATURE");
  EXPECT_EQ(reason(good, 8, kNow), "EXPORT_ROLLBACK");
  EXPECT_EQ(reason(good, 0, kNow + absl::Minutes(6)), "EXPORT_STALE");
  EXPECT_EQ(reason(good, 0, kNow - absl::Minutes(6)), "EXPORT_STALE");
  EXPECT_EQ(reason(good, 0, kNow, "elsewhere.test"), "EXPORT_WRONG_TRUST_DOMAIN");
  // An export that slips in an agency of another trust domain (e.g. ours) is refused whole.
  v1::DirectoryExport mixed = Payload(9, kNow, "partner.test");
  envelope::AgencyToProto({"concord.test", AgencyType::kPolice, "pz-1"},
                          *mixed.mutable_agencies(0)->mutable_agency());
  EXPECT_EQ(reason(*SignExport(mixed, key), 0, kNow), "EXPORT_WRONG_TRUST_DOMAIN");
  // The same version again is accepted (a refresh with no change).
  EXPECT_TRUE(VerifyExport(good, key.PublicKey(), "partner.test", 7, kNow, absl::Minutes(5)).ok());
}

}  // namespace
}  // namespace concord::federation

namespace concord::federation {
namespace {

PartnerAgency Exported(const std::string& id, const crypto::Ed25519PrivateKey& signing,
                       const crypto::X25519PrivateKey& sealing) {
  return PartnerAgency{.agency = {"partner.test", AgencyType::kMagistrate, id},
                       .display_name = id,
                       .signing_key = signing.PublicKey(),
                       .sealing_key = sealing.PublicKey(),
                       .signing_public_key_pem = signing.PublicKey().ToPem(),
                       .sealing_public_key_pem = sealing.PublicKey().ToPem(),
                       .time_zone = "Europe/Amsterdam"};
}

// Test that between two exports only an agency held by both with another signing or sealing key
// is a key change (with both fingerprints of each key), not a new or a vanished agency.
TEST(DirectoryExport, PartnerKeyChangesAreTheAgenciesWhoseKeysDiffer) {
  const auto sign_a = crypto::Ed25519PrivateKey::Generate();
  const auto seal_a = crypto::X25519PrivateKey::Generate();
  const auto seal_a2 = crypto::X25519PrivateKey::Generate();
  const auto sign_b = crypto::Ed25519PrivateKey::Generate();
  const auto seal_b = crypto::X25519PrivateKey::Generate();
  PartnerDirectory before;
  before.trust_domain = "partner.test";
  before.version = 1;
  before.issued_at = kNow;
  before.agencies = {Exported("om-rotterdam", sign_a, seal_a), Exported("om-gone", sign_b, seal_b)};
  PartnerDirectory after = before;
  after.version = 2;
  after.agencies = {Exported("om-rotterdam", sign_a, seal_a2), Exported("om-new", sign_b, seal_b)};
  EXPECT_TRUE(PartnerKeyChanges(before, before).empty());
  const std::vector<PartnerKeyChange> changes = PartnerKeyChanges(before, after);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].agency.id, "om-rotterdam");
  EXPECT_EQ(changes[0].signing_before, changes[0].signing_after);
  EXPECT_EQ(changes[0].sealing_before, crypto::KeyFingerprint(seal_a.PublicKey().Raw()));
  EXPECT_EQ(changes[0].sealing_after, crypto::KeyFingerprint(seal_a2.PublicKey().Raw()));
}

}  // namespace
}  // namespace concord::federation
