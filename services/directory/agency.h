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
//   - state kSuspended <=> suspension_reason non-empty; version >= 1, +1 on every change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
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
};

struct Agency {
  AgencySpec spec;
  AgencyState state = AgencyState::kActive;
  std::string suspension_reason;
  absl::Time created_at;
  absl::Time updated_at;
  int64_t version = 0;

  const AgencyId& id() const { return spec.id; }
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

/// A new ACTIVE agency, version 1. `spec` must come from NormalizeAgencySpec.
Agency NewAgency(AgencySpec spec, absl::Time now);

/// `current` with the mutable fields of `spec` (same id), version + 1. State, suspension reason
/// and created_at are kept. ABORTED when expected_version != 0 and != current.version.
StatusOr<Agency> UpdateAgency(const Agency& current, AgencySpec spec, int64_t expected_version,
                              absl::Time now);

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
