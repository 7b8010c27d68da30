#!/usr/bin/env bash
# Liaison end to end over real mTLS, driven only through `concordctl liaison` (and `message inbox`
# for the notifications): a dev PKI (scripts/pki.sh), a real redis-server and concord-server
# (hosting the liaison module with its notifier identity admin/concord-liaison) on free loopback
# ports. A prosecutor's content-data production order is refused (JUDGE_REQUIRED); an
# investigating judge's emergency order runs an exact 8-hour clock, reaches the platform's inbox
# at once as a notification from admin/concord-liaison, is seen and answered by that platform only
# (another platform: NOT_FOUND), with an evidence list signed here (a signature by another key:
# BAD_SIGNATURE); an EIO to a partner is acknowledged and recognised, its days end at the end of a
# Brussels day, a stale --expected-version is ABORTED and a move of the wrong party refused; a
# joint investigation team shares evidence and a member that leaves loses its open watch at once
# (exit 2 NOT_A_JIT_MEMBER) and its next read. The independent Python client (grpc_probe.py
# liaison) fetches the answered order through reflection and verifies the platform's signature
# over its evidence list with the bytes docs/liaison.md defines.
# Usage: concordctl_liaison_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH REPO
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_liaison_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
REAL_SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}
REPO=${4:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-liaison-e2e

"$PKI_SH" --quiet --dir "$PKI" demo
"$PKI_SH" --quiet --dir "$PKI" agency magistrate ij-bruxelles
"$PKI_SH" --quiet --dir "$PKI" agency platform other-platform

SERVER_BIN=$WORK/concord-server-with-notifier
cat >"$SERVER_BIN" <<WRAP
#!/usr/bin/env bash
exec "$REAL_SERVER_BIN" "\$@" --liaison-notifier-dir "$PKI/agencies/admin/concord-liaison" \
  --notifier-secret-file "$PKI/notifier/notifier.secret"
WRAP
chmod +x "$SERVER_BIN"

start_redis
start_concord_server
for ((i = 0; i < 40; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --timeout 3 health \
    >/dev/null 2>&1 && break
  sleep 0.25
done

PROSECUTOR=magistrate/parquet-bruxelles-thb
JUDGE=magistrate/ij-bruxelles
PLATFORM=platform/example-platform
OTHER_PLATFORM=platform/other-platform
PARTNER=foreign_partner/europol
POLICE=police/pz-brussels-capital
SOCIAL=social_inspection/rsz-onss-brussels

echo "== register the agencies (keys from the PKI); magistrate roles from the directory"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  extra=()
  [ "$a" = "$PROSECUTOR" ] && extra=(--attribute magistrate_role=prosecutor)
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE "${extra[@]}"
done < <("$PKI_SH" demo-agencies)
ctl 0 "register $JUDGE" admin/ops "${ACCOUNT[@]}" directory register \
  --from-pki "$PKI/agencies/$JUDGE" --jurisdiction BE-BRU --attribute magistrate_role=investigating_judge
ctl 0 "register $OTHER_PLATFORM" admin/ops "${ACCOUNT[@]}" directory register \
  --from-pki "$PKI/agencies/$OTHER_PLATFORM" --jurisdiction BE

echo "== --help"
ctl 0 "liaison --help" "$JUDGE" liaison --help
contains "liaison help lists create" "$OUT" "create"
contains "liaison help has an example" "$OUT" "liaison create"
ctl 0 "liaison act --help" "$JUDGE" liaison act --help
contains "act help lists the moves" "$OUT" "confirm_preservation"

echo "== who may order what: a prosecutor's content-data order is refused"
ctl 2 "prosecutor orders content" "$PROSECUTOR" liaison create --type production_order \
  --executor "$PLATFORM" --data-category content --offence-max-years 5
contains "JUDGE_REQUIRED" "$ERR" "JUDGE_REQUIRED"
ctl 1 "an unknown type is a usage error" "$JUDGE" liaison create --type order66 --executor "$PLATFORM"
contains "the accepted types are listed" "$ERR" "production_order"

echo "== an emergency production order: an exact 8-hour clock"
ctl 0 "judge orders content in an emergency" "$JUDGE" --json liaison create \
  --type production_order --executor "$PLATFORM" --data-category content --offence-max-years 5 \
  --emergency --do-not-inform-user --case-reference BXL.12.34/2026
ORDER=$(json 'd["request"]["request_id"]')
equal "issued" "$(json 'd["request"]["state"]')" "REQUEST_STATE_ISSUED"
equal "an 8-hour clock" "$(json 'd["request"]["clocks"][0]["period_hours"]')" "8"
created=$(json 'd["request"]["created_at"]')
due=$(json 'd["request"]["clocks"][0]["due_at"]')
hours=$(/usr/bin/python3 -c 'import sys,datetime as t
p=lambda s: t.datetime.fromisoformat(s.replace("Z","+00:00"))
print((p(sys.argv[2])-p(sys.argv[1])).total_seconds()/3600)' "$created" "$due")
equal "due exactly 8 hours after the order" "$hours" "8.0"

echo "== the platform's round-the-clock contact is notified at once, by admin/concord-liaison"
NOTE=""
for ((i = 0; i < 60; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/$PLATFORM" --server "127.0.0.1:$PORT" --json message inbox \
    >"$WORK/inbox" 2>/dev/null || true
  NOTE=$(/usr/bin/python3 -c 'import json,sys
try:
    d=json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
for e in d.get("entries", []):
    if e["sender"] == "admin/concord-liaison":
        print(e["message_id"]); break' "$WORK/inbox")
  [ -n "$NOTE" ] && break
  sleep 0.25
done
if [ -n "$NOTE" ]; then pass; else
  fail "no notification from admin/concord-liaison in the inbox of $PLATFORM"
  grep -i "liaison" "$WORK/server.log" | tail -n 20 >&2 || true
fi

echo "== platforms see only the orders addressed to them"
ctl 0 "the platform lists its order" "$PLATFORM" liaison list
contains "the order is listed" "$OUT" "$ORDER"
ctl 0 "another platform lists" "$OTHER_PLATFORM" liaison list
not_contains "not the other platform's" "$OUT" "$ORDER"
ctl 2 "another platform cannot show it" "$OTHER_PLATFORM" liaison show "$ORDER"
contains "NOT_FOUND" "$ERR" "NOT_FOUND"
SHA=$(printf 'evidence package' | sha256sum | cut -d' ' -f1)
ctl 2 "another platform cannot answer it" "$OTHER_PLATFORM" liaison act "$ORDER" answer \
  --evidence "msg-evidence-000001:$SHA:16"
contains "NOT_FOUND" "$ERR" "NOT_FOUND"
ctl 2 "an evidence list signed with another key" "$PLATFORM" liaison act "$ORDER" answer \
  --evidence "msg-evidence-000001:$SHA:16" --signing-key "$PKI/agencies/$OTHER_PLATFORM/sign.key"
contains "BAD_SIGNATURE" "$ERR" "BAD_SIGNATURE"
ctl 0 "the platform answers with a signed evidence list" "$PLATFORM" liaison act "$ORDER" answer \
  --evidence "msg-evidence-000001:$SHA:16"
contains "answered" "$OUT" "answered"
contains "the evidence is listed with its SHA-256" "$OUT" "$SHA"
ctl 0 "the judge reads the history" "$JUDGE" liaison show "$ORDER"
contains "history: answer" "$OUT" "answer"

echo "== the independent Python client: through reflection, the signed evidence list from the docs"
A=$PKI/agencies/$JUDGE
if /usr/bin/python3 "$REPO/tests/integration/grpc_probe.py" --repo "$REPO" \
  --target "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --cert "$A/cert.pem" --key "$A/key.pem" \
  --request-id "$ORDER" liaison >"$WORK/probe.out" 2>&1; then
  pass
  cat "$WORK/probe.out"
else
  fail "grpc_probe liaison: $(cat "$WORK/probe.out")"
fi

echo "== an EIO to a partner: acknowledged, recognised; days end at the end of a Brussels day"
ctl 0 "judge issues an EIO" "$JUDGE" --json liaison create --type eio --executor "$PARTNER"
EIO=$(json 'd["request"]["request_id"]')
equal "executor time zone" "$(json 'd["request"]["executor_time_zone"]')" "Europe/Brussels"
local_due=$(json 'd["request"]["clocks"][0]["due_at"]')
midnight=$(TZ=Europe/Brussels date -d "$local_due" +%H:%M:%S)
equal "the acknowledgement is due at the end of a Brussels day" "$midnight" "00:00:00"
ctl 0 "show (text) names the zone" "$JUDGE" liaison show "$EIO"
contains "local due time" "$OUT" "Europe/Brussels"
ctl 2 "the issuer cannot acknowledge" "$JUDGE" liaison act "$EIO" acknowledge
contains "WRONG_PARTY" "$ERR" "WRONG_PARTY"
ctl 0 "the partner acknowledges" "$PARTNER" liaison act "$EIO" acknowledge
ctl 2 "a stale expected version" "$PARTNER" liaison act "$EIO" recognise --expected-version 1
contains "ABORTED" "$ERR" "ABORTED"
ctl 0 "the partner recognises" "$PARTNER" --json liaison act "$EIO" recognise
equal "recognised" "$(json 'd["request"]["state"]')" "REQUEST_STATE_RECOGNISED"
equal "the 90 days of execution run" "$(json 'd["request"]["clocks"][0]["period_days"]')" "90"
ctl 1 "refuse needs a known reason code" "$PARTNER" liaison act "$EIO" refuse --reason maybe
ctl 0 "the partner lists it as recognised" "$PARTNER" liaison list --type eio --state recognised
contains "listed" "$OUT" "$EIO"

echo "== a joint investigation team: evidence shared; leaving ends access at once"
ctl 0 "police creates a team" "$POLICE" --json liaison jit create --reference JIT-BE-EU-2026-01 \
  --member "$PARTNER" --member "$SOCIAL"
JIT=$(json 'd["jit"]["jit_id"]')
"$CTL" --agency-dir "$PKI/agencies/$PARTNER" --server "127.0.0.1:$PORT" liaison jit watch "$JIT" \
  --duration 60s >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
ESHA=$(printf 'envelope' | sha256sum | cut -d' ' -f1)
ctl 0 "police shares evidence with the partner" "$POLICE" liaison jit share "$JIT" --kind evidence \
  --message msg-jit-evidence-01 --envelope-sha256 "$ESHA" --evidence "msg-jit-evidence-01:$SHA:16" --to "$PARTNER"
contains "the ledger entry names the SHA-256" "$OUT" "$SHA"
for ((i = 0; i < 80; i++)); do
  grep -q "evidence by $POLICE" "$WORK/watch.out" 2>/dev/null && break
  sleep 0.25
done
contains "the partner's watch sees the evidence" "$(cat "$WORK/watch.out")" "evidence by $POLICE"
ctl 2 "a platform cannot be a recipient" "$POLICE" liaison jit share "$JIT" --message msg-jit-evidence-02 \
  --envelope-sha256 "$ESHA" --to "$PLATFORM"
contains "RECIPIENT_NOT_A_MEMBER" "$ERR" "RECIPIENT_NOT_A_MEMBER"
ctl 0 "the partner leaves" "$PARTNER" liaison jit leave "$JIT"
rc=0
for ((i = 0; i < 40; i++)); do
  kill -0 "$WATCH_PID" 2>/dev/null || break
  sleep 0.25
done
wait "$WATCH_PID" || rc=$?
WATCH_PID=""
equal "the open watch ended with exit 2" "$rc" 2
contains "NOT_A_JIT_MEMBER" "$(cat "$WORK/watch.err")" "NOT_A_JIT_MEMBER"
ctl 2 "the partner can no longer read the ledger" "$PARTNER" liaison jit entries "$JIT"
ctl 0 "the social inspection still reads it" "$SOCIAL" liaison jit entries "$JIT"
contains "the departure is in the ledger" "$OUT" "member_left"

echo "== the platform desk: a DSA notification linked to a case"
ctl 0 "police links a notification" "$POLICE" liaison link-notification --message msg-dsa-notify-0001 \
  --case-reference BXL.99.01/2026 --platform "$PLATFORM"
ctl 0 "police lists the links" "$POLICE" liaison linked-notifications --case-reference BXL.99.01/2026
contains "linked" "$OUT" "msg-dsa-notify-0001"

echo "concordctl_liaison_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
