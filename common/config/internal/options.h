// File: common/config/internal/options.h  (private to concord_config)
//
// The one table of common options: flags (config_flags.cc), environment variables, defaults and
// the documentation (config.cc) are all generated from it.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/config/config.h"

namespace concord::config::internal {

struct OptionDef {
  std::string_view flag;  // "--redis-port"; the env var is derived: CONCORD_REDIS_PORT
  std::variant<std::string CommonConfig::*, int CommonConfig::*> member;
  std::string_view description;
};

const std::vector<OptionDef>& OptionDefs();

/// "--redis-port" -> "CONCORD_REDIS_PORT".
std::string EnvName(std::string_view flag);

/// The value of the option in `cfg`, rendered as text.
std::string ValueText(const CommonConfig& cfg, const OptionDef& def);

}  // namespace concord::config::internal
