// Component test of concord.guidelines.v1 over real mTLS and the real authorization table, with a
// real redis-server and the real module (guidelines_test_util.h). Covers the acceptance of the
// guidelines issue that is about single calls: a version altered in Redis fails verification in
// Get and in the agency library, naming the version; non-publishers cannot publish or withdraw;
// agencies outside the audience see nothing of a version (NOT_FOUND); the compliance figures
// after a scripted mix of acknowledgements, duplicates, late ones, a later-registered agency, a
// suspension and a superseding version, each expectation computed by hand from the rules of
// docs/guidelines.md. Tampering writes Redis directly, as an intruder would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "common/crypto/encoding.h"
#include "common/quota/storage_guard.h"
#include "tests/services/guidelines/guidelines_test_util.h"
#include "tests/support/field_limit_cases.h"
#include "tests/support/field_violations.h"

namespace concord::guidelines::testing {
namespace {

using T = AgencyType;

std::vector<std::string> Keys(
    const google::protobuf::RepeatedPtrField<gv1::AgencyCompliance>& items) {
  std::vector<std::string> out;
  for (const auto& a : items) {
    out.push_back(std::string(AgencyTypeName(*AgencyTypeFromProto(a.agency().type()))) + "/" +
                  a.agency().id());
  }
  return out;
}

class GuidelinesServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = std::make_unique<GuidelinesHarness>();
    icu_ = h_->Register(T::kCoordinationUnit, "icu-thb");
    college_ = h_->Register(T::kMagistrate, "college-thb", {{"guideline_publisher", "true"}});
    magistrate_ = h_->Register(T::kMagistrate, "parquet-bxl");
    p1_ = h_->Register(T::kPolice, "pz-one");
    p2_ = h_->Register(T::kPolice, "pz-two");
    p3_ = h_->Register(T::kPolice, "pz-three");
    c1_ = h_->Register(T::kReceptionCentre, "pag-asa");
    c2_ = h_->Register(T::kReceptionCentre, "payoke");
    oe_ = h_->Register(T::kImmigrationOffice, "dvz-minteh");
  }

  gv1::GetResponse MustGet(const Agent& a, const std::string& id, int64_t n = 0) {
    gv1::GetRequest req;
    req.set_guideline_id(id);
    req.set_version(n);
    StatusOr<gv1::GetResponse> got = a.Client().GetVerified(req);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : gv1::GetResponse{};
  }

  Status Get(const Agent& a, const std::string& id, int64_t n = 0) {
    gv1::GetRequest req;
    req.set_guideline_id(id);
    req.set_version(n);
    return a.Client().Get(req).status();
  }

  StatusOr<gv1::AcknowledgeResponse> Ack(const Agent& a, const std::string& id, int64_t n,
                                         const std::string& sha) {
    return a.Client("officer-" + a.id.id).Acknowledge(id, n, sha);
  }

  std::unique_ptr<GuidelinesHarness> h_;
  Agent icu_, college_, magistrate_, p1_, p2_, p3_, c1_, c2_, oe_;
};

// Publish, then read: the agency library verifies what the server returns, the server verified
// it too; the served language follows the caller's preferences; the publication is audited.
TEST_F(GuidelinesServiceTest, PublishedVersionIsReadAndVerified) {
  StatusOr<gv1::PublishResponse> pub =
      h_->Publish(icu_, h_->Draft(icu_, "definition", 1, {T::kPolice, T::kReceptionCentre}));
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_FALSE(pub->duplicate());
  EXPECT_TRUE(pub->effective());
  EXPECT_EQ(pub->audience_size(), 5);  // p1, p2, p3, c1, c2
  EXPECT_EQ(pub->sha256(), guideline::VersionSha256(h_->Draft(icu_, "definition", 1,
                                                              {T::kPolice, T::kReceptionCentre})));

  gv1::GetRequest req;
  req.set_guideline_id("definition");
  req.add_preferred_languages("nl");
  StatusOr<gv1::GetResponse> got = p1_.Client().GetVerified(req);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->served_language(), "nl");
  EXPECT_EQ(got->version().contents_size(), 2);  // every language: the signature covers them
  EXPECT_TRUE(got->status().in_force());
  EXPECT_TRUE(got->status().addressed());
  EXPECT_FALSE(got->status().acknowledged());

  // The same signed version again is a duplicate; other bytes under the number are refused.
  StatusOr<guideline::SignedVersion> again = guideline::SignVersion(
      h_->Draft(icu_, "definition", 1, {T::kPolice, T::kReceptionCentre}), icu_.signing);
  ASSERT_TRUE(again.ok());
  StatusOr<gv1::PublishResponse> dup = icu_.Client().Publish(*again);
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_TRUE(dup->duplicate());
  const Status other =
      h_->Publish(icu_, h_->Draft(icu_, "definition", 1, {T::kPolice}, {}, false, "Autre texte.\n"))
          .status();
  EXPECT_EQ(other.code(), absl::StatusCode::kAborted) << other;

  bool audited = false;
  for (const audit::AuditEvent& e : h_->audit().events()) {
    if (e.method == "/concord.guidelines.v1.Guidelines/Publish" &&
        e.object == "guideline:definition@1" && e.outcome == "OK") {
      audited = e.operation == audit::Operation::kCollection && e.agency == icu_.id;
    }
  }
  EXPECT_TRUE(audited);
}

// Acceptance: a version altered in Redis fails verification in Get and in the client, naming
// the version.
TEST_F(GuidelinesServiceTest, VersionAlteredInRedisFailsInGetAndInTheClient) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "non-punishment", 1, {T::kPolice})).ok());
  const std::string key = "concord:{gl}:v:non-punishment:1";
  StatusOr<redis::Reply> stored = h_->redis().Command({"HMGET", key, "c", "sig", "sha"});
  ASSERT_TRUE(stored.ok());
  const std::string original = stored->elements[0].str;
  const std::string sig = stored->elements[1].str;
  const std::string sha = stored->elements[2].str;

  // The intruder changes the text and, to be thorough, the stored hash with it.
  std::string altered = original;
  const size_t at = altered.find("Texte de la version.");
  ASSERT_NE(at, std::string::npos);
  altered.replace(at, 5, "Texto");
  StatusOr<guideline::Version> decoded = guideline::ParseVersionBytes(altered);
  ASSERT_TRUE(decoded.ok());
  for (bool recompute_hash : {false, true}) {
    const std::string new_sha = recompute_hash ? guideline::VersionSha256(*decoded) : sha;
    ASSERT_TRUE(h_->redis().Command({"HSET", key, "c", altered, "sha", new_sha}).ok());

    // In Get (the server verifies before it serves).
    const Status get = Get(p1_, "non-punishment", 1);
    EXPECT_EQ(get.code(), absl::StatusCode::kDataLoss) << get;
    EXPECT_EQ(ReasonOf(get), "VERSION_VERIFICATION_FAILED");
    EXPECT_NE(std::string(get.message()).find("guideline non-punishment version 1"),
              std::string::npos)
        << get;
    EXPECT_EQ(Get(p1_, "non-punishment", 0).code(), absl::StatusCode::kDataLoss);

    // In the client: the agency library, given the altered stored version, refuses it too.
    gv1::GuidelineVersion as_served;
    guideline::SignedVersionToProto(guideline::SignedVersion{*decoded, sig}, new_sha, as_served);
    const Status client = p1_.Client().Verify(as_served);
    EXPECT_EQ(client.code(), absl::StatusCode::kDataLoss) << client;
    EXPECT_NE(std::string(client.message()).find("guideline non-punishment version 1"),
              std::string::npos)
        << client;
    StatusOr<guideline::SignedVersion> direct =
        gc::VerifyReceivedVersion(as_served, icu_.signing.PublicKey());
    EXPECT_EQ(ReasonOf(direct.status()), "VERSION_VERIFICATION_FAILED");
  }

  // Restored, it verifies again.
  ASSERT_TRUE(h_->redis().Command({"HSET", key, "c", original, "sha", sha}).ok());
  EXPECT_TRUE(Get(p1_, "non-punishment", 1).ok());
  // A replaced signature is caught as well.
  std::string bad_sig = sig;
  bad_sig[0] ^= 1;
  ASSERT_TRUE(h_->redis().Command({"HSET", key, "sig", bad_sig}).ok());
  EXPECT_EQ(ReasonOf(Get(p1_, "non-punishment", 1)), "VERSION_VERIFICATION_FAILED");
}

// Acceptance: non-publishers cannot publish or withdraw.
TEST_F(GuidelinesServiceTest, OnlyPublishersPublishAndWithdraw) {
  // The policy table: a police unit never publishes.
  const Status police = h_->Publish(p1_, h_->Draft(p1_, "police-own", 1, {T::kPolice})).status();
  EXPECT_EQ(police.code(), absl::StatusCode::kPermissionDenied) << police;
  EXPECT_NE(std::string(police.message()).find("guidelines.publish"), std::string::npos);
  // A magistrate without the directory attribute.
  const Status plain =
      h_->Publish(magistrate_, h_->Draft(magistrate_, "mag-own", 1, {T::kPolice})).status();
  EXPECT_EQ(plain.code(), absl::StatusCode::kPermissionDenied) << plain;
  EXPECT_EQ(ReasonOf(plain), "NO_PUBLISHER_RIGHT");
  // A magistrates' college given the right publishes.
  ASSERT_TRUE(h_->Publish(college_, h_->Draft(college_, "college-own", 1, {T::kPolice})).ok());
  // A coordination unit whose record withdraws the default right does not.
  Agent other_cu =
      h_->Register(T::kCoordinationUnit, "cu-without", {{"guideline_publisher", "false"}});
  EXPECT_EQ(
      ReasonOf(h_->Publish(other_cu, h_->Draft(other_cu, "cu-own", 1, {T::kPolice})).status()),
      "NO_PUBLISHER_RIGHT");

  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "indicators", 1, {T::kPolice})).ok());
  // Another publisher cannot publish the next version of someone else's guideline.
  EXPECT_EQ(
      ReasonOf(h_->Publish(college_, h_->Draft(college_, "indicators", 2, {T::kPolice})).status()),
      "NOT_GUIDELINE_PUBLISHER");
  // A version signed by another key than the caller's directory key.
  guideline::Version forged = h_->Draft(icu_, "indicators", 2, {T::kPolice});
  StatusOr<guideline::SignedVersion> forged_signed =
      guideline::SignVersion(forged, crypto::Ed25519PrivateKey::Generate());
  ASSERT_TRUE(forged_signed.ok());
  EXPECT_EQ(ReasonOf(icu_.Client().Publish(*forged_signed).status()), "BAD_SIGNATURE");

  const std::string sha = MustGet(p1_, "indicators").version().sha256();
  auto withdraw = [&](const Agent& by) {
    guideline::Withdrawal w{.guideline_id = "indicators",
                            .version = 1,
                            .version_sha256 = sha,
                            .withdrawn_by = by.id,
                            .withdrawn_at = h_->clock().Now(),
                            .reason = "test"};
    StatusOr<guideline::SignedWithdrawal> s = guideline::SignWithdrawal(w, by.signing);
    EXPECT_TRUE(s.ok());
    return by.Client().Withdraw(*s).status();
  };
  EXPECT_EQ(withdraw(p1_).code(), absl::StatusCode::kPermissionDenied);  // the policy table
  EXPECT_EQ(ReasonOf(withdraw(magistrate_)), "NO_PUBLISHER_RIGHT");
  EXPECT_EQ(ReasonOf(withdraw(college_)), "NOT_GUIDELINE_PUBLISHER");
  EXPECT_TRUE(MustGet(p1_, "indicators").status().withdrawal().reason().empty());
  EXPECT_TRUE(withdraw(icu_).ok());
  EXPECT_EQ(MustGet(p1_, "indicators", 1).status().withdrawal().reason(), "test");
  // Withdrawn and nothing else in force.
  EXPECT_EQ(ReasonOf(Get(p1_, "indicators", 0)), "NO_VERSION_IN_FORCE");
  // The refusals are audited with their outcome.
  int refused = 0;
  for (const audit::AuditEvent& e : h_->audit().events()) {
    if (e.method == "/concord.guidelines.v1.Guidelines/Withdraw" &&
        e.outcome == "PERMISSION_DENIED") {
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);  // the policy table's refusal of police happens before the handler
}

// Acceptance: agencies outside the audience see nothing of the version: NOT_FOUND, exactly as
// for a version that does not exist.
TEST_F(GuidelinesServiceTest, AgenciesOutsideTheAudienceSeeNothing) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "knowing-use", 1, {T::kPolice}, {c1_.id})).ok());
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "knowing-use", 2, {T::kPolice}, {c1_.id})).ok());
  const std::string sha = MustGet(p1_, "knowing-use").version().sha256();

  const Status missing = Get(oe_, "no-such-guideline");
  for (const Agent* outsider : {&oe_, &c2_}) {
    const Status s = Get(*outsider, "knowing-use");
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_EQ(std::string(s.message()), "guideline knowing-use not found");
    EXPECT_EQ(ReasonOf(s), "GUIDELINE_NOT_FOUND");
    EXPECT_EQ(Get(*outsider, "knowing-use", 1).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(Get(*outsider, "knowing-use", 7).code(), absl::StatusCode::kNotFound);

    gv1::ListRequest list;
    list.set_include_superseded(true);
    StatusOr<gv1::ListResponse> listed = outsider->Client().List(list);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->versions_size(), 0);

    gv1::DiffRequest diff;
    diff.set_guideline_id("knowing-use");
    diff.set_from_version(1);
    diff.set_to_version(2);
    diff.set_language("fr");
    auto stub = outsider->Stub();
    gv1::DiffResponse diff_resp;
    EXPECT_EQ(stub->Diff(Ctx().get(), diff, &diff_resp).error_code(), grpc::StatusCode::NOT_FOUND);

    const Status ack = Ack(*outsider, "knowing-use", 2, sha).status();
    EXPECT_EQ(ack.code(), absl::StatusCode::kNotFound) << ack;
  }
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(missing.message()), "guideline no-such-guideline not found");

  // Inside: the named centre and any police unit.
  EXPECT_TRUE(Get(c1_, "knowing-use").ok());
  EXPECT_TRUE(Get(p3_, "knowing-use", 1).ok());
  // A public version is visible to all, but only its audience acknowledges it.
  ASSERT_TRUE(
      h_->Publish(icu_, h_->Draft(icu_, "leaflet", 1, {T::kReceptionCentre}, {}, true)).ok());
  const std::string leaflet = MustGet(oe_, "leaflet").version().sha256();
  EXPECT_EQ(ReasonOf(Ack(oe_, "leaflet", 1, leaflet).status()), "NOT_ADDRESSED");
  EXPECT_TRUE(Ack(c2_, "leaflet", 1, leaflet).ok());
}

TEST_F(GuidelinesServiceTest, AcknowledgeRulesAndDiff) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "victim-status", 1, {T::kPolice}, {}, false,
                                          "Ligne un.\nLigne deux.\nLigne trois.\n"))
                  .ok());
  const std::string sha1 = MustGet(p1_, "victim-status").version().sha256();
  // The officer is required.
  auto stub = p1_.Stub();
  gv1::AcknowledgeRequest req;
  req.set_guideline_id("victim-status");
  req.set_version(1);
  req.set_sha256(sha1);
  gv1::AcknowledgeResponse resp;
  const grpc::Status no_officer = stub->Acknowledge(Ctx("").get(), req, &resp);
  EXPECT_EQ(no_officer.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReasonOf(FromGrpcStatus(no_officer)), "OFFICER_REQUIRED");
  // The hash of other content.
  EXPECT_EQ(ReasonOf(Ack(p1_, "victim-status", 1, std::string(32, 'x')).status()),
            "SHA256_MISMATCH");
  StatusOr<gv1::AcknowledgeResponse> first = Ack(p1_, "victim-status", 1, sha1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate());
  EXPECT_TRUE(first->counted());
  h_->clock().Advance(absl::Minutes(5));
  StatusOr<gv1::AcknowledgeResponse> second = Ack(p1_, "victim-status", 1, sha1);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->duplicate());
  EXPECT_EQ(second->acknowledged_at().seconds(), first->acknowledged_at().seconds());
  EXPECT_TRUE(MustGet(p1_, "victim-status").status().acknowledged());
  // The officer is in the audit record (sealed at rest), not in Redis.
  bool officer_audited = false;
  for (const audit::AuditEvent& e : h_->audit().events()) {
    if (e.method == "/concord.guidelines.v1.Guidelines/Acknowledge" && e.outcome == "OK") {
      officer_audited = e.officer == "officer-pz-one" && e.object == "guideline:victim-status@1";
    }
  }
  EXPECT_TRUE(officer_audited);
  StatusOr<redis::Reply> acks =
      h_->redis().Command({"HGETALL", "concord:{gl}:ack:victim-status:1"});
  ASSERT_TRUE(acks.ok());
  for (const redis::Reply& r : acks->elements) EXPECT_EQ(r.str.find("officer"), std::string::npos);

  // Diff between two versions, both verified by the library.
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "victim-status", 2, {T::kPolice}, {}, false,
                                          "Ligne un.\nLigne 2.\nLigne trois.\nLigne quatre.\n"))
                  .ok());
  gv1::DiffRequest diff;
  diff.set_guideline_id("victim-status");
  diff.set_from_version(1);
  diff.set_to_version(2);
  diff.set_language("fr");
  StatusOr<gv1::DiffResponse> d = p2_.Client().Diff(diff);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->deleted(), 1);
  EXPECT_EQ(d->inserted(), 2);
  std::string rendered;
  for (const gv1::DiffLine& l : d->lines()) {
    rendered += (l.op() == gv1::DiffLine::OP_EQUAL    ? " "
                 : l.op() == gv1::DiffLine::OP_DELETE ? "-"
                                                      : "+") +
                l.text() + "\n";
  }
  EXPECT_EQ(rendered, " Ligne un.\n-Ligne deux.\n+Ligne 2.\n Ligne trois.\n+Ligne quatre.\n");
  diff.set_language("de");
  EXPECT_EQ(ReasonOf(p2_.Client().Diff(diff).status()), "LANGUAGE_NOT_IN_VERSION");

  // A withdrawn version cannot be acknowledged.
  const std::string sha2 = MustGet(p2_, "victim-status").version().sha256();
  guideline::Withdrawal w{.guideline_id = "victim-status",
                          .version = 2,
                          .version_sha256 = sha2,
                          .withdrawn_by = icu_.id,
                          .withdrawn_at = h_->clock().Now() - absl::Minutes(10),
                          .reason = "error in the text"};
  StatusOr<guideline::SignedWithdrawal> sw = guideline::SignWithdrawal(w, icu_.signing);
  ASSERT_TRUE(sw.ok());
  EXPECT_EQ(ReasonOf(icu_.Client().Withdraw(*sw).status()), "OUTSIDE_REPLAY_WINDOW");
  w.withdrawn_at = h_->clock().Now();
  sw = guideline::SignWithdrawal(w, icu_.signing);
  ASSERT_TRUE(icu_.Client().Withdraw(*sw).ok());
  StatusOr<gv1::WithdrawResponse> dup = icu_.Client().Withdraw(*sw);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate());
  EXPECT_EQ(ReasonOf(Ack(p2_, "victim-status", 2, sha2).status()), "VERSION_WITHDRAWN");
  // Version 1 is in force again.
  EXPECT_EQ(MustGet(p2_, "victim-status").version().version(), 1);
}

// Acceptance: compliance figures are exact after a scripted mix of acknowledgements, duplicates,
// late ones, a later-registered agency, a suspension and a superseding version. Every expected
// value below is worked out by hand from docs/guidelines.md "Compliance rules".
TEST_F(GuidelinesServiceTest, ComplianceFiguresAfterAScriptedMix) {
  // Audience of version 1: police and reception centres by type, and one named magistrate.
  // Registered now: p1, p2, p3, c1, c2 and magistrate parquet-bxl -> frozen audience of 6.
  const absl::Time t0 = h_->clock().Now();
  StatusOr<gv1::PublishResponse> v1 = h_->Publish(
      icu_, h_->Draft(icu_, "mix", 1, {T::kPolice, T::kReceptionCentre}, {magistrate_.id}));
  ASSERT_TRUE(v1.ok()) << v1.status();
  ASSERT_EQ(v1->audience_size(), 6);
  const std::string sha1 = v1->sha256();

  h_->clock().Set(t0 + absl::Hours(1));
  ASSERT_TRUE(Ack(p1_, "mix", 1, sha1).ok());  // p1: on time
  h_->clock().Set(t0 + absl::Hours(2));
  ASSERT_TRUE(Ack(p1_, "mix", 1, sha1)->duplicate());  // p1 again: the first stands
  Agent p4 = h_->Register(T::kPolice, "pz-four");      // registered after publication
  StatusOr<gv1::AcknowledgeResponse> p4_ack = Ack(p4, "mix", 1, sha1);
  ASSERT_TRUE(p4_ack.ok()) << p4_ack.status();
  EXPECT_FALSE(p4_ack->counted());             // outside the frozen audience
  ASSERT_TRUE(Ack(c1_, "mix", 1, sha1).ok());  // c1: on time
  h_->clock().Set(t0 + absl::Hours(3));
  ASSERT_TRUE(Ack(p3_, "mix", 1, sha1).ok());  // p3: on time ...
  h_->revocations().Suspend(p3_.id);           // ... then suspended
  h_->clock().Set(t0 + absl::Hours(24 * 11));  // the 10-day deadline passed
  StatusOr<gv1::AcknowledgeResponse> late = Ack(c2_, "mix", 1, sha1);
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->late());  // c2: late, still counted
  EXPECT_TRUE(late->counted());

  // By hand, live (as of now = t0 + 11 d, after the deadline):
  //   counted audience: p1 p2 c1 c2 m (p3 suspended, apart; p4 not in the frozen audience)
  //   acknowledged p1 c1 c2 (c2 late) = 3 of 5 = 60 %; pending p2 m, both overdue
  //   police: 2, 1 acked, 1 overdue, 50 %; magistrate: 1, 0, 1 overdue, 0 %;
  //   reception_centre: 2, 2 (1 late), 100 %.
  auto check_v1 = [&](const gv1::ComplianceResponse& r) {
    EXPECT_EQ(r.total().audience(), 5);
    EXPECT_EQ(r.total().acknowledged(), 3);
    EXPECT_EQ(r.total().pending(), 2);
    EXPECT_EQ(r.total().overdue(), 2);
    EXPECT_EQ(r.total().late(), 1);
    EXPECT_DOUBLE_EQ(r.total().acknowledged_percent(), 60.0);
    ASSERT_EQ(r.by_type_size(), 3);
    EXPECT_EQ(r.by_type(0).agency_type(), ::concord::common::v1::AGENCY_TYPE_POLICE);
    EXPECT_EQ(r.by_type(0).audience(), 2);
    EXPECT_EQ(r.by_type(0).acknowledged(), 1);
    EXPECT_EQ(r.by_type(0).overdue(), 1);
    EXPECT_DOUBLE_EQ(r.by_type(0).acknowledged_percent(), 50.0);
    EXPECT_EQ(r.by_type(1).agency_type(), ::concord::common::v1::AGENCY_TYPE_MAGISTRATE);
    EXPECT_EQ(r.by_type(1).audience(), 1);
    EXPECT_EQ(r.by_type(1).overdue(), 1);
    EXPECT_DOUBLE_EQ(r.by_type(1).acknowledged_percent(), 0.0);
    EXPECT_EQ(r.by_type(2).agency_type(), ::concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
    EXPECT_EQ(r.by_type(2).acknowledged(), 2);
    EXPECT_EQ(r.by_type(2).late(), 1);
    EXPECT_DOUBLE_EQ(r.by_type(2).acknowledged_percent(), 100.0);
    EXPECT_EQ(Keys(r.acknowledged()),
              (std::vector<std::string>{"police/pz-one", "reception_centre/pag-asa",
                                        "reception_centre/payoke"}));
    EXPECT_EQ(Keys(r.not_acknowledged()),
              (std::vector<std::string>{"magistrate/parquet-bxl", "police/pz-two"}));
    for (const auto& a : r.not_acknowledged()) EXPECT_TRUE(a.overdue());
    EXPECT_EQ(Keys(r.suspended()), (std::vector<std::string>{"police/pz-three"}));
    EXPECT_TRUE(r.suspended(0).acknowledged());
  };
  StatusOr<gv1::ComplianceResponse> live = icu_.Client().Compliance("mix", 1);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_FALSE(live->frozen());
  check_v1(*live);
  EXPECT_EQ(Keys(live->not_counted()), (std::vector<std::string>{"police/pz-four"}));

  // Version 2 supersedes version 1 at t0 + 11 d + 1 h: version 1's figures freeze (p3 still
  // suspended then). Its audience is frozen now: p1 p2 p3 p4 c1 c2 m = 7.
  h_->clock().Set(t0 + absl::Hours(24 * 11 + 1));
  StatusOr<gv1::PublishResponse> v2 =
      h_->Publish(icu_, h_->Draft(icu_, "mix", 2, {T::kPolice, T::kReceptionCentre},
                                  {magistrate_.id}, false, "Texte corrigé.\n"));
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->audience_size(), 7);
  const absl::Time frozen_at = h_->clock().Now();

  h_->clock().Set(t0 + absl::Hours(24 * 11 + 2));
  StatusOr<gv1::AcknowledgeResponse> after_freeze = Ack(magistrate_, "mix", 1, sha1);
  ASSERT_TRUE(after_freeze.ok());
  EXPECT_FALSE(after_freeze->counted());               // recorded, not counted
  ASSERT_TRUE(Ack(p2_, "mix", 2, v2->sha256()).ok());  // newer: not the older one
  h_->revocations().Reinstate(p3_.id);                 // after the freeze

  // Version 1, frozen: the same figures as before, as of the freeze.
  StatusOr<gv1::ComplianceResponse> frozen = icu_.Client().Compliance("mix", 1);
  ASSERT_TRUE(frozen.ok()) << frozen.status();
  EXPECT_TRUE(frozen->frozen());
  EXPECT_EQ(frozen->frozen_reason(), "superseded");
  EXPECT_EQ(frozen->superseded_by(), 2);
  EXPECT_EQ(
      absl::FromUnixSeconds(frozen->as_of().seconds()) + absl::Nanoseconds(frozen->as_of().nanos()),
      frozen_at);
  check_v1(*frozen);
  EXPECT_EQ(Keys(frozen->not_counted()),
            (std::vector<std::string>{"magistrate/parquet-bxl", "police/pz-four"}));

  // Version 2 (in force, version 0): 7 counted (p3 reinstated), p2 acknowledged = 1 of 7; the
  // deadline is 10 days away: nobody overdue.
  StatusOr<gv1::ComplianceResponse> current = icu_.Client().Compliance("mix", 0);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(current->version(), 2);
  EXPECT_FALSE(current->frozen());
  EXPECT_EQ(current->total().audience(), 7);
  EXPECT_EQ(current->total().acknowledged(), 1);
  EXPECT_EQ(current->total().pending(), 6);
  EXPECT_EQ(current->total().overdue(), 0);
  EXPECT_DOUBLE_EQ(current->total().acknowledged_percent(), 100.0 / 7);
  EXPECT_EQ(Keys(current->acknowledged()), (std::vector<std::string>{"police/pz-two"}));
  EXPECT_TRUE(current->suspended().empty());

  // Only the guideline's publisher reads the figures; each read is audited.
  EXPECT_EQ(ReasonOf(magistrate_.Client().Compliance("mix", 1).status()),
            "NOT_GUIDELINE_PUBLISHER");
  EXPECT_EQ(college_.Client().Compliance("mix", 1).status().code(),
            absl::StatusCode::kNotFound);  // not in the audience: sees nothing
  EXPECT_EQ(p1_.Client().Compliance("mix", 1).status().code(),
            absl::StatusCode::kPermissionDenied);  // the policy table
  int reads = 0;
  for (const audit::AuditEvent& e : h_->audit().events()) {
    if (e.method == "/concord.guidelines.v1.Guidelines/Compliance" && e.outcome == "OK" &&
        e.operation == audit::Operation::kConsultation) {
      ++reads;
    }
  }
  EXPECT_EQ(reads, 3);
}

TEST_F(GuidelinesServiceTest, ListFiltersAndPages) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "list-a", 1, {T::kPolice})).ok());
  h_->clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "list-a", 2, {T::kPolice})).ok());
  h_->clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "list-b", 1, {T::kReceptionCentre})).ok());
  h_->clock().Advance(absl::Minutes(1));
  guideline::Version future = h_->Draft(icu_, "list-c", 1, {T::kPolice});
  future.effective_at = h_->clock().Now() + absl::Hours(24);
  future.ack_deadline = future.effective_at + absl::Hours(24);
  ASSERT_TRUE(h_->Publish(icu_, future).ok());

  auto list = [&](const Agent& a, gv1::ListRequest req) {
    std::vector<std::string> out;
    StatusOr<gv1::ListResponse> r = a.Client().List(req);
    EXPECT_TRUE(r.ok()) << r.status();
    for (const auto& v : r->versions())
      out.push_back(v.guideline_id() + "@" + std::to_string(v.version()));
    return out;
  };
  gv1::ListRequest all;
  EXPECT_EQ(list(p1_, all), (std::vector<std::string>{"list-c@1", "list-a@2"}));
  all.set_include_superseded(true);
  EXPECT_EQ(list(p1_, all), (std::vector<std::string>{"list-c@1", "list-a@2", "list-a@1"}));
  EXPECT_EQ(list(icu_, all),
            (std::vector<std::string>{"list-c@1", "list-b@1", "list-a@2", "list-a@1"}));
  gv1::ListRequest by_type;
  by_type.set_audience_type(::concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  EXPECT_EQ(list(icu_, by_type), (std::vector<std::string>{"list-b@1"}));
  gv1::ListRequest paged;
  paged.set_include_superseded(true);
  paged.mutable_page()->set_page_size(2);
  StatusOr<gv1::ListResponse> first = icu_.Client().List(paged);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->versions_size(), 2);
  ASSERT_FALSE(first->next_page_token().empty());
  paged.mutable_page()->set_page_token(first->next_page_token());
  EXPECT_EQ(list(icu_, paged), (std::vector<std::string>{"list-a@2", "list-a@1"}));
  paged.mutable_page()->set_page_token("garbage");
  EXPECT_EQ(icu_.Client().List(paged).status().code(), absl::StatusCode::kInvalidArgument);
}

// Every field limit of concord.guidelines.v1 (the proto's (concord.common.v1.limit) options),
// table-driven over real mTLS: each RPC refuses a request with one field over its bound, naming
// it, before anything is read or stored (nothing published, nothing audited).
TEST_F(GuidelinesServiceTest, EveryFieldOverItsLimitIsRefusedWithItsPath) {
  const auto* service = gv1::PublishRequest::descriptor()->file()->FindServiceByName("Guidelines");
  ASSERT_NE(service, nullptr);
  const std::vector<::concord::testing::OverLimitCase> cases =
      ::concord::testing::OverLimitCases(*service);
  ASSERT_GE(cases.size(), 25u);
  const size_t audited = h_->audit().events().size();
  for (const ::concord::testing::OverLimitCase& c : cases) {
    SCOPED_TRACE(c.method + " " + c.expected_path);
    const Status s =
        FromGrpcStatus(::concord::testing::CallRaw(icu_.channel, c.method, {c.request}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(ReasonOf(s), "FIELD_TOO_LARGE");
    EXPECT_THAT(::concord::testing::ViolationFields(s), ::testing::ElementsAre(c.expected_path));
  }
  EXPECT_EQ(h_->audit().events().size(), audited);
  gv1::ListRequest all;
  StatusOr<gv1::ListResponse> listed = icu_.Client().List(all);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->versions_size(), 0);
}

// Redis never fills silently: at the memory watermark a new version is refused with
// RESOURCE_EXHAUSTED (STORAGE_WATERMARK, RetryInfo), counted by agency type, while agencies still
// acknowledge what they read.
TEST_F(GuidelinesServiceTest, AtTheStorageWatermarkPublishIsRefusedButAcknowledgementsGoOn) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "wm-one", 1, {T::kPolice})).ok());
  const gv1::GetResponse got = MustGet(p1_, "wm-one");
  auto info = h_->redis().Command({"INFO", "memory"});
  int64_t used = 0, max = 0;
  ASSERT_TRUE(info.ok() && quota::ParseInfoMemory(info->str, used, max));
  ASSERT_TRUE(
      h_->redis().Command({"CONFIG", "SET", "maxmemory", std::to_string(used + 256 * 1024)}).ok());
  ASSERT_TRUE(h_->storage().PollOnce().ok());

  StatusOr<gv1::PublishResponse> refused =
      h_->Publish(icu_, h_->Draft(icu_, "wm-two", 1, {T::kPolice}));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_EQ(ReasonOf(refused.status()), "STORAGE_WATERMARK");
  EXPECT_NE(RetryDelayOf(refused.status()), absl::InfiniteDuration());
  EXPECT_TRUE(Ack(p1_, "wm-one", 1, got.version().sha256()).ok());
  EXPECT_NE(
      h_->metrics().Serialize().find(
          "concord_quota_refusals_total{agency_type=\"coordination_unit\",limit=\"storage\"} 1"),
      std::string::npos);
  ASSERT_TRUE(h_->redis().Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
}

// The publish and ack buckets (common/quota, docs/operations.md "Quotas and limits") made small
// so that a few calls exhaust them; everything else as the host builds it.
class GuidelinesQuotaTest : public GuidelinesServiceTest {
 protected:
  void SetUp() override {
    h_ = std::make_unique<GuidelinesHarness>(std::function<void(ServerOptions&)>{},
                                             "*.ack=3/0.001;*.publish=2/0.001");
    icu_ = h_->Register(T::kCoordinationUnit, "icu-thb");
    p1_ = h_->Register(T::kPolice, "pz-one");
    p2_ = h_->Register(T::kPolice, "pz-two");
  }

  size_t AuditedCalls(const Agent& a, const std::string& method) {
    size_t n = 0;
    for (const audit::AuditEvent& e : h_->audit().events()) {
      if (e.agency == a.id && absl::EndsWith(e.method, method)) ++n;
    }
    return n;
  }

  static void ExpectQuotaRefusal(const Status& s, const std::string& limit,
                                 const std::string& subject) {
    ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_EQ(ReasonOf(s), "QUOTA_EXCEEDED");
    EXPECT_EQ(ReasonMetadataOf(s)["limit"], limit);
    EXPECT_GT(RetryDelayOf(s), absl::Seconds(10));
    EXPECT_NE(RetryDelayOf(s), absl::InfiniteDuration());
    ASSERT_EQ(QuotaViolationsOf(s).size(), 1u);
    EXPECT_EQ(QuotaViolationsOf(s)[0].field, subject);
  }
};

// Test that acknowledgements, duplicates included, are charged the agency's ack bucket inside the
// store's script: within it a duplicate is answered idempotently (the first acknowledgement
// stands); beyond it a flood is refused with RESOURCE_EXHAUSTED, RetryInfo and QuotaFailure,
// writes nothing and leaves one audit record a minute (not one per call), counted by agency type
// only; another agency of the same type acknowledges undisturbed.
TEST_F(GuidelinesQuotaTest, AcknowledgementFloodIsRefusedBeyondTheAckBucketWithoutAuditRecords) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "ack-flood", 1, {T::kPolice})).ok());
  const gv1::GetResponse got = MustGet(p1_, "ack-flood");
  const std::string sha = got.version().sha256();
  StatusOr<gv1::AcknowledgeResponse> first = Ack(p1_, "ack-flood", 1, sha);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate());
  for (int i = 0; i < 2; ++i) {
    StatusOr<gv1::AcknowledgeResponse> again = Ack(p1_, "ack-flood", 1, sha);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->duplicate());
    EXPECT_EQ(again->acknowledged_at().seconds(), first->acknowledged_at().seconds());
  }
  EXPECT_EQ(AuditedCalls(p1_, "/Acknowledge"), 3u);
  auto stored = h_->redis().Command({"HGET", "concord:{gl}:ack:ack-flood:1", p1_.id.Key()});
  ASSERT_TRUE(stored.ok());
  const std::string record = stored->str;

  for (int i = 0; i < 20; ++i) {
    ExpectQuotaRefusal(Ack(p1_, "ack-flood", 1, sha).status(), "ack", "agency:police/pz-one");
  }
  EXPECT_EQ(AuditedCalls(p1_, "/Acknowledge"), 4u);  // 3 answered, 1 for 20 refusals
  stored = h_->redis().Command({"HGET", "concord:{gl}:ack:ack-flood:1", p1_.id.Key()});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->str, record);
  const std::string exposition = h_->metrics().Serialize();
  EXPECT_NE(
      exposition.find("concord_quota_refusals_total{agency_type=\"police\",limit=\"ack\"} 20"),
      std::string::npos);
  EXPECT_EQ(exposition.find("pz-one"), std::string::npos);

  StatusOr<gv1::AcknowledgeResponse> other = Ack(p2_, "ack-flood", 1, sha);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->duplicate());
}

// Test that publications and withdrawals are charged the publisher's publish bucket inside the
// store's script: beyond it a new version is refused (RESOURCE_EXHAUSTED QUOTA_EXCEEDED,
// RetryInfo, QuotaFailure) and nothing of it is stored.
TEST_F(GuidelinesQuotaTest, PublishBucketRefusesTheNextVersionAndStoresNothing) {
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "quota-one", 1, {T::kPolice})).ok());
  ASSERT_TRUE(h_->Publish(icu_, h_->Draft(icu_, "quota-two", 1, {T::kPolice})).ok());
  ExpectQuotaRefusal(h_->Publish(icu_, h_->Draft(icu_, "quota-three", 1, {T::kPolice})).status(),
                     "publish", "agency:coordination_unit/icu-thb");
  auto exists = h_->redis().Command({"EXISTS", "concord:{gl}:g:quota-three"});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ(exists->integer, 0);
  EXPECT_EQ(Get(icu_, "quota-three").code(), absl::StatusCode::kNotFound);
  // A withdrawal is charged the same bucket: refused too, the version stays in force.
  const gv1::GetResponse got = MustGet(icu_, "quota-one");
  guideline::Withdrawal w{.guideline_id = "quota-one",
                          .version = 1,
                          .version_sha256 = got.version().sha256(),
                          .withdrawn_by = icu_.id,
                          .withdrawn_at = h_->clock().Now(),
                          .reason = "published in error"};
  StatusOr<guideline::SignedWithdrawal> sw = guideline::SignWithdrawal(w, icu_.signing);
  ASSERT_TRUE(sw.ok());
  ExpectQuotaRefusal(icu_.Client().Withdraw(*sw).status(), "publish",
                     "agency:coordination_unit/icu-thb");
  EXPECT_FALSE(MustGet(icu_, "quota-one").status().has_withdrawal());
  EXPECT_NE(
      h_->metrics().Serialize().find(
          "concord_quota_refusals_total{agency_type=\"coordination_unit\",limit=\"publish\"} 2"),
      std::string::npos);
}

}  // namespace
}  // namespace concord::guidelines::testing
