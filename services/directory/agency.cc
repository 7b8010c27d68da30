// File: services/directory/agency.cc
#include "services/directory/agency.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/crypto/ed25519.h"
#include "common/crypto/key_endorsement.h"
#include "common/crypto/x25519.h"
#include "common/identity/caller.h"
#include "common/status/status_macros.h"
#include "common/text/utf8.h"

namespace concord::directory {
namespace {

// ISO 639-1 (two-letter) language codes.
constexpr std::array<std::string_view, 184> kIso6391 = {
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu"};

// ISO 3166-2:BE: the three regions and ten provinces.
constexpr std::array<std::string_view, 13> kBelgianSubdivisions = {
    "BE-BRU", "BE-VLG", "BE-WAL", "BE-VAN", "BE-VBR", "BE-VLI", "BE-VOV",
    "BE-VWV", "BE-WBR", "BE-WHT", "BE-WLG", "BE-WLX", "BE-WNA"};

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

using text::PrintableUtf8CodePoints;

std::string Indexed(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

std::string Field(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
}

void SortUnique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Validates each entry with `valid` after `normalise`; reports "<field>[i]".
template <typename Normalise, typename Valid>
std::vector<std::string> NormaliseList(const std::vector<std::string>& in, std::string_view field,
                                       std::string_view what, Normalise normalise, Valid valid,
                                       FieldErrors& errors) {
  std::vector<std::string> out;
  if (in.size() > kMaxListEntries) {
    errors.Add(std::string(field), "at most " + std::to_string(kMaxListEntries) + " entries");
    return out;
  }
  for (size_t i = 0; i < in.size(); ++i) {
    std::string v = normalise(in[i]);
    if (!valid(v)) {
      errors.Add(Indexed(field, i), std::string(what));
      continue;
    }
    out.push_back(std::move(v));
  }
  SortUnique(out);
  return out;
}

Status ValidateReason(std::string_view reason, std::string_view field, FieldErrors& errors) {
  const std::string trimmed = Trim(reason);
  const auto len = PrintableUtf8CodePoints(trimmed);
  if (trimmed.empty()) {
    errors.Add(std::string(field), "required");
  } else if (!len.has_value()) {
    errors.Add(std::string(field), "must be valid UTF-8 without control characters");
  } else if (*len > kMaxReasonChars) {
    errors.Add(std::string(field), "at most " + std::to_string(kMaxReasonChars) + " characters");
  }
  return absl::OkStatus();
}

// Raw 32-byte keys of a normalised spec ("" when a PEM does not parse: never after
// NormalizeAgencySpec).
std::string SigningRaw(const AgencySpec& spec) {
  auto key = crypto::Ed25519PublicKey::FromPem(spec.signing_public_key_pem);
  return key.ok() ? key->Raw() : std::string();
}
std::string SealingRaw(const AgencySpec& spec) {
  auto key = crypto::X25519PublicKey::FromPem(spec.sealing_public_key_pem);
  return key.ok() ? key->Raw() : std::string();
}

bool SameEndorsement(const std::optional<crypto::KeyEndorsement>& a,
                     const std::optional<crypto::KeyEndorsement>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a.has_value()) return true;
  return a->previous_signing_key == b->previous_signing_key && a->issued_at == b->issued_at &&
         a->signature == b->signature;
}

Status EndorsementRefused(std::string_view field, std::string_view description) {
  return WithReason(InvalidArgumentWithFields("invalid key endorsement",
                                              {{std::string(field), std::string(description)}}),
                    "KEY_ENDORSEMENT_INVALID");
}

// Verifies `endorsement` of the keys of `next` against the current signing key (`current`).
Status VerifyEndorsement(const AgencySpec& current, const AgencySpec& next,
                         const crypto::KeyEndorsement& endorsement) {
  constexpr std::string_view kField = "agency.key_endorsement";
  if (endorsement.previous_signing_key != SigningRaw(current)) {
    return EndorsementRefused(kField,
                              "previous_signing_key is not the agency's current signing key: only "
                              "the key being replaced can endorse its successor");
  }
  auto signing = crypto::Ed25519PublicKey::FromPem(next.signing_public_key_pem);
  auto sealing = crypto::X25519PublicKey::FromPem(next.sealing_public_key_pem);
  if (!signing.ok() || !sealing.ok()) return absl::InternalError("normalised keys do not parse");
  const Status verified =
      crypto::VerifyKeyEndorsement(next.id.ToSpiffe(), endorsement, *signing, *sealing);
  if (!verified.ok()) {
    return EndorsementRefused(kField,
                              "the signature does not verify with the current signing key over "
                              "the agency and its new keys (docs/crypto.md \"Key endorsement\")");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidJurisdiction(std::string_view j) {
  auto upper_alpha = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto upper_alnum = [&](char c) { return upper_alpha(c) || (c >= '0' && c <= '9'); };
  if (j.size() < 2 || !upper_alpha(j[0]) || !upper_alpha(j[1])) return false;
  if (j.size() == 2) return true;
  if (j[2] != '-' || j.size() < 4 || j.size() > 6) return false;
  for (size_t i = 3; i < j.size(); ++i) {
    if (!upper_alnum(j[i])) return false;
  }
  if (j.substr(0, 2) == "BE") {
    return std::find(kBelgianSubdivisions.begin(), kBelgianSubdivisions.end(), j) !=
           kBelgianSubdivisions.end();
  }
  return true;
}

bool IsValidLanguage(std::string_view code) {
  return std::binary_search(kIso6391.begin(), kIso6391.end(), code);
}

bool IsValidSpecialisation(std::string_view t) {
  if (t.empty() || t.size() > 32 || t[0] < 'a' || t[0] > 'z') return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsValidSerial(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

StatusOr<AgencyId> NormalizeAgencyId(AgencyId id, std::string_view trust_domain,
                                     std::string_view field) {
  FieldErrors errors;
  if (id.trust_domain.empty()) id.trust_domain = std::string(trust_domain);
  if (id.trust_domain != trust_domain) {
    errors.Add(Field(field, "trust_domain"), "must be this deployment's trust domain");
  }
  if (!ValidateAgencyLocalId(id.id).ok()) {
    errors.Add(Field(field, "id"), "must match ^[a-z0-9][a-z0-9-]{0,62}$");
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid agency id"));
  return id;
}

StatusOr<AgencySpec> NormalizeAgencySpec(AgencySpec spec, std::string_view trust_domain,
                                         std::string_view prefix) {
  FieldErrors errors;
  if (spec.id.trust_domain.empty()) spec.id.trust_domain = std::string(trust_domain);
  if (spec.id.trust_domain != trust_domain) {
    errors.Add(Field(prefix, "id.trust_domain"), "must be this deployment's trust domain");
  }
  if (!ValidateAgencyLocalId(spec.id.id).ok()) {
    errors.Add(Field(prefix, "id.id"), "must match ^[a-z0-9][a-z0-9-]{0,62}$");
  }

  spec.display_name = Trim(spec.display_name);
  const auto name_len = PrintableUtf8CodePoints(spec.display_name);
  if (spec.display_name.empty()) {
    errors.Add(Field(prefix, "display_name"), "required");
  } else if (!name_len.has_value()) {
    errors.Add(Field(prefix, "display_name"), "must be valid UTF-8 without control characters");
  } else if (*name_len > kMaxDisplayNameChars) {
    errors.Add(Field(prefix, "display_name"),
               "at most " + std::to_string(kMaxDisplayNameChars) + " characters");
  }

  spec.jurisdiction = Upper(Trim(spec.jurisdiction));
  if (spec.jurisdiction.empty()) {
    errors.Add(Field(prefix, "jurisdiction"), "required");
  } else if (!IsValidJurisdiction(spec.jurisdiction)) {
    errors.Add(Field(prefix, "jurisdiction"),
               "must be an ISO 3166-1 alpha-2 country (\"BE\") or ISO 3166-2 subdivision "
               "(\"BE-BRU\")");
  }

  spec.specialisations = NormaliseList(
      spec.specialisations, Field(prefix, "specialisations"), "must match ^[a-z][a-z0-9_]{0,31}$",
      [](const std::string& s) { return Lower(Trim(s)); }, IsValidSpecialisation, errors);
  spec.languages = NormaliseList(
      spec.languages, Field(prefix, "languages"), "must be an ISO 639-1 code (\"nl\", \"fr\")",
      [](const std::string& s) { return Lower(Trim(s)); }, IsValidLanguage, errors);
  if (spec.capacity < 0 || spec.capacity > 100000) {
    errors.Add(Field(prefix, "capacity"), "must be between 0 (not declared) and 100000 places");
  }
  spec.certificate_serials = NormaliseList(
      spec.certificate_serials, Field(prefix, "certificate_serials"),
      "must be a hexadecimal certificate serial of at most 20 bytes",
      [](const std::string& s) {
        const bool hex_only = std::all_of(s.begin(), s.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':';
        });
        return hex_only && !s.empty() ? NormalizeSerial(s) : std::string();
      },
      IsValidSerial, errors);

  if (spec.signing_public_key_pem.empty()) {
    errors.Add(Field(prefix, "signing_public_key_pem"), "required");
  } else if (spec.signing_public_key_pem.size() > kMaxPemBytes ||
             !crypto::Ed25519PublicKey::FromPem(spec.signing_public_key_pem).ok()) {
    errors.Add(Field(prefix, "signing_public_key_pem"), "must be an Ed25519 public key in PEM");
  }
  if (spec.sealing_public_key_pem.empty()) {
    errors.Add(Field(prefix, "sealing_public_key_pem"), "required");
  } else if (spec.sealing_public_key_pem.size() > kMaxPemBytes ||
             !crypto::X25519PublicKey::FromPem(spec.sealing_public_key_pem).ok()) {
    errors.Add(Field(prefix, "sealing_public_key_pem"), "must be an X25519 public key in PEM");
  }
  // Attributes: validated here (independently of the stored values), applied by NewAgency /
  // UpdateAgency.
  if (auto applied = attributes::ApplyAttributeSettings(spec.id, {}, spec.attributes,
                                                        Field(prefix, "attributes"));
      !applied.ok()) {
    for (FieldViolation& v : FieldViolationsOf(applied.status())) {
      errors.Add(std::move(v.field), std::move(v.description));
    }
  }
  if (spec.key_endorsement.has_value()) {
    const crypto::KeyEndorsement& e = *spec.key_endorsement;
    const std::string field = Field(prefix, "key_endorsement");
    if (e.previous_signing_key.size() != crypto::kEd25519KeySize) {
      errors.Add(field + ".previous_signing_key", "must be a raw Ed25519 public key (32 bytes)");
    }
    if (e.signature.size() != crypto::kEd25519SignatureSize) {
      errors.Add(field + ".signature", "must be an Ed25519 signature (64 bytes)");
    }
    if (e.issued_at == absl::InfinitePast()) errors.Add(field + ".issued_at", "required");
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid agency"));
  return spec;
}

StatusOr<Agency> NewAgency(AgencySpec spec, absl::Time now) {
  if (spec.key_endorsement.has_value()) {
    return EndorsementRefused("agency.key_endorsement",
                              "a new agency has no previous key: only UpdateAgency carries an "
                              "endorsement");
  }
  Agency a;
  CONCORD_ASSIGN_OR_RETURN(a.attributes, attributes::ApplyAttributeSettings(
                                             spec.id, {}, spec.attributes, "agency.attributes"));
  spec.attributes.clear();
  a.spec = std::move(spec);
  a.state = AgencyState::kActive;
  a.created_at = now;
  a.updated_at = now;
  a.version = 1;
  return a;
}

StatusOr<Agency> UpdateAgency(const Agency& current, AgencySpec spec, int64_t expected_version,
                              absl::Time now) {
  if (expected_version != 0 && expected_version != current.version) {
    return absl::AbortedError("agency was changed concurrently (version mismatch); re-read it");
  }
  if (!(spec.id == current.spec.id)) return absl::InvalidArgumentError("agency id mismatch");
  Agency next = current;
  CONCORD_ASSIGN_OR_RETURN(
      next.attributes, attributes::ApplyAttributeSettings(spec.id, current.attributes,
                                                          spec.attributes, "agency.attributes"));
  std::optional<crypto::KeyEndorsement> endorsement = std::move(spec.key_endorsement);
  spec.attributes.clear();
  spec.key_endorsement.reset();
  const bool keys_changed =
      SigningRaw(spec) != SigningRaw(current.spec) || SealingRaw(spec) != SealingRaw(current.spec);
  if (!keys_changed) {
    // Security: an endorsement belongs to the keys it names; with the keys unchanged the stored
    // one stays (a resent identical one is accepted, any other is refused).
    if (endorsement.has_value() && !SameEndorsement(endorsement, current.key_endorsement)) {
      return EndorsementRefused("agency.key_endorsement",
                                "the keys are unchanged: an endorsement only accompanies new keys");
    }
    next.key_endorsement = current.key_endorsement;
  } else if (endorsement.has_value()) {
    CONCORD_RETURN_IF_ERROR(VerifyEndorsement(current.spec, spec, *endorsement));
    next.key_endorsement = std::move(endorsement);
  } else {
    // A re-key by an administrator (e.g. after a compromise): allowed, but unendorsed, so that
    // the agencies' libraries ask a person before trusting the new keys.
    next.key_endorsement.reset();
  }
  next.spec = std::move(spec);
  next.updated_at = now;
  next.version = current.version + 1;
  return next;
}

Status CheckAccountability(std::string_view officer, std::string_view justification) {
  FieldErrors errors;
  if (officer.empty()) {
    errors.Add("concord-officer",
               "required metadata: the acting officer (1..128 printable ASCII characters)");
  }
  if (justification.empty()) {
    errors.Add("concord-justification",
               "required metadata: why the directory is changed (1..1024 printable ASCII "
               "characters, no personal data)");
  }
  if (errors.empty()) return absl::OkStatus();
  return WithReason(errors.ToStatus("a directory change needs an officer and a justification"),
                    "ACCOUNTABILITY_REQUIRED");
}

std::vector<RecordChange> DiffAgency(const Agency* before, const Agency& after) {
  std::vector<RecordChange> out;
  const Agency empty;
  const Agency& b = before != nullptr ? *before : empty;
  const AgencySpec& x = b.spec;
  const AgencySpec& y = after.spec;
  if (x.display_name != y.display_name) out.push_back({"display_name", ""});
  if (x.jurisdiction != y.jurisdiction) out.push_back({"jurisdiction", y.jurisdiction});
  if (x.specialisations != y.specialisations) out.push_back({"specialisations", ""});
  if (x.languages != y.languages) out.push_back({"languages", ""});
  if (x.capacity != y.capacity) out.push_back({"capacity", std::to_string(y.capacity)});
  if (x.certificate_serials != y.certificate_serials) {
    out.push_back({"certificate_serials", ""});
  }
  const std::string signing = SigningRaw(y);
  if (SigningRaw(x) != signing) {
    out.push_back({"signing_public_key", crypto::KeyFingerprint(signing)});
  }
  const std::string sealing = SealingRaw(y);
  if (SealingRaw(x) != sealing) {
    out.push_back({"sealing_public_key", crypto::KeyFingerprint(sealing)});
  }
  if (!SameEndorsement(b.key_endorsement, after.key_endorsement)) {
    out.push_back({"key_endorsement", after.key_endorsement.has_value() ? "present" : "absent"});
  }
  // Attributes by effective value, so that setting a default explicitly is not a change.
  const attributes::AgencyAttributes old_attrs(
      y.id, before != nullptr ? b.attributes : attributes::AttributeMap{});
  const attributes::AgencyAttributes new_attrs(y.id, after.attributes);
  for (const attributes::EffectiveAttribute& a : new_attrs.All()) {
    bool changed = true;
    for (const attributes::EffectiveAttribute& o : old_attrs.All()) {
      if (o.name == a.name) changed = o.value != a.value;
    }
    // A registration lists what was set explicitly; an update what changed.
    if (before == nullptr ? !a.is_default : changed) {
      out.push_back({"attributes." + std::string(a.name), a.value});
    }
  }
  if (before != nullptr) {
    for (const attributes::EffectiveAttribute& o : old_attrs.All()) {
      bool still = false;
      for (const attributes::EffectiveAttribute& a : new_attrs.All()) still |= a.name == o.name;
      if (!still) out.push_back({"attributes." + std::string(o.name), "unset"});
    }
    if (b.state != after.state) {
      out.push_back({"state", after.state == AgencyState::kSuspended ? "suspended" : "active"});
    }
  }
  return out;
}

std::string ChangeSummary(const std::vector<RecordChange>& changes) {
  std::string out;
  for (const RecordChange& c : changes) {
    if (!out.empty()) out += "; ";
    out += c.field;
    if (!c.value.empty()) out += "=" + c.value;
  }
  return out;
}

Disclosure DisclosureFor(const std::vector<authz::Principal>& principals) {
  using P = authz::Principal;
  for (P p : principals) {
    switch (p) {
      case P::kPolice:
      case P::kMagistrate:
      case P::kReceptionCentre:
      case P::kImmigrationOffice:
      case P::kSocialInspection:
      case P::kGuardianshipService:
      case P::kCoordinationUnit:
      case P::kDirectoryAdmin:
      case P::kAuditReviewer:
        return Disclosure::kFull;
      case P::kForeignPartner:
      case P::kPlatform:
      case P::kConcordService:
      case P::kOtherAdmin:
      case P::kPartnerGateway:  // never reaches the directory (docs/security.md)
        break;
    }
  }
  return Disclosure::kPublic;
}

bool ReceivesDirectoryAnnouncements(const AgencyId& agency) {
  switch (agency.type) {
    case AgencyType::kPolice:
    case AgencyType::kMagistrate:
    case AgencyType::kReceptionCentre:
    case AgencyType::kImmigrationOffice:
    case AgencyType::kSocialInspection:
    case AgencyType::kGuardianshipService:
      return true;
    default:
      // The coordination unit, foreign partners and admin identities have no inbox (policy
      // table); platforms are not among the recipients messaging allows Concord's notifiers.
      return false;
  }
}

StatusOr<Agency> SuspendAgency(const Agency& current, std::string_view reason, absl::Time now) {
  FieldErrors errors;
  (void)ValidateReason(reason, "reason", errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid suspension"));
  if (current.state == AgencyState::kSuspended) {
    return absl::FailedPreconditionError("agency is already suspended");
  }
  Agency next = current;
  next.state = AgencyState::kSuspended;
  next.suspension_reason = Trim(reason);
  next.updated_at = now;
  next.version = current.version + 1;
  return next;
}

StatusOr<Agency> ReinstateAgency(const Agency& current, absl::Time now) {
  if (current.state != AgencyState::kSuspended) {
    return absl::FailedPreconditionError("agency is not suspended");
  }
  Agency next = current;
  next.state = AgencyState::kActive;
  next.suspension_reason.clear();
  next.updated_at = now;
  next.version = current.version + 1;
  return next;
}

StatusOr<RevokedSerial> NewRevocation(std::string_view serial, std::string_view reason,
                                      absl::Time now) {
  FieldErrors errors;
  const bool hex_only = !serial.empty() && std::all_of(serial.begin(), serial.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':';
  });
  std::string normalised = hex_only ? NormalizeSerial(serial) : std::string();
  if (!IsValidSerial(normalised)) {
    errors.Add("serial", "must be a hexadecimal certificate serial of at most 20 bytes");
  }
  (void)ValidateReason(reason, "reason", errors);
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid revocation"));
  return RevokedSerial{std::move(normalised), Trim(reason), now};
}

StatusOr<AgencyFilter> NormalizeFilter(AgencyFilter filter) {
  FieldErrors errors;
  filter.jurisdiction = Upper(Trim(filter.jurisdiction));
  if (!filter.jurisdiction.empty() && !IsValidJurisdiction(filter.jurisdiction)) {
    errors.Add("jurisdiction", "must be an ISO 3166-1/3166-2 code");
  }
  filter.specialisation = Lower(Trim(filter.specialisation));
  if (!filter.specialisation.empty() && !IsValidSpecialisation(filter.specialisation)) {
    errors.Add("specialisation", "must match ^[a-z][a-z0-9_]{0,31}$");
  }
  filter.language = Lower(Trim(filter.language));
  if (!filter.language.empty() && !IsValidLanguage(filter.language)) {
    errors.Add("language", "must be an ISO 639-1 code");
  }
  CONCORD_RETURN_IF_ERROR(errors.ToStatus("invalid filter"));
  return filter;
}

bool Matches(const Agency& agency, const AgencyFilter& f) {
  auto contains = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  if (f.type.has_value() && agency.spec.id.type != *f.type) return false;
  if (!f.jurisdiction.empty() && agency.spec.jurisdiction != f.jurisdiction) return false;
  if (!f.specialisation.empty() && !contains(agency.spec.specialisations, f.specialisation)) {
    return false;
  }
  if (!f.language.empty() && !contains(agency.spec.languages, f.language)) return false;
  if (!f.include_suspended && agency.state == AgencyState::kSuspended) return false;
  return true;
}

StatusOr<int> EffectivePageSize(int requested) {
  if (requested < 0) {
    return InvalidArgumentWithFields("invalid page", {{"page.page_size", "must not be negative"}});
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

}  // namespace concord::directory
