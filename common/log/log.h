// File: common/log/log.h
//
// Structured event logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-28T14:03:07.123Z","level":"info","event":"server.started","port":"7443"}
// `ts` is RFC 3339 UTC with milliseconds; field values are strings, JSON-escaped.
//
// Rules (docs/security.md):
//   - NEVER personal data: no names, message bodies, case details, officer identities, free text
//     from requests. Agency keys ("police/brussels-01"), method names, status codes, counts and
//     durations are fine.
//   - Log once, at the boundary (main, the server runner, a background loop); functions that return
//     a Status do not also log it.
//   - Event names are dotted lower_snake: "<area>.<what_happened>" ("redis.reconnected").
//
// Thread-safety: Event() and SetLevel() may be called from any thread; each line is written whole.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace concord::log {

enum class Level { kDebug, kInfo, kWarn, kError };

/// "debug" | "info" | "warn" | "error".
std::string_view LevelName(Level level);

/// Parses "debug|info|warn|error" (exact, lower case); nullopt otherwise.
std::optional<Level> ParseLevel(std::string_view name);

/// Global minimum level (default kInfo). Events below it are dropped.
void SetLevel(Level level);
Level GetLevel();

using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

/// Writes one JSON line to stderr if `level` >= the global level. Field names "ts", "level" and
/// "event" are reserved; a field repeating them is written with a "field." prefix.
void Event(Level level, std::string_view event, Fields fields = {});

/// The JSON line Event() would write (without the trailing newline); for tests and sinks.
std::string FormatEvent(Level level, std::string_view event, Fields fields = {});

inline void Debug(std::string_view event, Fields fields = {}) {
  Event(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, Fields fields = {}) { Event(Level::kInfo, event, fields); }
inline void Warn(std::string_view event, Fields fields = {}) { Event(Level::kWarn, event, fields); }
inline void Error(std::string_view event, Fields fields = {}) {
  Event(Level::kError, event, fields);
}

}  // namespace concord::log
