// File: services/directory/directory_module.cc
#include "services/directory/directory_module.h"

#include <memory>

#include "services/directory/directory_service.h"
#include "services/directory/redis_directory_store.h"

namespace concord::directory {
namespace {

class DirectoryModuleInstance final : public host::ModuleInstance {
 public:
  explicit DirectoryModuleInstance(host::HostDeps& deps)
      : store_(deps.redis, deps.config.trust_domain),
        service_(deps.config.trust_domain, store_, deps.audit, deps.clock, deps.revocations) {}

  std::vector<grpc::Service*> services() override { return {&service_}; }

 private:
  RedisDirectoryStore store_;
  DirectoryService service_;
};

}  // namespace

host::Module DirectoryModule() {
  return host::Module{
      .name = "directory",
      .create = [](host::HostDeps& deps) -> StatusOr<std::unique_ptr<host::ModuleInstance>> {
        return std::unique_ptr<host::ModuleInstance>(
            std::make_unique<DirectoryModuleInstance>(deps));
      }};
}

}  // namespace concord::directory
