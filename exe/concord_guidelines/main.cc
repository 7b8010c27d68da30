// concord-guidelines: the guidelines service alone (signed, versioned, multilingual guidance).
#include "common/host/service_host.h"
#include "services/guidelines/guidelines_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-guidelines",
       .description = "Concord guidelines service: signed, versioned, multilingual guidance, "
                      "pushed to its audience and acknowledged",
       .modules = {concord::guidelines::GuidelinesModule()}});
}
