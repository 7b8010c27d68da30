// File: cli/concordctl/commands.h
//
// concordctl's commands, one function each, independent of the flag parser (main.cc wires them
// to CLI11). Every function prints through Output and returns a documented exit code
// (exit_codes.h); none throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/concordctl/connection.h"
#include "cli/concordctl/message_args.h"
#include "cli/concordctl/output.h"
#include "cli/concordctl/referral_args.h"

namespace concord::ctl {

struct Globals {
  ConnectionOptions connection;
  bool json = false;
};

// ---- health / whoami -----------------------------------------------------------------------

struct HealthArgs {
  std::string service;  // "" = the whole server
};
/// grpc.health.v1.Health/Check. 0 if SERVING, 3 if answered but not SERVING, 2 if the RPC failed.
int RunHealth(const Globals& globals, const HealthArgs& args, Output& out);

/// Prints the identity of the local client certificate (no RPC). 4 if it has no valid agency
/// SPIFFE ID or cannot be read.
int RunWhoami(const Globals& globals, Output& out);

// ---- directory -----------------------------------------------------------------------------

/// Flags of `directory register` and `directory update`.
struct AgencySpecArgs {
  std::string agency;    // positional "<type>/<id>" or SPIFFE ID (alternative to --type/--id)
  std::string type;      // --type
  std::string id;        // --id
  std::string from_pki;  // --from-pki DIR: type/id/serial from DIR/cert.pem, keys from sign.pub,
                         // seal.pub
  std::string name;
  std::string jurisdiction;
  std::vector<std::string> specialisations;
  std::vector<std::string> languages;
  std::string signing_key_file;
  std::string sealing_key_file;
  std::vector<std::string> serials;
  int capacity = -1;  // --capacity; -1 = not given (register: 0, update: unchanged)
  /// --attribute NAME=VALUE (repeatable): register sets them; update sets each, NAME= resets it
  /// to its default, and attributes not named are kept.
  std::vector<std::string> attributes;
  // update only
  bool clear_specialisations = false;
  bool clear_languages = false;
  bool clear_serials = false;
  int64_t expected_version = -1;     // -1 = the version just read
  std::string key_endorsement_file;  // --key-endorsement: `keys rotate`'s file (new keys + the
                                     // endorsement by the current signing key)
};
int RunDirectoryRegister(const Globals& globals, const AgencySpecArgs& args, Output& out);
/// Read-modify-write: gets the agency, applies the given flags, sends UpdateAgency with the
/// version read as expected_version (ABORTED if it changed meanwhile).
int RunDirectoryUpdate(const Globals& globals, const AgencySpecArgs& args, Output& out);

struct AgencyRefArgs {
  std::string agency;  // "<type>/<id>" or SPIFFE ID
  std::string reason;  // suspend only
};
int RunDirectorySuspend(const Globals& globals, const AgencyRefArgs& args, Output& out);
int RunDirectoryReinstate(const Globals& globals, const AgencyRefArgs& args, Output& out);
int RunDirectoryGet(const Globals& globals, const AgencyRefArgs& args, Output& out);

struct RevokeArgs {
  std::string serial;
  std::string cert_file;  // --cert-file: take the serial from a certificate
  std::string reason;
};
int RunDirectoryRevoke(const Globals& globals, const RevokeArgs& args, Output& out);

struct ListArgs {
  std::string type;
  std::string jurisdiction;
  std::string specialisation;
  std::string language;
  bool include_suspended = false;
  int page_size = 0;       // 0 = server default
  std::string page_token;  // given: that one page only; otherwise every page
};
int RunDirectoryList(const Globals& globals, const ListArgs& args, Output& out);
int RunDirectoryRevocations(const Globals& globals, Output& out);

// ---- key continuity (key_commands.cc; docs/concordctl.md "Keys and key continuity") --------

struct DirectoryTrustArgs {
  std::string agency;  // "<type>/<id>" or SPIFFE ID
  bool yes = false;    // accept without asking
};
/// Fetches the agency's keys, prints the remembered and the directory's fingerprints and, on
/// confirmation (--yes or a "y" on a terminal), records the directory's keys as accepted in the
/// known-keys file. 0 accepted or nothing to accept; 3 not confirmed; 1 no --yes and stdin is
/// not a terminal.
int RunDirectoryTrust(const Globals& globals, const DirectoryTrustArgs& args, Output& out);

struct KeysRotateArgs {
  std::string out_file;  // --out: the endorsement file (default DIR/key_endorsement.json)
};
/// New key pair in the agency folder (DIR/{sign,seal}.{key,pub}.next) and its endorsement by the
/// current DIR/sign.key, for `directory update --key-endorsement`.
int RunKeysRotate(const Globals& globals, const KeysRotateArgs& args, Output& out);
/// Once the directory holds the *.next keys: they become DIR/sign.key etc.; the old ones are
/// kept as *.previous. 3 (nothing changed) while the directory still holds other keys.
int RunKeysActivate(const Globals& globals, Output& out);

// ---- audit ---------------------------------------------------------------------------------

struct AuditQueryArgs {
  std::string object;  // e.g. "agency:police/pz-brussels-capital"
  std::string agency;  // "<type>/<id>" or SPIFFE ID: records made by this agency
  std::string from;    // RFC 3339, e.g. 2026-11-28T00:00:00Z
  std::string to;
  int page_size = 0;       // 0 = server default
  std::string page_token;  // given: that one page only; otherwise pages up to `limit` records
  int limit = 1000;
};
int RunAuditQuery(const Globals& globals, const AuditQueryArgs& args, Output& out);

struct AuditVerifyArgs {
  uint64_t from_seq = 0;          // 0 = from the first record
  uint64_t to_seq = 0;            // 0 = up to the head
  std::string expect_key_file;    // --expect-key: the audit service's Ed25519 public key (PEM);
                                  // the checkpoints must be signed with it
  std::string expect_checkpoint;  // --expect-checkpoint: an exported checkpoint (file, logged
                                  // line, or a directory: its latest checkpoint-*.json); the
                                  // chain must reach it with the same hash
};
/// Prints "audit chain OK: N records, M checkpoints" (0) or
/// "audit chain BROKEN at record <seq>: <reason>" (3). With an expected checkpoint: also
/// "audit chain BROKEN: records A..B missing: ..." / "... differ from the exported checkpoint"
/// (3) when the chain is shorter than it or differs from it, or when its signature does not
/// verify (with --expect-key when given, else with the key written in the export).
int RunAuditVerify(const Globals& globals, const AuditVerifyArgs& args, Output& out);

struct AuditCheckpointArgs {
  bool create = false;  // sign the current head now (admin) instead of showing the latest
};
int RunAuditCheckpoint(const Globals& globals, const AuditCheckpointArgs& args, Output& out);

// ---- message -------------------------------------------------------------------------------
// concord.messaging.v1.Messaging over the agency-side client library (client/messaging): the
// body is sealed, opened, signed and verified here, never by the server.

/// The local agency's private message keys. Empty = DIR/sign.key and DIR/seal.key of
/// --agency-dir. The agency itself is the one in the client certificate.
struct MessageKeyArgs {
  std::string signing_key_file;  // --signing-key: Ed25519 private key PEM
  std::string sealing_key_file;  // --sealing-key-file: X25519 private key PEM
};

/// Fetches the recipients' sealing keys from the directory, seals the body and attachments,
/// signs with the local signing key, uploads the attachments and sends. Prints the message id
/// and whether the server already had it (idempotent resend).
int RunMessageSend(const Globals& globals, const MessageKeyArgs& keys, const MessageSendArgs& args,
                   Output& out);

struct MessageInboxArgs {
  std::string thread;
  std::string kind;  // "" = all
  bool unacked = false;
  int page_size = 0;  // 0 = server default
  std::string page_token;
};
/// One page of the inbox, newest first: headers only (no plaintext, nothing is opened).
int RunMessageInbox(const Globals& globals, const MessageInboxArgs& args, Output& out);

struct MessageReadArgs {
  std::string id;
  std::string out_dir;     // save the attachments here (verified against the signed SHA-256)
  bool overwrite = false;  // replace existing files in out_dir
  bool receipt = false;    // send a signed read receipt
  bool ack = false;        // acknowledge after reading
};
/// Get, verify the signature against the sender's directory key (exit 3 "signature INVALID"),
/// open with the local sealing key, print header + body, save attachments.
int RunMessageRead(const Globals& globals, const MessageKeyArgs& keys, const MessageReadArgs& args,
                   Output& out);

struct MessageAckArgs {
  std::vector<std::string> ids;
};
int RunMessageAck(const Globals& globals, const MessageAckArgs& args, Output& out);

struct MessageReceiptsArgs {
  std::string id;
};
/// Receipts of a message this agency sent, each verified against the recipient's directory
/// key and bound to the envelope; exit 3 if one does not verify.
int RunMessageReceipts(const Globals& globals, const MessageReceiptsArgs& args, Output& out);

struct MessageWatchArgs {
  std::string terminal;  // "" = the server's default (certificate serial)
  int max = 0;           // stop after this many deliveries; 0 = until Ctrl-C / SIGTERM
  std::string duration;  // stop after this long ("30s", "10m"); "" = no limit
  bool ack = false;      // acknowledge each verified delivery
  bool receipt = false;  // send a signed delivered receipt for each verified delivery
  int max_retries = 0;   // failed resumes in a row before giving up; 0 = no limit
};
/// Subscribe: one line per delivery (signature verified against the sender's key; the body is
/// not opened). Resumes with backoff when the server closes the stream; stops after --max,
/// --duration, on SIGINT/SIGTERM (exit 0), or on UNAUTHENTICATED/PERMISSION_DENIED (exit 2).
int RunMessageWatch(const Globals& globals, const MessageKeyArgs& keys,
                    const MessageWatchArgs& args, Output& out);

struct MessageForwardArgs {
  std::string id;
  std::vector<std::string> to;
  std::string permission_file;  // the provider's signed ForwardPermission (JSON, `message grant`)
  bool without_attachments = false;
};
/// Opens the original locally, re-seals body and attachments for the new recipients and sends
/// the linked forward. For H2 originals the server requires the provider's permission.
int RunMessageForward(const Globals& globals, const MessageKeyArgs& keys,
                      const MessageForwardArgs& args, Output& out);

struct MessageGrantArgs {
  std::string id;
  std::vector<std::string> to;
  std::string out_file;  // "" = stdout
};
/// As the provider (original sender): signs a ForwardPermission for `id` to the given agencies
/// and writes it as JSON, for the forwarding agency's `message forward --permission-file`.
int RunMessageGrant(const Globals& globals, const MessageKeyArgs& keys,
                    const MessageGrantArgs& args, Output& out);

// ---- referral ------------------------------------------------------------------------------
// concord.referrals.v1.Referrals (referral_commands.cc). The personal record is sealed to the
// receiving centre (+ magistrate), signed with DIR/sign.key, and verified and opened in this
// process (client/referrals); flags and structures in referral_args.h. Commands that change a
// case read it first and send the version read as expected_version unless --expected-version is
// given (ABORTED if it changed). Every sealed box read (record, note) is verified against its
// author's directory signing key first: exit 3 if it does not verify, or if it is unsigned
// (stored before signatures) without --accept-unsigned.

int RunReferralDraft(const Globals& globals, const ReferralKeyArgs& keys,
                     const ReferralDraftArgs& args, Output& out);
/// Exit 0 when valid, 3 when the server lists problems.
int RunReferralValidate(const Globals& globals, const ReferralValidateArgs& args, Output& out);
int RunReferralSuggest(const Globals& globals, const ReferralSuggestArgs& args, Output& out);
int RunReferralSubmit(const Globals& globals, const ReferralCaseArgs& args, Output& out);
int RunReferralTransition(const Globals& globals, const ReferralKeyArgs& keys,
                          const ReferralTransitionArgs& args, Output& out);
int RunReferralGet(const Globals& globals, const ReferralCaseArgs& args, Output& out);
/// OpenSealed (audited, justification required), then verifies the author's signature and the
/// version and opens the record locally; exit 3 if it does not verify, is not sealed to this
/// agency or does not authenticate.
int RunReferralOpen(const Globals& globals, const ReferralKeyArgs& keys,
                    const ReferralOpenArgs& args, Output& out);
int RunReferralUpdateSealed(const Globals& globals, const ReferralKeyArgs& keys,
                            const ReferralUpdateSealedArgs& args, Output& out);
int RunReferralList(const Globals& globals, const ReferralListArgs& args, Output& out);
/// History; every sealed note is verified against its author's signature (exit 3 if one does not
/// verify); with --open-notes, the notes sealed to this agency are opened locally (exit 3 if one
/// sealed to it does not open).
int RunReferralHistory(const Globals& globals, const ReferralKeyArgs& keys,
                       const ReferralHistoryArgs& args, Output& out);

// ---- guideline -----------------------------------------------------------------------------
// concord.guidelines.v1.Guidelines (guideline_commands.cc) over the agency-side library
// (client/guidelines): versions are signed here with DIR/sign.key, and every version or
// withdrawal received is verified here against its publisher's directory key and its
// recomputed SHA-256 (exit 3 when it does not verify), whatever the server says.

struct GuidelinePublishArgs {
  std::string dir;               // the draft: DIR/guideline.json + one text file per language
  int64_t version = 0;           // 0 = the guideline's latest version + 1 (1 for a new one)
  std::string effective;         // RFC 3339 or "now" (default)
  std::string ack_deadline;      // RFC 3339; default: effective + the draft's ack_within_days
  bool if_changed = false;       // publish only if the draft differs from the latest version
  std::string signing_key_file;  // default DIR/sign.key of --agency-dir
};
int RunGuidelinePublish(const Globals& globals, const GuidelinePublishArgs& args, Output& out);

struct GuidelineWithdrawArgs {
  std::string id;
  int64_t version = 0;
  std::string reason;
  std::string signing_key_file;
};
int RunGuidelineWithdraw(const Globals& globals, const GuidelineWithdrawArgs& args, Output& out);

struct GuidelineListArgs {
  std::string id;
  std::string topic;
  std::string audience_type;
  bool public_only = false;
  std::string effective_from;  // RFC 3339
  std::string effective_to;
  bool all = false;        // include superseded versions
  bool withdrawn = false;  // include withdrawn versions
  int page_size = 0;
  std::string page_token;
};
int RunGuidelineList(const Globals& globals, const GuidelineListArgs& args, Output& out);

struct GuidelineShowArgs {
  std::string id;
  int64_t version = 0;                 // 0 = the version in force
  std::vector<std::string> languages;  // preferred, in order
  std::string from_file;               // verify a version saved with `show --json` instead
};
/// Get; verifies hash and publisher signature locally and says so (exit 3 when they do not
/// verify, also when the server refuses a version it found altered: DATA_LOSS
/// VERSION_VERIFICATION_FAILED).
int RunGuidelineShow(const Globals& globals, const GuidelineShowArgs& args, Output& out);

struct GuidelineDiffArgs {
  std::string id;
  int64_t from = 0;
  int64_t to = 0;
  std::string language;
};
int RunGuidelineDiff(const Globals& globals, const GuidelineDiffArgs& args, Output& out);

struct GuidelineAckArgs {
  std::string id;
  int64_t version = 0;  // 0 = the version in force
};
/// Gets and verifies the version, then acknowledges its SHA-256 (the officer, --officer, is
/// required by the server).
int RunGuidelineAck(const Globals& globals, const GuidelineAckArgs& args, Output& out);

struct GuidelineComplianceArgs {
  std::string id;
  int64_t version = 0;
};
int RunGuidelineCompliance(const Globals& globals, const GuidelineComplianceArgs& args,
                           Output& out);

struct GuidelineWatchArgs {
  std::string after;     // resume after this cursor
  int max = 0;           // stop after this many events; 0 = until Ctrl-C / SIGTERM
  std::string duration;  // "30s", "10m"; "" = no limit
  bool ack = false;      // acknowledge each verified version
  int max_retries = 0;
};
/// Subscribe: one line per event, each verified locally (and said so); resumes with backoff;
/// exit 3 if an event did not verify.
int RunGuidelineWatch(const Globals& globals, const GuidelineWatchArgs& args, Output& out);

struct GuidelineExportArgs {
  std::string id;
  int64_t version = 0;
  std::string html_dir;
};
/// Writes a verified PUBLIC version as one self-contained static HTML page per language.
int RunGuidelineExport(const Globals& globals, const GuidelineExportArgs& args, Output& out);

// ---- liaison -------------------------------------------------------------------------------
// concord.liaison.v1.Liaison (liaison_commands.cc): international requests with their legal
// clocks, joint investigation teams, the platform desk. Enum values are given in lower case
// without their prefix (--type production_order, --state issued, MOVE acknowledge). The substance
// of a request travels as sealed messages (`message send`); liaison records ids, clocks, states
// and SHA-256 digests only.

struct LiaisonCreateArgs {
  std::string type;            // eio, spoc_information, production_order, ...
  std::string executor;        // "<type>/<id>"
  std::string order_message;   // the sealed order form's message id
  std::string case_reference;  // no personal data
  std::string urgency;         // spoc_information: standard, urgent_indirect, urgent_direct
  bool emergency = false;      // production_order: 8 hours
  std::string data_category;   // e-Evidence: subscriber, identification, traffic, content
  int offence_max_years = 0;
  bool do_not_inform_user = false;
  std::string follow_up;  // RFC 3339 (MLA, Europol/Eurojust)
  // A partner deployment's executor (spiffe://<partner td>/...): its IANA zone, as `federation
  // partner` shows it.
  std::string executor_time_zone;
};
int RunLiaisonCreate(const Globals& globals, const LiaisonCreateArgs& args, Output& out);

struct LiaisonListArgs {
  std::string type;
  std::string state;
  int page_size = 0;
  std::string page_token;
};
int RunLiaisonList(const Globals& globals, const LiaisonListArgs& args, Output& out);

struct LiaisonShowArgs {
  std::string id;
};
/// The request, its clocks (due in UTC and in the executor's zone) and its history.
int RunLiaisonShow(const Globals& globals, const LiaisonShowArgs& args, Output& out);

struct LiaisonActArgs {
  std::string id;
  std::string move;            // acknowledge, recognise, answer, refuse, ...
  std::string reason;          // a reason code, e.g. double_criminality, complexity
  std::string reason_message;  // the sealed message with the reason's words
  int extension_days = 0;
  std::vector<std::string> evidence;  // MESSAGE_ID:SHA256_HEX:SIZE (answer; signed here)
  std::string message;                // clarify: the sealed clarification's message id
  std::string follow_up;              // set_follow_up: RFC 3339
  int64_t expected_version = -1;      // -1 = the version just read
  std::string signing_key_file;       // answer with evidence: default DIR/sign.key
};
/// Reads the request, then applies the move with the version read as expected_version. An
/// answer with evidence is signed here (Ed25519, the bytes of docs/liaison.md "Signed answers").
int RunLiaisonAct(const Globals& globals, const LiaisonActArgs& args, Output& out);

struct LiaisonLinkArgs {
  std::string message;         // the platform's DSA art. 18 NOTIFICATION
  std::string case_reference;  // the case police opened
  std::string platform;        // "platform/<id>"
};
int RunLiaisonLink(const Globals& globals, const LiaisonLinkArgs& args, Output& out);
int RunLiaisonLinked(const Globals& globals, const LiaisonLinkArgs& args, Output& out);

struct LiaisonJitArgs {
  std::string jit;                    // team id
  std::string reference;              // create
  std::vector<std::string> members;   // create: besides the caller; add/leave: one
  std::string kind;                   // share: message | evidence
  std::string message;                // share
  std::string envelope_sha256;        // share
  std::vector<std::string> evidence;  // share: MESSAGE_ID:SHA256_HEX:SIZE
  std::vector<std::string> to;        // share: recipients (current members)
  int64_t after = 0;                  // entries / watch
  int max = 0;                        // entries: 0 = 100; watch: 0 = until the stream ends
  std::string duration;               // watch: "30s", "10m"
};
int RunLiaisonJitCreate(const Globals& globals, const LiaisonJitArgs& args, Output& out);
int RunLiaisonJitAdd(const Globals& globals, const LiaisonJitArgs& args, Output& out);
/// Removes a member (default: this agency). Its open WatchJit streams end at once.
int RunLiaisonJitLeave(const Globals& globals, const LiaisonJitArgs& args, Output& out);
int RunLiaisonJitShow(const Globals& globals, const LiaisonJitArgs& args, Output& out);
int RunLiaisonJitShare(const Globals& globals, const LiaisonJitArgs& args, Output& out);
int RunLiaisonJitEntries(const Globals& globals, const LiaisonJitArgs& args, Output& out);
/// WatchJit: one line per entry until --max entries, --duration, or the server ends the stream
/// (exit 2 with PERMISSION_DENIED NOT_A_JIT_MEMBER when this agency left the team).
int RunLiaisonJitWatch(const Globals& globals, const LiaisonJitArgs& args, Output& out);

// ---- federation (federation_commands.cc; --server = the gateway's internal port) ------------

struct FederationPartnerArgs {
  std::string agency;  // SPIFFE ID of a partner agency
};
// A signed liaison descriptor to send with an envelope or a receipt (docs/liaison.md "Liaison
// requests across the border"; docs/crypto.md "Liaison descriptors").
struct LiaisonDescriptorArgs {
  std::string request;           // --liaison-request ID: the issuer's request (with --kind request)
  std::string type;              // --liaison-type eio|spoc_information|...
  std::string urgency;           // --liaison-urgency (spoc_information)
  std::string act;               // --liaison-act MOVE: the executor's move (acknowledge, ...)
  std::string issuer_request;    // --issuer-request ID (the issuing side's)
  std::string executor_request;  // --executor-request ID (this side's)
  int64_t executor_version = 0;  // --executor-version N: the version the move created here
  std::string reason;            // --reason CODE
  int extension_days = 0;        // --extension-days N
};
struct FederationSendArgs {
  std::vector<std::string> to;   // --to SPIFFE ID (repeatable): allow-listed partner agencies
  std::string body;              // --body TEXT
  std::string body_file;         // --body-file FILE
  std::string kind = "request";  // --kind request|information|response
  std::string case_reference;    // --case (opaque file number)
  std::string in_reply_to;       // --in-reply-to MESSAGE_ID
  LiaisonDescriptorArgs liaison;
};
struct FederationInboxArgs {
  bool open = false;  // --open: verify against the partner export's keys and open locally
};
struct FederationAckArgs {
  std::string item_id;
  bool no_receipt = false;        // --no-receipt: remove without a signed receipt
  LiaisonDescriptorArgs liaison;  // --liaison-act ...: rides the receipt
};
/// GetStatus; 3 when the gateway holds no verified partner export.
/// `federation trust AGENCY`: the partner agency's keys as the gateway gives them now (the
/// partner's signed export) against the remembered ones; accepts them (--yes, or confirmed on a
/// terminal). The partner counterpart of `directory trust`.
struct FederationTrustArgs {
  std::string agency;  // SPIFFE id of the partner agency
  bool yes = false;
};
int RunFederationTrust(const Globals& globals, const FederationTrustArgs& args, Output& out);
int RunFederationStatus(const Globals& globals, Output& out);
int RunFederationPartner(const Globals& globals, const FederationPartnerArgs& args, Output& out);
int RunFederationSend(const Globals& globals, const MessageKeyArgs& keys,
                      const FederationSendArgs& args, Output& out);
/// 3 when an item does not verify or open (with --open).
int RunFederationInbox(const Globals& globals, const MessageKeyArgs& keys,
                       const FederationInboxArgs& args, Output& out);
int RunFederationAck(const Globals& globals, const MessageKeyArgs& keys,
                     const FederationAckArgs& args, Output& out);

}  // namespace concord::ctl
