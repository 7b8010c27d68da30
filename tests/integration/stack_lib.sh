# Shared by the concordctl end-to-end scripts (sourced, not run): the work directory and its
# cleanup (stack_setup), check helpers (pass, fail, ctl, contains), a real redis-server (with the
# shipped ACL file: redis_acl_lib.sh; `redis-cli` runs as the test-only admin) and the real
# concord-server (each module logged in as its own workload user) on free loopback ports, and a
# dump of every Redis key (redis_dump). Callers set SERVER_BIN; these functions set WORK, PKI,
# REDIS_PORT, REDIS_PID, PORT and SERVER_PID. Every wait is bounded.

# shellcheck source=tests/integration/redis_acl_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis_acl_lib.sh"
# shellcheck source=tests/integration/ports_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports_lib.sh"

REDIS_PID=""
SERVER_PID=""
WATCH_PID="" # a background concordctl of the caller's, stopped first on exit

# stack_setup NAME: WORK (a fresh temporary directory named after NAME) and PKI=$WORK/pki; on
# exit, stops $WATCH_PID, $SERVER_PID and $REDIS_PID and removes WORK.
stack_setup() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  PKI=$WORK/pki
  trap stack_cleanup EXIT
}
stack_cleanup() {
  local pid
  for pid in $WATCH_PID $SERVER_PID $REDIS_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# redis_dump DUMP KEYS: every key of the stack's Redis (SCAN) into KEYS; into DUMP each key, its
# DUMP serialisation and its values (GET/HGETALL/LRANGE/SMEMBERS/ZRANGE/XRANGE by type).
redis_dump() {
  local dump=$1 keys=$2 key
  redis-cli -p "$REDIS_PORT" --scan >"$keys"
  : >"$dump"
  while IFS= read -r key; do
    echo "$key"
    redis-cli -p "$REDIS_PORT" --raw dump "$key"
    case $(redis-cli -p "$REDIS_PORT" type "$key") in
      string) redis-cli -p "$REDIS_PORT" --raw get "$key" ;;
      hash) redis-cli -p "$REDIS_PORT" --raw hgetall "$key" ;;
      list) redis-cli -p "$REDIS_PORT" --raw lrange "$key" 0 -1 ;;
      set) redis-cli -p "$REDIS_PORT" --raw smembers "$key" ;;
      zset) redis-cli -p "$REDIS_PORT" --raw zrange "$key" 0 -1 withscores ;;
      stream) redis-cli -p "$REDIS_PORT" --raw xrange "$key" - + ;;
    esac
  done <"$keys" >>"$dump"
}

# Checks: pass/fail count into $checks/$failures; the caller reports and sets the exit code.
failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# ctl RC_WANTED DESCRIPTION AGENCY ARGS...: concordctl as AGENCY; output in $OUT / $ERR.
ctl() {
  local want=$1 what=$2 agency=$3 rc=0
  shift 3
  "$CTL" --agency-dir "$PKI/agencies/$agency" --server "127.0.0.1:$PORT" \
    --timeout "${CTL_TIMEOUT:-10}" "$@" \
    >"$WORK/out" 2>"$WORK/err" || rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  if [ "$rc" -eq "$want" ]; then
    pass
  else
    fail "$what: exit $rc, want $want (as $agency: concordctl $*)"
    sed 's/^/  stdout: /' "$WORK/out" >&2
    sed 's/^/  stderr: /' "$WORK/err" >&2
  fi
}
contains() {
  if grep -qF -- "$3" <<<"$2"; then pass; else fail "$1: no '$3' in: $2"; fi
}
not_contains() {
  if grep -qF -- "$3" <<<"$2"; then fail "$1: unexpected '$3' in: $2"; else pass; fi
}
# json EXPR: evaluates a Python expression over the JSON document in $OUT (bound to d).
json() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$OUT" "$1"; }
equal() {
  if [ "$2" = "$3" ]; then pass; else fail "$1: got '$2', want '$3'"; fi
}

# start_redis: Redis on a free port (bounded retries if the port is taken between probe and bind).
start_redis() {
  local attempt i
  redis_acl_setup "$WORK/redis-acl"
  for attempt in 1 2 3 4 5; do
    REDIS_PORT=$(free_port)
    mkdir -p "$WORK/redis"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
      --appendonly no --aclfile "$REDIS_ACL_FILE" >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    for ((i = 0; i < 50; i++)); do
      redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
    REDIS_PID=""
  done
  echo "redis-server did not start" >&2
  exit 1
}

# start_aof_redis: Redis with AOF everysec on $REDIS_PORT (chosen by the caller) and $WORK/redis,
# with the ACL of redis_acl_setup; a restart loads what was written (the fault tests).
start_aof_redis() {
  local i
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --save "" \
    --appendonly yes --appendfsync everysec --aclfile "$REDIS_ACL_FILE" >>"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for ((i = 0; i < 100; i++)); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: redis-server did not start on $REDIS_PORT" >&2
  exit 1
}

# wait_server_healthy: the server on $PORT answers health over mTLS as admin/ops, bounded (10 s).
wait_server_healthy() {
  local i
  for ((i = 0; i < 40; i++)); do
    "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --timeout 3 health \
      >/dev/null 2>&1 && return 0
    sleep 0.25
  done
}

# Every directory change names the officer and why (services/directory/README.md).
ACCOUNT=(--officer e2e --justification "e2e test")

# register_admin_ops: admin/ops registers itself as directory administrator and audit reviewer,
# allowed by the server's --bootstrap-directory-admins admin/ops (the grant then ends).
register_admin_ops() {
  ctl 0 "register admin/ops with its roles" admin/ops "${ACCOUNT[@]}" directory register \
    --from-pki "$PKI/agencies/admin/ops" --jurisdiction BE \
    --attribute directory_administrator=true --attribute audit_reviewer=true
}

# start_concord_server [GRPC_PORT]: port 0 everywhere (or GRPC_PORT for the mutual TLS port, to
# restart a server where its clients expect it); the gRPC port comes from its "server.started"
# log line. admin/ops is the bootstrap directory administrator (register_admin_ops).
# The Redis passwords come from the environment (redis_acl_setup).
start_concord_server() {
  local i
  "$SERVER_BIN" --listen-address "127.0.0.1:${1:-0}" --health-address 127.0.0.1:0 \
    --metrics-address 127.0.0.1:0 --tls-cert "$PKI/server/cert.pem" \
    --tls-key "$PKI/server/key.pem" --tls-ca "$PKI/ca.pem" --trust-domain concord.test \
    --redis-host 127.0.0.1 --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key" \
    --audit-signing-key-file "$PKI/audit/sign.key" --bootstrap-directory-admins admin/ops \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  PORT=""
  for ((i = 0; i < 300; i++)); do
    PORT=$(/usr/bin/python3 - "$WORK/server.log" <<'PY' 2>/dev/null || true
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "server.started":
        port = event.get("grpc_port") or event.get("port")
        if port:
            print(port)
            break
PY
)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$PORT" ]; then
    cat "$WORK/server.log" >&2
    echo "concord-server did not start" >&2
    exit 1
  fi
}

# stop_concord_server: SIGTERM (graceful drain), bounded wait.
stop_concord_server() {
  local i
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
