#include "common/audit/audit_record.h"

#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto/aead.h"
#include "common/crypto/canonical.h"
#include "common/crypto/hash.h"
#include "common/redis/keys.h"
#include "common/status/status_macros.h"

namespace concord::audit {
namespace {

constexpr std::string_view kTag = "audit";
constexpr std::string_view kRecordDomainV1 = "concord.audit.record.v1";
constexpr std::string_view kRecordDomain = "concord.audit.record.v2";
constexpr std::string_view kIntakeDomain = "concord.audit.intake.v1";

// Canonical field tags of the record plaintext. Never reuse or renumber.
enum FieldTag : uint8_t {
  kFieldDomain = 0,
  kFieldSeq = 1,
  kFieldTimeUnixNanos = 2,
  kFieldTrustDomain = 3,
  kFieldAgencyType = 4,
  kFieldAgencyId = 5,
  kFieldOfficer = 6,
  kFieldOperation = 7,
  kFieldObject = 8,
  kFieldMethod = 9,
  kFieldJustification = 10,
  kFieldRecipients = 11,  // string list, in the caller's order
  kFieldOutcome = 12,
  kFieldSource = 13,   // v2 records only: the intake (workload) the record came from
  kFieldDetails = 14,  // optional, last: written only when non-empty (what an alteration changed)
};

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

// Reads back crypto::CanonicalWriter output for a fixed schema (the writer has no reader).
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view data) : data_(data) {}
  bool done() const { return data_.empty(); }

  StatusOr<std::string_view> String(uint8_t tag) {
    CONCORD_RETURN_IF_ERROR(Tag(tag));
    CONCORD_ASSIGN_OR_RETURN(uint64_t len, Fixed(4));
    return Bytes(len);
  }

  StatusOr<int64_t> Int(uint8_t tag) {
    CONCORD_RETURN_IF_ERROR(Tag(tag));
    CONCORD_ASSIGN_OR_RETURN(uint64_t v, Fixed(8));
    return static_cast<int64_t>(v);
  }

  StatusOr<std::vector<std::string>> Strings(uint8_t tag) {
    CONCORD_RETURN_IF_ERROR(Tag(tag));
    CONCORD_ASSIGN_OR_RETURN(uint64_t count, Fixed(4));
    if (count > data_.size() / 4) {
      return absl::DataLossError("audit record: list count exceeds the data");
    }
    std::vector<std::string> out;
    out.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      CONCORD_ASSIGN_OR_RETURN(uint64_t len, Fixed(4));
      CONCORD_ASSIGN_OR_RETURN(std::string_view item, Bytes(len));
      out.emplace_back(item);
    }
    return out;
  }

 private:
  Status Tag(uint8_t tag) {
    if (data_.empty() || static_cast<uint8_t>(data_[0]) != tag) {
      return absl::DataLossError(absl::StrCat("audit record: field ", tag, " missing"));
    }
    data_.remove_prefix(1);
    return absl::OkStatus();
  }
  StatusOr<uint64_t> Fixed(size_t n) {
    if (data_.size() < n) {
      return absl::DataLossError("audit record: truncated");
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v = (v << 8) | static_cast<uint8_t>(data_[i]);
    }
    data_.remove_prefix(n);
    return v;
  }
  StatusOr<std::string_view> Bytes(uint64_t len) {
    if (data_.size() < len) {
      return absl::DataLossError("audit record: truncated field");
    }
    std::string_view v = data_.substr(0, len);
    data_.remove_prefix(len);
    return v;
  }

  std::string_view data_;
};

}  // namespace

std::string HeadKey() { return redis::Key(kTag, "head"); }
std::string RecordsKey() { return redis::Key(kTag, "records"); }
std::string ObjectIndexKey(std::string_view object) {
  return redis::Key(kTag,
                    absl::StrCat("by-object:", absl::string_view(object.data(), object.size())));
}
std::string AgencyIndexKey(const AgencyId& agency) {
  return redis::Key(kTag, absl::StrCat("by-agency:", agency.Key()));
}
std::string CheckpointsKey() { return redis::Key(kTag, "checkpoints"); }
std::string CheckpointIndexKey() { return redis::Key(kTag, "checkpoint-index"); }
std::string IntakeKey(std::string_view workload) {
  return redis::Key(kTag,
                    absl::StrCat("intake:", absl::string_view(workload.data(), workload.size())));
}

std::string SlotConsumedKey() { return redis::Key(kTag, "slot-consumed"); }
std::string IngestLeaseKey() { return redis::Key(kTag, "ingest-lease"); }
std::string SlotIntakeKey(std::string_view tag) {
  return absl::StrCat("concord:audit-intake:{", absl::string_view(tag.data(), tag.size()), "}");
}
std::string SlotIntakeTrimmedKey(std::string_view tag) {
  return absl::StrCat("concord:audit-intake-trimmed:{", absl::string_view(tag.data(), tag.size()),
                      "}");
}
const std::vector<SlotIntake>& SlotIntakes() {
  static const auto* intakes = new std::vector<SlotIntake>{{"messaging", "msg"}};
  return *intakes;
}

std::string GenesisHash() { return std::string(kHashSize, '\0'); }

std::string RecordAad(uint64_t seq) { return absl::StrCat("concord-audit-v1|", seq); }

std::string ChainHash(std::string_view prev_hash, uint64_t seq, std::string_view sealed) {
  std::string seq_bytes;
  PutU64(seq_bytes, seq);  // 8 bytes: no allocation
  const std::array<uint8_t, 32> digest = crypto::Sha256Concat({prev_hash, seq_bytes, sealed});
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

namespace {

// The canonical fields of a record or an intake entry, after the domain string.
StatusOr<std::string> EncodeFields(std::string_view domain, uint64_t seq, const AuditEvent& event,
                                   const std::string_view* source, size_t max_size) {
  crypto::CanonicalWriter w;
  // The exact size, for one allocation: a string is tag + length (5) + bytes, an int tag + 8, the
  // recipient list tag + count (5) + each length (4) + bytes.
  size_t size = 2 * 9 + 11 * 5 + domain.size() + event.agency.trust_domain.size() +
                AgencyTypeName(event.agency.type).size() + event.agency.id.size() +
                event.officer.size() + OperationName(event.operation).size() + event.object.size() +
                event.method.size() + event.justification.size() + event.outcome.size();
  if (!event.details.empty()) size += 5 + event.details.size();
  for (const std::string& r : event.recipients) size += 4 + r.size();
  if (source != nullptr) size += 5 + source->size();
  w.Reserve(size);
  w.AddString(kFieldDomain, domain);
  w.AddInt(kFieldSeq, static_cast<int64_t>(seq));
  w.AddInt(kFieldTimeUnixNanos, absl::ToUnixNanos(event.time));
  w.AddString(kFieldTrustDomain, event.agency.trust_domain);
  w.AddString(kFieldAgencyType, AgencyTypeName(event.agency.type));
  w.AddString(kFieldAgencyId, event.agency.id);
  w.AddString(kFieldOfficer, event.officer);
  w.AddString(kFieldOperation, OperationName(event.operation));
  w.AddString(kFieldObject, event.object);
  w.AddString(kFieldMethod, event.method);
  w.AddString(kFieldJustification, event.justification);
  w.AddStrings(kFieldRecipients, event.recipients);
  w.AddString(kFieldOutcome, event.outcome);
  if (source != nullptr) w.AddString(kFieldSource, *source);
  // Optional and last, so that every record and intake entry without details keeps its bytes.
  if (!event.details.empty()) w.AddString(kFieldDetails, event.details);
  std::string out = w.Release();
  if (out.size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit event too large: ", out.size(), " bytes (max ", max_size, ")"));
  }
  return out;
}

// An intake entry leaves room for what the record adds (the source field), so that every entry
// that was accepted into an intake can be chained.
constexpr size_t kMaxIntakePlaintext = kMaxRecordPlaintext - 1 - 4 - kMaxWorkloadName;

// The optional last field (details), if present.
Status DecodeDetails(CanonicalReader& r, AuditEvent& e) {
  if (r.done()) return absl::OkStatus();
  CONCORD_ASSIGN_OR_RETURN(std::string_view details, r.String(kFieldDetails));
  if (details.empty()) return absl::DataLossError("audit record: empty details field");
  e.details = std::string(details);
  return absl::OkStatus();
}

// Reads the fields after the domain and seq (which the caller checked).
StatusOr<AuditEvent> DecodeEventFields(CanonicalReader& r) {
  AuditEvent e;
  CONCORD_ASSIGN_OR_RETURN(int64_t nanos, r.Int(kFieldTimeUnixNanos));
  e.time = absl::FromUnixNanos(nanos);
  CONCORD_ASSIGN_OR_RETURN(std::string_view td, r.String(kFieldTrustDomain));
  e.agency.trust_domain = std::string(td);
  CONCORD_ASSIGN_OR_RETURN(std::string_view type, r.String(kFieldAgencyType));
  std::optional<AgencyType> parsed_type = ParseAgencyType(type);
  if (!parsed_type) {
    return absl::DataLossError("audit record: unknown agency type");
  }
  e.agency.type = *parsed_type;
  CONCORD_ASSIGN_OR_RETURN(std::string_view id, r.String(kFieldAgencyId));
  e.agency.id = std::string(id);
  CONCORD_ASSIGN_OR_RETURN(std::string_view officer, r.String(kFieldOfficer));
  e.officer = std::string(officer);
  CONCORD_ASSIGN_OR_RETURN(std::string_view op, r.String(kFieldOperation));
  std::optional<Operation> parsed_op = ParseOperation(op);
  if (!parsed_op) {
    return absl::DataLossError("audit record: unknown operation");
  }
  e.operation = *parsed_op;
  CONCORD_ASSIGN_OR_RETURN(std::string_view object, r.String(kFieldObject));
  e.object = std::string(object);
  CONCORD_ASSIGN_OR_RETURN(std::string_view method, r.String(kFieldMethod));
  e.method = std::string(method);
  CONCORD_ASSIGN_OR_RETURN(std::string_view justification, r.String(kFieldJustification));
  e.justification = std::string(justification);
  CONCORD_ASSIGN_OR_RETURN(e.recipients, r.Strings(kFieldRecipients));
  CONCORD_ASSIGN_OR_RETURN(std::string_view outcome, r.String(kFieldOutcome));
  e.outcome = std::string(outcome);
  return e;
}

}  // namespace

StatusOr<std::string> EncodeEvent(uint64_t seq, const AuditEvent& event, std::string_view source) {
  return EncodeFields(kRecordDomain, seq, event, &source, kMaxRecordPlaintext);
}

StatusOr<RecordContent> DecodeRecord(std::string_view plaintext, uint64_t expected_seq) {
  CanonicalReader r(plaintext);
  CONCORD_ASSIGN_OR_RETURN(std::string_view domain, r.String(kFieldDomain));
  const bool v2 = domain == kRecordDomain;
  if (!v2 && domain != kRecordDomainV1) {
    return absl::DataLossError("audit record: unknown format");
  }
  CONCORD_ASSIGN_OR_RETURN(int64_t seq, r.Int(kFieldSeq));
  if (static_cast<uint64_t>(seq) != expected_seq) {
    return absl::DataLossError(
        absl::StrCat("audit record: embedded seq ", seq, " differs from ", expected_seq));
  }
  RecordContent out;
  CONCORD_ASSIGN_OR_RETURN(out.event, DecodeEventFields(r));
  if (v2) {
    CONCORD_ASSIGN_OR_RETURN(std::string_view source, r.String(kFieldSource));
    out.source = std::string(source);
    CONCORD_RETURN_IF_ERROR(DecodeDetails(r, out.event));
  }
  if (!r.done()) {
    return absl::DataLossError("audit record: trailing bytes");
  }
  return out;
}

StatusOr<AuditEvent> DecodeEvent(std::string_view plaintext, uint64_t expected_seq) {
  CONCORD_ASSIGN_OR_RETURN(RecordContent content, DecodeRecord(plaintext, expected_seq));
  return std::move(content.event);
}

std::string IntakeAad(std::string_view workload) {
  return absl::StrCat("concord-audit-intake-v1|",
                      absl::string_view(workload.data(), workload.size()));
}

StatusOr<std::string> EncodeIntakeEvent(const AuditEvent& event) {
  return EncodeFields(kIntakeDomain, 0, event, nullptr, kMaxIntakePlaintext);
}

StatusOr<AuditEvent> DecodeIntakeEvent(std::string_view plaintext) {
  CanonicalReader r(plaintext);
  CONCORD_ASSIGN_OR_RETURN(std::string_view domain, r.String(kFieldDomain));
  if (domain != kIntakeDomain) {
    return absl::DataLossError("audit intake entry: unknown format");
  }
  CONCORD_ASSIGN_OR_RETURN(int64_t seq, r.Int(kFieldSeq));
  if (seq != 0) {
    return absl::DataLossError("audit intake entry: seq must be 0");
  }
  CONCORD_ASSIGN_OR_RETURN(AuditEvent event, DecodeEventFields(r));
  CONCORD_RETURN_IF_ERROR(DecodeDetails(r, event));
  if (!r.done()) {
    return absl::DataLossError("audit intake entry: trailing bytes");
  }
  return event;
}

StatusOr<std::string> SealIntakeEntry(const AuditKey& key, std::string_view workload,
                                      const AuditEvent& event) {
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext, EncodeIntakeEvent(event));
  return key.aead().Seal(plaintext, IntakeAad(workload));
}

StatusOr<AuditEvent> OpenIntakeEntry(const AuditKey& key, std::string_view workload,
                                     std::string_view entry) {
  auto plaintext = key.aead().Open(entry, IntakeAad(workload));
  if (!plaintext.ok()) {
    return absl::DataLossError(
        "audit intake entry does not open with the audit key for this intake (forged, altered "
        "or moved)");
  }
  return DecodeIntakeEvent(*plaintext);
}

std::string StoredRecord::Encode() const { return absl::StrCat(prev_hash, hash, sealed); }

StatusOr<StoredRecord> StoredRecord::Parse(std::string_view value) {
  constexpr size_t kMin = 2 * kHashSize + crypto::kAeadNonceSize + crypto::kAeadTagSize;
  if (value.size() < kMin) {
    return absl::DataLossError(
        absl::StrCat("stored audit record too short: ", value.size(), " bytes"));
  }
  StoredRecord r;
  r.prev_hash = std::string(value.substr(0, kHashSize));
  r.hash = std::string(value.substr(kHashSize, kHashSize));
  r.sealed = std::string(value.substr(2 * kHashSize));
  return r;
}

StatusOr<StoredRecord> SealRecord(const AuditKey& key, uint64_t seq, std::string_view prev_hash,
                                  const AuditEvent& event, std::string_view source) {
  CONCORD_ASSIGN_OR_RETURN(std::string plaintext, EncodeEvent(seq, event, source));
  StoredRecord r;
  CONCORD_ASSIGN_OR_RETURN(r.sealed, key.aead().Seal(plaintext, RecordAad(seq)));
  r.prev_hash = std::string(prev_hash);
  r.hash = ChainHash(prev_hash, seq, r.sealed);
  return r;
}

StatusOr<RecordContent> OpenRecordContent(const AuditKey& key, uint64_t seq,
                                          const StoredRecord& record) {
  auto plaintext = key.aead().Open(record.sealed, RecordAad(seq));
  if (!plaintext.ok()) {
    return absl::DataLossError("audit record does not open with the audit key (altered or moved)");
  }
  return DecodeRecord(*plaintext, seq);
}

StatusOr<AuditEvent> OpenRecord(const AuditKey& key, uint64_t seq, const StoredRecord& record) {
  CONCORD_ASSIGN_OR_RETURN(RecordContent content, OpenRecordContent(key, seq, record));
  return std::move(content.event);
}

}  // namespace concord::audit
