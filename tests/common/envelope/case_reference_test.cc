#include "common/envelope/case_reference.h"

#include <gtest/gtest.h>

namespace concord::envelope {
namespace {

// Test the rule of an opaque case reference: file numbers pass; names, words and lower case do
// not (docs/security.md "What stays in clear").
TEST(CaseReference, FileNumbersPassNamesDoNot) {
  for (const char* ok :
       {"", "AN.12.34/26", "BXL-2026-0042", "PV-2026-0001", "EPE-2026-0001", "BR.55.LL.123456/2026",
        "DEMO-0001", "E2E-2026-0001", "12345", "2026:17", "JIT_2026_07"}) {
    EXPECT_TRUE(IsOpaqueCaseReference(ok)) << ok;
  }
  for (const char* bad :
       {"Maria Exemplaria", "MARIA EXEMPLARIA", "MARIA-EXEMPLARIA", "MARIA-EXEMPLARIA-1",
        "EXEMPLARIA/2026", "MARIA-1", "maria-2026", "ANNA", "DEMO-CASE-1", "PV-DEMO-0002", "AN 12",
        "AN.12,34", "1234567890123456789012345678901234567890123456789012345678901234X"}) {
    EXPECT_FALSE(IsOpaqueCaseReference(bad)) << bad;
  }
  const Status s = ValidateCaseReference("MARIA-EXEMPLARIA-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(s), "CASE_REFERENCE_NOT_OPAQUE");
  ASSERT_EQ(FieldViolationsOf(s).size(), 1u);
  EXPECT_EQ(FieldViolationsOf(s)[0].field, "envelope.case_reference");
  EXPECT_EQ(FieldViolationsOf(ValidateCaseReference("x", "--case-ref"))[0].field, "--case-ref");
}

}  // namespace
}  // namespace concord::envelope
