// File: common/authz/policy.h
//
// Authorization: ONE table, principal class x RPC -> decision, enforced in one place (the
// AuthProcessor, auth_processor.h) before any handler runs. The table is data
// (policy_table.cc), rendered into docs/security.md by PolicyTableMarkdown(); a unit test keeps
// the doc and the code identical and another walks every (principal class, method) pair.
//
// Principal classes (the table's columns): the agency types, except that `admin` is split by
// the roles an admin identity holds in the directory (common/attributes):
//   directory_admin   admin holding the attribute directory_administrator
//   audit_reviewer    admin holding the attribute audit_reviewer
//   concord_service   admin/concord-*: Concord's own service identities (they only send
//                     notifications; roles are never theirs)
//   other_admin       any other admin identity (no directory role)
//   partner_gateway   the gateway of a FEDERATED partner deployment: admin/concord-gateway in a
//                     partner trust domain the Authorizer was given (the trust-domain dimension;
//                     docs/liaison.md "Federation"). No identity of this deployment is ever it.
// An admin holding both roles is both classes: a call is allowed when any of its classes allows
// it. The roles come from the in-memory directory cache (RevocationView::RolesOf), never from a
// Redis read per call.
//
// Order of checks in Authorizer::Authorize (docs/security.md "Trust model"):
//   1. the caller's trust domain must be this deployment's          -> UNAUTHENTICATED
//      or, on a listener given partner trust domains (the federation gateway's partner port), a
//      partner's: the caller must then be admin/concord-gateway     -> PERMISSION_DENIED
//      PARTNER_NOT_GATEWAY; steps 2-4 are skipped (the partner CA alone admits it, and its
//      revocations are the partner's) and its only class is partner_gateway (step 6)
//   2. the revocation state must have been loaded at least once      -> UNAVAILABLE (fail closed)
//   3. the caller's agency must not be suspended                     -> UNAUTHENTICATED
//   4. the caller's certificate serial must not be revoked           -> UNAUTHENTICATED
//   5. the method must be in the table (default deny)                -> PERMISSION_DENIED
//   6. the table must allow one of the caller's principal classes    -> PERMISSION_DENIED naming
//                                                                       the rule, caller, method
// kAllowOwn means "allowed here; the service's domain code applies the ownership rule" (for
// example "only the receiving centre may accept a referral").
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
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

/// The columns of the policy table (see the file comment).
enum class Principal {
  kPolice,
  kMagistrate,
  kReceptionCentre,
  kImmigrationOffice,
  kSocialInspection,
  kCoordinationUnit,
  kForeignPartner,
  kPlatform,
  kGuardianshipService,
  kDirectoryAdmin,
  kAuditReviewer,
  kConcordService,
  kOtherAdmin,
  kPartnerGateway,
};

inline constexpr std::array<Principal, 14> kAllPrincipals = {
    Principal::kPolice,
    Principal::kMagistrate,
    Principal::kReceptionCentre,
    Principal::kImmigrationOffice,
    Principal::kSocialInspection,
    Principal::kCoordinationUnit,
    Principal::kForeignPartner,
    Principal::kPlatform,
    Principal::kGuardianshipService,
    Principal::kDirectoryAdmin,
    Principal::kAuditReviewer,
    Principal::kConcordService,
    Principal::kOtherAdmin,
    Principal::kPartnerGateway,
};

/// Column name: the agency type name for the nine non-admin types, then "directory_admin",
/// "audit_reviewer", "concord_service", "other_admin".
std::string_view PrincipalName(Principal principal);

/// For people: "agency type police", "directory administrator", "audit reviewer", "Concord
/// service identity", "admin without a directory role".
std::string_view PrincipalDescription(Principal principal);

/// The directory roles of an admin identity (attributes directory_administrator and
/// audit_reviewer, common/attributes).
struct AdminRoles {
  bool directory_administrator = false;
  bool audit_reviewer = false;
  /// directory_administrator is held only through the bootstrap list (--bootstrap-directory-
  /// admins) because no active registered agency holds the attribute yet.
  bool bootstrap = false;

  friend bool operator==(const AdminRoles&, const AdminRoles&) = default;
};

/// `explicit_roles` plus the bootstrap grant: an identity named in `bootstrap_admins` holds
/// directory administration while `has_directory_administrator` is false (an empty deployment,
/// or every directory administrator suspended). Concord's service identities never do.
AdminRoles WithBootstrap(const AgencyId& agency, AdminRoles explicit_roles,
                         const std::vector<AgencyId>& bootstrap_admins,
                         bool has_directory_administrator);

/// The principal classes of `agency` with `roles` (see the file comment); never empty. Roles of
/// a non-admin agency and of admin/concord-* are ignored.
std::vector<Principal> PrincipalsOf(const AgencyId& agency, const AdminRoles& roles);

struct MethodPolicy {
  std::string_view method;  // full gRPC method: "/concord.directory.v1.Directory/GetAgency"
  std::string_view rule;    // rule name shown in denials and docs: "directory.administration"
  std::map<Principal, Decision> by_principal;  // a missing principal means kDeny
  std::string_view ownership;  // human text of the ownership rule for kAllowOwn, if any

  /// The decision for `principal` (kDeny when absent).
  Decision DecisionFor(Principal principal) const;
  /// The most permissive decision over `principals` (allow > own > deny).
  Decision DecisionFor(const std::vector<Principal>& principals) const;
};

/// THE table (policy_table.cc). Methods are unique. Health and reflection are allowed to every
/// authenticated agency; every other method not listed is denied.
const std::vector<MethodPolicy>& PolicyTable();

/// The row for `full_method`, or nullptr when the method has no policy (default deny).
const MethodPolicy* FindPolicy(std::string_view full_method);

/// The table as Markdown (rows = methods, columns = rule and principal classes, cells
/// allow/deny/own), followed by the ownership rules. docs/security.md embeds this text verbatim
/// between `<!-- policy-table:begin -->` and `<!-- policy-table:end -->`.
std::string PolicyTableMarkdown();

/// What the authorizer needs to know from the directory: suspensions, revocations and the admin
/// roles. Implementations answer from memory (no I/O: this runs on gRPC's transport threads for
/// every call) and are thread-safe. The production implementation is clients::DirectoryCache.
class RevocationView {
 public:
  virtual ~RevocationView() = default;
  virtual bool IsSuspended(const AgencyId& agency) const = 0;
  /// `serial` is normalised (NormalizeSerial: upper-case hex, no leading zeros).
  virtual bool IsSerialRevoked(std::string_view serial) const = 0;
  /// False until the state has been loaded once; the authorizer then refuses every call with
  /// UNAVAILABLE (fail closed) rather than trusting a revoked certificate.
  virtual bool Ready() const { return true; }
  /// The directory roles of an admin `agency`, bootstrap grant included (WithBootstrap). The
  /// default holds none: a view that does not know roles grants no administration.
  virtual AdminRoles RolesOf(const AgencyId& agency) const {
    (void)agency;
    return {};
  }
};

/// Applies the checks listed in the file comment. Thread-safe; keeps references to nothing but
/// `revocations`, which must outlive it.
class Authorizer {
 public:
  Authorizer(std::string trust_domain, const RevocationView& revocations);
  /// A listener that admits federated partners (the gateway's partner port): callers of the
  /// `partner_trust_domains` are authorized as partner_gateway (file comment, step 1).
  Authorizer(std::string trust_domain, const RevocationView& revocations,
             std::vector<std::string> partner_trust_domains);
  ~Authorizer();

  /// OK, UNAUTHENTICATED ("agency suspended", "certificate revoked", foreign trust domain),
  /// UNAVAILABLE (revocation state not loaded yet) or PERMISSION_DENIED (no policy for the
  /// method, or the rule denies every principal class of the caller; the message names the rule,
  /// the caller's agency type or admin identity and role, and the method; ErrorInfo reason
  /// POLICY_DENIED with metadata rule, agency_type, principal, method).
  Status Authorize(const Caller& caller, std::string_view full_method) const;

  /// The caller's principal classes now (roles from the view).
  std::vector<Principal> PrincipalsFor(const AgencyId& agency) const;

  const std::string& trust_domain() const { return trust_domain_; }

 private:
  Status AuthorizePartner(const Caller& caller, std::string_view full_method) const;

  std::string trust_domain_;
  const RevocationView& revocations_;
  std::vector<std::string> partner_trust_domains_;
  // Released at the end of every Authorize(), acquired by the destructor: the last call's reads
  // happen before the authorizer is destroyed. A server's calls all end before it is destroyed,
  // but gRPC keeps that order in its own code, which ThreadSanitizer does not see
  // (docs/reliability.md "Sanitizers").
  mutable std::atomic<uint64_t> authorized_{0};
};

/// The identity of a deployment's federation gateway: admin/concord-gateway.
inline constexpr std::string_view kGatewayIdentityId = "concord-gateway";

}  // namespace concord::authz
