#!/usr/bin/env bash
# Brings up a complete single-machine Concord stack and runs the demo scenario:
#   packages (scripts/deps.sh) -> build (scripts/build.sh) -> dev PKI (scripts/pki.sh demo)
#   -> Redis ACL file with generated passwords (scripts/redis-acl.sh: one user per workload)
#   -> redis-server (127.0.0.1, AOF, that ACL) -> concord-server (all services, each module on
#   its own Redis user, mTLS :7443, health :7081, metrics :9464, signed audit checkpoints
#   exported to var/audit-checkpoints/) -> demo agencies registered -> demo scenario.
# A second run reuses what exists (PKI, Redis passwords and data, running processes, registered
# agencies).
# Stop everything with: ./scripts/up.sh --stop
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

BUILD_DIR=${CONCORD_BUILD_DIR:-build}
REDIS_PORT=${CONCORD_REDIS_PORT:-6390}
REDIS_MAXMEMORY=${CONCORD_REDIS_MAXMEMORY:-1gb}
LISTEN=127.0.0.1:7443
HEALTH=127.0.0.1:7081
METRICS=127.0.0.1:9464
TRUST_DOMAIN=concord.test
PKI=$ROOT/var/pki
RUN_DIR=$ROOT/var/run
LOG_DIR=$ROOT/var/log
REDIS_DIR=$ROOT/var/redis
# Generated Redis passwords (never committed: var/ is ignored) and the rendered ACL file.
REDIS_ACL_DIR=$ROOT/var/redis-acl
REDIS_SECRETS=$REDIS_ACL_DIR/secrets
REDIS_ACL_FILE=$REDIS_ACL_DIR/users.acl
CHECKPOINT_DIR=$ROOT/var/audit-checkpoints
REDIS_PID=$RUN_DIR/redis.pid
REDIS_ACL_LOADED=$RUN_DIR/redis-acl.loaded  # the ACL file as the running redis-server read it
SERVER_PID=$RUN_DIR/concord-server.pid
REDIS_LOG=$LOG_DIR/redis.log
SERVER_LOG=$LOG_DIR/concord-server.log
ADMIN_DIR=$PKI/agencies/admin/ops
HEALTH_WAIT_SECONDS=30

if [ -t 1 ]; then
  BOLD=$'\e[1m' GREEN=$'\e[32m' RED=$'\e[31m' YELLOW=$'\e[33m' BLUE=$'\e[34m' RESET=$'\e[0m'
else
  BOLD="" GREEN="" RED="" YELLOW="" BLUE="" RESET=""
fi

info() { echo "${BLUE}up:${RESET} $*"; }
ok() { echo "${GREEN}up:${RESET} $*"; }
warn() { echo "${YELLOW}up: warning:${RESET} $*" >&2; }
die() {
  echo "${RED}up: error:${RESET} $*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: ./scripts/up.sh [--skip-deps] [--skip-build] [--no-demo]
       ./scripts/up.sh --stop
       ./scripts/up.sh --help

Brings up Concord on this machine (Debian 12; run as root, or with sudo for the packages):
  1. installs the missing apt packages   (scripts/deps.sh)
  2. configures and builds, Release -j2  (scripts/build.sh, into $BUILD_DIR/)
  3. creates the dev PKI under var/pki/  (scripts/pki.sh demo)
  4. starts redis-server on 127.0.0.1:$REDIS_PORT (AOF, data in var/redis/, maxmemory
     $REDIS_MAXMEMORY without eviction) with one ACL user per workload (deploy/redis-users.acl;
     passwords generated into var/redis-acl/secrets/)
  5. starts concord-server: mTLS gRPC $LISTEN, plaintext health $HEALTH,
     metrics http://$METRICS/metrics (log var/log/concord-server.log); every module logs in to
     Redis as its own user; signed audit checkpoints are exported to var/audit-checkpoints/
  6. registers the demo agencies and runs the demo scenario with concordctl (directory, audit,
     secure messaging: sealed message + attachment, verified read, receipts, H2 forward refused;
     referrals: one case from detection to a registration certificate, notifications, the
     sealed personal record opened by the magistrate, non-parties refused; guidelines: the
     seed set signed and published, received and acknowledged by police and a centre,
     compliance, the outreach leaflet exported as static pages; liaison: a preservation and an
     8-hour production order to a platform, a prosecutor's content-data order refused)
  7. starts a partner deployment (trust domain partner.test: its own CA var/partner/pki, its own
     redis-server 127.0.0.1:6391 and concord-server 127.0.0.1:7543) and one federation gateway
     per side (concord-gateway: agencies 127.0.0.1:7445 / 7545, partner ports 7446 / 7546),
     registers the federation on both sides, and the demo issues an EIO liaison request to the
     partner's prosecutor, sends it across with its signed descriptor (the partner's liaison
     service then shows the request with its acknowledgement deadline in the executor's zone),
     acknowledges it (the acknowledgement crosses back to our request) and answers it, shows a
     partner agency off the allow-list refused and both audit chains verify
A second run reuses what exists (and warns when a running process predates the build or the
Redis ACL file). The stack keeps running until ./scripts/up.sh --stop.

Options:
  --skip-deps    do not run scripts/deps.sh
  --skip-build   do not run scripts/build.sh (the binaries must exist)
  --no-demo      register the agencies but skip the demo scenario
  --stop         stop both deployments: gateways, concord-servers, redis-servers (SIGTERM,
                 bounded wait)
  --help         this text

Environment: CONCORD_REDIS_PORT (default 6390), CONCORD_PARTNER_REDIS_PORT (default 6391),
CONCORD_REDIS_MAXMEMORY (default 1gb),
CONCORD_BUILD_DIR (default build),
CONCORD_JOBS (build parallelism, default 2).
EOF
}

# ---- process helpers -------------------------------------------------------------------------

# pid_alive PIDFILE NAME: true if PIDFILE names a live process whose command is NAME.
pid_alive() {
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null
}

# stop_process PIDFILE NAME SECONDS
stop_process() {
  local pidfile=$1 name=$2 seconds=$3 pid i
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    info "$name is not running"
    return 0
  fi
  pid=$(cat "$pidfile")
  info "stopping $name (pid $pid, SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name did not stop within ${seconds}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  ok "$name stopped"
}

port_in_use() {
  local port=$1
  if command -v ss >/dev/null; then
    ss -Hltn "sport = :$port" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

find_binary() {
  local name=$1 candidate
  for candidate in "$BUILD_DIR/exe/$name" "$BUILD_DIR/exe/${name//-/_}/$name" \
    "$BUILD_DIR/cli/concordctl/$name"; do
    if [ -x "$candidate" ] && [ -f "$candidate" ]; then
      echo "$ROOT/$candidate"
      return 0
    fi
  done
  candidate=$(find "$BUILD_DIR" -type f -name "$name" -perm -u+x 2>/dev/null | head -n 1)
  [ -n "$candidate" ] || return 1
  echo "$(cd "$(dirname "$candidate")" && pwd)/$name"
}

# ---- stop --------------------------------------------------------------------------------------

do_stop() {
  federation_stop  # the gateways and the partner deployment (scripts/federation.sh)
  stop_process "$SERVER_PID" concord-server 20
  stop_process "$REDIS_PID" redis-server 15
  ok "Concord stopped (data kept in var/redis/, PKI in var/pki/)"
}

# ---- start -------------------------------------------------------------------------------------

# redis_ping: PONG from Redis as the audit workload's ACL user (the default user is off). The
# password goes through the environment, not the command line.
redis_ping() {
  REDISCLI_AUTH=$(cat "$REDIS_SECRETS/concord-audit.password") \
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --user concord-audit ping 2>&1
}

start_redis() {
  mkdir -p "$REDIS_DIR" "$RUN_DIR" "$LOG_DIR"
  # One ACL user per workload; their passwords are generated once and reused.
  ./scripts/redis-acl.sh --secrets "$REDIS_SECRETS" --out "$REDIS_ACL_FILE"
  if pid_alive "$REDIS_PID" redis-server; then
    local out
    out=$(redis_ping || true)
    if grep -q PONG <<<"$out"; then
      ok "redis-server already running on 127.0.0.1:$REDIS_PORT (pid $(cat "$REDIS_PID")), reused"
      # Redis reads its ACL file at start only: a release that grants its workloads new
      # commands (deploy/redis-users.acl) needs a restart, or its calls are refused NOPERM.
      if [ -f "$REDIS_ACL_LOADED" ] && ! cmp -s "$REDIS_ACL_FILE" "$REDIS_ACL_LOADED"; then
        warn "the running redis-server loaded an older ACL (var/redis-acl/users.acl changed since" \
          "it started): this build's commands may be refused NOPERM; restart it:" \
          "./scripts/up.sh --stop && ./scripts/up.sh"
      fi
      return 0
    fi
    if grep -q -e NOAUTH -e WRONGPASS -e NOPERM <<<"$out"; then
      die "redis-server (pid $(cat "$REDIS_PID")) runs without Concord's per-workload ACL users" \
        "(started by an older up.sh?): restart it with ./scripts/up.sh --stop && ./scripts/up.sh"
    fi
    die "redis-server (pid $(cat "$REDIS_PID")) runs but does not answer on port $REDIS_PORT"
  fi
  rm -f "$REDIS_PID"
  # Exported checkpoints belong to the log in var/redis/: kept from a log that is gone, they
  # would (rightly) make every verification fail. Set them aside, never delete them.
  if [ ! -d "$REDIS_DIR/appendonlydir" ] && compgen -G "$CHECKPOINT_DIR/checkpoint-*.json" >/dev/null; then
    local aside=$CHECKPOINT_DIR.orphaned-$(date +%Y%m%d%H%M%S)
    mv "$CHECKPOINT_DIR" "$aside"
    warn "var/redis/ holds no audit log but var/audit-checkpoints/ held exports: moved to ${aside#"$ROOT/"}"
  fi
  if port_in_use "$REDIS_PORT"; then
    die "port $REDIS_PORT is in use by another process; set CONCORD_REDIS_PORT to a free port"
  fi
  info "starting redis-server on 127.0.0.1:$REDIS_PORT (AOF everysec, data in var/redis/, ACL var/redis-acl/users.acl)"
  # Redis never fills silently: a maxmemory (CONCORD_REDIS_MAXMEMORY, default 1gb) without
  # eviction; concord-server refuses new messages, uploads and drafts at 85 % of it.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
    --maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy noeviction \
    --appendonly yes --appendfsync everysec --rdbcompression no --dir "$REDIS_DIR" \
    --aclfile "$REDIS_ACL_FILE" \
    --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    if redis_ping | grep -q PONG; then
      cp "$REDIS_ACL_FILE" "$REDIS_ACL_LOADED"
      ok "redis-server up (pid $(cat "$REDIS_PID" 2>/dev/null || echo '?'), log var/log/redis.log)"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$REDIS_LOG" >&2 || true
  die "redis-server did not answer PING within 10 s (log above: $REDIS_LOG)"
}

ctl_admin() { "$CONCORDCTL" --agency-dir "$ADMIN_DIR" --ca "$PKI/ca.pem" --server "$LISTEN" "$@"; }

wait_for_health() {
  local deadline=$((SECONDS + HEALTH_WAIT_SECONDS)) out
  while ((SECONDS < deadline)); do
    # kill -0, not pid_alive: right after the fork the child may not have exec'd concord-server
    # yet (its cmdline is still this script's).
    if ! kill -0 "$(cat "$SERVER_PID" 2>/dev/null || echo 0)" 2>/dev/null; then
      echo "---- last lines of $SERVER_LOG ----" >&2
      tail -n 30 "$SERVER_LOG" >&2 || true
      die "concord-server exited during start-up (log above)"
    fi
    if out=$(ctl_admin --timeout 2 health 2>&1) && grep -q SERVING <<<"$out"; then
      return 0
    fi
    sleep 0.5
  done
  echo "---- last concordctl health answer ----" >&2
  echo "$out" >&2
  echo "---- last lines of $SERVER_LOG ----" >&2
  tail -n 30 "$SERVER_LOG" >&2 || true
  die "concord-server not SERVING after ${HEALTH_WAIT_SECONDS}s"
}

start_server() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if pid_alive "$SERVER_PID" concord-server; then
    ok "concord-server already running (pid $(cat "$SERVER_PID")), reused"
    if readlink "/proc/$(cat "$SERVER_PID")/exe" 2>/dev/null | grep -q '(deleted)'; then
      warn "the running concord-server predates the last build; restart it to use the new one:" \
        "./scripts/up.sh --stop && ./scripts/up.sh"
    fi
    wait_for_health
    return 0
  fi
  rm -f "$SERVER_PID"
  local addr
  for addr in "$LISTEN" "$HEALTH" "$METRICS"; do
    if port_in_use "${addr##*:}"; then
      die "port ${addr##*:} is in use by another process (stop it, or ./scripts/up.sh --stop)"
    fi
  done
  info "starting concord-server (mTLS $LISTEN, health $HEALTH, metrics $METRICS)"
  mkdir -p "$CHECKPOINT_DIR"
  # Each module's Redis password, by file (never on the command line).
  CONCORD_REDIS_DIRECTORY_PASSWORD_FILE=$REDIS_SECRETS/concord-directory.password \
    CONCORD_REDIS_AUDIT_PASSWORD_FILE=$REDIS_SECRETS/concord-audit.password \
    CONCORD_REDIS_MESSAGING_PASSWORD_FILE=$REDIS_SECRETS/concord-messaging.password \
    CONCORD_REDIS_REFERRALS_PASSWORD_FILE=$REDIS_SECRETS/concord-referrals.password \
    CONCORD_REDIS_GUIDELINES_PASSWORD_FILE=$REDIS_SECRETS/concord-guidelines.password \
    CONCORD_REDIS_LIAISON_PASSWORD_FILE=$REDIS_SECRETS/concord-liaison.password \
    nohup "$SERVER_BIN" \
    --listen-address "$LISTEN" --health-address "$HEALTH" --metrics-address "$METRICS" \
    --tls-cert "$PKI/server/cert.pem" --tls-key "$PKI/server/key.pem" --tls-ca "$PKI/ca.pem" \
    --trust-domain "$TRUST_DOMAIN" --redis-host 127.0.0.1 --redis-port "$REDIS_PORT" \
    --audit-key-file "$PKI/audit/audit.key" --audit-signing-key-file "$PKI/audit/sign.key" \
    --audit-checkpoint-dir "$CHECKPOINT_DIR" \
    --referrals-notifier-dir "$PKI/agencies/admin/concord-referrals" \
    --bootstrap-directory-admins admin/ops \
    --directory-notifier-dir "$PKI/agencies/admin/concord-directory" \
    --liaison-notifier-dir "$PKI/agencies/admin/concord-liaison" \
    --notifier-secret-file "$PKI/notifier/notifier.secret" \
    >>"$SERVER_LOG" 2>&1 </dev/null &
  echo $! >"$SERVER_PID"
  wait_for_health
  ok "concord-server SERVING (pid $(cat "$SERVER_PID"), log var/log/concord-server.log)"
}

# Directory data of the demo agencies:
# "<type>/<id>|name|jurisdiction|specialisations|languages|capacity|attributes" (capacity:
# reception centres' places, used with region and declared profiles to rank centres for
# referrals; attributes: typed rights and roles, services/directory/README.md "Attributes").
# The centres declare their region and no language profile: all three work with interpreters
# (DOMAIN.md §1), so none is invented here; only recognised centres request residence documents.
# admin/ops is the deployment's directory administrator and audit reviewer: the server starts
# with --bootstrap-directory-admins admin/ops, so admin/ops may register itself with these roles
# on an empty directory; the bootstrap grant ends as soon as it is registered.
DEMO_DATA=(
  "admin/ops|Concord operations|BE|operations|en||directory_administrator=true,audit_reviewer=true"
  "police/pz-brussels-capital|Police zone Brussels Capital Ixelles - vice squad|BE-BRU|thb,vice|fr,nl,en||"
  "police/fgp-antwerp-thb|Federal judicial police Antwerp - THB unit|BE-VAN|thb,labour_exploitation|nl,en||"
  "magistrate/parquet-bruxelles-thb|Brussels public prosecutor - reference magistrate THB|BE-BRU|thb|fr,nl||magistrate_role=prosecutor"
  "reception_centre/pag-asa|PAG-ASA|BE-BRU|thb,victim_support||24|recognised_centre=true"
  "reception_centre/payoke|Payoke|BE-VLG|thb,victim_support||20|recognised_centre=true"
  "reception_centre/surya|Sürya|BE-WAL|thb,victim_support||16|recognised_centre=true"
  "reception_centre/esperanto|Esperanto (shelter for unaccompanied minors)|BE-WAL|minors||10|minors_shelter=true"
  "guardianship_service/fps-justice-guardianship|FPS Justice - Guardianship Service|BE|guardianship|||"
  "immigration_office/dvz-minteh|Immigration Office - MINTEH cell|BE|thb,residence|nl,fr||"
  "social_inspection/rsz-onss-brussels|Social inspection NSSO Brussels|BE-BRU|labour_exploitation|fr,nl||"
  "coordination_unit/icu-thb|Interdepartmental Coordination Unit THB|BE|coordination|nl,fr,de,en||guideline_publisher=true"
  "foreign_partner/europol|Europol - AP Phoenix|EU|thb|en||"
  "platform/example-platform|Example online platform|BE|online_ads|en||"
  "admin/concord-referrals|Concord referrals notifier (case notifications)|BE|notifications|en||"
  "admin/concord-directory|Concord directory notifier (announcements of directory changes)|BE|notifications|en||"
  "admin/concord-liaison|Concord liaison notifier (orders, 8-hour alerts, deadline reminders)|BE|notifications|en||"
)

# Every directory change names the officer and why (services/directory/README.md).
UP_ACCOUNTABILITY=(--officer up.sh --justification "up.sh: register the demo agencies")

register_agencies() {
  local dir key name jurisdiction specs langs capacity attributes row args out rc registered=0
  local existing=0 updated=0 keys=()
  # admin/ops first: the bootstrap grant lets it register itself as directory administrator.
  keys+=(admin/ops)
  for dir in "$PKI"/agencies/*/*/; do
    dir=${dir%/}
    key=${dir#"$PKI/agencies/"}
    [ "$key" = admin/ops ] || keys+=("$key")
  done
  for key in "${keys[@]}"; do
    dir=$PKI/agencies/$key
    name="" jurisdiction="BE" specs="" langs="" capacity="" attributes=""
    for row in "${DEMO_DATA[@]}"; do
      if [ "${row%%|*}" = "$key" ]; then
        IFS='|' read -r _ name jurisdiction specs langs capacity attributes <<<"$row"
      fi
    done
    args=(directory register --from-pki "$dir" --jurisdiction "$jurisdiction")
    [ -n "$name" ] && args+=(--name "$name")
    local s profile=()
    for s in ${specs//,/ }; do profile+=(--specialisation "$s"); done
    for s in ${langs//,/ }; do profile+=(--language "$s"); done
    [ -n "$capacity" ] && profile+=(--capacity "$capacity")
    for s in ${attributes//,/ }; do profile+=(--attribute "$s"); done
    rc=0
    out=$(ctl_admin "${UP_ACCOUNTABILITY[@]}" "${args[@]}" "${profile[@]}" 2>&1) || rc=$?
    if [ $rc -eq 0 ]; then
      registered=$((registered + 1))
      info "registered $key"
    elif grep -q ALREADY_EXISTS <<<"$out"; then
      existing=$((existing + 1))
      # Agencies registered by an earlier version of this script: bring their referral profile
      # (specialisations, languages, capacity) and attributes up to date (an update that changes
      # nothing is not announced).
      if [ -n "$capacity" ] || [ -n "$attributes" ]; then
        # A centre that declares no language drops languages an earlier run gave it.
        [ -n "$capacity" ] && [ -z "$langs" ] && profile+=(--clear-languages)
        [ -n "$name" ] && profile+=(--name "$name")
        rc=0
        out=$(ctl_admin "${UP_ACCOUNTABILITY[@]}" directory update "$key" --jurisdiction \
          "$jurisdiction" "${profile[@]}" 2>&1) || rc=$?
        if [ $rc -ne 0 ]; then
          echo "$out" >&2
          die "updating $key failed (exit $rc)"
        fi
        updated=$((updated + 1))
      fi
    else
      echo "$out" >&2
      die "registering $key failed (exit $rc)"
    fi
  done
  ok "directory: $registered agencies registered, $existing already there ($updated profiles refreshed)"
}

STEP=0
step() {
  STEP=$((STEP + 1))
  echo
  echo "${BOLD}==> step $STEP: $*${RESET}"
}
# show CMD...: prints the command (as a user would type it) and runs it.
show() {
  echo "${BOLD}\$${RESET} concordctl ${*}"
}

ctl_as() {
  local agency=$1
  shift
  "$CONCORDCTL" --agency-dir "$PKI/agencies/$agency" --server "$LISTEN" "$@"
}

# demo CMD...: runs concordctl (as given) and stops the demo with a clear message on failure.
demo() {
  local rc=0
  "$@" || rc=$?
  if [ $rc -ne 0 ]; then
    die "demo step $STEP failed (concordctl exit code $rc); the stack is still running (see var/log/concord-server.log)"
  fi
}

# poll_health AGENCY WANT: polls `concordctl health` as AGENCY until it exits 0 (WANT=served) or
# nonzero (WANT=refused), at most 10 s (suspension takes effect within 5 s on every replica).
poll_health() {
  local agency=$1 want=$2 i rc=0
  for ((i = 0; i < 20; i++)); do
    rc=0
    HEALTH_OUT=$(ctl_as "$agency" --timeout 3 health 2>&1) || rc=$?
    HEALTH_RC=$rc
    if [ "$want" = served ] && [ $rc -eq 0 ]; then return 0; fi
    if [ "$want" = refused ] && [ $rc -ne 0 ]; then return 0; fi
    sleep 0.5
  done
  return 1
}

run_demo() {
  local demo_agency=police/fgp-antwerp-thb admin="--agency-dir var/pki/agencies/admin/ops" out

  step "list the registered agencies (as admin/ops)"
  show "$admin directory list"
  demo ctl_admin directory list

  step "who am I? the identity in the certificate of $demo_agency"
  show "--agency-dir var/pki/agencies/$demo_agency whoami"
  demo ctl_as "$demo_agency" whoami

  step "$demo_agency calls the server over mTLS: health"
  show "--agency-dir var/pki/agencies/$demo_agency health"
  demo ctl_as "$demo_agency" health

  step "the directory administrator suspends $demo_agency (officer and justification required)"
  show "$admin --officer ops-demo --justification \"demo: drill\" directory suspend $demo_agency --reason \"demo: suspension drill\""
  out=$(demo ctl_admin --officer ops-demo --justification "demo: drill" directory suspend \
    "$demo_agency" --reason "demo: suspension drill")
  grep -E '^(suspended|state|suspension reason)' <<<"$out" || echo "$out"

  step "$demo_agency calls again: refused while suspended (effect within 5 s)"
  show "--agency-dir var/pki/agencies/$demo_agency health"
  poll_health "$demo_agency" refused || die "the suspended agency was still served after 10 s"
  echo "$HEALTH_OUT"
  ok "refused as expected (concordctl exit code $HEALTH_RC)"

  step "the directory administrator reinstates $demo_agency; its calls are served again"
  show "$admin --officer ops-demo --justification \"demo: drill over\" directory reinstate $demo_agency"
  out=$(demo ctl_admin --officer ops-demo --justification "demo: drill over" directory reinstate \
    "$demo_agency")
  grep -E '^(reinstated|state)' <<<"$out" || echo "$out"
  show "--agency-dir var/pki/agencies/$demo_agency health"
  if ! poll_health "$demo_agency" served; then
    echo "$HEALTH_OUT" >&2
    die "the reinstated agency is still refused after 10 s"
  fi
  echo "$HEALTH_OUT"

  step "Concord's own notifier identity (admin/concord-referrals) may only send notifications"
  show "--agency-dir var/pki/agencies/admin/concord-referrals --officer x --justification x directory update reception_centre/payoke --sealing-key ..."
  refused "the referrals notifier changing a centre's keys" ctl_as admin/concord-referrals \
    --officer x --justification x directory update reception_centre/payoke \
    --sealing-key "$PKI/agencies/admin/concord-referrals/seal.pub"

  step "every change of an agency's record is announced to it: the signed notification from admin/concord-directory in payoke's inbox"
  local payoke=reception_centre/payoke announce_id=""
  show "--agency-dir var/pki/agencies/$payoke message inbox --thread directory"
  for ((i = 0; i < 40; i++)); do
    out=$(ctl_as "$payoke" message inbox --thread directory 2>&1) || true
    announce_id=$(awk '$2 == "admin/concord-directory" { print $1; exit }' <<<"$out")
    [ -n "$announce_id" ] && break
    sleep 0.25
  done
  echo "$out"
  [ -n "$announce_id" ] || die "no announcement from admin/concord-directory in the inbox of $payoke after 10 s"
  show "--agency-dir var/pki/agencies/$payoke message read $announce_id"
  demo ctl_as "$payoke" message read "$announce_id"

  step "revocations: nothing is revoked in this demo"
  show "$admin directory revocations"
  demo ctl_admin directory revocations

  step "the audit trail of agency:$demo_agency (admin, with a stated justification)"
  show "$admin --justification \"demo: review suspension\" audit query --object agency:$demo_agency"
  demo ctl_admin --justification "demo: review suspension" audit query \
    --object "agency:$demo_agency" --page-size 10 --limit 10

  step "sign a checkpoint of the audit chain head (exported outside Redis), then verify the whole chain against it"
  show "$admin audit checkpoint --create"
  demo ctl_admin audit checkpoint --create
  local exported
  exported=$(ls "$CHECKPOINT_DIR"/checkpoint-*.json 2>/dev/null | tail -n 1)
  [ -n "$exported" ] || die "no checkpoint exported to var/audit-checkpoints/ (see var/log/concord-server.log)"
  echo "exported: ${exported#"$ROOT/"}"
  show "$admin audit verify --expect-key var/pki/audit/sign.pub --expect-checkpoint ${exported#"$ROOT/"}"
  demo ctl_admin audit verify --expect-key "$PKI/audit/sign.pub" --expect-checkpoint "$exported"

  run_messaging_demo
}

# Secure messaging (issue 3): sealed and signed in concordctl with the agency keys of var/pki/;
# the server only sees ciphertext. Demo content is fictitious.
run_messaging_demo() {
  local police=police/pz-brussels-capital pagasa=reception_centre/pag-asa
  local magistrate=magistrate/parquet-bruxelles-thb payoke=reception_centre/payoke
  local admin="--agency-dir var/pki/agencies/admin/ops" demo_dir=$ROOT/var/demo id h2_id rc out
  mkdir -p "$demo_dir"
  printf 'Fictitious demo document (up.sh): proces-verbaal PV-DEMO-0001, 2 pages.\n' \
    >"$demo_dir/pv-demo-0001.txt"

  step "$police sends the police report (PV) to $magistrate only: a sealed, signed H1 message with an attachment"
  show "--agency-dir var/pki/agencies/$police message send --to $magistrate \\
    --handling H1 --source B --accuracy 2 --case-ref DEMO-0001 --expires-in 7d \\
    --body \"Demo: PV of the hearing, for the reference magistrate.\" --attach var/demo/pv-demo-0001.txt"
  out=$(demo ctl_as "$police" --officer demo-inspector message send --to "$magistrate" \
    --handling H1 --source B --accuracy 2 --case-ref DEMO-0001 --expires-in 7d \
    --body "Demo: PV of the hearing, for the reference magistrate." \
    --attach "$demo_dir/pv-demo-0001.txt")
  echo "$out"
  id=$(sed -n 's/^message id: *//p' <<<"$out")
  [ -n "$id" ] || die "no message id in the send output"

  step "$magistrate reads it: signature verified, opened with its own key, attachment checked; read receipt"
  show "--agency-dir var/pki/agencies/$magistrate message read $id --out-dir var/demo/magistrate --overwrite --receipt"
  demo ctl_as "$magistrate" --officer demo-magistrate message read "$id" \
    --out-dir "$demo_dir/magistrate" --overwrite --receipt

  step "$police sends $pagasa a referral note (a centre never receives the PV)"
  show "--agency-dir var/pki/agencies/$police message send --to $pagasa --handling H1 --case-ref DEMO-0001 \\
    --body \"Demo: referral note ...\""
  out=$(demo ctl_as "$police" --officer demo-inspector message send --to "$pagasa" \
    --handling H1 --case-ref DEMO-0001 --expires-in 7d \
    --body "Demo: referral note - a presumed victim is referred to you; please contact us to arrange the intake.")
  echo "$out"
  local note_msg
  note_msg=$(sed -n 's/^message id: *//p' <<<"$out")
  [ -n "$note_msg" ] || die "no message id in the send output"
  show "--agency-dir var/pki/agencies/$pagasa message read $note_msg --receipt"
  demo ctl_as "$pagasa" --officer demo-social-worker message read "$note_msg" --receipt

  step "$police lists the receipts of its message, each verified against the recipient's key"
  show "--agency-dir var/pki/agencies/$police message receipts $id"
  demo ctl_as "$police" message receipts "$id"

  step "an H2 message may not be forwarded without the provider's permission"
  show "--agency-dir var/pki/agencies/$police message send --to $pagasa --handling H2 --body ..."
  out=$(demo ctl_as "$police" --officer demo-inspector message send --to "$pagasa" \
    --handling H2 --body "Demo: H2 information, not to be disseminated without permission.")
  h2_id=$(sed -n 's/^message id: *//p' <<<"$out")
  [ -n "$h2_id" ] || die "no message id in the send output"
  echo "sent H2 message $h2_id"
  show "--agency-dir var/pki/agencies/$pagasa message forward $h2_id --to $payoke"
  rc=0
  out=$(ctl_as "$pagasa" message forward "$h2_id" --to "$payoke" 2>&1) || rc=$?
  echo "$out"
  if [ $rc -ne 2 ] || ! grep -q PERMISSION_DENIED <<<"$out"; then
    die "the H2 forward without permission was not refused with PERMISSION_DENIED (exit $rc)"
  fi
  ok "refused as expected (concordctl exit code $rc)"

  step "every messaging step is in the audit chain: verify it again, against the latest exported checkpoint"
  show "$admin audit verify --expect-key var/pki/audit/sign.pub --expect-checkpoint var/audit-checkpoints"
  demo ctl_admin audit verify --expect-key "$PKI/audit/sign.pub" --expect-checkpoint "$CHECKPOINT_DIR"

  run_referral_demo
}

# refused_with WHAT REASON CMD...: runs concordctl, which must fail with exit 2 naming REASON.
refused_with() {
  local what=$1 reason=$2 rc=0 out
  shift 2
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  if [ $rc -ne 2 ] || ! grep -q "$reason" <<<"$out"; then
    die "$what was not refused with $reason (exit $rc)"
  fi
  ok "refused as expected: $reason (concordctl exit code $rc)"
}

# Every victim has a path (issue 13): a Belgian victim (no Immigration Office step) and an
# unaccompanied minor (Guardianship Service, 3-month attestation directly), beside the case above.
run_referral_paths_demo() {
  local police=police/pz-brussels-capital pagasa=reception_centre/pag-asa
  local surya=reception_centre/surya esperanto=reception_centre/esperanto
  local magistrate=magistrate/parquet-bruxelles-thb office=immigration_office/dvz-minteh
  local guardianship=guardianship_service/fps-justice-guardianship
  local p="--agency-dir var/pki/agencies" out case_id minor_id personal

  step "referral (Belgian victim): $police refers a Belgian woman to $pagasa; no residence document is needed"
  personal=var/demo-personal-be.json
  (umask 077 && cat >"$personal" <<'JSON'
{"name": "Demo Belgian Person (fictitious)", "dob": "1995-07-02", "nationality": "BE",
 "languages": ["nl", "fr"], "contact": "via the centre", "consent": true}
JSON
  )
  local be_attrs=(--form forced_labour --origin-country BE --nationality-class belgian
    --age-band 18-24 --gender woman --region BE-BRU)
  show "$p/$police referral draft ${be_attrs[*]} --centre $pagasa --personal-file $personal"
  out=$(demo ctl_as "$police" --officer demo-inspector referral draft "${be_attrs[@]}" \
    --centre "$pagasa" --personal-file "$personal")
  rm -f "$personal"
  case_id=$(sed -n 's/^\(created\|saved\) draft \(ref-[a-z0-9]*\).*/\2/p' <<<"$out")
  [ -n "$case_id" ] || die "no case id in the draft output"
  echo "draft $case_id"
  out=$(demo ctl_as "$police" referral submit "$case_id")
  head -n 1 <<<"$out"
  out=$(demo ctl_as "$pagasa" referral transition accept "$case_id")
  head -n 1 <<<"$out"
  show "$p/$pagasa referral transition request-document $case_id --document reflection --immigration-office $office"
  refused_with "a residence document for a Belgian victim" NO_RESIDENCE_DOCUMENT \
    ctl_as "$pagasa" referral transition request-document "$case_id" --document reflection \
    --immigration-office "$office" --name "x" --dob 1995-07-02 --nationality BE
  show "$p/$police referral transition record-statement $case_id"
  out=$(demo ctl_as "$police" referral transition record-statement "$case_id")
  head -n 1 <<<"$out"
  out=$(demo ctl_as "$pagasa" referral transition assign-magistrate "$case_id" --to "$magistrate")
  head -n 1 <<<"$out"
  show "$p/$magistrate referral transition record-victim-opinion $case_id"
  out=$(demo ctl_as "$magistrate" --officer demo-magistrate referral transition \
    record-victim-opinion "$case_id")
  head -n 1 <<<"$out"
  show "$p/$pagasa referral get $case_id"
  demo ctl_as "$pagasa" referral get "$case_id"

  step "referral (unaccompanied minor): a 15-year-old alone in Liège; the shelter for minors is suggested first"
  local minor_attrs=(--form criminal_activities --origin-country AF --nationality-class third_country
    --age-band 12-17 --gender man --unaccompanied-minor --region BE-WLG)
  show "$p/$police referral suggest ${minor_attrs[*]}"
  demo ctl_as "$police" referral suggest "${minor_attrs[@]}"
  personal=var/demo-personal-minor.json
  (umask 077 && cat >"$personal" <<'JSON'
{"name": "Demo Minor (fictitious)", "dob": "2011-05-20", "nationality": "AF",
 "languages": ["ps", "fa"], "interpreter_needed": true, "contact": "via the shelter",
 "consent": true}
JSON
  )
  show "$p/$police referral draft ${minor_attrs[*]} --centre $surya --guardianship $guardianship --personal-file $personal"
  out=$(demo ctl_as "$police" --officer demo-inspector referral draft "${minor_attrs[@]}" \
    --centre "$surya" --guardianship "$guardianship" --personal-file "$personal")
  rm -f "$personal"
  minor_id=$(sed -n 's/^\(created\|saved\) draft \(ref-[a-z0-9]*\).*/\2/p' <<<"$out")
  [ -n "$minor_id" ] || die "no case id in the draft output"
  echo "draft $minor_id"
  out=$(demo ctl_as "$police" referral submit "$minor_id")
  head -n 1 <<<"$out"
  out=$(demo ctl_as "$surya" --officer demo-social-worker referral transition accept "$minor_id")
  head -n 1 <<<"$out"

  step "referral (unaccompanied minor): $guardianship records the guardian, sealed to $surya and itself only"
  show "$p/$guardianship referral transition record-guardian $minor_id --guardian-name ... --guardian-designated-on ..."
  out=$(demo ctl_as "$guardianship" --officer demo-guardianship referral transition \
    record-guardian "$minor_id" --guardian-name "Demo Guardian (fictitious)" \
    --guardian-contact "via the Guardianship Service" --guardian-designated-on 2026-11-30)
  head -n 1 <<<"$out"

  step "referral (unaccompanied minor): $surya requests the 3-month attestation directly (no reflection period); the identity fields go sealed to $office only"
  show "$p/$surya referral transition request-document $minor_id --document attestation --immigration-office $office"
  out=$(demo ctl_as "$surya" --officer demo-social-worker referral transition request-document \
    "$minor_id" --document attestation --immigration-office "$office")
  grep -E '^(REQUEST_DOCUMENT|identity)' <<<"$out" || head -n 1 <<<"$out"
  show "$p/$office referral open $minor_id --box document-identity --justification \"issue the attestation of registration\""
  demo ctl_as "$office" --officer demo-minteh referral open "$minor_id" --box document-identity \
    --justification "issue the attestation of registration"
  show "$p/$office referral transition issue-attestation $minor_id"
  out=$(demo ctl_as "$office" --officer demo-minteh referral transition issue-attestation "$minor_id")
  echo "$out"
  show "$p/$guardianship referral get $minor_id"
  demo ctl_as "$guardianship" referral get "$minor_id"

  step "referral: the cases side by side (as the centres list them)"
  show "$p/$pagasa referral list"
  demo ctl_as "$pagasa" referral list
  show "$p/$surya referral list"
  demo ctl_as "$surya" referral list
}

# refused WHAT CMD...: runs concordctl, which must fail with exit 2 and PERMISSION_DENIED.
refused() {
  local what=$1 rc=0 out
  shift
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  if [ $rc -ne 2 ] || ! grep -q PERMISSION_DENIED <<<"$out"; then
    die "$what was not refused with PERMISSION_DENIED (exit $rc)"
  fi
  ok "refused as expected (concordctl exit code $rc)"
}

# Referrals (issue 4): ONE new case each run, from detection to a registration certificate, each
# step by the agency the procedure names. The personal record is fictitious; it is sealed in
# concordctl to the centre (and later the magistrate) and never stored in clear.
run_referral_demo() {
  local police=police/pz-brussels-capital pagasa=reception_centre/pag-asa
  local magistrate=magistrate/parquet-bruxelles-thb office=immigration_office/dvz-minteh
  local icu=coordination_unit/icu-thb case_id out i
  # Clear attributes are coarse: gender identity "woman" (her trans experience is sealed), the
  # origin country (no sub-national text), no languages (sealed; they only rank centres).
  local attrs=(--form sexual --origin-country BR --nationality-class third_country --age-band 25-34
    --gender woman --region BE-BRU)
  local p="--agency-dir var/pki/agencies"

  step "referral: $police asks which centre suits a Portuguese/Spanish-speaking trans woman in Brussels"
  show "$p/$police referral suggest ${attrs[*]} --language pt --language es --support-need gender_diversity"
  demo ctl_as "$police" referral suggest "${attrs[@]}" --language pt --language es \
    --support-need gender_diversity

  step "referral: $police saves a draft to $pagasa; the personal record is sealed locally"
  # Personal data from a 0600 file, not on the command line (other local users see argv).
  local personal=var/demo-personal.json
  (umask 077 && cat >"$personal" <<'JSON'
{"name": "Demo Person (fictitious)", "used_name": "Demo (fictitious)", "pronouns": "she/her",
 "dob": "1998-03-14", "nationality": "BR", "gender_identity": "trans woman",
 "trans_experience": "yes", "languages": ["pt", "es"], "interpreter_needed": true,
 "contact": "via the centre", "consent": true, "notes": "fictitious demo record"}
JSON
  )
  show "$p/$police referral draft ${attrs[*]} --centre $pagasa \\
    --case-reference PV-DEMO-0002 --personal-file $personal"
  out=$(demo ctl_as "$police" --officer demo-inspector referral draft "${attrs[@]}" \
    --centre "$pagasa" --case-reference PV-DEMO-0002 --personal-file "$personal")
  rm -f "$personal"
  echo "$out"
  case_id=$(sed -n 's/^\(created\|saved\) draft \(ref-[a-z0-9]*\).*/\2/p' <<<"$out")
  [ -n "$case_id" ] || die "no case id in the draft output"

  step "referral: $police validates the draft field by field, then submits it (REFERRED)"
  show "$p/$police referral validate $case_id"
  demo ctl_as "$police" referral validate "$case_id"
  show "$p/$police referral submit $case_id"
  out=$(demo ctl_as "$police" --officer demo-inspector referral submit "$case_id")
  head -n 1 <<<"$out"

  step "referral: the notification (a sealed Concord message from admin/concord-referrals) arrives in $pagasa's inbox"
  show "$p/$pagasa message inbox --thread $case_id"
  for ((i = 0; i < 40; i++)); do
    out=$(ctl_as "$pagasa" message inbox --thread "$case_id" 2>&1) || true
    grep -q "admin/concord-referrals" <<<"$out" && break
    sleep 0.25
  done
  echo "$out"
  grep -q "admin/concord-referrals" <<<"$out" || die "no referral notification in the inbox of $pagasa after 10 s"
  local note_id
  note_id=$(awk '$2 == "admin/concord-referrals" { print $1; exit }' <<<"$out")
  show "$p/$pagasa message read $note_id"
  demo ctl_as "$pagasa" message read "$note_id"

  step "referral: $pagasa accepts the case and asks $office for the reflection document"
  show "$p/$pagasa referral transition accept $case_id"
  out=$(demo ctl_as "$pagasa" --officer demo-social-worker referral transition accept "$case_id")
  head -n 1 <<<"$out"
  show "$p/$pagasa referral transition request-document $case_id --document reflection --immigration-office $office"
  out=$(demo ctl_as "$pagasa" --officer demo-social-worker referral transition request-document \
    "$case_id" --document reflection --immigration-office "$office")
  head -n 1 <<<"$out"

  step "referral: $office issues the 45-day reflection document (REFLECTION)"
  show "$p/$office referral transition issue-reflection-document $case_id"
  out=$(demo ctl_as "$office" --officer demo-minteh referral transition issue-reflection-document "$case_id")
  head -n 1 <<<"$out"
  grep -E '^(document valid until|deadline)' <<<"$out" || true

  step "referral: $police records the statement (STATEMENT_MADE)"
  show "$p/$police referral transition record-statement $case_id"
  out=$(demo ctl_as "$police" --officer demo-inspector referral transition record-statement "$case_id")
  head -n 1 <<<"$out"

  step "referral: $pagasa requests the attestation of registration; $office issues it"
  show "$p/$pagasa referral transition request-document $case_id --document registration_attestation"
  out=$(demo ctl_as "$pagasa" referral transition request-document "$case_id" \
    --document registration_attestation)
  head -n 1 <<<"$out"
  show "$p/$office referral transition issue-attestation $case_id"
  out=$(demo ctl_as "$office" referral transition issue-attestation "$case_id")
  head -n 1 <<<"$out"

  step "referral: $pagasa assigns $magistrate; its record is re-sealed to centre + magistrate"
  show "$p/$pagasa referral transition assign-magistrate $case_id --to $magistrate"
  out=$(demo ctl_as "$pagasa" referral transition assign-magistrate "$case_id" --to "$magistrate")
  grep -E '^(ASSIGN_MAGISTRATE|re-sealed|sealed record)' <<<"$out" || echo "$out"

  step "referral: $magistrate records the opinion that the person is a victim"
  show "$p/$magistrate referral transition record-victim-opinion $case_id"
  out=$(demo ctl_as "$magistrate" --officer demo-magistrate referral transition record-victim-opinion "$case_id")
  head -n 1 <<<"$out"

  step "referral: $magistrate opens the sealed personal record, with a justification (audited)"
  show "$p/$magistrate referral open $case_id --justification \"prepare the hearing of the victim\""
  demo ctl_as "$magistrate" --officer demo-magistrate referral open "$case_id" \
    --justification "prepare the hearing of the victim"

  step "referral: $magistrate records the non-punishment assessment; the part about the person is sealed locally"
  local assessment=var/demo-assessment.txt
  (umask 077 && echo "Fictitious demo: the false papers were a direct consequence of the exploitation; non-punishment applies." >"$assessment")
  show "$p/$magistrate referral transition record-non-punishment $case_id \\
    --note \"non-punishment applies\" --sealed-note-file $assessment"
  out=$(demo ctl_as "$magistrate" --officer demo-magistrate referral transition \
    record-non-punishment "$case_id" --note "non-punishment applies" --sealed-note-file "$assessment")
  rm -f "$assessment"
  grep -E '^(RECORD_NON_PUNISHMENT|note sealed to)' <<<"$out" || echo "$out"

  step "referral: $pagasa requests the registration certificate; $office issues it (REGISTRATION_CERTIFICATE)"
  show "$p/$pagasa referral transition request-document $case_id --document registration_certificate"
  out=$(demo ctl_as "$pagasa" referral transition request-document "$case_id" \
    --document registration_certificate)
  head -n 1 <<<"$out"
  show "$p/$office referral transition issue-certificate $case_id"
  out=$(demo ctl_as "$office" --officer demo-minteh referral transition issue-certificate "$case_id")
  echo "$out"

  step "referral: a police unit that is not a party cannot open the record; the coordination unit sees no case"
  show "$p/police/fgp-antwerp-thb referral open $case_id --justification \"curious about this case\""
  refused "opening the record as a non-party" ctl_as police/fgp-antwerp-thb referral open "$case_id" \
    --justification "curious about this case"
  show "$p/$icu referral get $case_id"
  refused "the coordination unit reading a case" ctl_as "$icu" referral get "$case_id"

  step "referral: the history of the case (as $pagasa; sealed notes opened locally with its key)"
  show "$p/$pagasa referral history $case_id --open-notes"
  demo ctl_as "$pagasa" referral history "$case_id" --open-notes

  run_referral_paths_demo

  run_guideline_demo
  run_liaison_demo
}

# ---- guidelines (issue 11) -----------------------------------------------------------------------
# The seed set of deploy/seed/guidelines (working drafts) signed with the coordination unit's key
# and published (--if-changed: a second run adds nothing); a police unit and a centre receive it
# on a stream, each version verified in concordctl, and acknowledge; the coordination unit sees
# who has and has not; the public outreach leaflet is exported as static pages.
run_guideline_demo() {
  local icu=coordination_unit/icu-thb police=police/pz-brussels-capital pagasa=reception_centre/pag-asa
  local p="--agency-dir var/pki/agencies" d out

  step "guidelines: $icu signs and publishes the seed set (deploy/seed/guidelines, working drafts)"
  for d in definition knowing-use non-punishment referral-indicators outreach-sex-workers; do
    show "$p/$icu guideline publish --if-changed deploy/seed/guidelines/$d"
    out=$(demo ctl_as "$icu" guideline publish --if-changed "$ROOT/deploy/seed/guidelines/$d")
    head -n 1 <<<"$out"
  done

  step "guidelines: $police and $pagasa receive them on a stream, verify each one and acknowledge"
  show "$p/$police --officer demo-inspector guideline watch --ack --duration 3s"
  demo ctl_as "$police" --officer demo-inspector guideline watch --ack --duration 3s
  show "$p/$pagasa --officer demo-social-worker guideline watch --ack --duration 3s"
  demo ctl_as "$pagasa" --officer demo-social-worker guideline watch --ack --duration 3s

  step "guidelines: $pagasa reads the non-punishment guideline in Dutch (verified locally)"
  show "$p/$pagasa guideline show non-punishment --language nl"
  out=$(demo ctl_as "$pagasa" guideline show non-punishment --language nl)
  head -n 16 <<<"$out"
  echo "..."

  step "guidelines: compliance - who has and has not acknowledged (as $icu; audited)"
  show "$p/$icu guideline compliance definition-2024-1712"
  demo ctl_as "$icu" guideline compliance definition-2024-1712

  step "guidelines: $pagasa exports the public leaflet as static pages (fr, nl, en, es, pt)"
  show "$p/$pagasa guideline export outreach-sex-workers --html var/demo/outreach"
  demo ctl_as "$pagasa" guideline export outreach-sex-workers --html "$ROOT/var/demo/outreach"
}
# ---- end guidelines ----

# Liaison (issue 12): the e-Evidence desk. The Brussels prosecutor (magistrate_role=prosecutor)
# orders the demo platform to preserve subscriber data (60 days, ending at the end of a Brussels
# day) and, in an emergency, to produce them (an exact 8-hour clock, notified to the platform at
# once by admin/concord-liaison); a content-data order needs an investigating judge and is refused.
run_liaison_demo() {
  local magistrate=magistrate/parquet-bruxelles-thb platform=platform/example-platform
  local p="--agency-dir var/pki/agencies" out id

  step "liaison: $magistrate (a prosecutor) orders $platform to preserve subscriber data"
  show "$p/$magistrate liaison create --type preservation_order --executor $platform --data-category subscriber --case-reference BXL.12.34/2026"
  out=$(demo ctl_as "$magistrate" --json liaison create --type preservation_order \
    --executor "$platform" --data-category subscriber --case-reference BXL.12.34/2026)
  id=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["request_id"])' <<<"$out")
  demo ctl_as "$magistrate" liaison show "$id" | head -n 9

  step "liaison: a prosecutor may not order content data (an investigating judge must)"
  show "$p/$magistrate liaison create --type production_order --executor $platform --data-category content --offence-max-years 5"
  refused "a prosecutor's content-data order" ctl_as "$magistrate" liaison create \
    --type production_order --executor "$platform" --data-category content --offence-max-years 5

  step "liaison: an emergency production order of subscriber data: 8 hours, the platform is alerted at once"
  show "$p/$magistrate liaison create --type production_order --emergency --executor $platform --data-category subscriber"
  demo ctl_as "$magistrate" liaison create --type production_order --emergency \
    --executor "$platform" --data-category subscriber --do-not-inform-user | head -n 8

  step "liaison: $platform sees only the orders addressed to it, and confirms the preservation"
  show "$p/$platform liaison list"
  demo ctl_as "$platform" liaison list
  show "$p/$platform liaison act $id confirm_preservation"
  demo ctl_as "$platform" liaison act "$id" confirm_preservation | head -n 3
}
# ---- end liaison ----

summary() {
  cat <<EOF

${GREEN}${BOLD}Concord is running.${RESET}
  gRPC (mTLS)        $LISTEN         trust domain $TRUST_DOMAIN, CA var/pki/ca.pem
  health (plaintext) $HEALTH         grpc.health.v1 only
  metrics            http://$METRICS/metrics   (also /healthz, /readyz)
  redis              127.0.0.1:$REDIS_PORT         data var/redis/ (AOF); one ACL user per
                                           workload, passwords in var/redis-acl/secrets/
  audit checkpoints  var/audit-checkpoints/   signed, exported outside Redis
  logs               var/log/concord-server.log, var/log/redis.log
  federation         concord-gateway: agencies $GW_LISTEN, partner port $GW_PARTNER
                     (var/federation/federation.json); partner deployment $P_TD:
                     concord-server $P_LISTEN, its gateway $P_GW_LISTEN / $P_GW_PARTNER,
                     redis 127.0.0.1:$P_REDIS_PORT, CA var/partner/pki/ca.pem

Use concordctl with an agency directory (cert.pem + key.pem; the CA is found next to it):
  CTL=$CONCORDCTL
  \$CTL --agency-dir var/pki/agencies/admin/ops directory list
  \$CTL --agency-dir var/pki/agencies/police/pz-brussels-capital health
  \$CTL --agency-dir var/pki/agencies/admin/ops audit verify --expect-checkpoint var/audit-checkpoints
  \$CTL --agency-dir var/pki/agencies/reception_centre/pag-asa message inbox
  \$CTL --agency-dir var/pki/agencies/reception_centre/pag-asa referral list
  \$CTL --agency-dir var/pki/agencies/police/pz-brussels-capital guideline list
  \$CTL --agency-dir var/pki/agencies/platform/example-platform liaison list
  \$CTL --server $GW_LISTEN --agency-dir var/pki/agencies/$FED_LOCAL federation status
  New agency: ./scripts/pki.sh agency police pz-liege, then
  \$CTL --agency-dir var/pki/agencies/admin/ops --officer you --justification "new zone" \\
    directory register --from-pki var/pki/agencies/police/pz-liege
  Reference: docs/concordctl.md

Stop with ./scripts/up.sh --stop
EOF
}

# The partner deployment (partner.test) and the federation gateways of both deployments.
# shellcheck source=scripts/federation.sh
. "$ROOT/scripts/federation.sh"

# ---- main --------------------------------------------------------------------------------------

SKIP_DEPS=0 SKIP_BUILD=0 DEMO=1
while [ $# -gt 0 ]; do
  case $1 in
    --stop) do_stop; exit 0 ;;
    --skip-deps) SKIP_DEPS=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --no-demo) DEMO=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

if [ "$SKIP_DEPS" -eq 0 ]; then
  info "checking packages (scripts/deps.sh)"
  ./scripts/deps.sh
fi
if [ "$SKIP_BUILD" -eq 0 ]; then
  info "building into $BUILD_DIR/ (scripts/build.sh; the first build takes a while on 2 cores)"
  ./scripts/build.sh
fi
SERVER_BIN=$(find_binary concord-server) || die "concord-server not found under $BUILD_DIR/ (build failed?)"
CONCORDCTL=$(find_binary concordctl) || die "concordctl not found under $BUILD_DIR/ (build failed?)"
GATEWAY_BIN=$(find_binary concord-gateway) || die "concord-gateway not found under $BUILD_DIR/ (build failed?)"
command -v redis-server >/dev/null || die "redis-server not installed (scripts/deps.sh installs it)"

info "dev PKI in var/pki/ (scripts/pki.sh demo)"
./scripts/pki.sh --dir "$PKI" --trust-domain "$TRUST_DOMAIN" demo

start_redis
start_server
register_agencies
start_federation
if [ "$DEMO" -eq 1 ]; then
  run_demo
  run_federation_demo
fi
summary
