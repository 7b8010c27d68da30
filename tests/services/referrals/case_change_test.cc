// Tests of services/referrals/case_change.h: SaveDraft, UpdateSealed and OpenSealed as pure
// domain functions (the handlers only load, check signatures, store and audit).
#include "services/referrals/case_change.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/referrals/state_machine.h"
#include "tests/services/referrals/referrals_test_util.h"
#include "tests/support/field_violations.h"

namespace concord::referrals {
namespace {

using ::concord::testing::ViolationFields;
using ::testing::ElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

constexpr char kNewId[] = "ref-cccccccccccccccccccccccccc";
constexpr char kNewSubject[] = "subj-dddddddddddddddddddddddddd";

TEST(PlanDraftSave, ANewDraftIsTheCallersWithActionCreateDraft) {
  v1::SaveDraftRequest r;
  *r.mutable_attributes() = CompleteAttributes();
  auto change = PlanDraftSave(std::nullopt, r, Police(), T0(), kNewId, kNewSubject);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_FALSE(change->previous.has_value());
  EXPECT_EQ(change->next.case_id(), kNewId);
  EXPECT_EQ(change->next.subject_ref(), kNewSubject);
  EXPECT_EQ(change->next.version(), 1);
  EXPECT_EQ(change->next.state(), v1::CASE_STATE_DETECTED);
  EXPECT_EQ(change->next.referring_agency().id(), Police().id);
  EXPECT_EQ(change->next.attributes().origin_world_region(), v1::WORLD_REGION_AFRICA);
  EXPECT_EQ(change->entry.action(), "create_draft");
  EXPECT_EQ(change->entry.version(), 1);
  EXPECT_FALSE(change->sealed.has_value());
}

// Save, seal, save: the record is bound to the case id a first save returns.
TEST(PlanDraftSave, TheSecondSaveStoresTheRecordAsTheNextVersion) {
  v1::Case draft = CompleteDraft();
  draft.set_sealed_record_version(0);
  draft.clear_sealed_record_recipients();
  v1::SaveDraftRequest r;
  r.set_case_id(draft.case_id());
  r.set_expected_version(draft.version());
  *r.mutable_attributes() = CompleteAttributes();
  *r.mutable_receiving_centre() = AgencyIdToProto(CentreA());
  *r.mutable_sealed_record() = Sealed({CentreA().Key()});
  auto change = PlanDraftSave(draft, r, Police(), T0(), kNewId, kNewSubject);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->entry.action(), "save_draft");
  EXPECT_EQ(change->next.case_id(), draft.case_id());
  EXPECT_EQ(change->next.version(), 2);
  ASSERT_TRUE(change->sealed.has_value());
  EXPECT_EQ(change->sealed->version(), 1);
  EXPECT_EQ(change->sealed->author().id(), Police().id);
  EXPECT_EQ(change->next.sealed_record_version(), 1);
  EXPECT_THAT(change->next.sealed_record_recipients(), ElementsAre(CentreA().Key()));
  // A first save cannot carry a record: it has no case id yet.
  v1::SaveDraftRequest first = r;
  first.clear_case_id();
  first.set_expected_version(0);
  EXPECT_THAT(ViolationFields(
                  PlanDraftSave(std::nullopt, first, Police(), T0(), kNewId, kNewSubject).status()),
              ElementsAre("sealed_record"));
}

TEST(PlanDraftSave, Refusals) {
  v1::Case draft = CompleteDraft();
  v1::SaveDraftRequest r;
  r.set_case_id(draft.case_id());
  r.set_expected_version(draft.version());
  auto out =
      PlanDraftSave(draft, r, Agency(AgencyType::kPolice, "other"), T0(), kNewId, kNewSubject);
  EXPECT_EQ(ReasonOf(out.status()), "NOT_THE_REFERRER");
  r.set_expected_version(draft.version() + 3);
  out = PlanDraftSave(draft, r, Police(), T0(), kNewId, kNewSubject);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kAborted);
  draft.set_state(v1::CASE_STATE_REFERRED);
  r.set_expected_version(draft.version());
  out = PlanDraftSave(draft, r, Police(), T0(), kNewId, kNewSubject);
  EXPECT_EQ(ReasonOf(out.status()), "NOT_A_DRAFT");
}

TEST(PlanSealedUpdate, TheCentreOrTheMagistrateWritesTheNextVersion) {
  v1::Case c = CompleteDraft();
  c.set_state(v1::CASE_STATE_ACCEPTED);
  v1::UpdateSealedRequest r;
  r.set_case_id(c.case_id());
  r.set_expected_version(c.version());
  *r.mutable_sealed_record() = Sealed({CentreA().Key(), Magistrate().Key()});
  auto change = PlanSealedUpdate(c, r, CentreA(), T0());
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(change->entry.action(), "update_sealed");
  EXPECT_EQ(change->sealed->version(), 2);
  EXPECT_EQ(change->next.version(), c.version() + 1);
  EXPECT_EQ(ReasonOf(PlanSealedUpdate(c, r, Police(), T0()).status()), "NOT_A_RECORD_KEEPER");
  *r.mutable_sealed_record() = Sealed({CentreA().Key(), Office().Key()});
  EXPECT_EQ(PlanSealedUpdate(c, r, CentreA(), T0()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// One source for OpenSealed's justification: the request's, trimmed, 10..500 printable ASCII;
// the audit record gets exactly this value.
TEST(OpenSealedJustification, ValidatedAndReturnedAsRecorded) {
  EXPECT_EQ(*OpenSealedJustification("  prepare the hearing  "), "prepare the hearing");
  EXPECT_THAT(ViolationFields(OpenSealedJustification("short").status()),
              ElementsAre("justification"));
  EXPECT_FALSE(OpenSealedJustification(std::string(501, 'x')).ok());
  EXPECT_FALSE(OpenSealedJustification("line one\nline two").ok());
  EXPECT_FALSE(OpenSealedJustification("").ok());
}

TEST(PlanOpenSealed, EachBoxToItsRecipientsOnly) {
  v1::Case c = CompleteDraft();
  c.set_state(v1::CASE_STATE_ACCEPTED);
  *c.mutable_immigration_office() = AgencyIdToProto(Office());
  c.set_document_identity_version(5);
  c.add_document_identity_recipients(Office().Key());
  v1::OpenSealedRequest r;
  r.set_case_id(c.case_id());
  // The record: centre and magistrate.
  auto slot = PlanOpenSealed(c, r, CentreA());
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(slot->box, v1::SEALED_BOX_RECORD);
  EXPECT_EQ(slot->version, 1);
  EXPECT_EQ(ReasonOf(PlanOpenSealed(c, r, Office()).status()), "NOT_A_RECIPIENT");
  // The document identity: the Immigration Office only.
  r.set_box(v1::SEALED_BOX_DOCUMENT_IDENTITY);
  slot = PlanOpenSealed(c, r, Office());
  ASSERT_TRUE(slot.ok()) << slot.status();
  EXPECT_EQ(slot->version, 5);
  EXPECT_EQ(ReasonOf(PlanOpenSealed(c, r, CentreA()).status()), "NOT_A_RECIPIENT");
  // No guardian box yet; unknown box; negative version.
  r.set_box(v1::SEALED_BOX_GUARDIAN);
  EXPECT_EQ(PlanOpenSealed(c, r, CentreA()).status().code(), absl::StatusCode::kNotFound);
  r.set_box(static_cast<v1::SealedBox>(9));
  EXPECT_THAT(ViolationFields(PlanOpenSealed(c, r, CentreA()).status()), ElementsAre("box"));
  r.set_box(v1::SEALED_BOX_RECORD);
  r.set_version(-1);
  EXPECT_THAT(ViolationFields(PlanOpenSealed(c, r, CentreA()).status()), ElementsAre("version"));
  // A centre that declined: no record any more.
  r.set_version(0);
  *c.add_declined_by() = AgencyIdToProto(CentreA());
  EXPECT_EQ(ReasonOf(PlanOpenSealed(c, r, CentreA()).status()), "CENTRE_DECLINED");
}

TEST(CheckOpenedBox, StoredUnderAnotherVersionIsDataLoss) {
  const SealedSlot slot{v1::SEALED_BOX_RECORD, 2};
  v1::SealedRecord stored = Sealed({CentreA().Key()});
  stored.set_version(1);
  const Status st = CheckOpenedBox(stored, slot, "ref-x", CentreA());
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReasonOf(st), "SEALED_RECORD_MISMATCH");
  stored.set_version(2);
  EXPECT_TRUE(CheckOpenedBox(stored, slot, "ref-x", CentreA()).ok());
  EXPECT_EQ(ReasonOf(CheckOpenedBox(stored, slot, "ref-x", Magistrate())), "NOT_A_RECIPIENT");
}

}  // namespace
}  // namespace concord::referrals
