#!/usr/bin/env bash
# The proof stages of CI (docs/reliability.md), each in its own build directory, built once:
#   asan  clang-14 AddressSanitizer + UndefinedBehaviorSanitizer (build-asan, preset "asan"):
#         the unit, service and Redis tests (CONCORD_ASAN_LABELS, default 'unit|redis|service'),
#         fuzz corpora included
#   tsan  clang-14 ThreadSanitizer (build-tsan, preset "tsan"): the tests labelled `tsan` in that
#         build (cmake/ConcordTargets.cmake lists them), with tests/sanitizers/tsan.supp
#   fuzz  every libFuzzer target of build-asan for a fixed budget (scripts/fuzz.sh)
# Usage: scripts/proof.sh [asan] [tsan] [fuzz]     (no argument: asan, tsan, then fuzz: CI)
# env:   CONCORD_JOBS (build jobs, 2), CONCORD_TEST_JOBS (ctest jobs, 2), CONCORD_ASAN_LABELS,
#        CONCORD_FUZZ_SECONDS (fuzzing budget in all, default 240 here: 2 jobs x 4 minutes)
# Exit code: nonzero if any stage failed; every stage runs even after a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${CONCORD_JOBS:-2}
# The test labels the asan stage builds and runs (docs/reliability.md "Sanitizers").
ASAN_LABELS=${CONCORD_ASAN_LABELS:-unit|redis|service}
# Fuzzing budget in all (scripts/fuzz.sh splits it over the targets, two at a time).
export CONCORD_FUZZ_SECONDS=${CONCORD_FUZZ_SECONDS:-240}
TEST_JOBS=${CONCORD_TEST_JOBS:-2}
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan fuzz)

# Findings stop the test at once (a report that lets a test pass is easily missed in CI).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/sanitizers/ubsan.supp}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:history_size=4:suppressions=$ROOT/tests/sanitizers/tsan.supp}

configure() {  # configure PRESET DIR: once per build directory (its log in DIR/configure.log)
  [ -f "$2/build.ninja" ] && return 0
  mkdir -p "$2"
  cmake --preset "$1" >"$2/configure.log" 2>&1 || { cat "$2/configure.log" >&2; return 1; }
}

# CPU seconds (user + system) of the finished children of this shell, in CPU_S: the figure that
# does not depend on what else runs on the machine (docs/reliability.md "CI: what runs, how long").
cpu_now() {
  local f
  read -ra f <"/proc/$BASHPID/stat"
  CPU_S=$(((f[15] + f[16]) / $(getconf CLK_TCK)))
}

timed() {  # timed NAME COMMAND...: runs, prints the wall and CPU time
  local start=$SECONDS rc=0 cpu0
  cpu_now
  cpu0=$CPU_S
  "${@:2}" || rc=$?
  cpu_now
  echo "proof: $1 took $((SECONDS - start)) s, $((CPU_S - cpu0)) CPU-s (exit $rc)"
  return $rc
}

stage_asan() {
  local targets=() label
  IFS='|' read -ra labels <<<"$ASAN_LABELS"
  for label in "${labels[@]}"; do targets+=("tests_$label"); done
  configure asan build-asan || return 1
  timed "asan build" nice cmake --build build-asan -j "$JOBS" --target "${targets[@]}" \
    fuzz_targets || return 1
  timed "asan tests" ./scripts/ctest_run.sh build-asan -L "^($ASAN_LABELS)\$" -j "$TEST_JOBS" \
    --no-tests=error
}

stage_tsan() {
  configure tsan build-tsan || return 1
  timed "tsan build" nice cmake --build build-tsan -j "$JOBS" --target tests_tsan || return 1
  timed "tsan tests" ./scripts/ctest_run.sh build-tsan -L '^tsan$' -j "$TEST_JOBS" --no-tests=error
}

stage_fuzz() {
  configure asan build-asan || return 1
  timed "fuzz build" nice cmake --build build-asan -j "$JOBS" --target fuzz_targets || return 1
  timed "fuzzing" ./scripts/fuzz.sh build-asan
}

passed=0
failed=0
for s in "${stages[@]}"; do
  case $s in
    asan | tsan | fuzz) ;;
    *) echo "usage: scripts/proof.sh [asan] [tsan] [fuzz]" >&2; exit 1 ;;
  esac
  echo "== proof stage $s"
  if "stage_$s"; then
    passed=$((passed + 1))
  else
    echo "proof: stage $s FAILED" >&2
    failed=$((failed + 1))
  fi
done
echo "proof stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
