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

Decision MethodPolicy::DecisionFor(AgencyType type) const {
  auto it = by_type.find(type);
  return it == by_type.end() ? Decision::kDeny : it->second;
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
  for (AgencyType t : kAllAgencyTypes) {
    out.append(" ").append(AgencyTypeName(t)).append(" |");
  }
  out += "\n|---|---|";
  for (size_t i = 0; i < kAllAgencyTypes.size(); ++i) out += "---|";
  out += "\n";
  std::string ownership;
  for (const MethodPolicy& p : PolicyTable()) {
    out.append("| `").append(p.method).append("` | `").append(p.rule).append("` |");
    for (AgencyType t : kAllAgencyTypes) {
      out.append(" ").append(DecisionName(p.DecisionFor(t))).append(" |");
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

Status Authorizer::Authorize(const Caller& caller, std::string_view full_method) const {
  // Security: identity (agency + serial) comes from the verified peer certificate only.
  if (caller.agency.trust_domain != trust_domain_) {
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
  if (policy->DecisionFor(caller.agency.type) == Decision::kDeny) {
    const std::string_view type = AgencyTypeName(caller.agency.type);
    std::string message = "denied by rule ";
    message.append(policy->rule).append(": agency type ").append(type);
    message.append(" may not call ").append(policy->method);
    return WithReason(absl::PermissionDeniedError(message), "POLICY_DENIED",
                      {{"rule", std::string(policy->rule)},
                       {"agency_type", std::string(type)},
                       {"method", std::string(policy->method)}});
  }
  return absl::OkStatus();
}

}  // namespace concord::authz
