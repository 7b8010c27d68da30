#include "common/envelope/case_reference.h"

namespace concord::envelope {

bool IsOpaqueCaseReference(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > kMaxCaseReference) return false;
  size_t digits = 0;
  size_t letters = 0;
  size_t run = 0;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      ++letters;
      if (++run > kMaxCaseReferenceLetterRun) return false;
      continue;
    }
    run = 0;
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '-' && c != '_' && c != '/' && c != '.' && c != ':') {
      return false;
    }
  }
  return digits >= 1 && digits >= letters;
}

Status ValidateCaseReference(std::string_view reference, std::string_view field) {
  if (IsOpaqueCaseReference(reference)) return absl::OkStatus();
  return WithReason(
      InvalidArgumentWithFields("case reference is not an opaque file number",
                                {{std::string(field), std::string(kCaseReferenceRule)}}),
      "CASE_REFERENCE_NOT_OPAQUE");
}

}  // namespace concord::envelope
