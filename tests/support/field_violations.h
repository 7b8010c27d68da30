// File: tests/support/field_violations.h
//
// The field names of a status' INVALID_ARGUMENT field violations (common/status), for tests that
// assert which field or flag an error names.
#pragma once

#include <string>
#include <vector>

#include "common/status/status.h"

namespace concord::testing {

/// Every violated field, in order.
inline std::vector<std::string> ViolationFields(const Status& status) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FieldViolationsOf(status)) out.push_back(v.field);
  return out;
}

/// The first violated field ("" when there is none): the flag a parse error names.
inline std::string FirstViolationField(const Status& status) {
  const std::vector<FieldViolation> violations = FieldViolationsOf(status);
  return violations.empty() ? "" : violations.front().field;
}

}  // namespace concord::testing
