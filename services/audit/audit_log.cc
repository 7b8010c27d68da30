#include "services/audit/audit_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/audit_record.h"
#include "common/status/status_macros.h"

namespace concord::audit {

AuditLog::AuditLog(AuditStore& store, const AuditKey& key,
                   const crypto::Ed25519PrivateKey& signing_key, Clock& clock,
                   CheckpointExporter* exporter)
    : store_(store),
      key_(key),
      signing_key_(signing_key),
      public_key_(signing_key.PublicKey()),
      clock_(clock),
      exporter_(exporter) {}

StatusOr<QueryPage> AuditLog::Query(const QuerySpec& spec) {
  if (spec.kind == QuerySpec::Kind::kObject && spec.object.empty()) {
    return InvalidArgumentWithFields("object must not be empty", {{"object", "required"}});
  }
  if (spec.from && spec.to && *spec.from > *spec.to) {
    return InvalidArgumentWithFields("time range is inverted",
                                     {{"time_range", "from must not be after to"}});
  }
  const size_t page_size =
      spec.page_size == 0 ? kDefaultPageSize : std::min(spec.page_size, kMaxPageSize);

  // Head is only needed to page through the whole log (seqs are contiguous there).
  uint64_t top = 0;
  if (spec.kind == QuerySpec::Kind::kAll) {
    CONCORD_ASSIGN_OR_RETURN(ChainHead head, store_.GetHead());
    top = head.seq;
  }

  QueryPage page;
  uint64_t cursor = spec.before_seq;
  size_t scanned = 0;
  bool exhausted = false;
  while (page.records.size() < page_size && scanned < kMaxScanPerPage) {
    // Without a time filter every listed record is returned; with one, read wider batches.
    const size_t want =
        (spec.from || spec.to) ? std::max<size_t>(page_size, 200) : page_size - page.records.size();
    std::vector<uint64_t> seqs;
    if (spec.kind == QuerySpec::Kind::kAll) {
      uint64_t start = cursor == 0 ? top : std::min(top, cursor - 1);
      for (uint64_t s = start; s >= 1 && seqs.size() < want; --s) {
        seqs.push_back(s);
      }
    } else {
      IndexSelector index;
      index.kind = spec.kind == QuerySpec::Kind::kObject ? IndexSelector::Kind::kObject
                                                         : IndexSelector::Kind::kAgency;
      index.object = spec.object;
      index.agency = spec.agency;
      CONCORD_ASSIGN_OR_RETURN(seqs, store_.ListIndex(index, cursor, want));
    }
    if (seqs.empty()) {
      exhausted = true;
      break;
    }
    CONCORD_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                             store_.GetRecords(seqs));
    for (size_t i = 0; i < seqs.size() && page.records.size() < page_size; ++i) {
      const uint64_t seq = seqs[i];
      cursor = seq;
      ++scanned;
      if (!values[i]) {
        return absl::DataLossError(
            absl::StrCat("audit record ", seq, " is listed but missing; run Verify"));
      }
      auto stored = StoredRecord::Parse(*values[i]);
      if (!stored.ok()) {
        return absl::DataLossError(absl::StrCat("audit record ", seq, " is malformed; run Verify"));
      }
      auto content = OpenRecordContent(key_, seq, *stored);
      if (!content.ok()) {
        return absl::DataLossError(
            absl::StrCat("audit record ", seq, " fails its integrity check; run Verify"));
      }
      const absl::Time time = content->event.time;
      if ((spec.from && time < *spec.from) || (spec.to && time > *spec.to)) {
        continue;
      }
      page.records.push_back(DecodedRecord{seq, std::move(content->event),
                                           std::move(stored->prev_hash), std::move(stored->hash),
                                           std::move(content->source)});
    }
    if (cursor <= 1) {
      exhausted = true;
      break;
    }
  }
  page.next_before_seq = exhausted ? 0 : cursor;
  return page;
}

StatusOr<std::optional<std::string>> AuditLog::AnchorFor(uint64_t from_seq) {
  if (from_seq <= 1) {
    return std::optional<std::string>(GenesisHash());
  }
  CONCORD_ASSIGN_OR_RETURN(auto values, store_.GetRecords({from_seq - 1}));
  if (!values[0]) {
    return std::optional<std::string>();
  }
  auto stored = StoredRecord::Parse(*values[0]);
  if (!stored.ok()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(stored->hash));
}

StatusOr<VerifyReport> AuditLog::Verify(uint64_t from_seq, uint64_t to_seq,
                                        const VerifyHooks& hooks) {
  CONCORD_ASSIGN_OR_RETURN(ChainHead head, store_.GetHead());
  VerifyReport report;
  report.head_seq = head.seq;
  const bool to_head = to_seq == 0;
  report.from_seq = from_seq == 0 ? 1 : from_seq;
  report.to_seq = to_head ? head.seq : to_seq;
  if (!to_head && report.from_seq > report.to_seq) {
    return InvalidArgumentWithFields("from_seq is after to_seq",
                                     {{"from_seq", "must not be greater than to_seq"}});
  }
  const uint64_t last = std::min(report.to_seq, head.seq);
  if (hooks.admit) {
    CONCORD_RETURN_IF_ERROR(hooks.admit(last >= report.from_seq ? last - report.from_seq + 1 : 0));
  }

  CONCORD_ASSIGN_OR_RETURN(std::optional<std::string> anchor, AnchorFor(report.from_seq));
  // Verifying to the head: every checkpoint at or after from_seq must be reached, so one beyond
  // the head reveals truncation. A bounded range only checks the checkpoints inside it.
  CONCORD_ASSIGN_OR_RETURN(std::vector<StoredCheckpoint> checkpoints,
                           store_.ListCheckpoints(report.from_seq, to_head ? 0 : report.to_seq));
  ChainVerifier verifier(key_, public_key_, report.from_seq, std::move(anchor), checkpoints);

  for (uint64_t start = report.from_seq; start <= last && !verifier.failed();
       start += kVerifyBatch) {
    if (hooks.cancelled && hooks.cancelled()) {
      return absl::CancelledError(absl::StrCat("audit verification cancelled after ",
                                               start - report.from_seq, " of ",
                                               last - report.from_seq + 1, " records"));
    }
    const uint64_t end = std::min(last, start + kVerifyBatch - 1);
    std::vector<uint64_t> seqs;
    seqs.reserve(end - start + 1);
    for (uint64_t s = start; s <= end; ++s) {
      seqs.push_back(s);
    }
    CONCORD_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> values,
                             store_.GetRecords(seqs));
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (!verifier.Add(seqs[i], values[i])) {
        break;
      }
    }
  }
  std::optional<std::string_view> head_hash;
  if (report.to_seq >= head.seq) {
    head_hash = head.hash;
  }
  report.result = verifier.Finish(last, head_hash);
  if (verifier.last_hash()) {
    report.last_hash = *verifier.last_hash();
  }
  if (report.result.ok && report.to_seq > head.seq) {
    report.result.ok = false;
    report.result.first_bad_seq = head.seq + 1;
    report.result.reason = absl::StrCat("requested range ends at seq ", report.to_seq,
                                        " but the log head is at seq ", head.seq);
  }
  if (report.result.ok && report.to_seq >= head.seq) {
    // Records beyond the head: the head was rewound (truncation) or records were injected.
    CONCORD_ASSIGN_OR_RETURN(uint64_t count, store_.CountRecords());
    if (count > head.seq) {
      report.result.ok = false;
      report.result.first_bad_seq = head.seq + 1;
      report.result.reason = absl::StrCat(count, " records stored but the head is at seq ",
                                          head.seq, " (head rewound or records injected)");
    }
  }
  return report;
}

StatusOr<Checkpoint> AuditLog::CreateCheckpoint(const VerifyHooks& hooks) {
  CONCORD_ASSIGN_OR_RETURN(ChainHead head, store_.GetHead());
  if (head.seq == 0) {
    return absl::FailedPreconditionError("the audit log is empty: nothing to checkpoint");
  }
  if (head.hash.size() != kHashSize) {
    return absl::DataLossError("audit head hash is malformed; run Verify");
  }
  CONCORD_ASSIGN_OR_RETURN(std::optional<Checkpoint> latest, store_.LatestCheckpoint());
  if (latest && latest->seq == head.seq) {
    return *std::move(latest);
  }
  if (latest && latest->seq > head.seq) {
    return absl::DataLossError(absl::StrCat("refusing to checkpoint: a checkpoint exists at seq ",
                                            latest->seq, " beyond the head at seq ", head.seq,
                                            " (log truncated); run Verify"));
  }
  // Security: never sign a head that does not verify. From the latest checkpoint (inclusive, so
  // it is checked against the chain) to the head; the first checkpoint verifies everything.
  const uint64_t from = latest ? latest->seq : 1;
  CONCORD_ASSIGN_OR_RETURN(VerifyReport report, Verify(from, head.seq, hooks));
  if (!report.result.ok) {
    return absl::DataLossError(
        absl::StrCat("refusing to checkpoint: the audit log fails "
                     "verification at seq ",
                     report.result.first_bad_seq, ": ", report.result.reason));
  }
  if (report.last_hash != head.hash) {
    return absl::DataLossError("refusing to checkpoint: head hash differs from the chain");
  }
  CONCORD_ASSIGN_OR_RETURN(Checkpoint cp,
                           SignCheckpoint(signing_key_, head.seq, head.hash, clock_.Now()));
  CONCORD_ASSIGN_OR_RETURN(Checkpoint stored, store_.PutCheckpoint(cp));
  // Security: a copy outside Redis is what makes a cut tail detectable (checkpoint_exporter.h).
  if (exporter_ != nullptr) exporter_->Export(stored, public_key_);
  return stored;
}

}  // namespace concord::audit
