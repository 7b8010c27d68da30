#!/usr/bin/env bash
# Integration test of scripts/pki.sh: runs it into a temporary directory and checks every file
# with the openssl CLI: the SPIFFE URI SAN (exactly one), usages, chains, key pairs, modes, and
# that a rerun is idempotent (nothing re-created, nothing changed).
# Usage: pki_test.sh /path/to/scripts/pki.sh
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

PKI_SH=${1:?usage: pki_test.sh /path/to/pki.sh}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/concord-pki-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DIR=$WORK/pki
failures=0
checks=0

pass() { checks=$((checks + 1)); }
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
expect() {  # expect DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then pass; else fail "$what"; fi
}
expect_not() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then fail "$what"; else pass; fi
}
mode_of() { stat -c %a "$1"; }

# The URI SANs of a certificate, one per line.
uri_sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr ',' '\n' |
    sed 's/^ *//' | grep '^URI:' | sed 's/^URI://' || true
}
san_entries() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr ',' '\n' |
    sed 's/^ *//' | grep -c . || true
}
pub_of() { openssl pkey -in "$1" -pubout 2>/dev/null; }
cert_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }

echo "== first run"
"$PKI_SH" --dir "$DIR" demo >"$WORK/run1.log"
cat "$WORK/run1.log"

# CA
expect "ca.pem parses" openssl x509 -in "$DIR/ca.pem" -noout
expect "ca is CA:TRUE" grep -q "CA:TRUE" <(openssl x509 -in "$DIR/ca.pem" -noout -ext basicConstraints)
expect "ca has keyCertSign" grep -q "Certificate Sign" <(openssl x509 -in "$DIR/ca.pem" -noout -ext keyUsage)
expect "ca is EC P-256" grep -q "prime256v1\|P-256" <(openssl x509 -in "$DIR/ca.pem" -noout -text)
expect "ca valid for > 9 years" openssl x509 -in "$DIR/ca.pem" -noout -checkend $((9 * 365 * 86400))
expect "ca.key matches ca.pem" test "$(pub_of "$DIR/ca.key")" = "$(cert_pub "$DIR/ca.pem")"
[ "$(mode_of "$DIR/ca.key")" = 600 ] && pass || fail "ca.key mode is $(mode_of "$DIR/ca.key")"

# server
S=$DIR/server/cert.pem
expect "server cert verifies" openssl verify -CAfile "$DIR/ca.pem" "$S"
sans=$(openssl x509 -in "$S" -noout -ext subjectAltName)
for want in "DNS:localhost" "IP Address:127.0.0.1" "URI:spiffe://concord.test/service/concord-server"; do
  expect "server SAN has $want" grep -qF "$want" <<<"$sans"
done
[ "$(uri_sans "$S" | wc -l)" = 1 ] && pass || fail "server cert must have exactly one URI SAN"
expect "server has serverAuth" grep -q "Server Authentication" <(openssl x509 -in "$S" -noout -ext extendedKeyUsage)
expect "server key matches" test "$(pub_of "$DIR/server/key.pem")" = "$(cert_pub "$S")"

# audit keys
expect "audit.key is 64 hex chars" grep -Eqx '[0-9a-f]{64}' "$DIR/audit/audit.key"
expect "audit sign.key is Ed25519" grep -q "ED25519" <(openssl pkey -in "$DIR/audit/sign.key" -noout -text)
expect "audit sign.pub matches" test "$(pub_of "$DIR/audit/sign.key")" = "$(cat "$DIR/audit/sign.pub")"
[ "$(mode_of "$DIR/audit/audit.key")" = 600 ] && pass || fail "audit.key mode"
[ "$(mode_of "$DIR/audit/sign.key")" = 600 ] && pass || fail "audit sign.key mode"

# the notifier secret (concord-server --notifier-secret-file)
expect "notifier.secret is 64 hex chars" grep -Eqx '[0-9a-f]{64}' "$DIR/notifier/notifier.secret"
[ "$(mode_of "$DIR/notifier/notifier.secret")" = 600 ] && pass || fail "notifier.secret mode"

# every demo agency, and every agency type at least once
mapfile -t AGENCIES < <("$PKI_SH" demo-agencies)
[ "${#AGENCIES[@]}" -ge 9 ] && pass || fail "fewer than 9 demo agencies"
for type in police magistrate reception_centre immigration_office social_inspection \
  coordination_unit foreign_partner platform admin guardianship_service; do
  printf '%s\n' "${AGENCIES[@]}" | grep -q "^$type/" && pass || fail "no demo agency of type $type"
done
for a in "${AGENCIES[@]}"; do
  d=$DIR/agencies/$a
  c=$d/cert.pem
  expect "$a cert verifies against the CA" openssl verify -CAfile "$DIR/ca.pem" "$c"
  mapfile -t uris < <(uri_sans "$c")
  if [ "${#uris[@]}" -eq 1 ] && [ "${uris[0]}" = "spiffe://concord.test/agency/$a" ]; then
    pass
  else
    fail "$a: URI SANs are '${uris[*]}', want exactly spiffe://concord.test/agency/$a"
  fi
  [ "$(san_entries "$c")" = 1 ] && pass || fail "$a: SAN must hold only the URI"
  eku=$(openssl x509 -in "$c" -noout -ext extendedKeyUsage)
  expect "$a has clientAuth" grep -q "Client Authentication" <<<"$eku"
  expect "$a has serverAuth" grep -q "Server Authentication" <<<"$eku"
  expect "$a is not a CA" grep -q "CA:FALSE" <(openssl x509 -in "$c" -noout -ext basicConstraints)
  expect "$a valid for ~1 year" openssl x509 -in "$c" -noout -checkend $((360 * 86400))
  expect_not "$a not valid for > 1 year" openssl x509 -in "$c" -noout -checkend $((367 * 86400))
  expect "$a key.pem matches cert" test "$(pub_of "$d/key.pem")" = "$(cert_pub "$c")"
  expect "$a sign.key is Ed25519" grep -q "ED25519" <(openssl pkey -in "$d/sign.key" -noout -text)
  expect "$a sign.pub matches sign.key" test "$(pub_of "$d/sign.key")" = "$(cat "$d/sign.pub")"
  expect "$a seal.key is X25519" grep -q "X25519" <(openssl pkey -in "$d/seal.key" -noout -text)
  expect "$a seal.pub matches seal.key" test "$(pub_of "$d/seal.key")" = "$(cat "$d/seal.pub")"
  expect "$a sign.pub parses" openssl pkey -pubin -in "$d/sign.pub" -noout
  expect "$a seal.pub parses" openssl pkey -pubin -in "$d/seal.pub" -noout
  for k in key.pem sign.key seal.key; do
    [ "$(mode_of "$d/$k")" = 600 ] && pass || fail "$a/$k mode is $(mode_of "$d/$k")"
  done
done

echo "== second run (idempotent)"
(cd "$DIR" && find . -type f -exec sha256sum {} + | sort) >"$WORK/before.sum"
"$PKI_SH" --dir "$DIR" demo >"$WORK/run2.log"
cat "$WORK/run2.log"
(cd "$DIR" && find . -type f -exec sha256sum {} + | sort) >"$WORK/after.sum"
expect "rerun changes no file" cmp -s "$WORK/before.sum" "$WORK/after.sum"
expect_not "rerun creates nothing" grep -q "created" "$WORK/run2.log"

echo "== a lost public key is re-derived, nothing else changes"
rm "$DIR/agencies/admin/ops/seal.pub"
"$PKI_SH" --dir "$DIR" demo >"$WORK/run3.log"
(cd "$DIR" && find . -type f -exec sha256sum {} + | sort) >"$WORK/after3.sum"
expect "seal.pub restored identically" cmp -s "$WORK/before.sum" "$WORK/after3.sum"
expect "run 3 reports seal.pub" grep -q "seal.pub" "$WORK/run3.log"

echo "== single agency, other trust domain, invalid input"
"$PKI_SH" --dir "$WORK/other" --trust-domain concord.example agency police pz-liege >/dev/null
[ "$(uri_sans "$WORK/other/agencies/police/pz-liege/cert.pem")" = \
  "spiffe://concord.example/agency/police/pz-liege" ] && pass || fail "--trust-domain not applied"
expect_not "unknown type refused" "$PKI_SH" --dir "$WORK/bad" agency detective x
expect_not "invalid id refused" "$PKI_SH" --dir "$WORK/bad" agency police Bad_Id
expect_not "no command refused" "$PKI_SH" --dir "$WORK/bad"
expect "help works" "$PKI_SH" --help

echo "pki_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
