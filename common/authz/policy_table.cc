// File: common/authz/policy_table.cc
//
// THE authorization table of Concord, as data. Read it as: for this RPC, which agency types may
// call it, under which named rule. Everything not listed is denied ("no policy for method").
// docs/security.md shows the same table (PolicyTableMarkdown()); tests keep both in step and walk
// every (agency type, method) pair.
//
// Choices (PRODUCT.md "Actors"):
//   - directory.admin_only: only operators change the directory (register, update, suspend,
//     reinstate, revoke). They see no case content anywhere else.
//   - directory.lookup (GetAgency): EVERY authenticated agency, including foreign partners and
//     platforms. Signatures and sealing need the counterpart's public keys: a platform answering
//     an evidence request must verify the requesting magistrate's signature and seal its answer
//     to that magistrate's X25519 key; a foreign partner likewise. A lookup needs the exact agency
//     id (already known from the message it answers), and an agency record holds no personal data.
//   - directory.browse (ListAgencies, GetRevocations): the domestic agency types and admin.
//     Foreign partners and platforms may not enumerate the Belgian directory (which specialised
//     units exist and where is operationally sensitive); they reach agencies only through liaison.
//   - audit.oversight / audit.checkpoint: admin and the coordination unit (the national
//     rapporteur's oversight role); no operational agency reads the audit trail.
//   - messaging.*: the five domestic operational types exchange messages (send, own inbox,
//     receipts, forward); platforms only answer requests addressed to them and notify the police
//     (messaging.send = own for platforms) and never forward; foreign partners use liaison;
//     admin and the coordination unit see no message content (deny everywhere, except that
//     Concord's own notifiers, admin/concord-*, may Send NOTIFICATIONs: referral transitions and
//     deadline reminders; they read nothing). Ownership
//     (sender/recipient of the message, H2 permission) is checked by services/messaging.
//   - guidelines.* (issue 11): publishing and withdrawing guidance is for the types that can hold
//     the publisher right, a directory attribute (the coordination unit by default; a
//     magistrates' college if given it): `own`, the right and the guideline's ownership being
//     checked by services/guidelines; the compliance figures are the guideline publisher's.
//     Reading (Get, List, Diff, Subscribe) and acknowledging are open to every agency type but
//     admin, as `own`: a version is visible to its audience (agency types, named agencies; every
//     agency for public outreach material) and its publisher, and only its audience
//     acknowledges it; anything else is NOT_FOUND, as for a version that does not exist.
//   - any_authenticated: gRPC health checking and server reflection, for every authenticated
//     agency (they carry no case data; unauthenticated probes use the separate plaintext
//     health-only port).
#include "common/authz/policy.h"

namespace concord::authz {
namespace {

using T = AgencyType;
using D = Decision;

constexpr std::string_view kAdminOnly = "directory.admin_only";
constexpr std::string_view kLookup = "directory.lookup";
constexpr std::string_view kBrowse = "directory.browse";
constexpr std::string_view kAuditOversight = "audit.oversight";
constexpr std::string_view kAuditCheckpoint = "audit.checkpoint";
constexpr std::string_view kAnyAuthenticated = "any_authenticated";
constexpr std::string_view kMessagingSend = "messaging.send";
constexpr std::string_view kMessagingInbox = "messaging.own_inbox";
constexpr std::string_view kMessagingParty = "messaging.party";
constexpr std::string_view kMessagingSender = "messaging.sender";
constexpr std::string_view kMessagingForward = "messaging.forward";
constexpr std::string_view kSendRule =
    "a platform may only answer a request addressed to it (a RESPONSE to the requesting agency) "
    "or notify the police (DSA art. 18); admin: only Concord's own notifiers (admin/concord-*) "
    "send NOTIFICATIONs to domestic agencies";
constexpr std::string_view kReferralsRefer = "referrals.refer";
constexpr std::string_view kReferralsRoute = "referrals.route";
constexpr std::string_view kReferralsParty = "referrals.party";
constexpr std::string_view kReferralsSealed = "referrals.sealed_record";
constexpr std::string_view kDraftOwner = "only the referring agency works on its drafts";
constexpr std::string_view kCaseParty =
    "the caller must be a party of the case (referring agency, receiving centre, magistrate, "
    "Immigration Office); what each party may do is the transition table (docs/referrals.md)";
constexpr std::string_view kSealedParty =
    "only an agency the record is sealed to (receiving centre, magistrate), with a justification; "
    "refusals are audited too";
constexpr std::string_view kPartyOnly =
    "the caller must be the sender or a recipient of the message";
constexpr std::string_view kSenderOnly = "only the message's sender sees its receipts";
constexpr std::string_view kForwardRule =
    "the forwarder must be a recipient of the original; an H2 original reaches new agencies only "
    "with the provider's signed permission";

std::map<AgencyType, Decision> AdminOnly() { return {{T::kAdmin, D::kAllow}}; }

std::map<AgencyType, Decision> Everyone() {
  std::map<AgencyType, Decision> m;
  for (AgencyType t : kAllAgencyTypes) m[t] = D::kAllow;
  return m;
}

std::map<AgencyType, Decision> DomesticAndAdmin() {
  return {{T::kPolice, D::kAllow},
          {T::kMagistrate, D::kAllow},
          {T::kReceptionCentre, D::kAllow},
          {T::kImmigrationOffice, D::kAllow},
          {T::kSocialInspection, D::kAllow},
          {T::kCoordinationUnit, D::kAllow},
          {T::kAdmin, D::kAllow}};
}

std::map<AgencyType, Decision> Oversight() {
  return {{T::kCoordinationUnit, D::kAllow}, {T::kAdmin, D::kAllow}};
}

// Messaging (issue 3): the five domestic operational types exchange messages; platforms only
// answer requests addressed to them; foreign partners use liaison; admin and the coordination
// unit see no message content. Values: decision for domestic types, decision for platforms.
std::map<AgencyType, Decision> Messaging(Decision domestic, Decision platform) {
  std::map<AgencyType, Decision> m = {{T::kPolice, domestic},
                                      {T::kMagistrate, domestic},
                                      {T::kReceptionCentre, domestic},
                                      {T::kImmigrationOffice, domestic},
                                      {T::kSocialInspection, domestic}};
  if (platform != D::kDeny) m[T::kPlatform] = platform;
  return m;
}

// Send: as Messaging(allow, own) plus Concord's own notifiers, which are admin identities
// (admin/concord-referrals): NOTIFICATIONs only, checked by services/messaging (Mailbox).
std::map<AgencyType, Decision> MessagingSend() {
  std::map<AgencyType, Decision> m = Messaging(D::kAllow, D::kAllowOwn);
  m[T::kAdmin] = D::kAllowOwn;
  return m;
}

// Referrals (issue 4): frontline services refer; every party of a case acts on it as the
// transition table of services/referrals allows; the coordination unit, admin, foreign partners
// and platforms see no case at all.
std::map<AgencyType, Decision> Referring(Decision d) {
  return {
      {T::kPolice, d}, {T::kMagistrate, d}, {T::kImmigrationOffice, d}, {T::kSocialInspection, d}};
}
std::map<AgencyType, Decision> CaseParties() {
  std::map<AgencyType, Decision> m = Referring(D::kAllowOwn);
  m[T::kReceptionCentre] = D::kAllowOwn;
  return m;
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

// The types that can hold the publisher right.
std::map<AgencyType, Decision> GuidelinePublishers() {
  return {{T::kCoordinationUnit, D::kAllowOwn}, {T::kMagistrate, D::kAllowOwn}};
}
// Every agency type but admin (operators and Concord's own service identities receive no
// guidance), with the audience rule.
std::map<AgencyType, Decision> GuidelineReaders() {
  std::map<AgencyType, Decision> m;
  for (AgencyType t : kAllAgencyTypes) {
    if (t != T::kAdmin) m[t] = D::kAllowOwn;
  }
  return m;
}
// ---- end guidelines ----

std::vector<MethodPolicy> BuildTable() {
  return {
      // concord.directory.v1.Directory
      {"/concord.directory.v1.Directory/RegisterAgency", kAdminOnly, AdminOnly(), ""},
      {"/concord.directory.v1.Directory/UpdateAgency", kAdminOnly, AdminOnly(), ""},
      {"/concord.directory.v1.Directory/SuspendAgency", kAdminOnly, AdminOnly(), ""},
      {"/concord.directory.v1.Directory/ReinstateAgency", kAdminOnly, AdminOnly(), ""},
      {"/concord.directory.v1.Directory/RevokeCertificate", kAdminOnly, AdminOnly(), ""},
      {"/concord.directory.v1.Directory/GetAgency", kLookup, Everyone(), ""},
      {"/concord.directory.v1.Directory/ListAgencies", kBrowse, DomesticAndAdmin(), ""},
      {"/concord.directory.v1.Directory/GetRevocations", kBrowse, DomesticAndAdmin(), ""},
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
      // gRPC infrastructure
      {"/grpc.health.v1.Health/Check", kAnyAuthenticated, Everyone(), ""},
      {"/grpc.health.v1.Health/Watch", kAnyAuthenticated, Everyone(), ""},
      {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", kAnyAuthenticated,
       Everyone(), ""},
  };
}

}  // namespace

const std::vector<MethodPolicy>& PolicyTable() {
  static const std::vector<MethodPolicy>* const table = new std::vector<MethodPolicy>(BuildTable());
  return *table;
}

}  // namespace concord::authz
