#!/usr/bin/env bash
# End to end over real mTLS: a dev PKI (scripts/pki.sh), a real redis-server and concord-server on
# free loopback ports, driven only through concordctl: register the demo agencies, list, suspend
# (the agency's calls are refused) and reinstate, revoke a serial (refused), the policy table
# (a police certificate may not administer; every refusal is audited), the audit trail and its
# verification, including a reordered record in Redis (exit 3, naming the record) and its repair.
# Usage: concordctl_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-e2e
# poll AGENCY served|refused: concordctl health until it matches, at most 10 s.
poll() {
  local i rc
  for ((i = 0; i < 40; i++)); do
    rc=0
    "$CTL" --agency-dir "$PKI/agencies/$1" --server "127.0.0.1:$PORT" --timeout 3 health \
      >"$WORK/out" 2>"$WORK/err" || rc=$?
    if [ "$2" = served ] && [ $rc -eq 0 ]; then return 0; fi
    if [ "$2" = refused ] && [ $rc -eq 2 ]; then return 0; fi
    sleep 0.25
  done
  return 1
}

"$PKI_SH" --quiet --dir "$PKI" demo

start_redis
start_concord_server
poll admin/ops served || { cat "$WORK/server.log" >&2; echo "never SERVING" >&2; exit 1; }

echo "== the bootstrap administrator registers itself, then every demo agency"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE --language nl --language fr --specialisation thb
done < <("$PKI_SH" demo-agencies)
ctl 2 "second register is ALREADY_EXISTS" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/police/pz-brussels-capital" --jurisdiction BE
contains "ALREADY_EXISTS printed" "$ERR" "ALREADY_EXISTS"
ctl 2 "invalid jurisdiction" admin/ops "${ACCOUNT[@]}" directory register police/pz-new --jurisdiction BE-XXX
contains "field violation printed" "$ERR" "field agency.jurisdiction"
ctl 2 "a change without a justification" admin/ops --officer e2e directory register police/pz-new --jurisdiction BE
contains "justification named" "$ERR" "concord-justification"
ctl 0 "admin/ops holds its roles from its record" admin/ops directory get admin/ops
contains "roles listed" "$OUT" "directory_administrator=true"

echo "== policy: Concord's notifier identity may not administer (the reproduced attack)"
ctl 2 "the notifier may not swap a centre's key" admin/concord-referrals "${ACCOUNT[@]}" directory update reception_centre/payoke --sealing-key "$PKI/agencies/admin/concord-referrals/seal.pub"
contains "rule named" "$ERR" "denied by rule directory.administration: admin/concord-referrals (Concord service identity)"
ctl 2 "the notifier may not suspend" admin/concord-referrals "${ACCOUNT[@]}" directory suspend reception_centre/payoke --reason x
contains "PERMISSION_DENIED (suspend)" "$ERR" "PERMISSION_DENIED"

echo "== list and get"
ctl 0 "list" admin/ops --json directory list
n=$(/usr/bin/python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["agencies"]))' "$OUT")
want=$("$PKI_SH" demo-agencies | wc -l)
[ "$n" = "$want" ] && pass || fail "list returned $n agencies, want $want"
ctl 0 "list filter" admin/ops directory list --type reception_centre
[ "$(grep -c '^reception_centre/' <<<"$OUT")" = 4 ] && pass || fail "filter by type: $OUT"
ctl 0 "get" police/pz-brussels-capital directory get reception_centre/pag-asa
contains "get shows the serial" "$OUT" "$("$CTL" --agency-dir "$PKI/agencies/reception_centre/pag-asa" --json whoami |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])')"

echo "== policy: a police certificate may not administer"
ctl 2 "police may not suspend" police/pz-brussels-capital "${ACCOUNT[@]}" directory suspend reception_centre/payoke --reason x
contains "PERMISSION_DENIED" "$ERR" "PERMISSION_DENIED"
ctl 2 "police may not read the audit log" police/pz-brussels-capital audit verify
contains "PERMISSION_DENIED (audit)" "$ERR" "PERMISSION_DENIED"

echo "== suspend / reinstate"
ctl 0 "suspend" admin/ops "${ACCOUNT[@]}" directory suspend police/fgp-antwerp-thb --reason "e2e drill"
poll police/fgp-antwerp-thb refused && pass || fail "suspended agency still served after 10 s"
contains "suspended: UNAUTHENTICATED" "$(cat "$WORK/err")" "UNAUTHENTICATED"
ctl 0 "revocations list the suspension" admin/ops directory revocations
contains "suspension listed" "$OUT" "police/fgp-antwerp-thb"
ctl 0 "reinstate" admin/ops "${ACCOUNT[@]}" directory reinstate police/fgp-antwerp-thb
poll police/fgp-antwerp-thb served && pass || fail "reinstated agency still refused after 10 s"

echo "== revoke a certificate serial"
"$PKI_SH" --quiet --dir "$PKI" agency platform revoked-platform
ctl 0 "register the agency to revoke" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/platform/revoked-platform" --jurisdiction BE
poll platform/revoked-platform served && pass || fail "new agency not served"
ctl 0 "revoke" admin/ops "${ACCOUNT[@]}" directory revoke --cert-file "$PKI/agencies/platform/revoked-platform/cert.pem" --reason key_compromise
poll platform/revoked-platform refused && pass || fail "revoked certificate still served after 10 s"

echo "== audit"
ctl 0 "audit query" admin/ops --justification e2e audit query --object agency:police/fgp-antwerp-thb
contains "suspension audited" "$OUT" "Directory/SuspendAgency"
contains "officer recorded" "$OUT" "e2e"
# Every refusal by the policy table is audited (object authz:POLICY_DENIED), from a background
# writer through the audit intake: poll until the audit workload has chained them (at most 10 s).
for ((i = 0; i < 40; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --justification e2e \
    audit query --object authz:POLICY_DENIED >"$WORK/refusals" 2>/dev/null || true
  grep -qF "police/pz-brussels-capital" "$WORK/refusals" && break
  sleep 0.25
done
ctl 0 "audit query of the policy's refusals" admin/ops --justification e2e audit query \
  --object authz:POLICY_DENIED
contains "the notifier's refused key swap audited" "$OUT" "admin/concord-referrals"
contains "the refused method recorded" "$OUT" "Directory/UpdateAgency"
contains "police's refused suspension audited" "$OUT" "police/pz-brussels-capital"
ctl 0 "audit checkpoint --create" admin/ops audit checkpoint --create
ctl 0 "audit verify" admin/ops audit verify --expect-key "$PKI/audit/sign.pub"
contains "verify OK line" "$OUT" "audit chain OK:"
ctl 3 "verify with another expected key" coordination_unit/icu-thb audit verify --expect-key "$PKI/agencies/admin/ops/sign.pub"
contains "unexpected key" "$OUT" "unexpected key"

# Reorder two records in Redis: verify fails at the first of them, with exit 3.
KEY='concord:{audit}:records'
# Swaps records 3 and 4 inside Redis (binary-safe); running it twice restores the log.
SWAP="local a = redis.call('HGET', KEYS[1], '3'); local b = redis.call('HGET', KEYS[1], '4');
redis.call('HSET', KEYS[1], '3', b); redis.call('HSET', KEYS[1], '4', a); return 1"
if [ "$(redis-cli -p "$REDIS_PORT" type "$KEY")" = hash ]; then
  redis-cli -p "$REDIS_PORT" eval "$SWAP" 1 "$KEY" >/dev/null
  ctl 3 "verify detects the reordering" admin/ops audit verify
  contains "names record 3" "$OUT" "audit chain BROKEN at record 3"
  redis-cli -p "$REDIS_PORT" eval "$SWAP" 1 "$KEY" >/dev/null
  ctl 0 "verify OK after repair" admin/ops audit verify
else
  fail "audit records key $KEY is not a hash (layout changed?)"
fi

echo "concordctl_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
