#!/usr/bin/env bash
# Renders Concord's Redis ACL file (deploy/redis-users.acl: one user per workload, the `default`
# user off) for one deployment: each user's password placeholder becomes the SHA-256 of its
# password, taken from <secrets>/<user>.password, which is generated (32 random bytes, hex,
# mode 600) when it does not exist yet. Passwords are never printed and never committed; a
# second run reuses them, so the rendered file is stable.
#
#   scripts/redis-acl.sh --secrets var/redis-secrets --out var/redis/users.acl
#
# Then start Redis with `aclfile <out>` and each Concord module with its own password file:
#   --redis-<workload>-password-file <secrets>/concord-<workload>.password
# (or CONCORD_REDIS_<WORKLOAD>_PASSWORD_FILE), see docs/redis.md and docs/operations.md.
#
# --test-admin NAME  adds a user NAME with every right (password in <secrets>/NAME.password):
#                    for test scripts that tamper with Redis on purpose. Never in production.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ACL=$SCRIPT_DIR/../deploy/redis-users.acl
SECRETS=""
OUT=""
TEST_ADMIN=""
PLACEHOLDER='#REPLACE_WITH_SHA256_OF_PASSWORD'

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  echo "Usage: scripts/redis-acl.sh --secrets DIR --out FILE [--acl FILE] [--test-admin NAME]"
}
die() {
  echo "redis-acl.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --secrets) SECRETS=${2:?--secrets needs a directory}; shift ;;
    --out) OUT=${2:?--out needs a file}; shift ;;
    --acl) ACL=${2:?--acl needs a file}; shift ;;
    --test-admin) TEST_ADMIN=${2:?--test-admin needs a user name}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done
[ -n "$SECRETS" ] && [ -n "$OUT" ] || { usage >&2; die "--secrets and --out are required"; }
[ -r "$ACL" ] || die "cannot read $ACL"
command -v sha256sum >/dev/null || die "sha256sum not found (coreutils)"

(umask 077 && mkdir -p "$SECRETS")
chmod 700 "$SECRETS"

# password_of USER: the password file of USER, created when missing.
password_of() {
  local file=$SECRETS/$1.password
  if [ ! -s "$file" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  echo "$file"
}
sha_of() { tr -d '\n' <"$1" | sha256sum | cut -d' ' -f1; }

tmp=$(mktemp "${OUT}.XXXXXX")
trap 'rm -f "$tmp"' EXIT
chmod 600 "$tmp"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    "user "*) ;;
    *) die "$ACL: ACL files hold only 'user' lines, got: $line" ;;
  esac
  name=${line#user }
  name=${name%% *}
  if [[ $line == *"$PLACEHOLDER"* ]]; then
    hash=$(sha_of "$(password_of "$name")")
    line=${line/"$PLACEHOLDER"/"#$hash"}
  fi
  printf '%s\n' "$line" >>"$tmp"
done <"$ACL"
if [ -n "$TEST_ADMIN" ]; then
  printf 'user %s on #%s ~* &* +@all\n' "$TEST_ADMIN" "$(sha_of "$(password_of "$TEST_ADMIN")")" \
    >>"$tmp"
fi
mv "$tmp" "$OUT"
trap - EXIT
