#include "services/audit/audit_ingester.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/crypto/hash.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "prometheus/family.h"

namespace concord::audit {
namespace {

constexpr absl::Duration kBacklogRefresh = absl::Seconds(1);

// The record that stands in the chain for an intake entry that does not open (or that the store
// did not even return: too large to be a record).
AuditEvent RejectionEvent(const std::string& trust_domain, const std::string& workload,
                          std::string_view entry, const Status& why, absl::Time now) {
  std::string justification;
  if (entry.substr(0, kOversizeIntakeEntry.size()) == kOversizeIntakeEntry) {
    const std::string_view size = entry.substr(kOversizeIntakeEntry.size());
    justification = absl::StrCat("intake entry of ", absl::string_view(size.data(), size.size()),
                                 " bytes rejected: too large to be an audit record");
  } else {
    justification = absl::StrCat("intake entry sha256 ", crypto::Sha256Hex(entry),
                                 " rejected: ", why.message());
  }
  return AuditEvent{.agency = AgencyId{trust_domain, AgencyType::kAdmin, "concord-audit"},
                    .officer = "system:ingest",
                    .operation = Operation::kCollection,
                    .object = absl::StrCat("audit-intake:", workload),
                    .method = "audit.ingest/rejected",
                    .justification = std::move(justification),
                    .recipients = {},
                    .outcome = "DATA_LOSS",
                    .time = now};
}

}  // namespace

AuditIngester::AuditIngester(AuditStore& store, const AuditKey& key, Clock& clock,
                             prometheus::Registry* registry, IngesterOptions options)
    : store_(store),
      key_(key),
      clock_(clock),
      options_(std::move(options)),
      jitter_(std::random_device{}()),
      lease_owner_(
          absl::StrCat(absl::Hex(std::random_device{}()), "-", absl::Hex(std::random_device{}()))) {
  if (registry == nullptr) return;
  auto& backlog = prometheus::BuildGauge()
                      .Name("concord_audit_intake_backlog")
                      .Help(
                          "Audit records waiting in a workload's intake to be chained (read "
                          "from Redis: deployment-wide, aggregate with max).")
                      .Register(*registry);
  auto& ingested = prometheus::BuildCounter()
                       .Name("concord_audit_ingested_total")
                       .Help("Audit intake entries chained by this replica, by source workload.")
                       .Register(*registry);
  auto& rejected = prometheus::BuildCounter()
                       .Name("concord_audit_intake_rejected_total")
                       .Help(
                           "Audit intake entries that did not open with the audit key (forged "
                           "or altered), chained as a rejection record, by workload.")
                       .Register(*registry);
  for (const std::string& w : options_.workloads) {
    metrics_[w] = WorkloadMetrics{&backlog.Add({{"workload", w}}), &ingested.Add({{"workload", w}}),
                                  &rejected.Add({{"workload", w}})};
  }
}

AuditIngester::~AuditIngester() { Stop(); }

uint64_t AuditIngester::ingested(const std::string& workload) const {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  auto it = ingested_.find(workload);
  return it == ingested_.end() ? 0 : it->second;
}

StatusOr<uint64_t> AuditIngester::IngestPending() {
  std::lock_guard<std::mutex> lock(ingest_mu_);
  uint64_t total = 0;
  int conflicts = 0;
  for (int round = 0; round < kMaxRounds;) {
    auto chained = IngestBatch();
    if (!chained.ok()) {
      head_.reset();  // the next attempt starts from what Redis says
      if (chained.status().code() != absl::StatusCode::kAborted) return chained.status();
      // Another ingester chained first: re-read. A random pause after two losses in a row lets
      // a busy peer finish instead of both retrying in lockstep.
      if (++conflicts >= kMaxConflicts) {
        return absl::AbortedError(absl::StrCat("audit ingest: lost the compare-and-set ",
                                               kMaxConflicts, " times in a row"));
      }
      if (conflicts >= 2) {
        // At most 10 ms: the shift is capped (50 << 26 overflows an int, and a negative bound
        // made the pause unbounded: a worker asleep for ever, a shutdown that never ends).
        std::uniform_int_distribution<int64_t> pause(
            0, std::min<int64_t>(10'000, int64_t{50} << std::min(conflicts, 8)));
        std::this_thread::sleep_for(std::chrono::microseconds(pause(jitter_)));
      }
      continue;
    }
    conflicts = 0;
    ++round;
    total += *chained;
    // A batch that was not full read every intake to its end: what they held when this call
    // began is chained, so no further (empty) read. An entry appended meanwhile publishes a
    // wake-up, and the worker runs again.
    if (*chained < options_.batch) break;
  }
  // A pass that chained something is followed by another (the worker's, after its linger): an
  // entry appended to a non-empty intake after this pass read it published no wake-up
  // (IntakeAuditSink), and this follow-up reads it.
  if (total > 0) Wake();
  return total;
}

StatusOr<uint64_t> AuditIngester::IngestBatch() {
  if (!head_) {
    CONCORD_ASSIGN_OR_RETURN(ChainHead head, store_.GetHead());
    if (head.hash.size() != kHashSize) {
      return absl::DataLossError("audit head hash is malformed; run Verify");
    }
    std::vector<std::string> tags;
    for (const SlotIntake& s : options_.slot_intakes) tags.push_back(s.tag);
    CONCORD_ASSIGN_OR_RETURN(slot_consumed_, store_.SlotConsumed(tags));
    head_ = std::move(head);
  }
  // Share the batch among the intakes: each gets up to `batch` entries read, and the records
  // are chained intake by intake, each intake in its own order.
  CONCORD_ASSIGN_OR_RETURN(std::vector<std::vector<std::string>> intakes,
                           store_.ReadIntakes(options_.workloads, options_.batch));
  size_t pending = 0;
  for (const auto& intake : intakes) pending += intake.size();
  std::vector<ChainEntry> entries;
  entries.reserve(std::min(pending, options_.batch));
  std::vector<std::pair<std::string, size_t>> consumed;
  std::vector<std::pair<std::string, bool>> sources;  // per entry: workload, rejected
  sources.reserve(entries.capacity());
  uint64_t seq = head_->seq;
  std::string prev = head_->hash;
  // Seals `raw` (an entry of `workload`'s intake or slot intake) as the next record.
  auto chain = [&](const std::string& workload, const std::string& raw) -> Status {
    auto event = OpenIntakeEntry(key_, workload, raw);
    const bool rejected = !event.ok();
    if (rejected) {
      event = RejectionEvent(options_.trust_domain, workload, raw, event.status(), clock_.Now());
    }
    auto record = SealRecord(key_, seq + 1, prev, *event, workload);
    if (!record.ok()) {
      // Cannot happen for an entry that opened (intake entries leave room for the source);
      // refuse the batch rather than drop the entry.
      return absl::InternalError(absl::StrCat("audit ingest: ", record.status().message()));
    }
    ++seq;
    entries.push_back(ChainEntry{seq, record->hash, record->Encode(), std::move(event->object),
                                 std::move(event->agency)});
    sources.emplace_back(workload, rejected);
    prev = std::move(record->hash);
    return absl::OkStatus();
  };
  for (size_t i = 0; i < intakes.size() && entries.size() < options_.batch; ++i) {
    const std::string& workload = options_.workloads[i];
    size_t taken = 0;
    for (const std::string& raw : intakes[i]) {
      if (entries.size() >= options_.batch) break;
      CONCORD_RETURN_IF_ERROR(chain(workload, raw));
      ++taken;
    }
    if (taken > 0) consumed.emplace_back(workload, taken);
  }
  std::vector<SlotConsumedUpdate> slots;
  for (size_t i = 0; i < options_.slot_intakes.size() && entries.size() < options_.batch; ++i) {
    CONCORD_ASSIGN_OR_RETURN(std::vector<std::string> raws,
                             ReadSlot(i, options_.batch - entries.size()));
    for (const std::string& raw : raws) {
      CONCORD_RETURN_IF_ERROR(chain(options_.slot_intakes[i].workload, raw));
    }
    if (!raws.empty()) {
      slots.push_back(SlotConsumedUpdate{options_.slot_intakes[i].tag, slot_consumed_[i],
                                         slot_consumed_[i] + raws.size()});
    }
  }
  if (entries.empty()) return uint64_t{0};
  CONCORD_ASSIGN_OR_RETURN(ChainAppendResult result,
                           store_.AppendFromIntakes(*head_, entries, consumed, slots));
  if (!result.appended) {
    head_ = std::move(result.head);
    return absl::AbortedError("audit ingest: the head moved");
  }
  head_ = std::move(result.head);
  // The chained entries leave their slot intakes. A failure here loses nothing: the count
  // already says they are chained, so the next batch skips them and trims them again.
  for (const SlotConsumedUpdate& s : slots) {
    for (size_t i = 0; i < options_.slot_intakes.size(); ++i) {
      if (options_.slot_intakes[i].tag == s.tag) slot_consumed_[i] = s.next;
    }
    if (Status trimmed = store_.TrimSlotIntake(s.tag, s.next); !trimmed.ok()) {
      log::Event(log::Level::kWarn, "audit.slot_intake_trim_failed",
                 {{"intake", SlotIntakeKey(s.tag)}, {"error", std::string(trimmed.message())}});
    }
  }
  for (const auto& [workload, rejected] : sources) {
    ++ingested_[workload];
    auto m = metrics_.find(workload);
    if (m == metrics_.end()) continue;
    m->second.ingested->Increment();
    if (rejected) m->second.rejected->Increment();
  }
  for (const auto& [workload, rejected] : sources) {
    if (rejected) {
      log::Event(
          log::Level::kError, "audit.intake_entry_rejected",
          {{"workload", workload}, {"reason", "does not open with the audit key for this intake"}});
    }
  }
  return static_cast<uint64_t>(entries.size());
}

StatusOr<std::vector<std::string>> AuditIngester::ReadSlot(size_t i, size_t max) {
  const std::string& tag = options_.slot_intakes[i].tag;
  CONCORD_ASSIGN_OR_RETURN(SlotIntakeRead read, store_.ReadSlotIntake(tag, slot_consumed_[i], max));
  if (read.trimmed <= slot_consumed_[i]) return std::move(read.entries);
  // Trimmed beyond the count read with the head: another ingester chained and trimmed since
  // (re-read), unless the chain itself says so.
  CONCORD_ASSIGN_OR_RETURN(std::vector<uint64_t> now, store_.SlotConsumed({tag}));
  if (now.size() == 1 && now[0] < read.trimmed) {
    return absl::DataLossError(absl::StrCat("audit slot intake ", SlotIntakeKey(tag),
                                            " was trimmed beyond what the chain consumed (",
                                            read.trimmed, " > ", now[0], ")"));
  }
  return absl::AbortedError("audit ingest: a slot intake moved");
}

void AuditIngester::RefreshBacklog() {
  if (metrics_.empty()) return;
  auto lengths = store_.IntakeLengths(options_.workloads);
  if (!lengths.ok()) return;
  std::map<std::string, uint64_t> backlog;
  for (size_t i = 0; i < options_.workloads.size(); ++i) {
    backlog[options_.workloads[i]] += (*lengths)[i];
  }
  for (const SlotIntake& s : options_.slot_intakes) {
    auto length = store_.SlotIntakeLength(s.tag);
    if (length.ok()) backlog[s.workload] += *length;
  }
  for (const auto& [workload, n] : backlog) {
    auto m = metrics_.find(workload);
    if (m != metrics_.end()) m->second.backlog->Set(static_cast<double>(n));
  }
}

void AuditIngester::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void AuditIngester::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stop_ = true;
    started_ = false;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

void AuditIngester::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void AuditIngester::Loop() {
  const absl::Duration poll = std::max(options_.poll_interval, absl::Milliseconds(10));
  bool failing = false;
  absl::Time next_refresh = absl::InfinitePast();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    wake_ = false;
    lock.unlock();
    // Another replica's worker holds the lease: it chains what this wake-up is about. Redis
    // unreachable: the pass below fails and says so.
    StatusOr<bool> held = true;
    if (options_.lease > absl::ZeroDuration()) {
      held = store_.TakeIngestLease(lease_owner_, options_.lease);
    }
    auto chained = (held.ok() && !*held) ? StatusOr<uint64_t>(uint64_t{0}) : IngestPending();
    if (!chained.ok()) {
      if (!failing) {  // once per outage, not once per poll
        log::Event(log::Level::kWarn, "audit.ingest_failed",
                   {{"code", absl::StatusCodeToString(chained.status().code())},
                    {"error", std::string(chained.status().message())}});
      }
      failing = true;
    } else if (failing) {
      log::Event(log::Level::kInfo, "audit.ingest_recovered");
      failing = false;
    }
    const absl::Time now = absl::Now();
    if (now >= next_refresh) {
      RefreshBacklog();
      next_refresh = now + kBacklogRefresh;
    }
    lock.lock();
    if (chained.ok() && *chained > 0 && options_.linger > absl::ZeroDuration()) {
      // Busy: let the next batch gather for the linger. A wake-up meanwhile stays in wake_ and
      // is served right after it; only Stop() ends the wait early.
      cv_.wait_for(lock, absl::ToChronoMicroseconds(options_.linger), [this] { return stop_; });
      if (stop_ || wake_) continue;
    }
    cv_.wait_for(lock, absl::ToChronoMilliseconds(poll), [this] { return stop_ || wake_; });
  }
}

}  // namespace concord::audit
