// File: common/envelope/case_reference.h
//
// The case reference of an envelope travels in clear (the agencies file messages by it, and it
// is signed), so it must be an opaque file number, never a description of a person. The rule,
// checked by the agency library before sealing and by the messaging service on Send/Forward:
//
//   empty, or 1..64 characters of   A-Z  0-9  -  _  /  .  :
//   with at least one digit, at least as many digits as letters, and no run of more than
//   4 consecutive letters.
//
// So "AN.12.34/26", "BXL-2026-0042", "PV-2026-0001", "EPE-2026-0001" pass, while "MARIA-1",
// "EXEMPLARIA/2026" and "Maria Exemplaria" are refused: a name needs letters in runs and more
// letters than digits. Short names padded with digits ("ANNA-2026") pass the shape test; the
// rule keeps names out by form, not by knowing names (docs/security.md lists this limit).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status/status.h"

namespace concord::envelope {

inline constexpr size_t kMaxCaseReference = 64;
inline constexpr size_t kMaxCaseReferenceLetterRun = 4;

/// One line describing the rule (used in field violations and CLI help).
inline constexpr std::string_view kCaseReferenceRule =
    "an opaque file number: 1..64 of A-Z 0-9 - _ / . : with at least one digit, at least as many "
    "digits as letters and no more than 4 letters in a row (it travels in clear: no names)";

/// True iff `reference` is empty or meets the rule above.
bool IsOpaqueCaseReference(std::string_view reference);

/// OK iff IsOpaqueCaseReference; otherwise INVALID_ARGUMENT with one field violation on `field`
/// (kCaseReferenceRule) and ErrorInfo reason CASE_REFERENCE_NOT_OPAQUE.
Status ValidateCaseReference(std::string_view reference,
                             std::string_view field = "envelope.case_reference");

}  // namespace concord::envelope
