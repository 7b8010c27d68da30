#include "services/referrals/case_change.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/referrals/deadlines.h"
#include "services/referrals/ids.h"
#include "services/referrals/state_machine.h"
#include "services/referrals/validation.h"

namespace concord::referrals {
namespace {

v1::HistoryEntry Entry(const v1::Case& next, v1::CaseState from, std::string_view action,
                       const AgencyId& caller, absl::Time now) {
  v1::HistoryEntry entry;
  entry.set_version(next.version());
  entry.set_action(std::string(action));
  entry.set_from_state(from);
  entry.set_to_state(next.state());
  *entry.mutable_actor() = AgencyIdToProto(caller);
  *entry.mutable_at() = ToProtoTime(now);
  return entry;
}

// Trimmed of spaces and tabs; "" unless 1..max printable ASCII characters (the rule of
// common/audit's asserted values, without its gRPC dependency).
std::string Sanitize(std::string_view value, size_t max_length) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > max_length) return "";
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  return std::string(value);
}

bool GivesRecord(const v1::SaveDraftRequest& request) {
  return !request.sealed_record().ciphertext().empty() || !request.sealed_record().keys().empty();
}

}  // namespace

Status CheckExpectedVersion(const v1::Case& current, int64_t expected) {
  if (expected <= 0) {
    return InvalidArgumentWithFields("expected_version required",
                                     {{"expected_version", "required: the case version you read"}});
  }
  if (expected != current.version()) {
    return WithReason(absl::AbortedError(absl::StrCat("case ", current.case_id(), " is at version ",
                                                      current.version(), ", not ", expected)),
                      "STALE_VERSION", {{"current_version", absl::StrCat(current.version())}});
  }
  return absl::OkStatus();
}

StatusOr<CaseChange> PlanDraftSave(const std::optional<v1::Case>& current,
                                   const v1::SaveDraftRequest& request, const AgencyId& caller,
                                   absl::Time now, std::string_view new_case_id,
                                   std::string_view new_subject_ref) {
  CONCORD_RETURN_IF_ERROR(ProblemsToStatus("invalid draft", FormatProblems(request)));
  CaseChange change;
  v1::Case& next = change.next;
  if (!current.has_value()) {
    next.set_case_id(std::string(new_case_id));
    next.set_subject_ref(std::string(new_subject_ref));
    *next.mutable_referring_agency() = AgencyIdToProto(caller);
    next.set_state(v1::CASE_STATE_DETECTED);
    next.set_version(1);
    *next.mutable_created_at() = ToProtoTime(now);
  } else {
    if (!SameAgency(current->referring_agency(), caller)) {
      return WithReason(absl::PermissionDeniedError("only the referring agency edits its draft"),
                        "NOT_THE_REFERRER");
    }
    if (current->state() != v1::CASE_STATE_DETECTED) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "case ", current->case_id(), " is in state ",
                            std::string(StateName(current->state())), ", not a draft (DETECTED)")),
                        "NOT_A_DRAFT");
    }
    CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(*current, request.expected_version()));
    change.previous = current;
    next = *current;
    next.set_version(current->version() + 1);
  }
  ApplyDraft(request, next);
  *next.mutable_updated_at() = ToProtoTime(now);
  if (GivesRecord(request)) {
    v1::SealedRecord stamped =
        StampSealedRecord(request.sealed_record(), next.sealed_record_version() + 1, caller, now);
    AttachSealedRecord(stamped, next);
    change.sealed = std::move(stamped);
  }
  change.entry = Entry(next, v1::CASE_STATE_DETECTED,
                       current.has_value() ? "save_draft" : "create_draft", caller, now);
  return change;
}

StatusOr<CaseChange> PlanSealedUpdate(const v1::Case& current,
                                      const v1::UpdateSealedRequest& request,
                                      const AgencyId& caller, absl::Time now) {
  CONCORD_RETURN_IF_ERROR(ProblemsToStatus(
      "invalid sealed record", SealedRecordProblems(request.sealed_record(), "sealed_record")));
  CONCORD_RETURN_IF_ERROR(CheckRecordKeeper(current, caller));
  CONCORD_RETURN_IF_ERROR(ProblemsToStatus(
      "the sealed record must be sealed to the receiving centre and the magistrate only",
      RecipientProblems(request.sealed_record(), current, "sealed_record")));
  CONCORD_RETURN_IF_ERROR(CheckExpectedVersion(current, request.expected_version()));
  CaseChange change;
  change.previous = current;
  change.next = current;
  change.next.set_version(current.version() + 1);
  *change.next.mutable_updated_at() = ToProtoTime(now);
  v1::SealedRecord stamped =
      StampSealedRecord(request.sealed_record(), current.sealed_record_version() + 1, caller, now);
  AttachSealedRecord(stamped, change.next);
  change.sealed = std::move(stamped);
  change.entry = Entry(change.next, current.state(), "update_sealed", caller, now);
  return change;
}

StatusOr<std::string> OpenSealedJustification(std::string_view raw) {
  std::string justification = Sanitize(raw, kMaxJustification);
  if (justification.size() < kMinJustification) {
    return InvalidArgumentWithFields(
        "a justification is required to open a sealed box",
        {{"justification", absl::StrCat("required: ", kMinJustification, "..", kMaxJustification,
                                        " printable characters (recorded in the audit log)")}});
  }
  return justification;
}

std::string_view SealedBoxName(v1::SealedBox box) {
  switch (box) {
    case v1::SEALED_BOX_DOCUMENT_IDENTITY:
      return "document_identity";
    case v1::SEALED_BOX_GUARDIAN:
      return "guardian";
    default:
      return "record";
  }
}

StatusOr<SealedSlot> PlanOpenSealed(const v1::Case& c, const v1::OpenSealedRequest& request,
                                    const AgencyId& caller) {
  if (request.version() < 0) {
    return InvalidArgumentWithFields("invalid version", {{"version", "must be >= 0"}});
  }
  if (!v1::SealedBox_IsValid(request.box())) {
    return InvalidArgumentWithFields("invalid box", {{"box", "not a known sealed box"}});
  }
  SealedSlot slot;
  slot.box = request.box() == v1::SEALED_BOX_UNSPECIFIED ? v1::SEALED_BOX_RECORD : request.box();
  int64_t latest = 0;
  const google::protobuf::RepeatedPtrField<std::string>* recipients = nullptr;
  switch (slot.box) {
    case v1::SEALED_BOX_DOCUMENT_IDENTITY:
      latest = c.document_identity_version();
      recipients = &c.document_identity_recipients();
      break;
    case v1::SEALED_BOX_GUARDIAN:
      latest = c.guardian_version();
      recipients = &c.guardian_recipients();
      break;
    default:
      latest = c.sealed_record_version();
      recipients = &c.sealed_record_recipients();
      break;
  }
  const std::string what(SealedBoxName(slot.box));
  // Security: a centre that declined keeps no right on the personal data (record, guardian).
  if (slot.box != v1::SEALED_BOX_DOCUMENT_IDENTITY && IsDecliningCentre(c, caller)) {
    return WithReason(absl::PermissionDeniedError(
                          absl::StrCat("agency ", caller.Key(), " declined case ", c.case_id(),
                                       ": its sealed ", what, " is no longer handed to it")),
                      "CENTRE_DECLINED");
  }
  if (latest == 0) {
    return absl::NotFoundError(absl::StrCat("case ", c.case_id(), " has no sealed ", what));
  }
  // A version of the record is 1..latest; an identity or guardian box is stored under the case
  // version of its transition, at most the latest.
  if (request.version() > latest) {
    return absl::NotFoundError(absl::StrCat("case ", c.case_id(), " has no sealed ", what,
                                            " version ", request.version()));
  }
  slot.version = request.version() == 0 ? latest : request.version();
  const std::string me = caller.Key();
  if (slot.version == latest &&
      std::find(recipients->begin(), recipients->end(), me) == recipients->end()) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "the sealed ", what, " of case ", c.case_id(), " is not sealed to ", me)),
                      "NOT_A_RECIPIENT");
  }
  return slot;
}

Status CheckOpenedBox(const v1::SealedRecord& stored, const SealedSlot& slot,
                      std::string_view case_id, const AgencyId& caller) {
  const std::string what(SealedBoxName(slot.box));
  if (stored.version() != slot.version) {
    // The stored box is not the version it is stored under: an older version put back under a
    // newer number in the store. Readers would catch it too (the signature covers the version);
    // refusing here also protects readers that do not verify.
    return WithReason(
        absl::DataLossError(absl::StrCat("the sealed ", what, " stored as version ", slot.version,
                                         " of case ", std::string(case_id), " is version ",
                                         stored.version(), ": storage altered")),
        "SEALED_RECORD_MISMATCH");
  }
  const std::string me = caller.Key();
  for (const v1::WrappedKey& k : stored.keys()) {
    if (k.recipient() == me) return absl::OkStatus();
  }
  return WithReason(absl::PermissionDeniedError(
                        absl::StrCat("the sealed ", what, " of case ", std::string(case_id),
                                     " version ", stored.version(), " is not sealed to ", me)),
                    "NOT_A_RECIPIENT");
}

}  // namespace concord::referrals
