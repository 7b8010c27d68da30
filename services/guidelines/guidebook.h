// File: services/guidelines/guidebook.h
//
// Guidebook: the rules of the guidelines service (docs/guidelines.md) over its store and the
// directory, without gRPC: Publish, Withdraw, Get, List, Diff, Acknowledge and Compliance take
// the caller's agency (from its certificate) and domain values and return domain values or a
// Status whose code and ErrorInfo reason the handler passes on unchanged.
//
//   * Who publishes: the caller must hold the publisher right in the directory
//     (PERMISSION_DENIED NO_PUBLISHER_RIGHT), sign the version with its directory key
//     (PERMISSION_DENIED BAD_SIGNATURE) and, after version 1, own the guideline
//     (NOT_GUIDELINE_PUBLISHER).
//   * Who sees what: a version is visible to the agencies it addresses, to everyone when public,
//     and to its publisher; anything else is NOT_FOUND with the same message as for a version
//     that does not exist.
//   * Every version read (Get, Diff; the distributor through LoadVerified) is verified against
//     its stored hash and the publisher's directory key first: DATA_LOSS
//     VERSION_VERIFICATION_FAILED naming the version otherwise.
//
// Thread safety: thread-safe (the store and directory are).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/authz/policy.h"
#include "common/guideline/guideline.h"
#include "common/quota/token_bucket.h"
#include "common/time/clock.h"
#include "services/guidelines/compliance.h"
#include "services/guidelines/guideline_directory.h"
#include "services/guidelines/guideline_store.h"
#include "services/guidelines/line_diff.h"
#include "services/guidelines/version_rules.h"

namespace concord::guidelines {

struct GuidebookOptions {
  std::string trust_domain;
  /// A withdrawal must be dated within this of the server's clock.
  absl::Duration replay_window = absl::Minutes(5);
  /// List reads every version's summary: this many at most (INTERNAL beyond).
  size_t max_versions = 10000;
  /// The process's quota table (null: no quota): Publish and Withdraw charge the caller's
  /// `publish` bucket, Acknowledge its `ack` bucket (duplicates included), inside the store's
  /// script; beyond it RESOURCE_EXHAUSTED QUOTA_EXCEEDED with RetryInfo (common/quota).
  const quota::QuotaTable* quotas = nullptr;
};

/// What the caller's agency is to a version.
struct CallerView {
  bool effective = false;
  bool in_force = false;
  bool addressed = false;
  std::optional<AckRecord> acknowledged;
};

struct PublishResult {
  std::string sha256;  // raw
  absl::Time published_at = absl::UnixEpoch();
  bool duplicate = false;
  int audience_size = 0;
  bool effective = false;
};

struct WithdrawResult {
  absl::Time recorded_at = absl::UnixEpoch();
  bool duplicate = false;
};

struct ReadResult {
  StoredVersion stored;  // verified
  CallerView view;
  LanguageChoice language;
};

struct ListQuery {
  std::string guideline_id;  // "" = any
  std::string topic;         // "" = any
  std::optional<AgencyType> audience_type;
  bool public_only = false;
  std::optional<absl::Time> effective_from;  // inclusive
  std::optional<absl::Time> effective_to;    // exclusive
  bool include_superseded = false;
  bool include_withdrawn = false;
  int page_size = 0;  // 0 = 50; at most 500
  std::string page_token;
};

struct ListItem {
  VersionMeta meta;
  CallerView view;
};

struct ListPage {
  std::vector<ListItem> items;
  std::string next_page_token;
};

struct DiffResult {
  VersionMeta from, to;
  std::string from_title, to_title;
  std::vector<DiffOp> ops;
  int deleted = 0;
  int inserted = 0;
};

struct AckResult {
  AckRecord record;
  bool duplicate = false;
  bool late = false;
  bool counted = false;
};

struct ComplianceResult {
  VersionMeta meta;
  absl::Time as_of = absl::UnixEpoch();
  bool frozen = false;
  std::string frozen_reason;  // "superseded" | "withdrawn" | ""
  ComplianceReport report;
};

class Guidebook {
 public:
  /// Every reference must outlive the Guidebook. `revocations` says which agencies are suspended
  /// now (the replica's directory cache).
  Guidebook(GuidelineStore& store, GuidelineDirectory& directory,
            const authz::RevocationView& revocations, const Clock& clock, GuidebookOptions options);

  StatusOr<PublishResult> Publish(const AgencyId& caller, const guideline::SignedVersion& version);
  StatusOr<WithdrawResult> Withdraw(const AgencyId& caller,
                                    const guideline::SignedWithdrawal& withdrawal);
  /// version 0: the version in force.
  StatusOr<ReadResult> Get(const AgencyId& caller, std::string_view guideline_id, int64_t version,
                           const std::vector<std::string>& preferred_languages);
  StatusOr<ListPage> List(const AgencyId& caller, const ListQuery& query);
  StatusOr<DiffResult> Diff(const AgencyId& caller, std::string_view guideline_id,
                            int64_t from_version, int64_t to_version, std::string_view language);
  StatusOr<AckResult> Acknowledge(const AgencyId& caller, std::string_view guideline_id,
                                  int64_t version, std::string_view sha256);
  /// version 0: the version in force.
  StatusOr<ComplianceResult> Compliance(const AgencyId& caller, std::string_view guideline_id,
                                        int64_t version);

  /// A stored version verified against its hash and its publisher's directory key (and its
  /// withdrawal against the withdrawer's key). No visibility check: for the distributor, which
  /// checks each subscriber's audience itself.
  StatusOr<StoredVersion> LoadVerified(std::string_view guideline_id, int64_t version);

  /// The figures of the version in force of `guideline_id` for the gauges (no caller), or
  /// nullopt when none is in force.
  StatusOr<std::optional<ComplianceResult>> InForceFigures(std::string_view guideline_id);

  GuidelineStore& store() { return store_; }
  const Clock& clock() const { return clock_; }

 private:
  /// The summaries of a guideline and the one the caller asks for (0: in force), visible to the
  /// caller; NOT_FOUND otherwise (the same message whether it exists or not).
  StatusOr<std::pair<std::vector<VersionMeta>, VersionMeta>> Find(const AgencyId& caller,
                                                                  std::string_view guideline_id,
                                                                  int64_t version);
  StatusOr<ComplianceResult> Figures(const VersionMeta& meta, absl::Time now);
  std::vector<std::string> SuspendedAmong(const std::vector<std::string>& agency_keys) const;
  Status CheckPublisherRight(const AgencyId& caller);
  /// The charge of one call on `caller`'s bucket `quota`; empty without a quota table.
  std::vector<quota::Charge> ChargesOf(const AgencyId& caller, quota::Quota quota) const;

  GuidelineStore& store_;
  GuidelineDirectory& directory_;
  const authz::RevocationView& revocations_;
  const Clock& clock_;
  const GuidebookOptions options_;
};

}  // namespace concord::guidelines
