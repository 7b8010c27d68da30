#!/usr/bin/env bash
# Fault: guidelines published across a Redis restart, the server left running.
# A real redis-server (AOF everysec, the shipped ACL) and concord-server on free loopback ports,
# the demo PKI, driven through `concordctl guideline` only. The coordination unit publishes one
# guideline; Redis gets SIGTERM; a publication while Redis is down fails with exit 2 and
# UNAVAILABLE (or DEADLINE_EXCEEDED), within the call's timeout, never INTERNAL; Redis is started
# again on the same port and data; the publication is retried (bounded) until it returns OK,
# every failed attempt UNAVAILABLE or DEADLINE_EXCEEDED; a police unit's `guideline watch` then
# receives both versions, each verified; the server is the same process throughout and stops
# within 15 s of SIGTERM.
# Usage: guidelines_redis_restart_test.sh CONCORDCTL CONCORD_SERVER PKI_SH REPO
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: guidelines_redis_restart_test.sh CONCORDCTL CONCORD_SERVER PKI_SH REPO}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}
SEED=${4:?usage}/deploy/seed/guidelines
checks=0
failures=0

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/../integration/stack_lib.sh"
stack_setup concord-fault-guidelines
"$PKI_SH" --quiet --dir "$PKI" demo
redis_acl_setup "$WORK/redis-acl" >/dev/null
mkdir -p "$WORK/redis"
REDIS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start_aof_redis
start_concord_server 0
FIRST_SERVER_PID=$SERVER_PID
wait_server_healthy

ICU=coordination_unit/icu-thb
POLICE=police/pz-brussels-capital
register_admin_ops
for a in "$ICU" "$POLICE"; do
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done

echo "== publish before the fault"
ctl 0 "publish definition" "$ICU" guideline publish "$SEED/definition"

echo "== Redis SIGTERM: a publication fails with UNAVAILABLE, never INTERNAL"
kill -TERM "$REDIS_PID"
for ((i = 0; i < 300; i++)); do
  kill -0 "$REDIS_PID" 2>/dev/null || break
  sleep 0.1
done
wait "$REDIS_PID" 2>/dev/null || true
start=$(date +%s%3N)
CTL_TIMEOUT=5 ctl 2 "publish while Redis is down" "$ICU" guideline publish "$SEED/non-punishment"
elapsed=$(($(date +%s%3N) - start))
DOWN_ERR=$(head -c 160 <<<"$ERR" | tr '\n' ' ')
grep -qE 'UNAVAILABLE|DEADLINE_EXCEEDED' <<<"$ERR" && pass || fail "want UNAVAILABLE, got: $ERR"
not_contains "never INTERNAL" "$ERR" "INTERNAL"
[ "$elapsed" -le 8000 ] && pass || fail "the failed publication took ${elapsed} ms (timeout 5 s)"

echo "== Redis restarted: the publication goes through, the server not restarted"
start_aof_redis
published=0
for ((i = 0; i < 40; i++)); do
  rc=0
  "$CTL" --agency-dir "$PKI/agencies/$ICU" --server "127.0.0.1:$PORT" --timeout 5 \
    guideline publish "$SEED/non-punishment" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" = 0 ]; then
    published=1
    break
  fi
  grep -qE 'UNAVAILABLE|DEADLINE_EXCEEDED' "$WORK/err" ||
    fail "a retry failed with something else than UNAVAILABLE: $(cat "$WORK/err")"
  sleep 0.25
done
ATTEMPTS=$((i + 1))
equal "published after the restart (attempt $ATTEMPTS)" "$published" 1
ctl 0 "watch: both versions" "$POLICE" --json guideline watch --max 2 --duration 20s
equal "two versions" "$(grep -c '"kind":"version"' <<<"$OUT")" "2"
equal "both verified" "$(grep -c '"verified":true' <<<"$OUT")" "2"
contains "the one before the fault" "$OUT" '"guideline_id":"definition-2024-1712"'
contains "the one across the restart" "$OUT" '"guideline_id":"non-punishment"'
equal "the same server process" "$SERVER_PID" "$FIRST_SERVER_PID"
kill -0 "$SERVER_PID" 2>/dev/null && pass || fail "concord-server died"

kill -TERM "$SERVER_PID"
for ((i = 0; i < 150; i++)); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$SERVER_PID" 2>/dev/null && fail "concord-server did not stop within 15 s" || pass
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
echo "FIGURES guidelines_redis_restart down_publish_ms=$elapsed down_publish_error=\"$DOWN_ERR\" published_after_attempts=$ATTEMPTS"
echo "guidelines across a Redis restart: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
