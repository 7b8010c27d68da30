// File: common/redis/stream_group.cc
#include "common/redis/stream_group.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace concord::redis {
namespace {

bool IsNoGroup(const Status& s) { return s.message().find("NOGROUP") != std::string_view::npos; }

// KEYS: stream. ARGV: group, stream ids... Returns the number deleted.
const Script& AckAndDeleteScript() {
  static const Script* const script = new Script(R"lua(
if #ARGV < 2 then return 0 end
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
redis.pcall('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))
)lua");
  return *script;
}

}  // namespace

bool IsStreamId(std::string_view id) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size() || id.size() > 41) {
    return false;
  }
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '-'; }) &&
         id.find('-', dash + 1) == std::string_view::npos;
}

Status StreamGroupReader::AckAndDelete(const std::vector<std::string>& stream_ids) {
  if (stream_ids.empty()) return absl::OkStatus();
  std::vector<std::string> args = {group_};
  args.reserve(stream_ids.size() + 1);
  for (size_t i = 0; i < stream_ids.size(); ++i) {
    if (!IsStreamId(stream_ids[i])) {
      return InvalidArgumentWithFields(
          "invalid stream entry id",
          {{absl::StrCat("stream_ids[", i, "]"), "not a stream entry id (<ms>-<seq>)"}});
    }
    args.push_back(stream_ids[i]);
  }
  return redis_.Eval(AckAndDeleteScript(), {key_}, args).status();
}

StatusOr<int64_t> StreamGroupReader::Length() {
  CONCORD_ASSIGN_OR_RETURN(Reply r, redis_.Command({"XLEN", key_}));
  return r.integer;
}

Status StreamGroupReader::EnsureGroup() {
  auto r = redis_.Command({"XGROUP", "CREATE", key_, group_, "0", "MKSTREAM"});
  if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string_view::npos) {
    return r.status();
  }
  return absl::OkStatus();
}

StatusOr<std::vector<Reply>> StreamGroupReader::Read(std::string_view consumer, int max,
                                                     absl::Duration claim_after) {
  if (consumer.empty() || consumer.size() > 128 ||
      consumer.find_first_of(" \t\r\n") != std::string_view::npos) {
    return InvalidArgumentWithFields("invalid consumer", {{"consumer", "empty or malformed"}});
  }
  std::vector<Reply> out;
  if (max < 1) return out;
  Status s = ReadInto(consumer, max, claim_after, out);
  if (!s.ok()) {
    // Whatever this read made Redis assign to us is pending under our name: read it next time.
    reread_own_.store(true);
    return s;
  }
  return out;
}

Status StreamGroupReader::ReadInto(std::string_view consumer, int max, absl::Duration claim_after,
                                   std::vector<Reply>& out) {
  const std::string name(consumer);
  std::set<std::string> seen;
  auto add = [&](const Reply& entries) {
    for (const Reply& e : entries.elements) {
      if (e.elements.size() != 2 || e.elements[1].type != Reply::Type::kArray) continue;
      if (static_cast<int>(out.size()) < max && seen.insert(e.elements[0].str).second) {
        out.push_back(e);
      }
    }
  };
  auto remaining = [&] { return absl::StrCat(max - static_cast<int>(out.size())); };
  auto read_group = [&](const char* from) -> StatusOr<Reply> {
    const std::vector<std::string> cmd = {"XREADGROUP", "GROUP",   group_, name, "COUNT",
                                          remaining(),  "STREAMS", key_,   from};
    auto r = redis_.Command(cmd);
    if (!r.ok() && IsNoGroup(r.status())) {
      CONCORD_RETURN_IF_ERROR(EnsureGroup());
      r = redis_.Command(cmd);
    }
    return r;
  };
  auto add_streams = [&](const Reply& r) {
    for (const Reply& stream : r.elements) {
      if (stream.elements.size() == 2) add(stream.elements[1]);
    }
  };

  // 1. Our own pending entries, after a failed read.
  if (reread_own_.exchange(false)) {
    CONCORD_ASSIGN_OR_RETURN(Reply r, read_group("0"));
    add_streams(r);
  }

  // 2. Entries left idle past claim_after (the pending list is scanned in bounded steps).
  const std::string idle =
      absl::StrCat(std::max<int64_t>(absl::ToInt64Milliseconds(claim_after), 0));
  std::string start = "0-0";
  for (int round = 0; round < 10 && static_cast<int>(out.size()) < max; ++round) {
    auto r = redis_.Command({"XAUTOCLAIM", key_, group_, name, idle, start, "COUNT", remaining()});
    if (!r.ok()) {
      if (!IsNoGroup(r.status())) return r.status();
      CONCORD_RETURN_IF_ERROR(EnsureGroup());
      break;
    }
    if (r->elements.size() < 2) return absl::InternalError("redis: malformed XAUTOCLAIM reply");
    add(r->elements[1]);
    start = r->elements[0].str;
    if (start == "0-0") break;
  }

  // 3. New entries.
  if (static_cast<int>(out.size()) < max) {
    CONCORD_ASSIGN_OR_RETURN(Reply r, read_group(">"));
    add_streams(r);
  }
  return absl::OkStatus();
}

}  // namespace concord::redis
