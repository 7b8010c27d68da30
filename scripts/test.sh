#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every test.
#   1. the release build (./build) and its whole ctest suite (unit, redis, service, integration,
#      deploy, the TLS audit with testssl, the fuzz corpora replayed);
#   2. the proof stages of scripts/proof.sh: the AddressSanitizer + UndefinedBehaviorSanitizer
#      build and its unit, service and Redis tests, the ThreadSanitizer build and its
#      concurrency-heavy tests, then every fuzz target within its budget (docs/reliability.md
#      says what each proves and how long CI takes).
# Usage: scripts/test.sh [--release-only] [ctest arguments...]
#   --release-only (or CONCORD_TEST_RELEASE_ONLY=1): step 1 alone, the quick suite for developers.
#   ctest arguments (e.g. -L unit, -R Envelope) go to step 1 and imply --release-only.
# Tests start their own redis-server on free loopback ports and generate their own certificates.
# Exit code is nonzero on any failure; every step runs even after a failure. A test that fails is
# run once more on its own (scripts/ctest_run.sh): failing twice fails the run, failing once is
# reported as flaky at the end of the output.
set -euo pipefail
cd "$(dirname "$0")/.."
release_only=${CONCORD_TEST_RELEASE_ONLY:-0}
if [ "${1:-}" = --release-only ]; then
  release_only=1
  shift
fi
[ $# -gt 0 ] && release_only=1
# CPU seconds (user + system) of this shell's finished children, in CPU_S (as scripts/proof.sh).
cpu_now() {
  local f
  read -ra f <"/proc/$BASHPID/stat"
  CPU_S=$(((f[15] + f[16]) / $(getconf CLK_TCK)))
}
build_start=$SECONDS
cpu_now
cpu0=$CPU_S
./scripts/deps.sh
./scripts/check_deps.sh
./scripts/build.sh
cpu_now
echo "test: dependencies and release build took $((SECONDS - build_start)) s, $((CPU_S - cpu0)) CPU-s"
BUILD_DIR=${CONCORD_BUILD_DIR:-build}
start=$SECONDS
cpu0=$CPU_S
rc=0
rm -f {"$BUILD_DIR",build-asan,build-tsan}/Testing/{flaky,failed}.txt
./scripts/ctest_run.sh "$BUILD_DIR" -j "${CONCORD_TEST_JOBS:-2}" "$@" || rc=$?
cpu_now
echo "test: release build suite took $((SECONDS - start)) s, $((CPU_S - cpu0)) CPU-s (exit $rc)"
[ "$release_only" = 1 ] && exit $rc
proof_rc=0
./scripts/proof.sh || proof_rc=$?
echo "test: release suite exit $rc, proof stages exit $proof_rc, $((SECONDS - start)) s after the release build"
passed=0
failed=0
for r in "$rc" "$proof_rc"; do
  if [ "$r" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
# The tail of a CI log is what gets read: name every test that failed, or failed once (flaky).
for d in "$BUILD_DIR" build-asan build-tsan; do
  for kind in failed flaky; do
    f="$d/Testing/$kind.txt"
    if [ -s "$f" ]; then echo "test: $kind in $d: $(tr '\n' ' ' <"$f")"; fi
  done
done
echo "test steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
