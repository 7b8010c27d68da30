# shellcheck shell=bash
# Shared by the scripts that run two federated deployments (sourced after stack_lib.sh, which
# gives WORK, pass/fail, contains and equal): sides a (trust domain a.test) and b (b.test), each
# with its own CA (scripts/pki.sh), redis-server (the shipped ACL), concord-server and
# concord-gateway on free loopback ports, federated with each other as scripts/federation.sh
# does (a 1 s export refresh). Callers set CTL, SERVER_BIN, GATEWAY_BIN and PKI_SH, and MAG[a],
# MAG[b] (the magistrate of each side that crosses), and may set FED_REDIS_AOF=yes (AOF, fsync
# every second: what a kill -9 test needs). FAULT_KEEP=1 keeps the work directory. Every wait is
# bounded.
#
#   fed_setup                  PKIs, Redis, servers, admin/ops and the magistrates registered,
#                              federation configurations, both gateways; waits until federated
#   fed_admin SIDE ARGS...     concordctl as SIDE's admin/ops against SIDE's concord-server
#   fed_ctl RC WHAT SIDE ARGS  concordctl as SIDE's magistrate through SIDE's gateway; checks the
#                              exit code; output in $OUT / $ERR
#   fed_inbox_count SIDE       items in SIDE's magistrate's inbound box
#   fed_start_gateway SIDE     (re)starts SIDE's gateway on its ports; FED_PID[gateway-SIDE]
#   fed_wait_federated         until both gateways hold a verified export of the other

SIDES=(a b)
declare -A TD=([a]=a.test [b]=b.test)
declare -A FED_PID=()
FED_REDIS_AOF=${FED_REDIS_AOF:-no}
declare -A REDIS_PORT_OF SERVER_PORT SERVER_HEALTH SERVER_METRICS GW_PORT GW_PARTNER GW_HEALTH GW_METRICS

fed_cleanup() {
  local p
  for p in "${FED_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${FAULT_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}

fed_other() { if [ "$1" = a ]; then echo b; else echo a; fi; }

fed_die() {
  echo "FAIL: $*" >&2
  local f
  for f in "$WORK"/*.log; do
    [ -f "$f" ] && { echo "--- $(basename "$f") (tail)" >&2; tail -15 "$f" >&2; }
  done
  exit 1
}

fed_start_redis() { # SIDE
  local s=$1 i
  mkdir -p "$WORK/$s/redis"
  redis-server --bind 127.0.0.1 --port "${REDIS_PORT_OF[$s]}" --dir "$WORK/$s/redis" --save "" \
    --appendonly "$FED_REDIS_AOF" --appendfsync everysec --aclfile "$REDIS_ACL_FILE" >>"$WORK/redis-$s.log" 2>&1 &
  FED_PID[redis-$s]=$!
  for ((i = 0; i < 100; i++)); do
    redis-cli -p "${REDIS_PORT_OF[$s]}" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "${FED_PID[redis-$s]}" 2>/dev/null || break
    sleep 0.1
  done
  fed_die "redis-server $s did not start"
}

# fed_wait_health ADDRESS NAME PIDKEY: SERVING on the plaintext health port, bounded (30 s).
fed_wait_health() {
  local i
  for ((i = 0; i < 120; i++)); do
    kill -0 "${FED_PID[$3]}" 2>/dev/null || fed_die "$2 exited during start-up"
    "$CTL" --server "$1" --timeout 2 health --plaintext 2>/dev/null | grep -q SERVING && return 0
    sleep 0.25
  done
  fed_die "$2 not SERVING after 30 s"
}

fed_start_server() { # SIDE
  local s=$1 p=$WORK/$1/pki
  "$SERVER_BIN" --listen-address "127.0.0.1:${SERVER_PORT[$s]}" \
    --health-address "127.0.0.1:${SERVER_HEALTH[$s]}" --metrics-address "127.0.0.1:${SERVER_METRICS[$s]}" \
    --tls-cert "$p/server/cert.pem" --tls-key "$p/server/key.pem" --tls-ca "$p/ca.pem" \
    --trust-domain "${TD[$s]}" --redis-host 127.0.0.1 --redis-port "${REDIS_PORT_OF[$s]}" \
    --audit-key-file "$p/audit/audit.key" --audit-signing-key-file "$p/audit/sign.key" \
    --bootstrap-directory-admins admin/ops >>"$WORK/server-$s.log" 2>&1 &
  FED_PID[server-$s]=$!
  fed_wait_health "127.0.0.1:${SERVER_HEALTH[$s]}" "concord-server $s" "server-$s"
}

# The federation configuration of SIDE (scripts/federation.sh write_federation_config).
fed_write_config() { # SIDE
  local s=$1 o
  o=$(fed_other "$s")
  /usr/bin/python3 - "$WORK/$s/federation.json" "${TD[$o]}" "127.0.0.1:${GW_PARTNER[$o]}" \
    "$WORK/$o/pki/ca.pem" "$WORK/$o/pki/gateway/export.pub" "127.0.0.1:${GW_PARTNER[$s]}" \
    "$WORK/$s/pki/gateway" "spiffe://${TD[$o]}/agency/${MAG[$o]}" \
    "spiffe://${TD[$s]}/agency/${MAG[$s]}" <<'PY'
import json, sys
out, partner_td, addr, ca, pub, listen, gw, allow, export = sys.argv[1:]
json.dump({"partner_trust_domain": partner_td, "partner_address": addr, "partner_ca_file": ca,
           "partner_export_key_pem": open(pub).read(), "listen_address": listen,
           "gateway_cert_file": gw + "/cert.pem", "gateway_key_file": gw + "/key.pem",
           "export_key_file": gw + "/export.key", "allow": [allow], "export": [export],
           "refresh_seconds": 1, "max_export_age_seconds": 30}, open(out, "w"), indent=2)
PY
}

fed_start_gateway() { # SIDE [EXTRA FLAGS...]
  local s=$1 p=$WORK/$1/pki
  "$GATEWAY_BIN" --listen-address "127.0.0.1:${GW_PORT[$s]}" \
    --health-address "127.0.0.1:${GW_HEALTH[$s]}" --metrics-address "127.0.0.1:${GW_METRICS[$s]}" \
    --tls-cert "$p/server/cert.pem" --tls-key "$p/server/key.pem" --tls-ca "$p/ca.pem" \
    --trust-domain "${TD[$s]}" --redis-host 127.0.0.1 --redis-port "${REDIS_PORT_OF[$s]}" \
    --audit-key-file "$p/audit/audit.key" --federation-config "$WORK/$s/federation.json" \
    "${@:2}" >>"$WORK/gateway-$s.log" 2>&1 &
  FED_PID[gateway-$s]=$!
  fed_wait_health "127.0.0.1:${GW_HEALTH[$s]}" "concord-gateway $s" "gateway-$s"
}

fed_admin() { # SIDE ARGS...
  "$CTL" --agency-dir "$WORK/$1/pki/agencies/admin/ops" --server "127.0.0.1:${SERVER_PORT[$1]}" \
    --timeout 10 --officer e2e --justification "federation end-to-end test" "${@:2}"
}

# shellcheck disable=SC2034  # OUT and ERR are read by the calling script
fed_ctl() { # RC WHAT SIDE ARGS...
  local want=$1 what=$2 s=$3 rc=0
  shift 3
  "$CTL" --agency-dir "$WORK/$s/pki/agencies/${MAG[$s]}" --server "127.0.0.1:${GW_PORT[$s]}" \
    --timeout 10 "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  if [ "$rc" -eq "$want" ]; then
    pass
  else
    fail "$what: exit $rc, want $want (as ${MAG[$s]} of $s: concordctl $*)"
    sed 's/^/  stdout: /' "$WORK/out" >&2
    sed 's/^/  stderr: /' "$WORK/err" >&2
  fi
}

fed_inbox_count() { # SIDE
  "$CTL" --agency-dir "$WORK/$1/pki/agencies/${MAG[$1]}" --server "127.0.0.1:${GW_PORT[$1]}" \
    --timeout 10 --json federation inbox |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}

# Both gateways hold a verified export of the other, bounded (30 s).
fed_wait_federated() {
  local i s ready
  for ((i = 0; i < 120; i++)); do
    ready=1
    for s in "${SIDES[@]}"; do
      "$CTL" --agency-dir "$WORK/$s/pki/agencies/${MAG[$s]}" --server "127.0.0.1:${GW_PORT[$s]}" \
        --timeout 2 federation status >/dev/null 2>&1 || ready=0
    done
    [ "$ready" = 1 ] && return 0
    sleep 0.25
  done
  fed_die "the gateways are not federated after 30 s"
}

fed_setup() {
  trap fed_cleanup EXIT
  local s a
  redis_acl_setup "$WORK/redis-acl" >/dev/null
  for s in "${SIDES[@]}"; do
    for a in server audit gateway; do "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" "$a"; done
    "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" agency admin ops
    "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" agency "${MAG[$s]%%/*}" "${MAG[$s]#*/}"
  done
  for s in "${SIDES[@]}"; do
    REDIS_PORT_OF[$s]=$(free_port) SERVER_PORT[$s]=$(free_port) SERVER_HEALTH[$s]=$(free_port)
    SERVER_METRICS[$s]=$(free_port) GW_PORT[$s]=$(free_port) GW_PARTNER[$s]=$(free_port)
    GW_HEALTH[$s]=$(free_port) GW_METRICS[$s]=$(free_port)
  done
  for s in "${SIDES[@]}"; do
    fed_start_redis "$s"
    fed_start_server "$s"
    fed_admin "$s" directory register --from-pki "$WORK/$s/pki/agencies/admin/ops" --jurisdiction BE \
      --attribute directory_administrator=true --attribute audit_reviewer=true >/dev/null ||
      fed_die "registering admin/ops ($s) failed"
    fed_admin "$s" directory register --from-pki "$WORK/$s/pki/agencies/${MAG[$s]}" --jurisdiction BE \
      --attribute magistrate_role=prosecutor >/dev/null || fed_die "registering ${MAG[$s]} ($s) failed"
    fed_write_config "$s"
  done
  for s in "${SIDES[@]}"; do fed_start_gateway "$s"; done
  fed_wait_federated
}
