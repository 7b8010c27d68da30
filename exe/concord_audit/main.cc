// concord-audit: the audit service alone (hash-chained log, signed checkpoints, verification).
#include "common/host/service_host.h"
#include "services/audit/audit_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-audit",
       .description = "Concord audit service: tamper-evident log, signed checkpoints, verify",
       .modules = {concord::audit::AuditModule()}});
}
