#!/usr/bin/env bash
# The TLS audit (docs/reliability.md "TLS audit"): testssl (Debian testssl.sh) against the real
# concord-server on 127.0.0.1, its --jsonfile findings checked by tls_audit_check.py: no protocol
# below TLS 1.2, TLS 1.3 offered, only forward-secret AEAD suites.
#   1. concord-server (its mutual-TLS gRPC port, as shipped): the check must PASS.
#   2. negative control, proving the check can fail: `openssl s_server` with the same server
#      certificate, offering TLS 1.0 to 1.3 and every suite: the check must FAIL, naming TLS 1.0.
#   3. testssl cannot present a client certificate, so `openssl s_client` checks the client side:
#      a handshake without a client certificate is refused (TLS 1.2 and TLS 1.3: the server sends
#      nothing after the client's Finished and closes the connection), and the same handshake
#      with an agency certificate gets a session the server holds open (so the refusal is the
#      missing certificate, nothing else).
# testssl runs only the protocol and cipher-per-protocol checks, bounded by `timeout`, against
# 127.0.0.1 only.
# Usage: tls_audit_test.sh CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

SERVER_BIN=${1:?usage: tls_audit_test.sh CONCORD_SERVER PKI_SH}
PKI_SH=${2:?usage}
HERE=$(cd "$(dirname "$0")" && pwd)
TESTSSL_TIMEOUT=${CONCORD_TESTSSL_TIMEOUT:-300}

command -v testssl >/dev/null || { echo "testssl not installed (Debian package testssl.sh: scripts/deps.sh)" >&2; exit 1; }

# shellcheck source=tests/integration/stack_lib.sh
source "$HERE/../integration/stack_lib.sh"
stack_setup concord-tls-audit
CONTROL_PID=""
trap 'kill -TERM $CONTROL_PID 2>/dev/null || true; stack_cleanup' EXIT

"$PKI_SH" --quiet --dir "$PKI" demo >/dev/null

# testssl TARGET_PORT JSON LOG: protocols (-p) and the suites of each protocol (-E), nothing else.
run_testssl() {
  local rc=0 started=$SECONDS
  timeout "$TESTSSL_TIMEOUT" testssl --quiet --color 0 --warnings off --nodns none \
    --connect-timeout 5 --openssl-timeout 5 -p -E --jsonfile "$2" "127.0.0.1:$1" >"$3" 2>&1 || rc=$?
  echo "   testssl on 127.0.0.1:$1: exit $rc after $((SECONDS - started)) s"
  if [ "$rc" -eq 124 ]; then
    fail "testssl did not finish within ${TESTSSL_TIMEOUT} s"
    return 1
  fi
  if [ ! -s "$2" ]; then
    fail "testssl wrote no JSON (exit $rc)"
    sed 's/^/  testssl: /' "$3" >&2
    return 1
  fi
}

# wait_port PORT: bounded (10 s) wait for a listener.
wait_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_redis
start_concord_server

echo "== 1. concord-server 127.0.0.1:$PORT: the check passes"
if run_testssl "$PORT" "$WORK/concord.json" "$WORK/concord.log"; then
  if /usr/bin/python3 "$HERE/tls_audit_check.py" "$WORK/concord.json" >"$WORK/concord.check"; then
    pass
  else
    fail "concord-server fails the TLS audit"
  fi
  sed 's/^/   /' "$WORK/concord.check"
  # What the figures in docs/reliability.md quote.
  /usr/bin/python3 - "$WORK/concord.json" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["id"] in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"):
        print(f"   {f['id']:7} {f['finding']}")
PY
fi

echo "== 2. negative control (openssl s_server offering TLS 1.0): the check fails"
CONTROL_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -quiet -accept "127.0.0.1:$CONTROL_PORT" -cert "$PKI/server/cert.pem" \
  -key "$PKI/server/key.pem" -min_protocol TLSv1 -cipher 'ALL:@SECLEVEL=0' -www \
  >"$WORK/control.server.log" 2>&1 &
CONTROL_PID=$!
if ! wait_port "$CONTROL_PORT"; then
  fail "the control server did not start"
  cat "$WORK/control.server.log" >&2
elif run_testssl "$CONTROL_PORT" "$WORK/control.json" "$WORK/control.log"; then
  rc=0
  /usr/bin/python3 "$HERE/tls_audit_check.py" "$WORK/control.json" >"$WORK/control.check" || rc=$?
  sed 's/^/   /' "$WORK/control.check"
  [ "$rc" -eq 1 ] && pass || fail "the check did not reject the TLS 1.0 control (exit $rc)"
  grep -q "VIOLATION: protocol TLS 1.0 offered" "$WORK/control.check" && pass ||
    fail "the control's rejection does not name TLS 1.0"
fi
kill -TERM "$CONTROL_PID" 2>/dev/null || true
wait "$CONTROL_PID" 2>/dev/null || true
CONTROL_PID=""

echo "== 3. openssl s_client: no client certificate, no session"
AGENCY=$PKI/agencies/police/pz-brussels-capital
# client SECONDS VERSION [CERT ARGS...]: one handshake, then s_client keeps reading (-ign_eof)
# until the server closes the connection or SECONDS pass (exit 124); -msg traces every record.
client() {
  local seconds=$1 version=$2 rc=0
  shift 2
  timeout "$seconds" openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.pem" "$version" \
    -alpn h2 -ign_eof -msg "$@" </dev/null >"$WORK/client.out" 2>&1 || rc=$?
  return $rc
}
# The handshake records the server sent after the client's Finished: TLS 1.2 its own Finished
# and a session ticket, TLS 1.3 its session tickets. A server that refuses the client's (empty)
# certificate sends none of them and closes the connection (gRPC closes without an alert).
server_records_after_client_finished() {
  awk '/^>>> .*Finished/ { seen = 1; n = 0; next }
       seen && /^<<< / && !/RecordHeader|InnerContent|Alert/ { n++ }
       END { print n + 0 }' "$WORK/client.out"
}
for version in -tls1_2 -tls1_3; do
  rc=0
  client 15 "$version" || rc=$?
  after=$(server_records_after_client_finished)
  if [ "$rc" -ne 124 ] && [ "$after" -eq 0 ] && grep -aq '^>>> .*Finished' "$WORK/client.out"; then
    pass
    echo "   $version without a client certificate: refused (the server closed the connection after the client's Finished, sending nothing more)"
  else
    fail "$version handshake without a client certificate was not refused (exit $rc, $after server records after the client's Finished)"
    sed 's/^/  s_client: /' "$WORK/client.out" >&2
  fi
  # The same handshake with an agency certificate: the server answers and holds the session
  # open (s_client is still reading after 5 s), so the refusal above is the missing certificate.
  rc=0
  client 5 "$version" -cert "$AGENCY/cert.pem" -key "$AGENCY/key.pem" || rc=$?
  after=$(server_records_after_client_finished)
  if [ "$rc" -eq 124 ] && [ "$after" -gt 0 ] && grep -aq "Verify return code: 0 (ok)" "$WORK/client.out"; then
    pass
    echo "   $version with an agency certificate: session held open ($(grep -a -m1 -oE 'New, TLSv1\.[0-9], Cipher is [A-Za-z0-9_-]+' "$WORK/client.out" || true))"
  else
    fail "$version handshake with an agency certificate did not give a session (exit $rc, $after server records after the client's Finished)"
    sed 's/^/  s_client: /' "$WORK/client.out" >&2
  fi
done

echo "tls_audit: $checks checks, $failures failures"
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
