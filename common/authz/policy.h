// File: common/authz/policy.h
//
// Authorization: ONE table, agency type x RPC -> decision, enforced in one place (the
// AuthProcessor, auth_processor.h) before any handler runs. The table is data
// (policy_table.cc), rendered into docs/security.md by PolicyTableMarkdown(); a unit test keeps
// the doc and the code identical and another walks every (agency type, method) pair.
//
// Order of checks in Authorizer::Authorize (docs/security.md "Trust model"):
//   1. the caller's trust domain must be this deployment's          -> UNAUTHENTICATED
//   2. the revocation state must have been loaded at least once      -> UNAVAILABLE (fail closed)
//   3. the caller's agency must not be suspended                     -> UNAUTHENTICATED
//   4. the caller's certificate serial must not be revoked           -> UNAUTHENTICATED
//   5. the method must be in the table (default deny)                -> PERMISSION_DENIED
//   6. the table must allow the caller's agency type                 -> PERMISSION_DENIED naming
//                                                                       the rule, type and method
// kAllowOwn means "allowed here; the service's domain code applies the ownership rule" (for
// example "only the receiving centre may accept a referral").
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity/agency_id.h"
#include "common/identity/caller.h"
#include "common/status/status.h"

namespace concord::authz {

enum class Decision {
  kDeny,
  kAllow,
  kAllowOwn,  // allowed; the ownership rule (MethodPolicy::ownership) is checked by the domain
};

/// "deny" | "allow" | "own".
std::string_view DecisionName(Decision decision);

struct MethodPolicy {
  std::string_view method;  // full gRPC method: "/concord.directory.v1.Directory/GetAgency"
  std::string_view rule;    // rule name shown in denials and docs: "directory.admin_only"
  std::map<AgencyType, Decision> by_type;  // a missing type means kDeny
  std::string_view ownership;              // human text of the ownership rule for kAllowOwn, if any

  /// The decision for `type` (kDeny when absent).
  Decision DecisionFor(AgencyType type) const;
};

/// THE table (policy_table.cc). Methods are unique. Health and reflection are allowed to every
/// authenticated agency; every other method not listed is denied.
const std::vector<MethodPolicy>& PolicyTable();

/// The row for `full_method`, or nullptr when the method has no policy (default deny).
const MethodPolicy* FindPolicy(std::string_view full_method);

/// The table as Markdown (rows = methods, columns = rule and agency types, cells
/// allow/deny/own), followed by the ownership rules. docs/security.md embeds this text verbatim
/// between `<!-- policy-table:begin -->` and `<!-- policy-table:end -->`.
std::string PolicyTableMarkdown();

/// What the authorizer needs to know about suspensions and revocations. Implementations answer
/// from memory (no I/O: this runs on gRPC's transport threads for every call) and are
/// thread-safe. The production implementation is clients::DirectoryCache.
class RevocationView {
 public:
  virtual ~RevocationView() = default;
  virtual bool IsSuspended(const AgencyId& agency) const = 0;
  /// `serial` is normalised (NormalizeSerial: upper-case hex, no leading zeros).
  virtual bool IsSerialRevoked(std::string_view serial) const = 0;
  /// False until the state has been loaded once; the authorizer then refuses every call with
  /// UNAVAILABLE (fail closed) rather than trusting a revoked certificate.
  virtual bool Ready() const { return true; }
};

/// Applies the checks listed in the file comment. Thread-safe; keeps references to nothing but
/// `revocations`, which must outlive it.
class Authorizer {
 public:
  Authorizer(std::string trust_domain, const RevocationView& revocations);

  /// OK, UNAUTHENTICATED ("agency suspended", "certificate revoked", foreign trust domain),
  /// UNAVAILABLE (revocation state not loaded yet) or PERMISSION_DENIED (no policy for the
  /// method, or the rule denies the caller's agency type; the message names rule, type, method).
  Status Authorize(const Caller& caller, std::string_view full_method) const;

  const std::string& trust_domain() const { return trust_domain_; }

 private:
  std::string trust_domain_;
  const RevocationView& revocations_;
};

}  // namespace concord::authz
