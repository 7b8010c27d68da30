// concord-messaging: the messaging service alone (signed, sealed, store-and-forward messages).
#include "common/host/service_host.h"
#include "services/messaging/messaging_module.h"

int main(int argc, char** argv) {
  return concord::host::RunServiceHost(
      argc, argv,
      {.binary = "concord-messaging",
       .description = "Concord messaging service: signed, end-to-end sealed, store-and-forward",
       .modules = {concord::messaging::MessagingModule()}});
}
