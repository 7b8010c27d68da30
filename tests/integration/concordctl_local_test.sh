#!/usr/bin/env bash
# concordctl without a server: identity of local certificates (whoami), the documented exit codes
# for usage errors (1), unreachable servers (2) and bad local files (4), and --json output.
# Usage: concordctl_local_test.sh /path/to/concordctl /path/to/scripts/pki.sh
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_local_test.sh CONCORDCTL PKI_SH}
PKI_SH=${2:?usage: concordctl_local_test.sh CONCORDCTL PKI_SH}
# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh" # pass, fail, stack_setup (no server here)
stack_setup concordctl-test
# expect_rc WANT DESCRIPTION ARGS...: runs concordctl, checks the exit code; output in $OUT/$ERR.
expect_rc() {
  local want=$1 what=$2 rc=0
  shift 2
  "$CTL" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
  if [ "$rc" -eq "$want" ]; then
    pass
  else
    fail "$what: exit $rc, want $want (concordctl $*)"
    sed 's/^/  stdout: /' "$WORK/out" >&2
    sed 's/^/  stderr: /' "$WORK/err" >&2
  fi
}
contains() {  # contains DESCRIPTION HAYSTACK NEEDLE
  if grep -qF -- "$3" <<<"$2"; then pass; else fail "$1: no '$3' in: $2"; fi
}

"$PKI_SH" --quiet --dir "$PKI" server
"$PKI_SH" --quiet --dir "$PKI" agency police pz-test
"$PKI_SH" --quiet --dir "$PKI" agency admin ops
A=$PKI/agencies/police/pz-test
SERIAL=$(openssl x509 -in "$A/cert.pem" -noout -serial | sed 's/^serial=//; s/^0*//')

# whoami
expect_rc 0 "whoami" --agency-dir "$A" whoami
[ "$(head -n 1 <<<"$OUT")" = "spiffe://concord.test/agency/police/pz-test" ] && pass ||
  fail "whoami first line: $OUT"
contains "whoami serial" "$OUT" "$SERIAL"
expect_rc 0 "whoami --cert" --cert "$A/cert.pem" whoami
contains "whoami --cert" "$OUT" "police/pz-test"
CONCORD_AGENCY_DIR=$A expect_rc 0 "whoami from CONCORD_AGENCY_DIR" whoami
contains "env agency dir" "$OUT" "spiffe://concord.test/agency/police/pz-test"
expect_rc 1 "whoami without a certificate" whoami --json
expect_rc 0 "whoami --json" --agency-dir "$A" --json whoami
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["spiffe_id"] == "spiffe://concord.test/agency/police/pz-test", d
assert d["type"] == "police" and d["id"] == "pz-test", d
assert d["serial"] == sys.argv[2], (d["serial"], sys.argv[2])
assert d["uri_sans"] == ["spiffe://concord.test/agency/police/pz-test"], d
' "$OUT" "$SERIAL" && pass || fail "whoami --json content: $OUT"
expect_rc 0 "global flags after the command" whoami --agency-dir "$A" --json
# The server certificate is not an agency identity.
expect_rc 4 "whoami on a non-agency certificate" --cert "$PKI/server/cert.pem" whoami
contains "non-agency reason" "$ERR" "not a valid agency identity"

# usage errors: 1
expect_rc 1 "no command"
expect_rc 1 "unknown command" frobnicate
expect_rc 1 "unknown flag" --frobnicate health
expect_rc 1 "no certificate" health
contains "no certificate message" "$ERR" "--agency-dir"
expect_rc 1 "timeout 0" --agency-dir "$A" --timeout 0 health
contains "timeout message" "$ERR" "--timeout"
expect_rc 1 "non-ASCII officer" --agency-dir "$A" --officer "agent é" health
expect_rc 1 "bad agency type" --agency-dir "$PKI/agencies/admin/ops" directory get detective/x
contains "bad type message" "$ERR" "unknown agency type"
expect_rc 1 "bad agency id" --agency-dir "$PKI/agencies/admin/ops" directory register --type police --id Bad_Id
expect_rc 1 "suspend without reason" --agency-dir "$PKI/agencies/admin/ops" directory suspend police/pz-test
expect_rc 1 "revoke bad serial" --agency-dir "$PKI/agencies/admin/ops" directory revoke XYZ --reason superseded
expect_rc 1 "audit query bad time" --agency-dir "$PKI/agencies/admin/ops" audit query --from yesterday
expect_rc 1 "audit query two selectors" --agency-dir "$PKI/agencies/admin/ops" audit query --object a --agency police/x
expect_rc 1 "register: from-pki disagrees" --agency-dir "$PKI/agencies/admin/ops" directory register police/other --from-pki "$A"
expect_rc 1 "json usage error" --json --agency-dir "$A" --timeout -1 health
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["error"]["code"]=="USAGE", d' "$ERR" &&
  pass || fail "usage error as JSON: $ERR"

# help: 0, with the exit codes
expect_rc 0 "--help" --help
contains "help footer" "$OUT" "Exit codes:"
contains "help footer 3" "$OUT" "3  verification failed"
for cmd in "health" "whoami" "directory register" "directory update" "directory suspend" \
  "directory reinstate" "directory revoke" "directory get" "directory list" \
  "directory revocations" "audit query" "audit verify" "audit checkpoint" "message" \
  "message send" "message inbox" "message read" "message ack" "message receipts" \
  "message watch" "message forward" "message grant" "liaison" "liaison create" "liaison list" \
  "liaison show" "liaison act" "liaison jit" "liaison jit watch" "liaison link-notification"; do
  # shellcheck disable=SC2086  # split the command words
  expect_rc 0 "$cmd --help" $cmd --help
done

# local file errors: 4
expect_rc 4 "missing certificate file" --cert "$WORK/none.pem" --key "$A/key.pem" --ca "$PKI/ca.pem" health
contains "missing file named" "$ERR" "none.pem"
expect_rc 4 "key of another agency" --cert "$A/cert.pem" --key "$PKI/agencies/admin/ops/key.pem" --ca "$PKI/ca.pem" health
contains "mismatch message" "$ERR" "does not match"
echo "garbage" >"$WORK/garbage.pem"
expect_rc 4 "CA not a certificate" --agency-dir "$A" --ca "$WORK/garbage.pem" health
expect_rc 4 "register: missing sealing key" --agency-dir "$PKI/agencies/admin/ops" directory register police/x --sealing-key "$WORK/none.pub"
expect_rc 4 "register: wrong key type" --agency-dir "$PKI/agencies/admin/ops" directory register police/x --signing-key "$A/seal.pub"
contains "wrong key type message" "$ERR" "ED25519"

# message: flag errors are 1, key and file errors 4, before any RPC
M=(--agency-dir "$A" --server 127.0.0.1:1 --timeout 5 message)
expect_rc 1 "message send without --to" "${M[@]}" send --handling H0 --body x
expect_rc 1 "message send without --handling" "${M[@]}" send --to police/x --body x
expect_rc 1 "message send with H4" "${M[@]}" send --to police/x --handling H4 --body x
contains "handling flag named" "$ERR" "--handling"
expect_rc 1 "message send: --source without --accuracy" "${M[@]}" send --to police/x --handling H0 --source A --body x
expect_rc 1 "message send: bad --expires-in" "${M[@]}" send --to police/x --handling H0 --expires-in 1y --body x
TO=()
for i in $(seq 65); do TO+=(--to "police/p$i"); done
expect_rc 1 "message send: 65 recipients" "${M[@]}" send "${TO[@]}" --handling H0 --body x
contains "recipient limit" "$ERR" "at most 64"
expect_rc 1 "message send: duplicate recipient" "${M[@]}" send --to police/x --to police/x --handling H0 --body x
expect_rc 1 "message read: malformed id" "${M[@]}" read ../etc
expect_rc 1 "message watch: negative --max" "${M[@]}" watch --max -1
expect_rc 1 "message watch: negative --max-retries" "${M[@]}" watch --max-retries -1
expect_rc 1 "message ack: no id" "${M[@]}" ack
expect_rc 4 "message send: missing body file" "${M[@]}" send --to police/x --handling H0 --body-file "$WORK/none.txt"
expect_rc 4 "message send: missing signing key" "${M[@]}" --signing-key "$WORK/none.key" send --to police/x --handling H0 --body x
contains "key file named" "$ERR" "none.key"
expect_rc 4 "message read: sealing key of the wrong type" "${M[@]}" read 0123456789abcdef --sealing-key-file "$A/sign.key"
contains "X25519 named" "$ERR" "X25519"
expect_rc 2 "message send: unreachable server" "${M[@]}" send --to police/x --handling H0 --body x
contains "UNAVAILABLE printed (message)" "$ERR" "UNAVAILABLE"
expect_rc 2 "message watch: unreachable server, bounded resumes" "${M[@]}" watch --max-retries 2
contains "watch resumed" "$ERR" "resuming in"
contains "watch gave up" "$ERR" "gave up after 2 failed resumes in a row"

# RPC failures: 2 (nothing listens on port 1), with the code printed
expect_rc 2 "unreachable server" --agency-dir "$A" --server 127.0.0.1:1 --timeout 5 health
contains "UNAVAILABLE printed" "$ERR" "UNAVAILABLE"
expect_rc 2 "unreachable server (plaintext)" --server 127.0.0.1:1 --timeout 5 health --plaintext
expect_rc 2 "unreachable server, json" --agency-dir "$A" --server 127.0.0.1:1 --timeout 5 --json directory list
python3 -c '
import json, sys
e = json.loads(sys.argv[1])["error"]
assert e["code"] == "UNAVAILABLE" and e["code_number"] == 14 and e["rpc"] == "ListAgencies", e
' "$ERR" && pass || fail "RPC error as JSON: $ERR"

echo "concordctl_local_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
