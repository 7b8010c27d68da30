#include "cli/concordctl/referral_args.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/concordctl/agency_format.h"

namespace concord::ctl {
namespace {

Status FlagError(std::string_view flag, std::string description) {
  return InvalidArgumentWithFields("invalid arguments",
                                   {{std::string(flag), std::move(description)}});
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "EXPLOITATION_FORM_FORCED_LABOUR" -> "forced_labour" (prefix = "EXPLOITATION_FORM_").
std::string ValueText(const google::protobuf::EnumDescriptor* d, int number,
                      std::string_view prefix, bool lower) {
  const google::protobuf::EnumValueDescriptor* v = d->FindValueByNumber(number);
  if (v == nullptr) return std::to_string(number);
  std::string name = v->name();
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return lower ? Lower(name) : name;
}

std::string Names(const google::protobuf::EnumDescriptor* d, std::string_view prefix,
                  const std::set<int>& skip = {}) {
  std::string out;
  for (int i = 0; i < d->value_count(); ++i) {
    const int number = d->value(i)->number();
    if (number == 0 || skip.count(number) > 0) continue;
    if (!out.empty()) out += ", ";
    out += ValueText(d, number, prefix, /*lower=*/true);
  }
  return out;
}

// Case-insensitive, '-' = '_'; UNSPECIFIED (0) and `skip` refused.
StatusOr<int> ParseValue(const google::protobuf::EnumDescriptor* d, std::string_view prefix,
                         std::string_view flag, std::string_view text, std::string_view what,
                         const std::set<int>& skip = {}) {
  std::string name;
  for (char c : text) {
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const google::protobuf::EnumValueDescriptor* v =
      name.empty() ? nullptr : d->FindValueByName(std::string(prefix) + name);
  if (v == nullptr || v->number() == 0 || skip.count(v->number()) > 0) {
    return FlagError(flag, "unknown " + std::string(what) + " \"" + std::string(text) +
                               "\" (one of: " + Names(d, prefix, skip) + ")");
  }
  return v->number();
}

template <typename E>
StatusOr<E> Parse(std::string_view prefix, std::string_view flag, std::string_view text,
                  std::string_view what, const std::set<int>& skip = {}) {
  StatusOr<int> n =
      ParseValue(google::protobuf::GetEnumDescriptor<E>(), prefix, flag, text, what, skip);
  if (!n.ok()) return n.status();
  return static_cast<E>(*n);
}

template <typename E>
std::string Text(E value, std::string_view prefix, bool lower = true) {
  return ValueText(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value), prefix,
                   lower);
}

constexpr std::string_view kForm = "EXPLOITATION_FORM_";
constexpr std::string_view kAge = "AGE_BAND_";
constexpr std::string_view kGender = "GENDER_CATEGORY_";
constexpr std::string_view kDocument = "DOCUMENT_KIND_";
constexpr std::string_view kClose = "CLOSE_REASON_";
constexpr std::string_view kDeadline = "DEADLINE_KIND_";
constexpr std::string_view kState = "CASE_STATE_";
constexpr std::string_view kTransition = "TRANSITION_KIND_";
constexpr std::string_view kNationality = "NATIONALITY_CLASS_";
constexpr std::string_view kTrans = "TRANS_EXPERIENCE_";
constexpr std::string_view kGround = "DOCUMENT_GROUND_";
constexpr std::string_view kBox = "SEALED_BOX_";
constexpr std::string_view kWorld = "WORLD_REGION_";
constexpr std::string_view kOpinion = "MAGISTRATE_OPINION_";

bool IsUnsetAgency(const concord::common::v1::AgencyId& a) {
  return a.trust_domain().empty() && a.id().empty() &&
         a.type() == concord::common::v1::AGENCY_TYPE_UNSPECIFIED;
}

}  // namespace

bool PersonalArgs::Given() const {
  return !name.empty() || !used_name.empty() || !pronouns.empty() || !dob.empty() ||
         !nationality.empty() || !gender_identity.empty() || !trans_experience.empty() ||
         interpreter || !contact.empty() || consent || !notes.empty() || !languages.empty();
}

std::string FormText(ref::ExploitationForm form) { return Text(form, kForm); }
std::string AgeBandText(ref::AgeBand band) { return Text(band, kAge); }
std::string GenderText(ref::GenderCategory gender) { return Text(gender, kGender); }
std::string DocumentText(ref::DocumentKind document) { return Text(document, kDocument); }
std::string CloseReasonText(ref::CloseReason reason) { return Text(reason, kClose); }
std::string DeadlineText(ref::DeadlineKind kind) { return Text(kind, kDeadline); }
std::string StateText(ref::CaseState state) { return Text(state, kState, /*lower=*/false); }
std::string TransitionText(ref::TransitionKind kind) {
  return Text(kind, kTransition, /*lower=*/false);
}

StatusOr<ref::ExploitationForm> ParseForm(std::string_view flag, std::string_view text) {
  return Parse<ref::ExploitationForm>(kForm, flag, text, "exploitation form");
}
StatusOr<ref::AgeBand> ParseAgeBand(std::string_view flag, std::string_view text) {
  return Parse<ref::AgeBand>(kAge, flag, text, "age band");
}
StatusOr<ref::GenderCategory> ParseGender(std::string_view flag, std::string_view text) {
  // TRANSGENDER mixed gender identity and trans experience: not offered (the server refuses it).
  return Parse<ref::GenderCategory>(kGender, flag, text, "gender identity",
                                    {ref::GENDER_CATEGORY_TRANSGENDER});
}
StatusOr<ref::NationalityClass> ParseNationalityClass(std::string_view flag,
                                                      std::string_view text) {
  return Parse<ref::NationalityClass>(kNationality, flag, text, "nationality class");
}
StatusOr<ref::TransExperience> ParseTransExperience(std::string_view flag, std::string_view text) {
  return Parse<ref::TransExperience>(kTrans, flag, text, "trans experience");
}
StatusOr<ref::DocumentGround> ParseGround(std::string_view flag, std::string_view text) {
  return Parse<ref::DocumentGround>(kGround, flag, text, "ground");
}
StatusOr<ref::SealedBox> ParseBox(std::string_view flag, std::string_view text) {
  if (Lower(std::string(text)) == "identity") return ref::SEALED_BOX_DOCUMENT_IDENTITY;
  return Parse<ref::SealedBox>(kBox, flag, text, "sealed box");
}
std::string NationalityClassText(ref::NationalityClass value) { return Text(value, kNationality); }
std::string WorldRegionText(ref::WorldRegion value) { return Text(value, kWorld); }
std::string GroundText(ref::DocumentGround value) { return Text(value, kGround); }
std::string OpinionText(ref::MagistrateOpinion value) { return Text(value, kOpinion); }
StatusOr<ref::DocumentKind> ParseDocument(std::string_view flag, std::string_view text) {
  const std::string lower = Lower(std::string(text));
  if (lower == "attestation") return ref::DOCUMENT_KIND_REGISTRATION_ATTESTATION;
  if (lower == "certificate") return ref::DOCUMENT_KIND_REGISTRATION_CERTIFICATE;
  return Parse<ref::DocumentKind>(kDocument, flag, text, "document");
}
StatusOr<ref::CloseReason> ParseCloseReason(std::string_view flag, std::string_view text) {
  // withdrawal and refusal were ambiguous: the server refuses them for new closes.
  return Parse<ref::CloseReason>(kClose, flag, text, "close reason",
                                 {ref::CLOSE_REASON_WITHDRAWAL, ref::CLOSE_REASON_REFUSAL});
}
StatusOr<ref::CaseState> ParseState(std::string_view flag, std::string_view text) {
  return Parse<ref::CaseState>(kState, flag, text, "state");
}
StatusOr<ref::TransitionKind> ParseTransitionKind(std::string_view flag, std::string_view text) {
  return Parse<ref::TransitionKind>(kTransition, flag, text, "transition",
                                    {ref::TRANSITION_KIND_SUBMIT});
}

std::string FormNames() {
  return Names(google::protobuf::GetEnumDescriptor<ref::ExploitationForm>(), kForm);
}
std::string TransitionNames() {
  std::string names = Names(google::protobuf::GetEnumDescriptor<ref::TransitionKind>(), kTransition,
                            {ref::TRANSITION_KIND_SUBMIT});
  std::replace(names.begin(), names.end(), '_', '-');
  return names;
}

Status ApplyAttributeArgs(const AttributeArgs& args, ref::CaseAttributes& attributes) {
  if (!args.forms.empty()) {
    attributes.clear_exploitation_forms();
    for (const std::string& f : args.forms) {
      StatusOr<ref::ExploitationForm> form = ParseForm("--form", f);
      if (!form.ok()) return form.status();
      attributes.add_exploitation_forms(*form);
    }
  }
  if (!args.origin_country.empty()) attributes.set_origin_country(args.origin_country);
  if (!args.nationality_class.empty()) {
    StatusOr<ref::NationalityClass> n =
        ParseNationalityClass("--nationality-class", args.nationality_class);
    if (!n.ok()) return n.status();
    attributes.set_nationality_class(*n);
  }
  if (!args.age_band.empty()) {
    StatusOr<ref::AgeBand> band = ParseAgeBand("--age-band", args.age_band);
    if (!band.ok()) return band.status();
    attributes.set_age_band(*band);
  }
  if (!args.gender.empty()) {
    StatusOr<ref::GenderCategory> gender = ParseGender("--gender", args.gender);
    if (!gender.ok()) return gender.status();
    attributes.set_gender_category(*gender);
  }
  if (args.unaccompanied_minor >= 0) {
    attributes.set_unaccompanied_minor(args.unaccompanied_minor == 1);
  }
  if (!args.region.empty()) attributes.set_region(args.region);
  return absl::OkStatus();
}

Status LoadPersonalFile(const std::string& path, PersonalArgs& out) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("--personal-file: cannot read " + path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("--personal-file: " + path + " is not a JSON object");
  }
  const std::map<std::string, std::string*> strings = {{"name", &out.name},
                                                       {"used_name", &out.used_name},
                                                       {"pronouns", &out.pronouns},
                                                       {"dob", &out.dob},
                                                       {"nationality", &out.nationality},
                                                       {"gender_identity", &out.gender_identity},
                                                       {"trans_experience", &out.trans_experience},
                                                       {"contact", &out.contact},
                                                       {"notes", &out.notes}};
  const std::map<std::string, bool*> flags = {{"consent", &out.consent},
                                              {"interpreter_needed", &out.interpreter}};
  for (const auto& [key, value] : j.items()) {
    if (auto flag = flags.find(key); flag != flags.end()) {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError("--personal-file: \"" + key + "\" must be true or false");
      }
      *flag->second = value.get<bool>();
      continue;
    }
    if (key == "languages") {
      if (!value.is_array()) {
        return absl::InvalidArgumentError(
            "--personal-file: \"languages\" must be an array of ISO 639-1 codes");
      }
      for (const auto& l : value) {
        if (!l.is_string()) {
          return absl::InvalidArgumentError(
              "--personal-file: \"languages\" must be an array of ISO 639-1 codes");
        }
        out.languages.push_back(l.get<std::string>());
      }
      continue;
    }
    auto it = strings.find(key);
    if (it == strings.end()) {
      return absl::InvalidArgumentError(
          "--personal-file: unknown key \"" + key +
          "\" (name, used_name, pronouns, dob, nationality, gender_identity, trans_experience, "
          "languages, interpreter_needed, contact, consent, notes)");
    }
    if (!value.is_string()) {
      return absl::InvalidArgumentError("--personal-file: \"" + key + "\" must be a string");
    }
    *it->second = value.get<std::string>();
  }
  return absl::OkStatus();
}

ref::PersonalRecord PersonalRecordFromArgs(const PersonalArgs& args,
                                           const std::vector<std::string>& languages) {
  ref::PersonalRecord r;
  r.set_full_name(args.name);
  r.set_used_name(args.used_name);
  r.set_pronouns(args.pronouns);
  r.set_date_of_birth(args.dob);
  r.set_nationality(args.nationality);
  r.set_gender_identity(args.gender_identity);
  for (const std::string& l : args.languages.empty() ? languages : args.languages) {
    r.add_languages(l);
  }
  r.set_interpreter_needed(args.interpreter);
  r.set_contact(args.contact);
  r.set_consent_given(args.consent);
  r.set_notes(args.notes);
  if (!args.trans_experience.empty()) {
    // Validated by the caller (ParseTransExperience) before sealing.
    StatusOr<ref::TransExperience> t =
        ParseTransExperience("--trans-experience", args.trans_experience);
    if (t.ok()) r.set_trans_experience(*t);
  }
  return r;
}

std::vector<std::string> RecordRecipientsOf(const ref::Case& c) {
  std::vector<std::string> out;
  if (!IsUnsetAgency(c.receiving_centre()) && c.state() != ref::CASE_STATE_DECLINED) {
    out.push_back(AgencyKeyOf(c.receiving_centre()));
  }
  if (!IsUnsetAgency(c.magistrate())) out.push_back(AgencyKeyOf(c.magistrate()));
  return out;
}

}  // namespace concord::ctl
