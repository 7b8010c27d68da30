// File: common/quota/token_bucket.cc
#include "common/quota/token_bucket.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/quota/refusal.h"
#include "common/redis/keys.h"
#include "common/redis/script.h"
#include "common/status/status_macros.h"

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

void AppendTrailingCharges(std::string_view tag, const std::vector<Charge>& charges,
                           std::vector<std::string>& keys, std::vector<std::string>& args) {
  for (const Charge& c : charges) {
    keys.push_back(BucketKey(tag, c));
    AppendChargeArgs(c, args);
  }
}

std::optional<Status> RefusalOfReply(const redis::Reply& reply,
                                     const std::vector<Charge>& charges) {
  if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 3 ||
      reply.elements[0].str != "quota") {
    return std::nullopt;
  }
  const int64_t i = reply.elements[1].integer;
  if (i < 1 || static_cast<size_t>(i) > charges.size()) {
    return absl::InternalError("redis: a quota refusal names no charge of the call");
  }
  return QuotaRefusal(charges[static_cast<size_t>(i) - 1],
                      absl::Milliseconds(reply.elements[2].integer));
}

Status ChargeAlone(redis::RedisClient& redis, const std::string& key, const Charge& charge) {
  // KEYS[1] the bucket; ARGV[1..3] burst, refill per second, cost.
  static const auto* const script = new redis::Script(std::string(kTokenBucketLua) + R"lua(
local refused = concord_charge(concord_charges(1, 1, 1))
if refused ~= 0 then return {'quota', refused[1], refused[2]} end
return 0
)lua");
  std::vector<std::string> args;
  AppendChargeArgs(charge, args);
  CONCORD_ASSIGN_OR_RETURN(redis::Reply reply, redis.Eval(*script, {key}, args));
  if (auto refused = RefusalOfReply(reply, {charge})) return *refused;
  return absl::OkStatus();
}

}  // namespace concord::quota
