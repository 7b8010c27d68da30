// File: services/liaison/jit.h
//
// Joint investigation teams: the pure rules of a team's membership and of its ledger.
//
// A team has a lead (the Belgian police service or magistrate that created it) and members
// (Belgian police services, magistrates, social inspection, and foreign partners: the foreign
// authorities, Europol, Eurojust). The team's thread and evidence travel as sealed, signed
// Concord messages and attachments addressed to the current members; the team's LEDGER (this
// service) records every exchange: who shared what (message id, envelope SHA-256, the SHA-256 of
// every attachment), when, with whom. Only current members read the ledger or share in it; a
// member who leaves (or is removed by the lead) loses access at once, including its open
// WatchJit streams. Membership changes are ledger entries too.
#pragma once

#include <string>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/liaison/v1/liaison.pb.h"

namespace concord::liaison {

inline constexpr int kMaxJitMembers = 64;  // the lead included

/// Agency types that may be members: police, magistrate, social_inspection, foreign_partner.
bool MayJoinJit(AgencyType type);
/// Agency types that may lead (create) a team: police, magistrate.
bool MayLeadJit(AgencyType type);

/// The members of a new team led by `lead`: INVALID_ARGUMENT ("reference", "members[i]": shape,
/// duplicates, the lead itself, a type that may not join, 1..63 members) or PERMISSION_DENIED
/// (LEAD_NOT_ALLOWED) for a lead of another type. Members take the local trust domain when
/// theirs is empty.
StatusOr<std::vector<AgencyId>> CheckNewJit(const v1::CreateJitRequest& req, const AgencyId& lead,
                                            const std::string& trust_domain);

/// Is `agency` a current member (the lead included)?
bool IsJitMember(const v1::Jit& jit, const AgencyId& agency);

/// Shape of a ShareInJit request (INVALID_ARGUMENT with field paths); membership of the caller
/// and of the recipients is checked against the stored team (atomically, by the store).
Status CheckShare(const v1::ShareInJitRequest& req);

}  // namespace concord::liaison
