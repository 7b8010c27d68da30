// Tests for cli/concordctl/agency_format.h: --attribute NAME=VALUE.
#include "cli/concordctl/agency_format.h"

#include <gtest/gtest.h>

#include "tests/support/field_violations.h"

namespace concord::ctl {
namespace {

using testing::FirstViolationField;

TEST(AttributeFlag, ParsesNameAndValue) {
  auto a = ParseAttributeFlag("--attribute", "time_zone=Europe/Brussels");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name(), "time_zone");
  EXPECT_EQ(a->value(), "Europe/Brussels");
  a = ParseAttributeFlag("--attribute", "recognised_centre=");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value(), "");  // reset to the default
  EXPECT_EQ(FirstViolationField(ParseAttributeFlag("--attribute", "flag").status()), "--attribute");
  EXPECT_EQ(FirstViolationField(ParseAttributeFlag("--attribute", "=true").status()),
            "--attribute");
}

}  // namespace
}  // namespace concord::ctl
