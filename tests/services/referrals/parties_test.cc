// Tests of services/referrals/parties.h: which agency type may hold which role of a case, and
// what the directory's answer about a named agency means for a referral.
#include "services/referrals/parties.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

const DirectoryStanding kActive{.registered = true, .active = true, .registered_as = {}};
const DirectoryStanding kSuspended{.registered = true, .active = false, .registered_as = {}};

// The "Roles" table of docs/referrals.md, for every (type, role) pair.
TEST(RoleTypes, EveryTypeAndRoleAsTheRolesTableSays) {
  using T = AgencyType;
  const std::vector<std::pair<Party, std::vector<AgencyType>>> table = {
      {Party::kReferrer, {T::kPolice, T::kMagistrate, T::kImmigrationOffice, T::kSocialInspection}},
      {Party::kCentre, {T::kReceptionCentre}},
      {Party::kMagistrate, {T::kMagistrate}},
      {Party::kImmigrationOffice, {T::kImmigrationOffice}},
      {Party::kGuardianshipService, {T::kGuardianshipService}},
      {Party::kInvestigatingUnit, {T::kPolice, T::kSocialInspection}},
  };
  ASSERT_EQ(table.size(), kAllParties.size());
  for (const auto& [role, types] : table) {
    EXPECT_EQ(RoleTypes(role), types) << PartyName(role);
    for (AgencyType type : kAllAgencyTypes) {
      const bool listed = std::find(types.begin(), types.end(), type) != types.end();
      EXPECT_EQ(MayHoldRole(type, role), listed)
          << AgencyTypeName(type) << " as " << PartyName(role);
    }
  }
  // Never a party, whatever the role: the coordination unit, foreign partners, platforms, admin.
  for (AgencyType never : {T::kCoordinationUnit, T::kForeignPartner, T::kPlatform, T::kAdmin}) {
    for (Party role : kAllParties) EXPECT_FALSE(MayHoldRole(never, role)) << AgencyTypeName(never);
  }
}

TEST(TargetRole, TheKindsThatNameAPartyAndNoOther) {
  EXPECT_EQ(TargetRole(v1::TRANSITION_KIND_REFER_ELSEWHERE), Party::kCentre);
  EXPECT_EQ(TargetRole(v1::TRANSITION_KIND_ASSIGN_MAGISTRATE), Party::kMagistrate);
  EXPECT_EQ(TargetRole(v1::TRANSITION_KIND_REQUEST_DOCUMENT), Party::kImmigrationOffice);
  EXPECT_EQ(TargetRole(v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT), Party::kInvestigatingUnit);
  for (v1::TransitionKind k : {v1::TRANSITION_KIND_SUBMIT, v1::TRANSITION_KIND_ACCEPT,
                               v1::TRANSITION_KIND_CLOSE, v1::TRANSITION_KIND_RECORD_GUARDIAN}) {
    EXPECT_EQ(TargetRole(k), std::nullopt) << TransitionName(k);
  }
}

TEST(NamedPartiesOfDraft, CentreMagistrateAndGuardianshipInOrderInTheLocalTrustDomain) {
  v1::Case draft = CompleteDraft();
  *draft.mutable_guardianship_service() = AgencyIdToProto(Guardianship());
  draft.mutable_magistrate()->clear_trust_domain();
  const std::vector<NamedParty> named = NamedPartiesOfDraft(draft, "local.td");
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].field, "receiving_centre");
  EXPECT_EQ(named[0].role, Party::kCentre);
  EXPECT_EQ(named[0].agency, CentreA());
  EXPECT_EQ(named[1].field, "magistrate");
  EXPECT_EQ(named[1].role, Party::kMagistrate);
  EXPECT_EQ(named[1].agency.trust_domain, "local.td") << "an empty trust domain is the local one";
  EXPECT_EQ(named[2].field, "guardianship_service");
  EXPECT_EQ(named[2].role, Party::kGuardianshipService);
}

TEST(NamedPartiesOfDraft, UnsetAndMalformedFieldsAreLeftToTheFormatProblems) {
  v1::Case draft = CompleteDraft();
  draft.clear_magistrate();
  // A police unit named as the centre: validation.h reports receiving_centre.type.
  *draft.mutable_receiving_centre() = AgencyIdToProto(Police());
  EXPECT_THAT(NamedPartiesOfDraft(draft, kTd), IsEmpty());
  draft.mutable_receiving_centre()->set_type(concord::common::v1::AGENCY_TYPE_RECEPTION_CENTRE);
  draft.mutable_receiving_centre()->set_id("Not An Id");
  EXPECT_THAT(NamedPartiesOfDraft(draft, kTd), IsEmpty());
}

TEST(CheckNamedParty, ARegisteredActiveAgencyOfTheRightTypeIsAccepted) {
  EXPECT_EQ(CheckNamedParty({Party::kCentre, "receiving_centre", CentreA()}, kActive),
            std::nullopt);
  EXPECT_EQ(CheckNamedParty({Party::kInvestigatingUnit, "target", Inspection()}, kActive),
            std::nullopt);
  EXPECT_EQ(CheckNamedParty({std::nullopt, "target", Police()}, kActive), std::nullopt);
}

TEST(CheckNamedParty, AnUnregisteredCentreIsUnknown) {
  auto p = CheckNamedParty({Party::kCentre, "receiving_centre", CentreA()}, DirectoryStanding{});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "receiving_centre");
  EXPECT_EQ(p->reason, "UNKNOWN_AGENCY");
  EXPECT_THAT(p->description, HasSubstr("not a registered agency"));
  EXPECT_THAT(p->description, HasSubstr("SuggestCentres"));
}

TEST(CheckNamedParty, ASuspendedAgencyIsRefusedAsSuspended) {
  auto p = CheckNamedParty({Party::kGuardianshipService, "guardianship_service", Guardianship()},
                           kSuspended);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "guardianship_service");
  EXPECT_EQ(p->reason, "AGENCY_SUSPENDED");
  EXPECT_EQ(p->role, "guardianship_service");  // the metric's label
  // Even without a role (a target on a kind that names none), suspended is suspended.
  p = CheckNamedParty({std::nullopt, "target", Police()}, kSuspended);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->reason, "AGENCY_SUSPENDED");
  EXPECT_EQ(p->role, "target");
}

TEST(CheckNamedParty, AMagistrateIdThatIsAPoliceUnitIsTheWrongType) {
  const AgencyId named = Agency(AgencyType::kMagistrate, "pz-brussels");
  auto p = CheckNamedParty(
      {Party::kMagistrate, "magistrate", named},
      DirectoryStanding{
          .registered = false, .active = false, .registered_as = {AgencyType::kPolice}});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->field, "magistrate");
  EXPECT_EQ(p->reason, "WRONG_AGENCY_TYPE");
  EXPECT_THAT(p->description, HasSubstr("registered in the directory as type police"));
  EXPECT_THAT(p->description, HasSubstr("must be an agency of type magistrate"));
}

TEST(CheckNamedParty, ATypeThatMayNotHoldTheRoleIsTheWrongTypeWhateverTheDirectorySays) {
  auto p = CheckNamedParty({Party::kMagistrate, "target", Police()}, kActive);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->reason, "WRONG_AGENCY_TYPE");
  EXPECT_THAT(p->description, HasSubstr("not police"));
  p = CheckNamedParty({Party::kInvestigatingUnit, "target", CentreA()}, kActive);
  ASSERT_TRUE(p.has_value());
  EXPECT_THAT(p->description, HasSubstr("police or social_inspection"));
}

TEST(PartiesRefusal, FailedPreconditionWithTheFirstReasonAndEveryField) {
  EXPECT_TRUE(PartiesRefusal({}).ok());
  const Status s =
      PartiesRefusal({{"receiving_centre", "AGENCY_SUSPENDED", "suspended", "centre"},
                      {"magistrate", "WRONG_AGENCY_TYPE", "registered as police", "magistrate"}});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s), "AGENCY_SUSPENDED");
  EXPECT_EQ(ReasonMetadataOf(s).at("field"), "receiving_centre");
  const std::vector<FieldViolation> v = FieldViolationsOf(s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "receiving_centre");
  EXPECT_EQ(v[1].field, "magistrate");
  EXPECT_EQ(v[1].description, "registered as police");
  EXPECT_THAT(std::string(s.message()), HasSubstr("magistrate (WRONG_AGENCY_TYPE)"));
}

TEST(ToFieldProblem, TheReasonLeadsTheDescription) {
  const v1::FieldProblem p =
      ToFieldProblem({"magistrate", "UNKNOWN_AGENCY", "not registered", "magistrate"});
  EXPECT_EQ(p.field(), "magistrate");
  EXPECT_EQ(p.description(), "UNKNOWN_AGENCY: not registered");
}

}  // namespace
}  // namespace concord::referrals
