// File: common/config/config_flags.cc
//
// The only translation unit of concord_config that includes CLI11 (~12 s of compile time per TU).
#include "CLI/CLI.hpp"
#include "common/config/config.h"
#include "common/config/internal/options.h"

namespace concord::config {

void AddCommonFlags(CLI::App& app, CommonConfig& cfg) {
  for (const internal::OptionDef& def : internal::OptionDefs()) {
    const std::string env = internal::EnvName(def.flag);
    const std::string help = std::string(def.description) + " (env " + env + ")";
    CLI::Option* opt = std::visit(
        [&](auto member) -> CLI::Option* {
          return app.add_option(std::string(def.flag), cfg.*member, help);
        },
        def.member);
    opt->envname(env);
    opt->capture_default_str();
  }
  // Replaced options are still parsed (flag and environment), so that Validate() can refuse
  // them naming their replacement instead of CLI11's "not expected" or a silent environment.
  for (const RemovedOption& removed : RemovedOptions()) {
    std::string& value = cfg.removed_options[std::string(removed.flag)];
    app.add_option(std::string(removed.flag), value,
                   "REPLACED by " + std::string(removed.replacement) + ": refused at start")
        ->envname(internal::EnvName(removed.flag))
        ->group("");
  }
}

}  // namespace concord::config
