// Tests for common/authz/policy.h: the table itself, the principal classes of a caller (admin
// split by directory role, bootstrap), the exhaustive walk of every (principal class, method)
// pair through Authorizer::Authorize, and the doc/code check of docs/security.md.
#include "common/authz/policy.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "concord/audit/v1/audit.grpc.pb.h"
#include "concord/directory/v1/directory.grpc.pb.h"
#include "concord/federation/v1/federation.grpc.pb.h"
#include "concord/liaison/v1/liaison.grpc.pb.h"

namespace concord::authz {
namespace {

constexpr std::string_view kTrustDomain = "concord.test";

class FakeRevocations final : public RevocationView {
 public:
  bool IsSuspended(const AgencyId& agency) const override {
    return suspended.count(agency.Key()) > 0;
  }
  bool IsSerialRevoked(std::string_view serial) const override {
    return revoked.count(std::string(serial)) > 0;
  }
  bool Ready() const override { return ready; }
  AdminRoles RolesOf(const AgencyId& agency) const override {
    auto it = roles.find(agency.Key());
    return it == roles.end() ? AdminRoles{} : it->second;
  }

  std::set<std::string> suspended;
  std::set<std::string> revoked;
  std::map<std::string, AdminRoles> roles;  // agency key -> roles
  bool ready = true;
};

Caller MakeCaller(AgencyType type, std::string id = "unit-1", std::string serial = "1A2B") {
  return Caller{AgencyId{std::string(kTrustDomain), type, std::move(id)}, std::move(serial)};
}

// A caller of principal class `p` (admin classes: an admin identity holding that role).
Caller CallerOf(Principal p, FakeRevocations& view) {
  switch (p) {
    case Principal::kDirectoryAdmin:
      view.roles["admin/dir-1"] = {.directory_administrator = true};
      return MakeCaller(AgencyType::kAdmin, "dir-1");
    case Principal::kAuditReviewer:
      view.roles["admin/audit-1"] = {.audit_reviewer = true};
      return MakeCaller(AgencyType::kAdmin, "audit-1");
    case Principal::kConcordService:
      // Roles on a service identity are ignored, whatever the view says.
      view.roles["admin/concord-referrals"] = {.directory_administrator = true,
                                               .audit_reviewer = true};
      return MakeCaller(AgencyType::kAdmin, "concord-referrals");
    case Principal::kOtherAdmin:
      return MakeCaller(AgencyType::kAdmin, "nobody");
    default:
      for (AgencyType t : kAllAgencyTypes) {
        if (t != AgencyType::kAdmin && PrincipalName(p) == AgencyTypeName(t)) return MakeCaller(t);
      }
  }
  ADD_FAILURE() << "no caller for " << PrincipalName(p);
  return MakeCaller(AgencyType::kPolice);
}

std::string RuleOf(std::string_view method) {
  const MethodPolicy* p = FindPolicy(method);
  return p == nullptr ? "" : std::string(p->rule);
}

TEST(PolicyTable, MethodsAreUniqueAndWellFormed) {
  std::set<std::string_view> seen;
  for (const MethodPolicy& p : PolicyTable()) {
    EXPECT_TRUE(seen.insert(p.method).second) << "duplicate " << p.method;
    EXPECT_EQ(p.method.front(), '/') << p.method;
    EXPECT_FALSE(p.rule.empty()) << p.method;
    bool has_own = false;
    for (const auto& [principal, decision] : p.by_principal)
      has_own |= decision == Decision::kAllowOwn;
    EXPECT_EQ(has_own, !p.ownership.empty()) << "own cells need an ownership text: " << p.method;
  }
}

// Test that every RPC of concord.federation.v1 (both the partner-facing Gateway and the
// local-facing Federation) has a row.
TEST(PolicyTable, CoversEveryRpcOfTheFederationGateway) {
  const auto* file = concord::federation::v1::RelayRequest::descriptor()->file();
  for (const char* name : {"Gateway", "Federation"}) {
    const google::protobuf::ServiceDescriptor* service = file->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string path = "/" + service->full_name() + "/" + service->method(i)->name();
      EXPECT_NE(FindPolicy(path), nullptr) << "no policy for " << path;
    }
  }
}

// Every RPC of the services whose policy lives here must have a row: a new RPC without a
// policy would be denied to everyone, which this test turns into a build-time reminder.
TEST(PolicyTable, CoversEveryRpcOfDirectoryAndAudit) {
  // Touching a message of each file links its descriptors into the generated pool.
  const google::protobuf::ServiceDescriptor* services[] = {
      concord::directory::v1::Agency::descriptor()->file()->FindServiceByName("Directory"),
      concord::audit::v1::AuditRecord::descriptor()->file()->FindServiceByName("Audit")};
  for (const auto* service : services) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string path = "/" + service->full_name() + "/" + service->method(i)->name();
      EXPECT_NE(FindPolicy(path), nullptr) << "no policy for " << path;
    }
  }
}

TEST(PolicyTable, DocumentedChoices) {
  using P = Principal;
  const MethodPolicy* get = FindPolicy("/concord.directory.v1.Directory/GetAgency");
  ASSERT_NE(get, nullptr);
  // Every principal of this deployment; a partner deployment's gateway reaches nothing here.
  for (Principal p : kAllPrincipals) {
    EXPECT_EQ(get->DecisionFor(p), p == P::kPartnerGateway ? Decision::kDeny : Decision::kAllow);
  }
  const MethodPolicy* list = FindPolicy("/concord.directory.v1.Directory/ListAgencies");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->DecisionFor(P::kForeignPartner), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(P::kPlatform), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(P::kConcordService), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(P::kOtherAdmin), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(P::kPolice), Decision::kAllow);
  for (std::string_view m : {"RegisterAgency", "UpdateAgency", "SuspendAgency", "ReinstateAgency",
                             "RevokeCertificate"}) {
    const std::string path = "/concord.directory.v1.Directory/" + std::string(m);
    EXPECT_EQ(RuleOf(path), "directory.administration");
    for (Principal p : kAllPrincipals) {
      EXPECT_EQ(FindPolicy(path)->DecisionFor(p),
                p == P::kDirectoryAdmin ? Decision::kAllow : Decision::kDeny)
          << PrincipalName(p) << " " << path;
    }
  }
  for (std::string_view m : {"Query", "Verify", "GetCheckpoint", "CreateCheckpoint"}) {
    const MethodPolicy* audit = FindPolicy("/concord.audit.v1.Audit/" + std::string(m));
    ASSERT_NE(audit, nullptr);
    for (Principal p : kAllPrincipals) {
      EXPECT_EQ(audit->DecisionFor(p), p == P::kAuditReviewer || p == P::kCoordinationUnit
                                           ? Decision::kAllow
                                           : Decision::kDeny)
          << PrincipalName(p) << " " << m;
    }
  }
}

// Test that every RPC of concord.liaison.v1 has a row, and the liaison choices of
// docs/security.md: platforms only act on the orders addressed to them (never issue, never the
// desk or a team), the coordination unit, reception centres, the Immigration Office and every
// admin identity reach no liaison method at all.
TEST(PolicyTable, LiaisonRowsAndChoices) {
  using P = Principal;
  const auto* service =
      concord::liaison::v1::Request::descriptor()->file()->FindServiceByName("Liaison");
  ASSERT_NE(service, nullptr);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string path = "/" + service->full_name() + "/" + service->method(i)->name();
    const MethodPolicy* row = FindPolicy(path);
    ASSERT_NE(row, nullptr) << "no policy for " << path;
    if (service->method(i)->name() == "RecordCrossing") {
      // The federation gateway's row: Concord's service identities only (the service then
      // refuses every one but admin/concord-gateway, NOT_THE_GATEWAY); no agency, no partner.
      for (P p : kAllPrincipals) {
        EXPECT_EQ(row->DecisionFor(p),
                  p == P::kConcordService ? Decision::kAllowOwn : Decision::kDeny)
            << PrincipalName(p);
      }
      continue;
    }
    for (P p : {P::kCoordinationUnit, P::kReceptionCentre, P::kImmigrationOffice,
                P::kDirectoryAdmin, P::kAuditReviewer, P::kConcordService, P::kOtherAdmin}) {
      EXPECT_EQ(row->DecisionFor(p), Decision::kDeny) << PrincipalName(p) << " " << path;
    }
    const std::string name = service->method(i)->name();
    const bool platform_may = name == "Act" || name == "GetRequest" || name == "ListRequests";
    EXPECT_EQ(row->DecisionFor(P::kPlatform), platform_may ? Decision::kAllowOwn : Decision::kDeny)
        << path;
  }
  EXPECT_EQ(FindPolicy("/concord.liaison.v1.Liaison/LinkNotification")->DecisionFor(P::kPolice),
            Decision::kAllow);
  EXPECT_EQ(FindPolicy("/concord.liaison.v1.Liaison/LinkNotification")->DecisionFor(P::kMagistrate),
            Decision::kDeny);
}

// Concord's service identities (admin/concord-*, keys mounted in service pods) may Send
// notifications and look up the recipients' keys to seal them, and the federation gateway
// records what crossed the border in the liaison service (RecordCrossing, `own`: the service
// admits admin/concord-gateway only): nothing else in the table.
TEST(PolicyTable, ConcordServiceIdentitiesOnlySend) {
  for (const MethodPolicy& p : PolicyTable()) {
    const Decision d = p.DecisionFor(Principal::kConcordService);
    if (p.method == "/concord.messaging.v1.Messaging/Send") {
      EXPECT_EQ(d, Decision::kAllowOwn);
    } else if (p.method == "/concord.directory.v1.Directory/GetAgency") {
      EXPECT_EQ(d, Decision::kAllow);
    } else if (p.method == "/concord.liaison.v1.Liaison/RecordCrossing") {
      EXPECT_EQ(d, Decision::kAllowOwn);
    } else {
      EXPECT_EQ(d, Decision::kDeny) << p.method;
    }
  }
}

TEST(Principals, AdminIsSplitByRoleAndServiceIdentitiesIgnoreRoles) {
  using P = Principal;
  const AgencyId ops{std::string(kTrustDomain), AgencyType::kAdmin, "ops"};
  const AgencyId notifier{std::string(kTrustDomain), AgencyType::kAdmin, "concord-referrals"};
  const AgencyId police{std::string(kTrustDomain), AgencyType::kPolice, "pz"};
  EXPECT_EQ(PrincipalsOf(ops, {}), std::vector<P>{P::kOtherAdmin});
  EXPECT_EQ(PrincipalsOf(ops, {.directory_administrator = true}),
            std::vector<P>{P::kDirectoryAdmin});
  EXPECT_EQ(PrincipalsOf(ops, {.directory_administrator = true, .audit_reviewer = true}),
            (std::vector<P>{P::kDirectoryAdmin, P::kAuditReviewer}));
  EXPECT_EQ(PrincipalsOf(notifier, {.directory_administrator = true, .audit_reviewer = true}),
            std::vector<P>{P::kConcordService});
  EXPECT_EQ(PrincipalsOf(police, {.directory_administrator = true}), std::vector<P>{P::kPolice});
}

TEST(Principals, BootstrapHoldsDirectoryAdministrationOnlyUntilOneIsRegistered) {
  const AgencyId ops{std::string(kTrustDomain), AgencyType::kAdmin, "ops"};
  const AgencyId other{std::string(kTrustDomain), AgencyType::kAdmin, "other"};
  const AgencyId notifier{std::string(kTrustDomain), AgencyType::kAdmin, "concord-referrals"};
  const std::vector<AgencyId> bootstrap = {ops, notifier};
  // Empty deployment: the named identity holds it (marked), others do not.
  AdminRoles r = WithBootstrap(ops, {}, bootstrap, /*has_directory_administrator=*/false);
  EXPECT_TRUE(r.directory_administrator);
  EXPECT_TRUE(r.bootstrap);
  EXPECT_FALSE(r.audit_reviewer);  // bootstrap grants directory administration only
  EXPECT_FALSE(WithBootstrap(other, {}, bootstrap, false).directory_administrator);
  // Never a Concord service identity, even when named.
  EXPECT_FALSE(WithBootstrap(notifier, {}, bootstrap, false).directory_administrator);
  // Once a directory administrator is registered, the grant ends.
  EXPECT_EQ(WithBootstrap(ops, {}, bootstrap, true), AdminRoles{});
  // An explicit holder is not a bootstrap grant.
  r = WithBootstrap(ops, {.directory_administrator = true}, bootstrap, false);
  EXPECT_TRUE(r.directory_administrator);
  EXPECT_FALSE(r.bootstrap);
}

// The acceptance test of the issue: every (principal class, RPC) pair gets exactly its rule.
TEST(Authorizer, WalksEveryPrincipalClassAndMethodOfTheTable) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  int pairs = 0;
  for (const MethodPolicy& p : PolicyTable()) {
    for (Principal principal : kAllPrincipals) {
      ++pairs;
      // Walked by TrustDomainDimension below (a caller of another trust domain).
      if (principal == Principal::kPartnerGateway) continue;
      const Caller caller = CallerOf(principal, revocations);
      ASSERT_EQ(authorizer.PrincipalsFor(caller.agency), std::vector<Principal>{principal});
      const Status s = authorizer.Authorize(caller, p.method);
      std::string label(PrincipalName(principal));
      label.append(" -> ").append(p.method);
      if (p.DecisionFor(principal) == Decision::kDeny) {
        ASSERT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << label;
        const std::string msg(s.message());
        EXPECT_NE(msg.find(std::string(p.rule)), std::string::npos) << label << ": " << msg;
        EXPECT_NE(msg.find(std::string(AgencyTypeName(caller.agency.type))), std::string::npos)
            << msg;
        EXPECT_NE(msg.find(std::string(p.method)), std::string::npos) << msg;
        EXPECT_EQ(ReasonOf(s), "POLICY_DENIED");
      } else {
        EXPECT_TRUE(s.ok()) << label << ": " << s;
      }
    }
  }
  EXPECT_EQ(pairs, static_cast<int>(PolicyTable().size() * kAllPrincipals.size()));
}

// Test the trust-domain dimension (docs/liaison.md "Federation"): on a listener given the
// partner trust domain, the partner's gateway identity reaches exactly the rows that allow
// partner_gateway (the gateway's Relay and export) and is PERMISSION_DENIED on every other
// method; any other identity of the partner trust domain reaches nothing (PARTNER_NOT_GATEWAY);
// a listener not given the partner domain refuses it as a foreign trust domain; no principal of
// this deployment reaches Relay.
TEST(Authorizer, TrustDomainDimension) {
  FakeRevocations revocations;
  const Authorizer partner_port(std::string(kTrustDomain), revocations, {"partner.test"});
  const Authorizer internal_port(std::string(kTrustDomain), revocations);
  const Caller gateway{{"partner.test", AgencyType::kAdmin, "concord-gateway"}, "AB"};
  const Caller partner_agency{{"partner.test", AgencyType::kMagistrate, "om-rotterdam"}, "AC"};
  const Caller stranger{{"elsewhere.test", AgencyType::kAdmin, "concord-gateway"}, "AD"};
  int allowed = 0;
  for (const MethodPolicy& p : PolicyTable()) {
    const Status s = partner_port.Authorize(gateway, p.method);
    if (p.DecisionFor(Principal::kPartnerGateway) == Decision::kDeny) {
      EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << p.method;
      EXPECT_EQ(ReasonOf(s), "POLICY_DENIED") << p.method;
      EXPECT_NE(std::string(s.message()).find("partner trust domain partner.test"),
                std::string::npos)
          << s;
    } else {
      EXPECT_TRUE(s.ok()) << p.method << ": " << s;
      ++allowed;
    }
    const Status agency = partner_port.Authorize(partner_agency, p.method);
    EXPECT_EQ(agency.code(), absl::StatusCode::kPermissionDenied) << p.method;
    EXPECT_EQ(ReasonOf(agency), "PARTNER_NOT_GATEWAY") << p.method;
    EXPECT_EQ(ReasonOf(partner_port.Authorize(stranger, p.method)), "FOREIGN_TRUST_DOMAIN");
    EXPECT_EQ(internal_port.Authorize(gateway, p.method).code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(ReasonOf(internal_port.Authorize(gateway, p.method)), "FOREIGN_TRUST_DOMAIN");
  }
  EXPECT_EQ(allowed, 2);  // Relay and GetDirectoryExport
  EXPECT_EQ(
      FindPolicy("/concord.federation.v1.Gateway/Relay")
          ->DecisionFor(std::vector<Principal>(kAllPrincipals.begin(), kAllPrincipals.end() - 1)),
      Decision::kDeny);
  EXPECT_EQ(partner_port.Authorize(gateway, "/concord.unknown.v1.X/Y").code(),
            absl::StatusCode::kPermissionDenied);
}

// The reproduced attack: Concord's referrals notifier identity, whose key is mounted in the
// referrals pods, changed and suspended agencies. It may not, whatever roles a record claims.
TEST(Authorizer, ConcordNotifierCannotChangeTheDirectory) {
  FakeRevocations revocations;
  revocations.roles["admin/concord-referrals"] = {.directory_administrator = true};
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  const Caller notifier = MakeCaller(AgencyType::kAdmin, "concord-referrals");
  for (std::string_view m : {"RegisterAgency", "UpdateAgency", "SuspendAgency", "ReinstateAgency",
                             "RevokeCertificate", "ListAgencies", "GetRevocations"}) {
    const Status s =
        authorizer.Authorize(notifier, "/concord.directory.v1.Directory/" + std::string(m));
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << m;
    EXPECT_NE(s.message().find("admin/concord-referrals (Concord service identity)"),
              std::string::npos)
        << s.message();
  }
  const Status s = authorizer.Authorize(notifier, "/concord.directory.v1.Directory/UpdateAgency");
  EXPECT_EQ(s.message(),
            "denied by rule directory.administration: admin/concord-referrals (Concord service "
            "identity) may not call /concord.directory.v1.Directory/UpdateAgency");
  for (std::string_view m :
       {"/concord.audit.v1.Audit/Query", "/concord.messaging.v1.Messaging/ListInbox",
        "/concord.messaging.v1.Messaging/Subscribe", "/grpc.health.v1.Health/Check"}) {
    EXPECT_EQ(authorizer.Authorize(notifier, m).code(), absl::StatusCode::kPermissionDenied) << m;
  }
  EXPECT_TRUE(authorizer.Authorize(notifier, "/concord.messaging.v1.Messaging/Send").ok());
  EXPECT_TRUE(authorizer.Authorize(notifier, "/concord.directory.v1.Directory/GetAgency").ok());
}

TEST(Authorizer, AnAdminHoldingBothRolesMayDoBoth) {
  FakeRevocations revocations;
  revocations.roles["admin/ops"] = {.directory_administrator = true, .audit_reviewer = true};
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  const Caller ops = MakeCaller(AgencyType::kAdmin, "ops");
  EXPECT_TRUE(authorizer.Authorize(ops, "/concord.directory.v1.Directory/UpdateAgency").ok());
  EXPECT_TRUE(authorizer.Authorize(ops, "/concord.audit.v1.Audit/Verify").ok());
  const Status inbox = authorizer.Authorize(ops, "/concord.messaging.v1.Messaging/ListInbox");
  EXPECT_EQ(inbox.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(inbox.message().find("admin/ops (directory administrator, audit reviewer)"),
            std::string::npos)
      << inbox.message();
}

TEST(Authorizer, AdminWithoutRoleOnlyLooksUp) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  const Caller ops = MakeCaller(AgencyType::kAdmin, "ops");
  const Status s = authorizer.Authorize(ops, "/concord.directory.v1.Directory/SuspendAgency");
  EXPECT_EQ(s.message(),
            "denied by rule directory.administration: admin/ops (admin without a directory role) "
            "may not call /concord.directory.v1.Directory/SuspendAgency");
  EXPECT_EQ(authorizer.Authorize(ops, "/concord.audit.v1.Audit/Query").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(authorizer.Authorize(ops, "/concord.directory.v1.Directory/GetAgency").ok());
}

TEST(Authorizer, UnknownMethodIsDeniedByDefault) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  for (std::string_view m : {"/concord.directory.v1.Directory/DeleteEverything", "", "/",
                             "/concord.audit.v1.Audit/Append"}) {
    const Status s = authorizer.Authorize(MakeCaller(AgencyType::kAdmin), m);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << m;
    EXPECT_EQ(s.message(), "no policy for method");
  }
}

TEST(Authorizer, ForeignTrustDomainIsUnauthenticated) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  Caller caller = MakeCaller(AgencyType::kAdmin);
  caller.agency.trust_domain = "other.example";
  EXPECT_EQ(authorizer.Authorize(caller, "/grpc.health.v1.Health/Check").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(Authorizer, SuspendedAgencyAndRevokedSerialAreUnauthenticatedBeforeTheTable) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  revocations.suspended.insert("police/pz-x");
  revocations.revoked.insert("BEEF");

  Status s = authorizer.Authorize(MakeCaller(AgencyType::kPolice, "pz-x"),
                                  "/concord.directory.v1.Directory/GetAgency");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "agency suspended");
  // Even a method the table would deny: suspension is checked first.
  s = authorizer.Authorize(MakeCaller(AgencyType::kPolice, "pz-x"),
                           "/concord.directory.v1.Directory/RegisterAgency");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);

  s = authorizer.Authorize(MakeCaller(AgencyType::kAdmin, "ops", "BEEF"),
                           "/concord.directory.v1.Directory/GetAgency");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "certificate revoked");

  // Another agency of the same type and another serial are unaffected.
  EXPECT_TRUE(authorizer
                  .Authorize(MakeCaller(AgencyType::kPolice, "pz-y"),
                             "/concord.directory.v1.Directory/GetAgency")
                  .ok());
}

TEST(Authorizer, FailsClosedUntilRevocationsAreLoaded) {
  FakeRevocations revocations;
  revocations.ready = false;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  EXPECT_EQ(
      authorizer.Authorize(MakeCaller(AgencyType::kAdmin), "/grpc.health.v1.Health/Check").code(),
      absl::StatusCode::kUnavailable);
}

// docs/security.md embeds the table verbatim between the markers; this keeps doc and code in
// step. On failure, paste the "expected" text printed below into the doc.
TEST(PolicyTableMarkdown, DocsSecurityMdShowsExactlyTheTable) {
  const std::string path = std::string(CONCORD_SOURCE_DIR) + "/docs/security.md";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- policy-table:begin -->\n";
  const std::string end = "<!-- policy-table:end -->";
  const size_t b = doc.find(begin);
  ASSERT_NE(b, std::string::npos) << "missing " << begin;
  const size_t e = doc.find(end, b);
  ASSERT_NE(e, std::string::npos) << "missing " << end;
  const std::string section = doc.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(section, PolicyTableMarkdown()) << "expected section:\n" << PolicyTableMarkdown();
}

TEST(PolicyTableMarkdown, HasOneRowPerMethodAndOneColumnPerType) {
  const std::string md = PolicyTableMarkdown();
  for (const MethodPolicy& p : PolicyTable()) {
    EXPECT_NE(md.find("| `" + std::string(p.method) + "` | `" + std::string(p.rule) + "` |"),
              std::string::npos);
  }
  for (Principal p : kAllPrincipals) {
    std::string column(" ");
    column.append(PrincipalName(p)).append(" |");
    EXPECT_NE(md.find(column), std::string::npos);
  }
}

}  // namespace
}  // namespace concord::authz
