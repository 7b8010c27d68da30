#!/usr/bin/env bash
# Fault: a federation gateway killed (SIGKILL) mid-crossing, then started again.
# Two deployments on free loopback ports (tests/integration/federation_lib.sh, as scripts/up.sh
# runs them with scripts/federation.sh):
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

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/../integration/stack_lib.sh"
# shellcheck source=tests/integration/federation_lib.sh
source "$(dirname "$0")/../integration/federation_lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-fault-gateway.XXXXXX")
declare -A MAG=([a]=magistrate/parquet-a [b]=magistrate/parquet-b)
FED_REDIS_AOF=yes
fed_setup

now_ms() { date +%s%3N; }
fed() { # SIDE ARGS...: as SIDE's magistrate, through SIDE's gateway
  "$CTL" --agency-dir "$WORK/$1/pki/agencies/${MAG[$1]}" --server "127.0.0.1:${GW_PORT[$1]}" "${@:2}"
}
# Both gateways federated again (bounded, fed_wait_federated); prints the wait in ms.
wait_federated() {
  local start
  start=$(now_ms)
  fed_wait_federated
  echo $(($(now_ms) - start))
}

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
    kill -0 "$SENDER" 2>/dev/null || fed_die "the sender ended before $1 OK sends"
    sleep 0.1
  done
  fed_die "only $(ok_count) OK sends after 30 s (waiting for $1)"
}

# kill9 SIDE: SIGKILL mid-stream, the gateway stays down 1 s (sends fail meanwhile), is started
# again on the same ports; prints the outage and the time until both are federated again.
declare -a FIGURES=()
kill9() {
  local s=$1 start down fed_ms
  start=$(now_ms)
  kill -KILL "${FED_PID[gateway-$s]}"
  wait "${FED_PID[gateway-$s]}" 2>/dev/null || true
  local before
  before=$(wc -l <"$WORK/failed.txt")
  local i
  for ((i = 0; i < 50; i++)); do # until a send failed during the outage, bounded (5 s)
    [ "$(wc -l <"$WORK/failed.txt")" -gt "$before" ] && break
    sleep 0.1
  done
  fed_start_gateway "$s"
  down=$(($(now_ms) - start))
  fed_ms=$(wait_federated)
  FIGURES+=("kill_$s:down=${down}ms,federated_again=${fed_ms}ms")
}

echo "== a stream of $MESSAGES sealed messages a.test -> b.test; the receiving gateway, then the sending one, killed"
START=$(now_ms)
sender &
SENDER=$!
FED_PID[sender]=$SENDER
wait_ok $((MESSAGES / 4))
kill9 b
wait_ok $((MESSAGES / 2))
kill9 a
wait "$SENDER" || fed_die "the sender failed"
unset 'FED_PID[sender]'
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
  kill -0 "${FED_PID[$p]}" 2>/dev/null && pass || fail "$p is not running"
done
for s in "${SIDES[@]}"; do
  grep -c '"server.started"' "$WORK/server-$s.log" | grep -qx 1 && pass || fail "concord-server $s restarted"
  out=$(fed_admin "$s" audit verify 2>&1) && pass || fail "audit verify ($s): $out"
done

echo "FIGURES gateway_kill9 messages=$MESSAGES stream=${STREAM_MS}ms ${FIGURES[*]} failed_attempts=$FAILED max_failed_attempt=${MAX_FAILED_MS}ms inbox_items=$ITEMS duplicates_by_marker=$EXTRA codes=$(cut -d' ' -f1 "$WORK/failed.txt" | sort | uniq -c | awk '{printf "%s:%s,", $2, $1}')"
echo "federation gateway kill -9: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
