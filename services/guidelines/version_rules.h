// File: services/guidelines/version_rules.h
//
// The pure rules of the guidelines service (docs/guidelines.md), without I/O: who sees a version,
// which version of a guideline is in force, whether a new version may follow the guideline's
// history, and which language Get serves. The Guidebook (guidebook.h) applies them to what the
// store returns; they are unit-tested on their own (tests/services/guidelines).
//
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/guideline/guideline.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::guidelines {

/// What the service keeps about a version besides its signed bytes: a summary of the signed
/// fields (for visibility and listing without reading the text) and its state.
struct VersionMeta {
  std::string guideline_id;
  int64_t version = 0;
  AgencyId publisher;
  absl::Time effective_at = absl::UnixEpoch();
  absl::Time ack_deadline = absl::UnixEpoch();
  std::vector<std::string> topics;
  guideline::Audience audience;
  std::map<std::string, std::string> titles;  // language -> title
  std::string sha256;                         // raw, 32 bytes
  absl::Time published_at = absl::UnixEpoch();
  bool withdrawn = false;
  absl::Time withdrawn_at = absl::UnixEpoch();
  int64_t superseded_by = 0;  // 0 = not superseded
  absl::Time superseded_at = absl::UnixEpoch();

  std::string Name() const { return guideline::VersionName(guideline_id, version); }
};

/// The summary of a signed version (state fields left at their defaults).
VersionMeta MetaOf(const guideline::Version& version, std::string_view sha256);

/// The version's audience names the agency's type or the agency (it may acknowledge it and
/// receives it on Subscribe).
bool Addressed(const VersionMeta& meta, const AgencyId& agency);
/// Addressed, or the audience is public, or the agency published it. Everyone else gets
/// NOT_FOUND for it, as for a version that does not exist.
bool Visible(const VersionMeta& meta, const AgencyId& agency);
/// Not withdrawn and effective_at has passed.
bool Effective(const VersionMeta& meta, absl::Time now);

/// The version in force: the highest-numbered effective version (nullopt when none).
std::optional<int64_t> InForce(const std::vector<VersionMeta>& versions, absl::Time now);

/// What the store knows of a guideline before a publication.
struct GuidelineHead {
  AgencyId owner;      // the publisher of version 1
  int64_t latest = 0;  // the highest version number
};

/// A new version may follow the history: its publisher is the caller; version 1 creates the
/// guideline (ABORTED VERSION_CONFLICT if it exists); version N > 1 needs the guideline
/// (NOT_FOUND), the caller as its owner (PERMISSION_DENIED NOT_GUIDELINE_PUBLISHER) and N ==
/// latest + 1 (ABORTED VERSION_CONFLICT "guideline <id> is at version <latest>"). The store
/// checks the same atomically; this gives the precise error first.
Status CheckSuccession(const guideline::Version& version, const AgencyId& caller,
                       const std::optional<GuidelineHead>& head);

/// The languages Get may be asked for (ISO 639-1, lower case), at most 6, no duplicates.
Status ValidatePreferredLanguages(const std::vector<std::string>& preferred,
                                  std::string_view field);

struct LanguageChoice {
  std::string served;
  std::vector<std::string> order;  // the order applied, without duplicates
};
/// The caller's preferences in order, then nl, fr, de, en, then the version's languages in code
/// order; `served` is the first of them that the version has. `available` must not be empty.
LanguageChoice ChooseLanguage(const std::vector<std::string>& available,
                              const std::vector<std::string>& preferred);

/// INVALID_ARGUMENT (field `field`) unless `id` is a guideline id.
Status ValidateGuidelineId(std::string_view id, std::string_view field);

}  // namespace concord::guidelines
