#!/usr/bin/env bash
# One Redis ACL user per workload, as the shipped binaries use it (Redis with the shipped ACL
# file, scripts/redis-acl.sh): concord-server logs each module in as its own user (the server's
# Redis connections belong to concord-directory, concord-audit, concord-messaging,
# concord-referrals, concord-guidelines and concord-liaison, never to anyone else); a missing credential or one Redis refuses stops the
# binary at start with exit 2 and a message naming the flag; a per-service binary needs only its
# own workload's credential.
# Usage: redis_credentials_test.sh CONCORD_SERVER CONCORD_AUDIT PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

SERVER_BIN=${1:?usage: redis_credentials_test.sh CONCORD_SERVER CONCORD_AUDIT PKI_SH}
AUDIT_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-redis-credentials

"$PKI_SH" --quiet --dir "$PKI" server
"$PKI_SH" --quiet --dir "$PKI" audit
start_redis

common_flags=(--listen-address 127.0.0.1:0 --health-address 127.0.0.1:0
  --metrics-address 127.0.0.1:0 --tls-cert "$PKI/server/cert.pem" --tls-key "$PKI/server/key.pem"
  --tls-ca "$PKI/ca.pem" --trust-domain concord.test --redis-host 127.0.0.1
  --redis-port "$REDIS_PORT" --audit-key-file "$PKI/audit/audit.key"
  --audit-signing-key-file "$PKI/audit/sign.key")

# refused WHAT WANT-IN-STDERR ENV... -- BINARY: must exit 2 at start with WANT on stderr.
refused() {
  local what=$1 want=$2 rc=0
  shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" timeout 20 "$@" "${common_flags[@]}" >"$WORK/out" 2>"$WORK/err" || rc=$?
  if [ "$rc" -eq 2 ] && grep -qF -- "$want" "$WORK/err"; then
    pass
  else
    fail "$what: exit $rc, want 2 with '$want' on stderr: $(cat "$WORK/err")"
  fi
}

echo "== a missing credential names its flag"
refused "concord-server without the referrals password" \
  "--redis-referrals-password-file: is required" \
  -u CONCORD_REDIS_REFERRALS_PASSWORD_FILE -- "$SERVER_BIN"
echo "wrong" >"$WORK/wrong.password"
echo "== a credential Redis refuses names its flag"
refused "concord-server with a wrong audit password" \
  "--redis-audit-password-file: Redis refused the login of ACL user \"concord-audit\"" \
  "CONCORD_REDIS_AUDIT_PASSWORD_FILE=$WORK/wrong.password" -- "$SERVER_BIN"
refused "concord-audit logging in as another workload's user" \
  "Redis refused the login of ACL user \"concord-referrals\"" \
  "CONCORD_REDIS_AUDIT_USER=concord-referrals" -- "$AUDIT_BIN"
not_contains "no password in the message" "$(cat "$WORK/err")" "$(cat "$REDIS_SECRETS/concord-audit.password")"

echo "== a per-service binary needs only its own credential"
env -u CONCORD_REDIS_DIRECTORY_PASSWORD_FILE -u CONCORD_REDIS_MESSAGING_PASSWORD_FILE \
  -u CONCORD_REDIS_REFERRALS_PASSWORD_FILE -u CONCORD_REDIS_GUIDELINES_PASSWORD_FILE \
  -u CONCORD_REDIS_LIAISON_PASSWORD_FILE "$AUDIT_BIN" "${common_flags[@]}" \
  >"$WORK/audit.log" 2>&1 &
AUDIT_PID=$!
for ((i = 0; i < 100; i++)); do
  grep -q '"server.started"' "$WORK/audit.log" && break
  kill -0 "$AUDIT_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q '"server.started"' "$WORK/audit.log" && pass || fail "concord-audit did not start: $(tail -5 "$WORK/audit.log")"
kill -TERM "$AUDIT_PID" 2>/dev/null || true
wait "$AUDIT_PID" 2>/dev/null || true

echo "== concord-server: every module on its own ACL user"
start_concord_server
users=""
for ((i = 0; i < 100; i++)); do
  users=$(redis-cli -p "$REDIS_PORT" client list | sed -n 's/.* user=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')
  [[ $users == *concord-audit*concord-directory*concord-guidelines*concord-liaison*concord-messaging*concord-referrals* ]] && break
  sleep 0.1
done
equal "Redis users of concord-server's connections (and this test's admin)" "$users" \
  "concord-audit concord-directory concord-guidelines concord-liaison concord-messaging concord-referrals concord-test-admin "

echo "redis_credentials_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
