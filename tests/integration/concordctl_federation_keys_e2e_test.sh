#!/usr/bin/env bash
# Key continuity for a partner deployment's agencies, through concordctl only, against two
# federated deployments (tests/integration/federation_lib.sh: two CAs, two redis-servers, two
# concord-servers, two concord-gateways on free loopback ports):
#   1. a.test's magistrate sends across to b.test's: the partner agency's keys (from b's signed
#      export, through a's gateway) are remembered in its known_keys.json under the partner's
#      full SPIFFE id;
#   2. b's administrator swaps its magistrate's sealing key without endorsement (what a stolen
#      admin identity on the partner side could do); once a's gateway holds the new export,
#      `federation send` is refused with exit 3 (AGENCY_KEY_CHANGED) naming the partner agency,
#      both fingerprints and `concordctl federation trust <SPIFFE id>`, and nothing crosses;
#      `federation inbox --open` does not trust the partner's signature either (exit 3);
#   3. `federation trust` shows both fingerprints, needs --yes off a terminal, and accepts;
#      sending and verifying then work again.
# Usage: concordctl_federation_keys_e2e_test.sh CONCORDCTL CONCORD_SERVER CONCORD_GATEWAY PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_federation_keys_e2e_test.sh CONCORDCTL CONCORD_SERVER CONCORD_GATEWAY PKI_SH}
SERVER_BIN=${2:?usage}
GATEWAY_BIN=${3:?usage}
PKI_SH=${4:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
# shellcheck source=tests/integration/federation_lib.sh
source "$(dirname "$0")/federation_lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-federation-keys.XXXXXX")
declare -A MAG=([a]=magistrate/parquet-a [b]=magistrate/parquet-b)
fed_setup

PARTNER=spiffe://b.test/agency/${MAG[b]}
PARTNER_DIR=$WORK/b/pki/agencies/${MAG[b]}
KNOWN=$WORK/a/pki/agencies/${MAG[a]}/known_keys.json

# fp PEM: the fingerprint concordctl prints (SHA-256 of the raw public key, groups of 4).
fp() {
  openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | sha256sum | cut -c1-64 |
    sed 's/..../&:/g; s/:$//'
}
known() { # FIELD: what a's magistrate remembers of the partner agency
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agencies"][sys.argv[2]][sys.argv[3]])' \
    "$KNOWN" "$PARTNER" "$1"
}

echo "== 1. first use: the partner agency's keys are remembered under its SPIFFE id"
fed_ctl 0 "first send across" a federation send --to "$PARTNER" --kind information --body "first"
equal "remembered on first use" "$(known source)" "first_use"
equal "known_keys.json mode" "$(stat -c %a "$KNOWN")" "600"
OLD_SEAL_FP=$(fp "$PARTNER_DIR/seal.key")
SIGN_FP=$(fp "$PARTNER_DIR/sign.key")

echo "== 2. b's administrator swaps its magistrate's sealing key without endorsement"
openssl genpkey -algorithm x25519 -out "$WORK/attacker-seal.key" 2>/dev/null
openssl pkey -in "$WORK/attacker-seal.key" -pubout -out "$WORK/attacker-seal.pub"
NEW_SEAL_FP=$(fp "$WORK/attacker-seal.key")
fed_admin b directory update "${MAG[b]}" --sealing-key "$WORK/attacker-seal.pub" >/dev/null ||
  fed_die "the key swap in b's directory failed"
# a's gateway takes the new export within its refresh (1 s): poll, bounded (30 s).
WANT_PEM=$(cat "$WORK/attacker-seal.pub")
for ((i = 0; i < 120; i++)); do
  GOT=$("$CTL" --agency-dir "$WORK/a/pki/agencies/${MAG[a]}" --server "127.0.0.1:${GW_PORT[a]}" \
    --timeout 5 --json federation partner "$PARTNER" 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["sealing_public_key_pem"].strip())' \
      2>/dev/null || true)
  [ "$GOT" = "$WANT_PEM" ] && break
  sleep 0.25
done
equal "a's gateway serves the swapped key" "$GOT" "$WANT_PEM"
BEFORE=$(fed_inbox_count b)
fed_ctl 3 "send to the swapped key is refused" a federation send --to "$PARTNER" \
  --kind information --body "must not be sealed to the attacker"
contains "names the partner agency by its SPIFFE id" "$ERR" "the keys of $PARTNER in the partner's directory export changed"
contains "remembered sealing fingerprint" "$ERR" "$OLD_SEAL_FP"
contains "export's sealing fingerprint" "$ERR" "$NEW_SEAL_FP"
contains "signing fingerprint" "$ERR" "$SIGN_FP"
contains "the command that accepts it" "$ERR" "concordctl federation trust $PARTNER"
equal "nothing crossed" "$(fed_inbox_count b)" "$BEFORE"
fed_ctl 3 "--json refusal" a --json federation send --to "$PARTNER" --body x
equal "reason AGENCY_KEY_CHANGED" \
  "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["reason"])' "$ERR")" \
  "AGENCY_KEY_CHANGED"
equal "agency in the JSON error" \
  "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["agency"])' "$ERR")" \
  "$PARTNER"
equal "still remembered: the old keys" "$(known source)" "first_use"
# b's magistrate (its signing key unchanged) sends to a: a does not trust the signature under
# keys that changed unaccepted.
fed_ctl 0 "b sends to a" b federation send --to "spiffe://a.test/agency/${MAG[a]}" \
  --kind information --body "from b after the swap"
fed_ctl 3 "inbox --open does not trust the changed keys" a --json federation inbox --open
contains "the item is refused" "$OUT" "REFUSED: the partner agency's keys changed"
not_contains "not opened" "$OUT" "from b after the swap"

echo "== 3. federation trust: both fingerprints, --yes off a terminal, then accepted"
fed_ctl 1 "no --yes and no terminal" a federation trust "$PARTNER" </dev/null
contains "remembered fingerprint shown" "$OUT" "$OLD_SEAL_FP"
contains "export fingerprint shown" "$OUT" "$NEW_SEAL_FP"
contains "marked as changed" "$OUT" "(changed)"
contains "from the partner export" "$OUT" "partner export now"
fed_ctl 0 "trust --yes" a federation trust "$PARTNER" --yes
contains "accepted" "$OUT" "accepted: the keys of $PARTNER"
equal "remembered as accepted" "$(known source)" "accepted"
fed_ctl 0 "send after acceptance" a federation send --to "$PARTNER" --kind information \
  --body "accepted keys"
equal "one more item for b" "$(fed_inbox_count b)" "$((BEFORE + 1))"
fed_ctl 0 "inbox --open verifies again" a --json federation inbox --open
contains "opened" "$OUT" "from b after the swap"
fed_ctl 0 "trust again: nothing to accept" a federation trust "$PARTNER"
contains "unchanged" "$OUT" "nothing to accept"
fed_ctl 1 "a local reference is not a partner agency" a federation trust "${MAG[b]}"
fed_ctl 1 "directory trust of a partner agency is refused" a directory trust "$PARTNER" --yes
contains "it names federation trust" "$ERR" "federation trust $PARTNER"

echo "concordctl_federation_keys_e2e_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
