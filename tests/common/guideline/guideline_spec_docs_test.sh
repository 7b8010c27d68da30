#!/usr/bin/env bash
# The canonical form of a guideline version is written out three times for readers in other
# languages: in the proto comments, docs/crypto.md and docs/guidelines.md. This test fails unless
# the three blocks between the guideline-spec markers are the same text, line for line.
# Usage: guideline_spec_docs_test.sh REPO_ROOT
set -euo pipefail
REPO=${1:?usage: guideline_spec_docs_test.sh REPO_ROOT}
work=$(mktemp -d "${TMPDIR:-/tmp}/guideline-spec.XXXXXX")
trap 'rm -rf "$work"' EXIT

awk '/^\/\/ guideline-spec:end$/ {on=0} on {sub(/^\/\/ ?/, ""); print} /^\/\/ guideline-spec:begin$/ {on=1}' \
  "$REPO/proto/concord/guidelines/v1/guidelines.proto" >"$work/proto.txt"
extract_md() {
  awk '/^<!-- guideline-spec:end -->$/ {on=0} on && !/^```/ {print} /^<!-- guideline-spec:begin -->$/ {on=1}' "$1"
}
extract_md "$REPO/docs/crypto.md" >"$work/crypto.txt"
extract_md "$REPO/docs/guidelines.md" >"$work/guidelines.txt"

fail=0
for f in proto crypto guidelines; do
  if [ "$(wc -l <"$work/$f.txt")" -lt 40 ]; then
    echo "FAIL: $f: no guideline-spec block found (markers missing?)" >&2
    fail=1
  fi
done
for f in crypto guidelines; do
  if ! diff -u "$work/proto.txt" "$work/$f.txt" >&2; then
    echo "FAIL: the guideline contract in $f differs from the proto's (above: proto -> $f)" >&2
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "guideline spec: proto, docs/crypto.md and docs/guidelines.md agree ($(wc -l <"$work/proto.txt") lines)"
exit $fail
