// Tests for common/authz/policy.h: the table itself, the exhaustive walk of every
// (agency type, method) pair through Authorizer::Authorize, and the doc/code check of
// docs/security.md.
#include "common/authz/policy.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "concord/audit/v1/audit.grpc.pb.h"
#include "concord/directory/v1/directory.grpc.pb.h"

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

  std::set<std::string> suspended;
  std::set<std::string> revoked;
  bool ready = true;
};

Caller MakeCaller(AgencyType type, std::string id = "unit-1", std::string serial = "1A2B") {
  return Caller{AgencyId{std::string(kTrustDomain), type, std::move(id)}, std::move(serial)};
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
    for (const auto& [type, decision] : p.by_type) has_own |= decision == Decision::kAllowOwn;
    EXPECT_EQ(has_own, !p.ownership.empty()) << "own cells need an ownership text: " << p.method;
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
  using T = AgencyType;
  const MethodPolicy* get = FindPolicy("/concord.directory.v1.Directory/GetAgency");
  ASSERT_NE(get, nullptr);
  for (AgencyType t : kAllAgencyTypes) EXPECT_EQ(get->DecisionFor(t), Decision::kAllow);
  const MethodPolicy* list = FindPolicy("/concord.directory.v1.Directory/ListAgencies");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->DecisionFor(T::kForeignPartner), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(T::kPlatform), Decision::kDeny);
  EXPECT_EQ(list->DecisionFor(T::kPolice), Decision::kAllow);
  for (std::string_view m : {"RegisterAgency", "UpdateAgency", "SuspendAgency", "ReinstateAgency",
                             "RevokeCertificate"}) {
    const std::string path = "/concord.directory.v1.Directory/" + std::string(m);
    EXPECT_EQ(RuleOf(path), "directory.admin_only");
    for (AgencyType t : kAllAgencyTypes) {
      EXPECT_EQ(FindPolicy(path)->DecisionFor(t),
                t == T::kAdmin ? Decision::kAllow : Decision::kDeny);
    }
  }
  const MethodPolicy* verify = FindPolicy("/concord.audit.v1.Audit/Verify");
  ASSERT_NE(verify, nullptr);
  for (AgencyType t : kAllAgencyTypes) {
    EXPECT_EQ(verify->DecisionFor(t),
              t == T::kAdmin || t == T::kCoordinationUnit ? Decision::kAllow : Decision::kDeny);
  }
}

// The acceptance test of the issue: every (agency type, RPC) pair gets exactly its rule.
TEST(Authorizer, WalksEveryAgencyTypeAndMethodOfTheTable) {
  FakeRevocations revocations;
  Authorizer authorizer(std::string(kTrustDomain), revocations);
  int pairs = 0;
  for (const MethodPolicy& p : PolicyTable()) {
    for (AgencyType t : kAllAgencyTypes) {
      ++pairs;
      const Status s = authorizer.Authorize(MakeCaller(t), p.method);
      const std::string label = std::string(AgencyTypeName(t)) + " -> " + std::string(p.method);
      if (p.DecisionFor(t) == Decision::kDeny) {
        ASSERT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << label;
        const std::string msg(s.message());
        EXPECT_NE(msg.find(std::string(p.rule)), std::string::npos) << label << ": " << msg;
        EXPECT_NE(msg.find(std::string(AgencyTypeName(t))), std::string::npos) << msg;
        EXPECT_NE(msg.find(std::string(p.method)), std::string::npos) << msg;
        EXPECT_EQ(ReasonOf(s), "POLICY_DENIED");
      } else {
        EXPECT_TRUE(s.ok()) << label << ": " << s;
      }
    }
  }
  EXPECT_EQ(pairs, static_cast<int>(PolicyTable().size() * kAllAgencyTypes.size()));
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
  for (AgencyType t : kAllAgencyTypes) {
    EXPECT_NE(md.find(" " + std::string(AgencyTypeName(t)) + " |"), std::string::npos);
  }
}

}  // namespace
}  // namespace concord::authz
