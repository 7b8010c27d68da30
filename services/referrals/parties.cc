#include "services/referrals/parties.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/referrals/ids.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

namespace cv1 = ::concord::common::v1;

// "reception_centre", "police or social_inspection".
std::string TypesText(const std::vector<AgencyType>& types) {
  std::vector<std::string> names;
  for (AgencyType t : types) names.emplace_back(AgencyTypeName(t));
  if (names.size() == 1) return names.front();
  const std::string last = names.back();
  names.pop_back();
  return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
}

// What SuggestCentres and the directory offer to find the right agency.
std::string HowToFind(const std::optional<Party>& role) {
  return role == Party::kCentre ? " (SuggestCentres lists the active centres)" : "";
}

}  // namespace

const std::vector<AgencyType>& RoleTypes(Party role) {
  static const std::vector<AgencyType> kReferrer = {AgencyType::kPolice, AgencyType::kMagistrate,
                                                    AgencyType::kImmigrationOffice,
                                                    AgencyType::kSocialInspection};
  static const std::vector<AgencyType> kCentre = {AgencyType::kReceptionCentre};
  static const std::vector<AgencyType> kMagistrate = {AgencyType::kMagistrate};
  static const std::vector<AgencyType> kOffice = {AgencyType::kImmigrationOffice};
  static const std::vector<AgencyType> kGuardianship = {AgencyType::kGuardianshipService};
  static const std::vector<AgencyType> kInvestigating = {AgencyType::kPolice,
                                                         AgencyType::kSocialInspection};
  switch (role) {
    case Party::kReferrer:
      return kReferrer;
    case Party::kCentre:
      return kCentre;
    case Party::kMagistrate:
      return kMagistrate;
    case Party::kImmigrationOffice:
      return kOffice;
    case Party::kGuardianshipService:
      return kGuardianship;
    case Party::kInvestigatingUnit:
      return kInvestigating;
  }
  return kCentre;  // unreachable: every Party is listed above
}

bool MayHoldRole(AgencyType type, Party role) {
  const std::vector<AgencyType>& types = RoleTypes(role);
  return std::find(types.begin(), types.end(), type) != types.end();
}

std::vector<NamedParty> NamedPartiesOfDraft(const v1::Case& draft, std::string_view trust_domain) {
  struct Slot {
    Party role;
    std::string_view field;
    const cv1::AgencyId& agency;
  };
  const Slot slots[] = {
      {Party::kCentre, "receiving_centre", draft.receiving_centre()},
      {Party::kMagistrate, "magistrate", draft.magistrate()},
      {Party::kGuardianshipService, "guardianship_service", draft.guardianship_service()}};
  std::vector<NamedParty> out;
  for (const Slot& s : slots) {
    if (IsUnset(s.agency)) continue;
    // A malformed or mistyped field is a format problem (validation.h), reported there.
    if (!AgencyProblems(s.agency, RoleTypes(s.role).front(), /*required=*/false, s.field).empty()) {
      continue;
    }
    StatusOr<AgencyId> id = AgencyIdFromProto(s.agency);
    if (!id.ok()) continue;
    if (id->trust_domain.empty()) id->trust_domain = std::string(trust_domain);
    out.push_back({s.role, std::string(s.field), *std::move(id)});
  }
  return out;
}

std::optional<Party> TargetRole(v1::TransitionKind kind) {
  switch (kind) {
    case v1::TRANSITION_KIND_REFER_ELSEWHERE:
      return Party::kCentre;
    case v1::TRANSITION_KIND_ASSIGN_MAGISTRATE:
      return Party::kMagistrate;
    case v1::TRANSITION_KIND_REQUEST_DOCUMENT:
      return Party::kImmigrationOffice;
    case v1::TRANSITION_KIND_ASSIGN_INVESTIGATING_UNIT:
      return Party::kInvestigatingUnit;
    default:
      return std::nullopt;
  }
}

std::optional<PartyProblem> CheckNamedParty(const NamedParty& party,
                                            const DirectoryStanding& standing) {
  const std::string role(party.role ? PartyName(*party.role) : "target");
  const std::string wanted = party.role ? TypesText(RoleTypes(*party.role))
                                        : std::string(AgencyTypeName(party.agency.type));
  auto problem = [&](std::string_view reason, std::string description) {
    std::string label = role;
    std::replace(label.begin(), label.end(), ' ', '_');
    return PartyProblem{party.field, std::string(reason), std::move(description), std::move(label)};
  };
  if (party.role && !MayHoldRole(party.agency.type, *party.role)) {
    return problem(kReasonWrongAgencyType,
                   absl::StrCat("the ", role, " must be an agency of type ", wanted, ", not ",
                                std::string(AgencyTypeName(party.agency.type))));
  }
  if (!standing.registered) {
    if (!standing.registered_as.empty()) {
      return problem(kReasonWrongAgencyType,
                     absl::StrCat("this id is registered in the directory as type ",
                                  TypesText(standing.registered_as), ", not ",
                                  std::string(AgencyTypeName(party.agency.type)), ": the ", role,
                                  " must be an agency of type ", wanted));
    }
    return problem(kReasonUnknownAgency,
                   absl::StrCat("not a registered agency of the directory: the ", role,
                                " would never receive the case", HowToFind(party.role)));
  }
  if (!standing.active) {
    return problem(kReasonAgencySuspended,
                   absl::StrCat("the agency is suspended in the directory: the ", role,
                                " would never receive the case", HowToFind(party.role)));
  }
  return std::nullopt;
}

Status PartiesRefusal(const std::vector<PartyProblem>& problems) {
  if (problems.empty()) return absl::OkStatus();
  std::vector<FieldViolation> violations;
  std::vector<std::string> fields;
  for (const PartyProblem& p : problems) {
    violations.push_back({p.field, p.description});
    fields.push_back(absl::StrCat(p.field, " (", p.reason, ")"));
  }
  const std::string message = absl::StrCat("the directory does not accept the agencies named: ",
                                           absl::StrJoin(fields, ", "), "; nothing was changed");
  return WithReason(WithFieldViolations(absl::FailedPreconditionError(message), violations),
                    problems.front().reason, {{"field", problems.front().field}});
}

v1::FieldProblem ToFieldProblem(const PartyProblem& problem) {
  v1::FieldProblem out;
  out.set_field(problem.field);
  out.set_description(absl::StrCat(problem.reason, ": ", problem.description));
  return out;
}

}  // namespace concord::referrals
