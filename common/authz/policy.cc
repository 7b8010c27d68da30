// File: common/authz/policy.cc
#include "common/authz/policy.h"

#include <unordered_map>

namespace concord::authz {

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kAllow:
      return "allow";
    case Decision::kAllowOwn:
      return "own";
    case Decision::kDeny:
      break;
  }
  return "deny";
}

std::string_view PrincipalName(Principal principal) {
  switch (principal) {
    case Principal::kPolice:
      return AgencyTypeName(AgencyType::kPolice);
    case Principal::kMagistrate:
      return AgencyTypeName(AgencyType::kMagistrate);
    case Principal::kReceptionCentre:
      return AgencyTypeName(AgencyType::kReceptionCentre);
    case Principal::kImmigrationOffice:
      return AgencyTypeName(AgencyType::kImmigrationOffice);
    case Principal::kSocialInspection:
      return AgencyTypeName(AgencyType::kSocialInspection);
    case Principal::kCoordinationUnit:
      return AgencyTypeName(AgencyType::kCoordinationUnit);
    case Principal::kForeignPartner:
      return AgencyTypeName(AgencyType::kForeignPartner);
    case Principal::kPlatform:
      return AgencyTypeName(AgencyType::kPlatform);
    case Principal::kGuardianshipService:
      return AgencyTypeName(AgencyType::kGuardianshipService);
    case Principal::kDirectoryAdmin:
      return "directory_admin";
    case Principal::kAuditReviewer:
      return "audit_reviewer";
    case Principal::kConcordService:
      return "concord_service";
    case Principal::kPartnerGateway:
      return "partner_gateway";
    case Principal::kOtherAdmin:
      break;
  }
  return "other_admin";
}

std::string_view PrincipalDescription(Principal principal) {
  switch (principal) {
    case Principal::kDirectoryAdmin:
      return "directory administrator";
    case Principal::kAuditReviewer:
      return "audit reviewer";
    case Principal::kConcordService:
      return "Concord service identity";
    case Principal::kOtherAdmin:
      return "admin without a directory role";
    case Principal::kPartnerGateway:
      return "partner deployment's gateway";
    default:
      return "agency type";
  }
}

AdminRoles WithBootstrap(const AgencyId& agency, AdminRoles explicit_roles,
                         const std::vector<AgencyId>& bootstrap_admins,
                         bool has_directory_administrator) {
  if (agency.type != AgencyType::kAdmin || IsConcordServiceIdentity(agency)) return {};
  if (explicit_roles.directory_administrator || has_directory_administrator) {
    explicit_roles.bootstrap = false;
    return explicit_roles;
  }
  for (const AgencyId& b : bootstrap_admins) {
    if (b.type == agency.type && b.id == agency.id) {
      explicit_roles.directory_administrator = true;
      explicit_roles.bootstrap = true;
      break;
    }
  }
  return explicit_roles;
}

std::vector<Principal> PrincipalsOf(const AgencyId& agency, const AdminRoles& roles) {
  switch (agency.type) {
    case AgencyType::kPolice:
      return {Principal::kPolice};
    case AgencyType::kMagistrate:
      return {Principal::kMagistrate};
    case AgencyType::kReceptionCentre:
      return {Principal::kReceptionCentre};
    case AgencyType::kImmigrationOffice:
      return {Principal::kImmigrationOffice};
    case AgencyType::kSocialInspection:
      return {Principal::kSocialInspection};
    case AgencyType::kCoordinationUnit:
      return {Principal::kCoordinationUnit};
    case AgencyType::kForeignPartner:
      return {Principal::kForeignPartner};
    case AgencyType::kPlatform:
      return {Principal::kPlatform};
    case AgencyType::kGuardianshipService:
      return {Principal::kGuardianshipService};
    case AgencyType::kAdmin:
      break;
  }
  // Security: Concord's service identities are never more than that, whatever a record says.
  if (IsConcordServiceIdentity(agency)) return {Principal::kConcordService};
  std::vector<Principal> out;
  if (roles.directory_administrator) out.push_back(Principal::kDirectoryAdmin);
  if (roles.audit_reviewer) out.push_back(Principal::kAuditReviewer);
  if (out.empty()) out.push_back(Principal::kOtherAdmin);
  return out;
}

Decision MethodPolicy::DecisionFor(Principal principal) const {
  auto it = by_principal.find(principal);
  return it == by_principal.end() ? Decision::kDeny : it->second;
}

Decision MethodPolicy::DecisionFor(const std::vector<Principal>& principals) const {
  Decision best = Decision::kDeny;
  for (Principal p : principals) {
    const Decision d = DecisionFor(p);
    if (d == Decision::kAllow) return d;
    if (d == Decision::kAllowOwn) best = d;
  }
  return best;
}

const MethodPolicy* FindPolicy(std::string_view full_method) {
  // Built once from the immutable table; looked up on every call.
  static const auto* const index = [] {
    auto* m = new std::unordered_map<std::string_view, const MethodPolicy*>();
    for (const MethodPolicy& p : PolicyTable()) m->emplace(p.method, &p);
    return m;
  }();
  auto it = index->find(full_method);
  return it == index->end() ? nullptr : it->second;
}

std::string PolicyTableMarkdown() {
  std::string out = "| RPC | rule |";
  for (Principal p : kAllPrincipals) {
    out.append(" ").append(PrincipalName(p)).append(" |");
  }
  out += "\n|---|---|";
  for (size_t i = 0; i < kAllPrincipals.size(); ++i) out += "---|";
  out += "\n";
  std::string ownership;
  for (const MethodPolicy& p : PolicyTable()) {
    out.append("| `").append(p.method).append("` | `").append(p.rule).append("` |");
    for (Principal principal : kAllPrincipals) {
      out.append(" ").append(DecisionName(p.DecisionFor(principal))).append(" |");
    }
    out += "\n";
    if (!p.ownership.empty()) {
      ownership.append("- `").append(p.method).append("`: ").append(p.ownership).append("\n");
    }
  }
  out += "\nOwnership rules (cells marked `own`): ";
  out += ownership.empty() ? "none in this table yet.\n" : "\n\n" + ownership;
  return out;
}

Authorizer::Authorizer(std::string trust_domain, const RevocationView& revocations)
    : trust_domain_(std::move(trust_domain)), revocations_(revocations) {}

Authorizer::Authorizer(std::string trust_domain, const RevocationView& revocations,
                       std::vector<std::string> partner_trust_domains)
    : trust_domain_(std::move(trust_domain)),
      revocations_(revocations),
      partner_trust_domains_(std::move(partner_trust_domains)) {}

Status Authorizer::AuthorizePartner(const Caller& caller, std::string_view full_method) const {
  // Security: a partner deployment reaches this one through its gateway identity only, and only
  // the rows that allow partner_gateway (the gateway's Relay and directory export).
  if (caller.agency.type != AgencyType::kAdmin || caller.agency.id != kGatewayIdentityId) {
    return WithReason(absl::PermissionDeniedError("only the partner deployment's gateway (admin/" +
                                                  std::string(kGatewayIdentityId) +
                                                  ") may call across; " + caller.agency.Key() +
                                                  "@" + caller.agency.trust_domain + " may not"),
                      "PARTNER_NOT_GATEWAY", {{"trust_domain", caller.agency.trust_domain}});
  }
  const MethodPolicy* policy = FindPolicy(full_method);
  if (policy == nullptr) {
    return WithReason(absl::PermissionDeniedError("no policy for method"), "NO_POLICY");
  }
  if (policy->DecisionFor(Principal::kPartnerGateway) == Decision::kDeny) {
    std::string message = "denied by rule ";
    message.append(policy->rule)
        .append(": the gateway of partner trust domain ")
        .append(caller.agency.trust_domain)
        .append(" may not call ")
        .append(policy->method);
    return WithReason(absl::PermissionDeniedError(message), "POLICY_DENIED",
                      {{"rule", std::string(policy->rule)},
                       {"agency_type", "admin"},
                       {"principal", "partner_gateway"},
                       {"method", std::string(policy->method)}});
  }
  return absl::OkStatus();
}

Authorizer::~Authorizer() { (void)authorized_.load(std::memory_order_acquire); }

Status Authorizer::Authorize(const Caller& caller, std::string_view full_method) const {
  // Last of all, after every read of this call (see authorized_).
  struct Authorized {
    std::atomic<uint64_t>& count;
    ~Authorized() { count.fetch_add(1, std::memory_order_release); }
  } authorized{authorized_};
  // Security: identity (agency + serial) comes from the verified peer certificate only.
  if (caller.agency.trust_domain != trust_domain_) {
    for (const std::string& partner : partner_trust_domains_) {
      if (caller.agency.trust_domain == partner) return AuthorizePartner(caller, full_method);
    }
    return WithReason(absl::UnauthenticatedError("caller is not in this deployment's trust domain"),
                      "FOREIGN_TRUST_DOMAIN");
  }
  // Security: fail closed until the suspension/revocation state is known.
  if (!revocations_.Ready()) {
    return WithReason(absl::UnavailableError("revocation state not loaded yet; retry"),
                      "REVOCATIONS_NOT_LOADED");
  }
  if (revocations_.IsSuspended(caller.agency)) {
    return WithReason(absl::UnauthenticatedError("agency suspended"), "AGENCY_SUSPENDED");
  }
  if (revocations_.IsSerialRevoked(caller.cert_serial)) {
    return WithReason(absl::UnauthenticatedError("certificate revoked"), "CERTIFICATE_REVOKED");
  }
  const MethodPolicy* policy = FindPolicy(full_method);
  if (policy == nullptr) {
    return WithReason(absl::PermissionDeniedError("no policy for method"), "NO_POLICY");
  }
  const std::vector<Principal> principals = PrincipalsFor(caller.agency);
  if (policy->DecisionFor(principals) == Decision::kDeny) {
    const std::string_view type = AgencyTypeName(caller.agency.type);
    std::string who;
    std::string names;
    for (Principal p : principals) {
      if (!names.empty()) names += ",";
      names.append(PrincipalName(p));
    }
    if (caller.agency.type == AgencyType::kAdmin) {
      // "admin/ops (admin without a directory role)", "admin/concord-referrals (Concord service
      // identity)", "admin/ops (audit reviewer)".
      who = caller.agency.Key() + " (";
      for (size_t i = 0; i < principals.size(); ++i) {
        if (i > 0) who += ", ";
        who.append(PrincipalDescription(principals[i]));
      }
      who += ")";
    } else {
      who = "agency type " + std::string(type);
    }
    std::string message = "denied by rule ";
    message.append(policy->rule).append(": ").append(who);
    message.append(" may not call ").append(policy->method);
    return WithReason(absl::PermissionDeniedError(message), "POLICY_DENIED",
                      {{"rule", std::string(policy->rule)},
                       {"agency_type", std::string(type)},
                       {"principal", names},
                       {"method", std::string(policy->method)}});
  }
  return absl::OkStatus();
}

std::vector<Principal> Authorizer::PrincipalsFor(const AgencyId& agency) const {
  // Only admin identities have roles: the view is not consulted for the other types.
  const AdminRoles roles =
      agency.type == AgencyType::kAdmin ? revocations_.RolesOf(agency) : AdminRoles{};
  return PrincipalsOf(agency, roles);
}

}  // namespace concord::authz
