#!/usr/bin/env bash
# Starts redis-server with deploy/redis.conf and deploy/redis-users.acl (only the port, the data
# directory, the ACL file path and maxmemory are changed for the test) and checks what the
# Concord ACL user may and may not do.
#   redis_conf_test.sh <source-dir>
set -euo pipefail
src=${1:?source dir}
for b in redis-server redis-cli; do
  command -v "$b" >/dev/null || { echo "FAIL: $b not found (apt-get install redis-server redis-tools)"; exit 1; }
done
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The shipped ACL file must not load unchanged (placeholder instead of a password hash): Redis
# refuses to start with it (fail closed). ACL files allow no comment lines.
grep -q 'REPLACE_WITH_SHA256_OF_PASSWORD' "$src/deploy/redis-users.acl"
if grep -vq '^user ' "$src/deploy/redis-users.acl"; then echo "FAIL: ACL files may only hold 'user' lines"; exit 1; fi
mkdir -p "$tmp/unchanged"
sed -e "s#^dir .*#dir $tmp/unchanged#" -e "s#^aclfile .*#aclfile $src/deploy/redis-users.acl#" "$src/deploy/redis.conf" > "$tmp/unchanged.conf"
if timeout 10 redis-server "$tmp/unchanged.conf" --port "$port" --supervised no --daemonize no >"$tmp/unchanged.log" 2>&1; then
  echo "FAIL: redis-server accepted the ACL file with the password placeholder"; exit 1
fi
grep -q "ACL errors" "$tmp/unchanged.log" || { cat "$tmp/unchanged.log"; echo "FAIL: unexpected start failure"; exit 1; }
echo "ok   shipped ACL file refuses to load until the password hash is filled in"

pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
hash=$(printf %s "$pw" | sha256sum | cut -d' ' -f1)
sed "s/REPLACE_WITH_SHA256_OF_PASSWORD/$hash/" "$src/deploy/redis-users.acl" > "$tmp/users.acl"
mkdir -p "$tmp/data"
# redis-server applies `dir` while reading the file (chdir), so paths are rewritten in a copy.
sed -e "s#^dir .*#dir $tmp/data#" -e "s#^aclfile .*#aclfile $tmp/users.acl#" "$src/deploy/redis.conf" > "$tmp/redis.conf"
redis-server "$tmp/redis.conf" --port "$port" --maxmemory 64mb --supervised no --daemonize no >"$tmp/redis.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  redis-cli -p "$port" PING 2>/dev/null | grep -q -e PONG -e NOAUTH && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/redis.log"; echo "FAIL: redis-server exited"; exit 1; }
  sleep 0.1
done

fails=0; passes=0
# expect <description> <pattern> <redis-cli args...>  (runs as the concord user)
expect() {
  local what=$1 pattern=$2; shift 2
  local out
  out=$(redis-cli --no-auth-warning -p "$port" --user concord --pass "$pw" "$@" 2>&1 || true)
  if printf '%s' "$out" | grep -Eq -- "$pattern"; then
    passes=$((passes + 1)); echo "ok   $what"
  else
    fails=$((fails + 1)); echo "FAIL $what: got '$out', want /$pattern/"
  fi
}
out=$(redis-cli -p "$port" PING 2>&1 || true)
if printf '%s' "$out" | grep -q NOAUTH; then passes=$((passes + 1)); echo "ok   default user disabled"; else fails=$((fails + 1)); echo "FAIL default user: $out"; fi
out=$(redis-cli --no-auth-warning -p "$port" --user concord --pass wrong PING 2>&1 || true)
if printf '%s' "$out" | grep -q WRONGPASS; then passes=$((passes + 1)); echo "ok   wrong password refused"; else fails=$((fails + 1)); echo "FAIL wrong password: $out"; fi

expect "PING"                       '^PONG$'      PING
expect "HSET on concord:*"          '^1$'         HSET 'concord:{dir}:agency:police/x' state active
expect "HMGET"                      'active'      HMGET 'concord:{dir}:agency:police/x' state
expect "HSET outside concord:*"     'NOPERM'      HSET 'other:key' a b
expect "GET outside concord:*"      'NOPERM'      GET 'secret'
expect "SADD/SMEMBERS"              '^1$'         SADD 'concord:{dir}:agencies' police/x
expect "ZADD"                       '^1$'         ZADD 'concord:{audit}:by-object:o' 1 1
expect "XADD on a stream"           '^[0-9]+-[0-9]+$' XADD 'concord:{agency:police/x}:inbox' '*' id m1
expect "XGROUP CREATE"              '^OK$'        XGROUP CREATE 'concord:{agency:police/x}:inbox' g 0
expect "XREADGROUP"                 'm1'          XREADGROUP GROUP g c COUNT 1 STREAMS 'concord:{agency:police/x}:inbox' '>'
expect "XINFO GROUPS"               'name'        XINFO GROUPS 'concord:{agency:police/x}:inbox'
expect "PEXPIRE"                    '^1$'         PEXPIRE 'concord:{dir}:agency:police/x' 600000
sha=$(redis-cli --no-auth-warning -p "$port" --user concord --pass "$pw" SCRIPT LOAD "return redis.call('HGET', KEYS[1], ARGV[1])" 2>&1)
if [[ "$sha" =~ ^[0-9a-f]{40}$ ]]; then passes=$((passes + 1)); echo "ok   SCRIPT LOAD"; else fails=$((fails + 1)); echo "FAIL SCRIPT LOAD: $sha"; fi
expect "EVALSHA on concord:*"       'active'      EVALSHA "$sha" 1 'concord:{dir}:agency:police/x' state
expect "EVALSHA outside concord:*"  'NOPERM|No permissions' EVALSHA "$sha" 1 'other:key' a
expect "EVAL"                       '^1$'         EVAL "return redis.call('SADD', KEYS[1], ARGV[1])" 1 'concord:{dir}:suspended' police/y
expect "FLUSHDB refused"            'NOPERM'      FLUSHDB
expect "PUBLISH concord channel"    '^[0-9]+$'    PUBLISH concord:directory:events reload
expect "PUBLISH other channel"      'NOPERM'      PUBLISH other:events x
expect "FLUSHALL refused"           'NOPERM'      FLUSHALL
expect "KEYS refused"               'NOPERM'      KEYS '*'
expect "CONFIG refused"             'NOPERM'      CONFIG GET dir
expect "DEBUG refused"              'NOPERM|not allowed' DEBUG SLEEP 0
expect "MONITOR refused"            'NOPERM'      MONITOR
expect "SHUTDOWN refused"           'NOPERM'      SHUTDOWN NOSAVE
expect "ACL refused"                'NOPERM'      ACL LIST
expect "SCRIPT FLUSH refused"       'NOPERM'      SCRIPT FLUSH
expect "FUNCTION refused"           'NOPERM'      FUNCTION FLUSH
expect "INFO refused"               'NOPERM'      INFO

# SUBSCRIBE: allowed on concord:*, refused elsewhere (redis-cli prints the first reply and waits).
sub_ok=$(timeout 2 redis-cli --no-auth-warning -p "$port" --user concord --pass "$pw" SUBSCRIBE concord:directory:events 2>&1 || true)
if printf '%s' "$sub_ok" | grep -q 'subscribe'; then passes=$((passes + 1)); echo "ok   SUBSCRIBE concord channel"; else fails=$((fails + 1)); echo "FAIL SUBSCRIBE concord channel: $sub_ok"; fi
sub_no=$(timeout 2 redis-cli --no-auth-warning -p "$port" --user concord --pass "$pw" SUBSCRIBE other 2>&1 || true)
if printf '%s' "$sub_no" | grep -q 'NOPERM'; then passes=$((passes + 1)); echo "ok   SUBSCRIBE other channel refused"; else fails=$((fails + 1)); echo "FAIL SUBSCRIBE other: $sub_no"; fi

# Persistence: AOF directory created (appendonly yes).
if [ -d "$tmp/data/appendonlydir" ]; then passes=$((passes + 1)); echo "ok   AOF enabled"; else fails=$((fails + 1)); echo "FAIL no appendonlydir"; fi
# Loopback only.
if grep -Eq '^bind 127\.0\.0\.1( -::1)?$' "$src/deploy/redis.conf" && grep -q '^protected-mode yes' "$src/deploy/redis.conf" \
   && grep -q '^appendfsync everysec' "$src/deploy/redis.conf" && grep -q '^maxmemory-policy noeviction' "$src/deploy/redis.conf"; then
  passes=$((passes + 1)); echo "ok   bind/protected-mode/appendfsync/noeviction"
else fails=$((fails + 1)); echo "FAIL redis.conf settings"; fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
