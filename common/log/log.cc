// File: common/log/log.cc
#include "common/log/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "nlohmann/json.hpp"

namespace concord::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_write_mu;  // one whole line per write, even from many threads

std::string NowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%.*s.%03dZ", static_cast<int>(n), buf,
                static_cast<int>(ms % 1000));
  return out;
}

bool IsReserved(std::string_view key) { return key == "ts" || key == "level" || key == "event"; }

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::optional<Level> ParseLevel(std::string_view name) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (LevelName(l) == name) return l;
  }
  return std::nullopt;
}

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }
Level GetLevel() { return g_level.load(std::memory_order_relaxed); }

std::string FormatEvent(Level level, std::string_view event, Fields fields) {
  // ordered_json keeps ts/level/event first, then the fields in the caller's order.
  nlohmann::ordered_json line;
  line["ts"] = NowRfc3339();
  line["level"] = std::string(LevelName(level));
  line["event"] = std::string(event);
  for (const auto& [key, value] : fields) {
    std::string k = IsReserved(key) ? "field." + std::string(key) : std::string(key);
    line[std::move(k)] = value;
  }
  // Invalid UTF-8 is replaced (U+FFFD) rather than throwing: logging must never fail.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void Event(Level level, std::string_view event, Fields fields) {
  if (static_cast<int>(level) < static_cast<int>(GetLevel())) return;
  std::string text;
  try {
    text = FormatEvent(level, event, fields);
  } catch (const std::exception&) {  // allocation failure: drop the line, never the process
    return;
  }
  text.push_back('\n');
  const std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace concord::log
