// concordctl: the command-line client of Concord. Wiring only: CLI11 flags -> commands.h.
// (CLI11 costs ~12 s of compile time per translation unit: it is included here and nowhere else.)
#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <iostream>
#include <string>

#include "cli/concordctl/commands.h"
#include "cli/concordctl/exit_codes.h"
#include "cli/concordctl/output.h"
#include "common/tls/tls.h"

namespace {

using concord::ctl::Output;
using Runner = std::function<int(Output&)>;

constexpr const char* kDescription =
    "concordctl: command-line client of Concord, the secure messaging backbone of the Belgian\n"
    "multidisciplinary model against trafficking in human beings. Every call uses mTLS with an\n"
    "agency certificate (spiffe://<trust-domain>/agency/<type>/<id>).";

constexpr const char* kFooter =
    "\nEnvironment: CONCORD_SERVER, CONCORD_AGENCY_DIR, CONCORD_CERT, CONCORD_KEY, CONCORD_CA,\n"
    "CONCORD_OFFICER, CONCORD_JUSTIFICATION, CONCORD_KNOWN_KEYS (flags win over the environment).\n"
    "Example:  concordctl --agency-dir var/pki/agencies/admin/ops directory list\n"
    "Reference: docs/concordctl.md\n\n";

void AddSpecFlags(CLI::App& cmd, concord::ctl::AgencySpecArgs& a, bool update) {
  cmd.add_option("AGENCY", a.agency,
                 "the agency: <type>/<id> (e.g. police/pz-brussels-capital) or its SPIFFE ID");
  cmd.add_option("--type", a.type, "agency type (with --id), e.g. reception_centre");
  cmd.add_option("--id", a.id, "agency id (with --type), e.g. pag-asa");
  cmd.add_option("--from-pki", a.from_pki,
                 "agency directory made by scripts/pki.sh: type, id and certificate serial from "
                 "DIR/cert.pem, keys from DIR/sign.pub and DIR/seal.pub (other flags override)");
  cmd.add_option("--name", a.name, update ? "display name" : "display name (default: the id)");
  cmd.add_option("--jurisdiction", a.jurisdiction,
                 "\"BE\" (national) or a region such as BE-BRU, BE-VAN, BE-WAL");
  cmd.add_option("--specialisation", a.specialisations,
                 update ? "specialisation (repeatable; replaces the stored list)"
                        : "specialisation, e.g. thb, vice, labour_exploitation, minors "
                          "(repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("--language", a.languages,
                 update ? "ISO 639-1 language (repeatable; replaces the stored list)"
                        : "ISO 639-1 language supported, e.g. nl, fr, de, en (repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("--signing-key", a.signing_key_file,
                 "Ed25519 public key PEM (a private key file is accepted: only its public half "
                 "is sent)");
  cmd.add_option("--sealing-key", a.sealing_key_file, "X25519 public key PEM (same rule)");
  cmd.add_option("--serial", a.serials,
                 update ? "certificate serial in hex (repeatable; replaces the stored list)"
                        : "certificate serial in hex (repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("--capacity", a.capacity,
                 "reception centres: places for victims (0 = not declared); used to rank centres "
                 "for referrals")
      ->check(CLI::Range(0, 100000));
  cmd.add_option("--attribute", a.attributes,
                 update ? "NAME=VALUE: set a typed attribute, NAME= resets it to its default "
                          "(repeatable; others are kept), e.g. time_zone=Europe/Brussels"
                        : "NAME=VALUE: a typed attribute (repeatable), e.g. "
                          "directory_administrator=true, recognised_centre=true, "
                          "magistrate_role=prosecutor, time_zone=Europe/Brussels")
      ->allow_extra_args(false);
  if (update) {
    cmd.add_flag("--clear-specialisations", a.clear_specialisations, "remove every specialisation");
    cmd.add_flag("--clear-languages", a.clear_languages, "remove every language");
    cmd.add_flag("--clear-serials", a.clear_serials, "remove every certificate serial");
    cmd.add_option("--expected-version", a.expected_version,
                   "fail with ABORTED unless the stored version is this one (default: the "
                   "version read just before; 0 = no check)");
    cmd.add_option("--key-endorsement", a.key_endorsement_file,
                   "the agency's key rotation (`keys rotate`'s key_endorsement.json): its new "
                   "keys and their endorsement by the current signing key, checked here");
  }
}

constexpr const char* kMessageFooter =
    "\nThe body is sealed and opened, and signatures made and checked, in this process with the\n"
    "keys of your agency directory (DIR/sign.key, DIR/seal.key); the server never sees plaintext.\n"
    "Example:\n"
    "  concordctl --agency-dir var/pki/agencies/police/pz-brussels-capital message send \\\n"
    "    --to reception_centre/pag-asa --handling H1 --body-file note.txt --attach scan.pdf\n";

// `concordctl message ...` (concord.messaging.v1.Messaging through client/messaging).
void AddMessageCommands(CLI::App& app, concord::ctl::Globals& g, concord::ctl::MessageKeyArgs& k,
                        concord::ctl::MessageSendArgs& send_args,
                        concord::ctl::MessageInboxArgs& inbox_args,
                        concord::ctl::MessageReadArgs& read_args,
                        concord::ctl::MessageAckArgs& ack_args,
                        concord::ctl::MessageReceiptsArgs& receipts_args,
                        concord::ctl::MessageWatchArgs& watch_args,
                        concord::ctl::MessageForwardArgs& forward_args,
                        concord::ctl::MessageGrantArgs& grant_args, Runner& run) {
  CLI::App* message = app.add_subcommand(
      "message",
      "signed, end-to-end sealed messages between agencies (concord.messaging.v1.Messaging)");
  message->require_subcommand(1);
  message->fallthrough();  // the key flags may also follow the subcommand
  message->footer(kMessageFooter);
  message->add_option("--signing-key", k.signing_key_file,
                      "Ed25519 private key PEM that signs (default: DIR/sign.key of --agency-dir)");
  message->add_option("--sealing-key-file,--sealing-key", k.sealing_key_file,
                      "X25519 private key PEM that opens (default: DIR/seal.key of --agency-dir)");

  CLI::App* send = message->add_subcommand(
      "send",
      "seals the body and attachments to each recipient's directory key, signs and sends; "
      "prints the message id and whether the server already had it");
  send->add_option("--to", send_args.to,
                   "recipient <type>/<id> or SPIFFE ID (repeatable, 1..64), e.g. "
                   "reception_centre/pag-asa")
      ->required()
      ->allow_extra_args(false);
  send->add_option("--thread", send_args.thread, "thread id ([A-Za-z0-9_-]{0,64})");
  send->add_option("--case-ref", send_args.case_ref,
                   "case reference, sent in clear: an opaque file number (1..64 of A-Z 0-9 "
                   "-_/.: with at least one digit, at least as many digits as letters, at most "
                   "4 letters in a row), e.g. BXL-2026-0042; names are refused");
  send->add_option("--kind", send_args.kind, "information | request | response | notification")
      ->capture_default_str();
  send->add_option("--in-reply-to", send_args.in_reply_to,
                   "the message id answered (required for --kind response)");
  send->add_option("--classification", send_args.classification,
                   "unclassified | restricted | confidential (decides the maximum retention)")
      ->capture_default_str();
  send->add_option("--handling", send_args.handling,
                   "Europol handling code: H0 (crime prevention only), H1 (not in judicial "
                   "proceedings without permission), H2 (no dissemination without permission), "
                   "H3 (see --handling-text)")
      ->required();
  send->add_option("--handling-text", send_args.handling_text,
                   "the restrictions of H3 (1..500 characters; H3 only)");
  send->add_option("--source", send_args.source,
                   "source reliability A | B | C | X (with --accuracy)");
  send->add_option("--accuracy", send_args.accuracy,
                   "information accuracy 1 | 2 | 3 | 4 (with --source)");
  send->add_option("--expires-in", send_args.expires_in,
                   "time to live: 7d, 36h, 1d12h, 90m (within the classification's retention)")
      ->capture_default_str();
  send->add_option_function<std::string>(
      "--body",
      [&send_args](const std::string& v) {
        send_args.body = v;
        send_args.body_given = true;
      },
      "the message text (sealed; or --body-file)");
  send->add_option("--body-file", send_args.body_file, "read the body from this file");
  send->add_option("--attach", send_args.attach,
                   "file to attach (repeatable, <= 16; sealed in 1 MiB chunks, media type from the "
                   "extension)")
      ->allow_extra_args(false);
  send->add_option("--id", send_args.id,
                   "message id ([A-Za-z0-9_-]{16,64}; default: 32 random hex characters). The "
                   "same id and envelope again is a duplicate, another envelope ALREADY_EXISTS");
  send->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageSend(g, k, send_args, o); }; });

  CLI::App* inbox = message->add_subcommand(
      "inbox", "one page of this agency's inbox, newest first (headers only; nothing is opened)");
  inbox->add_option("--thread", inbox_args.thread, "only this thread");
  inbox->add_option("--kind", inbox_args.kind,
                    "only this kind: information | request | response | notification");
  inbox->add_flag("--unacked", inbox_args.unacked, "only messages not yet acknowledged");
  inbox->add_option("--page-size", inbox_args.page_size, "entries per page (0 = server default)");
  inbox->add_option("--page-token", inbox_args.page_token, "the page to fetch (printed as next)");
  inbox->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageInbox(g, inbox_args, o); }; });

  CLI::App* read = message->add_subcommand(
      "read",
      "gets a message, verifies its signature against the sender's directory key (exit 3 "
      "\"signature INVALID\" otherwise), opens it with this agency's sealing key and prints it");
  read->add_option("ID", read_args.id, "message id")->required();
  read->add_option("--out-dir", read_args.out_dir,
                   "download the attachments into DIR (created if needed, files mode 600), each "
                   "checked against the signed size and SHA-256");
  read->add_flag("--overwrite", read_args.overwrite, "replace existing files in --out-dir");
  read->add_flag("--receipt", read_args.receipt,
                 "send a signed read receipt to the sender (needs the signing key)");
  read->add_flag("--ack", read_args.ack, "acknowledge the message after reading it");
  read->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageRead(g, k, read_args, o); }; });

  CLI::App* ack = message->add_subcommand(
      "ack", "acknowledges messages of this agency's inbox (idempotent): no more redelivery");
  ack->add_option("ID", ack_args.ids, "message ids (1..500)")->required();
  ack->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageAck(g, ack_args, o); }; });

  CLI::App* receipts = message->add_subcommand(
      "receipts",
      "receipts of a message this agency sent, each verified against the recipient's directory "
      "key and the exact envelope (exit 3 if one does not verify)");
  receipts->add_option("ID", receipts_args.id, "message id")->required();
  receipts->callback([&] {
    run = [&](Output& o) { return concord::ctl::RunMessageReceipts(g, receipts_args, o); };
  });

  CLI::App* watch = message->add_subcommand(
      "watch",
      "subscribes to this agency's deliveries (backlog first, then live): one line per message, "
      "signature checked; resumes with backoff when the server closes the stream (a message "
      "may then show again: marked '(again)'); stops after --max, --duration, on Ctrl-C / "
      "SIGTERM, or with exit 2 when the server refuses this certificate or agency "
      "(UNAUTHENTICATED, PERMISSION_DENIED)");
  watch->add_option("--terminal", watch_args.terminal,
                    "terminal name ([A-Za-z0-9_.-]{1,64}; default: the certificate serial). "
                    "Terminals of one agency share the deliveries");
  watch->add_option("--max", watch_args.max, "stop after N deliveries (0 = no limit)");
  watch->add_option("--duration", watch_args.duration, "stop after this long, e.g. 30s, 10m");
  watch->add_flag("--ack", watch_args.ack, "acknowledge each delivery whose signature verifies");
  watch->add_flag("--receipt", watch_args.receipt,
                  "send a signed delivered receipt for each delivery whose signature verifies");
  watch->add_option("--max-retries", watch_args.max_retries,
                    "give up (exit 2) after N resumes in a row that delivered nothing "
                    "(0 = keep resuming until --duration or Ctrl-C)");
  watch->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageWatch(g, k, watch_args, o); }; });

  CLI::App* forward = message->add_subcommand(
      "forward",
      "opens a message of this agency's inbox and re-seals it (with its attachments) for new "
      "recipients, linked to the original; H2 needs the provider's --permission-file");
  forward->add_option("ID", forward_args.id, "the original message id")->required();
  forward->add_option("--to", forward_args.to, "new recipient (repeatable, 1..64)")
      ->required()
      ->allow_extra_args(false);
  forward->add_option("--permission-file", forward_args.permission_file,
                      "the provider's signed permission (JSON from `message grant`)");
  forward->add_flag("--without-attachments", forward_args.without_attachments,
                    "do not carry the attachments");
  forward->callback([&] {
    run = [&](Output& o) { return concord::ctl::RunMessageForward(g, k, forward_args, o); };
  });

  CLI::App* grant = message->add_subcommand(
      "grant",
      "as the provider (the sender) of a message, signs a permission to forward it to the given "
      "agencies (needed for H2) and prints it as JSON or writes it to --out");
  grant->add_option("ID", grant_args.id, "message id (one this agency sent)")->required();
  grant->add_option("--to", grant_args.to, "agency the message may be forwarded to (repeatable)")
      ->required()
      ->allow_extra_args(false);
  grant->add_option("--out", grant_args.out_file, "write the permission to this file");
  grant->callback(
      [&] { run = [&](Output& o) { return concord::ctl::RunMessageGrant(g, k, grant_args, o); }; });
}

constexpr const char* kReferralFooter =
    "\nPersonal data (--name, --used-name, --pronouns, --dob, --nationality, --gender-identity,\n"
    "--trans-experience, --language, --interpreter, --contact, --consent, --notes) is sealed in\n"
    "this process to the receiving centre (+ the magistrate) with their directory keys, signed\n"
    "with DIR/sign.key, and opened here with DIR/seal.key after its author's signature was\n"
    "verified; it is never printed except by `open`. Times are shown in Europe/Brussels.\n"
    "Commands that change a case read it first and send that version as --expected-version\n"
    "(ABORTED if the case changed meanwhile). `validate` exits 3 when the draft has problems.\n"
    "Example:\n"
    "  concordctl --agency-dir var/pki/agencies/police/pz-brussels-capital referral draft \\\n"
    "    --form sexual --origin-country BR --nationality-class third_country --age-band 25-34 \\\n"
    "    --gender woman --region BE-BRU --centre reception_centre/pag-asa \\\n"
    "    --personal-file person.json\n";

void AddAttributeFlags(CLI::App& cmd, concord::ctl::AttributeArgs& a) {
  cmd.add_option(
         "--form", a.forms,
         "exploitation form (repeatable; replaces the stored list): " + concord::ctl::FormNames())
      ->allow_extra_args(false);
  cmd.add_option("--origin-country", a.origin_country, "ISO 3166-1 alpha-2, e.g. NG, BR");
  cmd.add_option("--nationality-class", a.nationality_class,
                 "the path of the procedure: belgian, eu_eea (no residence document), "
                 "third_country or unknown");
  cmd.add_option("--age-band", a.age_band,
                 "under_12, 12-17, 18-24, 25-34, 35-49, 50_plus or unknown");
  cmd.add_option("--gender", a.gender,
                 "gender identity, self-declared and optional: woman, man, non_binary, other, "
                 "not_asked, declined (a trans woman is a woman; trans experience is sealed: "
                 "--trans-experience)");
  cmd.add_option("--language", a.languages,
                 "ISO 639-1 language the victim speaks, in order of preference (repeatable): "
                 "sealed in the personal record; a tie-breaker of suggest")
      ->allow_extra_args(false);
  cmd.add_flag_function(
      "--unaccompanied-minor", [&a](int64_t) { a.unaccompanied_minor = 1; },
      "an unaccompanied minor (no parent or legal guardian in Belgium; not the age alone)");
  cmd.add_flag_function(
      "--not-unaccompanied-minor", [&a](int64_t) { a.unaccompanied_minor = 0; },
      "not an unaccompanied minor (clears a stored --unaccompanied-minor)");
  cmd.add_option("--region", a.region,
                 "where the victim is: a Belgian province (BE-VOV, BE-WHT, ...) or region "
                 "(BE-BRU, BE-VLG, BE-WAL)");
}

// `languages`: add --language (draft has it among its attribute flags already).
void AddPersonalFlags(CLI::App& cmd, concord::ctl::PersonalArgs& p, bool languages = true) {
  cmd.add_option("--name", p.name, "legal name (sealed)");
  if (languages) {
    cmd.add_option("--language", p.languages,
                   "ISO 639-1, repeatable, in order of preference (sealed in the record)");
  }
  cmd.add_option("--used-name", p.used_name, "the name the person uses (sealed)");
  cmd.add_option("--pronouns", p.pronouns, "the person's pronouns, e.g. she/her (sealed)");
  cmd.add_option("--dob", p.dob, "date of birth YYYY-MM-DD, may be approximate (sealed)");
  cmd.add_option("--nationality", p.nationality, "ISO 3166-1 alpha-2 (sealed)");
  cmd.add_option("--gender-identity", p.gender_identity,
                 "self-described, in the person's own words (sealed)");
  cmd.add_option("--trans-experience", p.trans_experience,
                 "yes, no or declined (special-category data: sealed only)");
  cmd.add_flag("--interpreter", p.interpreter, "an interpreter is needed (sealed)");
  cmd.add_option("--contact", p.contact, "how to reach the person (sealed)");
  cmd.add_flag("--consent", p.consent, "the person consents to the referral (sealed)");
  cmd.add_option("--notes", p.notes, "free notes (sealed)");
  cmd.add_option_function<std::string>(
      "--personal-file",
      [&p](const std::string& path) {
        // The personal flags are defined (so assigned) before this option's callback runs.
        if (p.Given()) {
          throw CLI::ValidationError(
              "--personal-file cannot be combined with the personal flags (--name, "
              "--used-name, --pronouns, --dob, --nationality, --gender-identity, "
              "--trans-experience, --interpreter, --contact, --consent, --notes)");
        }
        if (concord::Status s = concord::ctl::LoadPersonalFile(path, p); !s.ok()) {
          throw CLI::ValidationError(std::string(s.message()));
        }
      },
      "JSON file with the personal fields (name, used_name, pronouns, dob, nationality, "
      "gender_identity, trans_experience, languages, interpreter_needed, contact, consent, "
      "notes) instead of the flags above, which other local users can see in `ps` (sealed)");
}

struct ReferralArgs {
  concord::ctl::ReferralKeyArgs keys;
  concord::ctl::ReferralDraftArgs draft;
  concord::ctl::ReferralValidateArgs validate;
  concord::ctl::ReferralSuggestArgs suggest;
  concord::ctl::ReferralCaseArgs submit;
  concord::ctl::ReferralTransitionArgs transition;
  concord::ctl::ReferralCaseArgs get;
  concord::ctl::ReferralOpenArgs open;
  concord::ctl::ReferralUpdateSealedArgs update_sealed;
  concord::ctl::ReferralListArgs list;
  concord::ctl::ReferralHistoryArgs history;
};

// `concordctl referral ...` (concord.referrals.v1.Referrals; records sealed by client/referrals).
void AddReferralCommands(CLI::App& app, concord::ctl::Globals& g, ReferralArgs& r, Runner& run) {
  using namespace concord::ctl;  // NOLINT: Run* names only
  CLI::App* referral = app.add_subcommand(
      "referral",
      "victim referrals (concord.referrals.v1.Referrals): drafts, centre suggestions, the "
      "victim-status procedure's transitions, and the sealed personal record");
  referral->require_subcommand(1);
  referral->fallthrough();
  referral->footer(kReferralFooter);
  referral->add_option("--sealing-key-file,--sealing-key", r.keys.sealing_key_file,
                       "X25519 private key PEM that opens records (default: DIR/seal.key of "
                       "--agency-dir)");
  referral->add_option("--signing-key", r.keys.signing_key_file,
                       "Ed25519 private key PEM that signs the records and notes this agency "
                       "writes (default: DIR/sign.key of --agency-dir)");
  referral->add_flag("--accept-unsigned", r.keys.accept_unsigned,
                     "open and show records and notes stored before signatures existed, flagged "
                     "UNSIGNED (their author and integrity are not proven); default: refuse them "
                     "(exit 3)");

  CLI::App* draft = referral->add_subcommand(
      "draft",
      "creates a draft (state DETECTED) or, with --case, updates one (read-modify-write: flags "
      "not given keep the stored value); the personal flags seal a new record version");
  draft->add_option("--case", r.draft.case_id, "the draft to update (default: a new draft)");
  draft->add_option("--expected-version", r.draft.expected_version,
                    "with --case: fail with ABORTED unless the case is at this version "
                    "(default: the version just read)");
  AddAttributeFlags(*draft, r.draft.attributes);
  draft->add_option("--centre", r.draft.centre,
                    "receiving centre <type>/<id>, e.g. reception_centre/pag-asa (see suggest)");
  draft->add_option("--magistrate", r.draft.magistrate,
                    "competent magistrate, e.g. magistrate/parquet-bruxelles-thb (optional)");
  draft->add_option("--guardianship", r.draft.guardianship,
                    "an unaccompanied minor's Guardianship Service, e.g. "
                    "guardianship_service/fps-justice-guardianship (required to submit one)");
  draft->add_option("--case-reference", r.draft.case_reference,
                    "police / prosecution reference (<= 64 characters, no personal data)");
  AddPersonalFlags(*draft, r.draft.personal, /*languages=*/false);
  draft->callback(
      [&] { run = [&](Output& o) { return RunReferralDraft(g, r.keys, r.draft, o); }; });

  CLI::App* validate = referral->add_subcommand(
      "validate",
      "field-by-field problems that Submit would refuse, for a stored draft (CASE) or for the "
      "attribute flags given; exit 3 when there are problems");
  validate->add_option("CASE", r.validate.case_id, "a stored draft (default: the flags)");
  AddAttributeFlags(*validate, r.validate.attributes);
  validate->add_option("--centre", r.validate.centre, "receiving centre <type>/<id>");
  validate->add_option("--magistrate", r.validate.magistrate, "magistrate <type>/<id>");
  validate->callback(
      [&] { run = [&](Output& o) { return RunReferralValidate(g, r.validate, o); }; });

  CLI::App* suggest = referral->add_subcommand(
      "suggest",
      "ranks the reception centres of the directory for the victim: the region first (a "
      "province resolves to its region), then shelters for unaccompanied minors, then what "
      "centres declare (languages, support): rank, centre, score, reasons. The choice stays "
      "with the referring agency");
  suggest->add_option("--case", r.suggest.case_id,
                      "use the attributes of this case (flags given override them)");
  AddAttributeFlags(*suggest, r.suggest.attributes);
  suggest
      ->add_option("--support-need", r.suggest.attributes.support_needs,
                   "a support need matched against the centres' declared specialisations, "
                   "e.g. gender_diversity (repeatable; never stored)")
      ->allow_extra_args(false);
  suggest->add_option("--max", r.suggest.max_results, "at most N centres (0 = all)");
  suggest->callback([&] { run = [&](Output& o) { return RunReferralSuggest(g, r.suggest, o); }; });

  CLI::App* submit = referral->add_subcommand(
      "submit",
      "refers the draft to its centre (DETECTED -> REFERRED); FAILED_PRECONDITION listing the "
      "problems if it does not validate, or naming the field and the reason (UNKNOWN_AGENCY, "
      "AGENCY_SUSPENDED, WRONG_AGENCY_TYPE) of a centre, magistrate or Guardianship Service the "
      "directory does not hold as registered, active and of its type; nothing changes then");
  submit->add_option("CASE", r.submit.case_id, "case id")->required();
  submit->add_option("--expected-version", r.submit.expected_version,
                     "default: the version just read");
  submit->callback([&] { run = [&](Output& o) { return RunReferralSubmit(g, r.submit, o); }; });

  CLI::App* transition = referral->add_subcommand(
      "transition",
      "applies a step of the procedure to a case; who may do what is in docs/referrals.md "
      "(a forbidden step is FAILED_PRECONDITION naming the state and the allowed transitions, "
      "a forbidden actor PERMISSION_DENIED)");
  transition->add_option("KIND", r.transition.kind, TransitionNames())->required();
  transition->add_option("CASE", r.transition.case_id, "case id")->required();
  transition->add_option("--expected-version", r.transition.expected_version,
                         "fail with ABORTED unless the case is at this version (default: the "
                         "version just read)");
  transition->add_option("--note", r.transition.note,
                         "decline: the reason; record-non-punishment: the assessment (stored "
                         "in clear: no personal data, <= 1000 characters; what concerns the "
                         "person goes in --sealed-note-file)");
  transition->add_option("--to", r.transition.to,
                         "refer-elsewhere: the new centre; assign-magistrate: the magistrate; "
                         "assign-investigating-unit: the police or social inspection unit");
  transition->add_option("--document", r.transition.document,
                         "request-document: reflection, registration_attestation (attestation), "
                         "registration_certificate (certificate) or unlimited_stay");
  transition->add_option("--immigration-office", r.transition.immigration_office,
                         "request-document: the Immigration Office, e.g. "
                         "immigration_office/dvz-minteh (once per case)");
  transition->add_option("--reason", r.transition.reason,
                         "close: conditions_not_met, proceedings_ended, document_refused, "
                         "document_withdrawn, other_residence_route, voluntary_return, "
                         "lost_contact, death or other");
  transition->add_option("--valid-until", r.transition.valid_until,
                         "issue-reflection-document, issue-attestation, issue-certificate, "
                         "renew-certificate: the last day of validity printed on the document, "
                         "YYYY-MM-DD (default: the rule's, calendar months/days in "
                         "Europe/Brussels)");
  transition->add_option("--ground", r.transition.ground,
                         "refuse-document, withdraw-document: contact_with_exploiters, "
                         "no_cooperation, not_considered_victim, proceedings_ended, public_order, "
                         "fraud or other");
  transition->add_option("--guardian-name", r.transition.guardian_name,
                         "record-guardian: the guardian's name (sealed to the centre and the "
                         "Guardianship Service)");
  transition->add_option("--guardian-contact", r.transition.guardian_contact,
                         "record-guardian: how to reach the guardian (sealed)");
  transition->add_option("--guardian-designated-on", r.transition.guardian_designated_on,
                         "record-guardian: YYYY-MM-DD (sealed)");
  transition->add_option("--open-justification", r.transition.justification,
                         "assign-magistrate by the centre: why the current record is opened to "
                         "be re-sealed (audited; default: a standard text)");
  transition->add_option("--sealed-note-file", r.transition.sealed_note_file,
                         "a note about the person (UTF-8 text, <= 4000 characters) sealed here to "
                         "the parties of the case; kept sealed in the history (any kind)");
  transition->add_option("--sealed-note-to", r.transition.sealed_note_to,
                         "with --sealed-note-file: seal to these parties only (repeat; default: "
                         "the referring agency, the centre, the magistrate and --to)");
  AddPersonalFlags(*transition, r.transition.personal);
  transition->footer(
      "\nrefer-elsewhere and assign-magistrate carry the personal record re-sealed to the new "
      "parties:\ngive it again with the personal flags; the receiving centre assigning a "
      "magistrate may omit\nthem: its current record is opened with DIR/seal.key and re-sealed "
      "automatically.\nrequest-document seals the identity fields the document needs (name, "
      "date of birth,\nnationality) to the Immigration Office only: from --name, --dob, "
      "--nationality, or else from\nthe centre's current record, opened here (audited).\n");
  transition->callback(
      [&] { run = [&](Output& o) { return RunReferralTransition(g, r.keys, r.transition, o); }; });

  CLI::App* get = referral->add_subcommand(
      "get", "the non-identifying view of a case this agency is a party of");
  get->add_option("CASE", r.get.case_id, "case id")->required();
  get->callback([&] { run = [&](Output& o) { return RunReferralGet(g, r.get, o); }; });

  CLI::App* open = referral->add_subcommand(
      "open",
      "fetches a sealed box of the case (the personal record; --box document-identity: the "
      "identity fields of a document request, for the Immigration Office; --box guardian) "
      "(audited with the justification; only the agencies it is sealed to), verifies its "
      "author's signature and version, opens it locally with DIR/seal.key and prints it with "
      "who wrote it; exit 3 if it does not verify or does not open");
  open->add_option("CASE", r.open.case_id, "case id")->required();
  open->add_option("--justification", r.open.justification,
                   "required: why (10..500 characters), recorded in the audit log");
  open->add_option("--record-version", r.open.record_version,
                   "an earlier version (default 0: the latest)");
  open->add_option("--box", r.open.box, "record (default), document-identity or guardian");
  open->callback([&] { run = [&](Output& o) { return RunReferralOpen(g, r.keys, r.open, o); }; });

  CLI::App* update_sealed = referral->add_subcommand(
      "update-sealed",
      "seals a new version of the personal record to the centre (+ magistrate) of the case "
      "(the centre or magistrate; the referrer while a draft)");
  update_sealed->add_option("CASE", r.update_sealed.case_id, "case id")->required();
  update_sealed->add_option("--expected-version", r.update_sealed.expected_version,
                            "default: the version just read");
  AddPersonalFlags(*update_sealed, r.update_sealed.personal);
  update_sealed->callback([&] {
    run = [&](Output& o) { return RunReferralUpdateSealed(g, r.keys, r.update_sealed, o); };
  });

  CLI::App* list = referral->add_subcommand(
      "list", "the cases this agency is a party of, most recently updated first");
  list->add_option("--state", r.list.state, "only this state, e.g. referred, reflection");
  list->add_flag("--due", r.list.due, "only cases with a deadline due within 14 days");
  list->add_option("--due-within-hours", r.list.due_within_hours,
                   "only cases with a deadline due within N hours");
  list->add_option("--page-size", r.list.page_size, "page size (0 = server default)");
  list->add_option("--page-token", r.list.page_token, "fetch only this page (default: every page)");
  list->callback([&] { run = [&](Output& o) { return RunReferralList(g, r.list, o); }; });

  CLI::App* history = referral->add_subcommand(
      "history",
      "every change of a case: version, time, action, states, agency; sealed notes are verified "
      "against their author's signature (exit 3 if one does not verify)");
  history->add_option("CASE", r.history.case_id, "case id")->required();
  history->add_flag("--open-notes", r.history.open_notes,
                    "open the sealed notes sealed to this agency, locally with DIR/seal.key "
                    "(exit 3 if one does not open)");
  history->callback(
      [&] { run = [&](Output& o) { return RunReferralHistory(g, r.keys, r.history, o); }; });
}

// ---- liaison (concord.liaison.v1.Liaison: requests with legal clocks, JITs, platform desk) ----

struct LiaisonArgs {
  concord::ctl::LiaisonCreateArgs create;
  concord::ctl::LiaisonListArgs list;
  concord::ctl::LiaisonShowArgs show;
  concord::ctl::LiaisonActArgs act;
  concord::ctl::LiaisonLinkArgs link;
  concord::ctl::LiaisonJitArgs jit;
};

constexpr const char* kLiaisonFooter =
    "\nThe order form, the questions and the evidence travel as sealed messages (`message send`);\n"
    "liaison records who asks whom for what, its legal clocks (due in UTC and in the executor's\n"
    "time zone), its state and the SHA-256 of the evidence. An answer with evidence is signed\n"
    "here with DIR/sign.key. Enum values in lower case: --type production_order, --state issued.\n"
    "Examples:\n"
    "  concordctl --agency-dir var/pki/agencies/magistrate/parquet-bruxelles-thb liaison create "
    "\\\n"
    "    --type preservation_order --executor platform/example-platform --data-category "
    "subscriber\n"
    "  concordctl --agency-dir var/pki/agencies/platform/example-platform liaison act ID \\\n"
    "    confirm_preservation\n"
    "  concordctl --agency-dir var/pki/agencies/police/pz-brussels-capital liaison jit create \\\n"
    "    --reference JIT-BE-NL-2026-01 --member foreign_partner/europol\n";

void AddLiaisonCommands(CLI::App& app, concord::ctl::Globals& g, LiaisonArgs& a, Runner& run) {
  using namespace concord::ctl;  // NOLINT: Run* names only
  CLI::App* liaison = app.add_subcommand(
      "liaison",
      "international requests with their legal clocks (EIO, 2023/977, e-Evidence, MLA), joint "
      "investigation teams and the platform desk (concord.liaison.v1.Liaison)");
  liaison->require_subcommand(1);
  liaison->fallthrough();
  liaison->footer(kLiaisonFooter);

  CLI::App* create = liaison->add_subcommand(
      "create", "issues a request to an executing agency; its legal clocks start now");
  create
      ->add_option("--type", a.create.type,
                   "eio, spoc_information, production_order, preservation_order, "
                   "mutual_legal_assistance or europol_eurojust")
      ->required();
  create
      ->add_option("--executor", a.create.executor,
                   "the agency that must act, <type>/<id> (or a partner deployment's SPIFFE ID)")
      ->required();
  create->add_option("--executor-time-zone", a.create.executor_time_zone,
                     "a partner deployment's executor (spiffe://...): its IANA zone, as "
                     "`federation partner` shows it");
  create->add_option("--order-message", a.create.order_message,
                     "message id of the sealed order form sent with `message send`");
  create->add_option("--case-reference", a.create.case_reference,
                     "the case's reference (no personal data)");
  create->add_option("--urgency", a.create.urgency,
                     "spoc_information: standard (7 days), urgent_indirect (3 days) or "
                     "urgent_direct (8 hours)");
  create->add_flag("--emergency", a.create.emergency,
                   "production_order: an emergency (8 hours instead of 10 days)");
  create->add_option("--data-category", a.create.data_category,
                     "e-Evidence orders: subscriber, identification, traffic or content");
  create->add_option("--offence-max-years", a.create.offence_max_years,
                     "production of content or traffic data: the maximum penalty of the offence "
                     "(at least 3)");
  create->add_flag("--do-not-inform-user", a.create.do_not_inform_user,
                   "e-Evidence orders: the provider must not tell the user");
  create->add_option("--follow-up", a.create.follow_up,
                     "mutual_legal_assistance, europol_eurojust: RFC 3339 follow-up date");
  create->callback([&] { run = [&](Output& o) { return RunLiaisonCreate(g, a.create, o); }; });

  CLI::App* list = liaison->add_subcommand(
      "list",
      "the requests this agency issued or must execute, newest update first; NEXT DUE is the "
      "earliest clock in its time zone with the offset (e.g. 2026-10-09T00:00:00+02:00)");
  list->add_option("--type", a.list.type, "only this type, e.g. eio");
  list->add_option("--state", a.list.state, "only this state, e.g. issued");
  list->add_option("--page-size", a.list.page_size, "requests per page (0 = server default)");
  list->add_option("--page-token", a.list.page_token, "the page to fetch (printed as next)");
  list->callback([&] { run = [&](Output& o) { return RunLiaisonList(g, a.list, o); }; });

  CLI::App* show = liaison->add_subcommand(
      "show", "one request (a party's only): clocks in UTC and the executor's zone, history");
  show->add_option("ID", a.show.id, "request id")->required();
  show->callback([&] { run = [&](Output& o) { return RunLiaisonShow(g, a.show, o); }; });

  CLI::App* act = liaison->add_subcommand(
      "act",
      "applies a move of the request's state table (docs/liaison.md), with the version just read "
      "as expected version: acknowledge, extend_decision, recognise, refuse, notify_delay, "
      "answer, request_clarification, clarify, cannot_comply, confirm_preservation, "
      "extend_preservation, confirm_production_follows, release, set_follow_up, withdraw");
  act->add_option("ID", a.act.id, "request id")->required();
  act->add_option("MOVE", a.act.move, "the move, e.g. acknowledge")->required();
  act->add_option("--reason", a.act.reason,
                  "reason code (refuse, notify_delay, extend_decision, cannot_comply, "
                  "request_clarification), e.g. double_criminality, complexity, data_not_held");
  act->add_option("--reason-message", a.act.reason_message,
                  "message id of a sealed message with the reason in words");
  act->add_option("--extension-days", a.act.extension_days,
                  "extend_decision, extend_preservation: 1..30");
  act->add_option("--evidence", a.act.evidence,
                  "answer: MESSAGE_ID:SHA256_HEX:SIZE of an attachment sent with `message send` "
                  "(repeatable; the list is signed here with DIR/sign.key)")
      ->allow_extra_args(false);
  act->add_option("--message", a.act.message, "clarify: message id of the clarification");
  act->add_option("--follow-up", a.act.follow_up, "set_follow_up: RFC 3339 date");
  act->add_option("--expected-version", a.act.expected_version,
                  "the version the move applies to (default: the version just read)");
  act->add_option("--signing-key", a.act.signing_key_file,
                  "Ed25519 private key PEM that signs an answer (default: DIR/sign.key)");
  act->callback([&] { run = [&](Output& o) { return RunLiaisonAct(g, a.act, o); }; });

  CLI::App* link = liaison->add_subcommand(
      "link-notification",
      "police: links a platform's DSA art. 18 notification (a messaging NOTIFICATION) to the "
      "case opened on it");
  link->add_option("--message", a.link.message, "the notification's message id")->required();
  link->add_option("--case-reference", a.link.case_reference, "the case's reference")->required();
  link->add_option("--platform", a.link.platform, "the notifying platform, platform/<id>")
      ->required();
  link->callback([&] { run = [&](Output& o) { return RunLiaisonLink(g, a.link, o); }; });

  CLI::App* linked = liaison->add_subcommand("linked-notifications",
                                             "police: the platform notifications linked to a case");
  linked->add_option("--case-reference", a.link.case_reference, "the case's reference")->required();
  linked->callback([&] { run = [&](Output& o) { return RunLiaisonLinked(g, a.link, o); }; });

  CLI::App* jit = liaison->add_subcommand(
      "jit",
      "joint investigation teams: members, a membership-scoped ledger of messages and evidence "
      "(who shared what, when, SHA-256); leaving ends access at once");
  jit->require_subcommand(1);
  jit->fallthrough();
  CLI::App* jcreate = jit->add_subcommand("create", "creates a team led by this agency");
  jcreate->add_option("--reference", a.jit.reference, "the team's reference (no personal data)")
      ->required();
  jcreate->add_option("--member", a.jit.members, "member <type>/<id> besides this agency (1..63)")
      ->required()
      ->allow_extra_args(false);
  jcreate->callback([&] { run = [&](Output& o) { return RunLiaisonJitCreate(g, a.jit, o); }; });
  CLI::App* jadd = jit->add_subcommand("add", "adds a member (the lead)");
  jadd->add_option("JIT", a.jit.jit, "team id")->required();
  jadd->add_option("--member", a.jit.members, "<type>/<id>")->required()->allow_extra_args(false);
  jadd->callback([&] { run = [&](Output& o) { return RunLiaisonJitAdd(g, a.jit, o); }; });
  CLI::App* jleave = jit->add_subcommand(
      "leave", "removes a member (default: this agency); its open watches end at once");
  jleave->add_option("JIT", a.jit.jit, "team id")->required();
  jleave->add_option("--member", a.jit.members, "<type>/<id> (the lead removes others)")
      ->allow_extra_args(false);
  jleave->callback([&] { run = [&](Output& o) { return RunLiaisonJitLeave(g, a.jit, o); }; });
  CLI::App* jshow = jit->add_subcommand("show", "the team and its current members");
  jshow->add_option("JIT", a.jit.jit, "team id")->required();
  jshow->callback([&] { run = [&](Output& o) { return RunLiaisonJitShow(g, a.jit, o); }; });
  CLI::App* jshare = jit->add_subcommand(
      "share", "records a message or an evidence set shared with members (sent with `message`)");
  jshare->add_option("JIT", a.jit.jit, "team id")->required();
  jshare->add_option("--kind", a.jit.kind, "message (default) or evidence");
  jshare->add_option("--message", a.jit.message, "the sealed message's id")->required();
  jshare
      ->add_option("--envelope-sha256", a.jit.envelope_sha256,
                   "hex SHA-256 of the message's envelope")
      ->required();
  jshare
      ->add_option("--evidence", a.jit.evidence,
                   "evidence: MESSAGE_ID:SHA256_HEX:SIZE (repeatable, 1..64)")
      ->allow_extra_args(false);
  jshare->add_option("--to", a.jit.to, "recipient member <type>/<id> (repeatable, 1..64)")
      ->required()
      ->allow_extra_args(false);
  jshare->callback([&] { run = [&](Output& o) { return RunLiaisonJitShare(g, a.jit, o); }; });
  CLI::App* jentries = jit->add_subcommand("entries", "the team's ledger, oldest first");
  jentries->add_option("JIT", a.jit.jit, "team id")->required();
  jentries->add_option("--after", a.jit.after, "entries after this sequence number");
  jentries->add_option("--max", a.jit.max, "at most N entries (0 = 100; at most 500)");
  jentries->callback([&] { run = [&](Output& o) { return RunLiaisonJitEntries(g, a.jit, o); }; });
  CLI::App* jwatch = jit->add_subcommand(
      "watch",
      "follows the ledger live (one line per entry); ends with exit 2 NOT_A_JIT_MEMBER when "
      "this agency leaves or is removed");
  jwatch->add_option("JIT", a.jit.jit, "team id")->required();
  jwatch->add_option("--after", a.jit.after, "entries after this sequence number");
  jwatch->add_option("--max", a.jit.max, "stop after N entries (0 = until the stream ends)");
  jwatch->add_option("--duration", a.jit.duration, "stop after this long, e.g. 30s, 10m");
  jwatch->callback([&] { run = [&](Output& o) { return RunLiaisonJitWatch(g, a.jit, o); }; });
}

// ---- guideline (concord.guidelines.v1.Guidelines; signed and verified by client/guidelines) ----

struct GuidelineArgs {
  concord::ctl::GuidelinePublishArgs publish;
  concord::ctl::GuidelineWithdrawArgs withdraw;
  concord::ctl::GuidelineListArgs list;
  concord::ctl::GuidelineShowArgs show;
  concord::ctl::GuidelineDiffArgs diff;
  concord::ctl::GuidelineAckArgs ack;
  concord::ctl::GuidelineComplianceArgs compliance;
  concord::ctl::GuidelineWatchArgs watch;
  concord::ctl::GuidelineExportArgs export_args;
};

constexpr const char* kGuidelineFooter =
    "\nVersions are signed here with your agency's DIR/sign.key (--signing-key), and every "
    "version\n"
    "or withdrawal received is verified here: its SHA-256 recomputed from the content and its\n"
    "signature checked against the publisher's key in the directory (exit 3 if not).\n"
    "Examples:\n"
    "  concordctl --agency-dir var/pki/agencies/coordination_unit/icu-thb guideline publish \\\n"
    "    deploy/seed/guidelines/definition\n"
    "  concordctl --agency-dir var/pki/agencies/police/pz-brussels-capital --officer insp-17 \\\n"
    "    guideline ack definition-2024-1712\n";

// ---- federation (concord.federation.v1.Federation on the gateway's internal port) ----

struct FederationArgs {
  concord::ctl::FederationPartnerArgs partner;
  concord::ctl::FederationSendArgs send;
  concord::ctl::FederationInboxArgs inbox;
  concord::ctl::FederationAckArgs ack;
  concord::ctl::FederationTrustArgs trust;
};

constexpr const char* kFederationFooter =
    "\n--server is the federation gateway's internal port (concord-gateway), not concord-server.\n"
    "Examples:\n"
    "  concordctl --server 127.0.0.1:7445 --agency-dir var/pki/agencies/admin/ops federation "
    "status\n"
    "  concordctl --server 127.0.0.1:7445 --agency-dir var/pki/agencies/magistrate/X federation "
    "send \\\n"
    "      --to spiffe://partner.test/agency/magistrate/om-rotterdam --case BXL.1/2026 "
    "--body-file eio.txt\n"
    "  concordctl --server 127.0.0.1:7545 --agency-dir var/partner/pki/agencies/magistrate/"
    "om-rotterdam federation inbox --open\n"
    "  concordctl ... federation ack env-<message id>\n"
    "  concordctl ... federation trust spiffe://partner.test/agency/magistrate/om-rotterdam\n"
    "A partner agency's keys are remembered (DIR/known_keys.json) the first time they are used;\n"
    "a later change is refused (exit 3) until accepted with `federation trust`.\n"
    "A liaison request crosses with its signed descriptor (docs/liaison.md \"Liaison requests "
    "across the border\"):\n"
    "  concordctl --agency-dir var/pki/agencies/magistrate/X liaison create --type eio \\\n"
    "      --executor spiffe://partner.test/agency/magistrate/om-rotterdam "
    "--executor-time-zone Europe/Amsterdam --case-reference BXL.1/2026\n"
    "  concordctl --server 127.0.0.1:7445 --agency-dir var/pki/agencies/magistrate/X federation "
    "send \\\n"
    "      --to spiffe://partner.test/agency/magistrate/om-rotterdam --case BXL.1/2026 "
    "--body-file eio.txt \\\n"
    "      --liaison-request lr-<issuer's id> --liaison-type eio\n"
    "  concordctl ... federation ack env-<message id> --liaison-act acknowledge \\\n"
    "      --issuer-request lr-<issuer's id> --executor-request lr-<ours> --executor-version 2\n";

// The flags of a signed liaison descriptor riding `send` (request or act) or `ack` (act).
void AddLiaisonDescriptorFlags(CLI::App& cmd, concord::ctl::LiaisonDescriptorArgs& l,
                               bool with_request) {
  if (with_request) {
    cmd.add_option("--liaison-request", l.request,
                   "the issuer's liaison request id: a signed request descriptor rides this "
                   "REQUEST envelope (one --to, the executor)");
    cmd.add_option("--liaison-type", l.type,
                   "its type: eio, spoc_information, mutual_legal_assistance, europol_eurojust");
    cmd.add_option("--liaison-urgency", l.urgency, "spoc_information: its urgency");
  }
  cmd.add_option("--liaison-act", l.act,
                 "the executor's move (acknowledge, recognise, refuse, answer, ...): a signed act "
                 "descriptor rides this item");
  cmd.add_option("--issuer-request", l.issuer_request, "--liaison-act: the issuing side's id");
  cmd.add_option("--executor-request", l.executor_request, "--liaison-act: this side's id");
  cmd.add_option("--executor-version", l.executor_version,
                 "--liaison-act: the version the move created on this side");
  cmd.add_option("--reason", l.reason, "--liaison-act: the move's reason code");
  cmd.add_option("--extension-days", l.extension_days, "--liaison-act extend_decision: days");
}

void AddFederationCommands(CLI::App& app, concord::ctl::Globals& g, concord::ctl::MessageKeyArgs& k,
                           FederationArgs& a, Runner& run) {
  using namespace concord::ctl;  // NOLINT(google-build-using-namespace): Run* of commands.h
  CLI::App* federation = app.add_subcommand(
      "federation",
      "the federation gateway with a partner deployment (concord.federation.v1.Federation): "
      "status, partner keys, send across, inbound box, acknowledge");
  federation->require_subcommand(1);
  federation->fallthrough();
  federation->footer(kFederationFooter);
  CLI::App* status = federation->add_subcommand(
      "status",
      "the partner, its export's version and age, the allow and export lists (exit 3 "
      "without a verified partner export)");
  status->callback([&] { run = [&](Output& o) { return RunFederationStatus(g, o); }; });
  CLI::App* partner = federation->add_subcommand(
      "partner", "a partner agency's keys from the verified partner export");
  partner->add_option("AGENCY", a.partner.agency, "SPIFFE ID of the partner agency")->required();
  partner->callback(
      [&] { run = [&](Output& o) { return RunFederationPartner(g, a.partner, o); }; });
  CLI::App* send = federation->add_subcommand(
      "send", "seals the body to the partner agencies' own keys, signs it, sends it across");
  send->add_option("--to", a.send.to, "SPIFFE ID of a partner agency (repeatable)")->required();
  send->add_option("--body", a.send.body, "the text (sealed)");
  send->add_option("--body-file", a.send.body_file, "file holding the text (sealed)");
  send->add_option("--kind", a.send.kind, "request (default), information or response");
  send->add_option("--case", a.send.case_reference, "opaque case reference (clear)");
  send->add_option("--in-reply-to", a.send.in_reply_to, "message id this answers");
  send->add_option("--signing-key", k.signing_key_file, "Ed25519 key (default DIR/sign.key)");
  AddLiaisonDescriptorFlags(*send, a.send.liaison, /*with_request=*/true);
  send->callback([&] { run = [&](Output& o) { return RunFederationSend(g, k, a.send, o); }; });
  CLI::App* inbox = federation->add_subcommand(
      "inbox", "envelopes and receipts relayed from the partner (exit 3 if one does not verify)");
  inbox->add_flag("--open", a.inbox.open,
                  "verify each against the partner export's key and open it with DIR/seal.key");
  inbox->add_option("--sealing-key-file", k.sealing_key_file, "X25519 key (default DIR/seal.key)");
  inbox->callback([&] { run = [&](Output& o) { return RunFederationInbox(g, k, a.inbox, o); }; });
  CLI::App* ack = federation->add_subcommand(
      "ack", "acknowledges an item: a signed receipt crosses back, then the item is removed");
  ack->add_option("ITEM", a.ack.item_id, "item id (federation inbox)")->required();
  ack->add_flag("--no-receipt", a.ack.no_receipt, "remove without a receipt");
  AddLiaisonDescriptorFlags(*ack, a.ack.liaison, /*with_request=*/false);
  ack->callback([&] { run = [&](Output& o) { return RunFederationAck(g, k, a.ack, o); }; });
  CLI::App* trust = federation->add_subcommand(
      "trust",
      "shows a partner agency's remembered keys and those of the partner export now; accepts a "
      "change after it was checked with the agency by another channel");
  trust->add_option("AGENCY", a.trust.agency, "SPIFFE ID of the partner agency")->required();
  trust->add_flag("--yes", a.trust.yes,
                  "accept without asking (needed when stdin is not a terminal)");
  trust->callback([&] { run = [&](Output& o) { return RunFederationTrust(g, a.trust, o); }; });
}

void AddGuidelineCommands(CLI::App& app, concord::ctl::Globals& g, GuidelineArgs& a, Runner& run) {
  using namespace concord::ctl;  // NOLINT: Run* names only
  CLI::App* guideline = app.add_subcommand(
      "guideline",
      "signed, versioned, multilingual guidance (concord.guidelines.v1.Guidelines): publish, "
      "read, acknowledge, follow compliance, export outreach pages");
  guideline->require_subcommand(1);
  guideline->fallthrough();
  guideline->footer(kGuidelineFooter);

  CLI::App* publish = guideline->add_subcommand(
      "publish",
      "signs the draft in DIR (guideline.json + one text file per language) with this agency's "
      "signing key and publishes it as the next version (publisher right required)");
  publish
      ->add_option("DIR", a.publish.dir,
                   "the draft's folder, e.g. deploy/seed/guidelines/definition")
      ->required();
  publish->add_option("--version", a.publish.version,
                      "version number (default: the latest + 1; 1 for a new guideline)");
  publish->add_option("--effective", a.publish.effective,
                      "RFC 3339 time it takes effect (default: now)");
  publish->add_option("--ack-deadline", a.publish.ack_deadline,
                      "RFC 3339 deadline for acknowledgements (default: effective + "
                      "ack_within_days of the manifest)");
  publish->add_flag("--if-changed", a.publish.if_changed,
                    "publish only when the draft's text, topics, references or audience differ "
                    "from the latest version (scripts may run it again)");
  publish->add_option("--signing-key", a.publish.signing_key_file,
                      "Ed25519 private key PEM (default: DIR/sign.key of --agency-dir)");
  publish->callback([&] { run = [&](Output& o) { return RunGuidelinePublish(g, a.publish, o); }; });

  CLI::App* withdraw = guideline->add_subcommand(
      "withdraw", "signs and records the withdrawal of a version (the guideline's publisher)");
  withdraw->add_option("ID", a.withdraw.id, "guideline id")->required();
  withdraw->add_option("VERSION", a.withdraw.version, "version")->required();
  withdraw->add_option("--reason", a.withdraw.reason, "why (1..500 characters)")->required();
  withdraw->add_option("--signing-key", a.withdraw.signing_key_file,
                       "Ed25519 private key PEM (default: DIR/sign.key of --agency-dir)");
  withdraw->callback(
      [&] { run = [&](Output& o) { return RunGuidelineWithdraw(g, a.withdraw, o); }; });

  CLI::App* list = guideline->add_subcommand(
      "list", "the versions this agency can see, newest effective date first (titles only)");
  list->add_option("--guideline", a.list.id, "only this guideline");
  list->add_option("--topic", a.list.topic, "only this topic, e.g. non-punishment");
  list->add_option("--audience-type", a.list.audience_type,
                   "only versions addressing this agency type, e.g. police");
  list->add_flag("--public", a.list.public_only, "only public outreach material");
  list->add_option("--effective-from", a.list.effective_from, "RFC 3339, inclusive");
  list->add_option("--effective-to", a.list.effective_to, "RFC 3339, exclusive");
  list->add_flag("--all", a.list.all, "include superseded versions");
  list->add_flag("--withdrawn", a.list.withdrawn, "include withdrawn versions");
  list->add_option("--page-size", a.list.page_size, "versions per page (0 = server default)");
  list->add_option("--page-token", a.list.page_token, "the page to fetch (printed as next)");
  list->callback([&] { run = [&](Output& o) { return RunGuidelineList(g, a.list, o); }; });

  CLI::App* show = guideline->add_subcommand(
      "show",
      "one version (default: the one in force) in the preferred language, verified here: "
      "SHA-256 and publisher signature (exit 3 \"VERIFICATION FAILED\" naming the version)");
  show->add_option("ID", a.show.id, "guideline id");
  show->add_option("--version", a.show.version, "version (0 = the one in force)");
  show->add_option("--language", a.show.languages,
                   "preferred language, repeatable in order (fallback: nl, fr, de, en)")
      ->allow_extra_args(false);
  show->add_option("--from-file", a.show.from_file,
                   "verify a version saved earlier with `concordctl --json guideline show`");
  show->callback([&] { run = [&](Output& o) { return RunGuidelineShow(g, a.show, o); }; });

  CLI::App* diff = guideline->add_subcommand(
      "diff", "what changed in one language between two versions (both verified)");
  diff->add_option("ID", a.diff.id, "guideline id")->required();
  diff->add_option("FROM", a.diff.from, "older version")->required();
  diff->add_option("TO", a.diff.to, "newer version")->required();
  diff->add_option("--language", a.diff.language, "e.g. fr")->required();
  diff->callback([&] { run = [&](Output& o) { return RunGuidelineDiff(g, a.diff, o); }; });

  CLI::App* ack = guideline->add_subcommand(
      "ack",
      "verifies a version and acknowledges its SHA-256 for this agency (idempotent; the acting "
      "officer, --officer, is required and audited)");
  ack->add_option("ID", a.ack.id, "guideline id")->required();
  ack->add_option("--version", a.ack.version, "version (0 = the one in force)");
  ack->callback([&] { run = [&](Output& o) { return RunGuidelineAck(g, a.ack, o); }; });

  CLI::App* compliance = guideline->add_subcommand(
      "compliance",
      "who has and has not acknowledged a version, by agency type, overdue and suspended "
      "agencies apart (the guideline's publisher; audited)");
  compliance->add_option("ID", a.compliance.id, "guideline id")->required();
  compliance->add_option("--version", a.compliance.version, "version (0 = the one in force)");
  compliance->callback(
      [&] { run = [&](Output& o) { return RunGuidelineCompliance(g, a.compliance, o); }; });

  CLI::App* watch = guideline->add_subcommand(
      "watch",
      "follows the guidance for this agency: versions in force not yet acknowledged, "
      "withdrawals, then live; each verified here; resumes with backoff (each event shown once)");
  watch->add_option("--after", a.watch.after, "resume after this cursor (printed with --json)");
  watch->add_option("--max", a.watch.max, "stop after N events (0 = until Ctrl-C / SIGTERM)");
  watch->add_option("--duration", a.watch.duration, "stop after this long, e.g. 30s, 10m");
  watch->add_flag("--ack", a.watch.ack, "acknowledge each verified version (needs --officer)");
  watch->add_option("--max-retries", a.watch.max_retries,
                    "failed resumes in a row before giving up (0 = no limit)");
  watch->callback([&] { run = [&](Output& o) { return RunGuidelineWatch(g, a.watch, o); }; });

  CLI::App* exp = guideline->add_subcommand(
      "export",
      "writes a verified PUBLIC version as one self-contained static HTML page per language "
      "(no script, nothing fetched), for a centre or an NGO to publish");
  exp->add_option("ID", a.export_args.id, "guideline id")->required();
  exp->add_option("--version", a.export_args.version, "version (0 = the one in force)");
  exp->add_option("--html", a.export_args.html_dir, "output folder (created)")->required();
  exp->callback([&] { run = [&](Output& o) { return RunGuidelineExport(g, a.export_args, o); }; });
}
// ---- end guideline ----

int Run(int argc, char** argv) {
  concord::ctl::Globals g;
  concord::ctl::HealthArgs health_args;
  concord::ctl::AgencySpecArgs register_args;
  concord::ctl::AgencySpecArgs update_args;
  concord::ctl::AgencyRefArgs ref_args;
  concord::ctl::RevokeArgs revoke_args;
  concord::ctl::ListArgs list_args;
  concord::ctl::AuditQueryArgs query_args;
  concord::ctl::AuditVerifyArgs verify_args;
  concord::ctl::AuditCheckpointArgs checkpoint_args;
  concord::ctl::MessageKeyArgs key_args;
  concord::ctl::MessageSendArgs send_args;
  concord::ctl::MessageInboxArgs inbox_args;
  concord::ctl::MessageReadArgs read_args;
  concord::ctl::MessageAckArgs ack_args;
  concord::ctl::MessageReceiptsArgs receipts_args;
  concord::ctl::MessageWatchArgs watch_args;
  concord::ctl::MessageForwardArgs forward_args;
  concord::ctl::MessageGrantArgs grant_args;
  ReferralArgs referral_args;
  GuidelineArgs guideline_args;
  LiaisonArgs liaison_args;
  FederationArgs federation_args;
  concord::ctl::DirectoryTrustArgs trust_args;
  concord::ctl::KeysRotateArgs rotate_args;
  Runner run;

  CLI::App app{kDescription, "concordctl"};
  app.footer(std::string(kFooter) + concord::ctl::kExitCodeHelp);
  app.fallthrough();  // global flags may also follow the command
  app.require_subcommand(1);

  app.add_option("--server", g.connection.server, "server address host:port")
      ->envname("CONCORD_SERVER")
      ->capture_default_str();
  app.add_option("--agency-dir", g.connection.agency_dir,
                 "agency directory (scripts/pki.sh layout): DIR/cert.pem and DIR/key.pem, and "
                 "DIR/../../../ca.pem unless --ca is given")
      ->envname("CONCORD_AGENCY_DIR");
  app.add_option("--cert", g.connection.cert_file, "client certificate PEM")
      ->envname("CONCORD_CERT");
  app.add_option("--key", g.connection.key_file, "client private key PEM")->envname("CONCORD_KEY");
  app.add_option("--ca", g.connection.ca_file, "CA bundle PEM that verifies the server")
      ->envname("CONCORD_CA");
  app.add_option("--server-name", g.connection.server_name,
                 "TLS name to verify in the server certificate (default: host of --server)");
  app.add_option("--officer", g.connection.officer,
                 "acting officer, sent as metadata concord-officer and recorded in the audit log "
                 "(printable ASCII)")
      ->envname("CONCORD_OFFICER");
  app.add_option("--justification", g.connection.justification,
                 "why, sent as metadata concord-justification and recorded in the audit log "
                 "(required by the server to consult or disclose personal data)")
      ->envname("CONCORD_JUSTIFICATION");
  app.add_option("--known-keys", g.connection.known_keys_file,
                 "the keys remembered of other agencies (key continuity; default: "
                 "DIR/known_keys.json of --agency-dir)")
      ->envname("CONCORD_KNOWN_KEYS");
  app.add_option("--timeout", g.connection.timeout_seconds, "deadline of every RPC, in seconds")
      ->capture_default_str();
  app.add_flag("--json", g.json, "print one JSON document (for scripts) instead of text");

  // health / whoami
  CLI::App* health = app.add_subcommand(
      "health", "grpc.health.v1 Check: prints SERVING / NOT_SERVING (exit 3 unless SERVING)");
  health->add_option("--service", health_args.service,
                     "service name to check, e.g. concord.directory.v1.Directory (default: the "
                     "whole server)");
  health->add_flag("--plaintext", g.connection.plaintext,
                   "no TLS: for the plaintext health-only port (e.g. --server 127.0.0.1:7081)");
  health->callback([&] { run = [&](Output& o) { return RunHealth(g, health_args, o); }; });

  CLI::App* whoami =
      app.add_subcommand("whoami",
                         "shows the SPIFFE ID, serial and validity of the local client certificate "
                         "(no RPC)");
  whoami->callback([&] { run = [&](Output& o) { return RunWhoami(g, o); }; });

  // directory
  CLI::App* directory = app.add_subcommand(
      "directory",
      "agency directory (concord.directory.v1.Directory); changes are for directory "
      "administrators and need --officer and --justification");
  directory->require_subcommand(1);

  CLI::App* reg = directory->add_subcommand(
      "register",
      "registers an agency (directory administrators); ALREADY_EXISTS if its id is taken");
  AddSpecFlags(*reg, register_args, /*update=*/false);
  reg->callback(
      [&] { run = [&](Output& o) { return RunDirectoryRegister(g, register_args, o); }; });

  CLI::App* upd = directory->add_subcommand(
      "update",
      "changes an agency's fields (directory administrators): reads it, applies the flags "
      "given, writes it back with an optimistic version check");
  AddSpecFlags(*upd, update_args, /*update=*/true);
  upd->callback([&] { run = [&](Output& o) { return RunDirectoryUpdate(g, update_args, o); }; });

  CLI::App* suspend = directory->add_subcommand(
      "suspend",
      "suspends an agency (directory administrators): its calls are refused everywhere within "
      "seconds");
  suspend->add_option("AGENCY", ref_args.agency, "<type>/<id> or SPIFFE ID")->required();
  suspend->add_option("--reason", ref_args.reason, "why (required; no personal data)")->required();
  suspend->callback([&] { run = [&](Output& o) { return RunDirectorySuspend(g, ref_args, o); }; });

  CLI::App* reinstate = directory->add_subcommand(
      "reinstate", "lifts an agency's suspension (directory administrators)");
  reinstate->add_option("AGENCY", ref_args.agency, "<type>/<id> or SPIFFE ID")->required();
  reinstate->callback(
      [&] { run = [&](Output& o) { return RunDirectoryReinstate(g, ref_args, o); }; });

  CLI::App* revoke = directory->add_subcommand(
      "revoke",
      "revokes a certificate serial (directory administrators): calls presenting it are refused");
  revoke->add_option("SERIAL", revoke_args.serial, "serial in hex (':' and leading zeros ok)");
  revoke->add_option("--cert-file", revoke_args.cert_file, "take the serial from this PEM");
  revoke
      ->add_option("--reason", revoke_args.reason,
                   "why (required), e.g. key_compromise, superseded")
      ->required();
  revoke->callback([&] { run = [&](Output& o) { return RunDirectoryRevoke(g, revoke_args, o); }; });

  CLI::App* get = directory->add_subcommand(
      "get", "shows one agency: keys (fingerprints), endorsement, attributes");
  get->add_option("AGENCY", ref_args.agency, "<type>/<id> or SPIFFE ID")->required();
  get->callback([&] { run = [&](Output& o) { return RunDirectoryGet(g, ref_args, o); }; });

  CLI::App* list = directory->add_subcommand(
      "list", "lists agencies, filtered (filters are ANDed), ordered by <type>/<id>");
  list->add_option("--type", list_args.type, "agency type, e.g. police");
  list->add_option("--jurisdiction", list_args.jurisdiction, "e.g. BE-BRU");
  list->add_option("--specialisation", list_args.specialisation, "e.g. thb");
  list->add_option("--language", list_args.language, "e.g. fr");
  list->add_flag("--include-suspended", list_args.include_suspended,
                 "also list suspended agencies");
  list->add_option("--page-size", list_args.page_size, "page size (0 = server default)");
  list->add_option("--page-token", list_args.page_token,
                   "fetch only this page (default: every page)");
  list->callback([&] { run = [&](Output& o) { return RunDirectoryList(g, list_args, o); }; });

  CLI::App* revocations = directory->add_subcommand(
      "revocations", "suspended agencies and revoked certificate serials");
  revocations->callback([&] { run = [&](Output& o) { return RunDirectoryRevocations(g, o); }; });

  CLI::App* trust = directory->add_subcommand(
      "trust",
      "key continuity: shows the remembered and the directory's key fingerprints of an agency "
      "and, confirmed (--yes, or y on a terminal), accepts the directory's keys");
  trust->add_option("AGENCY", trust_args.agency, "<type>/<id> or SPIFFE ID")->required();
  trust->add_flag("--yes", trust_args.yes,
                  "accept without asking (after checking the fingerprints with the agency)");
  trust->callback([&] { run = [&](Output& o) { return RunDirectoryTrust(g, trust_args, o); }; });

  // keys
  CLI::App* keys = app.add_subcommand(
      "keys", "this agency's signing and sealing keys (the --agency-dir folder)");
  keys->require_subcommand(1);
  CLI::App* rotate = keys->add_subcommand(
      "rotate",
      "new key pair (DIR/{sign,seal}.{key,pub}.next) endorsed by the current DIR/sign.key "
      "(DIR/key_endorsement.json) for `directory update --key-endorsement`; nothing is used "
      "before `keys activate`");
  rotate->add_option("--out", rotate_args.out_file,
                     "where to write the endorsement (default DIR/key_endorsement.json)");
  rotate->callback([&] { run = [&](Output& o) { return RunKeysRotate(g, rotate_args, o); }; });
  CLI::App* activate = keys->add_subcommand(
      "activate",
      "once the directory holds the new keys: DIR/*.next become the keys in use (the old ones "
      "are kept as DIR/*.previous)");
  activate->callback([&] { run = [&](Output& o) { return RunKeysActivate(g, o); }; });

  // audit
  CLI::App* audit = app.add_subcommand(
      "audit",
      "audit log (concord.audit.v1.Audit): audit reviewers and the coordination unit only");
  audit->require_subcommand(1);

  CLI::App* query = audit->add_subcommand(
      "query", "records about one object or made by one agency, newest first");
  query->add_option("--object", query_args.object,
                    "object reference, e.g. agency:police/pz-brussels-capital");
  query->add_option("--agency", query_args.agency, "acting agency: <type>/<id> or SPIFFE ID");
  query->add_option("--from", query_args.from, "not before (RFC 3339, e.g. 2026-11-28T00:00:00Z)");
  query->add_option("--to", query_args.to, "not after (RFC 3339)");
  query->add_option("--page-size", query_args.page_size, "page size (0 = server default)");
  query->add_option("--page-token", query_args.page_token, "fetch only this page");
  query->add_option("--limit", query_args.limit, "stop paging after this many records")
      ->capture_default_str();
  query->callback([&] { run = [&](Output& o) { return RunAuditQuery(g, query_args, o); }; });

  CLI::App* verify = audit->add_subcommand(
      "verify",
      "recomputes the hash chain and checks the signed checkpoints; exit 3 and names "
      "the first bad record when the log was altered, removed or reordered");
  verify->add_option("--from-seq", verify_args.from_seq, "first record (default: the first)");
  verify->add_option("--to-seq", verify_args.to_seq, "last record (default: the head)");
  verify->add_option("--expect-key", verify_args.expect_key_file,
                     "the audit service's Ed25519 public key PEM (e.g. var/pki/audit/sign.pub): "
                     "checkpoints signed by any other key fail the verification");
  verify->add_option(
      "--expect-checkpoint", verify_args.expect_checkpoint,
      "a checkpoint exported outside Redis (--audit-checkpoint-dir file checkpoint-<seq>.json, "
      "a logged audit.checkpoint line, or a directory: its latest file): exit 3 naming the "
      "missing or differing records when the chain is shorter than it or differs from it; its "
      "signature is checked with --expect-key, else with the key written in it");
  verify->callback([&] { run = [&](Output& o) { return RunAuditVerify(g, verify_args, o); }; });

  CLI::App* checkpoint = audit->add_subcommand(
      "checkpoint", "shows the latest signed checkpoint of the chain head (--create: sign now)");
  checkpoint->add_flag("--create", checkpoint_args.create,
                       "sign the current chain head now (admin)");
  checkpoint->callback(
      [&] { run = [&](Output& o) { return RunAuditCheckpoint(g, checkpoint_args, o); }; });

  AddMessageCommands(app, g, key_args, send_args, inbox_args, read_args, ack_args, receipts_args,
                     watch_args, forward_args, grant_args, run);
  AddReferralCommands(app, g, referral_args, run);
  AddGuidelineCommands(app, g, guideline_args, run);
  AddLiaisonCommands(app, g, liaison_args, run);
  AddFederationCommands(app, g, key_args, federation_args, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help (rc 0) or the error with a usage hint
    return rc == 0 ? concord::ctl::kExitOk : concord::ctl::kExitUsage;
  }
  if (!run) {
    std::cerr << app.help();
    return concord::ctl::kExitUsage;
  }
  Output out(g.json, std::cout, std::cerr);
  return run(out);
}

}  // namespace

int main(int argc, char** argv) {
  concord::PinTls12CipherSuites();
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    // Third-party code (CLI11, protobuf, JSON) may throw; never let it abort without a message.
    std::cerr << "error: unexpected failure: " << e.what() << '\n';
    return concord::ctl::kExitLocalError;
  }
}
