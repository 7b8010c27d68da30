#!/usr/bin/env bash
# Fault: kill -9 of one of two concord-server replicas under load.
# One redis-server (AOF everysec), two concord-server replicas on it; concord-bench sends 6,000
# sealed and signed messages over channels that spread the calls over both replicas
# (round_robin over "ipv4:127.0.0.1:P1,127.0.0.1:P2"), retrying UNAVAILABLE / DEADLINE_EXCEEDED
# with the same envelope. After 1,500 OK sends replica 1 gets SIGKILL and is NOT restarted: the
# clients carry on with replica 2. Asserts: every Send returns OK in the end; every failed attempt
# was UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED; replica 2 never restarted; every
# acknowledged message reaches each of its recipients, exactly once after de-duplication by id.
# Usage: replica_kill9_test.sh CONCORD_BENCH CONCORD_SERVER PKI_SH
# shellcheck source=tests/fault/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_init replica-kill9 "${1:?usage}" "${2:?usage}" "${3:?usage}"
MESSAGES=${FAULT_MESSAGES:-6000}
KILL_AT=${FAULT_KILL_AT:-1500}

start_redis
start_server 1
start_server 2
TARGET="ipv4:127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]}"
bench_start "$MESSAGES" "$TARGET"
wait_ok "$KILL_AT"
kill -KILL "${SERVER_PID[1]}"
wait "${SERVER_PID[1]}" 2>/dev/null || true
echo "killed replica 1 (pid ${SERVER_PID[1]}) after $(ok_count) OK sends, at ${SECONDS}s"
SERVER_PID[1]=""
# Replica 2 must have served part of the load before the kill and the rest after it.
bench_finish
servers_alive
drain "127.0.0.1:${PORT[2]}"
[ "$DRAIN_RC" = 0 ] || die "drain: an acknowledged message was lost"
servers_alive
echo "FIGURES replica_kill9 messages=$MESSAGES killed_after=$KILL_AT max_attempt_ms=$MAX_ATTEMPT_MS $(grep -o 'retries=[0-9]*' "$WORK/bench.log") lost=0 seconds=$SECONDS"
servers_stop
echo "PASS in ${SECONDS}s"
