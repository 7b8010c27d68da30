// File: common/authz/policy_table.cc
//
// THE authorization table of Concord, as data. Read it as: for this RPC, which principal classes
// (agency types; admin split by directory role, policy.h) may call it, under which named rule.
// Everything not listed is denied ("no policy for method"). docs/security.md shows the same table
// (PolicyTableMarkdown()); tests keep both in step and walk every (principal, method) pair.
//
// Choices (PRODUCT.md "Actors"; docs/security.md "Policy table"):
//   - directory.administration: only directory administrators (admin identities holding the
//     attribute directory_administrator) change the directory (register, update, suspend,
//     reinstate, revoke). No other admin identity, and never Concord's own service identities
//     (admin/concord-*, whose keys are mounted in service pods).
//   - directory.lookup (GetAgency): EVERY principal, including foreign partners, platforms and
//     Concord's service identities. Signatures and sealing need the counterpart's public keys: a
//     platform answering an evidence request must verify the requesting magistrate's signature
//     and seal its answer to that magistrate's X25519 key; a foreign partner likewise; a Concord
//     notifier seals its notifications to the recipients' keys. Platforms, foreign partners,
//     Concord service identities and admins without a role see the public part of a record only
//     (identity, name, keys, endorsement; services/directory/README.md).
//   - directory.browse (ListAgencies, GetRevocations): the domestic agency types, directory
//     administrators and audit reviewers. Foreign partners and platforms may not enumerate the
//     Belgian directory (which specialised units exist and where is operationally sensitive).
//   - audit.oversight / audit.checkpoint: audit reviewers (admin identities holding the
//     attribute audit_reviewer) and the coordination unit (the national rapporteur's oversight
//     role); no operational agency, no directory administrator as such, reads the audit trail.
//   - messaging.*: the six domestic operational types (police, magistrate, reception centre,
//     Immigration Office, social inspection, Guardianship Service) exchange messages (send, own
//     inbox, receipts, forward); platforms only answer requests addressed to them and notify the
//     police (messaging.send = own for platforms) and never forward; foreign partners use liaison;
//     admin identities and the coordination unit see no message content. Concord's own
//     notifiers (concord_service: admin/concord-referrals, admin/concord-directory) may Send
//     NOTIFICATIONs and NOTHING else (no inbox, no directory change, no audit, no health).
//     Ownership (sender/recipient of the message, H2 permission, notification kind) is checked
//     by services/messaging.
//   - liaison.*: Belgian police (single point of contact) and magistrates, and foreign partners,
//     issue international requests; platforms only execute the orders addressed to them; only
//     the request's issuer and executor see it (own). The platform desk (DSA art. 18 links) is
//     the police's. JIT: police and magistrates lead; members (also social inspection and
//     foreign partners) use the team's ledger (own: current members only).
//   - guidelines.* (issue 11): publishing and withdrawing guidance is for the types that can hold
//     the publisher right, the directory attribute guideline_publisher (common/attributes: the
//     coordination unit by default; a magistrates' college if given it): `own`, the right and the
//     guideline's ownership being checked by services/guidelines; the compliance figures are the
//     guideline publisher's. Reading (Get, List, Diff, Subscribe) and acknowledging are open to
//     the eight agency types, never to an admin identity (no directory role, nor Concord's service
//     identities, receives guidance), as `own`: a version is visible to its audience (agency
//     types, named agencies; every agency for public outreach material) and its publisher, and
//     only its audience acknowledges it; anything else is NOT_FOUND, as for a version that does
//     not exist.
//   - federation.* (docs/liaison.md "Federation with a partner deployment"): the trust-domain
//     dimension. The partner deployment's gateway (partner_gateway: admin/concord-gateway of a
//     partner trust domain, admitted only on the gateway's partner port) reaches Relay and
//     GetDirectoryExport and NOTHING else; no identity of this deployment reaches them. The
//     agencies that work with foreign partners (police, magistrates, social inspection,
//     Immigration Office) use the gateway's Federation service: `own` (the envelope's sender
//     must be the caller, an inbound box is its owner's; the allow-list and export list are
//     checked by services/federation). The federation status is also for directory
//     administrators (operators).
//   - infrastructure: gRPC health checking and server reflection, for every principal but
//     Concord's service identities (they carry no case data; unauthenticated probes use the
//     separate plaintext health-only port).
#include "common/authz/policy.h"

namespace concord::authz {
namespace {

using P = Principal;
using D = Decision;
using Row = std::map<Principal, Decision>;

constexpr std::string_view kDirectoryAdministration = "directory.administration";
constexpr std::string_view kLookup = "directory.lookup";
constexpr std::string_view kBrowse = "directory.browse";
constexpr std::string_view kAuditOversight = "audit.oversight";
constexpr std::string_view kAuditCheckpoint = "audit.checkpoint";
constexpr std::string_view kInfrastructure = "infrastructure";
constexpr std::string_view kMessagingSend = "messaging.send";
constexpr std::string_view kMessagingInbox = "messaging.own_inbox";
constexpr std::string_view kMessagingParty = "messaging.party";
constexpr std::string_view kMessagingSender = "messaging.sender";
constexpr std::string_view kMessagingForward = "messaging.forward";
constexpr std::string_view kSendRule =
    "a platform may only answer a request addressed to it (a RESPONSE to the requesting agency) "
    "or notify the police (DSA art. 18); concord_service: NOTIFICATIONs to domestic agencies "
    "only";
constexpr std::string_view kReferralsRefer = "referrals.refer";
constexpr std::string_view kReferralsRoute = "referrals.route";
constexpr std::string_view kReferralsParty = "referrals.party";
constexpr std::string_view kReferralsSealed = "referrals.sealed_record";
constexpr std::string_view kFederationRelay = "federation.relay";
constexpr std::string_view kFederationUse = "federation.use";
constexpr std::string_view kFederationStatus = "federation.status";
constexpr std::string_view kFederationRule =
    "the envelope's sender must be the caller and an agency this deployment exports; its "
    "recipients allow-listed partner agencies; an inbound box is its owner's";
constexpr std::string_view kLiaisonIssue = "liaison.issue";
constexpr std::string_view kLiaisonParty = "liaison.party";
constexpr std::string_view kLiaisonDesk = "liaison.platform_desk";
constexpr std::string_view kLiaisonJitLead = "liaison.jit_lead";
constexpr std::string_view kLiaisonJitMember = "liaison.jit_member";
constexpr std::string_view kLiaisonCrossing = "liaison.crossing";
constexpr std::string_view kCrossingRule =
    "only this deployment's federation gateway (admin/concord-gateway); any other service "
    "identity: NOT_THE_GATEWAY (docs/liaison.md \"Liaison requests across the border\")";
constexpr std::string_view kIssueRule =
    "the pair of agency types the request type allows, and for e-Evidence orders the "
    "magistrate_role (docs/liaison.md \"Who may order what\")";
constexpr std::string_view kRequestParty =
    "the caller must be the request's issuer or executor (anyone else: NOT_FOUND); the move table "
    "of the type decides which side moves (docs/liaison.md)";
constexpr std::string_view kJitMember =
    "the caller must be a current member of the team; adding and removing members is the lead's";
constexpr std::string_view kDraftOwner = "only the referring agency works on its drafts";
constexpr std::string_view kCaseParty =
    "the caller must be a party of the case (referring agency, receiving centre, magistrate, "
    "Immigration Office, Guardianship Service, investigating unit); what each party may do is "
    "the transition table (docs/referrals.md)";
constexpr std::string_view kSealedParty =
    "only an agency the box is sealed to (the personal record: receiving centre, magistrate; the "
    "identity of a document request: the Immigration Office; the guardian: the centre and the "
    "Guardianship Service), with a justification; refusals are audited too";
constexpr std::string_view kPartyOnly =
    "the caller must be the sender or a recipient of the message";
constexpr std::string_view kSenderOnly = "only the message's sender sees its receipts";
constexpr std::string_view kForwardRule =
    "the forwarder must be a recipient of the original; an H2 original reaches new agencies only "
    "with the provider's signed permission";

// The domestic agency types (not admin, not foreign partners, not platforms), as principals.
constexpr std::array<Principal, 7> kDomestic = {
    P::kPolice,           P::kMagistrate,       P::kReceptionCentre,    P::kImmigrationOffice,
    P::kSocialInspection, P::kCoordinationUnit, P::kGuardianshipService};

Row FederationUsers() {
  return {{P::kPolice, D::kAllowOwn},
          {P::kMagistrate, D::kAllowOwn},
          {P::kSocialInspection, D::kAllowOwn},
          {P::kImmigrationOffice, D::kAllowOwn}};
}

Row DirectoryAdministration() { return {{P::kDirectoryAdmin, D::kAllow}}; }

// Every principal; Concord's service identities only where `with_service` (GetAgency: they seal
// notifications to the recipients' keys).
Row Everyone(bool with_service) {
  Row m;
  for (Principal p : kAllPrincipals) m[p] = D::kAllow;
  m.erase(P::kPartnerGateway);  // a partner reaches the gateway's Relay and export, nothing else
  if (!with_service) m.erase(P::kConcordService);
  return m;
}

Row DomesticAndAdministration() {
  Row m;
  for (Principal p : kDomestic) m[p] = D::kAllow;
  m[P::kDirectoryAdmin] = D::kAllow;
  m[P::kAuditReviewer] = D::kAllow;
  return m;
}

Row Oversight() { return {{P::kCoordinationUnit, D::kAllow}, {P::kAuditReviewer, D::kAllow}}; }

// Messaging (issue 3): the six domestic operational types exchange messages; platforms only
// answer requests addressed to them; foreign partners use liaison; admin identities and the
// coordination unit see no message content. Values: decision for domestic types, for platforms.
Row Messaging(Decision domestic, Decision platform) {
  Row m = {{P::kPolice, domestic},           {P::kMagistrate, domestic},
           {P::kReceptionCentre, domestic},  {P::kImmigrationOffice, domestic},
           {P::kSocialInspection, domestic}, {P::kGuardianshipService, domestic}};
  if (platform != D::kDeny) m[P::kPlatform] = platform;
  return m;
}

// Send: as Messaging(allow, own) plus Concord's own notifiers (admin/concord-referrals,
// admin/concord-directory): NOTIFICATIONs only, checked by services/messaging (Mailbox).
Row MessagingSend() {
  Row m = Messaging(D::kAllow, D::kAllowOwn);
  m[P::kConcordService] = D::kAllowOwn;
  return m;
}

// Referrals (issue 4): frontline services refer; every party of a case acts on it as the
// transition table of services/referrals allows (the Guardianship Service is a party of an
// unaccompanied minor's case); the coordination unit, admin identities, foreign partners and
// platforms see no case at all.
Row Referring(Decision d) {
  return {
      {P::kPolice, d}, {P::kMagistrate, d}, {P::kImmigrationOffice, d}, {P::kSocialInspection, d}};
}
Row CaseParties() {
  Row m = Referring(D::kAllowOwn);
  m[P::kReceptionCentre] = D::kAllowOwn;
  m[P::kGuardianshipService] = D::kAllowOwn;
  return m;
}

// Liaison (issue 12): Belgian magistrates and police, foreign partners issue requests; platforms
// execute the orders addressed to them; the JIT ledger is for police, magistrates, social
// inspection and foreign partners (members only).
Row LiaisonIssuers() {
  return {{P::kPolice, D::kAllowOwn},
          {P::kMagistrate, D::kAllowOwn},
          {P::kForeignPartner, D::kAllowOwn}};
}
Row LiaisonParties() {
  Row m = LiaisonIssuers();
  m[P::kPlatform] = D::kAllowOwn;
  return m;
}
Row JitMembers() {
  return {{P::kPolice, D::kAllowOwn},
          {P::kMagistrate, D::kAllowOwn},
          {P::kSocialInspection, D::kAllowOwn},
          {P::kForeignPartner, D::kAllowOwn}};
}
// ---- guidelines (issue 11) ----
constexpr std::string_view kGuidelinesPublish = "guidelines.publish";
constexpr std::string_view kGuidelinesCompliance = "guidelines.compliance";
constexpr std::string_view kGuidelinesRead = "guidelines.read";
constexpr std::string_view kGuidelinesAcknowledge = "guidelines.acknowledge";
constexpr std::string_view kPublisherRule =
    "only an agency holding the publisher right (directory attribute guideline_publisher: the "
    "coordination unit by default, a magistrates' college if given it); versions after the "
    "first and withdrawals only by the guideline's publisher";
constexpr std::string_view kComplianceRule = "only the publisher of the guideline";
constexpr std::string_view kReadRule =
    "only versions addressed to the caller (its type or the agency itself), public ones, and "
    "its own; anything else is NOT_FOUND";
constexpr std::string_view kAcknowledgeRule = "only an agency the version addresses";

// The types that can hold the publisher right (attribute guideline_publisher).
Row GuidelinePublishers() {
  return {{P::kCoordinationUnit, D::kAllowOwn}, {P::kMagistrate, D::kAllowOwn}};
}
// The eight agency types, with the audience rule; no admin principal (operators, directory
// administrators, audit reviewers and Concord's own service identities receive no guidance).
Row GuidelineReaders() {
  Row m;
  for (Principal p : kDomestic) m[p] = D::kAllowOwn;
  m[P::kForeignPartner] = D::kAllowOwn;
  m[P::kPlatform] = D::kAllowOwn;
  return m;
}
// ---- end guidelines ----

std::vector<MethodPolicy> BuildTable() {
  return {
      // concord.directory.v1.Directory
      {"/concord.directory.v1.Directory/RegisterAgency", kDirectoryAdministration,
       DirectoryAdministration(), ""},
      {"/concord.directory.v1.Directory/UpdateAgency", kDirectoryAdministration,
       DirectoryAdministration(), ""},
      {"/concord.directory.v1.Directory/SuspendAgency", kDirectoryAdministration,
       DirectoryAdministration(), ""},
      {"/concord.directory.v1.Directory/ReinstateAgency", kDirectoryAdministration,
       DirectoryAdministration(), ""},
      {"/concord.directory.v1.Directory/RevokeCertificate", kDirectoryAdministration,
       DirectoryAdministration(), ""},
      {"/concord.directory.v1.Directory/GetAgency", kLookup, Everyone(/*with_service=*/true), ""},
      {"/concord.directory.v1.Directory/ListAgencies", kBrowse, DomesticAndAdministration(), ""},
      {"/concord.directory.v1.Directory/GetRevocations", kBrowse, DomesticAndAdministration(), ""},
      // concord.audit.v1.Audit
      {"/concord.audit.v1.Audit/Query", kAuditOversight, Oversight(), ""},
      {"/concord.audit.v1.Audit/Verify", kAuditOversight, Oversight(), ""},
      {"/concord.audit.v1.Audit/GetCheckpoint", kAuditOversight, Oversight(), ""},
      {"/concord.audit.v1.Audit/CreateCheckpoint", kAuditCheckpoint, Oversight(), ""},
      // concord.messaging.v1.Messaging
      {"/concord.messaging.v1.Messaging/Send", kMessagingSend, MessagingSend(), kSendRule},
      {"/concord.messaging.v1.Messaging/Subscribe", kMessagingInbox,
       Messaging(D::kAllow, D::kAllow), ""},
      {"/concord.messaging.v1.Messaging/ListInbox", kMessagingInbox,
       Messaging(D::kAllow, D::kAllow), ""},
      {"/concord.messaging.v1.Messaging/Get", kMessagingParty,
       Messaging(D::kAllowOwn, D::kAllowOwn), kPartyOnly},
      {"/concord.messaging.v1.Messaging/Ack", kMessagingInbox, Messaging(D::kAllow, D::kAllow), ""},
      {"/concord.messaging.v1.Messaging/SendReceipt", kMessagingInbox,
       Messaging(D::kAllow, D::kAllow), ""},
      {"/concord.messaging.v1.Messaging/ListReceipts", kMessagingSender,
       Messaging(D::kAllowOwn, D::kAllowOwn), kSenderOnly},
      {"/concord.messaging.v1.Messaging/UploadAttachment", kMessagingSend,
       Messaging(D::kAllow, D::kAllow), ""},
      {"/concord.messaging.v1.Messaging/DownloadAttachment", kMessagingParty,
       Messaging(D::kAllowOwn, D::kAllowOwn), kPartyOnly},
      {"/concord.messaging.v1.Messaging/Forward", kMessagingForward,
       Messaging(D::kAllowOwn, D::kDeny), kForwardRule},
      // concord.referrals.v1.Referrals
      {"/concord.referrals.v1.Referrals/SaveDraft", kReferralsRefer, Referring(D::kAllowOwn),
       kDraftOwner},
      {"/concord.referrals.v1.Referrals/Validate", kReferralsRefer, Referring(D::kAllowOwn),
       kDraftOwner},
      {"/concord.referrals.v1.Referrals/SuggestCentres", kReferralsRoute, Referring(D::kAllow), ""},
      {"/concord.referrals.v1.Referrals/Submit", kReferralsRefer, Referring(D::kAllowOwn),
       kDraftOwner},
      {"/concord.referrals.v1.Referrals/Transition", kReferralsParty, CaseParties(), kCaseParty},
      {"/concord.referrals.v1.Referrals/Get", kReferralsParty, CaseParties(), kCaseParty},
      {"/concord.referrals.v1.Referrals/List", kReferralsParty, CaseParties(), kCaseParty},
      {"/concord.referrals.v1.Referrals/History", kReferralsParty, CaseParties(), kCaseParty},
      {"/concord.referrals.v1.Referrals/UpdateSealed", kReferralsParty, CaseParties(), kCaseParty},
      {"/concord.referrals.v1.Referrals/OpenSealed", kReferralsSealed, CaseParties(), kSealedParty},
      // concord.liaison.v1.Liaison
      {"/concord.liaison.v1.Liaison/CreateRequest", kLiaisonIssue, LiaisonIssuers(), kIssueRule},
      {"/concord.liaison.v1.Liaison/Act", kLiaisonParty, LiaisonParties(), kRequestParty},
      {"/concord.liaison.v1.Liaison/GetRequest", kLiaisonParty, LiaisonParties(), kRequestParty},
      {"/concord.liaison.v1.Liaison/ListRequests", kLiaisonParty, LiaisonParties(), kRequestParty},
      {"/concord.liaison.v1.Liaison/LinkNotification", kLiaisonDesk, {{P::kPolice, D::kAllow}}, ""},
      {"/concord.liaison.v1.Liaison/ListLinkedNotifications",
       kLiaisonDesk,
       {{P::kPolice, D::kAllow}},
       ""},
      {"/concord.liaison.v1.Liaison/CreateJit",
       kLiaisonJitLead,
       {{P::kPolice, D::kAllow}, {P::kMagistrate, D::kAllow}},
       ""},
      {"/concord.liaison.v1.Liaison/AddJitMember", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/LeaveJit", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/GetJit", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/ShareInJit", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/ListJitEntries", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/WatchJit", kLiaisonJitMember, JitMembers(), kJitMember},
      {"/concord.liaison.v1.Liaison/RecordCrossing",
       kLiaisonCrossing,
       {{P::kConcordService, D::kAllowOwn}},
       kCrossingRule},
      // concord.guidelines.v1.Guidelines
      {"/concord.guidelines.v1.Guidelines/Publish", kGuidelinesPublish, GuidelinePublishers(),
       kPublisherRule},
      {"/concord.guidelines.v1.Guidelines/Withdraw", kGuidelinesPublish, GuidelinePublishers(),
       kPublisherRule},
      {"/concord.guidelines.v1.Guidelines/Get", kGuidelinesRead, GuidelineReaders(), kReadRule},
      {"/concord.guidelines.v1.Guidelines/List", kGuidelinesRead, GuidelineReaders(), kReadRule},
      {"/concord.guidelines.v1.Guidelines/Diff", kGuidelinesRead, GuidelineReaders(), kReadRule},
      {"/concord.guidelines.v1.Guidelines/Subscribe", kGuidelinesRead, GuidelineReaders(),
       kReadRule},
      {"/concord.guidelines.v1.Guidelines/Acknowledge", kGuidelinesAcknowledge, GuidelineReaders(),
       kAcknowledgeRule},
      {"/concord.guidelines.v1.Guidelines/Compliance", kGuidelinesCompliance, GuidelinePublishers(),
       kComplianceRule},
      // concord.federation.v1 (the gateway): partner-facing, then local-facing
      {"/concord.federation.v1.Gateway/Relay",
       kFederationRelay,
       {{P::kPartnerGateway, D::kAllow}},
       ""},
      {"/concord.federation.v1.Gateway/GetDirectoryExport",
       kFederationRelay,
       {{P::kPartnerGateway, D::kAllow}},
       ""},
      {"/concord.federation.v1.Federation/GetPartnerAgency", kFederationUse, FederationUsers(),
       kFederationRule},
      {"/concord.federation.v1.Federation/Send", kFederationUse, FederationUsers(),
       kFederationRule},
      {"/concord.federation.v1.Federation/ListInbound", kFederationUse, FederationUsers(),
       kFederationRule},
      {"/concord.federation.v1.Federation/Acknowledge", kFederationUse, FederationUsers(),
       kFederationRule},
      {"/concord.federation.v1.Federation/GetStatus", kFederationStatus,
       [] {
         Row m = FederationUsers();
         for (auto& [p, d] : m) d = D::kAllow;
         m[P::kDirectoryAdmin] = D::kAllow;
         return m;
       }(),
       ""},
      // gRPC infrastructure
      {"/grpc.health.v1.Health/Check", kInfrastructure, Everyone(/*with_service=*/false), ""},
      {"/grpc.health.v1.Health/Watch", kInfrastructure, Everyone(/*with_service=*/false), ""},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", kInfrastructure,
       Everyone(/*with_service=*/false), ""},
  };
}

}  // namespace

const std::vector<MethodPolicy>& PolicyTable() {
  static const std::vector<MethodPolicy>* const table = new std::vector<MethodPolicy>(BuildTable());
  return *table;
}

}  // namespace concord::authz
