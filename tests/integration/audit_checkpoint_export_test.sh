#!/usr/bin/env bash
# The tail of the audit log can no longer be cut without a trace (docs/security.md, "Threats,
# controls and proofs"). The real concord-server (Redis with the shipped ACL) exports every signed
# checkpoint to --audit-checkpoint-dir and to its log. 15 records, a checkpoint at record 10
# exported; then whoever controls Redis deletes records 9..15 and every checkpoint stored there
# and rewinds the head consistently. `concordctl audit verify` alone still says OK (the limit
# Redis alone cannot lift); with --expect-checkpoint (the file, the directory, or the logged
# line) it fails with exit 3 naming records 9..10. An edited export fails its signature check.
# Usage: audit_checkpoint_export_test.sh CONCORDCTL CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: audit_checkpoint_export_test.sh CONCORDCTL CONCORD_SERVER PKI_SH}
REAL_SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-audit-export

"$PKI_SH" --quiet --dir "$PKI" demo
EXPORTS=$WORK/checkpoints
mkdir -p "$EXPORTS"
# stack_lib starts "$SERVER_BIN" with the common flags; the export directory is one more, and a
# long interval keeps the background checkpointer from signing between the steps below.
SERVER_BIN=$WORK/concord-server-exporting
cat >"$SERVER_BIN" <<WRAP
#!/usr/bin/env bash
exec "$REAL_SERVER_BIN" "\$@" --audit-checkpoint-dir "$EXPORTS" --audit-checkpoint-interval-seconds 86400
WRAP
chmod +x "$SERVER_BIN"

start_redis
start_concord_server
for ((i = 0; i < 40; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --timeout 3 health \
    >/dev/null 2>&1 && break
  sleep 0.25
done
# admin/ops reads the audit log as an audit reviewer (registered with that role).
register_admin_ops

head_seq() {
  ctl 0 "verify (head)" admin/ops --json audit verify
  json 'd.get("head_seq", 0)'
}
# grow_to N: audit queries (each adds exactly one record, its own consultation) until the head
# is at N; bounded.
grow_to() {
  local want=$1 i h
  for ((i = 0; i < 40; i++)); do
    h=$(head_seq)
    [ "$h" -ge "$want" ] && break
    ctl 0 "audit query" admin/ops --justification "export test" audit query --object x --limit 1
  done
  equal "head at $want" "$(head_seq)" "$want"
}

echo "== 10 records, a checkpoint at 10 exported"
grow_to 10
ctl 0 "checkpoint --create" admin/ops audit checkpoint --create
contains "signed at record 10" "$OUT" "seq"
FILE=$EXPORTS/checkpoint-00000000000000000010.json
[ -s "$FILE" ] && pass || fail "no exported checkpoint file $FILE (got: $(ls "$EXPORTS"))"
grep -q '"event":"audit.checkpoint".*"seq":"10"' "$WORK/server.log" && pass \
  || fail "no audit.checkpoint log line for seq 10"
grep '"event":"audit.checkpoint".*"seq":"10"' "$WORK/server.log" | tail -n 1 >"$WORK/logged.json"
ctl 0 "verify against the export (intact)" admin/ops audit verify \
  --expect-key "$PKI/audit/sign.pub" --expect-checkpoint "$FILE"
contains "export matches" "$OUT" "exported checkpoint at record 10 matches the chain"

echo "== 15 records, then records 9..15 and every checkpoint deleted in Redis"
grow_to 15
# As an intruder with full Redis rights would (stack_lib's redis-cli is the test-only admin):
# remove the tail, rewind the head to record 8 with its true hash, drop the checkpoints and the
# index entries. The result is a consistent, shorter chain.
CUT="local v = redis.call('HGET', KEYS[1], '8')
for s = 9, 15 do redis.call('HDEL', KEYS[1], tostring(s)) end
redis.call('HSET', KEYS[2], 'seq', '8', 'hash', string.sub(v, 33, 64))
redis.call('DEL', KEYS[3], KEYS[4])
return 1"
redis-cli -p "$REDIS_PORT" eval "$CUT" 4 'concord:{audit}:records' 'concord:{audit}:head' \
  'concord:{audit}:checkpoints' 'concord:{audit}:checkpoint-index' >/dev/null
while IFS= read -r key; do
  redis-cli -p "$REDIS_PORT" zremrangebyscore "$key" 9 +inf >/dev/null
done < <(redis-cli -p "$REDIS_PORT" --scan --pattern 'concord:{audit}:by-*')
equal "head rewound to 8" "$(head_seq)" 8

ctl 0 "verify without the export cannot see the cut" admin/ops audit verify \
  --expect-key "$PKI/audit/sign.pub"
contains "still OK from Redis alone" "$OUT" "audit chain OK: 8 records"

ctl 3 "verify against the exported file" admin/ops audit verify \
  --expect-key "$PKI/audit/sign.pub" --expect-checkpoint "$FILE"
contains "names the missing records" "$OUT" "records 9..10 missing"
contains "says where the log ends" "$OUT" "the log ends at record 8"
contains "names the key source" "$OUT" "signature checked with --expect-key"
ctl 3 "verify against the directory (its latest export)" admin/ops --json audit verify \
  --expect-checkpoint "$EXPORTS"
equal "json missing_from" "$(json 'd["expected_checkpoint"]["missing_from"]')" 9
equal "json missing_to" "$(json 'd["expected_checkpoint"]["missing_to"]')" 10
equal "json key source" "$(json 'd["expected_checkpoint"]["key_source"]')" export-file
ctl 3 "verify against the logged line" admin/ops audit verify \
  --expect-key "$PKI/audit/sign.pub" --expect-checkpoint "$WORK/logged.json"
contains "logged line: missing records" "$OUT" "records 9..10 missing"

echo "== an edited export does not pass"
sed 's/"seq":10/"seq":8/' "$FILE" >"$WORK/edited.json"
ctl 3 "edited export" admin/ops audit verify --expect-checkpoint "$WORK/edited.json"
contains "signature refused" "$OUT" "is not signed by the audit key"
ctl 3 "export under another pinned key" admin/ops audit verify \
  --expect-key "$PKI/agencies/admin/ops/sign.pub" --expect-checkpoint "$FILE"
echo "{}" >"$WORK/garbage.json"
ctl 4 "not an export" admin/ops audit verify --expect-checkpoint "$WORK/garbage.json"
contains "names the field" "$ERR" "format"

echo "audit_checkpoint_export_test: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
