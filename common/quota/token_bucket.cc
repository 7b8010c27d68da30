// File: common/quota/token_bucket.cc
#include "common/quota/token_bucket.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/redis/keys.h"

namespace concord::quota {

std::string BucketKey(std::string_view tag, Quota quota, const AgencyId& agency) {
  return redis::Key(tag, absl::StrCat("quota:", std::string(QuotaName(quota)), ":", agency.Key()));
}

void AppendChargeArgs(const Charge& charge, std::vector<std::string>& args) {
  args.push_back(absl::StrCat(charge.spec.burst));
  // Shortest text that reads back as the same double (Lua's tonumber parses it).
  args.push_back(absl::StrFormat("%.17g", charge.spec.per_second));
  args.push_back(absl::StrCat(charge.cost));
}

}  // namespace concord::quota
