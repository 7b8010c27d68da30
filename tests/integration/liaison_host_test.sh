#!/usr/bin/env bash
# The liaison service as shipped: the standalone binary concord-liaison (--help names its flags;
# it starts with only its own Redis credential, logs in as concord-liaison, exports its metrics)
# and its start-up checks: without a loadable time-zone database (an empty TZDIR) it refuses to
# start (exit 1, module.failed naming tzdata) instead of counting legal days in UTC; a clock out
# of range names its flag; with Redis unreachable the clock scheduler logs the outage once. concord-server hosts the liaison module too (its help and its Redis
# users: redis_credentials_test.sh).
# Usage: liaison_host_test.sh CONCORD_LIAISON CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

LIAISON_BIN=${1:?usage: liaison_host_test.sh CONCORD_LIAISON CONCORD_SERVER PKI_SH}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-liaison-host

echo "== --help"
help=$("$LIAISON_BIN" --help)
for flag in --redis-liaison-user --redis-liaison-password-file --liaison-notifier-dir \
  --liaison-messaging-target --liaison-eio-acknowledgement-days --liaison-production-emergency-hours \
  --liaison-preservation-extension-max-days CONCORD_LIAISON_SPOC_URGENT_DIRECT_HOURS; do
  contains "concord-liaison --help" "$help" "$flag"
done
contains "concord-liaison --help first line" "$(head -1 <<<"$help")" "Concord liaison service"
contains "concord-server --help" "$("$SERVER_BIN" --help | head -1)" "liaison"

"$PKI_SH" --quiet --dir "$PKI" server
"$PKI_SH" --quiet --dir "$PKI" audit
start_redis

common_flags=(--listen-address 127.0.0.1:0 --health-address 127.0.0.1:0
  --metrics-address 127.0.0.1:0 --tls-cert "$PKI/server/cert.pem" --tls-key "$PKI/server/key.pem"
  --tls-ca "$PKI/ca.pem" --trust-domain concord.test --redis-host 127.0.0.1
  --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key")
# Only the liaison workload's credential: the other workloads' password files are not given.
only_liaison=(-u CONCORD_REDIS_DIRECTORY_PASSWORD_FILE -u CONCORD_REDIS_AUDIT_PASSWORD_FILE
  -u CONCORD_REDIS_MESSAGING_PASSWORD_FILE -u CONCORD_REDIS_REFERRALS_PASSWORD_FILE
  -u CONCORD_REDIS_GUIDELINES_PASSWORD_FILE)

echo "== no time-zone database: refuses to start"
mkdir -p "$WORK/empty-tz"
rc=0
env "${only_liaison[@]}" TZDIR="$WORK/empty-tz" timeout 30 "$LIAISON_BIN" "${common_flags[@]}" \
  >"$WORK/tz.log" 2>&1 || rc=$?
equal "exit code without tzdata" "$rc" 1
contains "module.failed names the cause" "$(cat "$WORK/tz.log")" "module.failed"
contains "the message says what to install" "$(cat "$WORK/tz.log")" "install the tzdata package"
not_contains "never started" "$(cat "$WORK/tz.log")" "server.started"

echo "== a clock out of range names its flag"
rc=0
env "${only_liaison[@]}" timeout 30 "$LIAISON_BIN" "${common_flags[@]}" \
  --liaison-production-emergency-hours 0 >"$WORK/clock.log" 2>&1 || rc=$?
equal "exit code with a zero-hour clock" "$rc" 1
contains "the flag is named" "$(cat "$WORK/clock.log")" "--liaison-production-emergency-hours"

echo "== concord-liaison alone"
# The log exists before the poll reads it: the background job opens it only once it runs.
: >"$WORK/liaison.log"
env "${only_liaison[@]}" "$LIAISON_BIN" "${common_flags[@]}" >"$WORK/liaison.log" 2>&1 &
SERVER_PID=$!
metrics_port=""
for ((i = 0; i < 300; i++)); do
  metrics_port=$(sed -n 's/.*"event":"server.started".*"metrics_port":"\([0-9]*\)".*/\1/p' "$WORK/liaison.log" | head -1)
  [ -n "$metrics_port" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$metrics_port" ] && pass || { fail "concord-liaison did not start: $(tail -5 "$WORK/liaison.log")"; }
contains "hosts the liaison module" "$(grep server.started "$WORK/liaison.log" || true)" '"modules":"liaison"'
metrics=""
if [ -n "$metrics_port" ]; then
  for ((i = 0; i < 100; i++)); do
    metrics=$(curl -sf "http://127.0.0.1:$metrics_port/metrics" || true)
    grep -q 'concord_liaison_deadlines_overdue{type="eio"}' <<<"$metrics" && break
    sleep 0.1
  done
fi
for m in 'concord_liaison_deadlines_overdue{type="production_order"} 0' \
  'concord_liaison_deadlines_due_24h{type="eio"} 0' 'concord_liaison_jit_streams 0' \
  'concord_liaison_notifications_pending 0'; do
  contains "/metrics" "$metrics" "$m"
done
users=$(redis-cli -p "$REDIS_PORT" client list | sed -n 's/.* user=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')
equal "Redis users of concord-liaison's connections (and this test's admin)" "$users" \
  "concord-liaison concord-test-admin "
contains "the notifier is reported disabled" "$(cat "$WORK/liaison.log")" "liaison.notifier_disabled"
stop_concord_server

echo "== Redis unreachable: the clock scheduler logs the outage once, not every second"
dead_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dead_flags=("${common_flags[@]}")
for ((i = 0; i < ${#dead_flags[@]}; i++)); do
  [ "${dead_flags[i]}" = --redis-port ] && dead_flags[i + 1]=$dead_port
done
: >"$WORK/dead.log"
env "${only_liaison[@]}" "$LIAISON_BIN" "${dead_flags[@]}" --redis-connect-timeout-ms 100 \
  --redis-command-timeout-ms 200 >"$WORK/dead.log" 2>&1 &
SERVER_PID=$!
for ((i = 0; i < 100; i++)); do
  grep -q '"liaison.clocks.fire_failed"' "$WORK/dead.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
contains "the outage is logged" "$(cat "$WORK/dead.log")" '"liaison.clocks.fire_failed"'
# Over the next 3 s (3 scheduler rounds) the count must stay at 1.
for ((i = 0; i < 30; i++)); do sleep 0.1; done
equal "logged once" "$(grep -c '"liaison.clocks.fire_failed"' "$WORK/dead.log")" 1
stop_concord_server

echo "liaison_host_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
