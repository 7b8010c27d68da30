#!/usr/bin/env bash
# Fault: Redis restarted under load, the servers left running.
# One redis-server (AOF everysec), two concord-server replicas; concord-bench sends 12,000 sealed
# and signed messages over both (round_robin), retrying UNAVAILABLE / DEADLINE_EXCEEDED with the
# same envelope.
#   MODE=term: after 1,500 OK sends and 2.5 s of load Redis gets SIGTERM (it writes and fsyncs its AOF, then exits)
#     and is started again on the same port and data directory. Asserts: every Send returns OK in
#     the end; every failed attempt was UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED; both
#     replicas recover without a restart (same processes); NOTHING acknowledged is lost and each
#     message reaches each recipient exactly once after de-duplication by id.
#   MODE=kill: the same with SIGKILL. The documented bound (services/messaging/README.md: with
#     appendfsync everysec a Redis crash can lose up to one second of acknowledged sends) is what
#     is asserted: every lost delivery belongs to a Send acknowledged within the last 1.5 s before
#     the kill (one second plus the 0.1 s sampling and 0.4 s of margin); the loss is measured and
#     printed. (A killed process keeps what it already wrote to the kernel: the window is spent
#     only on an OS crash or power loss, so the loss measured here is normally 0.)
# Usage: redis_restart_test.sh term|kill CONCORD_BENCH CONCORD_SERVER PKI_SH
# Env: FAULT_MESSAGES (default 12000), FAULT_KILL_AT (1500), FAULT_RATE (Sends per second, 2000).
MODE=${1:?usage: redis_restart_test.sh term|kill CONCORD_BENCH CONCORD_SERVER PKI_SH}
# shellcheck source=tests/fault/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_init "redis-$MODE" "${2:?usage}" "${3:?usage}" "${4:?usage}"
MESSAGES=${FAULT_MESSAGES:-12000}
KILL_AT=${FAULT_KILL_AT:-1500}
case $MODE in term) SIG=TERM ;; kill) SIG=KILL ;; *) die "mode $MODE" ;; esac

start_redis
start_server 1
start_server 2
TARGET="ipv4:127.0.0.1:${PORT[1]},127.0.0.1:${PORT[2]}"
# Paced (open loop, 2,000 Sends a second: 12,000 take 6 s), so that the signal at 2.5 s lands in
# the middle of the load on a fast machine too; unpaced, a machine that sends 12,000 in 2.6 s
# finished before the signal and the fault never hit the run.
bench_start "$MESSAGES" "$TARGET" --rate "${FAULT_RATE:-2000}"

# Poll the acknowledged count every 0.1 s; keep (time in ms, count) samples to know, at the
# signal, how many Sends had been acknowledged 1.5 s before it. The signal comes once KILL_AT
# Sends are acknowledged and the load has run 2.5 s, so the 1.5 s window is a part of the run.
declare -a T_MS=() N_OK=()
FIRST_MS=""
for ((i = 0; i < 1200; i++)); do
  T_MS+=("$(date +%s%3N)")
  N_OK+=("$(ok_count)")
  [ -z "$FIRST_MS" ] && [ "${N_OK[-1]}" -gt 0 ] && FIRST_MS=${T_MS[-1]}
  [ "${N_OK[-1]}" -ge "$KILL_AT" ] && [ $((T_MS[-1] - FIRST_MS)) -ge 2500 ] && break
  kill -0 "$BENCH_PID" 2>/dev/null || die "the bench ended before the signal"
  sleep 0.1
done
[ "${N_OK[-1]}" -ge "$KILL_AT" ] || die "the bench never reached $KILL_AT OK sends"
stop_redis "$SIG"
KILL_MS=$(date +%s%3N)
AT_KILL=$(ok_count)
# The number acknowledged at the latest sample taken >= 1.5 s before the kill.
SAFE=0
for ((i = 0; i < ${#T_MS[@]}; i++)); do
  [ $((KILL_MS - T_MS[i])) -ge 1500 ] && SAFE=${N_OK[i]}
done
echo "SIG$SIG to redis-server after $AT_KILL OK sends at ${SECONDS}s ($SAFE acknowledged >= 1.5 s before)"
start_redis
echo "redis-server restarted on port $REDIS_PORT at ${SECONDS}s"
bench_finish
servers_alive

drain "$TARGET" "$WORK/missing.txt"
servers_alive
LOST=$(cut -d' ' -f1 "$WORK/missing.txt" | sort -u | wc -l)
if [ "$MODE" = term ]; then
  [ "$DRAIN_RC" = 0 ] || die "drain: $LOST acknowledged messages lost across a SIGTERM restart"
else
  # Every lost message must come after line $SAFE of sent.txt (acknowledged in the last 1.5 s).
  while read -r id _; do
    line=$(grep -n -m1 "^$id " "$WORK/sent.txt" | cut -d: -f1)
    [ "$line" -gt "$SAFE" ] ||
      die "message $id (acknowledged #$line, before the 1.5 s window at #$SAFE) was lost"
  done <"$WORK/missing.txt"
  grep -q 'wrong_recipient=0' "$WORK/drain.log" || die "drain: a message reached a wrong recipient"
fi
echo "FIGURES redis_$MODE messages=$MESSAGES signal_after=$AT_KILL acked_in_last_1.5s=$((AT_KILL - SAFE)) lost=$LOST max_attempt_ms=$MAX_ATTEMPT_MS $(grep -o 'retries=[0-9]*' "$WORK/bench.log") seconds=$SECONDS"
servers_stop
echo "PASS in ${SECONDS}s"
