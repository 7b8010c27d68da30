// concord-gateway: the federation gateway with a partner deployment (its own workload and
// identity admin/concord-gateway; docs/liaison.md "Federation with a partner deployment").
#include "common/host/service_host.h"
#include "services/federation/gateway_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-gateway",
       .description = "Concord federation gateway: relays sealed, signed envelopes and receipts "
                      "to and from one partner deployment (another trust domain), serves this "
                      "deployment's signed directory export and verifies the partner's",
       .modules = {concord::federation::GatewayModule()}});
}
