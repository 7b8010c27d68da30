// concord-referrals: the referrals service alone (the victim-status procedure).
#include "common/host/service_host.h"
#include "services/referrals/referrals_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-referrals",
       .description = "Concord referrals service: the victim referral and victim-status procedure",
       .modules = {concord::referrals::ReferralsModule()}});
}
