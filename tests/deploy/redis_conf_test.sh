#!/usr/bin/env bash
# Starts redis-server with deploy/redis.conf and deploy/redis-users.acl rendered by
# scripts/redis-acl.sh (only the port, the data directory, the ACL file path and maxmemory are
# changed for the test) and checks what each workload's ACL user may and may not do, and that
# scripted writes survive a restart (AOF replay under the ACL). The full least-privilege matrix
# as the services use it is tests/deploy/redis_acl_redis_test.cc.
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
# Redis never fills silently: a maxmemory and no eviction (Concord refuses new data at its
# watermark, below maxmemory; docs/operations.md "Quotas and limits").
grep -Eq '^maxmemory [1-9][0-9]*(kb|mb|gb)?$' "$src/deploy/redis.conf" || { echo "FAIL: redis.conf sets no maxmemory"; exit 1; }
grep -q '^maxmemory-policy noeviction$' "$src/deploy/redis.conf" || { echo "FAIL: redis.conf must not evict"; exit 1; }
echo "ok   redis.conf: maxmemory set, noeviction"
mkdir -p "$tmp/unchanged"
sed -e "s#^dir .*#dir $tmp/unchanged#" -e "s#^aclfile .*#aclfile $src/deploy/redis-users.acl#" "$src/deploy/redis.conf" > "$tmp/unchanged.conf"
if timeout 10 redis-server "$tmp/unchanged.conf" --port "$port" --supervised no --daemonize no >"$tmp/unchanged.log" 2>&1; then
  echo "FAIL: redis-server accepted the ACL file with the password placeholder"; exit 1
fi
grep -q "ACL errors" "$tmp/unchanged.log" || { cat "$tmp/unchanged.log"; echo "FAIL: unexpected start failure"; exit 1; }
echo "ok   shipped ACL file refuses to load until the password hash is filled in"

# Rendered as a deployment does it (scripts/redis-acl.sh: one generated password per user).
"$src/scripts/redis-acl.sh" --secrets "$tmp/secrets" --out "$tmp/users.acl"
[ "$(stat -c %a "$tmp/users.acl")" = 600 ] || { echo "FAIL: rendered ACL file is not mode 600"; exit 1; }
if grep -q 'REPLACE_WITH' "$tmp/users.acl"; then echo "FAIL: placeholder left in the rendered file"; exit 1; fi
mkdir -p "$tmp/data"
# redis-server applies `dir` while reading the file (chdir), so paths are rewritten in a copy.
sed -e "s#^dir .*#dir $tmp/data#" -e "s#^aclfile .*#aclfile $tmp/users.acl#" "$src/deploy/redis.conf" > "$tmp/redis.conf"
start_server() {
  redis-server "$tmp/redis.conf" --port "$port" --maxmemory 64mb --supervised no --daemonize no >>"$tmp/redis.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$port" PING 2>/dev/null | grep -q -e PONG -e NOAUTH && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/redis.log"; echo "FAIL: redis-server exited"; exit 1; }
    sleep 0.1
  done
  echo "FAIL: redis-server did not answer"; exit 1
}
start_server

fails=0; passes=0
# as USER ARGS...: redis-cli as the ACL user USER of the rendered file.
as() {
  local user=$1; shift
  REDISCLI_AUTH=$(cat "$tmp/secrets/$user.password") redis-cli -p "$port" --user "$user" "$@" 2>&1 || true
}
# expect <user> <description> <pattern> <redis-cli args...>
expect() {
  local user=$1 what=$2 pattern=$3; shift 3
  local out
  out=$(as "$user" "$@")
  if printf '%s' "$out" | grep -Eq -- "$pattern"; then
    passes=$((passes + 1)); echo "ok   $user: $what"
  else
    fails=$((fails + 1)); echo "FAIL $user: $what: got '$out', want /$pattern/"
  fi
}
out=$(redis-cli -p "$port" PING 2>&1 || true)
if printf '%s' "$out" | grep -q NOAUTH; then passes=$((passes + 1)); echo "ok   default user disabled"; else fails=$((fails + 1)); echo "FAIL default user: $out"; fi
out=$(redis-cli --no-auth-warning -p "$port" --user concord-referrals --pass wrong PING 2>&1 || true)
if printf '%s' "$out" | grep -q WRONGPASS; then passes=$((passes + 1)); echo "ok   wrong password refused"; else fails=$((fails + 1)); echo "FAIL wrong password: $out"; fi
out=$(redis-cli --no-auth-warning -p "$port" --user default --pass "" PING 2>&1 || true)
if printf '%s' "$out" | grep -q -e WRONGPASS -e NOAUTH; then passes=$((passes + 1)); echo "ok   nobody logs in as default"; else fails=$((fails + 1)); echo "FAIL login as default: $out"; fi

NOPERM='NOPERM'
for u in concord-directory concord-audit concord-messaging concord-referrals concord-liaison; do
  expect "$u" "PING"                         '^PONG$'   PING
  expect "$u" "FLUSHALL refused"             "$NOPERM"  FLUSHALL
  expect "$u" "KEYS refused"                 "$NOPERM"  KEYS '*'
  expect "$u" "CONFIG refused"               "$NOPERM"  CONFIG GET dir
  expect "$u" "DEBUG refused"                'NOPERM|not allowed' DEBUG SLEEP 0
  expect "$u" "MONITOR refused"              "$NOPERM"  MONITOR
  expect "$u" "SHUTDOWN refused"             "$NOPERM"  SHUTDOWN NOSAVE
  expect "$u" "ACL refused"                  "$NOPERM"  ACL LIST
  expect "$u" "SCRIPT FLUSH refused"         "$NOPERM"  SCRIPT FLUSH
  expect "$u" "FUNCTION refused"             "$NOPERM"  FUNCTION FLUSH
  expect "$u" "outside concord:* refused"    "$NOPERM"  GET secret
  expect "$u" "PUBLISH elsewhere refused"    "$NOPERM"  PUBLISH other:events x
  sub=$(REDISCLI_AUTH=$(cat "$tmp/secrets/$u.password") timeout 1 redis-cli -p "$port" --user "$u" SUBSCRIBE concord:directory:events 2>&1 || true)
  if printf '%s' "$sub" | grep -q '^subscribe'; then passes=$((passes + 1)); echo "ok   $u: SUBSCRIBE concord:directory:events"; else fails=$((fails + 1)); echo "FAIL $u: SUBSCRIBE directory events: $sub"; fi
done
# INFO (Redis memory, for the storage watermark) only for the workloads that store agencies'
# new data; nobody may change the memory settings.
for u in concord-messaging concord-referrals; do
  expect "$u" "INFO memory (storage watermark)" 'used_memory:' INFO memory
done
for u in concord-directory concord-audit; do
  expect "$u" "INFO refused"                 "$NOPERM"  INFO
done
for u in concord-directory concord-audit concord-messaging concord-referrals; do
  expect "$u" "CONFIG SET maxmemory refused" "$NOPERM"  CONFIG SET maxmemory 1
done
# Each workload writes its own tag and nothing else; the directory is readable by all.
expect concord-directory "HSET {dir}"            '^1$'      HSET 'concord:{dir}:agency:police/x' json '{}'
expect concord-directory "PUBLISH directory events" '^[0-9]+$' PUBLISH concord:directory:events reload
expect concord-messaging "HGET {dir} (read-only)" '\{\}'    HGET 'concord:{dir}:agency:police/x' json
expect concord-messaging "HSET {dir} refused"    "$NOPERM"  HSET 'concord:{dir}:agency:police/x' json evil
expect concord-referrals "HSET {dir} refused"    "$NOPERM"  HSET 'concord:{dir}:agency:police/x' json evil
expect concord-audit     "SADD {dir} refused"    "$NOPERM"  SADD 'concord:{dir}:suspended' police/x
expect concord-messaging "PUBLISH directory events refused" "$NOPERM" PUBLISH concord:directory:events reload
expect concord-messaging "XADD own inbox"        '^[0-9]+-[0-9]+$' XADD 'concord:{msg}:inbox:police/x' '*' m m1
expect concord-messaging "XGROUP CREATE"         '^OK$'     XGROUP CREATE 'concord:{msg}:inbox:police/x' g 0
expect concord-messaging "XREADGROUP"            'm1'       XREADGROUP GROUP g c COUNT 1 STREAMS 'concord:{msg}:inbox:police/x' '>'
expect concord-messaging "HSET {ref} refused"    "$NOPERM"  HSET 'concord:{ref}:case:1' c x
expect concord-referrals "HSET own {ref}"        '^1$'      HSET 'concord:{ref}:case:1' c x
expect concord-referrals "XADD {msg} refused"    "$NOPERM"  XADD 'concord:{msg}:inbox:police/x' '*' m forged
# The audit log: only the audit user writes the chain; the others append to their own intake.
expect concord-audit     "HSET the chain"        '^1$'      HSET 'concord:{audit}:records' 1 r
for u in directory messaging referrals; do
  expect "concord-$u" "RPUSH own intake"          '^[0-9]+$' RPUSH "concord:{audit}:intake:$u" entry
  expect "concord-$u" "LTRIM own intake refused"  "$NOPERM"  LTRIM "concord:{audit}:intake:$u" 1 -1
  expect "concord-$u" "DEL own intake refused"    "$NOPERM"  DEL "concord:{audit}:intake:$u"
  expect "concord-$u" "LRANGE own intake refused" "$NOPERM"  LRANGE "concord:{audit}:intake:$u" 0 -1
  expect "concord-$u" "HSET the chain refused"    "$NOPERM"  HSET 'concord:{audit}:records' 2 forged
  expect "concord-$u" "HDEL the chain refused"    "$NOPERM"  HDEL 'concord:{audit}:records' 1
  expect "concord-$u" "RPUSH audit intake refused" "$NOPERM" RPUSH 'concord:{audit}:intake:audit' framed
done
expect concord-messaging "RPUSH another intake refused" "$NOPERM" RPUSH 'concord:{audit}:intake:referrals' framed
expect concord-audit     "LTRIM an intake"       '^OK$'     LTRIM 'concord:{audit}:intake:referrals' 1 -1

# Scripts survive a restart: Redis 7.0 re-checks the MULTI/EXEC blocks it replays from the AOF
# (how script effects are logged) against the `default` user's rights; with `nocommands` every
# scripted write would be dropped on restart. The shipped `default` user is off but keeps them.
sha=$(as concord-referrals SCRIPT LOAD "redis.call('HSET', KEYS[1], 'v', ARGV[1]); redis.call('ZADD', KEYS[2], 1, ARGV[1]); return 1")
expect concord-referrals "EVALSHA on own keys"   '^1$'      EVALSHA "$sha" 2 'concord:{ref}:case:aof' 'concord:{ref}:idx' kept
expect concord-referrals "EVALSHA on {dir} refused" 'NOPERM|No permissions' EVALSHA "$sha" 2 'concord:{dir}:x' 'concord:{dir}:y' x
as concord-audit PING >/dev/null
kill "$pid"; wait "$pid" 2>/dev/null || true
start_server
for _ in $(seq 50); do as concord-referrals PING | grep -q PONG && break; sleep 0.1; done
expect concord-referrals "scripted write kept across a restart (AOF)" '^kept$' HGET 'concord:{ref}:case:aof' v
if grep -q 'CRITICAL' "$tmp/redis.log"; then fails=$((fails + 1)); echo "FAIL AOF replay refused commands:"; grep CRITICAL "$tmp/redis.log" | head -3
else passes=$((passes + 1)); echo "ok   AOF replayed without ACL refusals"; fi

# Persistence: AOF directory created (appendonly yes).
if [ -d "$tmp/data/appendonlydir" ]; then passes=$((passes + 1)); echo "ok   AOF enabled"; else fails=$((fails + 1)); echo "FAIL no appendonlydir"; fi
# Loopback only.
if grep -Eq '^bind 127\.0\.0\.1( -::1)?$' "$src/deploy/redis.conf" && grep -q '^protected-mode yes' "$src/deploy/redis.conf" \
   && grep -q '^appendfsync everysec' "$src/deploy/redis.conf" && grep -q '^maxmemory-policy noeviction' "$src/deploy/redis.conf" \
   && grep -q '^rdbcompression no' "$src/deploy/redis.conf"; then
  passes=$((passes + 1)); echo "ok   bind/protected-mode/appendfsync/noeviction/rdbcompression"
else fails=$((fails + 1)); echo "FAIL redis.conf settings"; fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
