// Tests of services/referrals/state_machine.h: the (state, transition, agency type, nationality
// class, minor class) table against docs/referrals.md, walks through every path (third-country
// adult, unaccompanied minor, Belgian / EU victim), the negative outcomes, the requirements of each
// transition, and the generated documentation.
#include "services/referrals/state_machine.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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
using Res = Applies::Residence;
using Min = Applies::Minor;

constexpr S D = v1::CASE_STATE_DETECTED, R = v1::CASE_STATE_REFERRED, A = v1::CASE_STATE_ACCEPTED,
            X = v1::CASE_STATE_DECLINED, F = v1::CASE_STATE_REFLECTION,
            M = v1::CASE_STATE_STATEMENT_MADE, T = v1::CASE_STATE_REGISTRATION_ATTESTATION,
            C = v1::CASE_STATE_REGISTRATION_CERTIFICATE, U = v1::CASE_STATE_UNLIMITED_STAY,
            Z = v1::CASE_STATE_CLOSED;

TransitionContext Ctx(const AgencyId& caller, absl::Time now = T0(), bool recognised = true) {
  return TransitionContext{caller, now, recognised};
}

DeadlineConfig Brussels() {
  StatusOr<DeadlineConfig> c = DeadlineConfig::Defaults();
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : DeadlineConfig{};
}

absl::Time Local(int y, int m, int d, int hh = 0) {
  return absl::FromCivil(absl::CivilHour(y, m, d, hh), Brussels().zone);
}

// ---------------------------------------------------------------------------------------------
// The specification, written independently of the code from DOMAIN.md §1-§2 and issue 13: who may
// make which transition from which state, on which path.
struct SpecRow {
  K kind;
  std::vector<S> from;
  Applies applies;
  std::vector<AgencyType> who;
};

const std::vector<AgencyType> kReferring = {AgencyType::kPolice, AgencyType::kMagistrate,
                                            AgencyType::kImmigrationOffice,
                                            AgencyType::kSocialInspection};
const std::vector<AgencyType> kCentre = {AgencyType::kReceptionCentre};
const std::vector<AgencyType> kMag = {AgencyType::kMagistrate};
const std::vector<AgencyType> kOffice = {AgencyType::kImmigrationOffice};
const std::vector<AgencyType> kStatementTakers = {AgencyType::kPolice, AgencyType::kMagistrate,
                                                  AgencyType::kSocialInspection};

std::vector<AgencyType> ReferringOrCentre() {
  std::vector<AgencyType> out = kReferring;
  out.push_back(AgencyType::kReceptionCentre);
  return out;
}

constexpr Applies kEvery{};
constexpr Applies kResidence{Res::kNeeded, Min::kAny};
constexpr Applies kResidenceAdult{Res::kNeeded, Min::kNotUnaccompanied};
constexpr Applies kResidenceMinor{Res::kNeeded, Min::kUnaccompanied};
constexpr Applies kNoResidence{Res::kNotNeeded, Min::kAny};
constexpr Applies kUnaccompanied{Res::kAny, Min::kUnaccompanied};

const std::vector<SpecRow>& Spec() {
  const std::vector<S> open = {R, A, F, M, T, C};
  static const auto* const kSpec = new std::vector<SpecRow>{
      {v1::TRANSITION_KIND_SUBMIT, {D}, kEvery, kReferring},
      {v1::TRANSITION_KIND_ACCEPT, {R}, kEvery, kCentre},
      {v1::TRANSITION_KIND_DECLINE, {R}, kEvery, kCentre},
      {v1::TRANSITION_KIND_REFER_ELSEWHERE, {X}, kEvery, kReferring},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT, {A, M, T, C}, kResidenceAdult, kCentre},
      {v1::TRANSITION_KIND_REQUEST_DOCUMENT,
       {A, M, T, C},
       kResidenceMinor,
       {AgencyType::kReceptionCentre, AgencyType::kGuardianshipService}},
      {v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, {A}, kResidenceAdult, kOffice},
      {v1::TRANSITION_KIND_RECORD_STATEMENT, {A, F}, kEvery, kStatementTakers},
      {v1::TRANSITION_KIND_RECORD_STATEMENT, {T}, kResidenceMinor, kStatementTakers},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION, {A}, kResidenceMinor, kOffice},
      {v1::TRANSITION_KIND_ISSUE_ATTESTATION, {M}, kResidence, kOffice},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, {T}, kResidence, kMag},
      {v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, {A, M}, kNoResidence, kMag},
      {v1::TRANSITION_KIND_RECORD_NOT_VICTIM, {T}, kResidence, kMag},
      {v1::TRANSITION_KIND_RECORD_NOT_VICTIM, {A, M}, kNoResidence, kMag},
      {v1::TRANSITION_KIND_ISSUE_CERTIFICATE, {T}, kResidence, kOffice},
      {v1::TRANSITION_KIND_RENEW_CERTIFICATE, {C}, kResidence, kOffice},
      {v1::TRANSITION_KIND_RECORD_CONVICTION, {C}, kResidence, kMag},
      {v1::TRANSITION_KIND_RECORD_CONVICTION, {M}, kNoResidence, kMag},
      {v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY, {C}, kResidence, kOffice},
      // Non-punishment: from REFERRED on, after CLOSED included, whatever the cooperation.
      {v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, {R, A, X, F, M, T, C, U, Z}, kEvery, kMag},
      {v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED, {A, F, M, T, C, U}, kEvery, kMag},
      {v1::TRANSITION_KIND_REFUSE_DOCUMENT, {A, M, T, C}, kResidence, kOffice},
      {v1::TRANSITION_KIND_WITHDRAW_DOCUMENT, {F, T, C}, kResidence, kOffice},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, {D, X}, kEvery, kReferring},
      {v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, open, kEvery, ReferringOrCentre()},
      {v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT, open, kEvery, ReferringOrCentre()},
      {v1::TRANSITION_KIND_RECORD_GUARDIAN,
       {R, A, M, T, C},
       kUnaccompanied,
       {AgencyType::kGuardianshipService, AgencyType::kReceptionCentre}},
      {v1::TRANSITION_KIND_CLOSE, {D, R, X}, kEvery, kReferring},
      {v1::TRANSITION_KIND_CLOSE, {A, F, M, T, C}, kEvery, kCentre},
  };
  return *kSpec;
}

template <typename V, typename E>
bool In(const V& v, const E& e) {
  return std::find(v.begin(), v.end(), e) != v.end();
}

const std::vector<v1::NationalityClass> kNationalities = {
    v1::NATIONALITY_CLASS_BELGIAN, v1::NATIONALITY_CLASS_EU_EEA,
    v1::NATIONALITY_CLASS_THIRD_COUNTRY, v1::NATIONALITY_CLASS_UNKNOWN};

const SpecRow* SpecFor(S state, K kind, v1::NationalityClass nat, bool minor) {
  for (const SpecRow& r : Spec()) {
    if (r.kind == kind && In(r.from, state) && r.applies.Matches(nat, minor)) return &r;
  }
  return nullptr;
}

bool SpecFromState(S state, K kind) {
  for (const SpecRow& r : Spec()) {
    if (r.kind == kind && In(r.from, state)) return true;
  }
  return false;
}

bool SpecActorAnywhere(K kind, AgencyType type) {
  for (const SpecRow& r : Spec()) {
    if (r.kind == kind && In(r.who, type)) return true;
  }
  return false;
}

bool DocumentStep(K kind) {
  return In(
      std::vector<K>{
          v1::TRANSITION_KIND_REQUEST_DOCUMENT, v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT,
          v1::TRANSITION_KIND_ISSUE_ATTESTATION, v1::TRANSITION_KIND_ISSUE_CERTIFICATE,
          v1::TRANSITION_KIND_RENEW_CERTIFICATE, v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY,
          v1::TRANSITION_KIND_REFUSE_DOCUMENT, v1::TRANSITION_KIND_WITHDRAW_DOCUMENT},
      kind);
}

// The transition table of docs/referrals.md, parsed: one row per line "| `KIND` | For | From |
// To | Who as roles | ...".
struct DocRow {
  std::string kind, applies;
  std::set<std::string> from, who;
};

std::string ReadDoc() {
  const std::string path = std::string(CONCORD_SOURCE_DIR) + "/docs/referrals.md";
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The rows of the table between the state-machine markers.
std::vector<DocRow> DocTable() {
  std::vector<DocRow> out;
  const std::string doc = ReadDoc();
  const size_t begin = doc.find("<!-- BEGIN state-machine -->");
  const size_t end = doc.find("<!-- END state-machine -->");
  if (begin == std::string::npos || end == std::string::npos) return out;
  for (absl::string_view line : absl::StrSplit(doc.substr(begin, end - begin), '\n')) {
    if (!absl::ConsumePrefix(&line, "| `")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, " | ");
    if (cells.size() < 5) continue;
    DocRow row;
    row.kind = std::string(absl::StripSuffix(cells[0], "`"));
    row.applies = cells[1];
    for (absl::string_view s : absl::StrSplit(cells[2], ", ")) row.from.insert(std::string(s));
    const std::vector<std::string> who = absl::StrSplit(cells[4], " as ");
    for (absl::string_view t : absl::StrSplit(who[0], ", ")) row.who.insert(std::string(t));
    out.push_back(std::move(row));
  }
  return out;
}

DocRow FromSpec(const SpecRow& r) {
  DocRow row;
  row.kind = std::string(TransitionName(r.kind));
  row.applies = r.applies.Text();
  for (S s : r.from) row.from.insert(std::string(StateName(s)));
  for (AgencyType t : r.who) row.who.insert(std::string(AgencyTypeName(t)));
  return row;
}

// The table the documentation publishes is the specification.
TEST(TransitionTable, DocsReferralsMdTableIsTheSpecification) {
  const std::vector<DocRow> doc = DocTable();
  ASSERT_EQ(doc.size(), Spec().size()) << "rows in docs/referrals.md";
  for (size_t i = 0; i < doc.size(); ++i) {
    const DocRow expected = FromSpec(Spec()[i]);
    EXPECT_EQ(doc[i].kind, expected.kind) << i;
    EXPECT_EQ(doc[i].applies, expected.applies) << expected.kind;
    EXPECT_EQ(doc[i].from, expected.from) << expected.kind;
    EXPECT_EQ(doc[i].who, expected.who) << expected.kind;
  }
}

// A case in `state` on the path (nationality, minor) whose parties include `caller` where its
// type can be a party, and whose requirements for `kind` are met, plus the request.
struct Arranged {
  v1::Case c;
  v1::TransitionRequest request;
};

Arranged Build(S state, K kind, const AgencyId& caller, v1::NationalityClass nationality,
               bool minor) {
  Arranged s;
  v1::Case& c = s.c;
  c = CompleteDraft();
  c.mutable_attributes()->set_nationality_class(nationality);
  if (minor) {
    c.mutable_attributes()->set_unaccompanied_minor(true);
    c.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
    *c.mutable_guardianship_service() = AgencyIdToProto(Guardianship());
  }
  c.set_state(state);
  c.set_version(7);
  *c.mutable_immigration_office() = AgencyIdToProto(Office());
  if (state == X) *c.add_declined_by() = c.receiving_centre();
  const auto proto = AgencyIdToProto(caller);
  const TransitionRule* rule = FindRule(c, kind);
  auto allowed = [&](Party p) { return rule == nullptr || In(rule->as, p); };
  switch (caller.type) {
    case AgencyType::kReceptionCentre:
      *c.mutable_receiving_centre() = proto;
      if (state == X) *c.mutable_declined_by(0) = proto;
      break;
    case AgencyType::kMagistrate:
      *(allowed(Party::kMagistrate) ? c.mutable_magistrate() : c.mutable_referring_agency()) =
          proto;
      break;
    case AgencyType::kImmigrationOffice:
      *(allowed(Party::kImmigrationOffice) ? c.mutable_immigration_office()
                                           : c.mutable_referring_agency()) = proto;
      break;
    case AgencyType::kPolice:
    case AgencyType::kSocialInspection:
      *c.mutable_referring_agency() = proto;
      break;
    case AgencyType::kGuardianshipService:
      *c.mutable_guardianship_service() = proto;
      break;
    default:
      break;  // never a party
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
      const auto docs = RequestableDocuments(c);
      r.set_document(docs.empty() ? v1::DOCUMENT_KIND_REFLECTION : docs.front());
      *r.mutable_target() = c.immigration_office();
      *r.mutable_sealed_identity() = Sealed({AgencyKeyOf(c.immigration_office())});
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
      c.set_opinion(v1::MAGISTRATE_OPINION_VICTIM);
      c.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
      break;
    case v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY:
      c.set_opinion(v1::MAGISTRATE_OPINION_VICTIM);
      c.set_conviction_recorded(true);
      c.set_pending_document_request(v1::DOCUMENT_KIND_UNLIMITED_STAY);
      break;
    case v1::TRANSITION_KIND_REFUSE_DOCUMENT:
      c.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
      r.set_ground(v1::DOCUMENT_GROUND_NO_COOPERATION);
      break;
    case v1::TRANSITION_KIND_WITHDRAW_DOCUMENT:
      *c.mutable_document_valid_until() = ToProtoTime(T0() + absl::Hours(24 * 30));
      r.set_ground(v1::DOCUMENT_GROUND_CONTACT_WITH_EXPLOITERS);
      break;
    case v1::TRANSITION_KIND_ASSIGN_MAGISTRATE: {
      *r.mutable_target() = AgencyIdToProto(Magistrate2());
      v1::Case next = c;
      *next.mutable_magistrate() = r.target();
      *r.mutable_sealed_record() = Sealed(RequiredRecipients(next));
      break;
    }
    case v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT:
      *r.mutable_target() = AgencyIdToProto(Agency(AgencyType::kPolice, "pz-other"));
      break;
    case v1::TRANSITION_KIND_RECORD_GUARDIAN:
      *r.mutable_sealed_guardian() =
          Sealed({AgencyKeyOf(c.receiving_centre()), AgencyKeyOf(c.guardianship_service())});
      break;
    case v1::TRANSITION_KIND_CLOSE:
      r.set_close_reason(v1::CLOSE_REASON_LOST_CONTACT);
      break;
    default:
      break;
  }
  return s;
}

std::string Describe(S state, K kind, AgencyType type, v1::NationalityClass nat, bool minor) {
  return std::string(StateName(state)) + " x " + std::string(TransitionName(kind)) + " x " +
         std::string(AgencyTypeName(type)) + " x " + v1::NationalityClass_Name(nat) +
         (minor ? " x unaccompanied minor" : " x not unaccompanied");
}

TEST(TransitionTable, MatchesTheSpecification) {
  for (v1::NationalityClass nat : kNationalities) {
    for (bool minor : {false, true}) {
      for (S state : kAllCaseStates) {
        v1::Case c = CompleteDraft();
        c.set_state(state);
        c.mutable_attributes()->set_nationality_class(nat);
        c.mutable_attributes()->set_unaccompanied_minor(minor);
        std::vector<K> expected;
        for (K kind : kAllTransitionKinds) {
          const TransitionRule* rule = FindRule(c, kind);
          const SpecRow* spec = SpecFor(state, kind, nat, minor);
          ASSERT_EQ(rule != nullptr, spec != nullptr)
              << Describe(state, kind, AgencyType::kPolice, nat, minor);
          if (rule == nullptr) continue;
          expected.push_back(kind);
          EXPECT_THAT(rule->actors, ::testing::UnorderedElementsAreArray(spec->who))
              << StateName(state) << " x " << TransitionName(kind);
        }
        std::sort(expected.begin(), expected.end());
        EXPECT_EQ(AllowedTransitions(c), expected) << StateName(state);
      }
    }
  }
}

// Issue 13 acceptance: every (state, transition, agency type, nationality class, minor class)
// combination is allowed exactly when the specification (= the table of docs/referrals.md) says
// so; otherwise PERMISSION_DENIED or FAILED_PRECONDITION by the binding check order, with the
// path's reason (NO_RESIDENCE_DOCUMENT, NOT_ON_THIS_PATH).
TEST(ApplyTransition, EveryStateTransitionActorNationalityAndMinorClass) {
  int allowed = 0;
  int checked = 0;
  const DeadlineConfig config = Brussels();
  for (v1::NationalityClass nat : kNationalities) {
    for (bool minor : {false, true}) {
      for (S state : kAllCaseStates) {
        for (K kind : kAllTransitionKinds) {
          for (AgencyType type : kAllAgencyTypes) {
            const AgencyId caller = Agency(type, "caller");
            Arranged s = Build(state, kind, caller, nat, minor);
            const StatusOr<TransitionOutcome> out =
                ApplyTransition(s.c, s.request, Ctx(caller), config);
            const std::string what = Describe(state, kind, type, nat, minor);
            ++checked;
            const SpecRow* spec = SpecFor(state, kind, nat, minor);
            if (!SpecActorAnywhere(kind, type)) {
              EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied) << what;
            } else if (!SpecFromState(state, kind)) {
              ASSERT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << what;
              EXPECT_THAT(std::string(out.status().message()),
                          HasSubstr("case is in state " + std::string(StateName(state)) +
                                    "; allowed transitions: "))
                  << what;
            } else if (spec == nullptr) {
              ASSERT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition) << what;
              const bool no_residence =
                  nat == v1::NATIONALITY_CLASS_BELGIAN || nat == v1::NATIONALITY_CLASS_EU_EEA;
              EXPECT_EQ(ReasonOf(out.status()), no_residence && DocumentStep(kind)
                                                    ? "NO_RESIDENCE_DOCUMENT"
                                                    : "NOT_ON_THIS_PATH")
                  << what;
            } else if (!In(spec->who, type)) {
              EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied) << what;
            } else {
              ++allowed;
              ASSERT_TRUE(out.ok()) << what << ": " << out.status();
              EXPECT_EQ(out->next.version(), 8) << what;
              const TransitionRule* rule = FindRule(s.c, kind);
              EXPECT_EQ(out->next.state(),
                        rule->to == v1::CASE_STATE_UNSPECIFIED ? state : rule->to)
                  << what;
              for (const AgencyId& n : out->notify) EXPECT_FALSE(n == caller) << what;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 2 * 10 * 22 * 10);
  EXPECT_GT(allowed, 400);
}

// An agency of an allowed type that is not the right party of this case is refused.
TEST(ApplyTransition, AllowedTypeButNotThePartyIsDenied) {
  for (const TransitionRule& rule : TransitionTable()) {
    const bool minor = rule.applies.minor == Min::kUnaccompanied;
    const v1::NationalityClass nat = rule.applies.residence == Res::kNotNeeded
                                         ? v1::NATIONALITY_CLASS_BELGIAN
                                         : v1::NATIONALITY_CLASS_THIRD_COUNTRY;
    for (S state : rule.from) {
      for (AgencyType type : rule.actors) {
        const AgencyId insider = Agency(type, "caller");
        Arranged s = Build(state, rule.kind, insider, nat, minor);
        const AgencyId stranger = Agency(type, "stranger");
        const auto out = ApplyTransition(s.c, s.request, Ctx(stranger), Brussels());
        EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied)
            << Describe(state, rule.kind, type, nat, minor);
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
  EXPECT_EQ(ApplyTransition(c, r, Ctx(Magistrate2()), Brussels()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(ApplyTransition(c, r, Ctx(Magistrate()), Brussels()).ok());
}

// Only the recognised specialised centres (directory attribute) request documents: a shelter
// for minors is a reception centre without that right.
TEST(ApplyTransition, OnlyRecognisedCentresRequestDocuments) {
  Arranged s = Build(A, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(),
                     v1::NATIONALITY_CLASS_THIRD_COUNTRY, false);
  const auto out =
      ApplyTransition(s.c, s.request, Ctx(CentreA(), T0(), /*recognised=*/false), Brussels());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(out.status()), "NOT_A_RECOGNISED_CENTRE");
  EXPECT_TRUE(ApplyTransition(s.c, s.request, Ctx(CentreA()), Brussels()).ok());
}

// Social inspection records a statement (labour exploitation) as referrer or as the
// investigating unit; a police unit that took the statement records it without being the
// referrer.
TEST(ApplyTransition, TheUnitThatTookTheStatementRecordsIt) {
  v1::Case c = CompleteDraft();
  c.set_state(A);
  v1::TransitionRequest r;
  r.set_kind(v1::TRANSITION_KIND_RECORD_STATEMENT);
  const AgencyId unit = Agency(AgencyType::kPolice, "pj-antwerpen");
  EXPECT_EQ(ApplyTransition(c, r, Ctx(unit), Brussels()).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::TransitionRequest assign;
  assign.set_kind(v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT);
  *assign.mutable_target() = AgencyIdToProto(unit);
  const auto assigned = ApplyTransition(c, assign, Ctx(CentreA()), Brussels());
  ASSERT_TRUE(assigned.ok()) << assigned.status();
  EXPECT_THAT(assigned->notify, ::testing::Contains(unit));
  const auto recorded = ApplyTransition(assigned->next, r, Ctx(unit), Brussels());
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->next.state(), M);
  EXPECT_TRUE(recorded->next.statement_recorded());
  // Social inspection as the referrer.
  *c.mutable_referring_agency() = AgencyIdToProto(Inspection());
  EXPECT_TRUE(ApplyTransition(c, r, Ctx(Inspection()), Brussels()).ok());
}

// ---------------------------------------------------------------------------------------------
// Walks: one case through each path.
class Walk : public ::testing::Test {
 protected:
  TransitionOutcome Do(K kind, const AgencyId& caller, v1::TransitionRequest r = {}) {
    r.set_case_id(c_.case_id());
    r.set_expected_version(c_.version());
    r.set_kind(kind);
    StatusOr<TransitionOutcome> out = ApplyTransition(c_, r, Ctx(caller, now_), config_);
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
  StatusOr<TransitionOutcome> Refused(K kind, const AgencyId& caller,
                                      v1::TransitionRequest r = {}) {
    r.set_kind(kind);
    return ApplyTransition(c_, r, Ctx(caller, now_), config_);
  }
  v1::TransitionRequest Document(v1::DocumentKind d, bool identity = true) {
    v1::TransitionRequest r;
    r.set_document(d);
    if (identity) *r.mutable_sealed_identity() = Sealed({Office().Key()});
    return r;
  }
  std::vector<v1::DeadlineKind> Running() const {
    std::vector<v1::DeadlineKind> out;
    for (const auto& d : c_.deadlines()) out.push_back(d.kind());
    return out;
  }

  v1::Case c_ = CompleteDraft();
  absl::Time now_ = Local(2026, 1, 31, 10);
  DeadlineConfig config_ = Brussels();
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
  const absl::Time t0 = now_;

  // DETECTED -> REFERRED (to centre A): the centre's 24 hours.
  TransitionOutcome o = Do(v1::TRANSITION_KIND_SUBMIT, Police());
  EXPECT_EQ(c_.state(), R);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_CENTRE_RESPONSE);
  EXPECT_EQ(o.started[0].due, t0 + absl::Hours(24));
  EXPECT_THAT(o.started[0].fire_at, ElementsAre(t0 + absl::Hours(24)));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreA().Key()));

  // REFERRED -> DECLINED by centre A.
  v1::TransitionRequest decline;
  decline.set_note("no capacity for this profile");
  o = Do(v1::TRANSITION_KIND_DECLINE, CentreA(), decline);
  EXPECT_EQ(c_.state(), X);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));
  EXPECT_TRUE(c_.deadlines().empty());
  ASSERT_EQ(c_.declined_by_size(), 1);
  EXPECT_THAT(Keys(o.notify), ElementsAre(Police().Key()));
  EXPECT_FALSE(OccupiesCentre(c_.state()));

  // DECLINED -> REFERRED elsewhere (centre B), with the record re-sealed to B.
  v1::TransitionRequest elsewhere;
  *elsewhere.mutable_target() = AgencyIdToProto(CentreB());
  *elsewhere.mutable_sealed_record() = Sealed({CentreB().Key()});
  o = Do(v1::TRANSITION_KIND_REFER_ELSEWHERE, Police(), elsewhere);
  EXPECT_EQ(c_.state(), R);
  ASSERT_TRUE(o.sealed.has_value());
  EXPECT_EQ(o.sealed->version(), 2);
  EXPECT_THAT(c_.sealed_record_recipients(), ElementsAre(CentreB().Key()));

  // REFERRED -> ACCEPTED by centre B; centre A (declined) may no longer act.
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_ACCEPT, CentreA()).status().code(),
            absl::StatusCode::kPermissionDenied);
  o = Do(v1::TRANSITION_KIND_ACCEPT, CentreB());
  EXPECT_EQ(c_.state(), A);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CENTRE_RESPONSE));

  // The centre names the magistrate (record re-sealed to centre + magistrate).
  v1::TransitionRequest assign;
  *assign.mutable_target() = AgencyIdToProto(Magistrate());
  *assign.mutable_sealed_record() = Sealed({CentreB().Key(), Magistrate().Key()});
  o = Do(v1::TRANSITION_KIND_ASSIGN_MAGISTRATE, CentreB(), assign);
  EXPECT_EQ(c_.sealed_record_version(), 3);
  EXPECT_THAT(Keys(o.notify), ElementsAre(Magistrate().Key(), Police().Key()));

  // ACCEPTED: the centre requests the reflection document; the identity fields go sealed to the
  // Immigration Office only.
  v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REFLECTION);
  *request.mutable_target() = AgencyIdToProto(Office());
  o = Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(), request);
  EXPECT_EQ(c_.pending_document_request(), v1::DOCUMENT_KIND_REFLECTION);
  EXPECT_EQ(c_.immigration_office().id(), Office().id);
  ASSERT_TRUE(o.sealed_identity.has_value());
  EXPECT_EQ(o.sealed_identity->version(), c_.version());
  EXPECT_EQ(c_.document_identity_version(), c_.version());
  EXPECT_THAT(c_.document_identity_recipients(), ElementsAre(Office().Key()));
  EXPECT_THAT(o.entry.sealed_box_recipients(), ElementsAre(Office().Key()));
  EXPECT_THAT(Keys(o.notify), ElementsAre(Office().Key()));

  // ACCEPTED -> REFLECTION: 45 calendar days from 31 January (Brussels): last day 17 March.
  o = Do(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, Office());
  EXPECT_EQ(c_.state(), F);
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_REFLECTION_END);
  EXPECT_EQ(c_.document_valid_through(), "2026-03-17");
  EXPECT_EQ(o.started[0].due, Local(2026, 3, 18));
  EXPECT_EQ(FromProtoTime(c_.document_valid_until()), Local(2026, 3, 18));
  EXPECT_THAT(o.started[0].fire_at, ElementsAre(Local(2026, 3, 13), Local(2026, 3, 18)));
  EXPECT_THAT(Keys(o.notify), ElementsAre(CentreB().Key(), Police().Key(), Magistrate().Key()));

  // The magistrate's non-punishment assessment (art. 8): a self-loop.
  v1::TransitionRequest assessment;
  assessment.set_note("acts committed under coercion");
  Do(v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, Magistrate(), assessment);
  EXPECT_TRUE(c_.non_punishment_assessed());

  // REFLECTION -> STATEMENT_MADE; the reflection deadline ends.
  o = Do(v1::TRANSITION_KIND_RECORD_STATEMENT, Police());
  EXPECT_EQ(c_.state(), M);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_REFLECTION_END));
  EXPECT_TRUE(c_.deadlines().empty());

  // STATEMENT_MADE -> REGISTRATION_ATTESTATION: the date printed on the document wins.
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION));
  v1::TransitionRequest printed;
  printed.set_valid_until_date("2026-04-30");
  o = Do(v1::TRANSITION_KIND_ISSUE_ATTESTATION, Office(), printed);
  EXPECT_EQ(c_.state(), T);
  EXPECT_EQ(c_.document_valid_through(), "2026-04-30");
  ASSERT_EQ(o.started.size(), 1u);
  EXPECT_EQ(o.started[0].due, Local(2026, 5, 1));
  EXPECT_EQ(o.started[0].kind, v1::DEADLINE_KIND_ATTESTATION_EXPIRY);

  // The magistrate's opinion, the centre's request, then the 6-month certificate.
  o = Do(v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, Magistrate());
  EXPECT_TRUE(c_.victim_opinion());
  EXPECT_EQ(c_.opinion(), v1::MAGISTRATE_OPINION_VICTIM);
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE));
  const absl::CivilDay certified = DayIn(now_, config_.zone);
  o = Do(v1::TRANSITION_KIND_ISSUE_CERTIFICATE, Office());
  EXPECT_EQ(c_.state(), C);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_ATTESTATION_EXPIRY));
  EXPECT_EQ(c_.document_valid_through(), FormatDate(AddMonthsClamped(certified, 6)));
  EXPECT_THAT(Running(), ElementsAre(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));

  // Renewal extends from the current expiry, not from today.
  const std::string through = c_.document_valid_through();
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE, /*identity=*/false));
  o = Do(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office());
  EXPECT_EQ(c_.state(), C);
  EXPECT_EQ(c_.document_valid_through(), FormatDate(AddMonthsClamped(*ParseDate(through), 6)));
  ASSERT_EQ(c_.deadlines_size(), 1);
  EXPECT_EQ(c_.deadlines(0).last_day(), c_.document_valid_through());

  // Conviction, request, unlimited stay.
  Do(v1::TRANSITION_KIND_RECORD_CONVICTION, Magistrate());
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreB(),
     Document(v1::DOCUMENT_KIND_UNLIMITED_STAY, /*identity=*/false));
  o = Do(v1::TRANSITION_KIND_GRANT_UNLIMITED_STAY, Office());
  EXPECT_EQ(c_.state(), U);
  EXPECT_THAT(o.ended, ElementsAre(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_FALSE(c_.has_document_valid_until());
  EXPECT_TRUE(IsTerminal(c_.state()));

  // Terminal: no close; only the non-punishment assessment remains possible.
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_OTHER);
  const auto refused = Refused(v1::TRANSITION_KIND_CLOSE, CentreB(), close);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(),
            "case is in state UNLIMITED_STAY; allowed transitions: RECORD_NON_PUNISHMENT, "
            "RECORD_PROCEEDINGS_ENDED");
}

// The renewal's printed date may not be later than the rule's date counted from the expiry.
TEST_F(Walk, PrintedDateIsBoundedByTheRule) {
  c_.set_state(C);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  c_.set_opinion(v1::MAGISTRATE_OPINION_VICTIM);
  c_.set_document_valid_through("2026-08-31");
  c_.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  v1::TransitionRequest r;
  r.set_valid_until_date("2027-03-01");  // 31 August + 6 months = 28 February 2027
  auto out = Refused(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office(), r);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(::concord::testing::ViolationFields(out.status()), ElementsAre("valid_until_date"));
  r.set_valid_until_date("2027-02-28");
  out = Refused(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office(), r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->next.document_valid_through(), "2027-02-28");
  r.clear_valid_until_date();
  out = Refused(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office(), r);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->next.document_valid_through(), "2027-02-28");
}

// A case stored before calendar counting has no printed date: its renewal runs on from the last
// day, in Brussels, of its stored expiry instant (180 x 24 h from an issue at 12:00), and the
// stored due date of its running deadline is not recomputed before that.
TEST_F(Walk, ACaseStoredBeforeRenewsFromItsStoredExpiry) {
  c_.set_state(C);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  c_.set_opinion(v1::MAGISTRATE_OPINION_VICTIM);
  const absl::Time stored_due = Local(2026, 7, 30, 12);
  *c_.mutable_document_valid_until() = ToProtoTime(stored_due);
  v1::Deadline* running = c_.add_deadlines();
  running->set_kind(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY);
  *running->mutable_due_at() = ToProtoTime(stored_due);
  // An unrelated transition keeps the stored due date as it is.
  Do(v1::TRANSITION_KIND_RECORD_CONVICTION, Magistrate());
  ASSERT_EQ(c_.deadlines_size(), 1);
  EXPECT_EQ(FromProtoTime(c_.deadlines(0).due_at()), stored_due);
  c_.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  Do(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office());
  EXPECT_EQ(c_.document_valid_through(), "2027-01-30");
  EXPECT_EQ(FromProtoTime(c_.document_valid_until()), Local(2027, 1, 31));
}

// An unaccompanied minor: the Guardianship Service is a party and is notified; the 3-month
// attestation is issued directly from ACCEPTED; the guardian's identity is sealed to the centre
// and the Guardianship Service only.
TEST_F(Walk, UnaccompaniedMinorWithTheGuardianshipService) {
  c_.mutable_attributes()->set_unaccompanied_minor(true);
  c_.mutable_attributes()->set_age_band(v1::AGE_BAND_12_17);
  *c_.mutable_guardianship_service() = AgencyIdToProto(Guardianship());
  TransitionOutcome o = Do(v1::TRANSITION_KIND_SUBMIT, Police());
  EXPECT_THAT(Keys(o.notify),
              ElementsAre(CentreA().Key(), Magistrate().Key(), Guardianship().Key()));
  o = Do(v1::TRANSITION_KIND_ACCEPT, CentreA());
  EXPECT_THAT(Keys(o.notify),
              ElementsAre(Police().Key(), Magistrate().Key(), Guardianship().Key()));

  // The guardian: sealed to exactly the centre and the Guardianship Service.
  v1::TransitionRequest guardian;
  *guardian.mutable_sealed_guardian() = Sealed({CentreA().Key(), Magistrate().Key()});
  auto refused = Refused(v1::TRANSITION_KIND_RECORD_GUARDIAN, Guardianship(), guardian);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  *guardian.mutable_sealed_guardian() = Sealed({CentreA().Key(), Guardianship().Key()});
  o = Do(v1::TRANSITION_KIND_RECORD_GUARDIAN, Guardianship(), guardian);
  ASSERT_TRUE(o.sealed_guardian.has_value());
  EXPECT_EQ(c_.guardian_version(), c_.version());
  EXPECT_THAT(c_.guardian_recipients(), ElementsAre(CentreA().Key(), Guardianship().Key()));

  // No reflection period: the attestation directly.
  EXPECT_EQ(RequestableDocuments(c_),
            std::vector<v1::DocumentKind>{v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION});
  v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
  *request.mutable_target() = AgencyIdToProto(Office());
  Do(v1::TRANSITION_KIND_REQUEST_DOCUMENT, Guardianship(), request);
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_ISSUE_REFLECTION_DOCUMENT, Office()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  o = Do(v1::TRANSITION_KIND_ISSUE_ATTESTATION, Office());
  EXPECT_EQ(c_.state(), T);
  EXPECT_EQ(c_.document_valid_through(), "2026-04-30");  // 31 January + 3 months
  EXPECT_THAT(Keys(o.notify), ::testing::Contains(Guardianship().Key()));
  // Statements are recorded once, without leaving the attestation.
  Do(v1::TRANSITION_KIND_RECORD_STATEMENT, Police());
  EXPECT_EQ(c_.state(), T);
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_RECORD_STATEMENT, Police()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A Belgian or EU/EEA victim: statement, opinion, conviction and non-punishment without the
// Immigration Office; document steps are refused with NO_RESIDENCE_DOCUMENT.
TEST_F(Walk, BelgianVictimWithoutImmigrationOfficeSteps) {
  for (v1::NationalityClass nat : {v1::NATIONALITY_CLASS_BELGIAN, v1::NATIONALITY_CLASS_EU_EEA}) {
    c_ = CompleteDraft();
    c_.mutable_attributes()->set_nationality_class(nat);
    Do(v1::TRANSITION_KIND_SUBMIT, Police());
    Do(v1::TRANSITION_KIND_ACCEPT, CentreA());
    v1::TransitionRequest request = Document(v1::DOCUMENT_KIND_REFLECTION);
    *request.mutable_target() = AgencyIdToProto(Office());
    const auto refused = Refused(v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), request);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(ReasonOf(refused.status()), "NO_RESIDENCE_DOCUMENT");
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("needs no residence document"));
    Do(v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, Magistrate());
    Do(v1::TRANSITION_KIND_RECORD_STATEMENT, Police());
    EXPECT_EQ(c_.state(), M);
    Do(v1::TRANSITION_KIND_RECORD_CONVICTION, Magistrate());
    v1::TransitionRequest close;
    close.set_close_reason(v1::CLOSE_REASON_PROCEEDINGS_ENDED);
    Do(v1::TRANSITION_KIND_CLOSE, CentreA(), close);
    EXPECT_EQ(c_.state(), Z);
    EXPECT_TRUE(c_.immigration_office().id().empty());
  }
}

// Negative outcomes: the magistrate's "not a victim" and "proceedings ended"; the Office's
// refusal and withdrawal with a ground; the close reasons; non-punishment after CLOSED.
TEST_F(Walk, MagistrateRecordsNotAVictimAndTheCertificateCannotFollow) {
  c_.set_state(T);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  Do(v1::TRANSITION_KIND_RECORD_NOT_VICTIM, Magistrate());
  EXPECT_EQ(c_.opinion(), v1::MAGISTRATE_OPINION_NOT_VICTIM);
  EXPECT_FALSE(c_.victim_opinion());
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_RECORD_VICTIM_OPINION, Magistrate()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  c_.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_ISSUE_CERTIFICATE, Office()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(Walk, ProceedingsEndedStopTheRenewal) {
  c_.set_state(C);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  c_.set_opinion(v1::MAGISTRATE_OPINION_VICTIM);
  c_.set_document_valid_through("2026-06-30");
  Do(v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED, Magistrate());
  EXPECT_TRUE(c_.proceedings_ended());
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_RECORD_PROCEEDINGS_ENDED, Magistrate()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  c_.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  const auto out = Refused(v1::TRANSITION_KIND_RENEW_CERTIFICATE, Office());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("proceedings ended"));
}

TEST_F(Walk, OfficeRefusesARequestWithAGround) {
  c_.set_state(M);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  c_.set_pending_document_request(v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
  auto out = Refused(v1::TRANSITION_KIND_REFUSE_DOCUMENT, Office());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(::concord::testing::ViolationFields(out.status()), ElementsAre("ground"));
  v1::TransitionRequest r;
  r.set_ground(v1::DOCUMENT_GROUND_PUBLIC_ORDER);
  TransitionOutcome o = Do(v1::TRANSITION_KIND_REFUSE_DOCUMENT, Office(), r);
  EXPECT_EQ(c_.state(), M);
  EXPECT_EQ(c_.pending_document_request(), v1::DOCUMENT_KIND_UNSPECIFIED);
  EXPECT_EQ(c_.last_document_outcome().decision(), v1::DOCUMENT_DECISION_REFUSED);
  EXPECT_EQ(c_.last_document_outcome().document(), v1::DOCUMENT_KIND_REGISTRATION_ATTESTATION);
  EXPECT_EQ(c_.last_document_outcome().ground(), v1::DOCUMENT_GROUND_PUBLIC_ORDER);
  EXPECT_EQ(o.entry.ground(), v1::DOCUMENT_GROUND_PUBLIC_ORDER);
  EXPECT_THAT(Keys(o.notify), ::testing::Contains(CentreA().Key()));
  // Nothing pending any more: a second refusal is refused.
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_REFUSE_DOCUMENT, Office(), r).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The centre closes: document refused.
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_DOCUMENT_REFUSED);
  o = Do(v1::TRANSITION_KIND_CLOSE, CentreA(), close);
  EXPECT_EQ(c_.close_reason(), v1::CLOSE_REASON_DOCUMENT_REFUSED);
  EXPECT_EQ(o.entry.close_reason(), v1::CLOSE_REASON_DOCUMENT_REFUSED);
}

TEST_F(Walk, OfficeWithdrawsTheDocumentWithAGround) {
  c_.set_state(C);
  *c_.mutable_immigration_office() = AgencyIdToProto(Office());
  c_.set_document_valid_through("2026-06-30");
  *c_.mutable_document_valid_until() = ToProtoTime(Local(2026, 7, 1));
  *c_.add_deadlines() = DeadlineProto(PlanDeadlineOn(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY, now_,
                                                     absl::CivilDay(2026, 6, 30), config_));
  v1::TransitionRequest r;
  r.set_ground(v1::DOCUMENT_GROUND_CONTACT_WITH_EXPLOITERS);
  TransitionOutcome o = Do(v1::TRANSITION_KIND_WITHDRAW_DOCUMENT, Office(), r);
  EXPECT_EQ(c_.last_document_outcome().decision(), v1::DOCUMENT_DECISION_WITHDRAWN);
  EXPECT_EQ(c_.last_document_outcome().document(), v1::DOCUMENT_KIND_REGISTRATION_CERTIFICATE);
  EXPECT_FALSE(c_.has_document_valid_until());
  EXPECT_TRUE(c_.document_valid_through().empty());
  EXPECT_TRUE(c_.deadlines().empty());
  EXPECT_THAT(o.ended, ::testing::Contains(v1::DEADLINE_KIND_CERTIFICATE_EXPIRY));
  EXPECT_EQ(Refused(v1::TRANSITION_KIND_WITHDRAW_DOCUMENT, Office(), r).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_DOCUMENT_WITHDRAWN);
  Do(v1::TRANSITION_KIND_CLOSE, CentreA(), close);
  EXPECT_EQ(c_.state(), Z);
}

TEST_F(Walk, EveryCloseReasonAndNonPunishmentAfterClosing) {
  for (v1::CloseReason reason :
       {v1::CLOSE_REASON_CONDITIONS_NOT_MET, v1::CLOSE_REASON_PROCEEDINGS_ENDED,
        v1::CLOSE_REASON_DOCUMENT_REFUSED, v1::CLOSE_REASON_DOCUMENT_WITHDRAWN,
        v1::CLOSE_REASON_OTHER_RESIDENCE_ROUTE, v1::CLOSE_REASON_VOLUNTARY_RETURN,
        v1::CLOSE_REASON_LOST_CONTACT, v1::CLOSE_REASON_DEATH, v1::CLOSE_REASON_OTHER}) {
    c_ = CompleteDraft();
    c_.set_state(F);
    v1::TransitionRequest close;
    close.set_close_reason(reason);
    Do(v1::TRANSITION_KIND_CLOSE, CentreA(), close);
    EXPECT_EQ(c_.close_reason(), reason);
  }
  // Ambiguous reasons are refused on new closes.
  for (v1::CloseReason reason : {v1::CLOSE_REASON_WITHDRAWAL, v1::CLOSE_REASON_REFUSAL}) {
    v1::Case open = CompleteDraft();
    open.set_state(F);
    v1::TransitionRequest close;
    close.set_kind(v1::TRANSITION_KIND_CLOSE);
    close.set_close_reason(reason);
    const auto out = ApplyTransition(open, close, Ctx(CentreA()), config_);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(::concord::testing::ViolationFields(out.status()), ElementsAre("close_reason"));
  }
  // After CLOSED the magistrate still assesses non-punishment (art. 8), whatever the cooperation.
  v1::TransitionRequest assessment;
  assessment.set_note("compelled to commit the offences: no prosecution");
  Do(v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT, Magistrate(), assessment);
  EXPECT_EQ(c_.state(), Z);
  EXPECT_TRUE(c_.non_punishment_assessed());
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
  EXPECT_EQ(AllowedTransitions(c_), std::vector<K>{v1::TRANSITION_KIND_RECORD_NON_PUNISHMENT});
}

TEST_F(Walk, ReferrerAbandonsADraftWithoutNotifyingAnyone) {
  v1::TransitionRequest close;
  close.set_close_reason(v1::CLOSE_REASON_OTHER);
  TransitionOutcome o = Do(v1::TRANSITION_KIND_CLOSE, Police(), close);
  EXPECT_EQ(c_.state(), Z);
  EXPECT_TRUE(o.notify.empty());
}

// ---------------------------------------------------------------------------------------------
// Requirements.
StatusOr<TransitionOutcome> Try(const v1::Case& c, K kind, const AgencyId& caller,
                                v1::TransitionRequest r = {}) {
  r.set_kind(kind);
  return ApplyTransition(c, r, Ctx(caller), Brussels());
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
  c.mutable_attributes()->clear_nationality_class();
  c.set_sealed_record_version(0);
  c.clear_sealed_record_recipients();
  const auto out = Try(c, v1::TRANSITION_KIND_SUBMIT, Police());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(out.status()), "DRAFT_INCOMPLETE");
  EXPECT_THAT(ViolationFields(out.status()),
              ElementsAre("attributes.nationality_class", "sealed_record"));
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
  close.set_close_reason(v1::CLOSE_REASON_OTHER);
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
  EXPECT_EQ(out.status().message(),
            "in state ACCEPTED, for an adult who needs a residence document, the document that "
            "may be requested is: REFLECTION");
  // Already pending.
  r.set_document(v1::DOCUMENT_KIND_REFLECTION);
  // The identity fields, sealed to the Immigration Office only.
  out = Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_identity"));
  *r.mutable_sealed_identity() = Sealed({Office().Key(), CentreA().Key()});
  out = Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r);
  EXPECT_THAT(ViolationFields(out.status()), ElementsAre("sealed_identity.keys[1].recipient"));
  *r.mutable_sealed_identity() = Sealed({Office().Key()});
  EXPECT_TRUE(Try(c, v1::TRANSITION_KIND_REQUEST_DOCUMENT, CentreA(), r).ok());
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
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("no pending request"));
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
