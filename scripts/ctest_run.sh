#!/usr/bin/env bash
# Runs ctest in a build directory; tests that fail are run a second time, one at a time, with
# nothing else on the machine competing for the two cores.
#   - every test that fails twice fails the run;
#   - a test that fails and then passes does not fail the run, but it is named on a line
#     "ctest: FLAKY <build dir>: <names>" here and in <build dir>/Testing/flaky.txt, and
#     scripts/test.sh repeats those lines at its end, so a flaky test is never silent;
#   - the names of the tests that failed for good go to <build dir>/Testing/failed.txt and the
#     line "ctest: FAILED <build dir>: <names>".
# Usage: scripts/ctest_run.sh BUILD_DIR [ctest arguments...]
# Exit code: 0 if every test passed (at the first or the second attempt), otherwise ctest's.
set -uo pipefail
dir=$1
shift
mkdir -p "$dir/Testing"
rm -f "$dir/Testing/flaky.txt" "$dir/Testing/failed.txt"
failed_log="$dir/Testing/Temporary/LastTestsFailed.log"
rm -f "$failed_log"
(cd "$dir" && ctest --output-on-failure "$@")
rc=$?
[ "$rc" -eq 0 ] && exit 0
if [ ! -s "$failed_log" ]; then
  echo "ctest: $dir exit $rc and no failed test recorded (a configuration or build error)" >&2
  exit "$rc"
fi
mapfile -t first < <(cut -d: -f2- "$failed_log")
echo "ctest: ${#first[@]} test(s) failed in $dir, running them again one at a time: ${first[*]}"
(cd "$dir" && ctest --output-on-failure --rerun-failed -j 1)
rc2=$?
again=()
if [ "$rc2" -ne 0 ] && [ -s "$failed_log" ]; then mapfile -t again < <(cut -d: -f2- "$failed_log"); fi
flaky=()
for t in "${first[@]}"; do
  [[ " ${again[*]} " == *" $t "* ]] || flaky+=("$t")
done
if [ ${#flaky[@]} -gt 0 ]; then
  printf '%s\n' "${flaky[@]}" >"$dir/Testing/flaky.txt"
  echo "ctest: FLAKY $dir: ${flaky[*]}"
fi
if [ "$rc2" -ne 0 ]; then
  if [ ${#again[@]} -gt 0 ]; then
    printf '%s\n' "${again[@]}" >"$dir/Testing/failed.txt"
    echo "ctest: FAILED $dir: ${again[*]}" >&2
  fi
  exit "$rc2"
fi
exit 0
