// concord-liaison: the liaison service alone (international requests with their legal clocks,
// joint investigation teams, the platform desk).
#include "common/host/service_host.h"
#include "services/liaison/liaison_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-liaison",
       .description = "Concord liaison service: international requests with their legal clocks "
                      "(EIO, 2023/977, e-Evidence, MLA), joint investigation teams and the "
                      "platform desk",
       .modules = {concord::liaison::LiaisonModule()}});
}
