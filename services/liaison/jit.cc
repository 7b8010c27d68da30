#include "services/liaison/jit.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/liaison/ids.h"
#include "services/liaison/requests.h"

namespace concord::liaison {

bool MayJoinJit(AgencyType t) {
  return t == AgencyType::kPolice || t == AgencyType::kMagistrate ||
         t == AgencyType::kSocialInspection || t == AgencyType::kForeignPartner;
}

bool MayLeadJit(AgencyType t) { return t == AgencyType::kPolice || t == AgencyType::kMagistrate; }

StatusOr<std::vector<AgencyId>> CheckNewJit(const v1::CreateJitRequest& req, const AgencyId& lead,
                                            const std::string& trust_domain) {
  FieldErrors errors;
  if (!IsReference(req.reference())) {
    errors.Add("reference", "required: [A-Za-z0-9._/-]{1,64}");
  }
  if (req.members().empty() || req.members_size() > kMaxJitMembers - 1) {
    errors.Add("members", absl::StrCat("1..", kMaxJitMembers - 1, " members besides the lead"));
  }
  std::vector<AgencyId> out;
  std::set<std::string> seen = {lead.Key()};
  for (int i = 0; i < req.members_size() && i < kMaxJitMembers; ++i) {
    const std::string at = absl::StrCat("members[", i, "]");
    auto m = AgencyIdFromProto(req.members(i));
    if (!m.ok()) {
      errors.Add(at, "not a valid agency");
      continue;
    }
    if (m->trust_domain.empty()) m->trust_domain = trust_domain;
    if (!MayJoinJit(m->type)) {
      errors.Add(at + ".type",
                 "a team's members are police, magistrates, social inspection and "
                 "foreign partners");
    } else if (!seen.insert(m->Key()).second) {
      errors.Add(at, "named twice (or the lead itself)");
    }
    out.push_back(*m);
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid team"));
  if (!MayLeadJit(lead.type)) {
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat(
            "agency type ", std::string(AgencyTypeName(lead.type)),
            " may not lead a joint investigation team (std::string(police), magistrate)")),
        "LEAD_NOT_ALLOWED");
  }
  return out;
}

bool IsJitMember(const v1::Jit& jit, const AgencyId& agency) {
  for (const auto& m : jit.members()) {
    if (SameAgency(m, agency)) return true;
  }
  return false;
}

Status CheckShare(const v1::ShareInJitRequest& req) {
  FieldErrors errors;
  if (!IsJitId(req.jit_id())) errors.Add("jit_id", "required: a team id (\"jit-\" + 26)");
  if (req.kind() != v1::JIT_ENTRY_KIND_MESSAGE && req.kind() != v1::JIT_ENTRY_KIND_EVIDENCE) {
    errors.Add("kind", "MESSAGE or EVIDENCE");
  }
  if (!IsMessageId(req.message_id())) {
    errors.Add("message_id", "required: the Concord message sent to the members");
  }
  if (!IsSha256Hex(req.envelope_sha256())) {
    errors.Add("envelope_sha256", "required: 64 lower-case hex digits");
  }
  if (req.kind() == v1::JIT_ENTRY_KIND_EVIDENCE) {
    CheckEvidence(req.evidence(), /*required=*/true, "evidence", errors);
  } else if (!req.evidence().empty()) {
    errors.Add("evidence", "only for EVIDENCE");
  }
  if (req.recipients().empty() || req.recipients_size() > kMaxJitMembers) {
    errors.Add("recipients", absl::StrCat("1..", kMaxJitMembers, " current members"));
  }
  for (int i = 0; i < req.recipients_size() && i < kMaxJitMembers; ++i) {
    if (!AgencyIdFromProto(req.recipients(i)).ok()) {
      errors.Add(absl::StrCat("recipients[", i, "]"), "not a valid agency");
    }
  }
  return errors.ToStatus("invalid share");
}

}  // namespace concord::liaison
