#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole ctest suite.
# Tests start their own redis-server on free loopback ports and generate their own certificates.
# Exit code is nonzero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/check_deps.sh
./scripts/build.sh
BUILD_DIR=${CONCORD_BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure -j "${CONCORD_TEST_JOBS:-2}" "$@"
