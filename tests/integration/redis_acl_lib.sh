# Shared by the scripts that start their own redis-server (sourced, not run): Redis runs with the
# shipped ACL file (deploy/redis-users.acl rendered by scripts/redis-acl.sh, one generated
# password per workload user, `default` off, as in production) plus a test-only admin user; the
# Concord binaries find each workload's password through CONCORD_REDIS_<WORKLOAD>_PASSWORD_FILE;
# `redis-cli` (a function) runs as the test-only admin user, for inspecting and tampering.
#
#   redis_acl_setup DIR   renders DIR/users.acl (passwords in DIR/secrets) and sets
#                         REDIS_ACL_FILE; add `--aclfile "$REDIS_ACL_FILE"` to redis-server.

REDIS_ACL_SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/redis-acl.sh
REDIS_ACL_FILE=""
REDIS_SECRETS=""
REDIS_TEST_ADMIN=concord-test-admin

redis_acl_setup() {
  REDIS_SECRETS=$1/secrets
  REDIS_ACL_FILE=$1/users.acl
  mkdir -p "$1"
  "$REDIS_ACL_SCRIPT" --secrets "$REDIS_SECRETS" --out "$REDIS_ACL_FILE" \
    --test-admin "$REDIS_TEST_ADMIN"
  local user workload var
  for user in $(sed -n 's/^user \(concord-[a-z0-9-]*\) .*/\1/p' "$REDIS_ACL_FILE"); do
    [ "$user" = "$REDIS_TEST_ADMIN" ] && continue
    workload=${user#concord-}
    var=CONCORD_REDIS_$(tr 'a-z-' 'A-Z_' <<<"$workload")_PASSWORD_FILE
    export "$var=$REDIS_SECRETS/$user.password"
  done
}

# (The password goes through REDISCLI_AUTH, not the command line other users can read.)
redis-cli() {
  REDISCLI_AUTH=$(cat "$REDIS_SECRETS/$REDIS_TEST_ADMIN.password") \
    command redis-cli --user "$REDIS_TEST_ADMIN" "$@"
}
