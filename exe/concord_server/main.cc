// concord-server: every Concord service in one process (the default of scripts/up.sh).
#include "common/host/service_host.h"
#include "services/audit/audit_module.h"
#include "services/directory/directory_module.h"
#include "services/guidelines/guidelines_module.h"
#include "services/liaison/liaison_module.h"
#include "services/messaging/messaging_module.h"
#include "services/referrals/referrals_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-server",
       .description = "Concord: every service (directory, audit, messaging, referrals, guidelines, "
                      "liaison) in one process, over mTLS",
       .modules = {concord::directory::DirectoryModule(), concord::audit::AuditModule(),
                   concord::messaging::MessagingModule(), concord::referrals::ReferralsModule(),
                   concord::guidelines::GuidelinesModule(), concord::liaison::LiaisonModule()}});
}
