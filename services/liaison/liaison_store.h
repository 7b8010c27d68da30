// File: services/liaison/liaison_store.h
//
// LiaisonStore: the storage interface of the liaison service. One Apply() per request change is
// an atomic compare-and-set on the request version that also keeps every index in step (party
// lists, counts by type and state, the clocks' firing and due entries) and queues the change's
// notifications in an outbox. JIT changes are atomic the same way, and the membership of the
// sharer and of every recipient is checked in the same script that appends to the ledger.
//
// Values hold no personal data in clear: requests and ledger entries carry ids, agency keys,
// states, codes, times and SHA-256 digests only (the substance travels sealed in messaging).
// RedisLiaisonStore (redis_liaison_store.h) implements it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/quota/token_bucket.h"
#include "common/status/status.h"
#include "concord/liaison/v1/liaison.pb.h"

namespace concord::liaison {

/// An outbox item for a change (sent as queued).
struct ChangeNote {
  std::string id;                       // deterministic: "<request_id>-v<version>"
  std::vector<std::string> recipients;  // agency keys
  std::string body;                     // JSON, no personal data
};

/// One planned firing of a running clock.
struct PlannedFiring {
  absl::Time at;
  v1::ClockKind clock = v1::CLOCK_KIND_UNSPECIFIED;
  std::string stage;  // "reminder" | "overdue" | "follow_up"
  absl::Time due;
};

struct RequestWrite {
  std::optional<v1::Request> previous;  // nullopt = create
  v1::Request next;
  v1::HistoryEntry entry;
  /// Every firing of next's running clocks (replaces those of previous).
  std::vector<PlannedFiring> firings;
  std::vector<ChangeNote> notes;
  /// The acting agency's liaison_request bucket (empty: no quota), charged first: a refused
  /// write (RESOURCE_EXHAUSTED QUOTA_EXCEEDED, common/quota/refusal.h) writes nothing.
  std::vector<quota::Charge> charges;
  /// The party-index keys of issuer and executor (empty: AgencyKeyOf). A partner deployment's
  /// agency is indexed as "<trust domain>|<type>/<id>" so that it never shares a list with a
  /// local agency of the same type and id.
  std::string issuer_index;
  std::string executor_index;
};

/// One item of the outbox.
struct OutboxItem {
  std::string stream_id;
  std::string type;  // "change" | "clock"
  std::string id;
  std::string request_id;
  std::vector<std::string> recipients;               // change
  std::string body;                                  // change
  v1::ClockKind clock = v1::CLOCK_KIND_UNSPECIFIED;  // clock
  std::string stage;                                 // clock
  absl::Time due = absl::InfinitePast();             // clock (whole ms)
};

struct ClaimedFiring {
  std::string request_id;
  v1::ClockKind clock = v1::CLOCK_KIND_UNSPECIFIED;
  std::string stage;
  std::string type_label;  // "eio", ...
};

struct RequestPage {
  std::vector<v1::Request> requests;
  std::string next_page_token;
};

/// A JIT change: membership (add or remove one member) with its ledger entry.
struct JitWrite {
  std::optional<v1::Jit> previous;  // nullopt = create
  v1::Jit next;
  std::vector<std::string> add_keys;     // member agency keys added
  std::vector<std::string> remove_keys;  // member agency keys removed
  std::vector<v1::JitEntry> entries;     // appended (seq assigned by the store)
  /// The acting agency's jit_write bucket (empty: no quota), charged first.
  std::vector<quota::Charge> charges;
};

/// Implementations are thread-safe; every method may return UNAVAILABLE (storage unreachable);
/// a failed call writes nothing.
class LiaisonStore {
 public:
  virtual ~LiaisonStore() = default;

  /// NOT_FOUND when absent.
  virtual StatusOr<v1::Request> Get(std::string_view request_id) = 0;
  virtual StatusOr<std::vector<v1::HistoryEntry>> History(std::string_view request_id) = 0;
  /// Atomic compare-and-set on previous->version: ABORTED when stale, NOT_FOUND when missing,
  /// ALREADY_EXISTS on a create of an existing id.
  virtual Status Apply(const RequestWrite& write) = 0;
  /// Requests where `agency_key` is issuer or executor, newest update first; type/state
  /// UNSPECIFIED = any. INVALID_ARGUMENT ("page.page_token") for a token not issued here.
  virtual StatusOr<RequestPage> ListForAgency(const std::string& agency_key, v1::RequestType type,
                                              v1::RequestState state, int page_size,
                                              std::string_view page_token) = 0;

  /// "<type label>:<state label>" -> requests (zero counts absent).
  virtual StatusOr<std::map<std::string, int64_t>> CountByTypeState() = 0;
  /// Running clocks due in [from, to), by type label.
  virtual StatusOr<std::map<std::string, int64_t>> CountDueBetween(absl::Time from,
                                                                   absl::Time to) = 0;

  /// Claims every firing due at or before `now` (at most `max`), exactly once across replicas,
  /// and appends one outbox item each.
  virtual StatusOr<std::vector<ClaimedFiring>> FireDue(absl::Time now, int max) = 0;
  virtual StatusOr<std::vector<OutboxItem>> ReadOutbox(std::string_view consumer, int max,
                                                       absl::Duration claim_after) = 0;
  virtual Status AckOutbox(const std::vector<std::string>& stream_ids) = 0;
  virtual StatusOr<int64_t> OutboxPending() = 0;

  /// Binds `key` (a request that crossed the border: "<partner trust domain>|<its request id
  /// there>") to `proposed_id` unless it is bound already, atomically; returns the bound id (the
  /// first one: a retried crossing records once).
  virtual StatusOr<std::string> ClaimCrossing(std::string_view key,
                                              std::string_view proposed_id) = 0;
  /// The local request id bound to `key` by ClaimCrossing, if any.
  virtual StatusOr<std::optional<std::string>> FindCrossing(std::string_view key) = 0;

  /// DSA art. 18 links, per police agency and case reference (idempotent per message id).
  virtual Status Link(const std::string& police_key, const v1::NotificationLink& link) = 0;
  virtual StatusOr<std::vector<v1::NotificationLink>> Links(const std::string& police_key,
                                                            std::string_view case_reference) = 0;

  /// JIT. NOT_FOUND when absent.
  virtual StatusOr<v1::Jit> GetJit(std::string_view jit_id) = 0;
  /// Atomic compare-and-set on previous->version (ABORTED when stale); returns the seq of the
  /// last entry appended.
  virtual StatusOr<int64_t> ApplyJit(const JitWrite& write) = 0;
  /// Appends `entry` when `actor_key` and every one of `recipient_keys` are current members
  /// (PERMISSION_DENIED NOT_A_JIT_MEMBER / FAILED_PRECONDITION RECIPIENT_NOT_A_MEMBER otherwise,
  /// nothing written). Returns its seq. `charges` (the actor's jit_write bucket; empty: no
  /// quota) are charged first: RESOURCE_EXHAUSTED QUOTA_EXCEEDED, nothing written.
  virtual StatusOr<int64_t> AppendJitEntry(std::string_view jit_id, const std::string& actor_key,
                                           const std::vector<std::string>& recipient_keys,
                                           const v1::JitEntry& entry,
                                           const std::vector<quota::Charge>& charges) = 0;
  /// Entries with seq > after_seq, at most `max`, oldest first (seq filled in).
  virtual StatusOr<std::vector<v1::JitEntry>> JitEntries(std::string_view jit_id, int64_t after_seq,
                                                         int max) = 0;
  /// Is `agency_key` a current member? (One SISMEMBER: cheap enough for a stream's poll.)
  virtual StatusOr<bool> IsJitMember(std::string_view jit_id, const std::string& agency_key) = 0;
};

}  // namespace concord::liaison
