#!/usr/bin/env bash
# Fault: referrals and liaison across a Redis outage, the server left running.
# A real redis-server (AOF everysec, the shipped ACL) and concord-server (with the referrals and
# liaison notifiers) on free loopback ports, the demo PKI, driven through concordctl only.
# Before the fault: a referral case submitted, a production order issued (both acknowledged).
# The fault, by MODE:
#   term  Redis gets SIGTERM (it fsyncs its AOF and exits), and is started again on the same port
#         and data after the calls below;
#   stop  Redis gets SIGSTOP, past the server's 2 s Redis command timeout, then SIGCONT.
# During the fault a referral Submit (another case) and Transition (accept of the first), a
# liaison CreateRequest and Act (the platform answers the first order) each fail with exit 2 and
# UNAVAILABLE or DEADLINE_EXCEEDED (never INTERNAL), within the call's 5 s timeout plus 1.5 s (no
# hang). After recovery each is retried (bounded) until it holds, every failed attempt UNAVAILABLE
# or DEADLINE_EXCEEDED (a call that failed may still have taken effect when Redis was only frozen:
# the retry then finds it done, docs/reliability.md). Then: everything acknowledged is there in
# the state it was left in; the outbox notifications (before and after the fault) reach the
# centre's and the platform's inboxes, from admin/concord-referrals and admin/concord-liaison,
# within the outbox claim timeout (30 s) plus 10 s; the server is the same process throughout and stops within 15 s of
# SIGTERM.
# Usage: referrals_liaison_redis_test.sh MODE CONCORDCTL CONCORD_SERVER PKI_SH
# shellcheck disable=SC2015,SC2016  # "A && pass || fail" is safe; retry evals its check later
set -euo pipefail

MODE=${1:?usage: referrals_liaison_redis_test.sh term|stop CONCORDCTL CONCORD_SERVER PKI_SH}
CTL=${2:?usage}
REAL_SERVER_BIN=${3:?usage}
PKI_SH=${4:?usage}
case $MODE in term | stop) ;; *) echo "MODE is term or stop" >&2 && exit 2 ;; esac

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/../integration/stack_lib.sh"
stack_setup "concord-fault-ref-lia-$MODE"
"$PKI_SH" --quiet --dir "$PKI" demo
"$PKI_SH" --quiet --dir "$PKI" agency magistrate ij-bruxelles
redis_acl_setup "$WORK/redis-acl" >/dev/null
mkdir -p "$WORK/redis"
REDIS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

SERVER_BIN=$WORK/concord-server-with-notifiers
cat >"$SERVER_BIN" <<WRAP
#!/usr/bin/env bash
exec "$REAL_SERVER_BIN" "\$@" --referrals-notifier-dir "$PKI/agencies/admin/concord-referrals" \
  --liaison-notifier-dir "$PKI/agencies/admin/concord-liaison" \
  --notifier-secret-file "$PKI/notifier/notifier.secret"
WRAP
chmod +x "$SERVER_BIN"

start_aof_redis
start_concord_server 0
FIRST_SERVER_PID=$SERVER_PID
wait_server_healthy

POLICE=police/pz-brussels-capital
PAGASA=reception_centre/pag-asa
JUDGE=magistrate/ij-bruxelles
PLATFORM=platform/example-platform
register_admin_ops
for a in "$POLICE" "$PAGASA" "$PLATFORM" admin/concord-referrals admin/concord-liaison; do
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done
ctl 0 "register $JUDGE" admin/ops "${ACCOUNT[@]}" directory register \
  --from-pki "$PKI/agencies/$JUDGE" --jurisdiction BE-BRU --attribute magistrate_role=investigating_judge

ATTRS=(--form sexual --origin-country BR --nationality-class third_country --age-band 25-34
  --gender woman --region BE-BRU)
PERSONAL=(--name "Fault Test" --dob 1997-02-03 --nationality BR --language pt --consent)
ORDER_ARGS=(--type production_order --executor "$PLATFORM" --data-category content
  --offence-max-years 5 --emergency --do-not-inform-user)
SHA=$(printf 'evidence package' | sha256sum | cut -d' ' -f1)

echo "== before the fault: a case submitted, an order issued, a second case drafted"
ctl 0 "draft case 1" "$POLICE" --json referral draft "${ATTRS[@]}" --centre "$PAGASA" "${PERSONAL[@]}"
CASE1=$(json 'd["case"]["case_id"]')
ctl 0 "submit case 1" "$POLICE" referral submit "$CASE1"
ctl 0 "draft case 2" "$POLICE" --json referral draft "${ATTRS[@]}" --centre "$PAGASA" "${PERSONAL[@]}"
CASE2=$(json 'd["case"]["case_id"]')
ctl 0 "issue order 1" "$JUDGE" --json liaison create "${ORDER_ARGS[@]}"
ORDER1=$(json 'd["request"]["request_id"]')

# down_call DESCRIPTION AGENCY ARGS...: fails with exit 2 and UNAVAILABLE or DEADLINE_EXCEEDED,
# never INTERNAL, within the 5 s timeout plus 1.5 s.
declare -a DOWN_FIGURES=()
down_call() {
  local what=$1 start elapsed
  shift
  start=$(date +%s%3N)
  CTL_TIMEOUT=5 ctl 2 "$what while Redis is down" "$@"
  elapsed=$(($(date +%s%3N) - start))
  grep -qE 'UNAVAILABLE|DEADLINE_EXCEEDED' <<<"$ERR" && pass ||
    fail "$what: want UNAVAILABLE or DEADLINE_EXCEEDED, got: $ERR"
  not_contains "$what: never INTERNAL" "$ERR" "INTERNAL"
  [ "$elapsed" -le 6500 ] && pass || fail "$what took ${elapsed} ms (timeout 5 s): a hang"
  DOWN_FIGURES+=("$(tr ' ' '_' <<<"$what")=${elapsed}ms:$(grep -oE 'UNAVAILABLE|DEADLINE_EXCEEDED' <<<"$ERR" | head -1)")
}

echo "== the fault ($MODE): every call fails with UNAVAILABLE or DEADLINE_EXCEEDED"
if [ "$MODE" = term ]; then
  kill -TERM "$REDIS_PID"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$REDIS_PID" 2>/dev/null || true
else
  kill -STOP "$REDIS_PID"
fi
down_call "referral submit" "$POLICE" referral submit "$CASE2"
down_call "referral accept" "$PAGASA" referral transition accept "$CASE1"
down_call "liaison create" "$JUDGE" liaison create "${ORDER_ARGS[@]}"
down_call "liaison answer" "$PLATFORM" liaison act "$ORDER1" answer --evidence "msg-evidence-000001:$SHA:16"

echo "== recovery without restarting the server"
if [ "$MODE" = term ]; then start_aof_redis; else kill -CONT "$REDIS_PID"; fi

# retry DESCRIPTION DONE_CHECK AGENCY ARGS...: until the call returns OK or DONE_CHECK (a shell
# command) says that the call that failed took effect after all; bounded (40 attempts).
ATTEMPTS=()
retry() {
  local what=$1 done_check=$2 agency=$3 rc i
  shift 3
  for ((i = 1; i <= 40; i++)); do
    rc=0
    "$CTL" --agency-dir "$PKI/agencies/$agency" --server "127.0.0.1:$PORT" --timeout 5 "$@" \
      >"$WORK/out" 2>"$WORK/err" || rc=$?
    OUT=$(cat "$WORK/out")
    [ "$rc" = 0 ] && break
    if grep -qE 'UNAVAILABLE|DEADLINE_EXCEEDED' "$WORK/err"; then
      sleep 0.25
      continue
    fi
    eval "$done_check" && break
    fail "$what: a retry failed with something else than UNAVAILABLE: $(cat "$WORK/err")"
    return
  done
  [ "$i" -le 40 ] && pass || fail "$what never succeeded after the fault"
  ATTEMPTS+=("$(tr ' ' '_' <<<"$what")=$i")
}
case_state() { # AGENCY CASE
  "$CTL" --agency-dir "$PKI/agencies/$1" --server "127.0.0.1:$PORT" --timeout 5 --json \
    referral get "$2" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["case"]["state"])' 2>/dev/null || true
}
request_state() { # AGENCY REQUEST
  "$CTL" --agency-dir "$PKI/agencies/$1" --server "127.0.0.1:$PORT" --timeout 5 --json \
    liaison show "$2" 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["state"])' 2>/dev/null || true
}
retry "referral submit" '[ "$(case_state "$POLICE" "$CASE2")" = CASE_STATE_REFERRED ]' \
  "$POLICE" referral submit "$CASE2"
retry "referral accept" '[ "$(case_state "$PAGASA" "$CASE1")" = CASE_STATE_ACCEPTED ]' \
  "$PAGASA" referral transition accept "$CASE1"
retry "liaison create" false "$JUDGE" --json liaison create "${ORDER_ARGS[@]}"
ORDER2=$(json 'd["request"]["request_id"]' 2>/dev/null || true)
retry "liaison answer" '[ "$(request_state "$PLATFORM" "$ORDER1")" = REQUEST_STATE_ANSWERED ]' \
  "$PLATFORM" liaison act "$ORDER1" answer --evidence "msg-evidence-000001:$SHA:16"

echo "== nothing acknowledged is lost"
equal "case 1 accepted" "$(case_state "$PAGASA" "$CASE1")" CASE_STATE_ACCEPTED
equal "case 2 referred" "$(case_state "$POLICE" "$CASE2")" CASE_STATE_REFERRED
equal "order 1 answered" "$(request_state "$JUDGE" "$ORDER1")" REQUEST_STATE_ANSWERED
equal "order 2 issued" "$(request_state "$JUDGE" "$ORDER2")" REQUEST_STATE_ISSUED
ctl 0 "the judge lists the orders" "$JUDGE" --json liaison list
ORDERS=$(json 'len(d.get("requests", []))')
# A create that failed while Redis was frozen may have been stored after all (then retried): two
# or three orders, never fewer.
[ "$ORDERS" -ge 2 ] && [ "$ORDERS" -le 3 ] && pass || fail "the judge has $ORDERS orders, want 2 (3 if a failed create took effect)"

echo "== the outbox notifications of the calls after the fault go out"
# notes AGENCY SENDER THREAD: notifications from SENDER in AGENCY's inbox (THREAD "" = any).
notes() {
  "$CTL" --agency-dir "$PKI/agencies/$1" --server "127.0.0.1:$PORT" --timeout 5 --json \
    message inbox 2>/dev/null | /usr/bin/python3 -c 'import json,sys
try:
    d=json.load(sys.stdin)
except Exception:
    print(0); sys.exit(0)
print(sum(1 for e in d.get("entries", []) if e["sender"] == sys.argv[1] and
          (sys.argv[2] == "" or e.get("thread_id") == sys.argv[2])))' "$2" "$3"
}
# wait_notes WHAT AGENCY SENDER THREAD N: until at least N such notifications, bounded (40 s: a
# notification whose send failed while Redis was frozen is retried after the outbox claim
# timeout, 30 s, docs/reliability.md "Found by the suite").
declare -a NOTE_FIGURES=()
wait_notes() {
  local n=0 start
  start=$(date +%s%3N)
  for ((i = 0; i < 160; i++)); do
    n=$(notes "$2" "$3" "$4")
    [ "$n" -ge "$5" ] && break
    sleep 0.25
  done
  [ "$n" -ge "$5" ] && pass || fail "$1: $n notification(s) from $3, want at least $5"
  NOTE_FIGURES+=("$(tr ' ' '_' <<<"$1")=$(($(date +%s%3N) - start))ms")
}
wait_notes "case 2 submitted after the fault" "$PAGASA" admin/concord-referrals "$CASE2" 1
wait_notes "case 1 notified before the fault" "$PAGASA" admin/concord-referrals "$CASE1" 1
wait_notes "both orders notified to the platform" "$PLATFORM" admin/concord-liaison "" 2

equal "the same server process" "$SERVER_PID" "$FIRST_SERVER_PID"
kill -0 "$SERVER_PID" 2>/dev/null && pass || fail "concord-server died"
kill -TERM "$SERVER_PID"
for ((i = 0; i < 150; i++)); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$SERVER_PID" 2>/dev/null && fail "concord-server did not stop within 15 s" || pass
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
echo "FIGURES referrals_liaison_redis_$MODE ${DOWN_FIGURES[*]} attempts_after: ${ATTEMPTS[*]} notifications_waited: ${NOTE_FIGURES[*]} orders=$ORDERS"
echo "referrals and liaison across a Redis $MODE: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
