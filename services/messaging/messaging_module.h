// File: services/messaging/messaging_module.h
//
// The messaging service as a host module (common/host/service_host.h): concord-server and
// concord-messaging list MessagingModule() and the host builds it from the shared objects.
// The instance owns the Redis store, the directory key lookup, the Mailbox, the pub/sub delivery
// notifier, the gRPC service and a sweeper thread (every second: expired messages removed and
// their erasure audited; the concord_inbox_backlog gauge refreshed).
#pragma once

#include "common/host/service_host.h"

namespace concord::messaging {

host::Module MessagingModule();

}  // namespace concord::messaging
