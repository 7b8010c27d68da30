// File: services/referrals/case_change.h
//
// The changes of a case that are not transitions of the table, as pure functions the gRPC
// handlers call (the handlers only load, check signatures, store and audit):
//   - PlanDraftSave: SaveDraft (create a draft, or replace the fields of one);
//   - PlanSealedUpdate: UpdateSealed (a new version of the personal record);
//   - PlanOpenSealed / CheckOpenedBox: OpenSealed (which box, who may have it, is it intact).
// Each returns what to write (CaseChange: the next case, its history entry, the stamped box) or
// the refusal, with the ErrorInfo reason docs/referrals.md "Refusal reasons" lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/identity/agency_id.h"
#include "common/status/status.h"
#include "concord/referrals/v1/referrals.pb.h"

namespace concord::referrals {

/// OpenSealed's justification: 10..500 printable ASCII characters after trimming.
inline constexpr size_t kMinJustification = 10;
inline constexpr size_t kMaxJustification = 500;

/// A change of one case: written by ReferralStore::Apply with `previous` as the compare-and-set.
struct CaseChange {
  std::optional<v1::Case> previous;        // nullopt: a new case
  v1::Case next;                           // version = previous + 1 (1 for a new draft)
  v1::HistoryEntry entry;                  // action create_draft / save_draft / update_sealed
  std::optional<v1::SealedRecord> sealed;  // a new record version, stamped (signature to check)
};

/// INVALID_ARGUMENT (field expected_version) when `expected` < 1; ABORTED "case <id> is at
/// version N, not M" when it is not `current`'s version.
Status CheckExpectedVersion(const v1::Case& current, int64_t expected);

/// SaveDraft by `caller` at `now`. `current` is the stored case named by request.case_id (read
/// by the caller of this function, MayView already checked), nullopt for a new draft, which
/// gets `new_case_id` and `new_subject_ref`. Refusals: INVALID_ARGUMENT for malformed values
/// (FormatProblems, every field); PERMISSION_DENIED NOT_THE_REFERRER; FAILED_PRECONDITION
/// NOT_A_DRAFT; INVALID_ARGUMENT / ABORTED for expected_version. The record, when given, is
/// stamped as version sealed_record_version + 1 (its signature is the service's to check).
StatusOr<CaseChange> PlanDraftSave(const std::optional<v1::Case>& current,
                                   const v1::SaveDraftRequest& request, const AgencyId& caller,
                                   absl::Time now, std::string_view new_case_id,
                                   std::string_view new_subject_ref);

/// UpdateSealed by `caller` at `now` on `current`: the box's shape (INVALID_ARGUMENT), the
/// caller a record keeper (CheckRecordKeeper: PERMISSION_DENIED CENTRE_DECLINED /
/// NOT_A_RECORD_KEEPER, FAILED_PRECONDITION when terminal), sealed to exactly the centre and
/// the magistrate (INVALID_ARGUMENT), expected_version (ABORTED). The record is stamped as
/// version sealed_record_version + 1.
StatusOr<CaseChange> PlanSealedUpdate(const v1::Case& current,
                                      const v1::UpdateSealedRequest& request,
                                      const AgencyId& caller, absl::Time now);

/// The justification of OpenSealed as it is validated AND recorded: trimmed, 10..500 printable
/// ASCII characters; INVALID_ARGUMENT (field justification) otherwise. The metadata
/// `concord-justification` is not a source for OpenSealed.
StatusOr<std::string> OpenSealedJustification(std::string_view raw);

/// Which stored box OpenSealed reads.
struct SealedSlot {
  v1::SealedBox box = v1::SEALED_BOX_RECORD;
  int64_t version = 0;  // record version, or the case version that stored the box
};

/// OpenSealed by `caller` on `c` (MayView already checked): the box and version asked for
/// (INVALID_ARGUMENT for a negative version or an unknown box), NOT_FOUND when the case has no
/// such box or version, PERMISSION_DENIED CENTRE_DECLINED for a centre that declined (record and
/// guardian), PERMISSION_DENIED NOT_A_RECIPIENT when the latest box is not sealed to the caller
/// (checked again on the stored box by CheckOpenedBox).
StatusOr<SealedSlot> PlanOpenSealed(const v1::Case& c, const v1::OpenSealedRequest& request,
                                    const AgencyId& caller);

/// The stored box as read: DATA_LOSS SEALED_RECORD_MISMATCH when it is not the version it is
/// stored under (storage altered); PERMISSION_DENIED NOT_A_RECIPIENT when it is not sealed to
/// `caller`.
Status CheckOpenedBox(const v1::SealedRecord& stored, const SealedSlot& slot,
                      std::string_view case_id, const AgencyId& caller);

/// "record", "document_identity", "guardian" (audit details, messages).
std::string_view SealedBoxName(v1::SealedBox box);

}  // namespace concord::referrals
