#!/usr/bin/env bash
# Concord development PKI, made with the openssl CLI. Throw-away material for a laptop or CI:
# never use it in production (there cert-manager issues the certificates) and never commit it.
#
# Layout under the PKI dir (default var/pki/ in the repository):
#   ca.pem ca.key                              EC P-256 CA, 10 years, CA:true, keyCertSign+cRLSign
#   server/cert.pem server/key.pem             concord-server: DNS localhost, IP 127.0.0.1,
#                                              URI spiffe://<td>/service/concord-server
#   agencies/<type>/<id>/cert.pem key.pem      agency TLS identity, exactly one URI SAN
#                                              spiffe://<td>/agency/<type>/<id>, 1 year
#   agencies/<type>/<id>/sign.key sign.pub     Ed25519 message-signing key pair (PEM)
#   agencies/<type>/<id>/seal.key seal.pub     X25519 sealing key pair (PEM)
#   audit/audit.key                            AES-256 key for audit records at rest (64 hex chars)
#   audit/sign.key audit/sign.pub              Ed25519 key that signs audit checkpoints
#   notifier/notifier.secret                   the notifier secret Concord's notifiers key their
#                                              message ids with (HMAC-SHA256; 64 hex chars)
# Private keys are mode 600. Idempotent: what exists is reused; a certificate is re-issued only
# when it no longer verifies against the CA or expires within a day.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
PKI_DIR=${CONCORD_PKI_DIR:-$REPO_ROOT/var/pki}
TRUST_DOMAIN=${CONCORD_TRUST_DOMAIN:-concord.test}
QUIET=0

AGENCY_TYPES=(police magistrate reception_centre immigration_office social_inspection
  coordination_unit foreign_partner platform admin guardianship_service)

# At least one agency of every type of PRODUCT.md. "<type>/<id>".
DEMO_AGENCIES=(
  police/pz-brussels-capital
  police/fgp-antwerp-thb
  magistrate/parquet-bruxelles-thb
  reception_centre/pag-asa
  reception_centre/payoke
  reception_centre/surya
  reception_centre/esperanto
  immigration_office/dvz-minteh
  guardianship_service/fps-justice-guardianship
  social_inspection/rsz-onss-brussels
  coordination_unit/icu-thb
  foreign_partner/europol
  platform/example-platform
  admin/ops
  admin/concord-referrals
  admin/concord-directory
  admin/concord-liaison
)

usage() {
  cat <<EOF
Usage: scripts/pki.sh [--dir DIR] [--trust-domain TD] [--quiet] COMMAND

Creates a development PKI for Concord with the openssl CLI. Reuses whatever already exists.

Commands:
  ca                  the CA (ca.pem, ca.key)
  server              the CA + the concord-server certificate (server/cert.pem, server/key.pem)
  agency TYPE ID      the CA + one agency: agencies/TYPE/ID/{cert.pem,key.pem,sign.key,sign.pub,
                      seal.key,seal.pub}; TYPE is one of:
                        ${AGENCY_TYPES[*]}
                      ID matches ^[a-z0-9][a-z0-9-]{0,62}\$
  audit               the audit record key (audit/audit.key, hex) and checkpoint signing key
                      (audit/sign.key, audit/sign.pub)
  gateway             the federation gateway: gateway/{cert.pem,key.pem} (admin/concord-gateway,
                      DNS localhost, IP 127.0.0.1) and its directory export key
                      gateway/{export.key,export.pub} (Ed25519)
  notifier            the notifier secret (notifier/notifier.secret, hex): concord-server's
                      --notifier-secret-file
  demo                all of the above for every demo agency:
$(printf '                        %s\n' "${DEMO_AGENCIES[@]}")
  demo-agencies       prints the demo agencies, one "<type>/<id>" per line
  help                this text

Options:
  --dir DIR           PKI directory (default: \$CONCORD_PKI_DIR or <repo>/var/pki)
  --trust-domain TD   SPIFFE trust domain (default: \$CONCORD_TRUST_DOMAIN or concord.test)
  --quiet             print nothing but errors

Development only: keys are unencrypted files, mode 600. Never commit them.
EOF
}

die() {
  echo "pki: error: $*" >&2
  exit 1
}
say() {
  if [ "$QUIET" -eq 0 ]; then echo "pki: $*"; fi
}

TMP_DIR=""
NEW=()  # files created for the entity being handled, reported by report()
# report LABEL DIR: one line naming what was created for LABEL (nothing when all was reused).
report() {
  if [ ${#NEW[@]} -gt 0 ]; then
    local joined
    joined=$(printf ', %s' "${NEW[@]}")
    say "$1: created ${joined:2} in $2"
  fi
  NEW=()
}
cleanup() { if [ -n "$TMP_DIR" ]; then rm -rf "$TMP_DIR"; fi; }
trap cleanup EXIT
tmp() {
  if [ -z "$TMP_DIR" ]; then TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/concord-pki.XXXXXX"); fi
  echo "$TMP_DIR"
}

# A positive 127-bit random serial (first hex digit 1..7: never negative, never a leading zero).
random_serial() {
  local hex
  hex=$(openssl rand -hex 16)
  echo "0x$(((RANDOM % 7) + 1))${hex:1}"
}

# gen_ec_key FILE: EC P-256 private key (PKCS#8 PEM), mode 600.
gen_ec_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
  chmod 600 "$1"
}

# ensure_keypair ALGORITHM PRIVATE PUBLIC LABEL: Ed25519 / X25519 key pair in PEM.
ensure_keypair() {
  local alg=$1 priv=$2 pub=$3 label=$4
  if [ -s "$priv" ]; then
    openssl pkey -in "$priv" -noout 2>/dev/null || die "$priv ($label key) exists but is not a readable private key"
    chmod 600 "$priv"
  else
    (umask 077 && openssl genpkey -algorithm "$alg" -out "$priv" 2>/dev/null) ||
      die "openssl genpkey -algorithm $alg failed"
    chmod 600 "$priv"
    rm -f "$pub"
    NEW+=("$(basename "$priv")")
  fi
  if [ ! -s "$pub" ]; then
    openssl pkey -in "$priv" -pubout -out "$pub" 2>/dev/null || die "cannot derive $pub"
    chmod 644 "$pub"
    NEW+=("$(basename "$pub")")
  fi
}

ensure_ca() {
  mkdir -p "$PKI_DIR"
  local ca_pem=$PKI_DIR/ca.pem ca_key=$PKI_DIR/ca.key
  if [ -s "$ca_pem" ] && [ -s "$ca_key" ]; then
    openssl x509 -in "$ca_pem" -noout 2>/dev/null || die "$ca_pem is not a certificate"
    chmod 600 "$ca_key"
    return 0
  fi
  if [ -s "$ca_pem" ] || [ -s "$ca_key" ]; then
    die "only one of $ca_pem and $ca_key exists; remove it or restore the other"
  fi
  local cnf
  cnf=$(tmp)/ca.cnf
  cat >"$cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = Concord development
CN = Concord development CA ($TRUST_DOMAIN)
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  gen_ec_key "$ca_key"
  openssl req -new -x509 -config "$cnf" -key "$ca_key" -sha256 -days 3650 \
    -set_serial "$(random_serial)" -out "$ca_pem" 2>/dev/null || die "creating the CA failed"
  chmod 644 "$ca_pem"
  say "created CA $ca_pem (key $ca_key, 10 years)"
}

# issue DIR CN OU SAN DAYS LABEL: DIR/key.pem (kept if present) + DIR/cert.pem signed by the CA.
issue() {
  local dir=$1 cn=$2 ou=$3 san=$4 days=$5 label=$6
  local cert=$dir/cert.pem key=$dir/key.pem
  mkdir -p "$dir"
  if [ -s "$cert" ] && [ -s "$key" ]; then
    if openssl verify -CAfile "$PKI_DIR/ca.pem" "$cert" >/dev/null 2>&1 &&
      openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null 2>&1; then
      chmod 600 "$key"
      return 0
    fi
    say "re-issuing $label certificate: it does not verify against the CA or expires within a day"
  fi
  if [ -s "$key" ]; then
    openssl pkey -in "$key" -noout 2>/dev/null || die "$key exists but is not a readable private key"
    chmod 600 "$key"
  else
    gen_ec_key "$key"
    NEW+=("key.pem")
  fi
  local t cnf csr
  t=$(tmp)
  cnf=$t/leaf.cnf
  csr=$t/leaf.csr
  cat >"$cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
O = Concord development
OU = $ou
CN = $cn
[v3_leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = $san
EOF
  openssl req -new -config "$cnf" -key "$key" -sha256 -out "$csr" 2>/dev/null ||
    die "CSR for $label failed"
  openssl x509 -req -in "$csr" -CA "$PKI_DIR/ca.pem" -CAkey "$PKI_DIR/ca.key" -sha256 \
    -days "$days" -set_serial "$(random_serial)" -extfile "$cnf" -extensions v3_leaf \
    -out "$cert" 2>/dev/null || die "signing the $label certificate failed"
  chmod 644 "$cert"
  local serial
  serial=$(openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//')
  NEW+=("cert.pem (serial $serial, $days days)")
}

ensure_server() {
  ensure_ca
  issue "$PKI_DIR/server" concord-server service \
    "DNS:localhost, IP:127.0.0.1, URI:spiffe://$TRUST_DOMAIN/service/concord-server" 365 "server"
  report "server spiffe://$TRUST_DOMAIN/service/concord-server" "$PKI_DIR/server"
}

# The federation gateway (services/federation): admin/concord-gateway with the server names of its
# partner port (the partner gateway verifies localhost / 127.0.0.1), and the deployment's
# directory export key (Ed25519; its public half is pinned by the partner).
ensure_gateway() {
  ensure_ca
  local dir=$PKI_DIR/gateway
  issue "$dir" concord-gateway admin \
    "DNS:localhost, IP:127.0.0.1, URI:spiffe://$TRUST_DOMAIN/agency/admin/concord-gateway" 365 \
    "gateway"
  ensure_keypair ED25519 "$dir/export.key" "$dir/export.pub" "directory export"
  report "gateway spiffe://$TRUST_DOMAIN/agency/admin/concord-gateway" "$dir"
}

valid_type() {
  local t
  for t in "${AGENCY_TYPES[@]}"; do [ "$t" = "$1" ] && return 0; done
  return 1
}

ensure_agency() {
  local type=$1 id=$2
  valid_type "$type" || die "unknown agency type '$type' (one of: ${AGENCY_TYPES[*]})"
  [[ "$id" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "invalid agency id '$id' (^[a-z0-9][a-z0-9-]{0,62}\$)"
  ensure_ca
  local dir=$PKI_DIR/agencies/$type/$id
  local spiffe=spiffe://$TRUST_DOMAIN/agency/$type/$id
  issue "$dir" "$id" "$type" "URI:$spiffe" 365 "$type/$id"
  ensure_keypair ED25519 "$dir/sign.key" "$dir/sign.pub" "$type/$id signing"
  ensure_keypair X25519 "$dir/seal.key" "$dir/seal.pub" "$type/$id sealing"
  report "agency $spiffe" "$dir"
}

ensure_audit() {
  local dir=$PKI_DIR/audit
  mkdir -p "$dir"
  if [ -s "$dir/audit.key" ]; then
    grep -Eq '^[0-9a-f]{64}$' "$dir/audit.key" || die "$dir/audit.key is not 64 hex characters"
    chmod 600 "$dir/audit.key"
  else
    (umask 077 && openssl rand -hex 32 >"$dir/audit.key")
    chmod 600 "$dir/audit.key"
    NEW+=("audit.key (AES-256, hex)")
  fi
  ensure_keypair ED25519 "$dir/sign.key" "$dir/sign.pub" "audit checkpoint signing"
  report "audit keys" "$dir"
}

ensure_notifier_secret() {
  local dir=$PKI_DIR/notifier
  mkdir -p "$dir"
  if [ -s "$dir/notifier.secret" ]; then
    grep -Eq '^[0-9a-f]{64}$' "$dir/notifier.secret" || die "$dir/notifier.secret is not 64 hex characters"
    chmod 600 "$dir/notifier.secret"
  else
    (umask 077 && openssl rand -hex 32 >"$dir/notifier.secret")
    chmod 600 "$dir/notifier.secret"
    NEW+=("notifier.secret (HMAC key of notification ids, hex)")
  fi
  report "notifier secret" "$dir"
}

command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || die "--dir needs a value"; PKI_DIR=$2; shift 2 ;;
    --dir=*) PKI_DIR=${1#--dir=}; shift ;;
    --trust-domain) [ $# -ge 2 ] || die "--trust-domain needs a value"; TRUST_DOMAIN=$2; shift 2 ;;
    --trust-domain=*) TRUST_DOMAIN=${1#--trust-domain=}; shift ;;
    --quiet | -q) QUIET=1; shift ;;
    -h | --help | help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) break ;;
  esac
done
[[ "$TRUST_DOMAIN" =~ ^[a-z0-9.-]+$ ]] || die "invalid trust domain '$TRUST_DOMAIN'"

[ $# -ge 1 ] || { usage >&2; exit 1; }
cmd=$1
shift
case $cmd in
  ca) [ $# -eq 0 ] || die "ca takes no arguments"; ensure_ca ;;
  server) [ $# -eq 0 ] || die "server takes no arguments"; ensure_server ;;
  agency) [ $# -eq 2 ] || die "usage: pki.sh agency TYPE ID"; ensure_agency "$1" "$2" ;;
  audit) [ $# -eq 0 ] || die "audit takes no arguments"; ensure_audit ;;
  gateway) [ $# -eq 0 ] || die "gateway takes no arguments"; ensure_gateway ;;
  notifier) [ $# -eq 0 ] || die "notifier takes no arguments"; ensure_notifier_secret ;;
  demo)
    [ $# -eq 0 ] || die "demo takes no arguments"
    ensure_server
    ensure_audit
    ensure_notifier_secret
    for a in "${DEMO_AGENCIES[@]}"; do ensure_agency "${a%%/*}" "${a#*/}"; done
    say "PKI ready in $PKI_DIR (trust domain $TRUST_DOMAIN, ${#DEMO_AGENCIES[@]} demo agencies)"
    ;;
  demo-agencies) printf '%s\n' "${DEMO_AGENCIES[@]}" ;;
  *) usage >&2; die "unknown command '$cmd'" ;;
esac
