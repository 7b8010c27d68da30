#include "common/identity/agency_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace concord {
namespace {

TEST(AgencyType, NamesRoundTrip) {
  std::set<std::string_view> names;
  for (AgencyType t : kAllAgencyTypes) {
    std::string_view name = AgencyTypeName(t);
    names.insert(name);
    ASSERT_TRUE(ParseAgencyType(name).has_value()) << name;
    EXPECT_EQ(*ParseAgencyType(name), t);
  }
  EXPECT_EQ(names.size(), kAllAgencyTypes.size());
  EXPECT_EQ(AgencyTypeName(AgencyType::kReceptionCentre), "reception_centre");
  EXPECT_FALSE(ParseAgencyType("Police").has_value());
  EXPECT_FALSE(ParseAgencyType("").has_value());
  EXPECT_FALSE(ParseAgencyType("police ").has_value());
}

TEST(AgencyType, ProtoRoundTrip) {
  for (AgencyType t : kAllAgencyTypes) {
    auto back = AgencyTypeFromProto(AgencyTypeToProto(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(AgencyTypeFromProto(common::v1::AGENCY_TYPE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AgencyTypeFromProto(static_cast<common::v1::AgencyType>(42)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AgencyId, SpiffeAndKey) {
  AgencyId a{"concord.be", AgencyType::kSocialInspection, "sis-antwerp"};
  EXPECT_EQ(a.ToSpiffe(), "spiffe://concord.be/agency/social_inspection/sis-antwerp");
  EXPECT_EQ(a.Key(), "social_inspection/sis-antwerp");
  auto parsed = ParseSpiffeId(a.ToSpiffe());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, a);
  auto from_key = ParseAgencyKey("concord.be", a.Key());
  ASSERT_TRUE(from_key.ok()) << from_key.status();
  EXPECT_EQ(*from_key, a);
}

TEST(ParseSpiffeId, AcceptsValidIds) {
  for (const char* uri :
       {"spiffe://concord.be/agency/police/pz-brussels", "spiffe://a/agency/admin/0",
        "spiffe://my-td.example.org/agency/platform/x9",
        "spiffe://concord.be/agency/foreign_partner/"
        "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz"}) {
    EXPECT_TRUE(ParseSpiffeId(uri).ok()) << uri;
  }
}

TEST(ParseSpiffeId, RejectsEverythingElse) {
  for (const char* uri : {
           "",
           "spiffe://",
           "spiffe:///agency/police/x",                   // empty trust domain
           "SPIFFE://concord.be/agency/police/x",         // scheme case
           "https://concord.be/agency/police/x",          // scheme
           "spiffe:/concord.be/agency/police/x",          // not an authority
           "spiffe://Concord.be/agency/police/x",         // upper-case trust domain
           "spiffe://concord_be/agency/police/x",         // '_' in trust domain
           "spiffe://concord.be:443/agency/police/x",     // port
           "spiffe://user@concord.be/agency/police/x",    // userinfo
           "spiffe://concord.be",                         // no path
           "spiffe://concord.be/",                        // empty path
           "spiffe://concord.be/agency/police",           // missing id
           "spiffe://concord.be/agency/police/",          // empty id
           "spiffe://concord.be/agency/police/x/",        // trailing slash
           "spiffe://concord.be/agency/police/x/y",       // extra segment
           "spiffe://concord.be/agency//police/x",        // empty segment
           "spiffe://concord.be/agencies/police/x",       // wrong prefix
           "spiffe://concord.be/service/concord-server",  // not an agency
           "spiffe://concord.be/agency/sheriff/x",        // unknown type
           "spiffe://concord.be/agency/Police/x",         // type case
           "spiffe://concord.be/agency/police/X",         // id case
           "spiffe://concord.be/agency/police/-x",        // id must start alnum
           "spiffe://concord.be/agency/police/x_y",       // '_' in id
           "spiffe://concord.be/agency/police/x?y=1",     // query
           "spiffe://concord.be/agency/police/x#f",       // fragment
           "spiffe://concord.be/agency/police/%78",       // percent-encoding
           "spiffe://concord.be/agency/./police/x",       // dot segment
           "spiffe://concord.be/agency/police/x y",       // space
           "spiffe://concord.be/agency/police/"
           "a123456789012345678901234567890123456789012345678901234567890123",  // 64 chars
       }) {
    auto parsed = ParseSpiffeId(uri);
    EXPECT_FALSE(parsed.ok()) << uri;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << uri;
    }
  }
}

TEST(ParseSpiffeId, RejectsOverlongIds) {
  std::string uri = "spiffe://" + std::string(2100, 'a') + "/agency/police/x";
  EXPECT_FALSE(ParseSpiffeId(uri).ok());
}

TEST(ParseSpiffeId, RejectsEmbeddedNul) {
  std::string uri("spiffe://concord.be/agency/police/x\0y", 37);
  EXPECT_FALSE(ParseSpiffeId(uri).ok());
}

TEST(ValidateAgencyLocalId, Rules) {
  EXPECT_TRUE(ValidateAgencyLocalId("a").ok());
  EXPECT_TRUE(ValidateAgencyLocalId("0-a-b").ok());
  EXPECT_TRUE(ValidateAgencyLocalId(std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateAgencyLocalId(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateAgencyLocalId("").ok());
  EXPECT_FALSE(ValidateAgencyLocalId("-a").ok());
  EXPECT_FALSE(ValidateAgencyLocalId("a.b").ok());
  EXPECT_FALSE(ValidateAgencyLocalId("A").ok());
}

TEST(ParseAgencyKey, Rules) {
  EXPECT_TRUE(ParseAgencyKey("concord.be", "magistrate/pk-gent").ok());
  EXPECT_FALSE(ParseAgencyKey("concord.be", "magistrate").ok());
  EXPECT_FALSE(ParseAgencyKey("concord.be", "magistrate/").ok());
  EXPECT_FALSE(ParseAgencyKey("concord.be", "judge/pk-gent").ok());
  EXPECT_FALSE(ParseAgencyKey("concord.be", "magistrate/pk/gent").ok());
  EXPECT_FALSE(ParseAgencyKey("", "magistrate/pk-gent").ok());
}

}  // namespace
}  // namespace concord
