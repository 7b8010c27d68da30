# shellcheck shell=bash
# Shared by the fault tests (sourced, not run): a real redis-server (AOF everysec, the shipped
# ACL) and real concord-server replicas on free loopback ports, concord-bench as the load, and
# the checks every fault test makes. Every wait polls with a bounded deadline.
#
#   fault_init NAME BENCH SERVER PKI_SH   work directory, PKI, Redis ACL, cleanup trap
#   start_redis                           (re)starts Redis on $REDIS_PORT (chosen once), same dir;
#                                         FAULT_REDIS_ARGS are added to its flags
#   start_server I                        starts replica I (ports chosen once), sets SERVER_PID[I]
#   bench_start MESSAGES TARGET ARGS...   concord-bench messaging in the background (--retry)
#   wait_ok N                             until N Sends returned OK (sent.txt), bounded
#   bench_finish                          waits for the bench; every Send OK, codes allowed
#   drain TARGET [MISSING_FILE]           every OK message to each recipient, once after dedup
#   servers_stop                          every live replica ends within 15 s of SIGTERM
set -euo pipefail

FAULT_NAME=""
BENCH=""
SERVER_BIN=""
PKI_SH=""
WORK=""
PKI=""
REDIS_PORT=""
REDIS_PID=""
BENCH_PID=""
BENCH_MESSAGES=0
export MAX_ATTEMPT_MS=0 DRAIN_RC=0 # read by the test scripts
declare -a SERVER_PID=() PORT=() HEALTH_PORT=() METRICS_PORT=()
declare -a FAULT_REDIS_ARGS=() # extra redis-server flags of a test (e.g. --appendonly no)
SECONDS=0

# shellcheck source=tests/integration/redis_acl_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/redis_acl_lib.sh"

fault_cleanup() {
  local pid
  for pid in $BENCH_PID "${SERVER_PID[@]}" $REDIS_PID; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true # a test that failed: no graceful stop to wait for
  done
  wait 2>/dev/null || true
  if [ -z "${FAULT_KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}

die() {
  echo "FAIL ($FAULT_NAME): $*" >&2
  local f
  for f in "$WORK"/*.log; do
    [ -f "$f" ] && { echo "--- $(basename "$f") (tail)" >&2; tail -15 "$f" >&2; }
  done
  exit 1
}

# shellcheck source=tests/integration/ports_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/ports_lib.sh"

fault_init() {
  FAULT_NAME=$1 BENCH=$2 SERVER_BIN=$3 PKI_SH=$4
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-fault-$FAULT_NAME.XXXXXX")
  PKI=$WORK/pki
  trap fault_cleanup EXIT
  "$PKI_SH" --quiet --dir "$PKI" server
  "$PKI_SH" --quiet --dir "$PKI" audit
  "$PKI_SH" --quiet --dir "$PKI" agency admin ops
  redis_acl_setup "$WORK/redis-acl" >/dev/null
  mkdir -p "$WORK/redis"
}

redis_up() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

# Starts Redis on $REDIS_PORT (a free port the first time) with its data in $WORK/redis: a
# restart loads the AOF written so far.
start_redis() {
  local i fixed=${REDIS_PORT:+yes}
  for _ in 1 2 3 4 5; do
    [ -n "$fixed" ] || REDIS_PORT=$(free_port)
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
      --appendonly yes --appendfsync everysec --aclfile "$REDIS_ACL_FILE" \
      ${FAULT_REDIS_ARGS[@]+"${FAULT_REDIS_ARGS[@]}"} >>"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for ((i = 0; i < 100; i++)); do
      redis_up && return 0
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
  done
  die "redis-server did not start on $REDIS_PORT"
}

# stop_redis SIGNAL: sends it and waits (bounded) for the process to end.
stop_redis() {
  kill "-$1" "$REDIS_PID"
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$REDIS_PID" 2>/dev/null && die "redis-server did not end after SIG$1"
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
}

start_server() { # I
  local n=$1 i
  [ -n "${PORT[$n]:-}" ] || PORT[n]=$(free_port)
  [ -n "${HEALTH_PORT[$n]:-}" ] || HEALTH_PORT[n]=$(free_port)
  [ -n "${METRICS_PORT[$n]:-}" ] || METRICS_PORT[n]=$(free_port)
  "$SERVER_BIN" --listen-address "127.0.0.1:${PORT[n]}" \
    --health-address "127.0.0.1:${HEALTH_PORT[n]}" \
    --metrics-address "127.0.0.1:${METRICS_PORT[n]}" --tls-cert "$PKI/server/cert.pem" \
    --tls-key "$PKI/server/key.pem" --tls-ca "$PKI/ca.pem" --trust-domain concord.test \
    --redis-host 127.0.0.1 --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key" \
    --audit-signing-key-file "$PKI/audit/sign.key" --bootstrap-directory-admins admin/ops \
    >"$WORK/server$n.log" 2>&1 &
  SERVER_PID[n]=$!
  for ((i = 0; i < 300; i++)); do
    grep -q '"server.started"' "$WORK/server$n.log" 2>/dev/null && return 0
    kill -0 "${SERVER_PID[n]}" 2>/dev/null || break
    sleep 0.1
  done
  die "concord-server replica $n did not start"
}

# The servers never restart: each replica started is still the same process.
servers_alive() {
  local n
  for n in "${!SERVER_PID[@]}"; do
    [ -n "${SERVER_PID[n]}" ] || continue
    kill -0 "${SERVER_PID[n]}" 2>/dev/null || die "concord-server replica $n (pid ${SERVER_PID[n]}) died"
  done
}

# Each live replica stops on SIGTERM within 15 s (a 10 s drain plus margin): no hang at shutdown.
servers_stop() {
  local n i
  for n in "${!SERVER_PID[@]}"; do
    [ -n "${SERVER_PID[n]}" ] || continue
    kill -TERM "${SERVER_PID[n]}"
    for ((i = 0; i < 150; i++)); do
      kill -0 "${SERVER_PID[n]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "${SERVER_PID[n]}" 2>/dev/null && die "replica $n did not stop within 15 s of SIGTERM"
    wait "${SERVER_PID[n]}" 2>/dev/null || true
    SERVER_PID[n]=""
  done
}

bench_start() { # MESSAGES TARGET ARGS...
  local messages=$1 target=$2
  shift 2
  "$BENCH" messaging --target "$target" --pki "$PKI" --pki-script "$PKI_SH" --agencies 4 \
    --recipients 2 --concurrency 16 --body-bytes 512 --messages "$messages" --seconds 120 \
    --retry --no-subscribe --sent-file "$WORK/sent.txt" --max-seconds 150 "$@" \
    >"$WORK/bench.log" 2>&1 &
  BENCH_PID=$!
  BENCH_MESSAGES=$messages
}

ok_count() { if [ -f "$WORK/sent.txt" ]; then wc -l <"$WORK/sent.txt"; else echo 0; fi; }

wait_ok() { # N
  local i
  for ((i = 0; i < 1200; i++)); do
    [ "$(ok_count)" -ge "$1" ] && return 0
    kill -0 "$BENCH_PID" 2>/dev/null || die "the bench ended before $1 OK sends"
    sleep 0.1
  done
  die "the bench never reached $1 OK sends"
}

# Every Send returned OK in the end (retrying the same envelope), at least one attempt failed
# (the fault hit the run), and every failed attempt was UNAVAILABLE (14), DEADLINE_EXCEEDED (4)
# or RESOURCE_EXHAUSTED (8): never INTERNAL, UNKNOWN or another code.
bench_finish() {
  local rc=0 code
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=""
  grep '^send:' "$WORK/bench.log" || true
  [ "$rc" = 0 ] || die "concord-bench exited $rc"
  [ "$(ok_count)" = "$BENCH_MESSAGES" ] || die "only $(ok_count) of $BENCH_MESSAGES sends returned OK"
  grep -q '^send: attempt code ' "$WORK/bench.log" || die "no attempt failed: the fault did not hit the run"
  while read -r code; do
    case $code in
      4 | 8 | 14) ;;
      *) die "a caller saw gRPC code $code (only UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED allowed)" ;;
    esac
  done < <(sed -n 's/^send: attempt code \([0-9]*\) .*/\1/p' "$WORK/bench.log")
  MAX_ATTEMPT_MS=$(sed -n 's/^send: max_attempt_ms=\([0-9]*\)/\1/p' "$WORK/bench.log")
}

drain() { # TARGET [MISSING_FILE]
  local rc=0
  "$BENCH" drain --target "$1" --pki "$PKI" --pki-script "$PKI_SH" \
    --expect-file "$WORK/sent.txt" --seconds 60 --quiet-seconds 1 \
    ${2:+--missing-file "$2"} >"$WORK/drain.log" 2>&1 || rc=$?
  grep -E '^(drain|DRAIN)' "$WORK/drain.log" || true
  DRAIN_RC=$rc
}
