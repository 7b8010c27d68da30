// File: tests/fuzz/referrals_requests_fuzz.cc
//
// The request validation of every concord.referrals.v1.Referrals RPC. The input is a
// concord.testing.v1.ReferralsCall: one request, the oneof naming the RPC, and `current`, the
// stored case that Submit, Transition and UpdateSealed act on (so the state machine meets any
// stored state as well as any request). Each case runs what the handler runs before the store:
// SaveDraft/Validate FormatProblems, ApplyDraft, SubmitProblems; SuggestCentres
// AttributeProblems and RankCentres; Submit/Transition ApplyTransition (as a party: the
// referring agency, the centre, the magistrate), NoteRecipientProblems; UpdateSealed
// SealedRecordProblems, RecipientProblems. Property: refusals are problems or statuses, never
// crashes; a transition that applies moves the case version on by one.
#include <cstddef>
#include <cstdint>

#include "concord/testing/v1/fuzz.pb.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/routing.h"
#include "services/referrals/state_machine.h"
#include "services/referrals/validation.h"
#include "tests/fuzz/fuzz_support.h"

namespace concord::fuzz {
namespace {

namespace rv1 = ::concord::referrals::v1;

void Transition(const rv1::Case& current, const rv1::TransitionRequest& req) {
  static const referrals::DeadlineConfig config = *referrals::DeadlineConfig::Defaults();
  for (const AgencyId& caller : referrals::Parties(current)) {
    for (const bool recognised : {false, true}) {
      const referrals::TransitionContext context{
          .caller = caller, .now = Now(), .caller_is_recognised_centre = recognised};
      auto outcome = referrals::ApplyTransition(current, req, context, config);
      if (!outcome.ok()) continue;
      FUZZ_INVARIANT(outcome->next.version() == current.version() + 1,
                     "a transition did not move the case version on by one");
      if (outcome->entry.has_sealed_note()) {
        (void)referrals::NoteRecipientProblems(outcome->entry.sealed_note(), current, outcome->next,
                                               caller, "sealed_note");
      }
    }
  }
}

void Run(const testing::v1::ReferralsCall& call) {
  using C = testing::v1::ReferralsCall;
  const rv1::Case& current = call.current();
  switch (call.method_case()) {
    case C::kSaveDraft: {
      if (!referrals::FormatProblems(call.save_draft()).empty()) break;
      rv1::Case draft = current;
      referrals::ApplyDraft(call.save_draft(), draft);
      (void)referrals::SubmitProblems(draft);
      (void)referrals::RequiredRecipients(draft);
      break;
    }
    case C::kValidate:
      if (referrals::FormatProblems(call.validate().draft()).empty()) {
        rv1::Case draft;
        referrals::ApplyDraft(call.validate().draft(), draft);
        (void)referrals::SubmitProblems(draft);
      }
      break;
    case C::kSuggestCentres: {
      const rv1::SuggestCentresRequest& req = call.suggest_centres();
      if (!referrals::AttributeProblems(req.attributes(), "attributes").empty()) break;
      std::vector<referrals::CentreInfo> centres(3);
      centres[0].id = AgencyId{std::string(kTrustDomain), AgencyType::kReceptionCentre, "pag-asa"};
      centres[0].jurisdiction = "BE-BRU";
      centres[0].recognised_centre = true;
      centres[1].id = AgencyId{std::string(kTrustDomain), AgencyType::kReceptionCentre, "payoke"};
      centres[1].jurisdiction = "BE-VLG";
      centres[1].specialisations = {"minors", "labour_exploitation"};
      centres[2].id = AgencyId{std::string(kTrustDomain), AgencyType::kReceptionCentre, "surya"};
      centres[2].jurisdiction = "BE-WAL";
      centres[2].capacity = 1;
      centres[2].open_cases = 1;
      (void)referrals::RankCentres(req, centres);
      break;
    }
    case C::kSubmit: {
      rv1::TransitionRequest t;
      t.set_case_id(call.submit().case_id());
      t.set_expected_version(call.submit().expected_version());
      t.set_kind(rv1::TRANSITION_KIND_SUBMIT);
      (void)referrals::SubmitProblems(current);
      Transition(current, t);
      break;
    }
    case C::kTransition:
      Transition(current, call.transition());
      break;
    case C::kUpdateSealed: {
      const rv1::SealedRecord& record = call.update_sealed().sealed_record();
      if (!referrals::SealedRecordProblems(record, "sealed_record").empty()) break;
      (void)referrals::RecipientProblems(record, current, "sealed_record");
      for (const AgencyId& a : referrals::Parties(current)) {
        (void)referrals::CheckRecordKeeper(current, a);
      }
      break;
    }
    case C::kGet:
      (void)referrals::IsCaseId(call.get().case_id());
      break;
    case C::kOpenSealed:
      (void)referrals::IsCaseId(call.open_sealed().case_id());
      (void)referrals::NoteProblems(call.open_sealed().justification(), true, "justification");
      break;
    case C::kHistory:
      (void)referrals::IsCaseId(call.history().case_id());
      break;
    case C::kList:
    case C::METHOD_NOT_SET:
      break;
  }
  for (const AgencyId& a : referrals::Parties(current)) (void)referrals::MayView(current, a);
}

}  // namespace
}  // namespace concord::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concord::testing::v1::ReferralsCall call;
  if (!call.ParseFromArray(data, static_cast<int>(size))) return 0;
  concord::fuzz::Run(call);
  return 0;
}
