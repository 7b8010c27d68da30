// File: services/referrals/referral_store.h
//
// ReferralStore: the storage interface of the referrals service (REFERRALS.md "Store API").
// One Apply() per case change is an atomic compare-and-set on the case version that also keeps
// every index in step (party lists, per-state counts, centre load, deadlines, sealed record
// versions) and queues the change's notifications in an outbox. A deadline scheduler claims due
// deadline firings with FireDue(); a notifier drains the outbox with ReadOutbox()/AckOutbox().
//
// Values hold no plaintext personal data: the personal record only ever exists as the client's
// SealedRecord (ciphertext + wrapped keys). RedisReferralStore (redis_referral_store.h) is the
// implementation; tests may write in-memory fakes of this interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"
#include "services/referrals/deadlines.h"

namespace concord::referrals {

/// An outbox item for a transition.
struct Notification {
  std::string id;  // deterministic: "<case_id>-v<version>" -> used as the message id
  std::string case_id;
  std::vector<std::string> recipients;  // agency keys "<type>/<id>"
  std::string body;                     // non-identifying JSON text
};

/// Everything one case change writes, atomically.
struct CaseWrite {
  std::optional<v1::Case> previous;  // nullopt = create (ALREADY_EXISTS if the id exists)
  v1::Case next;                     // next.version == previous.version + 1 (1 on create)
  v1::HistoryEntry entry;
  std::optional<v1::SealedRecord> sealed;  // stored as version sealed->version()
  // A document request's identity box / a guardian box, stored under "identity:<version>" /
  // "guardian:<version>" (version = next.version: the case version of the transition).
  std::optional<v1::SealedRecord> sealed_identity;
  std::optional<v1::SealedRecord> sealed_guardian;
  std::vector<DeadlineStart> deadlines_started;  // replaces a running deadline of the same kind
  std::vector<v1::DeadlineKind> deadlines_ended;
  std::vector<Notification> notifications;
  // SaveDraft only (docs/operations.md "Quotas and limits"): charged to the referring agency's
  // draft bucket in the same script (RESOURCE_EXHAUSTED QUOTA_EXCEEDED when short), and a new
  // draft is refused when the referring agency already holds `draft_cap` drafts
  // (RESOURCE_EXHAUSTED LIMIT_REACHED; 0 = no cap). Nothing is written when refused.
  std::vector<quota::Charge> charges;
  int draft_cap = 0;
};

/// One item of the outbox stream.
struct OutboxItem {
  std::string stream_id;  // the stream entry id, for AckOutbox
  std::string type;       // "transition" | "deadline"
  std::string id;         // notification / firing id (deterministic, used as the message id)
  std::string case_id;
  // type "transition":
  std::vector<std::string> recipients;
  std::string body;
  // type "deadline":
  v1::DeadlineKind kind = v1::DEADLINE_KIND_UNSPECIFIED;
  std::string stage;                      // "reminder" | "due" | "overdue" | "expired"
  absl::Time due = absl::InfinitePast();  // whole milliseconds (compare with ToUnixMillis)
};

/// One deadline firing claimed by FireDueFirings (id as in the outbox item).
struct Firing {
  std::string id;  // "<case_id>-<kind name>-<stage>-<due unix ms>"
  std::string case_id;
  v1::DeadlineKind kind = v1::DEADLINE_KIND_UNSPECIFIED;
  std::string stage;
  absl::Time due = absl::InfinitePast();      // whole milliseconds
  absl::Time fire_at = absl::InfinitePast();  // whole milliseconds
};

struct CasePage {
  std::vector<v1::Case> cases;
  std::string next_page_token;  // empty: no more pages
};

/// Implementations are thread-safe. Every method may return UNAVAILABLE (storage unreachable); a
/// failed call writes nothing.
class ReferralStore {
 public:
  virtual ~ReferralStore() = default;

  /// NOT_FOUND when there is no such case.
  virtual StatusOr<v1::Case> Get(std::string_view case_id) = 0;

  /// Atomic compare-and-set on previous->version: ABORTED "case <id> is at version N, not M" when
  /// stale; NOT_FOUND when previous is set but the case does not exist; ALREADY_EXISTS on create
  /// of an existing id (or a sealed record version that is already stored); INVALID_ARGUMENT
  /// when the write is inconsistent (ids, versions, deadline kinds); RESOURCE_EXHAUSTED when its
  /// charges or draft cap refuse it. Writes case, history, party
  /// indexes (by agency key, for the agencies that may see the case: Viewers; removed when they
  /// change), per-state counts, centre load
  /// (OccupiesCentre), deadlines (zset of fire times + zset of due times for the overdue gauge),
  /// sealed record and outbox entries (XADD to the outbox stream) - all or nothing.
  virtual Status Apply(const CaseWrite& write) = 0;

  /// The sealed record `version` of the case (0 = latest). NOT_FOUND when absent.
  virtual StatusOr<v1::SealedRecord> GetSealed(std::string_view case_id, int64_t version) = 0;
  /// A sealed box of the case: the record `version` (RECORD, UNSPECIFIED), or the identity /
  /// guardian box stored by the transition that created case version `version` (>= 1).
  /// NOT_FOUND when absent.
  virtual StatusOr<v1::SealedRecord> GetSealedBox(std::string_view case_id, v1::SealedBox box,
                                                  int64_t version) = 0;

  /// The history, oldest first. NOT_FOUND when there is no such case.
  virtual StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view case_id) = 0;

  /// Cases the agency may see (a party; a draft: its referring agency only), newest update first;
  /// state UNSPECIFIED = any; due_before = only cases with a running deadline due before that time
  /// (absl::InfiniteFuture() = no filter). page_size 0 = 50, at most 500. INVALID_ARGUMENT (field
  /// "page.page_token") for a token this store did not issue.
  virtual StatusOr<CasePage> ListForAgency(const std::string& agency_key, v1::CaseState state,
                                           absl::Time due_before, int page_size,
                                           std::string_view page_token) = 0;

  /// Agency key of each receiving centre -> cases it currently holds (OccupiesCentre states).
  virtual StatusOr<std::map<std::string, int64_t>> CentreLoad() = 0;
  /// Number of cases per state (states without cases are absent).
  virtual StatusOr<std::map<v1::CaseState, int64_t>> CountByState() = 0;
  /// Running deadlines with due < now.
  virtual StatusOr<int64_t> CountOverdue(absl::Time now) = 0;

  /// Scheduler: atomically (one script) removes every fire entry due at or before `now` (at most
  /// `max`) and appends one outbox item per firing. Several replicas may call it concurrently:
  /// each firing is claimed exactly once. Returns the number claimed.
  virtual StatusOr<int> FireDue(absl::Time now, int max) = 0;

  /// As FireDue, but returns what was claimed (the scheduler counts firings by kind and stage).
  /// The default, for fakes that only implement FireDue, reports `n` firings of unknown kind.
  virtual StatusOr<std::vector<Firing>> FireDueFirings(absl::Time now, int max) {
    StatusOr<int> n = FireDue(now, max);
    if (!n.ok()) return n.status();
    return std::vector<Firing>(static_cast<size_t>(*n), Firing{});
  }

  /// Outbox: consumer group "notifier". Returns first the items another consumer read but did not
  /// ack within `claim_after` (now owned by `consumer`), then new items; at most `max`, without
  /// blocking.
  virtual StatusOr<std::vector<OutboxItem>> ReadOutbox(std::string_view consumer, int max,
                                                       absl::Duration claim_after) = 0;
  /// Acknowledges and deletes the items. INVALID_ARGUMENT for a malformed stream id.
  virtual Status AckOutbox(const std::vector<std::string>& stream_ids) = 0;
  /// Items in the outbox not yet acknowledged.
  virtual StatusOr<int64_t> OutboxPending() = 0;
};

}  // namespace concord::referrals
