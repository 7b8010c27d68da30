// File: common/quota/quota_table.h
//
// The limits one agency may use, per agency type: token buckets (rates shared by every replica,
// kept in Redis and charged inside the Lua script a call already runs, token_bucket.h) and caps
// (counts of things an agency holds at once). Every Concord service takes its numbers from here,
// so that a new service (guidelines, liaison) is born bounded by adding a row, not a mechanism.
//
//   quota::QuotaTable table = quota::QuotaTable::Defaults();
//   CONCORD_ASSIGN_OR_RETURN(table, table.WithOverrides("police.send=40000/10;*.streams=16"));
//   const quota::BucketSpec& send = table.Bucket(AgencyType::kPolice, quota::Quota::kSend);
//
// The defaults and why they are never reached by national traffic but stop a flood are in
// docs/operations.md "Quotas and limits" (the table there is QuotaTable::Defaults().Markdown(),
// checked by tests/common/quota/quota_table_test.cc).
//
// Override syntax (--quotas / CONCORD_QUOTAS): entries separated by ';', each
//   <type>.<bucket>=<burst>/<refill per second>     e.g. police.send=40000/10
//   <type>.<cap>=<count>                            e.g. platform.streams=4
// <type> is an agency type name (police, platform, ...) or '*' for every type; <bucket> one of
// send, send_bytes, upload, upload_bytes, draft, publish, ack, liaison_request, jit_write,
// msg_ack, read; <cap>
// one of streams, pending_uploads, drafts, verifications.
// Later entries win. Malformed entries are INVALID_ARGUMENT naming the entry.
//
// Thread safety: immutable after construction; copy freely.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/identity/agency_id.h"
#include "common/status/status.h"

namespace concord::quota {

/// Token buckets, charged in Redis and shared by every replica.
enum class Quota {
  kSend,            // messages accepted by Send/Forward (cost 1 each)
  kSendBytes,       // bytes of the stored envelopes accepted by Send/Forward
  kUpload,          // attachment uploads begun (cost 1 each)
  kUploadBytes,     // bytes of the sealed chunks uploaded
  kDraft,           // referral drafts saved (created or updated; cost 1 each)
  kPublish,         // guideline versions published and withdrawn (cost 1 each)
  kAck,             // guideline acknowledgements, duplicates included (cost 1 each)
  kLiaisonRequest,  // liaison requests created and acted on (CreateRequest, Act; cost 1 each)
  kJitWrite,        // joint investigation team writes: CreateJit, ShareInJit (cost 1 each)
  kMsgAck,          // message ids in messaging Ack calls, whatever their outcome (cost 1 per id)
  kRead,            // consultations: reads of stored data that write a consultation audit record
                    // (cost 1 per record; read_meter.h), and audit Verify (per 10,000 records)
  kCheckpoint,      // audit checkpoints requested with CreateCheckpoint (cost 1 each)
};
inline constexpr std::array<Quota, 12> kAllQuotas = {
    Quota::kSend,     Quota::kSendBytes, Quota::kUpload, Quota::kUploadBytes,
    Quota::kDraft,    Quota::kPublish,   Quota::kAck,    Quota::kLiaisonRequest,
    Quota::kJitWrite, Quota::kMsgAck,    Quota::kRead,   Quota::kCheckpoint};

/// Counts of what one agency holds at once.
enum class Cap {
  kStreams,         // streaming calls open on one replica (Subscribe, uploads, downloads, ...)
  kPendingUploads,  // attachments uploaded (or being uploaded) and not yet bound to a message
  kDrafts,          // referral cases in state DETECTED (drafts) of the referring agency
  kVerifications,   // audit Verify calls running on one replica
};
inline constexpr std::array<Cap, 4> kAllCaps = {Cap::kStreams, Cap::kPendingUploads, Cap::kDrafts,
                                                Cap::kVerifications};

/// "send", "send_bytes", "upload", "upload_bytes", "draft", "publish", "ack", "liaison_request",
/// "jit_write", "msg_ack", "read", "checkpoint".
std::string_view QuotaName(Quota quota);
/// "streams", "pending_uploads", "drafts", "verifications".
std::string_view CapName(Cap cap);
std::optional<Quota> ParseQuota(std::string_view name);
std::optional<Cap> ParseCap(std::string_view name);

/// A token bucket: at most `burst` tokens, refilled at `per_second` tokens per second. A charge
/// of `cost` tokens passes when the bucket holds at least `cost`.
struct BucketSpec {
  int64_t burst = 0;
  double per_second = 0;

  friend bool operator==(const BucketSpec&, const BucketSpec&) = default;
};

/// Everything one agency type may use.
struct TypeLimits {
  std::array<BucketSpec, kAllQuotas.size()> buckets;
  std::array<int, kAllCaps.size()> caps{};
};

class QuotaTable {
 public:
  /// The shipped defaults (docs/operations.md "Quotas and limits").
  static QuotaTable Defaults();

  /// This table with `overrides` applied (syntax in the file comment); "" = unchanged.
  /// INVALID_ARGUMENT (field "--quotas") naming the first bad entry; a bucket whose burst is
  /// smaller than the largest single charge of its kind (e.g. send_bytes below one maximal
  /// envelope) could never pass and is refused too.
  StatusOr<QuotaTable> WithOverrides(std::string_view overrides) const;

  const BucketSpec& Bucket(AgencyType type, Quota quota) const;
  int CapOf(AgencyType type, Cap cap) const;
  const TypeLimits& For(AgencyType type) const;

  /// Markdown table: one row per agency type, one column per bucket and cap.
  std::string Markdown() const;

 private:
  std::array<TypeLimits, kAllAgencyTypes.size()> by_type_;
};

/// True for the buckets counted in bytes (send_bytes, upload_bytes); the others cost 1 a call.
bool IsByteQuota(Quota quota);

/// The smallest burst each bucket must allow: the largest single charge Concord ever makes
/// (one maximal envelope, one full chunk, a full Ack of 500 ids, 1 for other counts).
int64_t MinimumBurst(Quota quota);

}  // namespace concord::quota
