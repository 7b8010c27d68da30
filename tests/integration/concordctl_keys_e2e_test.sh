#!/usr/bin/env bash
# Key continuity end to end over real mTLS (issue 9 item 2, client half), driven only through
# concordctl: a dev PKI (scripts/pki.sh), a real redis-server and concord-server on free loopback
# ports.
#   1. police seals a message to a reception centre: its keys are remembered (known_keys.json,
#      0600, in the police agency folder);
#   2. an administrator swaps the centre's sealing key in the directory without endorsement
#      (what a stolen admin identity could do): `message send` to the centre is refused with
#      exit 3 naming the agency, both fingerprints and the command that accepts it, and nothing
#      is sent; `referral draft` refuses to seal the personal record to it (exit 3) too;
#   3. `directory trust` prints both fingerprints, needs --yes off a terminal, and accepts; the
#      send then works;
#   4. a routine rotation: the centre runs `keys rotate`, the administrator submits its
#      endorsement (`directory update --key-endorsement`, checked locally first: a tampered or
#      foreign one is refused), the directory stores it (Agency.key_endorsement), police accepts
#      the new keys automatically and the centre, after `keys activate`, reads what is sealed to
#      its new key.
# Usage: concordctl_keys_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_keys_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-keys-e2e

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
PAGASA_DIR=$PKI/agencies/$PAGASA
KNOWN=$PKI/agencies/$POLICE/known_keys.json
SPIFFE=spiffe://concord.test/agency/$PAGASA

# fp PEM: the fingerprint concordctl prints (SHA-256 of the raw public key, groups of 4).
fp() {
  openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | sha256sum | cut -c1-64 |
    sed 's/..../&:/g; s/:$//'
}
# inbox_count AGENCY: entries in AGENCY's inbox.
inbox_count() {
  "$CTL" --agency-dir "$PKI/agencies/$1" --server "127.0.0.1:$PORT" --json message inbox \
    --page-size 500 | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))'
}
known() {  # known FIELD: the police's remembered FIELD for pag-asa
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agencies"][sys.argv[2]][sys.argv[3]])' \
    "$KNOWN" "$SPIFFE" "$1"
}

echo "== register the demo agencies (keys from the PKI)"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done < <("$PKI_SH" demo-agencies)

echo "== 1. first use: police seals to pag-asa, its keys are remembered"
ctl 0 "first send" "$POLICE" message send --to "$PAGASA" --handling H0 --body "first contact"
[ -f "$KNOWN" ] && pass || fail "no $KNOWN after the first send"
equal "known_keys.json mode" "$(stat -c %a "$KNOWN")" "600"
equal "remembered on first use" "$(known source)" "first_use"
OLD_SEAL_FP=$(fp "$PAGASA_DIR/seal.key")
SIGN_FP=$(fp "$PAGASA_DIR/sign.key")

echo "== 2. an administrator swaps pag-asa's sealing key without endorsement"
openssl genpkey -algorithm x25519 -out "$WORK/attacker-seal.key" 2>/dev/null
openssl pkey -in "$WORK/attacker-seal.key" -pubout -out "$WORK/attacker-seal.pub"
NEW_SEAL_FP=$(fp "$WORK/attacker-seal.key")
ctl 0 "admin re-keys pag-asa" admin/ops --officer e2e --justification "key swap drill" \
  directory update "$PAGASA" --sealing-key "$WORK/attacker-seal.pub"
BEFORE=$(inbox_count "$PAGASA")
ctl 3 "send to the swapped key is refused" "$POLICE" message send --to "$PAGASA" --handling H0 \
  --body "must not be sealed to the attacker"
contains "names the agency" "$ERR" "reception_centre/pag-asa"
contains "remembered sealing fingerprint" "$ERR" "$OLD_SEAL_FP"
contains "directory's sealing fingerprint" "$ERR" "$NEW_SEAL_FP"
contains "signing fingerprint" "$ERR" "$SIGN_FP"
contains "the command that accepts it" "$ERR" "concordctl directory trust reception_centre/pag-asa"
equal "nothing was sent" "$(inbox_count "$PAGASA")" "$BEFORE"
ctl 3 "--json refusal" "$POLICE" --json message send --to "$PAGASA" --handling H0 --body x
ERR_JSON=$ERR
equal "reason AGENCY_KEY_CHANGED" \
  "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["reason"])' "$ERR_JSON")" \
  "AGENCY_KEY_CHANGED"
equal "directory fingerprint in the JSON error" \
  "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["directory_sealing_fingerprint"])' "$ERR_JSON")" \
  "$NEW_SEAL_FP"
ctl 3 "the personal record is not sealed to the swapped key" "$POLICE" referral draft \
  --form sexual --origin-country BR --age-band 25-34 --gender woman --language pt \
  --region BE-BRU --centre "$PAGASA" --name "Not-Sealed-To-Attacker" --consent
contains "referral refusal names the agency" "$ERR" "reception_centre/pag-asa"
equal "still remembered: the old keys" "$(known source)" "first_use"

echo "== 3. directory trust: both fingerprints, --yes off a terminal, then accepted"
ctl 1 "no --yes and no terminal" "$POLICE" directory trust "$PAGASA" </dev/null
contains "remembered fingerprint shown" "$OUT" "$OLD_SEAL_FP"
contains "directory fingerprint shown" "$OUT" "$NEW_SEAL_FP"
contains "marked as changed" "$OUT" "(changed)"
ctl 0 "trust --yes" "$POLICE" directory trust "$PAGASA" --yes
contains "accepted" "$OUT" "accepted: the keys of reception_centre/pag-asa"
equal "remembered as accepted" "$(known source)" "accepted"
ctl 0 "send after acceptance" "$POLICE" message send --to "$PAGASA" --handling H0 \
  --body "accepted keys"
equal "one more message for pag-asa" "$(inbox_count "$PAGASA")" "$((BEFORE + 1))"
ctl 0 "trust again: nothing to accept" "$POLICE" directory trust "$PAGASA"
contains "unchanged" "$OUT" "nothing to accept"

echo "== 4. a routine rotation endorsed by the current signing key"
ctl 4 "activate without a rotation: no new keys" "$PAGASA" keys activate
contains "names the missing file" "$ERR" "sign.key.next"
ctl 0 "keys rotate" "$PAGASA" keys rotate
[ -f "$PAGASA_DIR/key_endorsement.json" ] && pass || fail "no key_endorsement.json"
equal "new private key mode" "$(stat -c %a "$PAGASA_DIR/seal.key.next")" "600"
ctl 4 "a second rotate does not overwrite the first" "$PAGASA" keys rotate
contains "unfinished rotation" "$ERR" "exists already"
ROTATED_SEAL_FP=$(fp "$PAGASA_DIR/seal.key.next")
ctl 3 "activate while the directory holds the old keys" "$PAGASA" keys activate
[ -f "$PAGASA_DIR/seal.key.next" ] && pass || fail "activate changed something"
# Locally checked before anything is sent: a tampered endorsement, another agency's rotation.
/usr/bin/python3 - "$PAGASA_DIR/key_endorsement.json" "$WORK/tampered.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["key_endorsement"]["issued_at"] = "2001-01-01T00:00:00Z"
json.dump(d, open(sys.argv[2], "w"))
PY
ctl 3 "a tampered endorsement is refused" admin/ops "${ACCOUNT[@]}" directory update "$PAGASA" \
  --key-endorsement "$WORK/tampered.json"
ctl 1 "another agency's rotation is refused" admin/ops "${ACCOUNT[@]}" directory update reception_centre/payoke \
  --key-endorsement "$PAGASA_DIR/key_endorsement.json"
ctl 0 "admin submits the endorsed rotation" admin/ops --officer e2e \
  --justification "routine key rotation" directory update "$PAGASA" \
  --key-endorsement "$PAGASA_DIR/key_endorsement.json"
ctl 0 "directory get" admin/ops --json directory get "$PAGASA"
STORED=$(json 'd["agency"].get("key_endorsement", {}).get("signature", "")')
[ -n "$STORED" ] && pass || fail "the directory did not store the endorsement: $OUT"
ctl 0 "pag-asa activates its new keys" "$PAGASA" keys activate
[ -f "$PAGASA_DIR/seal.key.previous" ] && pass || fail "no seal.key.previous"
equal "seal.key is the rotated one" "$(fp "$PAGASA_DIR/seal.key")" "$ROTATED_SEAL_FP"
ctl 0 "the endorsed rotation is accepted automatically" "$POLICE" message send --to "$PAGASA" \
  --handling H0 --body "sealed to the rotated key"
equal "remembered as endorsed" "$(known source)" "endorsed"
ID=$(sed -n 's/^message id: *//p' <<<"$OUT")
ctl 0 "pag-asa opens it with its new key" "$PAGASA" message read "$ID"
contains "opened" "$OUT" "sealed to the rotated key"

echo "concordctl_keys_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
