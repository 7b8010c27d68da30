#!/usr/bin/env bash
# RSS soak of concord-server under the standard messaging load (issue 3: "server RSS <= 150 MiB
# and flat over a 10-minute run"), for docs/performance.md. NOT a CI test (minutes long).
#
#   tests/bench/rss_soak.sh BUILD_DIR [MINUTES]     (default 10)
#
# One redis-server (AOF everysec) and ONE concord-server process on free loopback ports; then
# back-to-back `concord-bench messaging --target` runs (8 agencies, 3 recipients, concurrency 32,
# 1 KiB) until MINUTES of wall time have passed since the server started. Chained runs because
# the bench pre-signs its envelopes and the server refuses envelopes older than its 5-minute
# replay window; while one run prepares the next, the server idles (visible in the samples).
# Prints the server's VmRSS every 10 s (t, MiB) and one RESULT line per run.
set -euo pipefail
BUILD=${1:?usage: rss_soak.sh BUILD_DIR [MINUTES]}
MINUTES=${2:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$BUILD/tests/bench/concord-bench
SERVER_BIN=$BUILD/exe/concord-server
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-soak.XXXXXX")
PKI=$WORK/pki
REDIS_PID="" SERVER_PID="" SAMPLER_PID=""
cleanup() {
  for pid in $SAMPLER_PID $SERVER_PID $REDIS_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=tests/integration/ports_lib.sh
source "$ROOT/tests/integration/ports_lib.sh"
"$ROOT/scripts/pki.sh" --quiet --dir "$PKI" server
"$ROOT/scripts/pki.sh" --quiet --dir "$PKI" audit
"$ROOT/scripts/pki.sh" --quiet --dir "$PKI" agency admin ops
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
# The shipped ACL: each module of concord-server logs in as its own workload user.
# shellcheck source=tests/integration/redis_acl_lib.sh
source "$ROOT/tests/integration/redis_acl_lib.sh"
redis_acl_setup "$WORK/redis-acl"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
  --appendonly yes --appendfsync everysec --rdbcompression no --aclfile "$REDIS_ACL_FILE" \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for ((i = 0; i < 50; i++)); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
PORT=$(free_port)
# Ten minutes at full speed send ~1.2 million messages from 8 agencies: far past the send
# bucket's burst (20,000 per agency, then 5/s, docs/operations.md "Quotas and limits"), after
# which the runs would measure the quota, not the server (and the recipients' acknowledgements
# past msg_ack's). The soak raises the buckets it drains.
SOAK_QUOTAS='*.send=100000000/100000;*.send_bytes=1000000000000/100000000;*.ack=100000000/100000;*.msg_ack=100000000/100000'
"$SERVER_BIN" --listen-address "127.0.0.1:$PORT" --health-address 127.0.0.1:0 \
  --metrics-address 127.0.0.1:0 --tls-cert "$PKI/server/cert.pem" --tls-key "$PKI/server/key.pem" \
  --tls-ca "$PKI/ca.pem" --trust-domain concord.test --redis-host 127.0.0.1 \
  --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key" \
  --audit-signing-key-file "$PKI/audit/sign.key" --bootstrap-directory-admins admin/ops \
  --quotas "$SOAK_QUOTAS" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 300; i++)); do grep -q '"server.started"' "$WORK/server.log" && break; sleep 0.1; done
START=$SECONDS
(
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    echo "rss t=$((SECONDS - START))s $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$SERVER_PID/status)"
    sleep 10
  done
) &
SAMPLER_PID=$!
run=0
while ((SECONDS - START < MINUTES * 60 - 30)); do
  run=$((run + 1))
  left=$((MINUTES * 60 - (SECONDS - START) - 45))
  ((left > 150)) && left=150
  ((left < 20)) && break
  "$BENCH" messaging --target "127.0.0.1:$PORT" --pki "$PKI" --pki-script "$ROOT/scripts/pki.sh" \
    --server-pid "$SERVER_PID" --agencies 8 --recipients 3 --concurrency 32 --body-bytes 1024 \
    --seconds "$left" --pool $((left * 1500)) 2>&1 | grep -E '^(RESULT|rss:|send:|delivery:)' |
    sed "s/^/run $run: /"
done
echo "rss t=$((SECONDS - START))s $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$SERVER_PID/status) (end)"
