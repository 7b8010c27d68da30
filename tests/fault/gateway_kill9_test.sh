#!/usr/bin/env bash
# Fault: a federation gateway killed (SIGKILL) mid-crossing, then started again.
# Two deployments on free loopback ports, as scripts/up.sh runs them (scripts/federation.sh):
# two CAs (trust domains a.test and b.test, scripts/pki.sh), two redis-servers (AOF everysec, the
# shipped ACL), two concord-servers, two concord-gateways federated with each other. A stream of
# sealed, signed messages goes from a.test's magistrate to b.test's magistrate through
# `concordctl federation send` (one logical message = one body marker; a failed attempt is retried
# as a new send until one returns OK, bounded). Mid-stream the RECEIVING gateway (b.test's) gets
# SIGKILL and is started again on the same ports, then the SENDING gateway (a.test's).
# Asserts:
#   - every attempt that failed exited 2 with UNAVAILABLE or DEADLINE_EXCEEDED, within its 3 s
#     timeout plus 1.5 s (never INTERNAL, UNKNOWN, a crash or a hang), and at least one did;
#   - nothing acknowledged is lost: every send that returned OK is in b.test's inbound box
#     exactly once (by message id), every logical message exactly once after de-duplication by
#     its marker, nothing else there, and each item verifies against the partner export and opens;
#   - recovery without restarting anything else: the servers and redis-servers are the same
#     processes, the gateway that was not killed too;
#   - both audit chains verify.
# Prints a FIGURES line (outage lengths, failed attempts, recovery times).
# Usage: gateway_kill9_test.sh CONCORDCTL CONCORD_SERVER CONCORD_GATEWAY PKI_SH
# shellcheck disable=SC2015  # "A && pass || fail" is safe
set -euo pipefail

CTL=${1:?usage: gateway_kill9_test.sh CONCORDCTL CONCORD_SERVER CONCORD_GATEWAY PKI_SH}
SERVER_BIN=${2:?usage}
GATEWAY_BIN=${3:?usage}
PKI_SH=${4:?usage}
MESSAGES=${FAULT_GATEWAY_MESSAGES:-30}

FAULT_NAME=gateway_kill9
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-fault-gateway.XXXXXX")
declare -A PID=()
checks=0 failures=0
cleanup() {
  local p
  for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${FAULT_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
die() {
  echo "FAIL ($FAULT_NAME): $*" >&2
  local f
  for f in "$WORK"/*.log; do
    [ -f "$f" ] && { echo "--- $(basename "$f") (tail)" >&2; tail -15 "$f" >&2; }
  done
  exit 1
}
pass() { checks=$((checks + 1)); }
fail() {
  checks=$((checks + 1)) failures=$((failures + 1))
  echo "FAIL: $*" >&2
}
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now_ms() { date +%s%3N; }

# One ACL file for both redis-servers (two processes, two data directories).
# shellcheck source=tests/integration/redis_acl_lib.sh
source "$(dirname "$0")/../integration/redis_acl_lib.sh"
redis_acl_setup "$WORK/redis-acl" >/dev/null

SIDES=(a b)
declare -A TD=([a]=a.test [b]=b.test) MAG=([a]=magistrate/parquet-a [b]=magistrate/parquet-b)
declare -A REDIS_PORT SERVER_PORT SERVER_HEALTH SERVER_METRICS GW_PORT GW_PARTNER GW_HEALTH GW_METRICS
for s in "${SIDES[@]}"; do
  for a in server audit gateway; do "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" "$a"; done
  "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" agency admin ops
  "$PKI_SH" --quiet --dir "$WORK/$s/pki" --trust-domain "${TD[$s]}" agency "${MAG[$s]%%/*}" "${MAG[$s]#*/}"
  REDIS_PORT[$s]=$(free_port) SERVER_PORT[$s]=$(free_port) SERVER_HEALTH[$s]=$(free_port)
  SERVER_METRICS[$s]=$(free_port) GW_PORT[$s]=$(free_port) GW_PARTNER[$s]=$(free_port)
  GW_HEALTH[$s]=$(free_port) GW_METRICS[$s]=$(free_port)
done
other() { if [ "$1" = a ]; then echo b; else echo a; fi; }

start_redis() { # SIDE
  local s=$1 i
  mkdir -p "$WORK/$s/redis"
  redis-server --bind 127.0.0.1 --port "${REDIS_PORT[$s]}" --dir "$WORK/$s/redis" --save "" \
    --appendonly yes --appendfsync everysec --aclfile "$REDIS_ACL_FILE" >>"$WORK/redis-$s.log" 2>&1 &
  PID[redis-$s]=$!
  for ((i = 0; i < 100; i++)); do
    redis-cli -p "${REDIS_PORT[$s]}" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "${PID[redis-$s]}" 2>/dev/null || break
    sleep 0.1
  done
  die "redis-server $s did not start"
}

# wait_health ADDRESS NAME PIDKEY: the plaintext health port answers SERVING, bounded (30 s).
wait_health() {
  local i
  for ((i = 0; i < 120; i++)); do
    kill -0 "${PID[$3]}" 2>/dev/null || die "$2 exited during start-up"
    "$CTL" --server "$1" --timeout 2 health --plaintext 2>/dev/null | grep -q SERVING && return 0
    sleep 0.25
  done
  die "$2 not SERVING after 30 s"
}

start_server() { # SIDE
  local s=$1 p=$WORK/$1/pki
  "$SERVER_BIN" --listen-address "127.0.0.1:${SERVER_PORT[$s]}" \
    --health-address "127.0.0.1:${SERVER_HEALTH[$s]}" --metrics-address "127.0.0.1:${SERVER_METRICS[$s]}" \
    --tls-cert "$p/server/cert.pem" --tls-key "$p/server/key.pem" --tls-ca "$p/ca.pem" \
    --trust-domain "${TD[$s]}" --redis-host 127.0.0.1 --redis-port "${REDIS_PORT[$s]}" \
    --audit-key-file "$p/audit/audit.key" --audit-signing-key-file "$p/audit/sign.key" \
    --bootstrap-directory-admins admin/ops >>"$WORK/server-$s.log" 2>&1 &
  PID[server-$s]=$!
  wait_health "127.0.0.1:${SERVER_HEALTH[$s]}" "concord-server $s" "server-$s"
}

# The federation configuration of SIDE (scripts/federation.sh write_federation_config), with a
# 1 s export refresh so that a restarted gateway is federated again at once.
write_config() { # SIDE
  local s=$1 o
  o=$(other "$s")
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

start_gateway() { # SIDE
  local s=$1 p=$WORK/$1/pki
  "$GATEWAY_BIN" --listen-address "127.0.0.1:${GW_PORT[$s]}" \
    --health-address "127.0.0.1:${GW_HEALTH[$s]}" --metrics-address "127.0.0.1:${GW_METRICS[$s]}" \
    --tls-cert "$p/server/cert.pem" --tls-key "$p/server/key.pem" --tls-ca "$p/ca.pem" \
    --trust-domain "${TD[$s]}" --redis-host 127.0.0.1 --redis-port "${REDIS_PORT[$s]}" \
    --audit-key-file "$p/audit/audit.key" --federation-config "$WORK/$s/federation.json" \
    >>"$WORK/gateway-$s.log" 2>&1 &
  PID[gateway-$s]=$!
  wait_health "127.0.0.1:${GW_HEALTH[$s]}" "concord-gateway $s" "gateway-$s"
}

admin() { # SIDE ARGS...
  "$CTL" --agency-dir "$WORK/$1/pki/agencies/admin/ops" --server "127.0.0.1:${SERVER_PORT[$1]}" \
    --timeout 5 --officer fault-test --justification "fault test: federation gateway kill -9" "${@:2}"
}
fed() { # SIDE ARGS...: as SIDE's magistrate, through SIDE's gateway
  "$CTL" --agency-dir "$WORK/$1/pki/agencies/${MAG[$1]}" --server "127.0.0.1:${GW_PORT[$1]}" "${@:2}"
}

# Both gateways hold a verified export of the other, bounded (30 s); prints the wait in ms.
wait_federated() {
  local start i
  start=$(now_ms)
  for ((i = 0; i < 120; i++)); do
    fed a --timeout 2 federation status >/dev/null 2>&1 && fed b --timeout 2 federation status \
      >/dev/null 2>&1 && { echo $(($(now_ms) - start)); return 0; }
    sleep 0.25
  done
  die "the gateways are not federated after 30 s"
}

for s in "${SIDES[@]}"; do
  start_redis "$s"
  start_server "$s"
  admin "$s" directory register --from-pki "$WORK/$s/pki/agencies/admin/ops" --jurisdiction BE \
    --attribute directory_administrator=true --attribute audit_reviewer=true >/dev/null ||
    die "registering admin/ops ($s) failed"
  admin "$s" directory register --from-pki "$WORK/$s/pki/agencies/${MAG[$s]}" --jurisdiction BE \
    --attribute magistrate_role=prosecutor >/dev/null || die "registering ${MAG[$s]} ($s) failed"
  write_config "$s"
done
for s in "${SIDES[@]}"; do start_gateway "$s"; done
wait_federated >/dev/null

TO="spiffe://${TD[b]}/agency/${MAG[b]}"
: >"$WORK/ok.txt"      # message_id marker of every send that returned OK
: >"$WORK/failed.txt"  # code elapsed_ms marker of every failed attempt
# The sender: MESSAGES logical messages, each retried (new send) until OK, at most 60 attempts;
# OK sends in ok.txt, failed attempts in failed.txt.
sender() {
  local i attempt rc start elapsed out code
  for ((i = 0; i < MESSAGES; i++)); do
    for ((attempt = 1; attempt <= 60; attempt++)); do
      rc=0 start=$(now_ms)
      out=$(fed a --timeout 3 --json federation send --to "$TO" --kind information \
        --body "fault-marker-$i" 2>&1) || rc=$?
      elapsed=$(($(now_ms) - start))
      if [ "$rc" = 0 ]; then
        echo "$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])' <<<"$out") fault-marker-$i" >>"$WORK/ok.txt"
        break
      fi
      code=$(sed -n 's/^ *"code": "\([A-Z_]*\)".*/\1/p' <<<"$out" | head -1)
      echo "${code:-exit$rc} rc=$rc $elapsed fault-marker-$i $(tr '\n' ' ' <<<"$out" | cut -c1-200)" >>"$WORK/failed.txt"
      sleep 0.1
    done
  done
}
ok_count() { wc -l <"$WORK/ok.txt"; }
wait_ok() { # N: bounded (30 s)
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(ok_count)" -ge "$1" ] && return 0
    kill -0 "$SENDER" 2>/dev/null || die "the sender ended before $1 OK sends"
    sleep 0.1
  done
  die "only $(ok_count) OK sends after 30 s (waiting for $1)"
}

# kill9 SIDE: SIGKILL mid-stream, the gateway stays down 1 s (sends fail meanwhile), is started
# again on the same ports; prints the outage and the time until both are federated again.
declare -a FIGURES=()
kill9() {
  local s=$1 start down fed_ms
  start=$(now_ms)
  kill -KILL "${PID[gateway-$s]}"
  wait "${PID[gateway-$s]}" 2>/dev/null || true
  local before
  before=$(wc -l <"$WORK/failed.txt")
  local i
  for ((i = 0; i < 50; i++)); do # until a send failed during the outage, bounded (5 s)
    [ "$(wc -l <"$WORK/failed.txt")" -gt "$before" ] && break
    sleep 0.1
  done
  start_gateway "$s"
  down=$(($(now_ms) - start))
  fed_ms=$(wait_federated)
  FIGURES+=("kill_$s:down=${down}ms,federated_again=${fed_ms}ms")
}

echo "== a stream of $MESSAGES sealed messages a.test -> b.test; the receiving gateway, then the sending one, killed"
START=$(now_ms)
sender &
SENDER=$!
PID[sender]=$SENDER
wait_ok $((MESSAGES / 4))
kill9 b
wait_ok $((MESSAGES / 2))
kill9 a
wait "$SENDER" || die "the sender failed"
unset 'PID[sender]'
STREAM_MS=$(($(now_ms) - START))

echo "== callers saw only UNAVAILABLE or DEADLINE_EXCEEDED, never a hang"
FAILED=$(wc -l <"$WORK/failed.txt")
[ "$FAILED" -gt 0 ] && pass || fail "no send failed: the kills did not hit the stream"
MAX_FAILED_MS=0
while read -r code _ elapsed detail; do
  case $code in
    UNAVAILABLE | DEADLINE_EXCEEDED) pass ;;
    *) fail "a caller saw $code: $detail" ;;
  esac
  [ "$elapsed" -le 4500 ] && pass || fail "a failed attempt took ${elapsed} ms (timeout 3 s): a hang"
  [ "$elapsed" -gt "$MAX_FAILED_MS" ] && MAX_FAILED_MS=$elapsed
done <"$WORK/failed.txt"
[ "$(ok_count)" = "$MESSAGES" ] && pass || fail "only $(ok_count) of $MESSAGES messages returned OK"

echo "== nothing acknowledged is lost: b.test's inbound box"
INBOX_RC=0
fed b --timeout 10 --json federation inbox --open >"$WORK/inbox.json" 2>"$WORK/inbox.err" || INBOX_RC=$?
[ "$INBOX_RC" = 0 ] && pass || fail "federation inbox --open exited $INBOX_RC: $(cat "$WORK/inbox.err")"
CHECK=$(/usr/bin/python3 - "$WORK/inbox.json" "$WORK/ok.txt" "$MESSAGES" <<'PY'
import collections, json, sys
items = [i for i in json.load(open(sys.argv[1]))["items"] if i["kind"] == "envelope"]
ok = [l.split() for l in open(sys.argv[2]) if l.strip()]
n = int(sys.argv[3])
problems = []
by_id = collections.Counter(i["message_id"] for i in items)
for mid, marker in ok:
    if by_id[mid] != 1:
        problems.append(f"OK send {mid} ({marker}) is {by_id[mid]} times in the inbox")
markers = collections.Counter(i["body"] for i in items)
for k in range(n):
    if markers[f"fault-marker-{k}"] < 1:
        problems.append(f"fault-marker-{k} missing")
unknown = [i["body"] for i in items if not i["body"].startswith("fault-marker-")]
if unknown:
    problems.append(f"unknown items: {unknown[:3]}")
bad = [i["message_id"] for i in items if i["signature"] != "verified"]
if bad:
    problems.append(f"items not verified: {bad[:3]}")
extra = sum(c - 1 for c in markers.values() if c > 1)
print("OK" if not problems else "; ".join(problems[:5]), len(items), extra)
PY
)
read -r VERDICT ITEMS EXTRA <<<"$CHECK" || true
[ "$VERDICT" = OK ] && pass || fail "inbound box: $CHECK"

echo "== recovery without restarting anything else; both audit chains verify"
for p in redis-a redis-b server-a server-b gateway-a gateway-b; do
  kill -0 "${PID[$p]}" 2>/dev/null && pass || fail "$p is not running"
done
for s in "${SIDES[@]}"; do
  grep -c '"server.started"' "$WORK/server-$s.log" | grep -qx 1 && pass || fail "concord-server $s restarted"
  out=$(admin "$s" audit verify 2>&1) && pass || fail "audit verify ($s): $out"
done

echo "FIGURES gateway_kill9 messages=$MESSAGES stream=${STREAM_MS}ms ${FIGURES[*]} failed_attempts=$FAILED max_failed_attempt=${MAX_FAILED_MS}ms inbox_items=$ITEMS duplicates_by_marker=$EXTRA codes=$(cut -d' ' -f1 "$WORK/failed.txt" | sort | uniq -c | awk '{printf "%s:%s,", $2, $1}')"
echo "federation gateway kill -9: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
