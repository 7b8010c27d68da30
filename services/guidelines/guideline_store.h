// File: services/guidelines/guideline_store.h
//
// GuidelineStore: the storage interface of the guidelines service. Each change is one atomic
// operation that checks before it writes (a publication with its frozen audience, the freeze of
// the superseded version and its feed entry; a withdrawal; an acknowledgement), so concurrent
// replicas never fork a guideline's history or count an acknowledgement twice. The feed is the
// ordered log of what took effect (versions, once effective) and of withdrawals, which every
// replica follows to push them to its Subscribe streams.
//
// RedisGuidelineStore (redis_guideline_store.h) implements it; its key schema is documented at
// the top of redis_guideline_store.cc. Tests may write in-memory fakes of this interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/guideline/guideline.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"
#include "services/guidelines/compliance.h"
#include "services/guidelines/version_rules.h"

namespace concord::guidelines {

/// A stored version: its signed bytes decoded, the hash stored with them, and its state.
struct StoredVersion {
  guideline::SignedVersion signed_version;  // decoded from the stored canonical bytes
  VersionMeta meta;                         // sha256 = the stored hash
  std::optional<guideline::SignedWithdrawal> withdrawal;
  std::optional<absl::Time> frozen_at;        // supersession or withdrawal
  std::vector<std::string> frozen_suspended;  // audience agencies suspended at frozen_at
};

struct PublishWrite {
  guideline::SignedVersion signed_version;
  std::string sha256;                  // raw, SHA-256 of the canonical bytes
  std::vector<std::string> audience;   // frozen agency keys
  absl::Time now = absl::UnixEpoch();  // published_at
  /// Audience agencies of the superseded version (version - 1) suspended now: kept with its
  /// frozen figures. Ignored for version 1 or when that version froze already.
  std::vector<std::string> previous_suspended;
  /// The publisher's publish bucket (empty: no quota), charged first: a refused publication
  /// writes nothing (RESOURCE_EXHAUSTED QUOTA_EXCEEDED, common/quota/refusal.h).
  std::vector<quota::Charge> charges;
};

/// What Publish did.
enum class PublishOutcome { kPublished, kDuplicate };

struct WithdrawWrite {
  guideline::SignedWithdrawal signed_withdrawal;
  absl::Time now = absl::UnixEpoch();
  std::vector<std::string> suspended;  // audience agencies suspended now (frozen figures)
  /// The withdrawer's publish bucket (empty: no quota), charged first, duplicates included.
  std::vector<quota::Charge> charges;
};

struct AckOutcome {
  AckRecord record;  // the first acknowledgement (the one that stands)
  bool duplicate = false;
};

/// One entry of the feed.
struct FeedEntry {
  enum class Kind { kVersion, kWithdrawal };
  std::string id;  // the feed's position, increasing (a Redis stream id "<ms>-<seq>")
  Kind kind = Kind::kVersion;
  std::string guideline_id;
  int64_t version = 0;
};

/// True when feed position `a` comes before `b` ("" comes before everything).
bool FeedIdLess(std::string_view a, std::string_view b);

/// Implementations are thread-safe. Every method may return UNAVAILABLE (storage unreachable); a
/// failed call writes nothing.
class GuidelineStore {
 public:
  virtual ~GuidelineStore() = default;

  /// NOT_FOUND when the guideline does not exist.
  virtual StatusOr<GuidelineHead> Head(std::string_view guideline_id) = 0;

  /// Stores a new version, atomically: version 1 creates the guideline with the caller as its
  /// owner; version N > 1 requires latest == N - 1 and the same owner, marks N - 1 superseded
  /// and freezes its figures (if not frozen already). The frozen audience is stored; an
  /// effective version is appended to the feed, a future one waits in the schedule until
  /// PromoteDue. Errors: ABORTED VERSION_CONFLICT (another version won the number, or the
  /// guideline exists for version 1), ALREADY_EXISTS VERSION_EXISTS (other bytes under this
  /// number), PERMISSION_DENIED NOT_GUIDELINE_PUBLISHER, NOT_FOUND GUIDELINE_NOT_FOUND. The same
  /// signed version again: kDuplicate, nothing written.
  virtual StatusOr<PublishOutcome> Publish(const PublishWrite& write) = 0;

  /// One version. NOT_FOUND when absent; DATA_LOSS VERSION_VERIFICATION_FAILED naming the
  /// version when its stored bytes do not decode (the caller verifies hash and signature).
  virtual StatusOr<StoredVersion> Get(std::string_view guideline_id, int64_t version) = 0;

  /// The summaries of every version of a guideline, version 1 first (empty when it does not
  /// exist).
  virtual StatusOr<std::vector<VersionMeta>> Versions(std::string_view guideline_id) = 0;

  /// The summaries of every version of every guideline, at most `max` (INTERNAL beyond:
  /// the deployment outgrew List's design, docs/guidelines.md).
  virtual StatusOr<std::vector<VersionMeta>> AllVersions(size_t max) = 0;

  /// Every guideline id, sorted.
  virtual StatusOr<std::vector<std::string>> GuidelineIds() = 0;

  /// The audience frozen at publication (agency keys, sorted).
  virtual StatusOr<std::vector<std::string>> Audience(std::string_view guideline_id,
                                                      int64_t version) = 0;

  /// Whether `agency_key` is in the audience frozen at publication.
  virtual StatusOr<bool> InAudience(std::string_view guideline_id, int64_t version,
                                    const std::string& agency_key) = 0;

  /// Records a withdrawal and appends it to the feed, freezing the version's figures.
  /// NOT_FOUND; FAILED_PRECONDITION SHA256_MISMATCH (the withdrawal names other bytes) or
  /// ALREADY_WITHDRAWN (another withdrawal). The same signed withdrawal again: true (duplicate).
  virtual StatusOr<bool> Withdraw(const WithdrawWrite& write) = 0;

  /// Records the first acknowledgement of `agency_key` (later ones are duplicates that return
  /// the first). NOT_FOUND; FAILED_PRECONDITION SHA256_MISMATCH or VERSION_WITHDRAWN. `charges`
  /// (the agency's ack bucket; empty: no quota) are charged first, duplicates included: a
  /// refused acknowledgement (RESOURCE_EXHAUSTED QUOTA_EXCEEDED) writes nothing.
  virtual StatusOr<AckOutcome> Acknowledge(std::string_view guideline_id, int64_t version,
                                           const std::string& agency_key, std::string_view sha256,
                                           absl::Time now,
                                           const std::vector<quota::Charge>& charges) = 0;

  /// Every acknowledgement of a version, by agency key.
  virtual StatusOr<std::map<std::string, AckRecord>> Acks(std::string_view guideline_id,
                                                          int64_t version) = 0;

  /// For each (guideline, version): whether `agency_key` acknowledged it, and when.
  virtual StatusOr<std::vector<std::optional<AckRecord>>> AckedBy(
      const std::string& agency_key,
      const std::vector<std::pair<std::string, int64_t>>& versions) = 0;

  /// Feed entries after position `after` ("" = from the start), oldest first, at most `max`.
  virtual StatusOr<std::vector<FeedEntry>> ReadFeed(std::string_view after, size_t max) = 0;

  /// Appends to the feed every scheduled version whose effective_at is at or before `now` (at
  /// most `max`; withdrawn ones are dropped), exactly once across replicas. Returns how many.
  virtual StatusOr<int> PromoteDue(absl::Time now, int max) = 0;
};

}  // namespace concord::guidelines
