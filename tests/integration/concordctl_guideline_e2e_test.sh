#!/usr/bin/env bash
# Guidelines end to end over real mTLS, driven through `concordctl guideline` and the shipped
# binaries: a dev PKI (scripts/pki.sh), a real redis-server and concord-server on free loopback
# ports. The coordination unit signs and publishes the seed set of deploy/seed/guidelines (again
# with --if-changed: nothing new); a police unit follows it with `guideline watch` (each version
# verified locally) and acknowledges; the compliance figures show who has not; a magistrate
# without the publisher right and a police unit cannot publish; a platform outside the audience
# gets NOT_FOUND; a version altered in Redis makes `guideline show` fail with exit 3 naming the
# version (and so does a saved copy whose text was changed); a second version is diffed and then
# withdrawn; the independent Python client (grpc_probe.py guidelines) fetches a version through
# reflection, recomputes its SHA-256 from docs/crypto.md and verifies the publisher's signature;
# the public leaflet is exported as static HTML and opened in headless Chromium in every language
# (text and lang attribute checked; Chromium's net log shows no request made by the page, while
# a control page that loads a stylesheet and an image is caught); the acting officer of an
# acknowledgement is in the audit trail and nowhere in Redis; the metrics are exposed.
# Usage: concordctl_guideline_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH REPO
# shellcheck disable=SC2015  # pass and fail never fail: "A && pass || fail" is safe here
set -euo pipefail

CTL=${1:?usage: concordctl_guideline_e2e_test.sh CONCORDCTL CONCORD_SERVER PKI_SH REPO}
SERVER_BIN=${2:?usage}
PKI_SH=${3:?usage}
REPO=${4:?usage}
SEED=$REPO/deploy/seed/guidelines

# shellcheck source=tests/integration/stack_lib.sh
source "$(dirname "$0")/stack_lib.sh"
stack_setup concord-guideline-e2e

"$PKI_SH" --quiet --dir "$PKI" demo
start_redis
start_concord_server
for ((i = 0; i < 40; i++)); do
  "$CTL" --agency-dir "$PKI/agencies/admin/ops" --server "127.0.0.1:$PORT" --timeout 3 health \
    >/dev/null 2>&1 && break
  sleep 0.25
done
METRICS_PORT=$(/usr/bin/python3 - "$WORK/server.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "server.started":
        print(event.get("metrics_port", ""))
        break
PY
)

ICU=coordination_unit/icu-thb
POLICE=police/pz-brussels-capital
PAGASA=reception_centre/pag-asa
MAGISTRATE=magistrate/parquet-bruxelles-thb
PLATFORM=platform/example-platform
OFFICER="insp-e2e-4711"

echo "== register the demo agencies (keys from the PKI)"
register_admin_ops
while read -r a; do
  [ "$a" = admin/ops ] && continue
  ctl 0 "register $a" admin/ops "${ACCOUNT[@]}" directory register --from-pki "$PKI/agencies/$a" \
    --jurisdiction BE
done < <("$PKI_SH" demo-agencies)

echo "== the coordination unit signs and publishes the seed set"
for d in definition knowing-use non-punishment referral-indicators outreach-sex-workers; do
  ctl 0 "publish $d" "$ICU" --json guideline publish "$SEED/$d"
  equal "publish $d: version 1" "$(json 'd["version"]')" "1"
  equal "publish $d: effective now" "$(json 'd["effective"]')" "True"
done
ctl 0 "publish again with --if-changed" "$ICU" guideline publish --if-changed "$SEED/definition"
contains "nothing new" "$OUT" "unchanged: definition-2024-1712 version 1"

echo "== publishers only"
ctl 2 "a magistrate without the right" "$MAGISTRATE" guideline publish "$SEED/definition"
contains "no publisher right" "$ERR" "NO_PUBLISHER_RIGHT"
ctl 2 "a police unit" "$POLICE" guideline publish "$SEED/definition"
contains "the policy table" "$ERR" "PERMISSION_DENIED"
# The right is the directory's typed attribute guideline_publisher (common/attributes): given to
# the magistrate, the service lets it past the right (the guideline stays the coordination
# unit's); reset to its default, the magistrate is refused again.
ctl 0 "give the magistrate the right" admin/ops "${ACCOUNT[@]}" directory update "$MAGISTRATE" \
  --attribute guideline_publisher=true
ctl 2 "a magistrate with the right" "$MAGISTRATE" guideline publish "$SEED/definition"
contains "past the right: the guideline is not its own" "$ERR" "NOT_GUIDELINE_PUBLISHER"
ctl 0 "reset the magistrate's right" admin/ops "${ACCOUNT[@]}" directory update "$MAGISTRATE" \
  --attribute guideline_publisher=
ctl 2 "the magistrate without the right again" "$MAGISTRATE" guideline publish "$SEED/definition"
contains "no publisher right again" "$ERR" "NO_PUBLISHER_RIGHT"

echo "== the police unit follows the guidance: five versions address it, each verified here"
ctl 0 "watch" "$POLICE" --json guideline watch --max 5 --duration 20s
equal "five events" "$(grep -c '"kind":"version"' <<<"$OUT")" "5"
equal "all verified" "$(grep -c '"verified":true' <<<"$OUT")" "5"
for id in definition-2024-1712 knowing-use-of-services non-punishment referral-indicators \
  outreach-sex-workers; do
  contains "watch: $id" "$OUT" "\"guideline_id\":\"$id\""
done
ctl 0 "show, verified locally" "$POLICE" guideline show non-punishment --language nl
contains "says it verified" "$OUT" "verified: SHA-256 recomputed from the content matches"
contains "served in Dutch" "$OUT" "shown in:       nl"
contains "Dutch text" "$OUT" "# Het non-punitiebeginsel voor slachtoffers van mensenhandel"
contains "working draft" "$OUT" "Werkdocument van deze Concord-omgeving"

echo "== acknowledge; compliance shows who has not"
ctl 2 "ack without an officer" "$POLICE" guideline ack definition-2024-1712
contains "officer required" "$ERR" "OFFICER_REQUIRED"
ctl 0 "ack" "$POLICE" --officer "$OFFICER" guideline ack definition-2024-1712
contains "acknowledged" "$OUT" "acknowledged: definition-2024-1712 version 1"
ctl 0 "ack again (idempotent)" "$POLICE" --officer "$OFFICER" --json guideline ack definition-2024-1712
equal "duplicate" "$(json 'd["duplicate"]')" "True"
ctl 0 "compliance" "$ICU" --json guideline compliance definition-2024-1712
# Audience: 2 police, magistrate, 4 centres (the demo PKI has the shelter for minors Esperanto),
# Immigration Office, social inspection = 9.
equal "audience" "$(json 'd["total"]["audience"]')" "9"
equal "acknowledged" "$(json 'd["total"]["acknowledged"]')" "1"
equal "who acknowledged" "$(json '[a["agency"]["id"] for a in d["acknowledged"]]')" "['pz-brussels-capital']"
equal "who has not" "$(json 'len(d["not_acknowledged"])')" "8"
ctl 0 "compliance (text)" "$ICU" guideline compliance definition-2024-1712
contains "figures by type" "$OUT" "police"
contains "lists who has not" "$OUT" "reception_centre/pag-asa"
ctl 2 "compliance is the publisher's" "$MAGISTRATE" guideline compliance definition-2024-1712
contains "not the publisher" "$ERR" "NOT_GUIDELINE_PUBLISHER"

echo "== outside the audience: nothing"
ctl 2 "a platform" "$PLATFORM" guideline show definition-2024-1712
contains "NOT_FOUND" "$ERR" "NOT_FOUND"
contains "as if absent" "$ERR" "guideline definition-2024-1712 not found"
ctl 0 "list (platform)" "$PLATFORM" --json guideline list
equal "the platform sees only the public leaflet" \
  "$(json '[v["guideline_id"] for v in d.get("versions", [])]')" "['outreach-sex-workers']"

echo "== a version altered in Redis fails verification, in Get and in the client"
ctl 0 "save a verified copy" "$POLICE" --json guideline show knowing-use-of-services
echo "$OUT" >"$WORK/saved.json"
KEY='concord:{gl}:v:knowing-use-of-services:1'
redis-cli -p "$REDIS_PORT" --raw hget "$KEY" c | head -c -1 >"$WORK/c.orig"
/usr/bin/python3 - "$WORK/c.orig" "$WORK/c.bad" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
bad = data.replace("connaissance".encode(), "CONNAISSANCE".encode(), 1)
assert bad != data
open(sys.argv[2], "wb").write(bad)
PY
redis-cli -p "$REDIS_PORT" -x hset "$KEY" c <"$WORK/c.bad" >/dev/null
ctl 3 "show an altered version" "$POLICE" guideline show knowing-use-of-services
contains "names the version" "$ERR" "guideline knowing-use-of-services version 1 failed verification"
contains "says so" "$ERR" "VERIFICATION FAILED"
redis-cli -p "$REDIS_PORT" -x hset "$KEY" c <"$WORK/c.orig" >/dev/null
ctl 0 "restored" "$POLICE" guideline show knowing-use-of-services
/usr/bin/python3 - "$WORK/saved.json" "$WORK/altered.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["version"]["contents"][0]["body"] = doc["version"]["contents"][0]["body"].replace(
    "connaissance", "CONNAISSANCE", 1)
json.dump(doc, open(sys.argv[2], "w"))
PY
ctl 3 "a saved copy whose text was changed" "$POLICE" guideline show --from-file "$WORK/altered.json"
contains "the client names the version" "$ERR" "guideline knowing-use-of-services version 1 failed verification"
ctl 0 "the saved copy itself verifies" "$POLICE" guideline show --from-file "$WORK/saved.json"

echo "== a second version: diff, then withdrawal"
cp -r "$SEED/definition" "$WORK/definition-v2"
sed -i 's/^Questions et remarques sur ce document : .*/Questions et remarques : la Cellule interdépartementale de coordination, par un message Concord (réponse sous dix jours ouvrables)./' "$WORK/definition-v2/fr.md"
ctl 0 "publish version 2" "$ICU" --json guideline publish "$WORK/definition-v2"
equal "version 2" "$(json 'd["version"]')" "2"
ctl 0 "diff" "$POLICE" guideline diff definition-2024-1712 1 2 --language fr
contains "removed line" "$OUT" "-Questions et remarques sur ce document"
contains "added line" "$OUT" "+Questions et remarques : la Cellule"
contains "verified" "$OUT" "both versions verified"
ctl 0 "version 1's figures froze" "$ICU" --json guideline compliance definition-2024-1712 --version 1
equal "frozen" "$(json 'd["frozen"]')" "True"
equal "superseded" "$(json 'd["frozen_reason"]')" "superseded"
ctl 2 "withdraw as someone else" "$MAGISTRATE" guideline withdraw definition-2024-1712 2 --reason x
ctl 0 "withdraw version 2" "$ICU" guideline withdraw definition-2024-1712 2 \
  --reason "published by mistake (test)"
ctl 0 "version 1 in force again" "$POLICE" --json guideline show definition-2024-1712
equal "in force" "$(json 'd["version"]["version"]')" "1"

echo "== the independent Python client: through reflection, hash and signature from the docs"
A=$PKI/agencies/$POLICE
if /usr/bin/python3 "$REPO/tests/integration/grpc_probe.py" --repo "$REPO" \
  --target "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --cert "$A/cert.pem" --key "$A/key.pem" \
  --guideline-id non-punishment guidelines >"$WORK/probe.out" 2>&1; then
  pass
  cat "$WORK/probe.out"
else
  fail "grpc_probe guidelines: $(cat "$WORK/probe.out")"
fi

echo "== the public leaflet as static pages, opened in headless Chromium"
ctl 0 "export" "$PAGASA" guideline export outreach-sex-workers --html "$WORK/html"
contains "verified before export" "$OUT" "verified before export"
ctl 4 "a non-public version is not exported" "$PAGASA" guideline export definition-2024-1712 --html "$WORK/x"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  fail "chromium is not installed (scripts/deps.sh installs it)"
else
  # net_log_requests NETLOG: URL requests made on behalf of a document (the browser's own
  # background requests have the initiator "not an origin").
  page_requests() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
types = {v: k for k, v in d["constants"]["logEventTypes"].items()}
for e in d["events"]:
    p = e.get("params") or {}
    if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in p and \
            p.get("initiator") != "not an origin":
        print(p["url"])
PY
  }
  open_page() {  # open_page HTML_FILE NAME: DOM in $WORK/NAME.dom, net log in $WORK/NAME.netlog
    rm -rf "$WORK/chrome-$2"
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
      --disable-component-update --disable-sync --no-first-run \
      --user-data-dir="$WORK/chrome-$2" --log-net-log="$WORK/$2.netlog" \
      --dump-dom "file://$1" >"$WORK/$2.dom" 2>"$WORK/$2.err" || true
  }
  for lang in fr nl en es pt; do
    page=$WORK/html/outreach-sex-workers-v1.$lang.html
    open_page "$page" "$lang"
    contains "$lang: lang attribute" "$(head -c 300 "$WORK/$lang.dom")" "<html lang=\"$lang\">"
    title=$(head -n 1 "$SEED/outreach-sex-workers/$lang.md" | sed 's/^# //')
    contains "$lang: title rendered" "$(cat "$WORK/$lang.dom")" "<h1>$title</h1>"
    contains "$lang: 112 in the text" "$(cat "$WORK/$lang.dom")" "112"
    equal "$lang: no request made by the page" "$(page_requests "$WORK/$lang.netlog")" ""
  done
  # The detector works: a page that loads a stylesheet and an image is caught.
  printf '<!DOCTYPE html><html lang="en"><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body><img src="http://127.0.0.1:9/p.png"></body></html>\n' >"$WORK/control.html"
  open_page "$WORK/control.html" control
  contains "control page caught" "$(page_requests "$WORK/control.netlog")" "http://127.0.0.1:9/p.png"
fi

echo "== audit: publication, acknowledgement and compliance reads are recorded"
ctl 0 "audit query" admin/ops --justification "e2e: check guideline audit" --json audit query \
  --object "guideline:definition-2024-1712@1" --page-size 50 --limit 50
contains "publish audited" "$OUT" "/concord.guidelines.v1.Guidelines/Publish"
contains "ack audited" "$OUT" "/concord.guidelines.v1.Guidelines/Acknowledge"
contains "officer in the audit record" "$OUT" "$OFFICER"
contains "compliance read audited" "$OUT" "/concord.guidelines.v1.Guidelines/Compliance"
redis_dump "$WORK/dump" "$WORK/keys"
if grep -qaF -- "$OFFICER" "$WORK/dump" "$WORK/keys"; then
  fail "the acting officer $OFFICER appears in Redis"
else
  pass
fi

echo "== metrics"
if [ -n "$METRICS_PORT" ]; then
  metrics=""
  for ((i = 0; i < 100; i++)); do
    metrics=$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" || true)
    grep -q 'concord_guideline_ack_ratio{guideline="definition-2024-1712"}' <<<"$metrics" && break
    sleep 0.2
  done
  contains "publications counted" "$metrics" "concord_guideline_publications_total 6"
  contains "deliveries counted" "$metrics" 'concord_guideline_deliveries_total{kind="version"}'
  contains "ack ratio per guideline" "$metrics" 'concord_guideline_ack_ratio{guideline="definition-2024-1712"}'
  contains "overdue per guideline" "$metrics" 'concord_guideline_acknowledgements_overdue{guideline="non-punishment"} 0'
  not_contains "no agency label" "$metrics" 'agency="'
else
  fail "no metrics port in the server log"
fi

echo "guideline e2e: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
