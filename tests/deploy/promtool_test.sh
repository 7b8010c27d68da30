#!/usr/bin/env bash
# Offline checks of deploy/prometheus and deploy/grafana with promtool (Debian package
# `prometheus`).
#   promtool_test.sh rules     <source-dir>   check rules + unit tests (alerts_test.yml)
#   promtool_test.sh config    <source-dir>   check config prometheus.yml (+ blackbox.yml if the
#                                             exporter is installed)
#   promtool_test.sh dashboard <source-dir>   dashboard structure + every PromQL expr parsed
set -euo pipefail
mode=${1:?mode}
src=${2:?source dir}
command -v promtool >/dev/null || { echo "FAIL: promtool not found (apt-get install prometheus)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case "$mode" in
  rules)
    promtool check rules "$src/deploy/prometheus/alerts.yml"
    # promtool resolves rule_files relative to the test file.
    promtool test rules "$src/deploy/prometheus/alerts_test.yml"
    ;;
  config)
    promtool check config "$src/deploy/prometheus/prometheus.yml"
    if command -v prometheus-blackbox-exporter >/dev/null; then
      prometheus-blackbox-exporter --config.file="$src/deploy/prometheus/blackbox.yml" --config.check
    else
      echo "note: prometheus-blackbox-exporter not installed; blackbox.yml not checked"
    fi
    ;;
  dashboard)
    for f in "$src"/deploy/grafana/*.json; do
      /usr/bin/python3 "$src/tests/deploy/dashboard_check.py" "$f" "$tmp/$(basename "$f" .json).rules.yml"
      promtool check rules "$tmp/$(basename "$f" .json).rules.yml"
    done
    /usr/bin/python3 - "$src/deploy/grafana/provisioning/dashboards.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
for needle in ("apiVersion: 1", "providers:", "type: file", "path:"):
    assert needle in text, f"provisioning file lacks {needle!r}"
print("provisioning file ok")
PY
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
echo "PASS promtool $mode"
