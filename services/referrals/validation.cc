#include "services/referrals/validation.h"

#include <algorithm>
#include <set>

#include "services/referrals/deadlines.h"
#include "services/referrals/geography.h"
#include "services/referrals/ids.h"

namespace concord::referrals {
namespace {

namespace cv1 = ::concord::common::v1;

// ISO 3166-1 alpha-2 (Debian iso-codes, 249 codes) plus XK (Kosovo, user-assigned, in common use).
constexpr std::string_view kCountryCodes =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL "
    "BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV "
    "CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD "
    "GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM "
    "IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK "
    "LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW "
    "MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR "
    "PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS "
    "ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY "
    "UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW "
    "XK ";

// ISO 639-1 (Debian iso-codes, 184 codes).
constexpr std::string_view kLanguageCodes =
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co "
    "cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl "
    "gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg "
    "ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk "
    "ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps "
    "pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta "
    "te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za "
    "zh zu ";

// A two-letter code in a space-separated list of two-letter codes.
bool InCodeList(std::string_view list, std::string_view code) {
  if (code.size() != 2) return false;
  for (size_t pos = 0; pos + 2 <= list.size(); pos += 3) {
    if (list.substr(pos, 2) == code) return true;
  }
  return false;
}

void Add(std::vector<v1::FieldProblem>& out, std::string field, std::string description) {
  v1::FieldProblem p;
  p.set_field(std::move(field));
  p.set_description(std::move(description));
  out.push_back(std::move(p));
}

void Append(std::vector<v1::FieldProblem>& out, std::vector<v1::FieldProblem> more) {
  for (auto& p : more) out.push_back(std::move(p));
}

std::string Path(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  return std::string(prefix) + "." + std::string(field);
}

std::string Indexed(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool HasControl(std::string_view s, bool allow_newline) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (allow_newline && (c == '\n' || c == '\t')) continue;
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Police / prosecution references: "BR.12.LL.123456/2024", "AN-2024-0042".
bool IsCaseReference(std::string_view s) {
  if (s.size() > kMaxCaseReferenceLength) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/' || c == '-' || c == '_' || c == ' ';
    if (!ok) return false;
  }
  return true;
}

bool IsAdultBand(v1::AgeBand band) {
  return band == v1::AGE_BAND_18_24 || band == v1::AGE_BAND_25_34 || band == v1::AGE_BAND_35_49 ||
         band == v1::AGE_BAND_50_PLUS;
}

bool HasRecipient(const v1::Case& c, const std::string& key) {
  return std::find(c.sealed_record_recipients().begin(), c.sealed_record_recipients().end(), key) !=
         c.sealed_record_recipients().end();
}

}  // namespace

std::string SealedRecordAad(std::string_view case_id) {
  return std::string(kSealedRecordAadPrefix) + std::string(case_id);
}

bool IsCountryCode(std::string_view code) { return InCodeList(kCountryCodes, code); }
bool IsLanguageCode(std::string_view code) { return InCodeList(kLanguageCodes, code); }

std::vector<v1::FieldProblem> AttributeProblems(const v1::CaseAttributes& a,
                                                std::string_view prefix) {
  std::vector<v1::FieldProblem> out;
  const std::string forms = Path(prefix, "exploitation_forms");
  std::set<int> seen_forms;
  for (int i = 0; i < a.exploitation_forms_size(); ++i) {
    const int form = a.exploitation_forms(i);
    if (form == v1::EXPLOITATION_FORM_UNSPECIFIED || !v1::ExploitationForm_IsValid(form)) {
      Add(out, Indexed(forms, i), "not a known exploitation form");
    } else if (!seen_forms.insert(form).second) {
      Add(out, Indexed(forms, i), "listed more than once");
    }
  }
  if (!a.origin_country().empty() && !IsCountryCode(a.origin_country())) {
    Add(out, Path(prefix, "origin_country"),
        "must be an ISO 3166-1 alpha-2 country code in upper case");
  }
  if (!a.origin_region().empty()) {
    Add(out, Path(prefix, "origin_region"),
        "no longer accepted: free sub-national text can re-identify a person; the origin is the "
        "country and its world region (set by the server)");
  }
  if (!v1::AgeBand_IsValid(a.age_band())) {
    Add(out, Path(prefix, "age_band"), "not a known age band");
  }
  if (!v1::GenderCategory_IsValid(a.gender_category())) {
    Add(out, Path(prefix, "gender_category"), "not a known gender category");
  } else if (a.gender_category() == v1::GENDER_CATEGORY_TRANSGENDER) {
    Add(out, Path(prefix, "gender_category"),
        "no longer accepted: record the gender identity (woman, man, non_binary, other, "
        "not_asked, declined) here and the trans experience in the sealed record");
  }
  if (a.languages_size() > 0) {
    Add(out, Path(prefix, "languages"),
        "no longer accepted in clear: the languages go in the sealed record (in order of "
        "preference); SuggestCentresRequest.languages ranks centres without storing them");
  }
  if (!a.region().empty() && !BelgianRegionOf(a.region()).has_value()) {
    Add(out, Path(prefix, "region"),
        "must be a Belgian province or region code of ISO 3166-2:BE (BE-BRU, BE-VLG, BE-WAL, "
        "BE-VAN, BE-VBR, BE-VLI, BE-VOV, BE-VWV, BE-WBR, BE-WHT, BE-WLG, BE-WLX, BE-WNA)");
  }
  if (!v1::NationalityClass_IsValid(a.nationality_class())) {
    Add(out, Path(prefix, "nationality_class"), "not a known nationality class");
  }
  if (a.unaccompanied_minor() && IsAdultBand(a.age_band())) {
    Add(out, Path(prefix, "unaccompanied_minor"),
        "an unaccompanied minor cannot have an adult age band");
  }
  return out;
}

std::vector<v1::FieldProblem> AgencyProblems(const cv1::AgencyId& agency, AgencyType expected,
                                             bool required, std::string_view field) {
  std::vector<v1::FieldProblem> out;
  if (IsUnset(agency)) {
    if (required) {
      Add(out, std::string(field), "required: a " + std::string(AgencyTypeName(expected)));
    }
    return out;
  }
  if (agency.type() != AgencyTypeToProto(expected)) {
    Add(out, Path(field, "type"), "must be " + std::string(AgencyTypeName(expected)));
  }
  if (!ValidateAgencyLocalId(agency.id()).ok()) {
    Add(out, Path(field, "id"), "must match [a-z0-9][a-z0-9-]{0,62}");
  }
  if (!agency.trust_domain().empty() && !ValidateTrustDomain(agency.trust_domain()).ok()) {
    Add(out, Path(field, "trust_domain"), "not a valid trust domain");
  }
  return out;
}

std::vector<v1::FieldProblem> NoteProblems(std::string_view note, bool required,
                                           std::string_view field) {
  std::vector<v1::FieldProblem> out;
  if (note.empty()) {
    if (required) Add(out, std::string(field), "required");
    return out;
  }
  if (CodePoints(note) > kMaxNoteLength) {
    Add(out, std::string(field), "at most 1000 characters");
  }
  if (HasControl(note, true)) {
    Add(out, std::string(field), "control characters other than newline and tab are not allowed");
  }
  return out;
}

std::vector<v1::FieldProblem> SealedRecordProblems(const v1::SealedRecord& r,
                                                   std::string_view prefix) {
  std::vector<v1::FieldProblem> out;
  if (r.nonce().size() != 12) Add(out, Path(prefix, "nonce"), "must be 12 bytes");
  if (r.ciphertext().size() < 16 || r.ciphertext().size() > kMaxSealedCiphertext) {
    Add(out, Path(prefix, "ciphertext"), "must be between 16 bytes (the GCM tag) and 64 KiB");
  }
  const std::string keys = Path(prefix, "keys");
  if (r.keys_size() == 0) {
    Add(out, keys, "at least one wrapped key is required");
  } else if (static_cast<size_t>(r.keys_size()) > kMaxSealedRecipients) {
    Add(out, keys, "at most 8 wrapped keys");
  }
  std::set<std::string> seen;
  for (int i = 0; i < r.keys_size(); ++i) {
    const v1::WrappedKey& k = r.keys(i);
    const std::string base = Indexed(keys, i);
    if (!ParseAgencyKey("concord.local", k.recipient()).ok()) {
      Add(out, base + ".recipient", "must be an agency key <type>/<id>");
    } else if (!seen.insert(k.recipient()).second) {
      Add(out, base + ".recipient", "listed more than once");
    }
    if (k.ephemeral_public().size() != 32) {
      Add(out, base + ".ephemeral_public", "must be 32 bytes");
    }
    if (k.nonce().size() != 12) Add(out, base + ".nonce", "must be 12 bytes");
    if (k.ciphertext().size() != 48) Add(out, base + ".ciphertext", "must be 48 bytes");
  }
  return out;
}

std::vector<std::string> RequiredRecipients(const v1::Case& c) {
  std::vector<std::string> out;
  // A centre that declined the case (state DECLINED) no longer receives the record.
  if (!IsUnset(c.receiving_centre()) && c.state() != v1::CASE_STATE_DECLINED) {
    out.push_back(AgencyKeyOf(c.receiving_centre()));
  }
  if (!IsUnset(c.magistrate())) out.push_back(AgencyKeyOf(c.magistrate()));
  return out;
}

std::vector<v1::FieldProblem> RecipientProblems(const v1::SealedRecord& record, const v1::Case& c,
                                                std::string_view prefix) {
  std::vector<v1::FieldProblem> out;
  const std::vector<std::string> required = RequiredRecipients(c);
  const std::string keys = Path(prefix, "keys");
  for (const std::string& key : required) {
    const bool present = std::any_of(record.keys().begin(), record.keys().end(),
                                     [&](const v1::WrappedKey& k) { return k.recipient() == key; });
    if (!present) {
      Add(out, keys,
          key.rfind("magistrate/", 0) == 0 ? "must be sealed to the magistrate of the case"
                                           : "must be sealed to the receiving centre of the case");
    }
  }
  for (int i = 0; i < record.keys_size(); ++i) {
    if (std::find(required.begin(), required.end(), record.keys(i).recipient()) == required.end()) {
      Add(out, Indexed(keys, i) + ".recipient",
          "the record is sealed only to the receiving centre and the magistrate");
    }
  }
  return out;
}

std::vector<v1::FieldProblem> NoteRecipientProblems(const v1::SealedRecord& note,
                                                    const v1::Case& before, const v1::Case& after,
                                                    const AgencyId& author,
                                                    std::string_view prefix) {
  std::set<std::string> parties;
  for (const v1::Case* c : {&before, &after}) {
    for (const cv1::AgencyId* a :
         {&c->referring_agency(), &c->receiving_centre(), &c->magistrate(),
          &c->immigration_office(), &c->guardianship_service(), &c->investigating_unit()}) {
      if (!IsUnset(*a)) parties.insert(AgencyKeyOf(*a));
    }
  }
  // Security: a centre that declined receives no new sealed data (docs/referrals.md
  // "Declining"), except the note it writes itself (its own decline reason).
  std::set<std::string> declined;
  for (const cv1::AgencyId& a : after.declined_by()) {
    if (!SameAgency(a, author)) declined.insert(AgencyKeyOf(a));
  }
  std::vector<v1::FieldProblem> out;
  const std::string keys = Path(prefix, "keys");
  for (int i = 0; i < note.keys_size(); ++i) {
    const std::string& recipient = note.keys(i).recipient();
    if (parties.count(recipient) == 0) {
      Add(out, Indexed(keys, i) + ".recipient", "a note is sealed only to parties of the case");
    } else if (declined.count(recipient) > 0) {
      Add(out, Indexed(keys, i) + ".recipient",
          "a centre that declined the case receives no new sealed note");
    }
  }
  return out;
}

std::vector<v1::FieldProblem> ExactRecipientProblems(const v1::SealedRecord& box,
                                                     const std::vector<std::string>& required,
                                                     std::string_view prefix,
                                                     std::string_view who) {
  std::vector<v1::FieldProblem> out;
  const std::string keys = Path(prefix, "keys");
  for (const std::string& key : required) {
    const bool present = std::any_of(box.keys().begin(), box.keys().end(),
                                     [&](const v1::WrappedKey& k) { return k.recipient() == key; });
    if (!present) Add(out, keys, "must be sealed to " + std::string(who) + " (" + key + ")");
  }
  for (int i = 0; i < box.keys_size(); ++i) {
    if (std::find(required.begin(), required.end(), box.keys(i).recipient()) == required.end()) {
      Add(out, Indexed(keys, i) + ".recipient", "sealed only to " + std::string(who));
    }
  }
  return out;
}

std::vector<v1::FieldProblem> SuggestProblems(const v1::SuggestCentresRequest& r) {
  std::vector<v1::FieldProblem> out;
  if (static_cast<size_t>(r.languages_size()) > kMaxLanguages) {
    Add(out, "languages", "at most 10 languages");
  }
  std::set<std::string> seen;
  for (int i = 0; i < r.languages_size(); ++i) {
    if (!IsLanguageCode(r.languages(i))) {
      Add(out, Indexed("languages", i), "must be an ISO 639-1 language code in lower case");
    } else if (!seen.insert(r.languages(i)).second) {
      Add(out, Indexed("languages", i), "listed more than once");
    }
  }
  if (static_cast<size_t>(r.support_needs_size()) > kMaxSupportNeeds) {
    Add(out, "support_needs", "at most 10 support needs");
  }
  for (int i = 0; i < r.support_needs_size(); ++i) {
    const std::string& need = r.support_needs(i);
    const bool ok = !need.empty() && need.size() <= kMaxSupportNeedLength &&
                    std::all_of(need.begin(), need.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                    });
    if (!ok) Add(out, Indexed("support_needs", i), "must be 1..64 characters of [a-z0-9_]");
  }
  return out;
}

Status CheckBoxSignature(const v1::SealedRecord& from_client, const v1::SealedRecord& stamped,
                         client::SealedKind kind, std::string_view case_id,
                         const crypto::Ed25519PublicKey& author_key, std::string_view field) {
  const std::string what(client::SealedKindText(kind));
  if (from_client.signature().empty()) {
    return WithReason(
        InvalidArgumentWithFields(
            what + " is not signed",
            {{Path(field, "signature"),
              "required: the author signs each version with its directory signing key "
              "(docs/crypto.md)"}}),
        "SIGNATURE_REQUIRED");
  }
  if (from_client.version() != 0 && from_client.version() != stamped.version()) {
    return WithReason(
        InvalidArgumentWithFields(what + " is signed for another version",
                                  {{Path(field, "version"), "this write creates version " +
                                                                std::to_string(stamped.version()) +
                                                                ": sign that version"}}),
        "BAD_SIGNATURE");
  }
  if (!IsUnset(from_client.author()) && !SameAgency(from_client.author(), stamped.author())) {
    return WithReason(InvalidArgumentWithFields(
                          what + " names another author",
                          {{Path(field, "author"), "the author is the agency making the call (" +
                                                       AgencyKeyOf(stamped.author()) + ")"}}),
                      "BAD_SIGNATURE");
  }
  if (!client::VerifySealedBox(kind, case_id, stamped, author_key).ok()) {
    return WithReason(
        InvalidArgumentWithFields(
            what + " does not verify",
            {{Path(field, "signature"), "does not verify under the directory signing key of " +
                                            AgencyKeyOf(stamped.author()) +
                                            " for this case, kind and version " +
                                            std::to_string(stamped.version())}}),
        "BAD_SIGNATURE");
  }
  return absl::OkStatus();
}

std::vector<v1::FieldProblem> FormatProblems(const v1::SaveDraftRequest& d) {
  std::vector<v1::FieldProblem> out;
  if (!d.case_id().empty()) {
    if (!IsCaseId(d.case_id())) Add(out, "case_id", "not a referral case id");
    if (d.expected_version() < 1) {
      Add(out, "expected_version", "required (the version of the draft being updated)");
    }
  } else if (d.expected_version() != 0) {
    Add(out, "expected_version", "must be 0 for a new draft");
  }
  Append(out, AttributeProblems(d.attributes(), "attributes"));
  Append(out, AgencyProblems(d.receiving_centre(), AgencyType::kReceptionCentre,
                             /*required=*/false, "receiving_centre"));
  Append(out,
         AgencyProblems(d.magistrate(), AgencyType::kMagistrate, /*required=*/false, "magistrate"));
  Append(out, AgencyProblems(d.guardianship_service(), AgencyType::kGuardianshipService,
                             /*required=*/false, "guardianship_service"));
  if (d.has_sealed_record()) {
    Append(out, SealedRecordProblems(d.sealed_record(), "sealed_record"));
    if (d.case_id().empty()) {
      Add(out, "sealed_record",
          "only on a saved draft: the record is sealed and signed for its case id (save the "
          "draft first, then send the record with its case_id)");
    }
  }
  if (!IsCaseReference(d.case_reference())) {
    Add(out, "case_reference", "at most 64 characters of letters, digits, space and . / - _");
  }
  return out;
}

std::vector<v1::FieldProblem> SubmitProblems(const v1::Case& c) {
  std::vector<v1::FieldProblem> out = AttributeProblems(c.attributes(), "attributes");
  const v1::CaseAttributes& a = c.attributes();
  if (a.exploitation_forms_size() == 0) {
    Add(out, "attributes.exploitation_forms", "at least one exploitation form is required");
  }
  if (a.origin_country().empty()) Add(out, "attributes.origin_country", "required");
  if (a.age_band() == v1::AGE_BAND_UNSPECIFIED) {
    Add(out, "attributes.age_band", "required (AGE_BAND_UNKNOWN when not known)");
  }
  if (a.nationality_class() == v1::NATIONALITY_CLASS_UNSPECIFIED) {
    Add(out, "attributes.nationality_class",
        "required: belgian, eu_eea, third_country or unknown (it decides the path of the "
        "procedure)");
  }
  Append(out, AgencyProblems(c.receiving_centre(), AgencyType::kReceptionCentre,
                             /*required=*/true, "receiving_centre"));
  Append(out, AgencyProblems(c.guardianship_service(), AgencyType::kGuardianshipService,
                             /*required=*/a.unaccompanied_minor(), "guardianship_service"));
  Append(out,
         AgencyProblems(c.magistrate(), AgencyType::kMagistrate, /*required=*/false, "magistrate"));
  if (c.sealed_record_version() <= 0) {
    Add(out, "sealed_record", "the sealed personal record is required");
  } else {
    const std::vector<std::string> required = RequiredRecipients(c);
    for (const std::string& key : required) {
      if (!HasRecipient(c, key)) {
        Add(out, "sealed_record.keys",
            key.rfind("magistrate/", 0) == 0
                ? "must be sealed to the magistrate of the case"
                : "must be sealed to the receiving centre of the case");
      }
    }
    for (const std::string& key : c.sealed_record_recipients()) {
      if (std::find(required.begin(), required.end(), key) == required.end()) {
        Add(out, "sealed_record.keys",
            "the record is sealed only to the receiving centre and the magistrate");
        break;
      }
    }
  }
  if (!IsCaseReference(c.case_reference())) {
    Add(out, "case_reference", "at most 64 characters of letters, digits, space and . / - _");
  }
  return out;
}

void ApplyDraft(const v1::SaveDraftRequest& request, v1::Case& draft) {
  *draft.mutable_attributes() = request.attributes();
  draft.mutable_attributes()->set_origin_world_region(
      WorldRegionOf(request.attributes().origin_country()));
  if (IsUnset(request.guardianship_service())) {
    draft.clear_guardianship_service();
  } else {
    *draft.mutable_guardianship_service() = request.guardianship_service();
  }
  if (IsUnset(request.receiving_centre())) {
    draft.clear_receiving_centre();
  } else {
    *draft.mutable_receiving_centre() = request.receiving_centre();
  }
  if (IsUnset(request.magistrate())) {
    draft.clear_magistrate();
  } else {
    *draft.mutable_magistrate() = request.magistrate();
  }
  draft.set_case_reference(request.case_reference());
}

v1::SealedRecord StampSealedRecord(const v1::SealedRecord& from_client, int64_t version,
                                   const AgencyId& author, absl::Time now) {
  v1::SealedRecord out = from_client;
  out.set_version(version);
  *out.mutable_author() = AgencyIdToProto(author);
  *out.mutable_created_at() = ToProtoTime(now);
  return out;
}

void AttachSealedRecord(const v1::SealedRecord& stamped, v1::Case& c) {
  c.set_sealed_record_version(stamped.version());
  c.clear_sealed_record_recipients();
  for (const v1::WrappedKey& k : stamped.keys()) c.add_sealed_record_recipients(k.recipient());
}

Status ProblemsToStatus(std::string_view message, const std::vector<v1::FieldProblem>& problems) {
  FieldErrors errors;
  for (const v1::FieldProblem& p : problems) errors.Add(p.field(), p.description());
  return errors.ToStatus(message);
}

}  // namespace concord::referrals
