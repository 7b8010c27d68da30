#!/usr/bin/env bash
# Secure messaging end to end over real mTLS, driven only through `concordctl message`: a dev PKI
# (scripts/pki.sh), a real redis-server and concord-server (hosting Messaging) on free loopback
# ports. Police seals and signs a message with an attachment to a reception centre and a
# magistrate; both read it (signature verified, body and attachment SHA-256 equal); the sender
# sees verified receipts; an H2 forward without the provider's permission is PERMISSION_DENIED
# (exit 2), with it the forward arrives, and a forward of the forward needs the ORIGINAL
# provider's permission; a tampered envelope gives exit 3; an attachment named
# passport-Maria-Exemplaria.pdf is accepted and neither "Maria" nor "Exemplaria" appears in any
# Redis key or value, any line of the server's log or the metrics (envelope v2 seals names); a
# case reference that is a name is refused; an independent Python client written from the docs
# (grpc_probe.py messaging) sends v2 that concordctl reads and verifies v2 that concordctl sent;
# a scan of every Redis key finds no plaintext; `message watch` resumes across a server restart
# and stops (exit 2, CERTIFICATE_REVOKED) when its certificate is revoked, which is audited; the
# audit chain verifies.
# Usage: concordctl_message_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH [REPO]
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_message_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}
REPO=${4:-$(cd "$(dirname "$0")/../.." && pwd)}

CTL_TIMEOUT=20 # attachments of several MB
# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-msg-e2e

"$PKI_SH" --quiet --dir "$PKI" demo

start_redis
start_concord_server
for ((i = 0; i < 40; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --timeout 3 health \
    >/dev/null 2>&1 && break
  sleep 0.25
done

POLICE=police/pz-brussels-capital
PAGASA=reception_centre/pag-asa
MAGISTRATE=magistrate/parquet-bruxelles-thb
PAYOKE=reception_centre/payoke

echo "== register the demo agencies (keys from the PKI)"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done < <("$PKI_SH" demo-agencies)

# Plaintext markers: none of them may ever appear in Redis.
BODY_MARK="BODY-PLAINTEXT-$RANDOM$RANDOM-victim-statement"
BODY="Victim V-17 identified at address X. $BODY_MARK. Interview planned Monday."
ATT_MARK="ATTACHMENT-PLAINTEXT-$RANDOM$RANDOM"
ATT=$WORK/pv-2026-0042.txt
{
  echo "$ATT_MARK: proces-verbaal"
  head -c 2500000 /dev/urandom | base64 -w 100  # > 2 chunks of 1 MiB
} >"$ATT"
ATT_SHA=$(sha256sum "$ATT" | cut -d' ' -f1)

echo "== police sends a sealed H1 message with an attachment to a reception centre and a magistrate"
ctl 0 "send" "$POLICE" --officer insp-e2e --json message send --to "$PAGASA" --to "$MAGISTRATE" \
  --handling H1 --source B --accuracy 2 --thread op-e2e --case-ref E2E-2026-0001 \
  --expires-in 7d --body "$BODY" --attach "$ATT"
ID=$(json 'd["message_id"]')
equal "first send is not a duplicate" "$(json 'd["duplicate"]')" "False"
equal "attachment digest reported" "$(json 'd["attachments"][0]["sha256"]')" "$ATT_SHA"

echo "== inbox: headers only"
ctl 0 "inbox pag-asa" "$PAGASA" message inbox
contains "inbox lists the message" "$OUT" "$ID"
contains "inbox shows the sender" "$OUT" "$POLICE"
not_contains "inbox shows no plaintext" "$OUT" "$BODY_MARK"
ctl 0 "inbox --json --unacked" "$PAGASA" --json message inbox --unacked --thread op-e2e
equal "one unacked entry" "$(json 'len(d["entries"])')" "1"
equal "attachment count" "$(json 'd["entries"][0]["attachments"]')" "1"
not_contains "inbox JSON has no plaintext" "$OUT" "$BODY_MARK"

echo "== pag-asa reads: signature verified, body and attachment equal, read receipt"
ctl 0 "read as pag-asa" "$PAGASA" --officer sw-e2e message read "$ID" --out-dir "$WORK/pagasa" --receipt
contains "signature verified" "$OUT" "signature: verified (sender $POLICE, Ed25519)"
contains "sealed for both" "$OUT" "sealed for: "
contains "handling code" "$OUT" "handling: H1"
contains "evaluation codes" "$OUT" "evaluation: B2"
contains "body printed" "$OUT" "$BODY"
contains "attachment verified" "$OUT" "SHA-256 verified"
contains "receipt sent" "$OUT" "read receipt sent"
equal "pag-asa attachment SHA-256" "$(sha256sum "$WORK/pagasa/pv-2026-0042.txt" | cut -d' ' -f1)" "$ATT_SHA"
equal "attachment saved mode 600" "$(stat -c %a "$WORK/pagasa/pv-2026-0042.txt")" "600"
ctl 4 "read again refuses to overwrite" "$PAGASA" message read "$ID" --out-dir "$WORK/pagasa"
contains "overwrite hint" "$ERR" "--overwrite"

echo "== the magistrate reads (JSON) and takes the delivery on its stream (delivered receipt)"
ctl 0 "read as magistrate" "$MAGISTRATE" --json message read "$ID" --out-dir "$WORK/mag"
equal "magistrate body equal" "$(json 'd["body"]')" "$BODY"
equal "magistrate signature verified" "$(json 'd["signature"]["verified"]')" "True"
equal "magistrate attachment digest" "$(json 'd["attachments"][0]["sha256"]')" "$ATT_SHA"
equal "magistrate attachment on disk" "$(sha256sum "$WORK/mag/pv-2026-0042.txt" | cut -d' ' -f1)" "$ATT_SHA"
ctl 0 "watch --max 1 --ack --receipt" "$MAGISTRATE" message watch --max 1 --ack --receipt --duration 30s
contains "watch line" "$OUT" "$ID  from $POLICE"
contains "watch verified" "$OUT" "signature verified"
contains "watch acked" "$OUT" "acked"
ctl 0 "watch --duration, nothing pending" "$MAGISTRATE" message watch --duration 2s
contains "watch ends after --duration" "$OUT" "watch stopped (--duration elapsed): 0 deliveries"

echo "== the sender lists the receipts, each verified against the recipient's key"
ctl 0 "receipts" "$POLICE" message receipts "$ID"
contains "read receipt of pag-asa" "$OUT" "read by $PAGASA at"
contains "delivered receipt of the magistrate" "$OUT" "delivered by $MAGISTRATE at"
[ "$(grep -c 'signature verified' <<<"$OUT")" = 2 ] && pass || fail "two verified receipts: $OUT"
ctl 0 "receipts --json" "$POLICE" --json message receipts "$ID"
equal "all receipts verified" "$(json 'd["all_verified"]')" "True"

echo "== parties only"
ctl 2 "payoke may not get the message" "$PAYOKE" message read "$ID"
contains "NOT_FOUND" "$ERR" "NOT_FOUND"
ctl 2 "a recipient may not list the sender's receipts" "$PAGASA" message receipts "$ID"

echo "== ack (idempotent)"
ctl 0 "ack" "$PAGASA" message ack "$ID"
contains "newly acknowledged" "$OUT" "1 newly"
ctl 0 "ack again" "$PAGASA" message ack "$ID"
contains "already acknowledged" "$OUT" "0 newly, 1 already acknowledged"
ctl 0 "inbox --unacked after ack" "$PAGASA" --json message inbox --unacked
equal "nothing unacked" "$(json 'len(d["entries"])')" "0"

echo "== message id reuse with another envelope is ALREADY_EXISTS"
FIXED_ID=e2e-fixed-id-000000000001
ctl 0 "send with --id" "$POLICE" message send --id "$FIXED_ID" --to "$PAGASA" --handling H0 --body "first"
grep -qE '^duplicate: +no$' <<<"$OUT" && pass || fail "first send with --id is no duplicate: $OUT"
ctl 2 "same id, new envelope" "$POLICE" message send --id "$FIXED_ID" --to "$PAGASA" --handling H0 --body "second"
contains "ALREADY_EXISTS" "$ERR" "ALREADY_EXISTS"

echo "== H2: forward without the provider's permission is refused, with it accepted"
H2_MARK="H2-PLAINTEXT-$RANDOM$RANDOM"
ctl 0 "send H2" "$POLICE" --json message send --to "$PAGASA" --handling H2 --body "H2 content $H2_MARK" --attach "$ATT"
H2_ID=$(json 'd["message_id"]')
ctl 2 "forward H2 without permission" "$PAGASA" message forward "$H2_ID" --to "$PAYOKE"
contains "PERMISSION_DENIED" "$ERR" "PERMISSION_DENIED"
contains "reason" "$ERR" "H2_FORWARD_WITHOUT_PERMISSION"
ctl 2 "forward H2 without permission (JSON)" "$PAGASA" --json message forward "$H2_ID" --to "$PAYOKE"
equal "JSON error code" "$(OUT=$ERR json 'd["error"]["code"]')" "PERMISSION_DENIED"
ctl 1 "grant by a non-provider" "$PAGASA" message grant "$H2_ID" --to "$PAYOKE" --out "$WORK/bad.json"
ctl 0 "the provider grants" "$POLICE" message grant "$H2_ID" --to "$PAYOKE" --out "$WORK/permission.json"
ctl 0 "forward H2 with permission" "$PAGASA" --json message forward "$H2_ID" --to "$PAYOKE" \
  --permission-file "$WORK/permission.json"
FWD_ID=$(json 'd["message_id"]')
equal "attachment re-sealed" "$(json 'd["attachments"]')" "1"
ctl 0 "payoke reads the forward" "$PAYOKE" message read "$FWD_ID" --out-dir "$WORK/payoke"
contains "forward verified (signed by the forwarder)" "$OUT" "signature: verified (sender $PAGASA, Ed25519)"
contains "forward linked" "$OUT" "forwarded from: $H2_ID (sent by $POLICE), with the provider's permission"
contains "forward body" "$OUT" "$H2_MARK"
contains "forward keeps H2" "$OUT" "handling: H2"
equal "forwarded attachment SHA-256" "$(sha256sum "$WORK/payoke/pv-2026-0042.txt" | cut -d' ' -f1)" "$ATT_SHA"

echo "== H2 further on: only the original provider permits (not the agency that forwarded)"
ctl 1 "the forwarder cannot grant for its forward" "$PAGASA" message grant "$FWD_ID" \
  --to "$MAGISTRATE" --out "$WORK/middle.json"
contains "names the original provider" "$ERR" "original provider $POLICE"
ctl 2 "forward of the forward without permission" "$PAYOKE" message forward "$FWD_ID" \
  --to "$MAGISTRATE" --without-attachments
contains "refused without the provider's permission" "$ERR" "H2_FORWARD_WITHOUT_PERMISSION"
ctl 2 "the root permission for another grantee does not cover the magistrate" "$PAYOKE" \
  message forward "$FWD_ID" --to "$MAGISTRATE" --permission-file "$WORK/permission.json" \
  --without-attachments
contains "not covered" "$ERR" "H2_FORWARD_WITHOUT_PERMISSION"
ctl 0 "the provider grants for its root message" "$POLICE" message grant "$H2_ID" \
  --to "$MAGISTRATE" --out "$WORK/permission-root.json"
ctl 0 "forward of the forward with the root provider's permission" "$PAYOKE" --json message \
  forward "$FWD_ID" --to "$MAGISTRATE" --permission-file "$WORK/permission-root.json"
FWD2_ID=$(json 'd["message_id"]')
ctl 0 "the magistrate reads the second forward" "$MAGISTRATE" message read "$FWD2_ID" \
  --out-dir "$WORK/mag2"
contains "second forward names the original provider" "$OUT" "original provider: $H2_ID (sent by $POLICE)"
contains "second forward body" "$OUT" "$H2_MARK"

echo "== watch stops cleanly on SIGTERM"
"$CTL" --agency-dir "$PKI/agencies/$PAYOKE" --server "127.0.0.1:$PORT" message watch \
  --terminal desk-1 >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
for ((i = 0; i < 100; i++)); do
  grep -qF "$FWD_ID" "$WORK/watch.out" 2>/dev/null && break
  sleep 0.1
done
grep -qF "$FWD_ID" "$WORK/watch.out" && pass || fail "watch did not print the forward: $(cat "$WORK/watch.out" "$WORK/watch.err")"
kill -TERM "$WATCH_PID"
rc=0
wait "$WATCH_PID" || rc=$?
WATCH_PID=""
equal "watch exit code after SIGTERM" "$rc" "0"
contains "watch says why it stopped" "$(cat "$WORK/watch.out")" "watch stopped (signal)"

echo "== a tampered envelope: read exits 3, signature INVALID"
ctl 0 "send the message to tamper with" "$POLICE" --json message send --to "$PAGASA" \
  --handling H0 --case-ref E2E-2026-7001 --body "tamper test"
T_ID=$(json 'd["message_id"]')
TAMPER="local v = redis.call('HGET', KEYS[1], 'env'); if not v then return 0 end;
local n, c = string.gsub(v, 'E2E%-2026%-7001', 'E2E-2026-7002');
redis.call('HSET', KEYS[1], 'env', n); return c"
changed=$(redis-cli -p "$REDIS_PORT" eval "$TAMPER" 1 "concord:{msg}:m:$T_ID")
if [ "$changed" = 1 ]; then
  pass
  ctl 3 "read the tampered message" "$PAGASA" message read "$T_ID"
  contains "signature INVALID" "$ERR" "signature INVALID"
  contains "INVALID on stdout" "$OUT" "signature: INVALID (sender $POLICE, Ed25519)"
else
  fail "could not tamper with concord:{msg}:m:$T_ID (layout changed?): $changed"
fi

echo "== an attachment named after a person: accepted, its name only inside the sealed body"
PASSPORT=$WORK/passport-Maria-Exemplaria.pdf
printf '%%PDF-1.4 scan of the passport of Maria Exemplaria\n' >"$PASSPORT"
ctl 0 "send passport-Maria-Exemplaria.pdf" "$POLICE" --json message send --to "$PAGASA" \
  --handling H2 --case-ref BXL-2026-0042 --body "passport scan attached" --attach "$PASSPORT"
P_ID=$(json 'd["message_id"]')
equal "the sender's report names the file" "$(json 'd["attachments"][0]["name"]')" "passport-Maria-Exemplaria.pdf"
ctl 0 "the inbox shows headers only" "$PAGASA" --json message inbox
not_contains "no name in the inbox headers" "$OUT" "Exemplaria"
ctl 0 "pag-asa reads and saves it under its sealed name" "$PAGASA" message read "$P_ID" \
  --out-dir "$WORK/passport"
contains "the name arrives sealed" "$OUT" "passport-Maria-Exemplaria.pdf (application/pdf"
equal "the file arrives" "$(cat "$WORK/passport/passport-Maria-Exemplaria.pdf")" "$(cat "$PASSPORT")"
ctl 1 "a case reference that is a name is refused locally" "$POLICE" message send --to "$PAGASA" \
  --handling H0 --case-ref MARIA-EXEMPLARIA-1 --body x
contains "the field is named" "$ERR" "--case-ref"

echo "== an independent client written from the docs (Python grpcio, envelope v2)"
ctl 0 "concordctl sends v2 for the probe to verify" "$POLICE" --json message send --to "$PAGASA" \
  --handling H3 --handling-text "probe: verify me" --case-ref E2E-2026-0003 \
  --body "sent by concordctl, verified by Python" --attach "$ATT"
C_ID=$(json 'd["message_id"]')
PROBE_OUT=$WORK/probe.out
if /usr/bin/python3 "$REPO/tests/integration/grpc_probe.py" --repo "$REPO" \
  --target "127.0.0.1:$PORT" --server-name localhost --ca "$PKI/ca.pem" \
  --cert "$PKI/agencies/$POLICE/cert.pem" --key "$PKI/agencies/$POLICE/key.pem" \
  --agency-dir "$PKI/agencies/$POLICE" --alt-agency-dir "$PKI/agencies/$PAGASA" \
  --verify-message "$C_ID" messaging >"$PROBE_OUT" 2>&1; then
  pass
else
  fail "grpc_probe messaging: $(cat "$PROBE_OUT")"
fi
PY_ID=$(sed -n 's/^probe messaging: ok sent \([0-9a-f]*\) .*/\1/p' "$PROBE_OUT")
[ -n "$PY_ID" ] && pass || fail "the probe did not report its message id: $(cat "$PROBE_OUT")"
ctl 0 "concordctl reads the Python-built v2 message" "$PAGASA" message read "$PY_ID" \
  --out-dir "$WORK/probe"
contains "Python's signature verifies in C++" "$OUT" "signature: verified (sender $POLICE, Ed25519)"
contains "Python's sealed content opens in C++" "$OUT" "written by the Python probe from the documentation"
contains "Python's H3 text" "$OUT" "probe restriction text"
contains "Python's attachment verifies in C++" "$OUT" "probe-report.txt (text/plain"
ctl 0 "the receipt the probe signed verifies at the sender" "$POLICE" message receipts "$PY_ID"
contains "probe receipt verified" "$OUT" "read by $PAGASA at"

echo "== local errors"
ctl 1 "send without --handling" "$POLICE" message send --to "$PAGASA" --body x
ctl 1 "send with a bad --expires-in" "$POLICE" message send --to "$PAGASA" --handling H0 --body x --expires-in 7
ctl 4 "missing attachment file" "$POLICE" message send --to "$PAGASA" --handling H0 --body x --attach "$WORK/none.pdf"
ctl 4 "wrong signing key type" "$POLICE" message send --signing-key "$PKI/agencies/$POLICE/seal.key" --to "$PAGASA" --handling H0 --body x
ctl 2 "unknown recipient" "$POLICE" message send --to reception_centre/nobody --handling H0 --body x
ctl 2 "signing with another agency's key: BAD_SIGNATURE" "$POLICE" message send \
  --signing-key "$PKI/agencies/$PAYOKE/sign.key" --to "$PAGASA" --handling H0 --body x
contains "BAD_SIGNATURE" "$ERR" "BAD_SIGNATURE"

echo "== no plaintext anywhere in Redis"
KEYS_FILE=$WORK/redis-keys
DUMP=$WORK/redis-dump
redis_dump "$DUMP" "$KEYS_FILE"
[ "$(wc -l <"$KEYS_FILE")" -gt 10 ] && pass || fail "suspiciously few Redis keys: $(cat "$KEYS_FILE")"
grep -qaF "$ID" "$DUMP" && pass || fail "the dump does not even contain the message id (scan broken?)"
for mark in "$BODY_MARK" "$ATT_MARK" "$H2_MARK" "Victim V-17" "proces-verbaal" "Maria" \
  "Exemplaria" "pv-2026-0042" "probe-report" "probe: verify me"; do
  if grep -qaF -- "$mark" "$DUMP"; then fail "plaintext '$mark' found in Redis"; else pass; fi
done

echo "== no name in the server's log or metrics"
grep -q "server.started" "$WORK/server.log" && pass || fail "the server log is empty (scan broken?)"
METRICS_PORT=$(/usr/bin/python3 - "$WORK/server.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "server.started" and event.get("metrics_port"):
        print(event["metrics_port"])
        break
PY
)
METRICS=$WORK/metrics.txt
curl -fsS --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$METRICS" || fail "GET /metrics"
grep -q "concord_messages_sent_total" "$METRICS" && pass || fail "no messaging metrics (scan broken?)"
for mark in "Maria" "Exemplaria" "passport" "$BODY_MARK"; do
  if grep -qaF -- "$mark" "$WORK/server.log"; then fail "'$mark' in the server log"; else pass; fi
  if grep -qaF -- "$mark" "$METRICS"; then fail "'$mark' in the metrics"; else pass; fi
done

echo "== watch resumes across a server restart"
: >"$WORK/watch.out"
"$CTL" --agency-dir "$PKI/agencies/$PAYOKE" --server "127.0.0.1:$PORT" message watch \
  --terminal desk-1 --ack >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
for ((i = 0; i < 100; i++)); do
  grep -qF "$FWD_ID" "$WORK/watch.out" 2>/dev/null && break
  sleep 0.1
done
grep -qF "$FWD_ID" "$WORK/watch.out" && pass || fail "watch did not start: $(cat "$WORK/watch.err")"
OLD_PORT=$PORT
stop_concord_server
start_concord_server "$OLD_PORT"
ctl 0 "send after the restart" "$POLICE" --json message send --to "$PAYOKE" --handling H0 \
  --case-ref RSM-2026-0099 --body "after the restart"
R_ID=$(json 'd["message_id"]')
for ((i = 0; i < 300; i++)); do
  grep -qF "$R_ID" "$WORK/watch.out" 2>/dev/null && break
  sleep 0.1
done
grep -qF "$R_ID" "$WORK/watch.out" && pass || fail "watch did not resume: $(cat "$WORK/watch.out" "$WORK/watch.err")"
contains "watch says it resumes" "$(cat "$WORK/watch.err")" "resuming in"

echo "== watch stops when its certificate is revoked (exit 2, not resuming)"
PAYOKE_SERIAL=$(openssl x509 -noout -serial -in "$PKI/agencies/$PAYOKE/cert.pem" | cut -d= -f2)
ctl 0 "revoke payoke's certificate" admin/ops "${ACCOUNT[@]}" directory revoke "$PAYOKE_SERIAL" \
  --reason key_compromise
rc=0
for ((i = 0; i < 100; i++)); do
  kill -0 "$WATCH_PID" 2>/dev/null || break
  sleep 0.1
done
wait "$WATCH_PID" || rc=$?
WATCH_PID=""
equal "watch exit code after revocation" "$rc" "2"
contains "watch names the reason" "$(cat "$WORK/watch.err")" "reason: CERTIFICATE_REVOKED"
contains "watch does not resume" "$(cat "$WORK/watch.err")" "not resuming"

echo "== audit"
ctl 0 "the revoked stream's end is audited" admin/ops --justification e2e audit query \
  --object authz:CERTIFICATE_REVOKED
contains "Subscribe ended by revocation" "$OUT" "Messaging/Subscribe"
ctl 0 "inbox reads are audited" admin/ops --justification e2e audit query \
  --object "inbox:$PAYOKE"
contains "Subscribe batches audited" "$OUT" "Messaging/Subscribe"
ctl 0 "audit records the messaging steps" admin/ops --justification e2e audit query --object "message:$ID"
contains "Send audited" "$OUT" "Messaging/Send"
contains "Get audited" "$OUT" "Messaging/Get"
ctl 0 "audit verify" admin/ops audit verify --expect-key "$PKI/audit/sign.pub"
contains "verify OK line" "$OUT" "audit chain OK:"

echo "concordctl_message_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
