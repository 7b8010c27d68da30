// Tests of services/referrals/state_machine.h: the (state, transition, agency type) table, a walk
// through every state, the requirements of each transition, and docs/referrals.md.
#include "services/referrals/state_machine.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/referrals/referrals_test_util.h"
#include "tests/support/field_violations.h"

namespace concord::referrals {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using namespace concord::referrals::testing;  // NOLINT(build/namespaces)

using S = v1::CaseState;
using K = v1::TransitionKind;

// ---------------------------------------------------------------------------------------------
// The specification, written independently of the code from issue 4 / docs/referrals.md: who may
// make which transition from which state.
struct SpecRow {
  K kind;
  std::vector<S> from;
  std::vector<AgencyType> who;
};

const std::vector<AgencyType> kReferring = {AgencyType::kPolice, AgencyType::kMagistrate,
                                            AgencyType::kImmigrationOffice,
                                            AgencyType::kSocialInspection};
const std::vector<AgencyType> kCentre = {AgencyType::kReceptionCentre};
const std::vector<AgencyType> kMag = {AgencyType::kMagistrate};
const std::vector<AgencyType> kOffice = {AgencyType::kImmigrationOffice};

constexpr S D = v1::CASE_STATE_DETECTED, R = v1::CASE_STATE_REFERRED, A = v1::CASE_STATE_ACCEPTED,
            X = v1::CASE_STATE_DECLINED, F = v1::CASE_STATE_REFLECTION,
            M = v1::CASE_STATE_STATEMENT_MADE, T = v1::CASE_STATE_REGISTRATION_ATTESTATION,
            C = v1::CASE_STATE_REGISTRATION_CERTIFICATE, U = v1::CASE_STATE_UNLIMITED_STAY,
            Z = v1::CASE_STATE_CLOSED;

std::vector<AgencyType> ReferringOrCentre() {
  std::vector<AgencyType> out = kReferring;
  out.push_back(AgencyType::kReceptionCentre);
  return out;
}

const std::vector<SpecRow>& Spec() {
  static const auto* const kSpec = new std::vector<SpecRow>{
      {v1::TRANSITION_KIND_SUBMIT, {D}, kReferring},
      {v1::TRANSITION_KIND_ACCEPT, {R}, kCentre},
      {v1::TRANSITION_KIND_DECLINE, {R}, kCentre},
      {v1::TRANSITION_KIND_REFER_ELSEWHERE, {X}, kReferring},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT, {A, M, T, C}, kCentre},
      {v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, {A}, kOffice},
      {v1::TRANSITION_KIND_RECORD_STATEMENT,
       {A, F},
       {AgencyType::kPolice, AgencyType::kMagistrate}},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION, {M}, kOffice},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, {T}, kMag},
      {v1::TRANSITION_KIND_ISSUE_CERTIFICATE, {T}, kOffice},
      {v1::TRANSITION_KIND_RENEW_CERTIFICATE, {C}, kOffice},
      {v1::TRANSITION_KIND_RECORD_CONVICTION, {C}, kMag},
      {v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY, {C}, kOffice},
      {v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, {A, F, M, T, C}, kMag},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, {D, X}, kReferring},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, {R, A, F, M, T, C}, ReferringOrCentre()},
      {v1::TRANSITION_KIND_CLOSE, {D, R, X}, kReferring},
      {v1::TRANSITION_KIND_CLOSE, {A, F, M, T, C}, kCentre},
  };
  return *kSpec;
}

template <typename V, typename E>
bool In(const V& v, const E& e) {
  return std::find(v.begin(), v.end(), e) != v.end();
}

const SpecRow* SpecFor(S state, K kind) {
  for (const SpecRow& r : Spec()) {
    if (r.kind == kind && In(r.from, state)) return &r;
  }
  return nullptr;
}

bool SpecActorAnywhere(K kind, AgencyType type) {
  for (const SpecRow& r : Spec()) {
    if (r.kind == kind && In(r.who, type)) return true;
  }
  return false;
}

std::vector<K> SpecAllowed(S state) {
  std::vector<K> out;
  for (K kind : kAllTransitionKinds) {
    if (SpecFor(state, kind) != nullptr) out.push_back(kind);
  }
  return out;
}

// The party field an agency of `type` naturally fills, given the row's parties.
std::optional<Party> PartyFor(AgencyType type, const TransitionRule* rule) {
  auto allowed = [&](Party p) { return rule == nullptr || In(rule->as, p); };
  switch (type) {
    case AgencyType::kReceptionCentre:
      return Party::kCentre;
    case AgencyType::kMagistrate:
      if (allowed(Party::kMagistrate)) return Party::kMagistrate;
      return Party::kReferrer;
    case AgencyType::kImmigrationOffice:
      if (allowed(Party::kImmigrationOffice)) return Party::kImmigrationOffice;
      return Party::kReferrer;
    case AgencyType::kPolice:
    case AgencyType::kSocialInspection:
      return Party::kReferrer;
    default:
      return std::nullopt;  // never a party
  }
}

// A case in `state` whose parties include `caller` (where its type can be a party) and whose
// requirements for `kind` are met, plus the request.
struct Arranged {
  v1::Case c;
  v1::TransitionRequest request;
};

Arranged Build(S state, K kind, const AgencyId& caller) {
  Arranged s;
  v1::Case& c = s.c;
  c = CompleteDraft();
  c.set_state(state);
  c.set_version(7);
  *c.mutable_immigration_office() = AgencyIdToProto(Office());
  if (state == X) *c.add_declined_by() = c.receiving_centre();
  if (std::optional<Party> p = PartyFor(caller.type, FindRule(state, kind))) {
    const auto proto = AgencyIdToProto(caller);
    switch (*p) {
      case Party::kReferrer:
        *c.mutable_referring_agency() = proto;
        break;
      case Party::kCentre:
        *c.mutable_receiving_centre() = proto;
        if (state == X) *c.mutable_declined_by(0) = proto;
        break;
      case Party::kMagistrate:
        *c.mutable_magistrate() = proto;
        break;
      case Party::kImmigrationOffice:
        *c.mutable_immigration_office() = proto;
        break;
    }
  }
  c.clear_sealed_record_recipients();
  for (const std::string& key : RequiredRecipients(c)) c.add_sealed_record_recipients(key);

  v1::TransitionRequest& r = s.request;
  r.set_case_id(c.case_id());
  r.set_expected_version(c.version());
  r.set_kind(kind);
  switch (kind) {
    case v1::TRANSITION_KIND_DECLINE:
      r.set_note("no place for a person with these needs");
      break;
    case v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT:
      r.set_note("offences committed under coercion: no prosecution");
      break;
    case v1::TRANSITION_KIND_REFER_ELSEWHERE: {
      *r.mutable_target() = AgencyIdToProto(CentreC());
      v1::Case next = c;
      *next.mutable_receiving_centre() = r.target();
      next.set_state(R);
      *r.mutable_sealed_record() = Sealed(RequiredRecipients(next));
      break;
    }
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT: {
      const auto docs = RequestableDocuments(state);
      r.set_document(docs.empty() ? v1::DOCUMENT_KIND_REFLECTION : docs.front());
      *r.mutable_target() = c.immigration_office();
      break;
    }
    case v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT:
      c.set_pending_document_request(v1::DOCUMENT_KIND_REFLECTION);
      break;
    case v1::TRANSITION_KIND_ISSUE_ATTESTATION:
      c.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
      break;
    case v1::TRANSITION_KIND_ISSUE_CERTIFICATE:
    case v1::TRANSITION_KIND_RENEW_CERTIFICATE:
      c.set_victim_opinion(true);
      c.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
      break;
    case v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY:
      c.set_victim_opinion(true);
      c.set_conviction_recorded(true);
      c.set_pending_document_request(v1::DOCUMENT_KIND_UNLIMITED_STAY);
      break;
    case v1::TRANSITION_KIND_ASSIGN_MAGISTRATE: {
      *r.mutable_target() = AgencyIdToProto(Magistrate2());
      v1::Case next = c;
      *next.mutable_magistrate() = r.target();
      *r.mutable_sealed_record() = Sealed(RequiredRecipients(next));
      break;
    }
    case v1::TRANSITION_KIND_CLOSE:
      r.set_close_reason(v1::CLOSE_REASON_WITHDRAWAL);
      break;
    default:
      break;
  }
  return s;
}

std::string Describe(S state, K kind, AgencyType type) {
  return std::string(StateName(state)) + " x " + std::string(TransitionName(kind)) + " x " +
         std::string(AgencyTypeName(type));
}

TEST(TransitionTable, MatchesTheSpecification) {
  for (S state : kAllCaseStates) {
    for (K kind : kAllTransitionKinds) {
      const TransitionRule* rule = FindRule(state, kind);
      const SpecRow* spec = SpecFor(state, kind);
      ASSERT_EQ(rule != nullptr, spec != nullptr)
          << StateName(state) << " x " << TransitionName(kind);
      if (rule == nullptr) continue;
      EXPECT_THAT(rule->actors, ::testing::UnorderedElementsAreArray(spec->who))
          << StateName(state) << " x " << TransitionName(kind);
    }
    EXPECT_EQ(AllowedTransitions(state), SpecAllowed(state)) << StateName(state);
  }
}

// Issue 4 acceptance: every (state, transition, agency type) triple is allowed exactly when the
// table says so; otherwise PERMISSION_DENIED or FAILED_PRECONDITION by the binding check order.
TEST(ApplyTransition, EveryStateTransitionAgencyTypeTriple) {
  int allowed = 0;
  int checked = 0;
  for (S state : kAllCaseStates) {
    for (K kind : kAllTransitionKinds) {
      for (AgencyType type : kAllAgencyTypes) {
        const AgencyId caller = Agency(type, "caller");
        Arranged s = Build(state, kind, caller);
        const StatusOr<TransitionOutcome> out =
            ApplyTransition(s.c, s.request, caller, T0(), DeadlineConfig{});
        const std::string what = Describe(state, kind, type);
        ++checked;
        const SpecRow* spec = SpecFor(state, kind);
        if (!SpecActorAnywhere(kind, type)) {
          EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied) << what;
        } else if (spec == nullptr) {
          ASSERT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << what;
          const std::string message(out.status().message());
          EXPECT_THAT(message, HasSubstr("case is in state " + std::string(StateName(state)) +
                                         "; allowed transitions: "))
              << what;
          const std::vector<K> names = SpecAllowed(state);
          if (names.empty()) {
            EXPECT_THAT(message, HasSubstr("allowed transitions: none"));
          }
          for (K k : names) EXPECT_THAT(message, HasSubstr(TransitionName(k))) << what;
        } else if (!In(spec->who, type)) {
          EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied) << what;
        } else {
          ++allowed;
          ASSERT_TRUE(out.ok()) << what << ": " << out.status();
          EXPECT_EQ(out->next.version(), 8) << what;
          const TransitionRule* rule = FindRule(state, kind);
          EXPECT_EQ(out->next.state(), rule->to == v1::CASE_STATE_UNSPECIFIED ? state : rule->to)
              << what;
          for (const AgencyId& n : out->notify) EXPECT_FALSE(n == caller) << what;
        }
      }
    }
  }
  EXPECT_EQ(checked, 10 * 16 * static_cast<int>(kAllAgencyTypes.size()));
  EXPECT_GT(allowed, 40);
}

// An agency of an allowed type that is not the right party of this case is refused.
TEST(ApplyTransition, AllowedTypeButNotThePartyIsDenied) {
  for (const TransitionRule& rule : TransitionTable()) {
    for (S state : rule.from) {
      for (AgencyType type : rule.actors) {
        const AgencyId insider = Agency(type, "caller");
        Arranged s = Build(state, rule.kind, insider);
        const AgencyId stranger = Agency(type, "stranger");
        const auto out = ApplyTransition(s.c, s.request, stranger, T0(), DeadlineConfig{});
        EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied)
            << Describe(state, rule.kind, type);
      }
    }
  }
}

// The referrer that is also the magistrate may record a statement in either role; a magistrate
// that is only the referrer may not record the magistrate's opinion.
TEST(ApplyTransition, MagistrateRolesAreRolesOfTheCase) {
  v1::Case c = CompleteDraft();
  c.set_state(T);
  *c.mutable_referring_agency() = AgencyIdToProto(Magistrate2());
  v1::TransitionRequest r;
  r.set_kind(v1::TRANSITION_KIND_RECORD_VICTIM_OPINION);
  EXPECT_EQ(ApplyTransition(c, r, Magistrate2(), T0(), {}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(ApplyTransition(c, r, Magistrate(), T0(), {}).ok());
}

// ---------------------------------------------------------------------------------------------
// Walk: one case through every state.
class Walk : public ::testing::Test {
 protected:
  TransitionOutcome Do(K kind, const AgencyId& caller, v1::TransitionRequest r = {}) {
    r.set_case_id(c_.case_id());
    r.set_expected_version(c_.version());
    r.set_kind(kind);
    StatusOr<TransitionOutcome> out = ApplyTransition(c_, r, caller, now_, config_);
    EXPECT_TRUE(out.ok()) << TransitionName(kind) << ": " << out.status();
    if (!out.ok()) return {};
    EXPECT_EQ(out->next.version(), c_.version() + 1);
    EXPECT_EQ(out->entry.version(), out->next.version());
    EXPECT_EQ(out->entry.kind(), kind);
    EXPECT_EQ(out->entry.action(), TransitionAction(kind));
    EXPECT_EQ(out->entry.from_state(), c_.state());
    EXPECT_EQ(out->entry.to_state(), out->next.state());
    EXPECT_EQ(out->entry.actor().id(), caller.id);
    EXPECT_EQ(FromProtoTime(out->next.updated_at()), now_);
    c_ = out->next;
    now_ += absl::Hours(1);
    return *std::move(out);
  }
  v1::TransitionRequest Document(v1::DocumentKind d) {
    v1::TransitionRequest r;
    r.set_document(d);
    return r;
  }
  std::vector<v1::DeadlineKind> Running() const {
    std::vector<v1::DeadlineKind> out;
    for (const auto& d : c_.deadlines()) out.push_back(d.kind());
    return out;
  }

  v1::Case c_ = CompleteDraft();
  absl::Time now_ = T0();
  DeadlineConfig config_;
};

std::vector<std::string> Keys(const std::vector<AgencyId>& agencies) {
  std::vector<std::string> out;
  for (const AgencyId& a : agencies) out.push_back(a.Key());
  return out;
}

TEST_F(Walk, DetectionToUnlimitedStayThroughADeclineAndEveryState) {
  c_.clear_magistrate();
  c_.clear_sealed_record_recipients();
  c_.add_sealed_record_recipients(CentreA().Key());

  // DETECTED -> REFERRED (to centre A).
  TransitionOutcome o = Do(v1::TRANSITION_KIND_SUBMIT, Police());
  EXPECT_EQ(c_.state(), R);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_CENTRE_RESPONSE);
  EXPECT_EQ(o.started[0].due, T0() + absl::Hours(24));
  EXPECT_THAT(o.started[0].fire_at, ElementsAre(T0() + absl::Hours(24)));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreA().Key()));

  // REFERRED -> DECLINED by centre A.
  v1::TransitionRequest decline;
  decline.set_note("no capacity for this profile");
  o = Do(v1::TRANSITION_KIND_DECLINE, CentreA(), decline);
  EXPECT_EQ(c_.state(), X);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_EQ(o.entry.note(), "no capacity for this profile");
  ASSERT_EQ(c_.declined_by_size(), 1);
  EXPECT_EQ(c_.declined_by(0).id(), CentreA().id);
  EXPECT_THAT(Keys(o.notify), ElementsAre(Police().Key()));
  EXPECT_FALSE(OccupiesCentre(c_.state()));

  // DECLINED -> REFERRED elsewhere (centre B), with the record re-sealed to B.
  v1::TransitionRequest elsewhere;
  *elsewhere.mutable_target() = AgencyIdToProto(CentreB());
  *elsewhere.mutable_sealed_record() = Sealed({CentreB().Key()});
  o = Do(v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), elsewhere);
  EXPECT_EQ(c_.state(), R);
  EXPECT_EQ(c_.receiving_centre().id(), CentreB().id);
  ASSERT_TRUE(o.sealed.has_value());
  EXPECT_EQ(o.sealed->version(), 2);
  EXPECT_EQ(o.sealed->author().id(), Police().id);
  EXPECT_EQ(c_.sealed_record_version(), 2);
  EXPECT_THAT(c_.sealed_record_recipients(), ElementsAre(CentreB().Key()));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key()));

  // REFERRED -> ACCEPTED by centre B; centre A (declined) may no longer act.
  v1::TransitionRequest accept;
  accept.set_kind(v1::TRANSITION_KIND_ACCEPT);
  EXPECT_EQ(ApplyTransition(c_, accept, CentreA(), now_, config_).status().code(),
            absl::StatusCode::kPermissionDenied);
  o = Do(v1::TRANSITION_KIND_ACCEPT, CentreB());
  EXPECT_EQ(c_.state(), A);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_THAT(Keys(o.notify), ElementsAre(Police().Key()));

  // The centre names the magistrate (record re-sealed to centre + magistrate).
  v1::TransitionRequest assign;
  *assign.mutable_target() = AgencyIdToProto(Magistrate());
  *assign.mutable_sealed_record() = Sealed({CentreB().Key(), Magistrate().Key()});
  o = Do(v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreB(), assign);
  EXPECT_EQ(c_.state(), A);
  EXPECT_EQ(c_.magistrate().id(), Magistrate().id);
  EXPECT_EQ(c_.sealed_record_version(), 3);
  EXPECT_THAT(Keys(o.notify), ElementsAre(Magistrate().Key(), Police().Key()));

  // ACCEPTED: the centre requests the reflection document from the Immigration Office.
  v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REFLECTION);
  *request.mutable_target() = AgencyIdToProto(Office());
  o = Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(), request);
  EXPECT_EQ(c_.state(), A);
  EXPECT_EQ(c_.pending_document_request(), v1::DOCUMENT_KIND_REFLECTION);
  EXPECT_EQ(c_.immigration_office().id(), Office().id);
  EXPECT_THAT(Keys(o.notify), ElementsAre(Office().Key()));

  // ACCEPTED -> REFLECTION: 45 days, reminder 5 days before.
  const absl::Time issued = now_;
  o = Do(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, Office());
  EXPECT_EQ(c_.state(), F);
  EXPECT_EQ(c_.pending_document_request(), v1::DOCUMENT_KIND_UNSPECIFIED);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_REFLECTION_END);
  EXPECT_EQ(o.started[0].due, issued + absl::Hours(24 * 45));
  EXPECT_THAT(o.started[0].fire_at,
              ElementsAre(issued + absl::Hours(24 * 40), issued + absl::Hours(24 * 45)));
  EXPECT_EQ(FromProtoTime(c_.document_valid_until()), issued + absl::Hours(24 * 45));
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key(), Police().Key(), Magistrate().Key()));

  // The magistrate's non-punishment assessment (art. 8): a self-loop.
  v1::TransitionRequest assessment;
  assessment.set_note("acts committed under coercion");
  o = Do(v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, Magistrate(), assessment);
  EXPECT_EQ(c_.state(), F);
  EXPECT_TRUE(c_.non_punishment_assessed());
  EXPECT_EQ(c_.non_punishment_assessment(), "acts committed under coercion");
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key(), Police().Key()));

  // REFLECTION -> STATEMENT_MADE (the referring police unit); the reflection deadline ends.
  o = Do(v1::TRANSITION_KIND_RECORD_STATEMENT, Police());
  EXPECT_EQ(c_.state(), M);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_REFLECTION_END));
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key(), Magistrate().Key()));

  // STATEMENT_MADE -> REGISTRATION_ATTESTATION (3 months), the office already known.
  o = Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
         Document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION));
  const absl::Time attested = now_;
  o = Do(v1::TRANSITION_KIND_ISSUE_ATTESTATION, Office());
  EXPECT_EQ(c_.state(), T);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_ATTESTATION_EXPIRY);
  EXPECT_EQ(o.started[0].due, attested + absl::Hours(24 * 90));
  EXPECT_THAT(o.started[0].fire_at,
              ElementsAre(attested + absl::Hours(24 * 76), attested + absl::Hours(24 * 90)));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_ATTESTATION_EXPIRY));

  // The magistrate's opinion, the centre's request, then the 6-month certificate.
  o = Do(v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, Magistrate());
  EXPECT_TRUE(c_.victim_opinion());
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key(), Office().Key(), Police().Key()));
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
  const absl::Time certified = now_;
  o = Do(v1::TRANSITION_KIND_ISSUE_CERTIFICATE, Office());
  EXPECT_EQ(c_.state(), C);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_ATTESTATION_EXPIRY));
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].due, certified + absl::Hours(24 * 180));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));

  // Renewal: a new request, then the certificate's deadline restarts.
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
  const absl::Time renewed = now_;
  o = Do(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office());
  EXPECT_EQ(c_.state(), C);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].due, renewed + absl::Hours(24 * 180));
  ASSERT_EQ(c_.deadlines_size(), 1);
  EXPECT_EQ(FromProtoTime(c_.deadlines(0).due_at()), renewed + absl::Hours(24 * 180));
  EXPECT_EQ(FromProtoTime(c_.document_valid_until()), renewed + absl::Hours(24 * 180));

  // Conviction, request, unlimited stay.
  Do(v1::TRANSITION_KIND_RECORD_CONVICTION, Magistrate());
  EXPECT_TRUE(c_.conviction_recorded());
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(), Document(v1::DOCUMENT_KIND_UNLIMITED_STAY));
  o = Do(v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY, Office());
  EXPECT_EQ(c_.state(), U);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_FALSE(c_.has_document_valid_until());
  EXPECT_FALSE(OccupiesCentre(c_.state()));
  EXPECT_TRUE(IsTerminal(c_.state()));
  EXPECT_EQ(c_.version(), 20);

  // Terminal: nothing more.
  v1::TransitionRequest close;
  close.set_kind(v1::TRANSITION_KIND_CLOSE);
  close.set_close_reason(v1::CLOSE_REASON_OTHER);
  const auto refused = ApplyTransition(c_, close, CentreB(), now_, config_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "case is in state UNLIMITED_STAY; allowed transitions: none");
}

TEST_F(Walk, MinorReceivesAThreeMonthReflectionDocument) {
  c_.mutable_attributes()->set_minor(true);
  c_.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
  Do(v1::TRANSITION_KIND_SUBMIT, Police());
  Do(v1::TRANSITION_KIND_ACCEPT, CentreA());
  v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REFLECTION);
  *request.mutable_target() = AgencyIdToProto(Office());
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), request);
  const absl::Time issued = now_;
  TransitionOutcome o = Do(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, Office());
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].due, issued + absl::Hours(24 * 90));
  EXPECT_EQ(FromProtoTime(c_.document_valid_until()), issued + absl::Hours(24 * 90));
}

TEST_F(Walk, CentreClosesDuringReflection) {
  Do(v1::TRANSITION_KIND_SUBMIT, Police());
  Do(v1::TRANSITION_KIND_ACCEPT, CentreA());
  v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REFLECTION);
  *request.mutable_target() = AgencyIdToProto(Office());
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), request);
  Do(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, Office());
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_LOST_CONTACT);
  TransitionOutcome o = Do(v1::TRANSITION_KIND_CLOSE, CentreA(), close);
  EXPECT_EQ(c_.state(), Z);
  EXPECT_EQ(c_.close_reason(), v1::CLOSE_REASON_LOST_CONTACT);
  EXPECT_THAT(o.ended, UnorderedElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE,
                                            v1::DEADLINE_KIND_REFLECTION_END,
                                            v1::DEADLINE_KIND_ATTESTATION_EXPIRY,
                                            v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_THAT(Keys(o.notify), ElementsAre(Police().Key(), Magistrate().Key(), Office().Key()));
  EXPECT_TRUE(IsTerminal(c_.state()));
  EXPECT_TRUE(AllowedTransitions(c_.state()).empty());
}

TEST_F(Walk, ReferrerAbandonsADraftWithoutNotifyingAnyone) {
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_WITHDRAWAL);
  TransitionOutcome o = Do(v1::TRANSITION_KIND_CLOSE, Police(), close);
  EXPECT_EQ(c_.state(), Z);
  EXPECT_TRUE(o.notify.empty());
}

// ---------------------------------------------------------------------------------------------
// Requirements.
StatusOr<TransitionOutcome> Try(const v1::Case& c, K kind, const AgencyId& caller,
                                v1::TransitionRequest r = {}) {
  r.set_kind(kind);
  return ApplyTransition(c, r, caller, T0(), DeadlineConfig{});
}

v1::Case InState(S state) {
  v1::Case c = CompleteDraft();
  c.set_state(state);
  *c.mutable_immigration_office() = AgencyIdToProto(Office());
  return c;
}

using ::concord::testing::ViolationFields;

TEST(Requirements, UnknownKindIsInvalidArgument) {
  const auto out = Try(InState(R), v1::TRANSITION_KIND_UNSPECIFIED, CentreA());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("kind"));
  EXPECT_EQ(Try(InState(R), static_cast<K>(99), CentreA()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Requirements, IncompleteDraftCannotBeSubmitted) {
  v1::Case c = InState(D);
  c.mutable_attributes()->clear_languages();
  c.set_sealed_record_version(0);
  c.clear_sealed_record_recipients();
  const auto out = Try(c, v1::TRANSITION_KIND_SUBMIT, Police());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("attributes.languages", "sealed_record"));
}

TEST(Requirements, DeclineNeedsANote) {
  const auto out = Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("note"));
}

TEST(Requirements, SealedNoteStandsInForTheNoteAndGoesToTheHistoryEntry) {
  // InState(R): referred by the police to centre A, magistrate assigned.
  v1::TransitionRequest r;
  *r.mutable_sealed_note() = Sealed({Police().Key(), CentreA().Key()});
  const auto out = Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->entry.note().empty());
  ASSERT_TRUE(out->entry.has_sealed_note());
  EXPECT_EQ(out->entry.sealed_note().ciphertext(), r.sealed_note().ciphertext());
  EXPECT_EQ(out->entry.sealed_note().version(), out->next.version());
  EXPECT_EQ(out->entry.sealed_note().author().id(), CentreA().id);
  EXPECT_EQ(out->entry.sealed_note().created_at().seconds(), absl::ToUnixSeconds(T0()));

  // The non-punishment assessment too, sealed to the magistrate and the centre.
  v1::TransitionRequest assess;
  *assess.mutable_sealed_note() = Sealed({Magistrate().Key(), CentreA().Key()});
  const auto assessed =
      Try(InState(F), v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, Magistrate(), assess);
  ASSERT_TRUE(assessed.ok()) << assessed.status();
  EXPECT_TRUE(assessed->next.non_punishment_assessed());
  EXPECT_TRUE(assessed->entry.has_sealed_note());
}

TEST(Requirements, SealedNoteOnlyToPartiesAndWellFormed) {
  v1::TransitionRequest r;
  r.set_note("no capacity");
  *r.mutable_sealed_note() = Sealed({CentreA().Key(), CentreB().Key()});  // B is no party
  auto out = Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), r);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_note.keys[1].recipient"));

  *r.mutable_sealed_note() = Sealed({});
  out = Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), r);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_note.keys"));

  *r.mutable_sealed_note() = Sealed({CentreA().Key()});
  r.mutable_sealed_note()->set_nonce("short");
  out = Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), r);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_note.nonce"));

  // A party that joins with this transition may read it: the new magistrate of ASSIGN_MAGISTRATE.
  v1::TransitionRequest assign;
  *assign.mutable_target() = AgencyIdToProto(Magistrate2());
  *assign.mutable_sealed_record() = Sealed({Magistrate2().Key()});
  *assign.mutable_sealed_note() = Sealed({Police().Key(), Magistrate2().Key()});
  out = Try(InState(X), v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, Police(), assign);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(out->entry.has_sealed_note());
}

// A centre that declined receives no new sealed note, except the one it writes itself (its
// decline reason): docs/referrals.md "Declining".
TEST(Requirements, ADecliningCentreReceivesNoNewSealedNote) {
  v1::TransitionRequest decline;
  *decline.mutable_sealed_note() = Sealed({Police().Key(), CentreA().Key()});
  ASSERT_TRUE(Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), decline).ok());

  v1::Case declined = InState(X);
  *declined.add_declined_by() = AgencyIdToProto(CentreA());
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_WITHDRAWAL);
  *close.mutable_sealed_note() = Sealed({Magistrate().Key(), CentreA().Key()});
  auto out = Try(declined, v1::TRANSITION_KIND_CLOSE, Police(), close);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_note.keys[1].recipient"));
  *close.mutable_sealed_note() = Sealed({Magistrate().Key()});
  EXPECT_TRUE(Try(declined, v1::TRANSITION_KIND_CLOSE, Police(), close).ok());

  // Nor when the referrer refers the case elsewhere (the declining centre is a party before).
  v1::TransitionRequest elsewhere;
  *elsewhere.mutable_target() = AgencyIdToProto(CentreB());
  *elsewhere.mutable_sealed_record() = Sealed({CentreB().Key(), Magistrate().Key()});
  *elsewhere.mutable_sealed_note() = Sealed({CentreA().Key(), CentreB().Key()});
  out = Try(declined, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), elsewhere);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_note.keys[0].recipient"));
}

// ---------------------------------------------------------------------------------------------
// Who sees a case, and who keeps its sealed record.

TEST(Visibility, ADraftIsTheReferrersAlone) {
  const v1::Case draft = InState(D);  // names centre A and the magistrate already
  EXPECT_TRUE(MayView(draft, Police()));
  EXPECT_FALSE(MayView(draft, CentreA()));
  EXPECT_FALSE(MayView(draft, Magistrate()));
  EXPECT_FALSE(MayView(draft, Office()));
  std::vector<std::string> keys;
  for (const AgencyId& a : Viewers(draft)) keys.push_back(a.Key());
  EXPECT_THAT(keys, ElementsAre(Police().Key()));
  // Once submitted, every party.
  const v1::Case referred = InState(R);
  for (const AgencyId& a : {Police(), CentreA(), Magistrate(), Office()}) {
    EXPECT_TRUE(MayView(referred, a)) << a.Key();
  }
  EXPECT_FALSE(MayView(referred, CentreB()));
  EXPECT_EQ(Viewers(referred).size(), 4u);
}

TEST(RecordKeeper, CentreMagistrateAndTheReferrerOfADraft) {
  EXPECT_TRUE(CheckRecordKeeper(InState(D), Police()).ok());
  EXPECT_EQ(ReasonOf(CheckRecordKeeper(InState(D), CentreA())), "NOT_A_RECORD_KEEPER");
  EXPECT_EQ(ReasonOf(CheckRecordKeeper(InState(D), Magistrate())), "NOT_A_RECORD_KEEPER");
  for (S state : {R, A, F, M, T, C}) {
    EXPECT_TRUE(CheckRecordKeeper(InState(state), CentreA()).ok()) << StateName(state);
    EXPECT_TRUE(CheckRecordKeeper(InState(state), Magistrate()).ok()) << StateName(state);
    EXPECT_EQ(ReasonOf(CheckRecordKeeper(InState(state), Police())), "NOT_A_RECORD_KEEPER");
    EXPECT_EQ(ReasonOf(CheckRecordKeeper(InState(state), Office())), "NOT_A_RECORD_KEEPER");
  }
  EXPECT_EQ(CheckRecordKeeper(InState(Z), CentreA()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckRecordKeeper(InState(U), Magistrate()).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RecordKeeper, ACentreThatDeclinedLosesTheRecord) {
  v1::Case c = InState(X);
  *c.add_declined_by() = AgencyIdToProto(CentreA());
  EXPECT_TRUE(IsDecliningCentre(c, CentreA()));
  EXPECT_FALSE(IsDecliningCentre(c, CentreB()));
  const Status st = CheckRecordKeeper(c, CentreA());
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(st), "CENTRE_DECLINED");
  EXPECT_TRUE(CheckRecordKeeper(c, Magistrate()).ok());
  // It still sees the outcome.
  EXPECT_TRUE(MayView(c, CentreA()));
  // Closed after the decline: still no right.
  c.set_state(Z);
  EXPECT_EQ(ReasonOf(CheckRecordKeeper(c, CentreA())), "CENTRE_DECLINED");
}

TEST(Requirements, NoteIsBounded) {
  v1::TransitionRequest r;
  r.set_note(std::string(1001, 'x'));
  EXPECT_THAT(ViolationFields(Try(InState(R), v1::TRANSITION_KIND_ACCEPT, CentreA(), r).status()),
              ElementsAre("note"));
  r.set_note("bad\x01note");
  EXPECT_EQ(Try(InState(R), v1::TRANSITION_KIND_DECLINE, CentreA(), r).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Requirements, ReferElsewhere) {
  v1::Case c = InState(X);
  *c.add_declined_by() = AgencyIdToProto(CentreA());
  *c.add_declined_by() = AgencyIdToProto(CentreC());
  v1::TransitionRequest r;
  // No target.
  auto out = Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("target"));
  // Not a centre.
  *r.mutable_target() = AgencyIdToProto(Magistrate2());
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r).status()),
              ElementsAre("target.type"));
  // A centre that declined already (the current one, or an earlier one).
  for (const AgencyId& declined : {CentreA(), CentreC()}) {
    *r.mutable_target() = AgencyIdToProto(declined);
    *r.mutable_sealed_record() = Sealed({declined.Key(), Magistrate().Key()});
    out = Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("already declined"));
  }
  // No re-sealed record.
  *r.mutable_target() = AgencyIdToProto(CentreB());
  r.clear_sealed_record();
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r).status()),
              ElementsAre("sealed_record"));
  // Sealed to the old centre, not to the new one (nor to the magistrate).
  *r.mutable_sealed_record() = Sealed({CentreA().Key()});
  EXPECT_THAT(
      ViolationFields(Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r).status()),
      ElementsAre("sealed_record.keys", "sealed_record.keys", "sealed_record.keys[0].recipient"));
  // Malformed box.
  *r.mutable_sealed_record() = Sealed({CentreB().Key(), Magistrate().Key()});
  r.mutable_sealed_record()->set_nonce("short");
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r).status()),
              ElementsAre("sealed_record.nonce"));
  r.mutable_sealed_record()->set_nonce(std::string(12, 'n'));
  EXPECT_TRUE(Try(c, v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), r).ok());
}

TEST(Requirements, RequestDocument) {
  v1::Case c = InState(A);
  c.clear_immigration_office();
  v1::TransitionRequest r;
  auto out = Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("document", "target"));
  r.set_document(v1::DOCUMENT_KIND_REFLECTION);
  *r.mutable_target() = AgencyIdToProto(Police());
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r).status()),
              ElementsAre("target.type"));
  *r.mutable_target() = AgencyIdToProto(Office());
  // The wrong document for the state.
  r.set_document(v1::DOCUMENT_KIND_UNLIMITED_STAY);
  out = Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(out.status().message(), "in state ACCEPTED the centre may request: REFLECTION");
  // Already pending.
  r.set_document(v1::DOCUMENT_KIND_REFLECTION);
  c.set_pending_document_request(v1::DOCUMENT_KIND_REFLECTION);
  out = Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("already pending"));
}

TEST(Requirements, DocumentsNeedTheCentresRequest) {
  struct Row {
    S state;
    K kind;
  };
  for (const Row& t : {Row{A, v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT},
                       Row{M, v1::TRANSITION_KIND_ISSUE_ATTESTATION},
                       Row{T, v1::TRANSITION_KIND_ISSUE_CERTIFICATE},
                       Row{C, v1::TRANSITION_KIND_RENEW_CERTIFICATE},
                       Row{C, v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY}}) {
    v1::Case c = InState(t.state);
    c.set_victim_opinion(true);
    c.set_conviction_recorded(true);
    const auto out = Try(c, t.kind, Office());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << TransitionName(t.kind);
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("has not requested"));
    // A request for another document does not count.
    c.set_pending_document_request(v1::DOCUMENT_KIND_UNLIMITED_STAY);
    if (t.kind != v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY) {
      EXPECT_EQ(Try(c, t.kind, Office()).status().code(), absl::StatusCode::kFailedPrecondition);
    }
  }
}

TEST(Requirements, CertificateNeedsTheVictimOpinion) {
  v1::Case c = InState(T);
  c.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  const auto out = Try(c, v1::TRANSITION_KIND_ISSUE_CERTIFICATE, Office());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("RECORD_VICTIM_OPINION"));
}

TEST(Requirements, UnlimitedStayNeedsTheConviction) {
  v1::Case c = InState(C);
  c.set_pending_document_request(v1::DOCUMENT_KIND_UNLIMITED_STAY);
  const auto out = Try(c, v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY, Office());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("RECORD_CONVICTION"));
}

TEST(Requirements, OpinionAndConvictionAreRecordedOnce) {
  v1::Case c = InState(T);
  c.set_victim_opinion(true);
  EXPECT_EQ(Try(c, v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, Magistrate()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  c = InState(C);
  c.set_conviction_recorded(true);
  EXPECT_EQ(Try(c, v1::TRANSITION_KIND_RECORD_CONVICTION, Magistrate()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Requirements, NonPunishmentNeedsTheAssessment) {
  const auto out = Try(InState(F), v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, Magistrate());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("note"));
}

TEST(Requirements, CloseNeedsAReason) {
  for (int reason : {0, 42}) {
    v1::TransitionRequest r;
    r.set_close_reason(static_cast<v1::CloseReason>(reason));
    const auto out = Try(InState(R), v1::TRANSITION_KIND_CLOSE, Police(), r);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ViolationFields(out.status()), ElementsAre("close_reason"));
  }
}

TEST(Requirements, AssignMagistrate) {
  v1::Case c = InState(A);
  v1::TransitionRequest r;
  *r.mutable_target() = AgencyIdToProto(Police());
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreA(), r).status()),
              ElementsAre("target.type"));
  *r.mutable_target() = AgencyIdToProto(Magistrate());
  EXPECT_EQ(Try(c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreA(), r).status().code(),
            absl::StatusCode::kFailedPrecondition);
  *r.mutable_target() = AgencyIdToProto(Magistrate2());
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreA(), r).status()),
              ElementsAre("sealed_record"));
  // Sealed to a third agency as well: refused (centre and magistrate only).
  *r.mutable_sealed_record() = Sealed({CentreA().Key(), Magistrate2().Key(), Police().Key()});
  EXPECT_THAT(ViolationFields(Try(c, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreA(), r).status()),
              ElementsAre("sealed_record.keys[2].recipient"));
  // In DECLINED the declining centre receives no new version.
  v1::Case declined = InState(X);
  *r.mutable_sealed_record() = Sealed({Magistrate2().Key()});
  const auto out = Try(declined, v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, Police(), r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(out->next.sealed_record_recipients(), ElementsAre(Magistrate2().Key()));
}

// ---------------------------------------------------------------------------------------------
TEST(Parties, AreTheFourRoleFieldsDeduplicated) {
  v1::Case c = CompleteDraft();
  *c.mutable_referring_agency() = AgencyIdToProto(Magistrate());
  EXPECT_THAT(Keys(Parties(c)), ElementsAre(Magistrate().Key(), CentreA().Key()));
  EXPECT_THAT(PartyRoles(c, Magistrate()), ElementsAre(Party::kReferrer, Party::kMagistrate));
  // Stored protos may leave the trust domain empty (= local).
  c.mutable_receiving_centre()->clear_trust_domain();
  EXPECT_TRUE(IsParty(c, CentreA()));
  EXPECT_FALSE(IsParty(c, CentreB()));
  EXPECT_FALSE(IsParty(c, Agency(AgencyType::kCoordinationUnit, "pag-asa")));
  EXPECT_FALSE(IsParty(c, AgencyId{"other.eu", AgencyType::kMagistrate, Magistrate().id}));
}

TEST(OccupiesCentre, FromReferredToCertificateExceptDeclined) {
  std::vector<S> occupying;
  for (S s : kAllCaseStates) {
    if (OccupiesCentre(s)) occupying.push_back(s);
  }
  EXPECT_THAT(occupying, ElementsAre(R, A, F, M, T, C));
}

TEST(Names, AreTheProtoNames) {
  for (S s : kAllCaseStates) {
    EXPECT_EQ("CASE_STATE_" + std::string(StateName(s)), v1::CaseState_Name(s));
  }
  for (K k : kAllTransitionKinds) {
    EXPECT_EQ("TRANSITION_KIND_" + std::string(TransitionName(k)), v1::TransitionKind_Name(k));
  }
  EXPECT_EQ(TransitionAction(v1::TRANSITION_KIND_REFER_ELSEWHERE), "refer_elsewhere");
}

// docs/referrals.md embeds the generated state machine verbatim between the markers (same
// mechanism as docs/security.md and PolicyTableMarkdown()). On failure, paste the "expected"
// text printed below into the doc.
TEST(StateMachineMarkdown, DocsReferralsMdShowsExactlyTheTable) {
  const std::string path = std::string(CONCORD_SOURCE_DIR) + "/docs/referrals.md";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- BEGIN state-machine -->\n";
  const std::string end = "<!-- END state-machine -->";
  const size_t b = doc.find(begin);
  ASSERT_NE(b, std::string::npos) << "missing " << begin;
  const size_t e = doc.find(end, b);
  ASSERT_NE(e, std::string::npos) << "missing " << end;
  const std::string section = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(section, StateMachineMarkdown()) << "expected section:\n" << StateMachineMarkdown();
}

TEST(StateMachineMarkdown, HasEveryRowAndEveryEdge) {
  const std::string md = StateMachineMarkdown();
  EXPECT_NE(md.find("```mermaid\nstateDiagram-v2\n"), std::string::npos);
  for (const TransitionRule& r : TransitionTable()) {
    EXPECT_NE(md.find("| `" + std::string(TransitionName(r.kind)) + "` | "), std::string::npos);
    if (r.to == v1::CASE_STATE_UNSPECIFIED) continue;
    for (S s : r.from) {
      EXPECT_NE(md.find("    " + std::string(StateName(s)) + " --> " +
                        std::string(StateName(r.to)) + ": " + std::string(TransitionName(r.kind))),
                std::string::npos);
    }
  }
}

}  // namespace
}  // namespace concord::referrals
