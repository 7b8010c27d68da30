// File: services/directory/agency.h
//
// The directory's domain, pure (no I/O, time passed in): what an agency record is, how an
// administrator's input is validated and normalised, and the state changes (register, update,
// suspend, reinstate) with their rules. The gRPC layer (directory_service.cc) converts protos to
// these structs; the store (directory_store.h) persists them.
//
// Invariants of an Agency:
//   - id.trust_domain is the deployment's; id.id matches ^[a-z0-9][a-z0-9-]{0,62}$;
//   - display_name: 1..200 characters of valid UTF-8, no control characters, trimmed;
//   - jurisdiction: "CC" or "CC-SSS" (ISO 3166-1 alpha-2 / ISO 3166-2 style, upper case); for
//     Belgium ("BE-...") one of the ISO 3166-2:BE codes (regions and provinces);
//   - specialisations: 0..16 distinct ^[a-z][a-z0-9_]{0,31}$ tokens, sorted;
//   - languages: 0..16 distinct ISO 639-1 codes (lower case), sorted;
//   - signing key: an Ed25519 public key PEM; sealing key: an X25519 public key PEM;
//   - certificate_serials: 0..16 distinct normalised serials (upper-case hex, 1..40 digits);
//   - state kSuspended <=> suspension_reason non-empty; version >= 1, +1 on every change;
//   - attributes: explicit values that validate for the agency (common/attributes);
//   - key_endorsement, when present, is a valid endorsement of the CURRENT keys by the signing
//     key the agency had before them (verified when the keys changed, kept while they do not).
//
// Accountability: every change needs the acting officer (metadata concord-officer) and a
// justification (metadata concord-justification, the only source); CheckAccountability.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/attributes/agency_attributes.h"
#include "common/authz/policy.h"
#include "common/crypto/key_endorsement.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::directory {

enum class AgencyState { kActive, kSuspended };

/// What an administrator provides when registering or updating an agency.
struct AgencySpec {
  AgencyId id;  // trust_domain "" = the deployment's
  std::string display_name;
  std::string jurisdiction;
  std::vector<std::string> specialisations;
  std::vector<std::string> languages;
  std::string signing_public_key_pem;
  std::string sealing_public_key_pem;
  std::vector<std::string> certificate_serials;
  int capacity = 0;  // reception centres: places for victims; 0 = not declared
  /// Input only (empty in a stored Agency). Register: the attributes to set. Update: each named
  /// attribute is set, or reset to its default for value ""; attributes not named are kept.
  std::vector<attributes::AttributeSetting> attributes;
  /// Input only (UpdateAgency): the agency's endorsement of its new keys.
  std::optional<crypto::KeyEndorsement> key_endorsement;
};

struct Agency {
  AgencySpec spec;  // spec.attributes and spec.key_endorsement are always empty here
  AgencyState state = AgencyState::kActive;
  std::string suspension_reason;
  absl::Time created_at;
  absl::Time updated_at;
  int64_t version = 0;
  attributes::AttributeMap attributes;                    // explicit values
  std::optional<crypto::KeyEndorsement> key_endorsement;  // of the current keys, if any

  const AgencyId& id() const { return spec.id; }
};

/// What a caller may see of a record (GetAgency, ListAgencies). kPublic: identity, display name,
/// public keys and their endorsement only: what platforms, foreign partners, Concord's service
/// identities and admin identities without a directory role need to verify signatures and seal.
/// kFull: everything (domestic agencies, directory administrators, audit reviewers).
enum class Disclosure { kPublic, kFull };

/// kFull for the domestic agency types, directory administrators and audit reviewers; kPublic
/// for platforms, foreign partners, Concord's service identities and admins without a role.
Disclosure DisclosureFor(const std::vector<authz::Principal>& principals);

/// One element of a change, for the audit record's details and the announcement to the agency.
/// Never personal data: field names, key fingerprints, attribute values.
struct RecordChange {
  std::string field;  // "display_name", "signing_public_key", "attributes.audit_reviewer", ...
  std::string value;  // key fingerprint, attribute's effective value; "" for other fields
};

struct RevokedSerial {
  std::string serial;  // normalised
  std::string reason;
  absl::Time revoked_at;
};

/// Filters of ListAgencies; empty fields match everything. Matching is exact (after the same
/// normalisation as the record fields).
struct AgencyFilter {
  std::optional<AgencyType> type{};
  std::string jurisdiction{};
  std::string specialisation{};
  std::string language{};
  bool include_suspended = false;
};

inline constexpr size_t kMaxDisplayNameChars = 200;
inline constexpr size_t kMaxListEntries = 16;
inline constexpr size_t kMaxReasonChars = 500;
inline constexpr size_t kMaxPemBytes = 4096;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

/// Validates and normalises an administrator's input (trims the name, upper-cases the
/// jurisdiction, lower-cases languages, sorts and de-duplicates lists, normalises serials, fills
/// in the trust domain). INVALID_ARGUMENT with one field violation per problem, fields named
/// with `field_prefix` ("agency.display_name", "agency.languages[1]", ...).
StatusOr<AgencySpec> NormalizeAgencySpec(AgencySpec spec, std::string_view trust_domain,
                                         std::string_view field_prefix = "agency");

/// Validates an agency id given in a request (trust domain "" = the deployment's).
StatusOr<AgencyId> NormalizeAgencyId(AgencyId id, std::string_view trust_domain,
                                     std::string_view field = "id");

/// A new ACTIVE agency, version 1, with the attributes of `spec`. `spec` must come from
/// NormalizeAgencySpec. INVALID_ARGUMENT (field "agency.key_endorsement") when it carries an
/// endorsement: a new agency has no previous key.
StatusOr<Agency> NewAgency(AgencySpec spec, absl::Time now);

/// `current` with the mutable fields of `spec` (same id), version + 1. State, suspension reason
/// and created_at are kept; attributes are merged (AgencySpec::attributes). ABORTED when
/// expected_version != 0 and != current.version.
///
/// Keys and endorsement (docs/crypto.md "Key endorsement"):
///   - keys unchanged: the stored endorsement is kept; an endorsement in `spec` that differs from
///     it is INVALID_ARGUMENT (field "agency.key_endorsement": nothing to endorse);
///   - keys changed with an endorsement: it must be by the CURRENT signing key over the new keys
///     (crypto::VerifyKeyEndorsement), else INVALID_ARGUMENT with field "agency.key_endorsement"
///     (or ".previous_signing_key" / ".signature" / ".issued_at" for a malformed one) and
///     ErrorInfo reason KEY_ENDORSEMENT_INVALID; it is stored with the keys;
///   - keys changed without an endorsement (an administrator's re-key after a compromise):
///     allowed; the record then carries no endorsement, and agency libraries refuse the new keys
///     until a person accepts them.
StatusOr<Agency> UpdateAgency(const Agency& current, AgencySpec spec, int64_t expected_version,
                              absl::Time now);

/// OK iff `officer` and `justification` (the sanitised concord-officer / concord-justification
/// metadata, "" when absent or invalid) are both given; else INVALID_ARGUMENT with one field
/// violation per missing value, fields "concord-officer" / "concord-justification", and
/// ErrorInfo reason ACCOUNTABILITY_REQUIRED.
Status CheckAccountability(std::string_view officer, std::string_view justification);

/// What differs between two versions of a record (registration: `before` = nullptr), in a fixed
/// order: profile fields, keys (fingerprints), endorsement, attributes (effective values), state.
std::vector<RecordChange> DiffAgency(const Agency* before, const Agency& after);

/// "field[=value]; ..." for the audit record's details.
std::string ChangeSummary(const std::vector<RecordChange>& changes);

/// Agency types with an inbox that Concord's notifiers may write to (docs/security.md): the
/// agency concerned by a directory change is told of it by a signed notification.
bool ReceivesDirectoryAnnouncements(const AgencyId& agency);

/// FAILED_PRECONDITION if already suspended; INVALID_ARGUMENT (field "reason") for an empty or
/// over-long reason or one with control characters.
StatusOr<Agency> SuspendAgency(const Agency& current, std::string_view reason, absl::Time now);

/// FAILED_PRECONDITION if not suspended.
StatusOr<Agency> ReinstateAgency(const Agency& current, absl::Time now);

/// Validates a serial and reason to revoke (field violations "serial", "reason").
StatusOr<RevokedSerial> NewRevocation(std::string_view serial, std::string_view reason,
                                      absl::Time now);

/// Normalises and validates list filters (field violations "jurisdiction", "specialisation",
/// "language").
StatusOr<AgencyFilter> NormalizeFilter(AgencyFilter filter);

/// Whether `agency` passes `filter` (filter normalised).
bool Matches(const Agency& agency, const AgencyFilter& filter);

/// 0 -> kDefaultPageSize; above kMaxPageSize -> kMaxPageSize; negative -> INVALID_ARGUMENT.
StatusOr<int> EffectivePageSize(int requested);

// Field-level validators, exposed for tests and the store's reads.
bool IsValidJurisdiction(std::string_view jurisdiction);  // expects upper case
bool IsValidLanguage(std::string_view code);              // ISO 639-1, lower case
bool IsValidSpecialisation(std::string_view token);
bool IsValidSerial(std::string_view normalised_serial);

}  // namespace concord::directory
