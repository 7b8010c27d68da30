#!/usr/bin/env bash
# Fault: Redis frozen (SIGSTOP) past the call deadlines, then thawed (SIGCONT).
# One redis-server (AOF everysec), two concord-server replicas (Redis command timeout 2 s, the
# default); concord-bench sends 6,000 messages over both with a 3 s deadline per attempt,
# retrying UNAVAILABLE / DEADLINE_EXCEEDED with the same envelope. After 1,500 OK sends Redis gets
# SIGSTOP for 5 s (past the 2 s command timeout and the 3 s call deadline), then SIGCONT.
# Asserts: callers see UNAVAILABLE or DEADLINE_EXCEEDED (or RESOURCE_EXHAUSTED), never INTERNAL;
# no attempt outlives its deadline by more than 1 s (no hang); while Redis is frozen /healthz still
# answers within 2 s; both replicas recover without a restart (same
# processes); every acknowledged message reaches each recipient, once after de-duplication.
# Usage: redis_sigstop_test.sh CONCORD_BENCH CONCORD_SERVER PKI_SH
# shellcheck source=tests/fault/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_init redis-sigstop "${1:?usage}" "${2:?usage}" "${3:?usage}"
MESSAGES=${FAULT_MESSAGES:-6000}
KILL_AT=${FAULT_KILL_AT:-1500}
DEADLINE_MS=3000
STOP_SECONDS=5

start_redis
start_server 1
start_server 2
TARGET="ipv4:127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]}"
bench_start "$MESSAGES" "$TARGET" --deadline-ms "$DEADLINE_MS"
wait_ok "$KILL_AT"
kill -STOP "$REDIS_PID"
STOP_MS=$(date +%s%3N)
echo "SIGSTOP to redis-server after $(ok_count) OK sends at ${SECONDS}s"
# The process still answers while Redis is frozen: /healthz on the metrics port, within 2 s.
sleep 1 # let the freeze outlast the first command timeouts (a fault duration, not a wait)
curl -s -o /dev/null -m 2 "http://127.0.0.1:${METRICS_PORT[1]}/healthz" ||
  die "replica 1 did not answer /healthz within 2 s while Redis was frozen"
FROZEN_AT=$(ok_count)
# Stay frozen for STOP_SECONDS in all (a fault duration, not a synchronisation).
while [ $(($(date +%s%3N) - STOP_MS)) -lt $((STOP_SECONDS * 1000)) ]; do sleep 0.2; done
THAWED_AT=$(ok_count)
kill -CONT "$REDIS_PID"
echo "SIGCONT at ${SECONDS}s; OK sends while frozen (after the first second): $((THAWED_AT - FROZEN_AT))"
bench_finish
servers_alive
[ "$MAX_ATTEMPT_MS" -le $((DEADLINE_MS + 1000)) ] ||
  die "an attempt took ${MAX_ATTEMPT_MS} ms, past its ${DEADLINE_MS} ms deadline: a hang"
drain "$TARGET"
[ "$DRAIN_RC" = 0 ] || die "drain: an acknowledged message was lost"
servers_alive
echo "FIGURES redis_sigstop messages=$MESSAGES stopped_s=$STOP_SECONDS deadline_ms=$DEADLINE_MS max_attempt_ms=$MAX_ATTEMPT_MS $(grep -o 'retries=[0-9]*' "$WORK/bench.log") $(grep '^send: attempt code' "$WORK/bench.log" | tr '\n' ' ')lost=0 seconds=$SECONDS"
servers_stop
echo "PASS in ${SECONDS}s"
