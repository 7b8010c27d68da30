#!/usr/bin/env bash
# Fault: one inbox of 1,000,000 messages. A page and an acknowledgement must cost O(page) Redis
# commands, not O(inbox).
# A real redis-server (the shipped ACL; no AOF: this test is about cost, not durability) and
# concord-server on free loopback ports. concord-inbox-probe bulk-loads 999,000 messages into the
# inbox of magistrate/bench-001 in the stored form of services/messaging (pipelined, ~10 s);
# concord-bench then sends 2,000 real messages between police/bench-000 and
# magistrate/bench-001 through the server (1,000 each: the small inbox has 1,000, the big one
# 1,000,000, its newest page real messages). The probe calls ListInbox (the newest page, the oldest
# page) and Ack (the 50 ids of the newest page) as each owner over mutual TLS, reading
# `INFO commandstats` around each call, and fails unless each call costs the same number of Redis
# commands on both inboxes and stays under a bound set by the page size. The latency ratio
# 1M / 1k is printed (FIGURES), not asserted. The server is the same process throughout and stops
# within 15 s of SIGTERM.
# Usage: large_inbox_test.sh CONCORD_BENCH CONCORD_SERVER PKI_SH CONCORD_INBOX_PROBE
# Env: FAULT_INBOX_MESSAGES (default 1000000).
# shellcheck source=tests/fault/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_init large-inbox "${1:?usage}" "${2:?usage}" "${3:?usage}"
PROBE=${4:?usage}
TOTAL=${FAULT_INBOX_MESSAGES:-1000000}
REAL=1000 # per inbox, through the server
SMALL=police/bench-000
BIG=magistrate/bench-001

FAULT_REDIS_ARGS=(--appendonly no)
start_redis
start_server 0
REDIS_AUTH=(--redis-port "$REDIS_PORT" --redis-user "$REDIS_TEST_ADMIN"
  --redis-password-file "$REDIS_SECRETS/$REDIS_TEST_ADMIN.password")

echo "== bulk load: $((TOTAL - REAL)) messages into $BIG"
"$PROBE" load "${REDIS_AUTH[@]}" --recipient "$BIG" --sender "$SMALL" --count $((TOTAL - REAL)) \
  --body-bytes 16 >"$WORK/load.out" 2>"$WORK/load.log" || die "bulk load failed: $(cat "$WORK/load.log")"
cat "$WORK/load.out"

echo "== $((2 * REAL)) real messages through the server"
"$BENCH" messaging --target "127.0.0.1:${PORT[0]}" --pki "$PKI" --pki-script "$PKI_SH" \
  --agencies 2 --recipients 1 --concurrency 16 --body-bytes 16 --messages $((2 * REAL)) \
  --seconds 60 --no-subscribe --sent-file "$WORK/sent.txt" --max-seconds 90 >"$WORK/bench.log" 2>&1 ||
  die "concord-bench failed"
[ "$(ok_count)" = $((2 * REAL)) ] || die "only $(ok_count) of $((2 * REAL)) sends returned OK"
[ "$(redis-cli -p "$REDIS_PORT" xlen "concord:{msg}:inbox:$BIG")" = "$TOTAL" ] ||
  die "the big inbox does not hold $TOTAL messages"
[ "$(redis-cli -p "$REDIS_PORT" xlen "concord:{msg}:inbox:$SMALL")" = "$REAL" ] ||
  die "the small inbox does not hold $REAL messages"

echo "== a page and an ack: Redis commands and latency, $REAL vs $TOTAL messages"
rc=0
"$PROBE" measure "${REDIS_AUTH[@]}" --target "127.0.0.1:${PORT[0]}" --pki "$PKI" \
  --small "$SMALL" --big "$BIG" --page-size 50 --rounds 7 >"$WORK/measure.out" 2>"$WORK/measure.log" || rc=$?
cat "$WORK/measure.out"
[ "$rc" = 0 ] || die "a page or an ack costs more on the big inbox: $(grep FAIL "$WORK/measure.out" "$WORK/measure.log")"
servers_alive
RSS=$(sed -n 's/.*redis_rss_bytes=\([0-9]*\).*/\1/p' "$WORK/load.out")
echo "FIGURES large_inbox_load $(sed -n 's/^FIGURES inbox_load //p' "$WORK/load.out") redis_rss_mib=$((${RSS:-0} / 1048576)) seconds=$SECONDS"
servers_stop
echo "PASS in ${SECONDS}s"
