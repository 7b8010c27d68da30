// concord-directory: the directory service alone (agencies, keys, suspension, revocation).
#include "common/host/service_host.h"
#include "services/directory/directory_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-directory",
       .description = "Concord directory service: agencies, keys, suspension and revocation",
       .modules = {concord::directory::DirectoryModule()}});
}
