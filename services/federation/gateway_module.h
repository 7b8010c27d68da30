// File: services/federation/gateway_module.h
//
// The federation gateway as a host module (common/host/service_host.h), hosted by
// concord-gateway only (its own workload: Redis ACL user concord-gateway on {gw}, audit intake
// "gateway", identity admin/concord-gateway). The instance:
//   - reads --federation-config (federation_config.h) and the export key it names;
//   - registers concord.federation.v1.Federation on the host's internal mutual-TLS port;
//   - runs a SECOND listener, the partner port (the config's listen_address), whose TLS trust
//     bundle is the partner CA alone and whose Authorizer admits the partner trust domain as the
//     partner_gateway class (common/authz): only concord.federation.v1.Gateway is served there,
//     every refusal is audited;
//   - fetches the partner's signed export every refresh_seconds (gateway.h).
// Start-up refuses (module.failed, exit 1) without --federation-config, with a configuration
// that does not parse (the message names the key), an unreadable export key, or a partner port
// that cannot be bound.
#pragma once

#include "common/host/service_host.h"

namespace concord::federation {

host::Module GatewayModule();

}  // namespace concord::federation
