// File: services/referrals/parties.h
//
// The agencies a case names must exist: a referral submitted to a centre id with a typo, to an
// unregistered or suspended agency, or with a magistrate id that is in fact a police unit, would
// start the legal clocks (docs/referrals.md "Deadlines") while nobody at the real centre knows
// that a victim was referred. This file is the pure rule; the service looks the agencies up in
// the directory and hands the result here (docs/referrals.md "Named parties").
//
//   for (const NamedParty& p : NamedPartiesOfDraft(draft, trust_domain)) {
//     DirectoryStanding s = ...;                       // the service: directory lookup
//     if (auto problem = CheckNamedParty(p, s)) problems.push_back(*problem);
//   }
//   Submit:    PartiesRefusal(problems)               -> FAILED_PRECONDITION, ErrorInfo reason,
//                                                        one field violation per problem
//   SaveDraft, Validate: ToFieldProblem(problem)      -> FieldProblem (the save is not refused)
//
// Which type may hold which role is RoleTypes (the "Roles" table of docs/referrals.md); no other
// type is invented here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "services/referrals/state_machine.h"

namespace concord::referrals {

/// ErrorInfo reasons of a named party the directory does not accept.
inline constexpr std::string_view kReasonUnknownAgency = "UNKNOWN_AGENCY";
inline constexpr std::string_view kReasonAgencySuspended = "AGENCY_SUSPENDED";
inline constexpr std::string_view kReasonWrongAgencyType = "WRONG_AGENCY_TYPE";

/// The agency types that may hold `role` in a case (docs/referrals.md "Roles"): referrer police,
/// magistrate, immigration_office, social_inspection; centre reception_centre; magistrate
/// magistrate; immigration office immigration_office; guardianship service
/// guardianship_service; investigating unit police, social_inspection.
const std::vector<AgencyType>& RoleTypes(Party role);
bool MayHoldRole(AgencyType type, Party role);

/// An agency a case (or a transition's target) names for a role.
struct NamedParty {
  /// nullopt: a transition's target on a kind that names no party (only registered and active
  /// are checked).
  std::optional<Party> role;
  std::string field;  // "receiving_centre", "magistrate", "guardianship_service", "target"
  AgencyId agency;    // in the local trust domain (the directory's)
};

/// The agencies a draft names that Submit sends the case to, in this order: receiving_centre,
/// magistrate, guardianship_service; each only when it is set and well-formed for its role (a
/// malformed one is a format problem of validation.h, reported there).
std::vector<NamedParty> NamedPartiesOfDraft(const v1::Case& draft, std::string_view trust_domain);

/// The role a transition's `target` takes: REFER_ELSEWHERE the centre, ASSIGN_MAGISTRATE the
/// magistrate, REQUEST_DOCUMENT the Immigration Office, ASSIGN_INVESTIGATING_UNIT the
/// investigating unit; nullopt for a kind that names no party.
std::optional<Party> TargetRole(v1::TransitionKind kind);

/// What the directory holds for a named agency (the service looks it up).
struct DirectoryStanding {
  bool registered = false;  // registered under the type it is named with
  bool active = false;      // ... and not suspended
  /// When not registered under that type: the types its id IS registered under (a magistrate id
  /// that is in fact a police unit: {police}). Empty: the id is unknown.
  std::vector<AgencyType> registered_as;
};

/// One named party the directory does not accept.
struct PartyProblem {
  std::string field;
  std::string reason;  // kReasonUnknownAgency, kReasonAgencySuspended, kReasonWrongAgencyType
  std::string description;
  std::string role;  // metric label: "centre", "magistrate", ..., "target" (NamedParty without one)
};

/// The rule, in this order: the named type may not hold the role (WRONG_AGENCY_TYPE); the id is
/// registered only under other types (WRONG_AGENCY_TYPE, naming them); it is not registered at
/// all (UNKNOWN_AGENCY); it is suspended (AGENCY_SUSPENDED). nullopt: a registered, active
/// agency of a type that may hold the role. Without a role, only registered and active.
std::optional<PartyProblem> CheckNamedParty(const NamedParty& party,
                                            const DirectoryStanding& standing);

/// FAILED_PRECONDITION naming every problem, with the ErrorInfo reason of the first one (and
/// metadata "field" = its field) and one field violation per problem. OK when empty.
Status PartiesRefusal(const std::vector<PartyProblem>& problems);

/// The problem as SaveDraft and Validate report it: "<reason>: <description>" on the field.
v1::FieldProblem ToFieldProblem(const PartyProblem& problem);

}  // namespace concord::referrals
