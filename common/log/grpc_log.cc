#include "common/log/grpc_log.h"

#include <grpc/support/log.h>

#include <string>

#include "common/log/log.h"

namespace concord::log {
namespace {

void GrpcLogToJson(gpr_log_func_args* args) {
  const Level level = args->severity == GPR_LOG_SEVERITY_ERROR ? Level::kWarn : Level::kDebug;
  std::string file = args->file != nullptr ? args->file : "";
  if (const size_t slash = file.rfind('/'); slash != std::string::npos) file.erase(0, slash + 1);
  Event(level, "grpc.core",
        {{"source", file + ":" + std::to_string(args->line)},
         {"message", args->message != nullptr ? args->message : ""}});
}

}  // namespace

void RedirectGrpcCoreLogs() {
  gpr_log_verbosity_init();  // reads GRPC_VERBOSITY now (default ERROR), not only at grpc_init()
  gpr_set_log_function(GrpcLogToJson);
}

}  // namespace concord::log
