#!/usr/bin/env bash
# Referrals end to end over real mTLS, driven only through `concordctl referral` (and `message`
# for the notifications): a dev PKI (scripts/pki.sh), a real redis-server and concord-server
# (hosting Referrals with its notifier identity admin/concord-referrals) on free loopback ports.
# One case is walked from detection to a registration certificate by the agencies the procedure
# names; the personal record is sealed in concordctl to the centre (+ magistrate). Also: a stale
# --expected-version is ABORTED, a forbidden transition is FAILED_PRECONDITION naming the state
# and the allowed transitions, a police unit that is not a recipient cannot open the record,
# a coordination-unit agency sees no case, the notifications arrive in the centre's inbox, and a
# dump of every Redis key holds none of the personal values. Records and notes are signed by their
# author and verified before they are shown (a record moved in Redis from another case is refused,
# exit 3); a draft is the referring agency's alone; a centre that declined loses the record; a
# referral to a suspended centre is refused (AGENCY_SUSPENDED, field receiving_centre).
# Usage: concordctl_referral_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_referral_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
REAL_SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-ref-e2e

"$PKI_SH" --quiet --dir "$PKI" demo

# stack_lib starts "$SERVER_BIN" with the common flags; the referrals notifier needs its identity
# and the notifier secret its message ids are keyed with.
# exec keeps the pid, so SERVER_PID is the server's.
SERVER_BIN=$WORK/concord-server-with-notifier
cat >"$SERVER_BIN" <<WRAP
#!/usr/bin/env bash
exec "$REAL_SERVER_BIN" "\$@" --referrals-notifier-dir "$PKI/agencies/admin/concord-referrals" \
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

POLICE=police/pz-brussels-capital
OTHER_POLICE=police/fgp-antwerp-thb
PAGASA=reception_centre/pag-asa
PAYOKE=reception_centre/payoke
MAGISTRATE=magistrate/parquet-bruxelles-thb
OFFICE=immigration_office/dvz-minteh
ICU=coordination_unit/icu-thb

echo "== register the demo agencies (keys from the PKI), centres with a referral profile"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done < <("$PKI_SH" demo-agencies)
# Test profiles (not the demo's: the real centres declare no language profile here). Only the
# recognised centres request residence documents (directory attribute recognised_centre).
ctl 0 "pag-asa profile" admin/ops "${ACCOUNT[@]}" directory update "$PAGASA" --jurisdiction BE-BRU \
  --language es --language pt --specialisation gender_diversity \
  --specialisation sexual_exploitation --capacity 20 --attribute recognised_centre=true
ctl 0 "payoke profile" admin/ops "${ACCOUNT[@]}" directory update "$PAYOKE" --jurisdiction BE-VLG \
  --specialisation labour_exploitation --capacity 20 --attribute recognised_centre=true

# Personal values: none of them may ever appear in Redis (nor in non-`open` output).
NAME="Name-Plaintext-$RANDOM$RANDOM Silva"
CONTACT="+32-470-$RANDOM$RANDOM-contact"
NOTES="Notes-Plaintext-$RANDOM$RANDOM met near the station"
DOB=1997-02-03
USED_NAME="Used-Name-$RANDOM$RANDOM"
PRONOUNS="Pronouns-$RANDOM/ela"
PERSONAL=(--name "$NAME" --dob "$DOB" --nationality BR --gender-identity "trans woman"
  --trans-experience yes --pronouns "$PRONOUNS" --used-name "$USED_NAME" --interpreter
  --language pt --language es --contact "$CONTACT" --consent --notes "$NOTES")
# Clear attributes: coarse (gender identity, no trans experience; origin country, no sub-national
# text; no languages: they are in the sealed record).
ATTRS=(--form sexual --origin-country BR --nationality-class third_country --age-band 25-34
  --gender woman --region BE-BRU)
SUGGEST=(--language pt --language es --support-need gender_diversity)

echo "== police: suggest, draft (sealed record), validate, submit"
ctl 0 "suggest" "$POLICE" --json referral suggest "${ATTRS[@]}" "${SUGGEST[@]}"
equal "pag-asa ranked first" "$(json 'd["suggestions"][0]["centre"]["id"]')" "pag-asa"
ctl 0 "suggest (text)" "$POLICE" referral suggest "${ATTRS[@]}" "${SUGGEST[@]}"
contains "suggest table" "$OUT" "RANK"
ctl 0 "a victim in East Flanders goes to Payoke" "$POLICE" --json referral suggest --region BE-VOV
equal "payoke first for BE-VOV" "$(json 'd["suggestions"][0]["centre"]["id"]')" "payoke"
ctl 1 "personal record without a centre" "$POLICE" referral draft "${ATTRS[@]}" --name "$NAME"
ctl 1 "unknown exploitation form" "$POLICE" referral draft --form fishing
contains "form names listed" "$ERR" "forced_labour"
ctl 3 "validate an empty inline draft" "$POLICE" referral validate
contains "problems listed" "$OUT" "FIELD"

ctl 0 "draft" "$POLICE" --officer insp-e2e --json referral draft "${ATTRS[@]}" \
  --centre "$PAGASA" --case-reference PV-E2E-0001 "${PERSONAL[@]}"
CASE=$(json 'd["case"]["case_id"]')
equal "draft state" "$(json 'd["case"]["state"]')" "CASE_STATE_DETECTED"
equal "sealed record version" "$(json 'd["case"]["sealed_record_version"]')" "1"
equal "sealed to the centre" "$(json 'd["sealed_to"]')" "['$PAGASA']"
equal "no problem left" "$(json 'len(d["problems"])')" "0"
not_contains "draft output has no name" "$OUT" "$NAME"
ctl 2 "the centre named in a draft does not see it" "$PAGASA" referral get "$CASE"
contains "draft private (get)" "$ERR" "NOT_A_PARTY"
ctl 0 "nor list it" "$PAGASA" referral list
not_contains "draft private (list)" "$OUT" "$CASE"
ctl 0 "validate the stored draft" "$POLICE" referral validate "$CASE"
contains "valid" "$OUT" "valid: no problem"
ctl 0 "submit" "$POLICE" referral submit "$CASE"
contains "submitted" "$OUT" "SUBMIT: case $CASE DETECTED -> REFERRED"
not_contains "get output has no personal data" "$OUT" "$CONTACT"

echo "== the notification arrives in the centre's inbox"
NOTE_ID=""
for ((i = 0; i < 60; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/$PAGASA" --server "127.0.0.1:$PORT" --json message inbox \
    --thread "$CASE" >"$WORK/inbox" 2>/dev/null || true
  NOTE_ID=$(/usr/bin/python3 -c 'import json,sys
try:
    d=json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
for e in d.get("entries", []):
    if e["sender"] == "admin/concord-referrals":
        print(e["message_id"]); break' "$WORK/inbox")
  [ -n "$NOTE_ID" ] && break
  sleep 0.25
done
if [ -n "$NOTE_ID" ]; then
  pass
else
  fail "no notification from admin/concord-referrals in the inbox of $PAGASA"
  cat "$WORK/inbox" >&2 || true
  grep -i "referral\|notif\|outbox" "$WORK/server.log" | tail -n 20 >&2 || true
fi
if [ -n "$NOTE_ID" ]; then
  ctl 0 "read the notification (signature verified)" "$PAGASA" message read "$NOTE_ID"
  contains "notification verified" "$OUT" "verified (sender admin/concord-referrals"
  contains "notification names the case" "$OUT" "$CASE"
  contains "notification names the transition" "$OUT" "submit"
fi

echo "== concurrency and state rules"
ctl 2 "stale --expected-version" "$PAGASA" referral transition accept "$CASE" --expected-version 1
contains "ABORTED" "$ERR" "ABORTED"
ctl 2 "forbidden transition in REFERRED" "$POLICE" referral transition record-statement "$CASE"
contains "FAILED_PRECONDITION" "$ERR" "FAILED_PRECONDITION"
contains "names the state" "$ERR" "REFERRED"
contains "names the allowed transitions" "$ERR" "allowed transitions"
ctl 2 "police may not accept" "$POLICE" referral transition accept "$CASE"
contains "PERMISSION_DENIED" "$ERR" "PERMISSION_DENIED"
ctl 1 "a flag that does not apply" "$PAGASA" referral transition accept "$CASE" --reason other
ctl 1 "unknown transition" "$PAGASA" referral transition fly "$CASE"

echo "== the walk: REFERRED -> ... -> REGISTRATION_CERTIFICATE"
ctl 0 "centre accepts" "$PAGASA" referral transition accept "$CASE"
contains "accepted" "$OUT" "REFERRED -> ACCEPTED"
ctl 0 "centre opens the record" "$PAGASA" referral open "$CASE" --justification "first interview preparation"
contains "centre sees the name" "$OUT" "$NAME"
contains "verified line" "$OUT" "verified:"
contains "written by the referrer, signature verified" "$OUT" \
  "$POLICE (signature verified with its directory signing key)"
contains "verified sealed to the centre" "$OUT" "sealed to $PAGASA"
ctl 1 "open without a justification" "$PAGASA" referral open "$CASE"
ctl 0 "centre requests the reflection document" "$PAGASA" referral transition request-document \
  "$CASE" --document reflection --immigration-office "$OFFICE"
ctl 0 "office issues it" "$OFFICE" referral transition issue-reflection-document "$CASE"
contains "reflection" "$OUT" "ACCEPTED -> REFLECTION"
ctl 0 "police records the statement" "$POLICE" referral transition record-statement "$CASE"
contains "statement" "$OUT" "REFLECTION -> STATEMENT_MADE"
ctl 0 "centre requests the attestation" "$PAGASA" referral transition request-document "$CASE" \
  --document attestation
ctl 0 "office issues the attestation" "$OFFICE" referral transition issue-attestation "$CASE"
contains "attestation" "$OUT" "STATEMENT_MADE -> REGISTRATION_ATTESTATION"
ctl 0 "centre assigns the magistrate (record re-sealed)" "$PAGASA" --json referral transition \
  assign-magistrate "$CASE" --to "$MAGISTRATE"
equal "re-sealed to centre + magistrate" "$(json 'd["re-sealed to"]')" "['$PAGASA', '$MAGISTRATE']"
equal "record version 2" "$(json 'd["case"]["sealed_record_version"]')" "2"
ctl 0 "magistrate records the victim opinion" "$MAGISTRATE" referral transition \
  record-victim-opinion "$CASE"
ctl 0 "magistrate opens the record" "$MAGISTRATE" --json referral open "$CASE" \
  --justification "prepare the hearing of the victim"
equal "magistrate sees the name" "$(json 'd["record"]["full_name"]')" "$NAME"
equal "magistrate sees the notes" "$(json 'd["record"]["notes"]')" "$NOTES"
equal "opened as the magistrate" "$(json 'd["opened_as"]')" "$MAGISTRATE"
equal "written by the centre that re-sealed it" "$(json 'd["author"]')" "$PAGASA"
equal "its signature verified" "$(json 'd["signature_verified"]')" "True"
ctl 0 "centre requests the certificate" "$PAGASA" referral transition request-document "$CASE" \
  --document registration_certificate
ctl 0 "office issues the certificate" "$OFFICE" referral transition issue-certificate "$CASE"
contains "certificate" "$OUT" "REGISTRATION_ATTESTATION -> REGISTRATION_CERTIFICATE"
ctl 0 "get as the referrer" "$POLICE" --json referral get "$CASE"
equal "final state" "$(json 'd["case"]["state"]')" "CASE_STATE_REGISTRATION_CERTIFICATE"
ctl 0 "history" "$PAGASA" referral history "$CASE"
contains "history has the submit" "$OUT" "submit"
contains "history has the certificate" "$OUT" "REGISTRATION_CERTIFICATE"
ctl 0 "list as the centre" "$PAGASA" referral list --state registration_certificate
contains "listed" "$OUT" "$CASE"
ctl 0 "update-sealed by the centre" "$PAGASA" referral update-sealed "$CASE" "${PERSONAL[@]}"
contains "record version 3" "$OUT" "sealed record version 3"

echo "== a second case: declined, referred elsewhere (record re-sealed), closed"
# Personal data from a file (not on the command line, where `ps` shows it to local users).
PERSONAL_FILE="$WORK/personal.json"
(umask 077 && /usr/bin/python3 -c 'import json,sys
json.dump({"name": sys.argv[1], "dob": sys.argv[2], "nationality": "BR", "contact": sys.argv[3],
           "consent": True, "notes": sys.argv[4]}, open(sys.argv[5], "w"))' \
  "$NAME" "$DOB" "$CONTACT" "$NOTES" "$PERSONAL_FILE")
ctl 1 "personal file and flags together" "$POLICE" referral draft "${ATTRS[@]}" \
  --centre "$PAYOKE" --name "$NAME" --personal-file "$PERSONAL_FILE"
contains "combination refused" "$ERR" "cannot be combined"
echo '{"nmae": "typo"}' >"$WORK/bad-personal.json"
ctl 1 "unknown key in the personal file" "$POLICE" referral draft "${ATTRS[@]}" \
  --centre "$PAYOKE" --personal-file "$WORK/bad-personal.json"
contains "unknown key named" "$ERR" "unknown key"
ctl 0 "draft 2" "$POLICE" --json referral draft "${ATTRS[@]}" --centre "$PAYOKE" \
  --personal-file "$PERSONAL_FILE"
CASE2=$(json 'd["case"]["case_id"]')
ctl 0 "submit 2" "$POLICE" referral submit "$CASE2"
SEALED_NOTE="Sealed-Note-Plaintext-$RANDOM: her employer still holds her passport"
(umask 077 && printf '%s\n' "$SEALED_NOTE" >"$WORK/decline-note.txt")
ctl 1 "--sealed-note-to without a file" "$PAYOKE" referral transition decline "$CASE2" \
  --note "no place" --sealed-note-to "$POLICE"
contains "sealed-note-to refused" "$ERR" "only with --sealed-note-file"
ctl 0 "payoke declines, the details sealed" "$PAYOKE" --json referral transition decline "$CASE2" \
  --note "no place for this profile" --sealed-note-file "$WORK/decline-note.txt"
equal "declined" "$(json 'd["case"]["state"]')" "CASE_STATE_DECLINED"
equal "note sealed to the referrer and the centre" "$(json 'sorted(d["note sealed to"])')" \
  "$(/usr/bin/python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$PAYOKE" "$POLICE")"
not_contains "the sealed note is not echoed" "$OUT" "$SEALED_NOTE"
ctl 0 "police opens the sealed note in the history" "$POLICE" referral history "$CASE2" --open-notes
contains "opened sealed note" "$OUT" "[opened] $SEALED_NOTE"
ctl 2 "payoke declined: the record is no longer handed to it" "$PAYOKE" referral open "$CASE2" \
  --justification "checking after our decline"
contains "CENTRE_DECLINED (open)" "$ERR" "CENTRE_DECLINED"
ctl 0 "history without --open-notes keeps it sealed" "$POLICE" referral history "$CASE2"
not_contains "sealed note not shown" "$OUT" "$SEALED_NOTE"
contains "sealed to shown" "$OUT" "[sealed to "
ctl 1 "refer elsewhere needs the record again" "$POLICE" referral transition refer-elsewhere \
  "$CASE2" --to "$PAGASA"
ctl 0 "refer elsewhere" "$POLICE" --json referral transition refer-elsewhere "$CASE2" \
  --to "$PAGASA" "${PERSONAL[@]}"
equal "re-sealed to the new centre" "$(json 'd["re-sealed to"]')" "['$PAGASA']"
equal "referred again" "$(json 'd["case"]["state"]')" "CASE_STATE_REFERRED"
ctl 2 "payoke may no longer open the record" "$PAYOKE" referral open "$CASE2" \
  --justification "checking after our decline"
ctl 0 "pag-asa opens the re-sealed record" "$PAGASA" referral open "$CASE2" \
  --justification "assess the new referral"
contains "pag-asa sees the name" "$OUT" "$NAME"
ctl 0 "pag-asa (party now, but not sealed to) cannot read the note" "$PAGASA" referral history \
  "$CASE2" --open-notes
not_contains "pag-asa does not see the sealed note" "$OUT" "$SEALED_NOTE"
ctl 0 "police closes" "$POLICE" referral transition close "$CASE2" --reason other
contains "closed" "$OUT" "-> CLOSED"

echo "== an unaccompanied minor: the Guardianship Service, the guardian and the identity fields sealed"
GUARD=guardianship_service/fps-justice-guardianship
MINOR_NAME="Minor-Plaintext-$RANDOM$RANDOM"
GUARDIAN_NAME="Guardian-Plaintext-$RANDOM$RANDOM"
GUARDIAN_CONTACT="+32-2-$RANDOM$RANDOM-guardian"
MINOR_ATTRS=(--form begging --origin-country AF --nationality-class third_country --age-band 12-17
  --gender man --unaccompanied-minor --region BE-VOV)
ctl 0 "minor: a victim in East Flanders goes to Payoke" "$POLICE" --json referral suggest \
  "${MINOR_ATTRS[@]}"
equal "payoke first for the minor" "$(json 'd["suggestions"][0]["centre"]["id"]')" "payoke"
ctl 0 "minor: draft without the Guardianship Service" "$POLICE" --json referral draft \
  "${MINOR_ATTRS[@]}" --centre "$PAYOKE" --name "$MINOR_NAME" --dob 2011-01-02 --nationality AF \
  --consent
MCASE=$(json 'd["case"]["case_id"]')
contains "the Guardianship Service is required" "$OUT" "guardianship_service"
ctl 0 "minor: draft names the Guardianship Service" "$POLICE" referral draft --case "$MCASE" \
  --guardianship "$GUARD"
ctl 0 "minor: submit" "$POLICE" referral submit "$MCASE"
ctl 0 "minor: payoke accepts" "$PAYOKE" referral transition accept "$MCASE"
ctl 0 "minor: the Guardianship Service records the guardian" "$GUARD" referral transition \
  record-guardian "$MCASE" --guardian-name "$GUARDIAN_NAME" --guardian-contact "$GUARDIAN_CONTACT" \
  --guardian-designated-on 2026-11-30
ctl 0 "minor: payoke opens the guardian" "$PAYOKE" referral open "$MCASE" --box guardian \
  --justification "contact the guardian before the intake"
contains "payoke sees the guardian" "$OUT" "$GUARDIAN_NAME"
ctl 2 "minor: the referrer cannot open the guardian" "$POLICE" referral open "$MCASE" --box guardian \
  --justification "curious about the guardian"
contains "NOT_A_RECIPIENT" "$ERR" "NOT_A_RECIPIENT"
ctl 2 "minor: no reflection document for an unaccompanied minor" "$PAYOKE" referral transition \
  request-document "$MCASE" --document reflection --immigration-office "$OFFICE"
ctl 0 "minor: payoke requests the attestation directly" "$PAYOKE" referral transition \
  request-document "$MCASE" --document attestation --immigration-office "$OFFICE"
ctl 0 "minor: the office opens the identity fields (audited)" "$OFFICE" referral open "$MCASE" \
  --box document-identity --justification "issue the attestation of registration"
contains "the office sees the name" "$OUT" "$MINOR_NAME"
ctl 2 "minor: the office never gets the personal record" "$OFFICE" referral open "$MCASE" \
  --justification "issue the attestation of registration"
ctl 0 "minor: the office issues the attestation" "$OFFICE" referral transition issue-attestation \
  "$MCASE"
contains "attestation directly" "$OUT" "ACCEPTED -> REGISTRATION_ATTESTATION"
contains "the Guardianship Service is notified" "$OUT" "$GUARD"

echo "== a record moved in Redis from another case is refused by the reader"
# Case 2's record version 2 (sealed to pag-asa, signed by the police for case 2) put in place of
# case 1's version 2, server-side (binary-safe), as an intruder with write access to Redis would.
redis-cli -p "$REDIS_PORT" eval \
  "return redis.call('HSET', KEYS[1], '2', redis.call('HGET', KEYS[2], '2'))" 2 \
  "concord:{ref}:sealed:$CASE" "concord:{ref}:sealed:$CASE2" >/dev/null
ctl 3 "the centre refuses the moved record" "$PAGASA" referral open "$CASE" --record-version 2 \
  --justification "check the second version"
contains "refused: does not verify" "$ERR" "does not verify"
not_contains "nothing opened" "$OUT" "$NAME"

echo "== who may not see the case"
ctl 2 "a police unit that is not a party cannot open the record" "$OTHER_POLICE" referral open \
  "$CASE" --justification "just curious about it"
contains "PERMISSION_DENIED (non-party)" "$ERR" "PERMISSION_DENIED"
ctl 2 "the referring police is not a recipient of the record" "$POLICE" referral open "$CASE" \
  --justification "checking the record we sealed"
contains "PERMISSION_DENIED (referrer)" "$ERR" "PERMISSION_DENIED"
ctl 2 "a non-party police unit cannot get the case" "$OTHER_POLICE" referral get "$CASE"
contains "PERMISSION_DENIED (get)" "$ERR" "PERMISSION_DENIED"
ctl 2 "coordination unit: get" "$ICU" referral get "$CASE"
contains "PERMISSION_DENIED (icu get)" "$ERR" "PERMISSION_DENIED"
ctl 2 "coordination unit: list" "$ICU" referral list
contains "PERMISSION_DENIED (icu list)" "$ERR" "PERMISSION_DENIED"
ctl 2 "coordination unit: history" "$ICU" referral history "$CASE"
ctl 0 "another police unit lists no case" "$OTHER_POLICE" referral list
not_contains "no case listed" "$OUT" "$CASE"

echo "== metrics an operator watches (real /metrics; the gauges refresh every 5 s)"
METRICS_PORT=$(/usr/bin/python3 -c 'import json,sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "server.started":
        print(e["metrics_port"]); break' "$WORK/server.log")
GAUGE=""
CLOSED=""
# Both gauges come from one refresh (every 5 s): wait for the one that shows both cases.
for ((i = 0; i < 60; i++)); do
  curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics" || true
  GAUGE=$(sed -n 's/^concord_referrals{state="REGISTRATION_CERTIFICATE"} //p' "$WORK/metrics")
  CLOSED=$(sed -n 's/^concord_referrals{state="CLOSED"} //p' "$WORK/metrics")
  [ "$GAUGE" = "1" ] && [ "$CLOSED" = "1" ] && break
  sleep 0.25
done
equal "concord_referrals{state=REGISTRATION_CERTIFICATE}" "$GAUGE" "1"
contains "concord_referrals{state=CLOSED}" "$(cat "$WORK/metrics")" 'concord_referrals{state="CLOSED"} 1'
contains "notifications sent" "$(cat "$WORK/metrics")" 'concord_referral_notifications_total{outcome="sent"}'
contains "overdue gauge" "$(cat "$WORK/metrics")" 'concord_referral_deadlines_overdue 0'
contains "transitions counted" "$(cat "$WORK/metrics")" 'concord_referral_transitions_total{transition="issue_certificate"} 1'

echo "== a referral to a suspended centre is refused with its reason and field; nothing changes"
SURYA=reception_centre/surya
ctl 0 "draft to surya" "$POLICE" --json referral draft "${ATTRS[@]}" --centre "$SURYA" \
  "${PERSONAL[@]}"
CASE4=$(json 'd["case"]["case_id"]')
VERSION4=$(json 'd["case"]["version"]')
equal "no problem while surya is active" "$(json 'len(d.get("problems", []))')" "0"
ctl 0 "suspend surya" admin/ops "${ACCOUNT[@]}" directory suspend "$SURYA" --reason "e2e: suspended centre"
ctl 2 "submit to a suspended centre" "$POLICE" referral submit "$CASE4"
contains "refusal reason" "$ERR" "reason: AGENCY_SUSPENDED"
contains "refusal field" "$ERR" "field receiving_centre:"
ctl 3 "validate names the suspended centre" "$POLICE" referral validate "$CASE4"
contains "problem of the field" "$OUT" "AGENCY_SUSPENDED"
ctl 0 "the draft did not change" "$POLICE" --json referral get "$CASE4"
equal "still a draft" "$(json 'd["case"]["state"]')" "CASE_STATE_DETECTED"
equal "same version" "$(json 'd["case"]["version"]')" "$VERSION4"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics" || true
contains "party refusal counted" "$(cat "$WORK/metrics")" \
  'concord_referral_party_refusals_total{reason="AGENCY_SUSPENDED",role="centre"} 1'
ctl 0 "reinstate surya" admin/ops "${ACCOUNT[@]}" directory reinstate "$SURYA"
ctl 0 "submit once the centre is active again" "$POLICE" referral submit "$CASE4"

echo "== no personal data anywhere in Redis"
KEYS_FILE=$WORK/redis-keys
DUMP=$WORK/redis-dump
redis_dump "$DUMP" "$KEYS_FILE"
[ "$(wc -l <"$KEYS_FILE")" -gt 10 ] && pass || fail "suspiciously few Redis keys: $(cat "$KEYS_FILE")"
grep -qaF "$CASE" "$DUMP" && pass || fail "the dump does not even contain the case id (scan broken?)"
for mark in "$NAME" "$CONTACT" "$NOTES" "Name-Plaintext" "Notes-Plaintext" "trans woman" \
  "$SEALED_NOTE" "Sealed-Note-Plaintext" "$USED_NAME" "$PRONOUNS" "Used-Name" "$DOB" \
  "$MINOR_NAME" "Minor-Plaintext" "$GUARDIAN_NAME" "Guardian-Plaintext" "$GUARDIAN_CONTACT"; do
  if grep -qaF -- "$mark" "$DUMP"; then fail "personal value '$mark' found in Redis"; else pass; fi
done

echo "== audit"
ctl 0 "audit verify" admin/ops audit verify --expect-key "$PKI/audit/sign.pub"
contains "verify OK line" "$OUT" "audit chain OK:"

echo "concordctl_referral_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
