// File: cli/concordctl/referral_args.h
//
// `concordctl referral ...`: the flag structures and the pure half (no RPC, no file access):
// enum names typed by users ("sexual", "forced-labour", "18-24", "registration_attestation",
// "refer-elsewhere") to the proto enums and back, the non-identifying attributes and the
// personal record built from flags.
//
// Every parse error is INVALID_ARGUMENT with a field violation naming the flag (exit code 1).
// Personal values never appear in an error message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::ctl {

namespace ref = ::concord::referrals::v1;

// ---- flags ---------------------------------------------------------------------------------

/// The personal record: sealed locally to the receiving centre (+ magistrate), never printed,
/// never sent in clear.
struct PersonalArgs {
  std::string name;                    // --name (legal name)
  std::string used_name;               // --used-name: the name the person uses
  std::string pronouns;                // --pronouns ("she/her", "elle")
  std::string dob;                     // --dob YYYY-MM-DD (may be approximate)
  std::string nationality;             // --nationality ISO 3166-1 alpha-2
  std::string gender_identity;         // --gender-identity, self-described free text
  std::string trans_experience;        // --trans-experience yes|no|declined (special-category data)
  bool interpreter = false;            // --interpreter: an interpreter is needed
  std::string contact;                 // --contact
  bool consent = false;                // --consent: the person consents to the referral
  std::string notes;                   // --notes
  std::vector<std::string> languages;  // from --personal-file "languages" (else --language)
  /// True when any personal flag was given (a record is to be sealed).
  bool Given() const;
};

/// Fills `out` from a JSON file (--personal-file), so that personal data need not appear on a
/// command line (visible in `ps` to other local users): an object with any of the string keys
/// "name", "used_name", "pronouns", "dob", "nationality", "gender_identity",
/// "trans_experience", "contact", "notes", the booleans "consent" and "interpreter_needed", and
/// "languages" (an array of ISO 639-1 codes, in order of preference). INVALID_ARGUMENT naming the
/// key for an unknown key or a wrong type; NOT_FOUND if the file cannot be read. Messages never
/// contain the file's values.
Status LoadPersonalFile(const std::string& path, PersonalArgs& out);

/// Non-identifying attributes (statistics, routing). Unset fields keep the stored value on an
/// update; repeatable flags replace the stored list.
struct AttributeArgs {
  std::vector<std::string> forms;  // --form (repeatable): sexual, forced_labour, begging...
  std::string origin_country;      // --origin-country NG
  std::string nationality_class;   // --nationality-class belgian|eu_eea|third_country|unknown
  std::string age_band;            // --age-band 18-24
  std::string gender;              // --gender woman|man|non_binary|other|not_asked|declined
  /// --language (repeatable, in order of preference): NOT an attribute (personal data): sealed
  /// in the record by `draft`, a tie-breaker of `suggest`.
  std::vector<std::string> languages;
  std::vector<std::string> support_needs;  // --support-need (suggest only)
  int unaccompanied_minor = -1;  // --unaccompanied-minor (1) / --not-unaccompanied-minor (0)
  std::string region;            // --region BE-BRU, BE-VOV (province), BE-WAL
};

/// This agency's keys: the sealing key opens records and notes ("" = DIR/seal.key of
/// --agency-dir), the signing key signs the records and notes it writes ("" = DIR/sign.key).
/// accept_unsigned: show records and notes stored before signatures existed (flagged UNSIGNED)
/// instead of refusing them.
struct ReferralKeyArgs {
  std::string sealing_key_file;
  std::string signing_key_file;
  bool accept_unsigned = false;
};

struct ReferralDraftArgs {
  std::string case_id;            // --case: update this draft; "" = a new draft
  int64_t expected_version = -1;  // -1 = the version just read
  AttributeArgs attributes;
  std::string centre;        // --centre reception_centre/<id>
  std::string magistrate;    // --magistrate magistrate/<id>
  std::string guardianship;  // --guardianship guardianship_service/<id> (unaccompanied minor)
  std::string case_reference;
  PersonalArgs personal;
};

struct ReferralValidateArgs {
  std::string case_id;  // stored draft; "" = the inline draft below
  AttributeArgs attributes;
  std::string centre;
  std::string magistrate;
};

struct ReferralSuggestArgs {
  std::string case_id;  // take the attributes of this case ("" = from the flags)
  AttributeArgs attributes;
  int max_results = 0;  // 0 = all
};

struct ReferralCaseArgs {
  std::string case_id;
  int64_t expected_version = -1;  // submit: -1 = the version just read
};

struct ReferralTransitionArgs {
  std::string kind;  // accept, decline, refer-elsewhere, ...
  std::string case_id;
  int64_t expected_version = -1;   // -1 = the version just read
  std::string note;                // decline, record-non-punishment
  std::string to;                  // refer-elsewhere, assign-magistrate, assign-investigating-unit
  std::string document;            // request-document
  std::string immigration_office;  // request-document
  std::string reason;              // close
  std::string valid_until;         // issue-*, renew-certificate: the date printed (YYYY-MM-DD)
  std::string ground;              // refuse-document, withdraw-document
  std::string guardian_name;       // record-guardian (sealed to the centre + Guardianship Service)
  std::string guardian_contact;
  std::string guardian_designated_on;
  std::string justification;  // assign-magistrate by the centre: why the record is opened
  // refer-elsewhere / assign-magistrate: the re-sealed record; request-document: --name, --dob,
  // --nationality sealed to the Immigration Office (default: from the centre's record)
  PersonalArgs personal;
  std::string sealed_note_file;             // any kind: a note about the person, sealed locally
  std::vector<std::string> sealed_note_to;  // default: every party of the case
};

struct ReferralHistoryArgs {
  std::string case_id;
  bool open_notes = false;  // open the sealed notes sealed to this agency (DIR/seal.key)
};

struct ReferralOpenArgs {
  std::string case_id;
  std::string justification;   // required (10..500 characters), audited
  int64_t record_version = 0;  // 0 = latest
  std::string box;             // record (default), document-identity, guardian
};

struct ReferralUpdateSealedArgs {
  std::string case_id;
  int64_t expected_version = -1;
  PersonalArgs personal;
};

struct ReferralListArgs {
  std::string state;         // "" = any
  bool due = false;          // only cases with a deadline due within --due-within-hours
  int due_within_hours = 0;  // 0 = server default (14 days)
  int page_size = 0;
  std::string page_token;  // given: that one page only; otherwise every page
};

// ---- enum names ----------------------------------------------------------------------------

/// Lower-case name without the enum prefix: "sexual", "forced_labour", "18_24", "referred".
std::string FormText(ref::ExploitationForm form);
std::string AgeBandText(ref::AgeBand band);
std::string GenderText(ref::GenderCategory gender);
std::string DocumentText(ref::DocumentKind document);
std::string CloseReasonText(ref::CloseReason reason);
std::string DeadlineText(ref::DeadlineKind kind);
/// Upper case, as the server names states and transitions: "REFERRED", "REFER_ELSEWHERE".
std::string StateText(ref::CaseState state);
std::string TransitionText(ref::TransitionKind kind);

/// Case-insensitive; '-' and '_' are equivalent. UNSPECIFIED is refused.
StatusOr<ref::ExploitationForm> ParseForm(std::string_view flag, std::string_view text);
StatusOr<ref::AgeBand> ParseAgeBand(std::string_view flag, std::string_view text);
StatusOr<ref::GenderCategory> ParseGender(std::string_view flag, std::string_view text);
StatusOr<ref::NationalityClass> ParseNationalityClass(std::string_view flag, std::string_view text);
StatusOr<ref::TransExperience> ParseTransExperience(std::string_view flag, std::string_view text);
StatusOr<ref::DocumentGround> ParseGround(std::string_view flag, std::string_view text);
/// "record", "document-identity" (or "identity"), "guardian".
StatusOr<ref::SealedBox> ParseBox(std::string_view flag, std::string_view text);
std::string NationalityClassText(ref::NationalityClass value);
std::string WorldRegionText(ref::WorldRegion value);
std::string GroundText(ref::DocumentGround value);
std::string OpinionText(ref::MagistrateOpinion value);
/// Also the short names "attestation" and "certificate".
StatusOr<ref::DocumentKind> ParseDocument(std::string_view flag, std::string_view text);
StatusOr<ref::CloseReason> ParseCloseReason(std::string_view flag, std::string_view text);
StatusOr<ref::CaseState> ParseState(std::string_view flag, std::string_view text);
/// "accept", "refer-elsewhere", ... (every kind but SUBMIT, which is `referral submit`).
StatusOr<ref::TransitionKind> ParseTransitionKind(std::string_view flag, std::string_view text);

/// The names accepted by a parser, for help texts: "sexual, forced_labour, ...".
std::string FormNames();
std::string TransitionNames();

// ---- builders ------------------------------------------------------------------------------

/// Applies the given attribute flags onto `attributes` (flags not given leave it unchanged).
/// Local format checks only; the server validates the values (ISO codes...).
Status ApplyAttributeArgs(const AttributeArgs& args, ref::CaseAttributes& attributes);

/// The personal record of the flags; its languages are `languages` (in order of preference)
/// unless the personal file gave its own.
ref::PersonalRecord PersonalRecordFromArgs(const PersonalArgs& args,
                                           const std::vector<std::string>& languages);

/// The agency keys a record of `c` must be sealed to (the server's rule, RequiredRecipients in
/// services/referrals/validation.h): the receiving centre (when set and the case is not
/// DECLINED), then the magistrate (when set).
std::vector<std::string> RecordRecipientsOf(const ref::Case& c);

}  // namespace concord::ctl
