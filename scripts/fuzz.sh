#!/usr/bin/env bash
# Runs every libFuzzer target of a CONCORD_FUZZ build (scripts/proof.sh fuzz) for a fixed budget,
# two at a time, starting from the committed seeds tests/fuzz/corpus/<target>/ (read only: what
# libFuzzer finds goes to BUILD/fuzz/corpus/<target>/). Prints executions per target (the figures
# of docs/reliability.md) and a summary in BUILD/fuzz/summary.txt.
# A crash, leak, timeout or sanitizer report fails the run; its input is in BUILD/fuzz/artifacts/:
# copy it into tests/fuzz/corpus/<target>/ (the replay test then fails until the code is fixed)
# and fix the code.
# Usage: scripts/fuzz.sh [BUILD_DIR (build-asan)]
# env:   CONCORD_FUZZ_SECONDS: budget in all (default 360), split evenly over the targets, run
#        CONCORD_FUZZ_JOBS (2) at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-asan}
BUDGET=${CONCORD_FUZZ_SECONDS:-360}
PAR=${CONCORD_FUZZ_JOBS:-2}
OUT=$BUILD/fuzz
mapfile -t targets < <(ls tests/fuzz/corpus)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no corpus under tests/fuzz/corpus" >&2; exit 1; }
per=$((BUDGET * PAR / ${#targets[@]}))
[ "$per" -ge 5 ] || per=5
rm -rf "$OUT/logs" "$OUT/artifacts"
mkdir -p "$OUT/logs" "$OUT/artifacts"
echo "fuzz: ${#targets[@]} targets, $per s each, $PAR at a time (budget ${BUDGET} s)"

run_one() {
  local t=$1 bin=$BUILD/tests/fuzz/${1}_fuzz rc=0
  [ -x "$bin" ] || { echo "$t: $bin not built" >"$OUT/logs/$t.log"; return 1; }
  mkdir -p "$OUT/corpus/$t"
  # -timeout: one input may take 10 s at most; -rss_limit_mb: 2 GiB (the machine has 24).
  "$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$t-" "$OUT/corpus/$t" "tests/fuzz/corpus/$t" \
    >"$OUT/logs/$t.log" 2>&1 || rc=$?
  return $rc
}
export -f run_one
export BUILD OUT per

rc=0
printf '%s\n' "${targets[@]}" | xargs -P "$PAR" -I{} bash -c 'run_one {} || echo {} >>"$OUT/failed"' || rc=$?
{
  printf '%-22s %12s %8s %8s %s\n' target executions exec/s corpus result
  for t in "${targets[@]}"; do
    log=$OUT/logs/$t.log
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' | tail -1)
    speed=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | awk '{print $2}' | tail -1)
    units=$(find "$OUT/corpus/$t" -type f | wc -l)
    result=clean
    if [ -f "$OUT/failed" ] && grep -qx "$t" "$OUT/failed"; then result=FAILED; fi
    printf '%-22s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${speed:-?}" "$units" "$result"
  done
} | tee "$OUT/summary.txt"
if [ -f "$OUT/failed" ]; then
  while read -r t; do
    echo "== fuzz target $t FAILED; end of its log ($OUT/logs/$t.log):" >&2
    tail -40 "$OUT/logs/$t.log" >&2
  done <"$OUT/failed"
  ls -l "$OUT/artifacts" >&2
  rm -f "$OUT/failed"
  exit 1
fi
exit $rc
