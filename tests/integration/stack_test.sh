#!/usr/bin/env bash
# End-to-end test of the shipped binaries, as an operator and an agency system would use them:
# a real redis-server (AOF) on a free loopback port, a dev PKI from scripts/pki.sh, the real
# concord-server binary on free ports, driven by concordctl and by an independent Python grpcio
# client (tests/integration/grpc_probe.py), plus curl on /metrics.
#
# Usage: stack_test.sh REPO_ROOT CONCORD_SERVER CONCORDCTL
# Checks (each prints "ok: ..." or fails the test):
#   health SERVING on mTLS and plaintext ports; reflection lists concord.* services; a call without
#   client certificate is refused; bad input -> INVALID_ARGUMENT with BadRequest details;
#   a police agency cannot register agencies (PERMISSION_DENIED naming the rule);
#   suspension refuses the agency's calls within 5 s (UNAUTHENTICATED), reinstatement restores them;
#   a revoked certificate serial is refused; /metrics shows grpc_server_handled_total with codes;
#   audit verify OK, then a record altered in Redis makes verify exit 3 naming that record;
#   Redis stopped -> calls fail fast with UNAVAILABLE; Redis back -> calls succeed, no restart;
#   SIGTERM -> the server drains and exits 0.
set -euo pipefail

REPO=$(cd "$1" && pwd)
SERVER_BIN=$2
CTL_BIN=$3
WORK=$(mktemp -d /tmp/concord-stack.XXXXXX)
SERVER_PID=""
REDIS_PID=""

cleanup() {
  local rc=$?
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "---- concord-server log (tail) ----"; tail -n 40 "$WORK/server.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# shellcheck source=tests/integration/ports_lib.sh
source "$REPO/tests/integration/ports_lib.sh"

# Bounded wait: run "$@" until it succeeds, at most $TRIES times, 0.1 s apart.
redis_ping() { redis-cli -p "$REDIS_PORT" ping | grep -q PONG; }
wait_until() {
  local tries=$1; shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# Redis with the shipped ACL; each module of concord-server logs in as its own workload user.
# shellcheck source=tests/integration/redis_acl_lib.sh
source "$REPO/tests/integration/redis_acl_lib.sh"
redis_acl_setup "$WORK/redis-acl"

REDIS_PORT=$(free_port)
GRPC_PORT=$(free_port)
HEALTH_PORT=$(free_port)
METRICS_PORT=$(free_port)

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes \
    --appendfsync everysec --save "" --daemonize no --aclfile "$REDIS_ACL_FILE" \
    >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_until 100 redis_ping || fail "redis did not start"
}
stop_redis() {
  kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""
}
start_redis

PKI=$WORK/pki
CONCORD_PKI_DIR=$PKI bash "$REPO/scripts/pki.sh" --quiet demo >/dev/null
ok "dev PKI created"

"$SERVER_BIN" --listen-address "127.0.0.1:$GRPC_PORT" --health-address "127.0.0.1:$HEALTH_PORT" \
  --metrics-address "127.0.0.1:$METRICS_PORT" --tls-cert "$PKI/server/cert.pem" \
  --tls-key "$PKI/server/key.pem" --tls-ca "$PKI/ca.pem" --trust-domain concord.test \
  --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key" \
  --audit-signing-key-file "$PKI/audit/sign.key" --bootstrap-directory-admins admin/ops \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ctl() { # ctl <type/id> args...
  local agency=$1; shift
  "$CTL_BIN" --server "127.0.0.1:$GRPC_PORT" --ca "$PKI/ca.pem" \
    --agency-dir "$PKI/agencies/$agency" --timeout 5 "$@"
}
wait_until 100 ctl admin/ops health || fail "server not SERVING within 10 s"
ok "concord-server SERVING"

# Independent client: health on both ports, reflection, no client cert, rich error details.
/usr/bin/python3 "$REPO/tests/integration/grpc_probe.py" --repo "$REPO" \
  --target "127.0.0.1:$GRPC_PORT" --server-name localhost --health-target "127.0.0.1:$HEALTH_PORT" --ca "$PKI/ca.pem" \
  --cert "$PKI/agencies/admin/ops/cert.pem" --key "$PKI/agencies/admin/ops/key.pem" \
  --expect-service concord.directory.v1.Directory --expect-service concord.audit.v1.Audit --expect-service concord.messaging.v1.Messaging \
  --expect-service concord.referrals.v1.Referrals --expect-service concord.liaison.v1.Liaison \
  health reflect noclient badreq || fail "grpc_probe"

# Register the demo agencies: admin/ops first, as directory administrator and audit reviewer
# (allowed by --bootstrap-directory-admins on the empty directory; the grant then ends).
ACCOUNT=(--officer stack-test --justification "stack test")
ctl admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/admin/ops" \
  --jurisdiction BE --attribute directory_administrator=true --attribute audit_reviewer=true \
  >/dev/null || fail "register admin/ops"
for dir in "$PKI"/agencies/*/*; do
  agency=${dir#"$PKI/agencies/"}
  [ "$agency" = admin/ops ] && continue
  ctl admin/ops "${ACCOUNT[@]}" directory register --from-pki "$dir" --jurisdiction BE >/dev/null \
    || fail "register $agency"
done
ok "registered $(ls -d "$PKI"/agencies/*/* | wc -l) agencies"

# Independent client on referrals (Python grpcio): policy refusal, field-level errors, a draft.
/usr/bin/python3 "$REPO/tests/integration/grpc_probe.py" --repo "$REPO" \
  --target "127.0.0.1:$GRPC_PORT" --server-name localhost --ca "$PKI/ca.pem" \
  --cert "$PKI/agencies/admin/ops/cert.pem" --key "$PKI/agencies/admin/ops/key.pem" \
  --alt-cert "$PKI/agencies/police/pz-brussels-capital/cert.pem" \
  --alt-key "$PKI/agencies/police/pz-brussels-capital/key.pem" referrals || fail "grpc_probe referrals"

# Policy: police may not register agencies.
set +e
out=$(ctl police/pz-brussels-capital "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/police/fgp-antwerp-thb" --jurisdiction BE 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || fail "police register: expected exit 2, got $rc: $out"
grep -q "PERMISSION_DENIED" <<<"$out" || fail "police register not PERMISSION_DENIED: $out"
grep -q "directory.administration" <<<"$out" || fail "denial does not name the rule: $out"
ok "police RegisterAgency -> PERMISSION_DENIED naming the rule"

# Suspension takes effect within 5 s, reinstatement restores.
ctl police/pz-brussels-capital directory get police/pz-brussels-capital >/dev/null || fail "police get"
ctl admin/ops "${ACCOUNT[@]}" directory suspend police/pz-brussels-capital --reason "test suspension" >/dev/null
refused() { ! ctl police/pz-brussels-capital directory get police/pz-brussels-capital >/dev/null 2>&1; }
wait_until 50 refused || fail "suspended agency still served after 5 s"
out=$(ctl police/pz-brussels-capital directory get police/pz-brussels-capital 2>&1 || true)
grep -q UNAUTHENTICATED <<<"$out" || fail "suspended agency not UNAUTHENTICATED: $out"
ctl admin/ops "${ACCOUNT[@]}" directory reinstate police/pz-brussels-capital >/dev/null
wait_until 50 ctl police/pz-brussels-capital directory get police/pz-brussels-capital \
  || fail "reinstated agency still refused after 5 s"
ok "suspension refused within 5 s (UNAUTHENTICATED), reinstatement restored"

# Revoked serial.
ctl admin/ops "${ACCOUNT[@]}" directory revoke --cert-file "$PKI/agencies/platform/example-platform/cert.pem" \
  --reason key_compromise >/dev/null
refused_platform() { ! ctl platform/example-platform directory get platform/example-platform >/dev/null 2>&1; }
wait_until 50 refused_platform || fail "revoked certificate still served after 5 s"
ok "revoked certificate serial refused"

# Metrics: handled counters with go-grpc-prometheus code names.
metrics=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics") || fail "/metrics"
# A series with every given substring (no pipes: with pipefail an early-exiting grep -q can
# make the writer fail with SIGPIPE).
has_series() {
  local line part found
  while IFS= read -r line; do
    found=1
    for part in "$@"; do [[ $line == *"$part"* ]] || { found=0; break; }; done
    [ $found -eq 1 ] && return 0
  done <<<"$metrics"
  return 1
}
has_series 'grpc_server_handled_total{' 'grpc_method="RegisterAgency"' 'grpc_code="OK"' \
  || fail "no OK RegisterAgency in grpc_server_handled_total"
has_series 'grpc_server_handled_total{' 'grpc_code="PermissionDenied"' \
  || fail "no PermissionDenied in grpc_server_handled_total"
grep -q '^grpc_server_handling_seconds_bucket' <<<"$metrics" || fail "no handling histogram"
curl -sf "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null || fail "/readyz not ready"
ok "/metrics has grpc_server_* with OK and PermissionDenied"

# Audit chain verifies, then detects an altered record.
ctl admin/ops audit verify >/dev/null || fail "audit verify on an untouched log"
seq=$(redis-cli -p "$REDIS_PORT" hkeys 'concord:{audit}:records' | sort -n | sed -n 3p)
[ -n "$seq" ] || fail "no audit records in Redis"
# Flip the last byte of that stored record, in place.
redis-cli -p "$REDIS_PORT" eval "local v=redis.call('HGET',KEYS[1],ARGV[1]); local b=string.byte(v,#v); redis.call('HSET',KEYS[1],ARGV[1],string.sub(v,1,#v-1)..string.char((b+1)%256)); return 1" 1 'concord:{audit}:records' "$seq" >/dev/null
set +e
out=$(ctl admin/ops audit verify 2>&1)
rc=$?
set -e
[ $rc -eq 3 ] || fail "tampered audit verify: expected exit 3, got $rc: $out"
grep -q "record $seq" <<<"$out" || fail "verify does not name record $seq: $out"
ok "audit verify detects the altered record $seq (exit 3)"

# Redis down: fail fast with UNAVAILABLE; back: works without restarting the server.
stop_redis
start=$(date +%s%N)
out=$(ctl admin/ops directory get admin/ops 2>&1 || true)
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q UNAVAILABLE <<<"$out" || fail "Redis down: expected UNAVAILABLE, got: $out"
[ "$elapsed_ms" -lt 3000 ] || fail "Redis down: call took ${elapsed_ms} ms"
ok "Redis down -> UNAVAILABLE in ${elapsed_ms} ms"
redis_gauge() {
  local m
  m=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics") || return 1
  grep -q "^concord_dependency_up{dependency=\"redis\"} $1" <<<"$m"
}
wait_until 50 redis_gauge 0 || fail "concord_dependency_up{dependency=\"redis\"} did not drop to 0"
ok "concord_dependency_up{dependency=\"redis\"} 0 while Redis is down"
start_redis
wait_until 100 ctl admin/ops directory get admin/ops || fail "not recovered after Redis restart"
wait_until 50 redis_gauge 1 || fail "concord_dependency_up{dependency=\"redis\"} did not return to 1"
ok "Redis back -> calls succeed without restarting the server"

# Graceful shutdown.
kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"; rc=$?
set -e
SERVER_PID=""
[ $rc -eq 0 ] || fail "server exit code after SIGTERM: $rc"
ok "SIGTERM -> drained, exit 0"
echo "stack test: all checks passed"
