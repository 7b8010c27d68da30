#!/usr/bin/env bash
# Issue 3 acceptance: kill -9 of concord-server during a 10,000-message concord-bench run.
# A real redis-server (AOF everysec) and concord-server on free loopback ports; concord-bench sends
# 10,000 sealed and signed messages (8 agencies, 3 recipients each, concurrency 32), recording
# every id whose Send returned OK, retrying UNAVAILABLE with the same envelope (idempotent by id).
# Part-way (>= 2,000 OK) the server gets SIGKILL and is restarted on the same ports and Redis;
# the bench finishes; then `concord-bench drain` subscribes as every recipient and checks that
# every OK message reached every recipient, exactly once after de-duplication by id.
# Usage: messaging_kill9_test.sh CONCORD_BENCH CONCORD_SERVER PKI_SH
set -euo pipefail

BENCH=${1:?usage: messaging_kill9_test.sh CONCORD_BENCH CONCORD_SERVER PKI_SH}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}
MESSAGES=${KILL9_MESSAGES:-10000}
KILL_AT=${KILL9_KILL_AT:-2000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-kill9.XXXXXX")
PKI=$WORK/pki
REDIS_PID=""
SERVER_PID=""
BENCH_PID=""
cleanup() {
  for pid in $BENCH_PID $SERVER_PID $REDIS_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${KILL9_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT
die() {
  echo "FAIL: $*" >&2
  for f in server.log server2.log bench.log drain.log; do
    [ -f "$WORK/$f" ] && { echo "--- $f (tail)" >&2; tail -20 "$WORK/$f" >&2; }
  done
  exit 1
}
# shellcheck source=tests/integration/ports_lib.sh
source "$(dirname "$0")/ports_lib.sh"
SECONDS=0

"$PKI_SH" --quiet --dir "$PKI" server
"$PKI_SH" --quiet --dir "$PKI" audit
"$PKI_SH" --quiet --dir "$PKI" agency admin ops

# Redis with AOF (everysec) and the shipped ACL (each module logs in as its own workload user),
# on a free port; bounded retries if the port is taken meanwhile.
# shellcheck source=tests/integration/redis_acl_lib.sh
source "$(dirname "$0")/redis_acl_lib.sh"
redis_acl_setup "$WORK/redis-acl"
mkdir -p "$WORK/redis"
for attempt in 1 2 3 4 5; do
  REDIS_PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
    --appendonly yes --appendfsync everysec --aclfile "$REDIS_ACL_FILE" >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for ((i = 0; i < 50; i++)); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
  REDIS_PID=""
  [ "$attempt" -lt 5 ] || die "redis-server did not start"
done

PORT=$(free_port)
HEALTH_PORT=$(free_port)
METRICS_PORT=$(free_port)
start_server() { # LOG
  "$SERVER_BIN" --listen-address "127.0.0.1:$PORT" --health-address "127.0.0.1:$HEALTH_PORT" \
    --metrics-address "127.0.0.1:$METRICS_PORT" --tls-cert "$PKI/server/cert.pem" \
    --tls-key "$PKI/server/key.pem" --tls-ca "$PKI/ca.pem" --trust-domain concord.test \
    --redis-host 127.0.0.1 --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key" \
    --audit-signing-key-file "$PKI/audit/sign.key" --bootstrap-directory-admins admin/ops \
    >"$WORK/$1" 2>&1 &
  SERVER_PID=$!
  for ((i = 0; i < 300; i++)); do
    grep -q '"server.started"' "$WORK/$1" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "concord-server did not start ($1)"
}
start_server server.log

echo "== $MESSAGES messages; kill -9 after $KILL_AT OK"
"$BENCH" messaging --target "127.0.0.1:$PORT" --pki "$PKI" --pki-script "$PKI_SH" \
  --agencies 8 --recipients 3 --concurrency 32 --body-bytes 1024 --messages "$MESSAGES" \
  --seconds 120 --retry --no-subscribe --sent-file "$WORK/sent.txt" --max-seconds 170 \
  >"$WORK/bench.log" 2>&1 &
BENCH_PID=$!

# Wait (bounded) until KILL_AT sends returned OK, then SIGKILL the server mid-run.
killed=0
for ((i = 0; i < 1200; i++)); do
  n=$(wc -l <"$WORK/sent.txt" 2>/dev/null || echo 0)
  if [ "$n" -ge "$KILL_AT" ]; then
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    killed=1
    echo "killed concord-server (pid $SERVER_PID) after $n OK sends, at ${SECONDS}s"
    break
  fi
  kill -0 "$BENCH_PID" 2>/dev/null || break
  sleep 0.1
done
[ "$killed" = 1 ] || die "the bench never reached $KILL_AT OK sends"
sleep 1 # the bench sees UNAVAILABLE meanwhile and retries
start_server server2.log
echo "restarted concord-server (pid $SERVER_PID) on the same ports at ${SECONDS}s"

rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=""
cat "$WORK/bench.log"
[ "$rc" = 0 ] || die "concord-bench exited $rc"
ok=$(wc -l <"$WORK/sent.txt")
[ "$ok" = "$MESSAGES" ] || die "only $ok of $MESSAGES sends returned OK"
grep -q "retries=0 " "$WORK/bench.log" && die "no Send was retried: the kill did not hit the run"

echo "== drain: every OK message to every recipient, once after de-duplication"
rc=0
"$BENCH" drain --target "127.0.0.1:$PORT" --pki "$PKI" --pki-script "$PKI_SH" \
  --expect-file "$WORK/sent.txt" --seconds 90 >"$WORK/drain.log" 2>&1 || rc=$?
cat "$WORK/drain.log"
[ "$rc" = 0 ] || die "drain exited $rc"
grep -q "^DRAIN PASS messages=$MESSAGES deliveries=$((MESSAGES * 3))/$((MESSAGES * 3))" \
  "$WORK/drain.log" || die "drain did not count $MESSAGES messages x 3 recipients"
echo "PASS in ${SECONDS}s"
