# shellcheck shell=bash
# Sourced by scripts/up.sh: the partner deployment (trust domain partner.test, its own CA in
# var/partner/pki, its own redis-server and concord-server) and the federation gateways of both
# deployments (concord-gateway, services/federation; docs/liaison.md "Federation with a partner
# deployment"), then the federation demo: an EIO liaison request crosses sealed with its signed
# descriptor (the partner's liaison service then holds it with its acknowledgement deadline), is
# acknowledged (the acknowledgement crosses back to our liaison request) and answered, a partner
# agency not on the allow-list is refused, both audit chains verify.
# Uses up.sh's helpers and variables (info, ok, die, pid_alive, stop_process, port_in_use, step,
# show, demo, ROOT, PKI, RUN_DIR, LOG_DIR, REDIS_PORT, REDIS_SECRETS, TRUST_DOMAIN, LISTEN,
# CONCORDCTL, SERVER_BIN, GATEWAY_BIN).

P_TD=partner.test
P_ROOT=$ROOT/var/partner
P_PKI=$P_ROOT/pki
P_REDIS_PORT=${CONCORD_PARTNER_REDIS_PORT:-6391}
P_REDIS_DIR=$P_ROOT/redis
P_REDIS_SECRETS=$P_ROOT/redis-acl/secrets
P_REDIS_ACL=$P_ROOT/redis-acl/users.acl
P_LISTEN=127.0.0.1:7543
P_HEALTH=127.0.0.1:7181
P_METRICS=127.0.0.1:9564
# Gateways: internal mTLS port (agencies), partner port (the other gateway), health, metrics.
GW_LISTEN=127.0.0.1:7445 GW_PARTNER=127.0.0.1:7446 GW_HEALTH=127.0.0.1:7083 GW_METRICS=127.0.0.1:9466
P_GW_LISTEN=127.0.0.1:7545 P_GW_PARTNER=127.0.0.1:7546 P_GW_HEALTH=127.0.0.1:7183
P_GW_METRICS=127.0.0.1:9566
P_REDIS_PID=$RUN_DIR/partner-redis.pid
P_REDIS_ACL_LOADED=$RUN_DIR/partner-redis-acl.loaded  # the ACL file as the partner's Redis read it
P_SERVER_PID=$RUN_DIR/partner-concord-server.pid
GW_PID=$RUN_DIR/concord-gateway.pid
P_GW_PID=$RUN_DIR/partner-concord-gateway.pid
FEDERATION_CONFIG=$ROOT/var/federation/federation.json
P_FEDERATION_CONFIG=$P_ROOT/federation.json
# Who crosses: our reference magistrate and the Dutch prosecutor; politie-nl is exported by the
# partner but not on our allow-list (the demo shows its refusal).
FED_LOCAL=magistrate/parquet-bruxelles-thb
FED_PARTNER=magistrate/om-rotterdam
FED_STRANGER=police/politie-nl

federation_stop() {
  stop_process "$GW_PID" concord-gateway 15
  stop_process "$P_GW_PID" concord-gateway 15
  stop_process "$P_SERVER_PID" concord-server 20
  stop_process "$P_REDIS_PID" redis-server 15
}

federation_pki() {
  ./scripts/pki.sh --quiet --dir "$PKI" --trust-domain "$TRUST_DOMAIN" gateway
  local a
  for a in server audit gateway; do
    ./scripts/pki.sh --quiet --dir "$P_PKI" --trust-domain "$P_TD" "$a"
  done
  for a in admin/ops "$FED_PARTNER" "$FED_STRANGER"; do
    ./scripts/pki.sh --quiet --dir "$P_PKI" --trust-domain "$P_TD" agency "${a%%/*}" "${a#*/}"
  done
}

start_partner_redis() {
  mkdir -p "$P_REDIS_DIR"
  ./scripts/redis-acl.sh --secrets "$P_REDIS_SECRETS" --out "$P_REDIS_ACL"
  if pid_alive "$P_REDIS_PID" redis-server; then
    ok "partner redis-server already running on 127.0.0.1:$P_REDIS_PORT, reused"
    # As up.sh for the local one: Redis reads its ACL file at start only, so a release that
    # grants its workloads new commands needs a restart, or the partner's calls fail NOPERM.
    if [ -f "$P_REDIS_ACL_LOADED" ] && ! cmp -s "$P_REDIS_ACL" "$P_REDIS_ACL_LOADED"; then
      warn "the partner's redis-server loaded an older ACL (var/partner/redis-acl/users.acl" \
        "changed since it started): this build's commands may be refused NOPERM; restart it:" \
        "./scripts/up.sh --stop && ./scripts/up.sh"
    fi
    return 0
  fi
  port_in_use "$P_REDIS_PORT" && die "port $P_REDIS_PORT is in use (set CONCORD_PARTNER_REDIS_PORT)"
  info "starting the partner's redis-server on 127.0.0.1:$P_REDIS_PORT (data in var/partner/redis/)"
  redis-server --bind 127.0.0.1 --port "$P_REDIS_PORT" --protected-mode yes \
    --maxmemory 256mb --maxmemory-policy noeviction --appendonly yes --appendfsync everysec \
    --rdbcompression no \
    --dir "$P_REDIS_DIR" --aclfile "$P_REDIS_ACL" --daemonize yes --pidfile "$P_REDIS_PID" \
    --logfile "$LOG_DIR/partner-redis.log" >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    if REDISCLI_AUTH=$(cat "$P_REDIS_SECRETS/concord-audit.password") \
      redis-cli -h 127.0.0.1 -p "$P_REDIS_PORT" --user concord-audit ping 2>&1 | grep -q PONG; then
      cp "$P_REDIS_ACL" "$P_REDIS_ACL_LOADED"
      ok "partner redis-server up"
      return 0
    fi
    sleep 0.1
  done
  die "the partner's redis-server did not answer within 10 s (var/log/partner-redis.log)"
}

# wait_serving PIDFILE LOG HEALTH_ADDRESS NAME: polls the plaintext health port, at most 30 s.
wait_serving() {
  local pidfile=$1 log=$2 health=$3 name=$4 deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "$name exited during start-up (log above)"
    fi
    if "$CONCORDCTL" --server "$health" --timeout 2 health --plaintext 2>/dev/null | grep -q SERVING; then
      return 0
    fi
    sleep 0.5
  done
  tail -n 30 "$log" >&2 || true
  die "$name not SERVING after 30 s"
}

start_partner_server() {
  if pid_alive "$P_SERVER_PID" concord-server; then
    ok "partner concord-server already running, reused"
    return 0
  fi
  local addr
  for addr in "$P_LISTEN" "$P_HEALTH" "$P_METRICS"; do
    port_in_use "${addr##*:}" && die "port ${addr##*:} is in use (partner concord-server)"
  done
  info "starting the partner's concord-server ($P_TD: mTLS $P_LISTEN, health $P_HEALTH, metrics $P_METRICS)"
  local env=() w
  for w in directory audit messaging referrals guidelines liaison; do
    env+=("CONCORD_REDIS_${w^^}_PASSWORD_FILE=$P_REDIS_SECRETS/concord-$w.password")
  done
  env "${env[@]}" nohup "$SERVER_BIN" \
    --listen-address "$P_LISTEN" --health-address "$P_HEALTH" --metrics-address "$P_METRICS" \
    --tls-cert "$P_PKI/server/cert.pem" --tls-key "$P_PKI/server/key.pem" --tls-ca "$P_PKI/ca.pem" \
    --trust-domain "$P_TD" --redis-host 127.0.0.1 --redis-port "$P_REDIS_PORT" \
    --audit-key-file "$P_PKI/audit/audit.key" --audit-signing-key-file "$P_PKI/audit/sign.key" \
    --bootstrap-directory-admins admin/ops \
    >>"$LOG_DIR/partner-concord-server.log" 2>&1 </dev/null &
  echo $! >"$P_SERVER_PID"
  wait_serving "$P_SERVER_PID" "$LOG_DIR/partner-concord-server.log" "$P_HEALTH" \
    "the partner's concord-server"
  ok "partner concord-server SERVING (log var/log/partner-concord-server.log)"
}

p_ctl_admin() {
  "$CONCORDCTL" --agency-dir "$P_PKI/agencies/admin/ops" --server "$P_LISTEN" \
    --officer up.sh --justification "up.sh: register the partner's demo agencies" "$@"
}

register_partner_agencies() {
  local a out rc
  for a in "admin/ops|Partner operations|directory_administrator=true,audit_reviewer=true" \
    "$FED_PARTNER|Openbaar Ministerie Rotterdam - THB|magistrate_role=prosecutor,time_zone=Europe/Amsterdam" \
    "$FED_STRANGER|Politie Nederland - AVIM|"; do
    IFS='|' read -r key name attrs <<<"$a"
    local args=(directory register --from-pki "$P_PKI/agencies/$key" --jurisdiction NL --name "$name")
    local s
    for s in ${attrs//,/ }; do args+=(--attribute "$s"); done
    rc=0
    out=$(p_ctl_admin "${args[@]}" 2>&1) || rc=$?
    if [ $rc -ne 0 ] && ! grep -q ALREADY_EXISTS <<<"$out"; then
      echo "$out" >&2
      die "registering $key in the partner directory failed (exit $rc)"
    fi
  done
  ok "partner directory: admin/ops, $FED_PARTNER, $FED_STRANGER"
}

# write_federation_config OUT LOCAL_TD PARTNER_TD PARTNER_ADDR PARTNER_CA PARTNER_EXPORT_PUB
#   LISTEN GATEWAY_DIR ALLOW(csv SPIFFE) EXPORT(csv SPIFFE) LIAISON_ADDR (this side's server)
write_federation_config() {
  mkdir -p "$(dirname "$1")"
  python3 - "$@" <<'PY'
import json, sys
out, local_td, partner_td, addr, ca, pub, listen, gw, allow, export, liaison = sys.argv[1:]
doc = {
    "partner_trust_domain": partner_td, "partner_address": addr, "partner_ca_file": ca,
    "partner_export_key_pem": open(pub).read(), "listen_address": listen,
    "gateway_cert_file": gw + "/cert.pem", "gateway_key_file": gw + "/key.pem",
    "export_key_file": gw + "/export.key", "allow": allow.split(","), "export": export.split(","),
    # Development values: the default is a fetch every 60 s (docs/liaison.md).
    "refresh_seconds": 5, "max_export_age_seconds": 60,
    # Liaison descriptors that cross are recorded in this deployment's liaison service.
    "liaison_address": liaison,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
PY
}

register_federation() {
  write_federation_config "$FEDERATION_CONFIG" "$TRUST_DOMAIN" "$P_TD" "$P_GW_PARTNER" \
    "$P_PKI/ca.pem" "$P_PKI/gateway/export.pub" "$GW_PARTNER" "$PKI/gateway" \
    "spiffe://$P_TD/agency/$FED_PARTNER" "spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL" "$LISTEN"
  write_federation_config "$P_FEDERATION_CONFIG" "$P_TD" "$TRUST_DOMAIN" "$GW_PARTNER" \
    "$PKI/ca.pem" "$PKI/gateway/export.pub" "$P_GW_PARTNER" "$P_PKI/gateway" \
    "spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL" \
    "spiffe://$P_TD/agency/$FED_PARTNER,spiffe://$P_TD/agency/$FED_STRANGER" "$P_LISTEN"
  ok "federation registered on both sides (var/federation/federation.json, var/partner/federation.json)"
}

# start_gateway PIDFILE NAME PKI TD REDIS_PORT SECRETS LISTEN HEALTH METRICS CONFIG
start_gateway() {
  local pidfile=$1 name=$2 pki=$3 td=$4 rport=$5 secrets=$6 listen=$7 health=$8 metrics=$9
  local config=${10} log=$LOG_DIR/$2.log
  if pid_alive "$pidfile" concord-gateway; then
    ok "$name already running, reused"
    return 0
  fi
  info "starting $name ($td: agencies $listen, partner port $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen_address"])' "$config"))"
  CONCORD_REDIS_GATEWAY_PASSWORD_FILE=$secrets/concord-gateway.password nohup "$GATEWAY_BIN" \
    --listen-address "$listen" --health-address "$health" --metrics-address "$metrics" \
    --tls-cert "$pki/server/cert.pem" --tls-key "$pki/server/key.pem" --tls-ca "$pki/ca.pem" \
    --trust-domain "$td" --redis-host 127.0.0.1 --redis-port "$rport" \
    --audit-key-file "$pki/audit/audit.key" --federation-config "$config" \
    >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_serving "$pidfile" "$log" "$health" "$name"
  ok "$name SERVING (log var/log/$name.log)"
}

# A redis-server started by an older up.sh has no concord-gateway user: say so, do not let the
# gateway fail on its login.
check_gateway_redis_user() {
  local out
  out=$(REDISCLI_AUTH=$(cat "$REDIS_SECRETS/concord-gateway.password") \
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --user concord-gateway ping 2>&1 || true)
  grep -q PONG <<<"$out" ||
    die "the running redis-server has no concord-gateway ACL user (started by an older up.sh):" \
      "restart it with ./scripts/up.sh --stop && ./scripts/up.sh"
}

start_federation() {
  [ -n "${GATEWAY_BIN:-}" ] || die "concord-gateway not found under $BUILD_DIR/ (build failed?)"
  check_gateway_redis_user
  info "partner deployment ($P_TD) and the federation gateways"
  federation_pki
  start_partner_redis
  start_partner_server
  register_partner_agencies
  register_federation
  start_gateway "$GW_PID" concord-gateway "$PKI" "$TRUST_DOMAIN" "$REDIS_PORT" "$REDIS_SECRETS" \
    "$GW_LISTEN" "$GW_HEALTH" "$GW_METRICS" "$FEDERATION_CONFIG"
  start_gateway "$P_GW_PID" partner-concord-gateway "$P_PKI" "$P_TD" "$P_REDIS_PORT" \
    "$P_REDIS_SECRETS" "$P_GW_LISTEN" "$P_GW_HEALTH" "$P_GW_METRICS" "$P_FEDERATION_CONFIG"
}

fed_ours() { "$CONCORDCTL" --agency-dir "$PKI/agencies/$1" --server "$GW_LISTEN" "${@:2}"; }
fed_theirs() { "$CONCORDCTL" --agency-dir "$P_PKI/agencies/$1" --server "$P_GW_LISTEN" "${@:2}"; }
# The liaison service of each side (concord-server).
lia_ours() { "$CONCORDCTL" --agency-dir "$PKI/agencies/$1" --server "$LISTEN" "${@:2}"; }
lia_theirs() { "$CONCORDCTL" --agency-dir "$P_PKI/agencies/$1" --server "$P_LISTEN" "${@:2}"; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }

# Polls (at most 30 s) until both gateways hold a verified export of the other.
wait_federated() {
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    if fed_ours "$FED_LOCAL" federation status >/dev/null 2>&1 &&
      fed_theirs "$FED_PARTNER" federation status >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  fed_ours "$FED_LOCAL" federation status || true
  die "the gateways did not exchange their directory exports within 30 s (var/log/*gateway.log)"
}

run_federation_demo() {
  local item out rc answer_id request_id zone lia_id their_id version
  wait_federated

  step "federation: both gateways hold the other's signed directory export (as $FED_LOCAL)"
  show "--server $GW_LISTEN --agency-dir var/pki/agencies/$FED_LOCAL federation status"
  demo fed_ours "$FED_LOCAL" federation status

  step "federation: our magistrate issues an EIO liaison request to the Dutch prosecutor (its zone from the partner export)"
  zone=$(fed_ours "$FED_LOCAL" --json federation partner "spiffe://$P_TD/agency/$FED_PARTNER" | json_field time_zone)
  show "--agency-dir var/pki/agencies/$FED_LOCAL liaison create --type eio --executor spiffe://$P_TD/agency/$FED_PARTNER --executor-time-zone $zone --case-reference BXL.12.34/2026"
  out=$(lia_ours "$FED_LOCAL" --json liaison create --type eio \
    --executor "spiffe://$P_TD/agency/$FED_PARTNER" --executor-time-zone "$zone" \
    --case-reference BXL.12.34/2026) || die "demo step $STEP failed: $out"
  lia_id=$(json_field request.request_id <<<"$out")
  ok "issued $lia_id (its clocks on our side run in $zone)"

  step "federation: the EIO crosses, sealed to the Dutch prosecutor's own key, with its signed liaison descriptor"
  show "--server $GW_LISTEN --agency-dir var/pki/agencies/$FED_LOCAL federation send --to spiffe://$P_TD/agency/$FED_PARTNER --kind request --case BXL.12.34/2026 --body '...' --liaison-request $lia_id --liaison-type eio"
  out=$(fed_ours "$FED_LOCAL" --json federation send --to "spiffe://$P_TD/agency/$FED_PARTNER" \
    --kind request --case BXL.12.34/2026 --liaison-request "$lia_id" --liaison-type eio \
    --body "European Investigation Order: hearing of a witness in Rotterdam (Directive 2014/41/EU, form A)") ||
    die "demo step $STEP failed: $out"
  echo "$out"
  request_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])' <<<"$out")

  step "federation: the crossing started the executing side's clocks (acknowledgement: end of the day + 7 days, in the executor's zone)"
  show "--server $P_LISTEN --agency-dir var/partner/pki/agencies/$FED_PARTNER liaison list"
  out=$(lia_theirs "$FED_PARTNER" --json liaison list) || die "demo step $STEP failed: $out"
  their_id=$(python3 -c 'import json,sys
for r in json.load(sys.stdin)["requests"]:
    if r.get("partner_request_id") == sys.argv[1]: print(r["request_id"])' "$lia_id" <<<"$out")
  [ -n "$their_id" ] || die "demo step $STEP: the partner side holds no liaison request for $lia_id"
  demo lia_theirs "$FED_PARTNER" liaison show "$their_id"

  step "federation: the partner's prosecutor verifies it against our export, opens it and acknowledges it; the acknowledgement crosses back"
  show "--server $P_GW_LISTEN --agency-dir var/partner/pki/agencies/$FED_PARTNER federation inbox --open"
  demo fed_theirs "$FED_PARTNER" federation inbox --open
  show "--server $P_LISTEN --agency-dir var/partner/pki/agencies/$FED_PARTNER liaison act $their_id acknowledge"
  out=$(lia_theirs "$FED_PARTNER" --json liaison act "$their_id" acknowledge) || die "demo step $STEP failed: $out"
  version=$(json_field request.version <<<"$out")
  show "--server $P_GW_LISTEN --agency-dir var/partner/pki/agencies/$FED_PARTNER federation ack env-$request_id --liaison-act acknowledge --issuer-request $lia_id --executor-request $their_id --executor-version $version"
  demo fed_theirs "$FED_PARTNER" federation ack "env-$request_id" --liaison-act acknowledge \
    --issuer-request "$lia_id" --executor-request "$their_id" --executor-version "$version"
  show "--agency-dir var/pki/agencies/$FED_LOCAL liaison show $lia_id"
  out=$(lia_ours "$FED_LOCAL" liaison show "$lia_id") || die "demo step $STEP failed: $out"
  echo "$out"
  grep -q "acknowledged" <<<"$out" || die "demo step $STEP: our request $lia_id is not ACKNOWLEDGED"

  step "federation: the partner answers (a sealed RESPONSE crossing back)"
  show "--server $P_GW_LISTEN --agency-dir var/partner/pki/agencies/$FED_PARTNER federation send --to spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL --kind response --in-reply-to $request_id --body '...'"
  out=$(fed_theirs "$FED_PARTNER" --json federation send --to "spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL" \
    --kind response --in-reply-to "$request_id" --case BXL.12.34/2026 \
    --body "EIO recognised and executed: the hearing took place, minutes to follow") ||
    die "demo step $STEP failed: $out"
  echo "$out"
  answer_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])' <<<"$out")

  step "federation: our magistrate receives the signed receipt and the answer, both verified"
  show "--server $GW_LISTEN --agency-dir var/pki/agencies/$FED_LOCAL federation inbox --open"
  demo fed_ours "$FED_LOCAL" federation inbox --open
  demo fed_ours "$FED_LOCAL" federation ack "env-$answer_id"
  for item in $(fed_ours "$FED_LOCAL" --json federation inbox | python3 -c 'import json,sys; print(" ".join(i["item_id"] for i in json.load(sys.stdin)["items"]))'); do
    demo fed_ours "$FED_LOCAL" federation ack --no-receipt "$item"
  done

  step "federation: a partner agency not on our allow-list is refused (PERMISSION_DENIED PARTNER_NOT_ALLOWED)"
  show "--server $P_GW_LISTEN --agency-dir var/partner/pki/agencies/$FED_STRANGER federation send --to spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL --body '...'"
  rc=0
  out=$(fed_theirs "$FED_STRANGER" federation send --to "spiffe://$TRUST_DOMAIN/agency/$FED_LOCAL" \
    --kind information --body "unsolicited" 2>&1) || rc=$?
  echo "$out"
  [ $rc -eq 2 ] && grep -q PARTNER_NOT_ALLOWED <<<"$out" ||
    die "demo step $STEP: expected a PARTNER_NOT_ALLOWED refusal, got exit $rc"

  step "federation: both audit chains verify (each side recorded every crossing)"
  show "--agency-dir var/pki/agencies/admin/ops audit verify"
  demo "$CONCORDCTL" --agency-dir "$PKI/agencies/admin/ops" --server "$LISTEN" audit verify
  show "--server $P_LISTEN --agency-dir var/partner/pki/agencies/admin/ops audit verify"
  demo "$CONCORDCTL" --agency-dir "$P_PKI/agencies/admin/ops" --server "$P_LISTEN" audit verify
  show "--agency-dir var/pki/agencies/admin/ops audit query --object federation:out:$request_id"
  demo "$CONCORDCTL" --agency-dir "$PKI/agencies/admin/ops" --server "$LISTEN" audit query \
    --object "federation:out:$request_id"
}
